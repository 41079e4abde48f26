// The inner loops of the memory-bound CPU kernels (pools, softmax, argmax,
// resize), as a table of function pointers built once per instruction set
// (membound_kernels_{avx512,avx2,portable}.cpp from membound_kernels_impl.h)
// and picked from the active ISA (cpu_isa.h), as the GEMM micro-kernels are.
//
// The drivers (pool.cpp, softmax.cpp, resize.cpp) keep the OpenMP threading
// and the index tables; a table entry computes one output row (pools, resize)
// or one chunk of lanes (softmax, argmax). Every path runs the same source
// with the same float operations in the same order, compiled with
// -ffp-contract=off (no multiply-add contraction), so all paths give the same
// bits; only the vector width differs.
#pragma once

#include <cstdint>

#include "kernels/cpu/cpu_isa.h"

namespace fcnrt::cpu {

// One output row of a 2-D pool. Input rows: plane + (row0 + a * dh) * in_w,
// a < rows (the window rows in bounds). Window column kx reads input column
// ox * sw + kx * dw - pl for outputs ox in [lo[kx], hi[kx]).
struct PoolRow {
    const float* plane;
    int64_t in_w, row0, rows, dh;
    int64_t kw, dw, sw, pl, ow;
    const int64_t* lo;
    const int64_t* hi;
};

// avg_pool's divisor of output ox in the row: in_bounds = rows * count[ox];
// divisor = include_pad ? (dilated ? kernel_taps : row_padded * padded[ox])
// : in_bounds; an empty window gives 0.
struct PoolDivisor {
    int64_t row_count, row_padded;
    const int64_t* count;
    const int64_t* padded;
    bool include_pad, dilated;
    int64_t kernel_taps;
};

// A whole (n, c) plane of a 2-D pool: output row oy is `row` with row0 =
// first_y[oy], rows = count_y[oy] (and avg_pool's row_count = count_y[oy],
// row_padded = padded_y[oy]); oh output rows of row.ow values, contiguous.
struct PoolPlane {
    PoolRow row;
    const int64_t* first_y;
    const int64_t* count_y;
    const int64_t* padded_y;
    int64_t oh;
};

// Plain data without default member initialisers on purpose (gemm_kernels.h).
struct MemboundKernels {
    const char* isa;
    // Per output row: best[ow] = max over the row's window (PyTorch's rule:
    // v > best || v is NaN). idx (may be null): the winning tap's index,
    // plane_base + iy * in_w + ix, started at plane_base + row0 * in_w + first_x[ox].
    void (*max_pool_plane)(const PoolPlane& p, float* y, int32_t* idx, int64_t plane_base,
                           const int64_t* first_x);
    // A 2x2 stride-2 max pool without padding, dilation or indices, every
    // window in bounds (2 * oh <= H, 2 * ow <= W): y[oy * ow + ox] = max of
    // x[(2 * oy + a) * in_w + 2 * ox + b], the same values as max_pool_plane.
    void (*max_pool_2x2_s2_plane)(const float* x, int64_t in_w, int64_t oh, int64_t ow, float* y);
    // Per output row: sum[ow] = window sum in window order from 0, then / divisor.
    void (*avg_pool_plane)(const PoolPlane& p, const PoolDivisor& d, float* y);
    // One contiguous line of len values (softmax over the last axis).
    void (*softmax_line)(const float* in, float* out, int64_t len);
    // lanes (<= kSoftmaxChunk) independent softmaxes over len values each, value
    // a of lane i at in[a * in_stride + i] / out[a * out_stride + i].
    void (*softmax_chunk)(const float* in, int64_t in_stride, float* out, int64_t out_stride,
                          int64_t len, int64_t lanes);
    // out[i] = first index of the maximum over a (the first NaN wins).
    void (*argmax_chunk)(const float* in, int64_t stride, int32_t* out, int64_t len, int64_t lanes);
    // h[ox] = kx[ox] * row[a[ox]] + lx[ox] * row[b[ox]].
    void (*bilinear_h)(const float* row, const int32_t* a, const int32_t* b, const float* kx,
                       const float* lx, float* h, int64_t ow);
    // out[ox] = ky * h0[ox] + ly * h1[ox].
    void (*bilinear_v)(const float* h0, const float* h1, float ky, float ly, float* out, int64_t ow);
    // out[ox] = row[src[ox]].
    void (*gather_row)(const float* row, const int32_t* src, float* out, int64_t ow);
};

constexpr int64_t kSoftmaxChunk = 256;

const MemboundKernels& membound_kernels_avx512();
const MemboundKernels& membound_kernels_avx512sim();  // the test path, cpu_isa.h
const MemboundKernels& membound_kernels_avx2();
const MemboundKernels& membound_kernels_portable();
const MemboundKernels& membound_kernels(CpuIsa isa);
// The table of active_cpu_isa().
const MemboundKernels& active_membound_kernels();

}  // namespace fcnrt::cpu
