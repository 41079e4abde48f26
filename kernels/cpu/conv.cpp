// Fast CPU convolution and transposed convolution.
//
// conv2d, general case: for each batch item and group, the output rows are cut
// into blocks whose im2col matrix cols [Cg*kh*kw, rows*OW] stays near
// kColumnBudget floats, so large images never materialise the whole column
// matrix. Per block: im2col (OpenMP over the Cg*kh*kw column rows), one SGEMM
// weight_g [Kg, Cg*kh*kw] x cols -> y[n, g*Kg : (g+1)*Kg, oy0 : oy1, :] (OpenBLAS
// threads; that slice is contiguous per channel, so ldc = OH*OW), then the bias +
// activation epilogue while the block is still in cache (OpenMP over channels).
// A 1x1, stride-1, unpadded conv multiplies the input plane directly. Convs with
// one input channel per group (depthwise, also with a channel multiplier) use a
// direct loop kernel, OpenMP over (n, k) planes, vectorised along output rows.
//
// conv_transpose2d: per batch item, group and block of input rows, one SGEMM
// weight_g^T [Kg*kh*kw, Cg] x x_g [Cg, rows*W] -> cols, then a col2im pass that
// adds each column entry into the output pixel it lands on. The col2im pass is
// threaded over output channels, so every output element is owned by one thread
// and summed in a fixed order: deterministic, no atomics. y starts as the bias;
// the activation runs once all blocks are in.
//
// Scratch: thread_local std::vector buffers, grown on demand and reused.
#include "kernels/cpu/conv.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cpu/gemm.h"

