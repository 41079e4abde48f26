// Fast CPU pooling and unpooling.
//
// Threading: every kernel works on whole (n, c) planes, distributed over OpenMP
// threads (collapse over n and c). Pool windows: the in-bounds taps of each output
// row, and the range of output columns each window column reaches, are computed
// once per call, so the inner loops carry no bounds checks. Pools run tap by tap
// over a whole output row (vectorised across outputs, branch-free selects), each
// output still seeing its taps in window order. Max pooling keeps PyTorch's
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

AxisTaps axis_taps(int64_t in, int64_t out, int kernel, int stride, int pad_before, int pad_after,
                   int dilation) {
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

// Output columns [lo[k], hi[k]) whose tap k (input column o*stride - pad + k*dilation)
// lies inside [0, in).
void tap_ranges(int64_t in, int64_t out, int kernel, int stride, int pad, int dilation,
                std::vector<int64_t>* lo, std::vector<int64_t>* hi) {
    lo->assign(kernel, 0);
    hi->assign(kernel, 0);
    for (int64_t k = 0; k < kernel; ++k) {
        const int64_t off = k * dilation - pad;  // input column of output 0's tap k
        int64_t l = off >= 0 ? 0 : (-off + stride - 1) / stride;
        int64_t h = in - 1 - off < 0 ? 0 : (in - 1 - off) / stride + 1;
        l = std::min(l, out);
        (*lo)[k] = l;
        (*hi)[k] = std::max(l, std::min(h, out));
    }
}

// best[ox] = max over one tap of the row, for ox in [lo, hi): the value-only
// max pool (no indices wanted), with the stride a constant where it is 1 or 2
// so that the loads vectorise. The same update rule as the indexed loop.
template <int64_t SW>
void max_tap_values(float* best, const float* row, int64_t off, int64_t lo, int64_t hi, int64_t sw) {
    const int64_t stride = SW > 0 ? SW : sw;
#pragma omp simd
    for (int64_t ox = lo; ox < hi; ++ox) {
        const float v = row[ox * stride + off];
        const float b = best[ox];
        best[ox] = v > b || v != v ? v : b;
    }
}

void max_tap(float* best, const float* row, int64_t off, int64_t lo, int64_t hi, int64_t sw) {
    if (sw == 1) return max_tap_values<1>(best, row, off, lo, hi, sw);
    if (sw == 2) return max_tap_values<2>(best, row, off, lo, hi, sw);
    max_tap_values<0>(best, row, off, lo, hi, sw);
}

// sum[ox] += row[ox * sw + off] for ox in [lo, hi), the stride a constant
// where it is 1 or 2 so that the loads vectorise.
template <int64_t SW>
void sum_tap_values(float* sum, const float* row, int64_t off, int64_t lo, int64_t hi, int64_t sw) {
    const int64_t stride = SW > 0 ? SW : sw;
#pragma omp simd
    for (int64_t ox = lo; ox < hi; ++ox) sum[ox] += row[ox * stride + off];
}

void sum_tap(float* sum, const float* row, int64_t off, int64_t lo, int64_t hi, int64_t sw) {
    if (sw == 1) return sum_tap_values<1>(sum, row, off, lo, hi, sw);
    if (sw == 2) return sum_tap_values<2>(sum, row, off, lo, hi, sw);
    sum_tap_values<0>(sum, row, off, lo, hi, sw);
}

}  // namespace

