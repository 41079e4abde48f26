// The narrow GEMM: C (+)= A x B for a few columns, A in the micro-kernels'
// packed panels (gemm.h's PackedMatrix). The tile micro-kernel computes nr
// columns (16 on AVX2, 48 on AVX-512) whatever the caller needs, so a conv
// whose output plane has one pixel, or a dense layer on one item, wasted 15/16
// of its FMAs. This kernel vectorises over A's rows instead (one accumulator
// per panel and column) and keeps the tile kernel's summation order, so callers
// pick it for up to kNarrowMaxColumns columns and get the same bits
// (gemm_narrow_kernel.h).
#pragma once

#include <cstdint>

#include "kernels/cpu/gemm_kernels.h"

namespace fcnrt::cpu {

// Columns the narrow kernel takes (1 to this many).
constexpr int64_t kNarrowMaxColumns = 4;

// Plain data, filled in the ISA translation units (see GemmMicroKernel).
struct GemmNarrowKernel {
    int mr;  // rows of a packed panel: the same ISA's GemmMicroKernel::mr
    const char* isa;
    // Panels [0, panels) of a block of kc reduction steps, panel p at a + p * a_stride
    // ([kc][mr], the step's mr entries side by side); C[i][j] at c + i * c_rs + j * c_cs
    // for rows i < rows (counted from panel 0's first row; rows past it are neither
    // read nor written) and columns j < n (1 <= n <= kNarrowMaxColumns); B[r][j] at
    // b + r * b_rs + j * b_cs. C[i][j] = fma chain over r ascending of A[r][i] * B[r][j],
    // from 0, or from C[i][j] with accumulate (the next reduction block).
    void (*run)(int64_t kc, const float* a, int64_t a_stride, int64_t panels, int64_t rows,
                const float* b, int64_t b_rs, int64_t b_cs, int64_t n, float* c, int64_t c_rs,
                int64_t c_cs, bool accumulate);
};

const GemmNarrowKernel& gemm_narrow_kernel_avx512();
const GemmNarrowKernel& gemm_narrow_kernel_avx512sim();  // the test path, cpu_isa.h
const GemmNarrowKernel& gemm_narrow_kernel_avx2();
const GemmNarrowKernel& gemm_narrow_kernel_portable();

// The narrow kernel of the active ISA (cpu_isa.h), and the one of a micro-kernel's ISA
// (its panels' mr).
const GemmNarrowKernel& active_gemm_narrow_kernel();
const GemmNarrowKernel& gemm_narrow_kernel_for(const GemmMicroKernel& mk);

}  // namespace fcnrt::cpu
