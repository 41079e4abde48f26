// The narrow GEMM kernel (gemm_narrow.h), written once for a vector type V and
// compiled in the three ISA translation units next to gemm_microkernel.h
// (gemm_kernels_impl.h, V from isa_vec.h; the same rules: define
// FCNRT_GEMM_ISA_NAMESPACE first, nothing from the standard library).
//
// C (+)= A x B for a few columns (n <= kNarrowMaxColumns), A in the micro-kernel's
// packed panels ([r][MR] per panel). Lanes map to A's rows: per reduction step r
// one vector load of the panel's MR entries (lanes past MR hold whatever follows
// in memory and are never stored), times B[r][j] broadcast, into one accumulator
// per (panel, column); several panels at once for independent FMA chains. So a
// column costs one FMA per MR rows and step, where the tile micro-kernel would
// spend nr columns on it. Where V is narrower than MR (portable), scalar fmaf per
// row.
//
// Summation order: lane i of accumulator (p, j) is acc = fma(A[r][i], B[r][j],
// acc) for r ascending, from 0 (accumulate == false) or from C: the tile
// micro-kernel's chain, so the same bits as gemm_tiles gives.
#ifndef FCNRT_GEMM_ISA_NAMESPACE
#error "define FCNRT_GEMM_ISA_NAMESPACE before including gemm_narrow_kernel.h"
#endif

#include <cstdint>

#include "kernels/cpu/gemm_narrow.h"

namespace fcnrt::cpu::FCNRT_GEMM_ISA_NAMESPACE {
namespace {

// PB panels (panel p at a + p * a_stride) x NJ columns; rows counts the valid
// rows from the first panel's row 0 (rows past it are neither read nor written).
template <class V, int MR, int NJ, int PB>
void narrow_block(int64_t kc, const float* a, int64_t a_stride, int64_t rows, const float* b,
                  int64_t b_rs, int64_t b_cs, float* c, int64_t c_rs, int64_t c_cs, bool accumulate) {
    constexpr int W = V::width;
    if constexpr (W < MR) {
        // Scalar rows: one fmaf chain per (row, column).
        for (int p = 0; p < PB; ++p) {
            for (int i = 0; i < MR && p * MR + i < rows; ++i) {
                for (int j = 0; j < NJ; ++j) {
                    float* cij = c + (p * MR + i) * c_rs + j * c_cs;
                    float acc = accumulate ? *cij : 0.0f;
                    const float* ap = a + p * a_stride + i;
                    for (int64_t r = 0; r < kc; ++r)
                        acc = __builtin_fmaf(ap[r * MR], b[r * b_rs + j * b_cs], acc);
                    *cij = acc;
                }
            }
        }
    } else {
        float tmp[W];
        typename V::type acc[PB][NJ];
#pragma GCC unroll 8
        for (int p = 0; p < PB; ++p) {
#pragma GCC unroll 4
            for (int j = 0; j < NJ; ++j) {
                if (accumulate) {
                    for (int i = 0; i < W; ++i)
                        tmp[i] = i < MR && p * MR + i < rows ? c[(p * MR + i) * c_rs + j * c_cs] : 0.0f;
                    acc[p][j] = V::load(tmp);
                } else {
                    acc[p][j] = V::zero();
                }
            }
        }
        // Steps [0, kc - 1) load W floats from each panel row, running past the
        // row into the next one; the last step copies its MR floats first, so
        // nothing past the panel block is read.
        for (int64_t r = 0; r + 1 < kc; ++r) {
            typename V::type bv[NJ];
#pragma GCC unroll 4
            for (int j = 0; j < NJ; ++j) bv[j] = V::broadcast(b + r * b_rs + j * b_cs);
#pragma GCC unroll 8
            for (int p = 0; p < PB; ++p) {
                const typename V::type av = V::load(a + p * a_stride + r * MR);
#pragma GCC unroll 4
                for (int j = 0; j < NJ; ++j) acc[p][j] = V::fma(av, bv[j], acc[p][j]);
            }
        }
        if (kc > 0) {
            const int64_t r = kc - 1;
            typename V::type bv[NJ];
            for (int j = 0; j < NJ; ++j) bv[j] = V::broadcast(b + r * b_rs + j * b_cs);
            for (int p = 0; p < PB; ++p) {
                for (int i = 0; i < W; ++i) tmp[i] = i < MR ? a[p * a_stride + r * MR + i] : 0.0f;
                const typename V::type av = V::load(tmp);
                for (int j = 0; j < NJ; ++j) acc[p][j] = V::fma(av, bv[j], acc[p][j]);
            }
        }
        for (int p = 0; p < PB; ++p) {
            for (int j = 0; j < NJ; ++j) {
                V::store(tmp, acc[p][j]);
                for (int i = 0; i < MR && p * MR + i < rows; ++i)
                    c[(p * MR + i) * c_rs + j * c_cs] = tmp[i];
            }
        }
    }
}

// Every panel in groups of PB (then one at a time), for NJ columns.
template <class V, int MR, int NJ, int PB>
void narrow_columns(int64_t kc, const float* a, int64_t a_stride, int64_t panels, int64_t rows,
                    const float* b, int64_t b_rs, int64_t b_cs, float* c, int64_t c_rs, int64_t c_cs,
                    bool accumulate) {
    int64_t p = 0;
    for (; p + PB <= panels; p += PB)
        narrow_block<V, MR, NJ, PB>(kc, a + p * a_stride, a_stride, rows - p * MR, b, b_rs, b_cs,
                                    c + p * MR * c_rs, c_rs, c_cs, accumulate);
    for (; p < panels; ++p)
        narrow_block<V, MR, NJ, 1>(kc, a + p * a_stride, a_stride, rows - p * MR, b, b_rs, b_cs,
                                   c + p * MR * c_rs, c_rs, c_cs, accumulate);
}

// Accumulators per call: 8 panels for one column, 4 for two, 3 for three, 2 for four.
template <class V, int MR>
void narrow_gemm(int64_t kc, const float* a, int64_t a_stride, int64_t panels, int64_t rows,
                 const float* b, int64_t b_rs, int64_t b_cs, int64_t n, float* c, int64_t c_rs,
                 int64_t c_cs, bool accumulate) {
    switch (n) {
        case 1:
            return narrow_columns<V, MR, 1, 8>(kc, a, a_stride, panels, rows, b, b_rs, b_cs, c, c_rs,
                                               c_cs, accumulate);
        case 2:
            return narrow_columns<V, MR, 2, 4>(kc, a, a_stride, panels, rows, b, b_rs, b_cs, c, c_rs,
                                               c_cs, accumulate);
        case 3:
            return narrow_columns<V, MR, 3, 3>(kc, a, a_stride, panels, rows, b, b_rs, b_cs, c, c_rs,
                                               c_cs, accumulate);
        case 4:
            return narrow_columns<V, MR, 4, 2>(kc, a, a_stride, panels, rows, b, b_rs, b_cs, c, c_rs,
                                               c_cs, accumulate);
        default:
            return;
    }
}

template <class V, int MR>
GemmNarrowKernel make_narrow_kernel(const char* isa) {
    GemmNarrowKernel k;
    k.mr = MR;
    k.isa = isa;
    k.run = &narrow_gemm<V, MR>;
    return k;
}

}  // namespace
}  // namespace fcnrt::cpu::FCNRT_GEMM_ISA_NAMESPACE
