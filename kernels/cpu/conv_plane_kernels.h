// The small-plane conv micro-kernels of each instruction set (conv_plane.h):
// output channels in the vector lanes (the broadcast conv's weight blocks,
// conv_bcast.h), a tile of up to `pixels` output pixels anywhere in the plane,
// each broadcast from the input in place at its own offset. See
// conv_plane_microkernel.h for what one call computes and in which order it
// sums; conv_plane.cpp drives them.
#pragma once

#include <cstdint>

namespace fcnrt::cpu {

// Pixels a tile may hold at most (the widest ISA's).
constexpr int kPlaneMaxPixels = 16;
// Weight blocks a one-pixel column call may take at most.
constexpr int kPlaneMaxColumnBlocks = 8;

// Plain data without default member initialisers (as GemmMicroKernel).
struct ConvPlaneKernel {
    int lanes;          // output channels per weight block: the ISA's ConvBcastKernel::lanes
    int pixels;         // output pixels per tile at most
    int half_pixels;    // the same for the half tiles
    int column_blocks;  // weight blocks per column call at most
    const char* isa;
    // tile[count], count in [1, pixels]: for pixels j < count and lanes l,
    // out[l * ld + j] = the fma chain over r in [0, reduce) ascending, from 0, of
    // w[r * lanes + l] * x[roff[r] + poff[j]] (every tap inside the input). It may
    // also write out[l * ld + j] for j in [count, 8) (zeros): the caller's next
    // tile, or padding past its rows.
    void (*tile[kPlaneMaxPixels + 1])(int64_t reduce, const float* w, const float* x,
                                      const int64_t* roff, const int64_t* poff, float* out,
                                      int64_t ld);
    // half[count], count in [1, half_pixels]: the same for lanes l < lanes / 2 only
    // (w still lanes apart; the rows of the other lanes are not written).
    void (*half[kPlaneMaxPixels + 1])(int64_t reduce, const float* w, const float* x,
                                      const int64_t* roff, const int64_t* poff, float* out,
                                      int64_t ld);
    // column[nb], nb in [1, column_blocks]: one pixel (its first tap at x) for nb
    // consecutive blocks, block b's weights at w + b * bstride: out[b * lanes + l] =
    // the fma chain over r ascending, from 0, of w[b * bstride + r * lanes + l] * x[roff[r]].
    void (*column[kPlaneMaxColumnBlocks + 1])(int64_t reduce, const float* w, int64_t bstride,
                                              const float* x, const int64_t* roff, float* out);
};

const ConvPlaneKernel& conv_plane_kernel_avx512();
const ConvPlaneKernel& conv_plane_kernel_avx512sim();  // the test path, cpu_isa.h
const ConvPlaneKernel& conv_plane_kernel_avx2();
const ConvPlaneKernel& conv_plane_kernel_portable();

}  // namespace fcnrt::cpu
