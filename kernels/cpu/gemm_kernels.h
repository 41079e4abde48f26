// The GEMM micro-kernels of each instruction set (see gemm_microkernel.h for
// what one call computes and in which order), as a table of function pointers
// that the drivers in gemm.h pick once from the active ISA (cpu_isa.h).
#pragma once

#include <cstdint>

namespace fcnrt::cpu {

// Plain data without default member initialisers on purpose: it is filled in
// the ISA translation units, which must emit no inline constructor that the
// linker could share with code compiled for a narrower ISA.
struct GemmMicroKernel {
    int mr;  // rows of a tile (output channels), the packed A panel's width
    int nr;  // columns of a tile (pixels)
    int kc;  // reduction steps per block
    const char* isa;
    // C[mr][nr] (rows ldc apart) (+)= A[kc][mr] * B, B row r at b + r*ldb.
    void (*packed)(int64_t kc, const float* a, const float* b, int64_t ldb, float* c, int64_t ldc,
                   bool accumulate);
};

const GemmMicroKernel& gemm_micro_kernel_avx512();
const GemmMicroKernel& gemm_micro_kernel_avx512sim();  // the test path, cpu_isa.h
const GemmMicroKernel& gemm_micro_kernel_avx2();
const GemmMicroKernel& gemm_micro_kernel_portable();

}  // namespace fcnrt::cpu