namespace fcnrt::cpu {

namespace {

// Target size of one column block, in floats (4 MiB): large enough that SGEMM
// runs at full speed, small enough to stay in the last-level cache.
constexpr int64_t kColumnBudget = int64_t{1} << 20;

float* scratch(int64_t count) {
    thread_local std::vector<float> buffer;
    if (static_cast<int64_t>(buffer.size()) < count) buffer.resize(count);
    return buffer.data();
}

int64_t div_floor(int64_t a, int64_t b) {
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

int64_t div_ceil(int64_t a, int64_t b) {
    return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}

// Output columns [lo, hi) of a row whose input column ox*stride + start lies in
// [0, in): the only part of the row that reads (or writes) the input.
void valid_range(int64_t start, int64_t stride, int64_t in, int64_t out, int64_t* lo,
                 int64_t* hi) {
    *lo = std::min(out, std::max<int64_t>(0, div_ceil(-start, stride)));
    *hi = std::max(*lo, std::min(out, div_floor(in - 1 - start, stride) + 1));
}

// cols [Cg*kh*kw, rows*OW] for output rows [oy0, oy0 + rows) of one group.
// x_g points at channel 0 of the group in one batch item, planes H*W apart.
void im2col(const float* x_g, int64_t cg, int64_t h, int64_t w, int64_t kh, int64_t kw,
            int64_t ow, int64_t oy0, int64_t rows, const Conv2dParams& p, float* cols) {
    const int64_t sh = p.stride[0], sw = p.stride[1];
    const int64_t dh = p.dilation[0], dw = p.dilation[1];
    const int64_t pt = p.pads[0], pl = p.pads[1];
    const int64_t ncols = rows * ow;
#pragma omp parallel for schedule(static) if (cg * kh * kw * ncols > 32768)
    for (int64_t r = 0; r < cg * kh * kw; ++r) {
        const int64_t c = r / (kh * kw), ky = (r / kw) % kh, kx = r % kw;
        const float* plane = x_g + c * h * w;
        float* dst = cols + r * ncols;
        int64_t lo, hi;
        const int64_t start_x = kx * dw - pl;
        valid_range(start_x, sw, w, ow, &lo, &hi);
        for (int64_t j = 0; j < rows; ++j) {
            float* out = dst + j * ow;
            const int64_t iy = (oy0 + j) * sh - pt + ky * dh;
            if (iy < 0 || iy >= h || lo >= hi) {
                std::memset(out, 0, sizeof(float) * ow);
                continue;
            }
            const float* src = plane + iy * w + start_x;  // src[ox * sw] for ox in [lo, hi)
            std::fill(out, out + lo, 0.0f);
            if (sw == 1) {
                std::memcpy(out + lo, src + lo, sizeof(float) * (hi - lo));
            } else {
                for (int64_t ox = lo; ox < hi; ++ox) out[ox] = src[ox * sw];
            }
            std::fill(out + hi, out + ow, 0.0f);
        }
    }
}

// Bias + activation over channels [k0, k0 + count) of batch item n, output rows
// [oy0, oy0 + rows): contiguous runs of rows*OW per channel.
void conv_epilogue(const View& y, int64_t n, int64_t k0, int64_t count, int64_t oy0,
                   int64_t rows, const float* bias, ActivationParams act) {
    if (bias == nullptr && act.kind == Activation::None) return;
    const int64_t run = rows * y.w;
#pragma omp parallel for schedule(static) if (count * run > 32768)
    for (int64_t k = 0; k < count; ++k) {
        bias_activation(y.f32() + y.offset(n, k0 + k, oy0, 0), run,
                        bias ? bias[k0 + k] : 0.0f, act);
    }
}

// One input channel per group: y[n, k] = sum over taps of w[k, 0] * x[n, k / kg].
void conv2d_direct_single_channel(const View& x, const View& weight, const float* bias,
                                  const View& y, const Conv2dParams& p) {
    const int64_t kg = y.c / p.groups;
    const int64_t kh = weight.h, kw = weight.w;
    const int64_t sh = p.stride[0], sw = p.stride[1];
    const int64_t dh = p.dilation[0], dw = p.dilation[1];
    const int64_t pt = p.pads[0], pl = p.pads[1];
    const int64_t oh = y.h, ow = y.w;
    // Valid output-column range of each kx, the same for every row.
    std::vector<int64_t> lo(kw), hi(kw);
    for (int64_t kx = 0; kx < kw; ++kx) valid_range(kx * dw - pl, sw, x.w, ow, &lo[kx], &hi[kx]);
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t n = 0; n < y.n; ++n) {
        for (int64_t k = 0; k < y.c; ++k) {
            const float* plane = x.f32() + x.offset(n, k / kg, 0, 0);  // (H, W)
            const float* wk = weight.f32() + k * kh * kw;                // (kh, kw)
            const float b = bias ? bias[k] : 0.0f;
            for (int64_t oy = 0; oy < oh; ++oy) {
                float* out = y.f32() + y.offset(n, k, oy, 0);  // (OW)
                std::fill(out, out + ow, 0.0f);
                for (int64_t ky = 0; ky < kh; ++ky) {
                    const int64_t iy = oy * sh - pt + ky * dh;
                    if (iy < 0 || iy >= x.h) continue;
                    for (int64_t kx = 0; kx < kw; ++kx) {
                        const float wv = wk[ky * kw + kx];
                        const float* src = plane + iy * x.w + kx * dw - pl;
                        const int64_t l = lo[kx], r = hi[kx];
                        if (sw == 1) {
#pragma omp simd
                            for (int64_t ox = l; ox < r; ++ox) out[ox] += wv * src[ox];
                        } else {
                            for (int64_t ox = l; ox < r; ++ox) out[ox] += wv * src[ox * sw];
                        }
                    }
                }
                bias_activation(out, ow, b, p.act);
            }
        }
    }
}

}  // namespace

void conv2d(const View& x, const View& weight, const float* bias, const View& y,
            const Conv2dParams& p) {
    const int64_t groups = p.groups;
    const int64_t cg = x.c / groups, kg = y.c / groups;
    const int64_t kh = weight.h, kw = weight.w;
    const int64_t oh = y.h, ow = y.w;
    if (y.numel() == 0) return;
    if (cg == 1) {
        conv2d_direct_single_channel(x, weight, bias, y, p);
        return;
    }
    const int64_t reduce = cg * kh * kw;  // GEMM inner dimension
    const bool pointwise = kh == 1 && kw == 1 && p.stride[0] == 1 && p.stride[1] == 1 &&
                           p.pads[0] == 0 && p.pads[1] == 0 && p.pads[2] == 0 &&
                           p.pads[3] == 0 && oh == x.h && ow == x.w;
    const int64_t rows_per_block =
        std::max<int64_t>(1, std::min(oh, kColumnBudget / std::max<int64_t>(1, reduce * ow)));
    float* cols = pointwise ? nullptr : scratch(reduce * rows_per_block * ow);
    for (int64_t n = 0; n < y.n; ++n) {
        for (int64_t g = 0; g < groups; ++g) {
            const float* x_g = x.f32() + x.offset(n, g * cg, 0, 0);  // (Cg, H, W)
            const float* w_g = weight.f32() + g * kg * reduce;       // (Kg, Cg*kh*kw)
            if (pointwise) {
                // (Kg, Cg) x (Cg, H*W) -> (Kg, OH*OW)
                sgemm(false, false, kg, oh * ow, cg, 1.0f, w_g, reduce, x_g, x.hw(), 0.0f,
                      y.f32() + y.offset(n, g * kg, 0, 0), oh * ow);
                conv_epilogue(y, n, g * kg, kg, 0, oh, bias, p.act);
                continue;
            }
            for (int64_t oy0 = 0; oy0 < oh; oy0 += rows_per_block) {
                const int64_t rows = std::min(rows_per_block, oh - oy0);
                im2col(x_g, cg, x.h, x.w, kh, kw, ow, oy0, rows, p, cols);  // (Cg*kh*kw, rows*OW)
                sgemm(false, false, kg, rows * ow, reduce, 1.0f, w_g, reduce, cols, rows * ow,
                      0.0f, y.f32() + y.offset(n, g * kg, oy0, 0), oh * ow);
                conv_epilogue(y, n, g * kg, kg, oy0, rows, bias, p.act);
            }
        }
    }
}

void conv_transpose2d(const View& x, const View& weight, const float* bias, const View& y,
                      const ConvTranspose2dParams& p) {
    const int64_t groups = p.groups;
    const int64_t cg = x.c / groups, kg = y.c / groups;
    const int64_t kh = weight.h, kw = weight.w;
    const int64_t sh = p.stride[0], sw = p.stride[1];
    const int64_t dh = p.dilation[0], dw = p.dilation[1];
    const int64_t pt = p.pads[0], pl = p.pads[1];
    const int64_t h = x.h, w = x.w, oh = y.h, ow = y.w;
    if (y.numel() == 0) return;

    // y = bias (or 0), then every block of input rows adds its contributions.
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t n = 0; n < y.n; ++n) {
        for (int64_t k = 0; k < y.c; ++k) {
            float* plane = y.f32() + y.offset(n, k, 0, 0);
            std::fill(plane, plane + oh * ow, bias ? bias[k] : 0.0f);
        }
    }
    if (x.numel() != 0) {
        const int64_t taps = kg * kh * kw;  // GEMM output rows
        const int64_t rows_per_block =
            std::max<int64_t>(1, std::min(h, kColumnBudget / std::max<int64_t>(1, taps * w)));
        float* cols = scratch(taps * rows_per_block * w);
        // Valid input-column range of each kx: ox = ix*sw - pl + kx*dw in [0, OW).
        std::vector<int64_t> lo(kw), hi(kw);
        for (int64_t kx = 0; kx < kw; ++kx) {
            const int64_t off = kx * dw - pl;
            lo[kx] = std::min(w, std::max<int64_t>(0, div_ceil(-off, sw)));
            hi[kx] = std::max(lo[kx], std::min(w, div_floor(ow - 1 - off, sw) + 1));
        }
        for (int64_t n = 0; n < x.n; ++n) {
            for (int64_t g = 0; g < groups; ++g) {
                const float* w_g = weight.f32() + g * cg * taps;  // (Cg, Kg*kh*kw)
                for (int64_t iy0 = 0; iy0 < h; iy0 += rows_per_block) {
                    const int64_t rows = std::min(rows_per_block, h - iy0);
                    const int64_t ncols = rows * w;
                    // (Kg*kh*kw, Cg) x (Cg, rows*W) -> cols (Kg*kh*kw, rows*W)
                    sgemm(true, false, taps, ncols, cg, 1.0f, w_g, taps,
                          x.f32() + x.offset(n, g * cg, iy0, 0), h * w, 0.0f, cols, ncols);
#pragma omp parallel for schedule(static) if (taps * ncols > 32768)
                    for (int64_t k = 0; k < kg; ++k) {
                        float* plane = y.f32() + y.offset(n, g * kg + k, 0, 0);  // (OH, OW)
                        for (int64_t ky = 0; ky < kh; ++ky) {
                            for (int64_t kx = 0; kx < kw; ++kx) {
                                const float* src = cols + ((k * kh + ky) * kw + kx) * ncols;
                                const int64_t off = kx * dw - pl;
                                for (int64_t j = 0; j < rows; ++j) {
                                    const int64_t oy = (iy0 + j) * sh - pt + ky * dh;
                                    if (oy < 0 || oy >= oh) continue;
                                    float* out = plane + oy * ow + off;  // out[ix * sw]
                                    const float* in = src + j * w;
                                    if (sw == 1) {
#pragma omp simd
                                        for (int64_t ix = lo[kx]; ix < hi[kx]; ++ix)
                                            out[ix] += in[ix];
                                    } else {
                                        for (int64_t ix = lo[kx]; ix < hi[kx]; ++ix)
                                            out[ix * sw] += in[ix];
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    if (p.act.kind != Activation::None) {
#pragma omp parallel for collapse(2) schedule(static)
        for (int64_t n = 0; n < y.n; ++n) {
            for (int64_t k = 0; k < y.c; ++k) {
                bias_activation(y.f32() + y.offset(n, k, 0, 0), oh * ow, 0.0f, p.act);
            }
        }
    }
}

}  // namespace fcnrt::cpu
