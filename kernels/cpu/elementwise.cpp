// Fast CPU elementwise ops: activations, add/mul, batch norm, copies.
//
// Threading: the work is cut into contiguous runs, one per (n, c) plane (views
// are contiguous within a batch item only), and the runs are spread over OpenMP
// threads; small tensors stay on one thread (the `if` clauses), where waking the
// pool costs more than the work. Inner loops are plain `omp simd` loops with the
// op switch hoisted out of them.
#include "kernels/cpu/elementwise.h"

#include <cmath>
#include <cstring>

#include "kernels/cpu/gemm.h"

namespace fcnrt::cpu {

namespace {

// Below this many elements a loop runs on the calling thread.
constexpr int64_t kParallelThreshold = 32768;

// y[i] = a[i * a_step] op b[i * b_step], a step 0 broadcasting one value.
template <BinaryOp op>
void binary_run(const float* a, int64_t a_step, const float* b, int64_t b_step, float* y,
                int64_t count) {
    auto f = [](float u, float v) { return op == BinaryOp::Add ? u + v : u * v; };
    if (a_step == 1 && b_step == 1) {
#pragma omp simd
        for (int64_t i = 0; i < count; ++i) y[i] = f(a[i], b[i]);
    } else if (a_step == 1) {
        const float bv = b[0];
#pragma omp simd
        for (int64_t i = 0; i < count; ++i) y[i] = f(a[i], bv);
    } else if (b_step == 1) {
        const float av = a[0];
#pragma omp simd
        for (int64_t i = 0; i < count; ++i) y[i] = f(av, b[i]);
    } else {
        const float v = f(a[0], b[0]);
        for (int64_t i = 0; i < count; ++i) y[i] = v;
    }
}

// One output plane of binary(): whole planes at once when each operand's plane is
// full or a single value, else row by row (a row full or a single value).
template <BinaryOp op>
void binary_plane(const float* a, const View& av, const float* b, const View& bv, float* y,
                  int64_t h, int64_t w) {
    const bool a_flat = av.h * av.w == 1 || (av.h == h && av.w == w);
    const bool b_flat = bv.h * bv.w == 1 || (bv.h == h && bv.w == w);
    if (a_flat && b_flat) {
        binary_run<op>(a, av.h * av.w == 1 && h * w != 1 ? 0 : 1, b,
                       bv.h * bv.w == 1 && h * w != 1 ? 0 : 1, y, h * w);
        return;
    }
    for (int64_t iy = 0; iy < h; ++iy) {
        binary_run<op>(a + (av.h == 1 ? 0 : iy * av.w), av.w == 1 && w != 1 ? 0 : 1,
                       b + (bv.h == 1 ? 0 : iy * bv.w), bv.w == 1 && w != 1 ? 0 : 1, y + iy * w, w);
    }
}

// Runs body(c, in, out, hw) on every (n, c) plane of x and y, one plane per
// OpenMP task (threads only when the tensor is large enough to pay for them).
// The elementwise kernels below are such loops; body holds the inner loop.
template <class Body>
void for_each_plane(const View& x, const View& y, Body body) {
    const int64_t hw = x.hw();
#pragma omp parallel for collapse(2) schedule(static) if (x.numel() > kParallelThreshold)
    for (int64_t n = 0; n < x.n; ++n) {
        for (int64_t c = 0; c < x.c; ++c) {
            body(c, x.f32() + x.offset(n, c, 0, 0), y.f32() + y.offset(n, c, 0, 0), hw);
        }
    }
}

}  // namespace

void activation(const View& x, const View& y, ActivationParams act) {
    for_each_plane(x, y, [&](int64_t c, const float* in, float* out, int64_t hw) {
        if (in != out) std::memcpy(out, in, sizeof(float) * hw);
        bias_activation(out, hw, 0.0f, act);
    });
}

void binary(const View& a, const View& b, const View& y, const BinaryParams& p) {
    const int64_t hw = y.hw();
#pragma omp parallel for collapse(2) schedule(static) if (y.numel() > kParallelThreshold)
    for (int64_t n = 0; n < y.n; ++n) {
        for (int64_t c = 0; c < y.c; ++c) {
            const float* pa = a.f32() + a.offset(a.n == 1 ? 0 : n, a.c == 1 ? 0 : c, 0, 0);
            const float* pb = b.f32() + b.offset(b.n == 1 ? 0 : n, b.c == 1 ? 0 : c, 0, 0);
            float* out = y.f32() + y.offset(n, c, 0, 0);
            if (p.op == BinaryOp::Add) {
                binary_plane<BinaryOp::Add>(pa, a, pb, b, out, y.h, y.w);
            } else {
                binary_plane<BinaryOp::Mul>(pa, a, pb, b, out, y.h, y.w);
            }
            bias_activation(out, hw, 0.0f, p.act);
        }
    }
}

void batch_norm(const View& x, const float* scale, const float* bias, const float* mean,
                const float* var, float epsilon, ActivationParams act, const View& y) {
    for_each_plane(x, y, [&](int64_t c, const float* in, float* out, int64_t hw) {
        // (x - mean) * inv_std * scale + bias, with the per-channel factor in
        // float64 so only the final fused step rounds in float32.
        const double inv_std = 1.0 / std::sqrt(static_cast<double>(var[c]) + epsilon);
        const float mul = static_cast<float>(inv_std * scale[c]);
        const float m = mean[c], b = bias[c];
        // A fused activation (fuse_activation: FC-DenseNet's batch_norm + relu)
        // runs in the same pass; relu, the common one, stays vectorised.
        if (act.kind == Activation::Relu) {
#pragma omp simd
            for (int64_t i = 0; i < hw; ++i) {
                const float v = (in[i] - m) * mul + b;
                out[i] = v > 0.0f ? v : 0.0f;
            }
        } else if (act.kind == Activation::None) {
#pragma omp simd
            for (int64_t i = 0; i < hw; ++i) out[i] = (in[i] - m) * mul + b;
        } else {
            for (int64_t i = 0; i < hw; ++i) out[i] = apply_activation((in[i] - m) * mul + b, act);
        }
    });
}

// hard_sigmoid_f32 / hard_swish_f32 (op_params.h): the same float ops as a conv
// epilogue with the fused activation.
void hard_sigmoid(const View& x, const View& y, float alpha, float beta) {
    for_each_plane(x, y, [&](int64_t c, const float* in, float* out, int64_t hw) {
#pragma omp simd
        for (int64_t i = 0; i < hw; ++i) out[i] = hard_sigmoid_f32(in[i], alpha, beta);
    });
}

void hard_swish(const View& x, const View& y) {
    for_each_plane(x, y, [&](int64_t c, const float* in, float* out, int64_t hw) {
#pragma omp simd
        for (int64_t i = 0; i < hw; ++i) out[i] = hard_swish_f32(in[i]);
    });
}

// PReLU, ELU and GELU: one (n, c) plane per task as above. Float32 arithmetic
// with the libm functions (expm1f, erff, tanhf), each accurate to a few ulp.
void prelu(const View& x, const float* slope, int64_t slope_count, const View& y) {
    for_each_plane(x, y, [&](int64_t c, const float* in, float* out, int64_t hw) {
        const float s = slope[slope_count == 1 ? 0 : c];
#pragma omp simd
        for (int64_t i = 0; i < hw; ++i) out[i] = in[i] >= 0.0f ? in[i] : s * in[i];
    });
}

void elu(const View& x, const View& y, float alpha) {
    for_each_plane(x, y, [&](int64_t c, const float* in, float* out, int64_t hw) {
        for (int64_t i = 0; i < hw; ++i)
            out[i] = in[i] > 0.0f ? in[i] : alpha * std::expm1(in[i]);
    });
}

void gelu(const View& x, const View& y, bool tanh_form) {
    const float inv_sqrt2 = 0.70710678118654752f, sqrt_2_over_pi = 0.79788456080286536f;
    for_each_plane(x, y, [&](int64_t c, const float* in, float* out, int64_t hw) {
        if (tanh_form) {
            for (int64_t i = 0; i < hw; ++i) {
                const float v = in[i];
                out[i] =
                    0.5f * v * (1.0f + std::tanh(sqrt_2_over_pi * (v + 0.044715f * v * v * v)));
            }
        } else {
            for (int64_t i = 0; i < hw; ++i) {
                const float v = in[i];
                out[i] = 0.5f * v * (1.0f + std::erf(v * inv_sqrt2));
            }
        }
    });
}

void copy(const View& x, const View& y) {
    // F32 and I32 are both 4 bytes: copy bytes.
    const int64_t chw = x.chw();
    if (x.contiguous() && y.contiguous()) {
        if (x.data != y.data) std::memcpy(y.data, x.data, sizeof(float) * x.numel());
        return;
    }
#pragma omp parallel for schedule(static) if (x.numel() > kParallelThreshold)
    for (int64_t n = 0; n < x.n; ++n) {
        std::memcpy(static_cast<float*>(y.data) + n * y.batch_stride,
                    static_cast<const float*>(x.data) + n * x.batch_stride, sizeof(float) * chw);
    }
}

}  // namespace fcnrt::cpu
