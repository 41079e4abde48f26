// Reference elementwise ops: activations, add/mul (NumPy broadcasting), eval-mode batch norm and
// plain copies. Each element is computed in float64 from its float32 inputs and rounded once when
// stored.
#include "kernels/reference/elementwise.h"

#include <algorithm>
#include <cmath>

namespace fcnrt::reference {

void activation(const View& x, const View& y, ActivationParams act) {
    // x (N, C, H, W); y (N, C, H, W)
    for (int64_t n = 0; n < x.n; ++n) {
        for (int64_t c = 0; c < x.c; ++c) {
            for (int64_t iy = 0; iy < x.h; ++iy) {
                for (int64_t ix = 0; ix < x.w; ++ix) {
                    const double v = static_cast<double>(x.f32()[x.offset(n, c, iy, ix)]);
                    y.f32()[y.offset(n, c, iy, ix)] =
                        static_cast<float>(apply_activation_f64(v, act));
                }
            }
        }
    }
}

void binary(const View& a, const View& b, const View& y, const BinaryParams& p) {
    // a, b (N|1, C|1, H|1, W|1); y (N, C, H, W): a dim of 1 reads index 0.
    for (int64_t n = 0; n < y.n; ++n) {
        for (int64_t c = 0; c < y.c; ++c) {
            for (int64_t iy = 0; iy < y.h; ++iy) {
                for (int64_t ix = 0; ix < y.w; ++ix) {
                    const int64_t a_at = a.offset(a.n == 1 ? 0 : n, a.c == 1 ? 0 : c,
                                                  a.h == 1 ? 0 : iy, a.w == 1 ? 0 : ix);
                    const int64_t b_at = b.offset(b.n == 1 ? 0 : n, b.c == 1 ? 0 : c,
                                                  b.h == 1 ? 0 : iy, b.w == 1 ? 0 : ix);
                    const double va = static_cast<double>(a.f32()[a_at]);
                    const double vb = static_cast<double>(b.f32()[b_at]);
                    const double v = p.op == BinaryOp::Add ? va + vb : va * vb;
                    y.f32()[y.offset(n, c, iy, ix)] =
                        static_cast<float>(apply_activation_f64(v, p.act));
                }
            }
        }
    }
}

void batch_norm(const View& x, const float* scale, const float* bias, const float* mean,
                const float* var, float epsilon, ActivationParams act, const View& y) {
    // x (N, C, H, W); scale, bias, mean, var (C); y (N, C, H, W)
    for (int64_t c = 0; c < x.c; ++c) {
        const double inv_std =
            1.0 / std::sqrt(static_cast<double>(var[c]) + static_cast<double>(epsilon));
        const double m = static_cast<double>(mean[c]);
        const double s = static_cast<double>(scale[c]);
        const double b = static_cast<double>(bias[c]);
        for (int64_t n = 0; n < x.n; ++n) {
            for (int64_t iy = 0; iy < x.h; ++iy) {
                for (int64_t ix = 0; ix < x.w; ++ix) {
                    const double v = static_cast<double>(x.f32()[x.offset(n, c, iy, ix)]);
                    y.f32()[y.offset(n, c, iy, ix)] =
                        static_cast<float>(apply_activation_f64((v - m) * inv_std * s + b, act));
                }
            }
        }
    }
}

void hard_sigmoid(const View& x, const View& y, float alpha, float beta) {
    // x (N, C, H, W); y (N, C, H, W)
    for (int64_t n = 0; n < x.n; ++n)
        for (int64_t c = 0; c < x.c; ++c)
            for (int64_t iy = 0; iy < x.h; ++iy)
                for (int64_t ix = 0; ix < x.w; ++ix) {
                    const double v = static_cast<double>(x.f32()[x.offset(n, c, iy, ix)]);
                    y.f32()[y.offset(n, c, iy, ix)] = static_cast<float>(hard_sigmoid_f64(v, alpha, beta));
                }
}

void hard_swish(const View& x, const View& y) {
    // x (N, C, H, W); y (N, C, H, W)
    for (int64_t n = 0; n < x.n; ++n)
        for (int64_t c = 0; c < x.c; ++c)
            for (int64_t iy = 0; iy < x.h; ++iy)
                for (int64_t ix = 0; ix < x.w; ++ix) {
                    const double v = static_cast<double>(x.f32()[x.offset(n, c, iy, ix)]);
                    y.f32()[y.offset(n, c, iy, ix)] = static_cast<float>(hard_swish_f64(v));
                }
}

void copy(const View& x, const View& y) {
    // x (N, C, H, W); y (N, C, H, W), same dtype (F32 or I32)
    for (int64_t n = 0; n < x.n; ++n) {
        for (int64_t c = 0; c < x.c; ++c) {
            for (int64_t iy = 0; iy < x.h; ++iy) {
                for (int64_t ix = 0; ix < x.w; ++ix) {
                    const int64_t from = x.offset(n, c, iy, ix), to = y.offset(n, c, iy, ix);
                    if (x.dtype == DType::I32) {
                        y.i32()[to] = x.i32()[from];
                    } else {
                        y.f32()[to] = x.f32()[from];
                    }
                }
            }
        }
    }
}

}  // namespace fcnrt::reference

namespace fcnrt::reference {

void prelu(const View& x, const float* slope, int64_t slope_count, const View& y) {
    // x (N, C, H, W); slope (C) or (1); y (N, C, H, W)
    for (int64_t n = 0; n < x.n; ++n)
        for (int64_t c = 0; c < x.c; ++c) {
            const double s = static_cast<double>(slope[slope_count == 1 ? 0 : c]);
            for (int64_t iy = 0; iy < x.h; ++iy)
                for (int64_t ix = 0; ix < x.w; ++ix) {
                    const double v = static_cast<double>(x.f32()[x.offset(n, c, iy, ix)]);
                    y.f32()[y.offset(n, c, iy, ix)] = static_cast<float>(v >= 0.0 ? v : s * v);
                }
        }
}

void elu(const View& x, const View& y, float alpha) {
    // x (N, C, H, W); y (N, C, H, W)
    const double a = static_cast<double>(alpha);
    for (int64_t n = 0; n < x.n; ++n)
        for (int64_t c = 0; c < x.c; ++c)
            for (int64_t iy = 0; iy < x.h; ++iy)
                for (int64_t ix = 0; ix < x.w; ++ix) {
                    const double v = static_cast<double>(x.f32()[x.offset(n, c, iy, ix)]);
                    y.f32()[y.offset(n, c, iy, ix)] =
                        static_cast<float>(v > 0.0 ? v : a * std::expm1(v));
                }
}

void gelu(const View& x, const View& y, bool tanh_form) {
    // x (N, C, H, W); y (N, C, H, W)
    const double sqrt_2_over_pi = std::sqrt(2.0 / 3.14159265358979323846);
    for (int64_t n = 0; n < x.n; ++n)
        for (int64_t c = 0; c < x.c; ++c)
            for (int64_t iy = 0; iy < x.h; ++iy)
                for (int64_t ix = 0; ix < x.w; ++ix) {
                    const double v = static_cast<double>(x.f32()[x.offset(n, c, iy, ix)]);
                    const double g =
                        tanh_form
                            ? 0.5 * v *
                                  (1.0 + std::tanh(sqrt_2_over_pi * (v + 0.044715 * v * v * v)))
                            : 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
                    y.f32()[y.offset(n, c, iy, ix)] = static_cast<float>(g);
                }
}

}  // namespace fcnrt::reference
