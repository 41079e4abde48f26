// The col2im pass of conv_transpose2d (conv.cpp): adds a run of GEMM columns
// (one per input pixel, one row per tap (k, ky, kx) of a chunk of output
// channels) into the output planes, straight from the GEMM's C block as each
// tile group leaves it (no column buffer in between).
//
// Order: per input-row segment of the run (increasing q), per channel, taps in
// decreasing (ky, kx): every output pixel then receives its contributions in
// increasing (iy, ix) order, however the input is cut into runs or tile groups,
// so tiled images equal untiled ones bit for bit. Each contribution is one
// float add, out += column entry, after the bias the output starts from.
//
// Strided widths (sw > 1, dw == 1): up to sw consecutive taps kx land on
// distinct output columns (distinct residues mod sw), so each output pixel
// receives at most one of them: they are added in one pass over the output
// row, their columns interleaved (out[ix*sw + j] += tap j's entry ix), which
// reads and writes the row contiguously instead of once per tap with a stride.
// Which of them comes first does not matter to any pixel: the same adds, in
// the same order per pixel, as one tap at a time.
//
// Threads: none here; the caller's job owns the chunk's output channels.
#pragma once

#include <cstdint>

#include "kernels/view.h"

namespace fcnrt::cpu {

struct ConvTransposeScatter {
    int64_t w, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl;
    const int64_t* lo;  // per kx: input columns [lo, hi) whose output column is inside y
    const int64_t* hi;

    // Columns of input pixels [q0, q0 + len): tap (k, ky, kx) of the chunk's
    // channel k (y's channel channel0 + k, item n) at c + ((k*kh + ky)*kw + kx)*ldc,
    // pixel q at column q - q0.
    void operator()(const float* c, int64_t ldc, int64_t q0, int64_t len, const View& y, int64_t n,
                    int64_t channel0, int64_t count) const;
};

}  // namespace fcnrt::cpu
