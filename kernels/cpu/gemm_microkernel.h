// The GEMM micro-kernel, written once for a vector type V and compiled in
// three translation units (gemm_kernels_{avx512,avx2,portable}.cpp), each
// with its own instruction set flags. Include it only there, after defining
// FCNRT_GEMM_ISA_NAMESPACE: every symbol here lives in that namespace (and
// uses nothing from the standard library), so no function compiled for a
// wider ISA can be picked by the linker for a caller on a narrower CPU.
//
// One call computes a tile C[MR][NR] (NR = NV vectors of V::width floats, C
// rows ldc floats apart) += A[kc][MR] * B[kc][NR]:
//   A: a packed panel, MR floats per reduction step r (weights, packed at load);
//   B: row r is NR contiguous floats at b + r*ldb (a packed group of tiles).
// Register blocking: MR x NV accumulators; per step r, NV loads of B, MR
// broadcasts of A and MR*NV fused multiply-adds.
//
// Summation order: every C[i][j] is acc = fma(A[r][i], B[r][j], acc) for r
// ascending, started from 0 (accumulate == false) or from C (true, the next
// reduction block). Nothing depends on the tile's position, the blocking or the
// vector width, so every ISA path gives the same bits.
#ifndef FCNRT_GEMM_ISA_NAMESPACE
#error "define FCNRT_GEMM_ISA_NAMESPACE before including gemm_microkernel.h"
#endif

#include <cstdint>

#include "kernels/cpu/gemm_kernels.h"

namespace fcnrt::cpu::FCNRT_GEMM_ISA_NAMESPACE {
namespace {

template <class V, int MR, int NV>
void packed_tile(int64_t kc, const float* a, const float* b, int64_t ldb, float* c, int64_t ldc,
                 bool accumulate) {
    constexpr int W = V::width;
    typename V::type acc[MR][NV];
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) acc[i][v] = accumulate ? V::load(c + i * ldc + v * W) : V::zero();
    for (int64_t r = 0; r < kc; ++r) {
        const float* br = b + r * ldb;
        typename V::type bv[NV];
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) bv[v] = V::load(br + v * W);
        const float* ar = a + r * MR;
#pragma GCC unroll 16
        for (int i = 0; i < MR; ++i) {
            const typename V::type av = V::broadcast(ar + i);
#pragma GCC unroll 8
            for (int v = 0; v < NV; ++v) acc[i][v] = V::fma(av, bv[v], acc[i][v]);
        }
    }
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) V::store(c + i * ldc + v * W, acc[i][v]);
}

// The kernel table of this ISA; kc is the reduction block that keeps the B
// panel (kc x NR) in L1 and the A panels of one block in L2.
template <class V, int MR, int NV, int KC>
GemmMicroKernel make_micro_kernel(const char* isa) {
    GemmMicroKernel k;
    k.mr = MR;
    k.nr = NV * V::width;
    k.kc = KC;
    k.isa = isa;
    k.packed = &packed_tile<V, MR, NV>;
    return k;
}

}  // namespace
}  // namespace fcnrt::cpu::FCNRT_GEMM_ISA_NAMESPACE