void max_pool2d(const View& x, const View& y, const View& indices, const Pool2dParams& p) {
    const AxisTaps ty =
        axis_taps(x.h, y.h, p.kernel[0], p.stride[0], p.pads[0], p.pads[2], p.dilation[0]);
    const AxisTaps tx =
        axis_taps(x.w, y.w, p.kernel[1], p.stride[1], p.pads[1], p.pads[3], p.dilation[1]);
    std::vector<int64_t> lo, hi;
    tap_ranges(x.w, y.w, p.kernel[1], p.stride[1], p.pads[1], p.dilation[1], &lo, &hi);
    const int64_t dh = p.dilation[0], dw = p.dilation[1], sw = p.stride[1], pl = p.pads[1];
    const int64_t ow = y.w, in_w = x.w;
    const bool want_indices = indices.data != nullptr;
    const float neg_inf = -std::numeric_limits<float>::infinity();
#pragma omp parallel for collapse(2) schedule(static)
        for (int64_t n = 0; n < y.n; ++n) {
            for (int64_t c = 0; c < y.c; ++c) {
                const float* plane = x.f32() + x.offset(n, c, 0, 0);  // (H, W)
                // Flat indices (ONNX's) count from the start of x's (n, c) plane in N*C*H*W.
                const int64_t plane_base = p.flat_indices ? (n * x.c + c) * x.hw() : 0;
                for (int64_t oy = 0; oy < y.h; ++oy) {
                    float* best = y.f32() + y.offset(n, c, oy, 0);  // (OW)
                    if (!want_indices) {
                        std::fill(best, best + ow, neg_inf);
                        for (int64_t a = 0; a < ty.count[oy]; ++a) {
                            const float* row = plane + (ty.first[oy] + a * dh) * in_w;
                            for (int64_t kx = 0; kx < p.kernel[1]; ++kx)
                                max_tap(best, row, kx * dw - pl, lo[kx], hi[kx], sw);
                        }
                        continue;
                    }
                    int32_t* idx = indices.i32() + indices.offset(n, c, oy, 0);  // (OW)
                    for (int64_t ox = 0; ox < ow; ++ox) {
                        best[ox] = neg_inf;
                        idx[ox] =
                            static_cast<int32_t>(plane_base + ty.first[oy] * in_w + tx.first[ox]);
                    }
                    // Taps in the reference's order (row-major over the window), each
                    // applied to all outputs of the row that it reaches.
                    for (int64_t a = 0; a < ty.count[oy]; ++a) {
                        const int64_t iy = ty.first[oy] + a * dh;
                        const float* row = plane + iy * in_w;
                        for (int64_t kx = 0; kx < p.kernel[1]; ++kx) {
                            const int64_t off = kx * dw - pl;
                            const int32_t base = static_cast<int32_t>(plane_base + iy * in_w + off);
#pragma omp simd
                            for (int64_t ox = lo[kx]; ox < hi[kx]; ++ox) {
                                const float v = row[ox * sw + off];
                                const bool take = v > best[ox] || v != v;  // NaN wins
                                best[ox] = take ? v : best[ox];
                                idx[ox] = take ? base + static_cast<int32_t>(ox * sw) : idx[ox];
                            }
                        }
                    }
                }
            }
    }
}

void avg_pool2d(const View& x, const View& y, const Pool2dParams& p) {
    const AxisTaps ty =
        axis_taps(x.h, y.h, p.kernel[0], p.stride[0], p.pads[0], p.pads[2], p.dilation[0]);
    const AxisTaps tx =
        axis_taps(x.w, y.w, p.kernel[1], p.stride[1], p.pads[1], p.pads[3], p.dilation[1]);
    std::vector<int64_t> lo, hi;
    tap_ranges(x.w, y.w, p.kernel[1], p.stride[1], p.pads[1], p.dilation[1], &lo, &hi);
    const int64_t dh = p.dilation[0], dw = p.dilation[1], sw = p.stride[1], pl = p.pads[1];
    const int64_t ow = y.w, in_w = x.w;
    // count_include_pad: the window clipped to the padded input (ATen's pool_size);
    // dilated windows, which PyTorch lacks, divide by all kh*kw taps (the spec).
    const bool dilated = dh != 1 || dw != 1;
    const int64_t kernel_taps = int64_t{p.kernel[0]} * p.kernel[1];
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t n = 0; n < y.n; ++n) {
        for (int64_t c = 0; c < y.c; ++c) {
            const float* plane = x.f32() + x.offset(n, c, 0, 0);  // (H, W)
            for (int64_t oy = 0; oy < y.h; ++oy) {
                float* sum = y.f32() + y.offset(n, c, oy, 0);  // (OW)
                std::fill(sum, sum + ow, 0.0f);
                for (int64_t a = 0; a < ty.count[oy]; ++a) {
                    const float* row = plane + (ty.first[oy] + a * dh) * in_w;
                    for (int64_t kx = 0; kx < p.kernel[1]; ++kx)
                        sum_tap(sum, row, kx * dw - pl, lo[kx], hi[kx], sw);
                }
                for (int64_t ox = 0; ox < ow; ++ox) {
                    const int64_t in_bounds = ty.count[oy] * tx.count[ox];
                    int64_t divisor = in_bounds;
                    if (p.count_include_pad) {
                        divisor = dilated ? kernel_taps : ty.padded[oy] * tx.padded[ox];
                    }
                    // An empty window gives 0, as ATen writes 0 rather than 0 / 0.
                    sum[ox] = in_bounds == 0 ? 0.0f : sum[ox] / static_cast<float>(divisor);
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
            const float* in = x.f32() + x.offset(n, c, 0, 0);                 // (H, W)
            const int32_t* idx = indices.i32() + indices.offset(n, c, 0, 0);  // (H, W)
            for (int64_t i = 0; i < x.hw(); ++i) {
                const int64_t j = idx[i];
                if (j >= 0 && j < plane_size) out[j] = in[i];
            }
        }
    }
}

}  // namespace fcnrt::cpu
