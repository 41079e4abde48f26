// Fast CPU pooling and unpooling.
//
// Threading: every kernel works on whole (n, c) planes, distributed over OpenMP
// threads (collapse over n and c). Pool windows: the in-bounds tap ranges of each
// output row and column are computed once per call (tables of first tap and tap
// count), so the inner loops carry no bounds checks. Max pooling keeps PyTorch's
// update rule `v > best || isnan(v)` (NaN is the maximum; among NaNs the last one
// wins, among equal values the first) and its starting index, the first in-bounds
// tap past the leading padding. Averages accumulate in float32 over the (small)
// window.
#include "kernels/cpu/pool.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

namespace fcnrt::cpu {

namespace {

// In-bounds taps of each output position along one axis: tap t of output o reads
// input first[o] + t * dilation, for t < count[o]. `padded` counts the taps inside
// the padded input [-pad_before, in + pad_after) (avg_pool's count_include_pad).
// When a window has no in-bounds tap (only possible with dilation), first[o] is
// still its first tap past the leading padding, as ATen's starting index.
struct AxisTaps {
    std::vector<int64_t> first, count, padded;
};

AxisTaps axis_taps(int64_t in, int64_t out, int kernel, int stride, int pad_before,
                   int pad_after, int dilation) {
    AxisTaps t;
    t.first.resize(out);
    t.count.resize(out);
    t.padded.resize(out);
    for (int64_t o = 0; o < out; ++o) {
        const int64_t start = o * stride - pad_before;
        const int64_t first =
            start >= 0 ? start : start + (-start + dilation - 1) / dilation * dilation;
        int64_t count = 0, padded = 0;
        for (int64_t k = 0; k < kernel; ++k) {
            const int64_t i = start + k * dilation;
            if (i < in + pad_after) ++padded;  // i >= -pad_before always holds
            if (i >= 0 && i < in) ++count;
        }
        t.first[o] = first;
        t.count[o] = count;
        t.padded[o] = padded;
    }
    return t;
}

}  // namespace

void max_pool2d(const View& x, const View& y, const View& indices, const Pool2dParams& p) {
    const AxisTaps ty = axis_taps(x.h, y.h, p.kernel[0], p.stride[0], p.pads[0], p.pads[2],
                                  p.dilation[0]);
    const AxisTaps tx = axis_taps(x.w, y.w, p.kernel[1], p.stride[1], p.pads[1], p.pads[3],
                                  p.dilation[1]);
    const int64_t dh = p.dilation[0], dw = p.dilation[1];
    const bool want_indices = indices.data != nullptr;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t n = 0; n < y.n; ++n) {
        for (int64_t c = 0; c < y.c; ++c) {
            const float* plane = x.f32() + x.offset(n, c, 0, 0);  // (H, W)
            float* out = y.f32() + y.offset(n, c, 0, 0);            // (OH, OW)
            int32_t* idx = want_indices ? indices.i32() + indices.offset(n, c, 0, 0) : nullptr;
            for (int64_t oy = 0; oy < y.h; ++oy) {
                for (int64_t ox = 0; ox < y.w; ++ox) {
                    float best = -std::numeric_limits<float>::infinity();
                    int64_t best_i = ty.first[oy] * x.w + tx.first[ox];
                    for (int64_t a = 0; a < ty.count[oy]; ++a) {
                        const int64_t iy = ty.first[oy] + a * dh;
                        const float* row = plane + iy * x.w;
                        for (int64_t b = 0; b < tx.count[ox]; ++b) {
                            const int64_t ix = tx.first[ox] + b * dw;
                            const float v = row[ix];
                            if (v > best || std::isnan(v)) {
                                best = v;
                                best_i = iy * x.w + ix;
                            }
                        }
                    }
                    out[oy * y.w + ox] = best;
                    if (idx) idx[oy * y.w + ox] = static_cast<int32_t>(best_i);
                }
            }
        }
    }
}

void avg_pool2d(const View& x, const View& y, const Pool2dParams& p) {
    const AxisTaps ty = axis_taps(x.h, y.h, p.kernel[0], p.stride[0], p.pads[0], p.pads[2],
                                  p.dilation[0]);
    const AxisTaps tx = axis_taps(x.w, y.w, p.kernel[1], p.stride[1], p.pads[1], p.pads[3],
                                  p.dilation[1]);
    const int64_t dh = p.dilation[0], dw = p.dilation[1];
    // count_include_pad: the window clipped to the padded input (ATen's pool_size);
    // dilated windows, which PyTorch lacks, divide by all kh*kw taps (the spec).
    const bool dilated = dh != 1 || dw != 1;
    const int64_t kernel_taps = int64_t{p.kernel[0]} * p.kernel[1];
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t n = 0; n < y.n; ++n) {
        for (int64_t c = 0; c < y.c; ++c) {
            const float* plane = x.f32() + x.offset(n, c, 0, 0);  // (H, W)
            float* out = y.f32() + y.offset(n, c, 0, 0);            // (OH, OW)
            for (int64_t oy = 0; oy < y.h; ++oy) {
                for (int64_t ox = 0; ox < y.w; ++ox) {
                    float sum = 0.0f;
                    for (int64_t a = 0; a < ty.count[oy]; ++a) {
                        const float* row = plane + (ty.first[oy] + a * dh) * x.w + tx.first[ox];
                        for (int64_t b = 0; b < tx.count[ox]; ++b) sum += row[b * dw];
                    }
                    const int64_t in_bounds = ty.count[oy] * tx.count[ox];
                    int64_t divisor = in_bounds;
                    if (p.count_include_pad) {
                        divisor = dilated ? kernel_taps : ty.padded[oy] * tx.padded[ox];
                    }
                    // An empty window gives 0, as ATen writes 0 rather than 0 / 0.
                    out[oy * y.w + ox] = in_bounds == 0 ? 0.0f : sum / static_cast<float>(divisor);
                }
            }
        }
    }
}

void global_avg_pool(const View& x, const View& y) {
    const int64_t hw = x.hw();
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t n = 0; n < x.n; ++n) {
        for (int64_t c = 0; c < x.c; ++c) {
            const float* plane = x.f32() + x.offset(n, c, 0, 0);  // (H, W)
            // float64 sum: planes can be large, and the pass is memory bound anyway.
            double sum = 0.0;
#pragma omp simd reduction(+ : sum)
            for (int64_t i = 0; i < hw; ++i) sum += plane[i];
            y.f32()[y.offset(n, c, 0, 0)] = static_cast<float>(sum / static_cast<double>(hw));
        }
    }
}

void max_unpool2d(const View& x, const View& indices, const View& y) {
    const int64_t plane_size = y.hw();
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t n = 0; n < y.n; ++n) {
        for (int64_t c = 0; c < y.c; ++c) {
            float* out = y.f32() + y.offset(n, c, 0, 0);  // (OH, OW)
            std::memset(out, 0, sizeof(float) * plane_size);
            const float* in = x.f32() + x.offset(n, c, 0, 0);                // (H, W)
            const int32_t* idx = indices.i32() + indices.offset(n, c, 0, 0);  // (H, W)
            for (int64_t i = 0; i < x.hw(); ++i) {
                const int64_t j = idx[i];
                if (j >= 0 && j < plane_size) out[j] = in[i];
            }
        }
    }
}

}  // namespace fcnrt::cpu
