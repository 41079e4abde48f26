// Fast CPU pooling and unpooling.
//
// Threading: every kernel works on whole (n, c) planes, distributed over OpenMP
// threads (collapse over n and c); small tensors stay on the calling thread
// (parallel.h). Pool windows: the in-bounds taps of each output row, and the
// range of output columns each window column reaches, are computed once per
// call, so the inner loops carry no bounds checks. Each (n, c) plane is one call
// of the active ISA's plane kernel (membound_kernels.h), row by row, vectorised
// across outputs with branch-free selects: tap by tap over the whole row; for 2-
// and 3-column windows at stride 1 or 2 a window row's taps folded per output
// (tap by tap on the border outputs); for a 2x2 stride-2 max with indices, fully
// in bounds, one pass folding all four taps. Each output sees its taps in window
// order in every case. Max pooling keeps PyTorch's
// update rule `v > best || isnan(v)` (NaN is the maximum; among NaNs the last one
// wins, among equal values the first) and its starting index, the first in-bounds
// tap past the leading padding. Averages accumulate in float32 over the (small)
// window.
#include "kernels/cpu/pool.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cpu/membound_kernels.h"
#include "kernels/cpu/parallel.h"

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

// One call's window tables, shared by every (n, c) plane: the taps of each
// output row (ty) and column (tx), and each window column's output range.
struct PoolTables {
    AxisTaps ty, tx;
    std::vector<int64_t> lo, hi;
};

PoolTables pool_tables(const View& x, const View& y, const Pool2dParams& p) {
    PoolTables t;
    t.ty = axis_taps(x.h, y.h, p.kernel[0], p.stride[0], p.pads[0], p.pads[2], p.dilation[0]);
    t.tx = axis_taps(x.w, y.w, p.kernel[1], p.stride[1], p.pads[1], p.pads[3], p.dilation[1]);
    tap_ranges(x.w, y.w, p.kernel[1], p.stride[1], p.pads[1], p.dilation[1], &t.lo, &t.hi);
    return t;
}

// Plane (n, c) of the pool: its window rows per output row and column ranges.
PoolPlane pool_plane(const View& x, const View& y, const Pool2dParams& p, const PoolTables& t,
                     int64_t n, int64_t c) {
    PoolPlane pp;
    PoolRow& r = pp.row;
    r.plane = x.f32() + x.offset(n, c, 0, 0);
    r.in_w = x.w;
    r.row0 = 0;
    r.rows = 0;
    r.dh = p.dilation[0];
    r.kw = p.kernel[1];
    r.dw = p.dilation[1];
    r.sw = p.stride[1];
    r.pl = p.pads[1];
    r.ow = y.w;
    r.lo = t.lo.data();
    r.hi = t.hi.data();
    pp.first_y = t.ty.first.data();
    pp.count_y = t.ty.count.data();
    pp.padded_y = t.ty.padded.data();
    pp.oh = y.h;
    return pp;
}

}  // namespace

void max_pool2d(const View& x, const View& y, const View& indices, const Pool2dParams& p) {
    max_pool2d_with(active_membound_kernels(), x, y, indices, p);
}

void max_pool2d_with(const MemboundKernels& k, const View& x, const View& y, const View& indices,
                const Pool2dParams& p) {
    if (indices.data == nullptr && p.kernel[0] == 2 && p.kernel[1] == 2 && p.stride[0] == 2 &&
        p.stride[1] == 2 && p.dilation[0] == 1 && p.dilation[1] == 1 && p.pads[0] == 0 && p.pads[1] == 0 &&
        p.pads[2] == 0 && p.pads[3] == 0 && 2 * y.h <= x.h && 2 * y.w <= x.w) {
        // The common 2x2 stride-2 pool, every window in bounds: a plane per call.
#pragma omp parallel for collapse(2) schedule(static) if (x.numel() >= kParallelMinElements)
        for (int64_t n = 0; n < y.n; ++n)
            for (int64_t c = 0; c < y.c; ++c)
                k.max_pool_2x2_s2_plane(x.f32() + x.offset(n, c, 0, 0), x.w, y.h, y.w,
                                        y.f32() + y.offset(n, c, 0, 0));
        return;
    }
    const PoolTables t = pool_tables(x, y, p);
    const bool want_indices = indices.data != nullptr;
#pragma omp parallel for collapse(2) schedule(static) if (x.numel() >= kParallelMinElements)
    for (int64_t n = 0; n < y.n; ++n) {
        for (int64_t c = 0; c < y.c; ++c) {
            // Flat indices (ONNX's) count from the start of x's (n, c) plane in N*C*H*W.
            const int64_t plane_base = p.flat_indices ? (n * x.c + c) * x.hw() : 0;
            int32_t* idx = want_indices ? indices.i32() + indices.offset(n, c, 0, 0) : nullptr;
            k.max_pool_plane(pool_plane(x, y, p, t, n, c), y.f32() + y.offset(n, c, 0, 0), idx, plane_base,
                             t.tx.first.data());
        }
    }
}

void avg_pool2d(const View& x, const View& y, const Pool2dParams& p) {
    avg_pool2d_with(active_membound_kernels(), x, y, p);
}

void avg_pool2d_with(const MemboundKernels& k, const View& x, const View& y, const Pool2dParams& p) {
    const PoolTables t = pool_tables(x, y, p);
    // count_include_pad: the window clipped to the padded input (ATen's pool_size);
    // dilated windows, which PyTorch lacks, divide by all kh*kw taps (the spec).
    const bool dilated = p.dilation[0] != 1 || p.dilation[1] != 1;
    const int64_t kernel_taps = int64_t{p.kernel[0]} * p.kernel[1];
#pragma omp parallel for collapse(2) schedule(static) if (x.numel() >= kParallelMinElements)
    for (int64_t n = 0; n < y.n; ++n) {
        for (int64_t c = 0; c < y.c; ++c) {
            PoolDivisor d;
            d.row_count = d.row_padded = 0;  // per row, from the plane's tables
            d.count = t.tx.count.data();
            d.padded = t.tx.padded.data();
            d.include_pad = p.count_include_pad;
            d.dilated = dilated;
            d.kernel_taps = kernel_taps;
            k.avg_pool_plane(pool_plane(x, y, p, t, n, c), d, y.f32() + y.offset(n, c, 0, 0));
        }
    }
}

void global_avg_pool(const View& x, const View& y) {
    const int64_t hw = x.hw();
#pragma omp parallel for collapse(2) schedule(static) if (x.numel() >= kParallelMinElements)
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
#pragma omp parallel for collapse(2) schedule(static) if (y.numel() >= kParallelMinElements)
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
