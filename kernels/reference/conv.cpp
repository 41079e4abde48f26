// Reference conv2d and conv_transpose2d: one output element per innermost loop
// body, summed over its whole receptive field in float64, the bias added first
// and the activation applied to the sum before rounding to float32. A conv
// residual is the exception: see Conv2dParams::residual.
#include "kernels/reference/conv.h"

namespace fcnrt::reference {

void conv2d(const View& x, const View& weight, const float* bias, const View& y,
            const Conv2dParams& p) {
    // x (N, C, H, W); weight (K, C/groups, KH, KW); y (N, K, OH, OW)
    const int64_t groups = p.groups;
    const int64_t in_per_group = x.c / groups;
    const int64_t out_per_group = y.c / groups;
    const int64_t kh = weight.h, kw = weight.w;
    const int64_t sh = p.stride[0], sw = p.stride[1];
    const int64_t dh = p.dilation[0], dw = p.dilation[1];
    const int64_t pt = p.pads[0], pl = p.pads[1];  // bottom/right only shape y
    for (int64_t n = 0; n < y.n; ++n) {
        for (int64_t k = 0; k < y.c; ++k) {
            const int64_t g = k / out_per_group;
            for (int64_t oy = 0; oy < y.h; ++oy) {
                for (int64_t ox = 0; ox < y.w; ++ox) {
                    double acc = bias ? static_cast<double>(bias[k]) : 0.0;
                    for (int64_t ci = 0; ci < in_per_group; ++ci) {
                        const int64_t c = g * in_per_group + ci;
                        for (int64_t ky = 0; ky < kh; ++ky) {
                            const int64_t iy = oy * sh - pt + ky * dh;
                            if (iy < 0 || iy >= x.h) continue;  // zero padding
                            for (int64_t kx = 0; kx < kw; ++kx) {
                                const int64_t ix = ox * sw - pl + kx * dw;
                                if (ix < 0 || ix >= x.w) continue;
                                acc += static_cast<double>(x.f32()[x.offset(n, c, iy, ix)]) *
                                       static_cast<double>(
                                           weight.f32()[weight.offset(k, ci, ky, kx)]);
                            }
                        }
                    }
                    if (p.residual.data != nullptr) {
                        // Residual: conv + bias rounded to float32, the residual
                        // added in float32 (as the fast kernels do), then the
                        // activation on that float value.
                        const float v = static_cast<float>(acc) +
                                        p.residual.f32()[p.residual.offset(n, k, oy, ox)];
                        y.f32()[y.offset(n, k, oy, ox)] = static_cast<float>(
                            apply_activation_f64(static_cast<double>(v), p.act));
                    } else {
                        y.f32()[y.offset(n, k, oy, ox)] =
                            static_cast<float>(apply_activation_f64(acc, p.act));
                    }
                }
            }
        }
    }
}

void conv_transpose2d(const View& x, const View& weight, const float* bias, const View& y,
                      const ConvTranspose2dParams& p) {
    // x (N, C, H, W); weight (C, K/groups, KH, KW); y (N, K, OH, OW)
    // Input (iy, ix) scatters into output (iy*sh - pt + ky*dh, ...); we invert that map and
    // gather, so each output element is written once. pb, pr and output_padding only size y.
    const int64_t groups = p.groups;
    const int64_t in_per_group = x.c / groups;
    const int64_t out_per_group = y.c / groups;
    const int64_t kh = weight.h, kw = weight.w;
    const int64_t sh = p.stride[0], sw = p.stride[1];
    const int64_t dh = p.dilation[0], dw = p.dilation[1];
    const int64_t pt = p.pads[0], pl = p.pads[1];
    for (int64_t n = 0; n < y.n; ++n) {
        for (int64_t k = 0; k < y.c; ++k) {
            const int64_t g = k / out_per_group;
            const int64_t kk = k % out_per_group;  // k's index within its group
            for (int64_t oy = 0; oy < y.h; ++oy) {
                for (int64_t ox = 0; ox < y.w; ++ox) {
                    double acc = bias ? static_cast<double>(bias[k]) : 0.0;
                    for (int64_t ci = 0; ci < in_per_group; ++ci) {
                        const int64_t c = g * in_per_group + ci;
                        for (int64_t ky = 0; ky < kh; ++ky) {
                            const int64_t ny = oy + pt - ky * dh;  // == iy * sh
                            if (ny < 0 || ny % sh != 0) continue;
                            const int64_t iy = ny / sh;
                            if (iy >= x.h) continue;
                            for (int64_t kx = 0; kx < kw; ++kx) {
                                const int64_t nx = ox + pl - kx * dw;  // == ix * sw
                                if (nx < 0 || nx % sw != 0) continue;
                                const int64_t ix = nx / sw;
                                if (ix >= x.w) continue;
                                acc += static_cast<double>(x.f32()[x.offset(n, c, iy, ix)]) *
                                       static_cast<double>(
                                           weight.f32()[weight.offset(c, kk, ky, kx)]);
                            }
                        }
                    }
                    y.f32()[y.offset(n, k, oy, ox)] =
                        static_cast<float>(apply_activation_f64(acc, p.act));
                }
            }
        }
    }
}

}  // namespace fcnrt::reference
