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

// One pixel of an edge call: its row's table of kc input-row pointers, its
// column (relative to the table), which kernel columns kx read inside the
// input row (kw flags), and its `lanes` outputs.
struct BcastEdgePixel {
    const float* const* src;
    int64_t ox;
    const unsigned char* inside;
    float* out;
};

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
    // edge[count], count in [1, pixels]: pixels whose taps may leave their input rows:
    // pixel j as tile[1] would compute it (px[j].out (+)= the chain over r of
    // w[r * lanes + l] * px[j].src[r][px[j].ox]), except that step r reads *zero (a +0,
    // the GEMM's padding entry) where px[j].inside[kx] is false, kx = (kx0 + r) % kw.
    void (*edge[kBcastMaxPixels + 1])(int64_t kc, const float* w, const BcastEdgePixel* px,
                                      int64_t kx0, int64_t kw, const float* zero, bool accumulate);
    // The epilogue's transpose of a tile row: trans[l * ld + j] = part[j * lanes + l] for
    // pixels j < seg and every lane l < lanes (a copy: no arithmetic, any order).
    void (*transpose)(const float* part, int64_t seg, float* trans, int64_t ld);
};

const ConvBcastKernel& conv_bcast_kernel_avx512();
const ConvBcastKernel& conv_bcast_kernel_avx512sim();  // the test path, cpu_isa.h
const ConvBcastKernel& conv_bcast_kernel_avx2();
const ConvBcastKernel& conv_bcast_kernel_portable();

}  // namespace fcnrt::cpu
