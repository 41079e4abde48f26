// The broadcast conv micro-kernels of each instruction set (conv_bcast.h):
// output channels in the vector lanes, output pixels broadcast from the input
// in place, no packing of the input. See conv_bcast_microkernel.h for what one
// call computes, how it maps to registers and in which order it sums;
// conv_bcast.cpp drives them (rows, reduction blocks, threads, epilogue).
#pragma once

#include <cstdint>

namespace fcnrt::cpu {

// Pixels a tile may hold at most (the widest ISA's P).
constexpr int kBcastMaxPixels = 16;

// Plain data without default member initialisers (as GemmMicroKernel): filled
// in the ISA translation units, read by code built for several ISAs.
struct ConvBcastKernel {
    int lanes;   // output channels per block: NV vectors of the ISA's width
    int pixels;  // P: consecutive output pixels of one row per tile
    int kc;      // reduction steps per block (the weight block lanes x kc stays in L1)
    const char* isa;
    // tile[count] for count in [1, pixels]: out[j * lanes + l] for pixels j < count and
    // lanes l (+)= the sum over r in [0, kc) of w[r * lanes + l] * src[r][ox + j], as the
    // fma chain over r ascending, from 0 or (accumulate) from out.
    void (*tile[kBcastMaxPixels + 1])(int64_t kc, const float* w, const float* const* src,
                                      int64_t ox, float* out, bool accumulate);
    // One pixel whose taps may leave the input row: the same as tile[1], except that
    // step r reads *zero (a +0, the GEMM's padding entry) where inside[kx] is false,
    // kx = (kx0 + r) % kw the step's kernel column.
    void (*edge)(int64_t kc, const float* w, const float* const* src, int64_t ox,
                 const unsigned char* inside, int64_t kx0, int64_t kw, const float* zero,
                 float* out, bool accumulate);
};

const ConvBcastKernel& conv_bcast_kernel_avx512();
const ConvBcastKernel& conv_bcast_kernel_avx2();
const ConvBcastKernel& conv_bcast_kernel_portable();

}  // namespace fcnrt::cpu
