// The direct convolution row kernels of each instruction set, for convs whose
// reduction per output is small enough that the GEMM's packing does not pay:
// depthwise (one input channel per group, with or without a channel
// multiplier) and the one-channel first layers. See conv_direct_microkernel.h
// for what one call computes, how it maps to registers and in which order it
// sums; conv.cpp decides which convs run here and threads over rows.
#pragma once

#include <cstdint>

namespace fcnrt::cpu {

// One output row's geometry. Plain data without default member initialisers
// (as GemmMicroKernel): filled by the caller, read by code built for several ISAs.
struct DirectConvRow {
    int64_t cg;            // input channels summed (planes h*w floats apart)
    int64_t h, w;          // input plane
    int64_t kh, kw;        // kernel
    int64_t sh, sw;        // stride
    int64_t dh, dw;        // dilation
    int64_t pt, pl;        // top and left padding
    int64_t ow;            // output row length
    int64_t ox_lo, ox_hi;  // output columns whose every kx tap is inside the row (ox_lo <= ox_hi)
};

struct ConvDirectKernel {
    const char* isa;
    // out[ox] for ox in [0, ow) of output row oy: the sum over (c, ky, kx) of
    // wk[(c*kh + ky)*kw + kx] * x[c][oy*sh - pt + ky*dh][ox*sw - pl + kx*dw]
    // (0 outside the input), x = planes (cg, h, w).
    void (*row)(const DirectConvRow& g, const float* planes, const float* wk, int64_t oy,
                float* out);
    // The same for mr output channels at once, channel m's weights at wk + m*wstride
    // and its row at out + m*ostride; the same bits as mr calls of row.
    int mr;
    void (*rows)(const DirectConvRow& g, const float* planes, const float* wk, int64_t wstride,
                 int64_t oy, float* out, int64_t ostride);
    // One row on input rows the caller has zero-padded (depthwise and strided
    // convs): out[ox] for ox in [0, count) is the sum over (ky, kx) of
    // wk[ky*kw + kx] * rows[ky][col[kx] + ox], ky over kh rows (for several
    // input channels, kh = Cg*kh rows (c, ky)), every tap a plain read
    // (rows[ky] + col[kx] + [0, count) lies inside the padded row). The same
    // bits as `row` on the unpadded input.
    void (*taps_row)(const float* const* rows, const int64_t* col, int64_t kh, int64_t kw,
                     const float* wk, int64_t count, float* out);
    // taps_row for mr output channels at once, channel m's weights at wk + m*wstride
    // and its row at out + m*ostride (each input vector loaded once per tap for
    // all mr); the same bits as mr calls of taps_row.
    void (*taps_rows)(const float* const* rows, const int64_t* col, int64_t kh, int64_t kw, const float* wk,
                      int64_t wstride, int64_t count, float* out, int64_t ostride);
};

const ConvDirectKernel& conv_direct_kernel_avx512();
const ConvDirectKernel& conv_direct_kernel_avx512sim();  // the test path, cpu_isa.h
const ConvDirectKernel& conv_direct_kernel_avx2();
const ConvDirectKernel& conv_direct_kernel_portable();

}  // namespace fcnrt::cpu
