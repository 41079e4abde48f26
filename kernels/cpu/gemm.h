// Single-precision GEMM for the CPU kernels: a thin wrapper over OpenBLAS's
// row-major cblas_sgemm, so that only gemm.cpp includes <cblas.h>, and the
// bias + activation epilogue that the GEMM-based kernels (conv, dense) and the
// activation op share.
//
// Threading: all CPU kernels share one pool, OpenMP's. OpenBLAS is switched to a
// single thread on the first call (process-wide: an OpenBLAS pool would fight the
// OpenMP pool for the same cores, and a pthreads OpenBLAS serialises calls made
// from several OpenMP threads at once). Called outside a parallel region, sgemm
// splits a large product into one column (or row) panel per OpenMP thread; called
// inside one, it runs on the calling thread, so kernels can give each thread its
// own block of work (im2col + GEMM + epilogue) with a single fork/join.
#pragma once

#include <cstdint>

#include "kernels/op_params.h"

namespace fcnrt::cpu {

// Row-major C = alpha * op(A) * op(B) + beta * C, with op(A) [m, k], op(B) [k, n],
// C [m, n]; lda, ldb, ldc are row strides in elements of the stored matrices
// (A is stored [k, m] when trans_a). Sizes must fit in a 32-bit int (OpenBLAS's
// blasint); larger ones throw std::length_error.
void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
           int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// Columns per call of sgemm_column_chunks: OpenBLAS 0.3.21 on one AVX-512 core
// ran 64x576 and 128x1152 weight matrices 10-30% faster in 512-column calls
// than in 256-column ones, and no faster in 1024-column ones.
constexpr int64_t kGemmColumnChunk = 512;

// Row-major C = op(A) * B with op(A) [m, k], B [k, n], C [m, n], on the calling
// thread, in SGEMM calls of exactly kGemmColumnChunk columns; the last, partial
// chunk goes through zero-padded scratch copies of B and C.
//
// Why: OpenBLAS picks its kernel (and so its summation order) from the matrix
// sizes, so the same column of C can differ in the last bit between a product
// n wide and one n' wide. With every call the same width, each column of C
// depends only on op(A) and that column of B, wherever it sits: this is what
// lets a tiled image equal the untiled one bit for bit. (Measured with
// OpenBLAS 0.3.21 on AVX-512: results vary with the width but never with the
// column's position inside a call of a fixed width that is a multiple of 64.)
void sgemm_column_chunks(bool trans_a, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                         const float* b, int64_t ldb, float* c, int64_t ldc);

// y[i] = act(y[i] + bias) for i < n, one contiguous run (serial: callers thread
// over runs). The switch sits outside the loops so the common cases vectorise.
inline void bias_activation(float* y, int64_t n, float bias, ActivationParams act) {
    switch (act.kind) {
        case Activation::None:
            if (bias == 0.0f) return;
#pragma omp simd
            for (int64_t i = 0; i < n; ++i) y[i] += bias;
            return;
        case Activation::Relu:
#pragma omp simd
            for (int64_t i = 0; i < n; ++i) {
                const float v = y[i] + bias;
                y[i] = v > 0.0f ? v : 0.0f;
            }
            return;
        case Activation::LeakyRelu:
#pragma omp simd
            for (int64_t i = 0; i < n; ++i) {
                const float v = y[i] + bias;
                y[i] = v >= 0.0f ? v : v * act.alpha;
            }
            return;
        default:
            for (int64_t i = 0; i < n; ++i) y[i] = apply_activation(y[i] + bias, act);
            return;
    }
}

// y[i] = act((y[i] + bias) + r[i]) for i < n: the conv residual epilogue, each
// add in float32 in that order (see Conv2dParams::residual).
inline void bias_residual_activation(float* y, int64_t n, float bias, const float* r,
                                     ActivationParams act) {
    switch (act.kind) {
        case Activation::None:
#pragma omp simd
            for (int64_t i = 0; i < n; ++i) {
                const float v = y[i] + bias;
                y[i] = v + r[i];
            }
            return;
        case Activation::Relu:
#pragma omp simd
            for (int64_t i = 0; i < n; ++i) {
                const float v = y[i] + bias;
                const float s = v + r[i];
                y[i] = s > 0.0f ? s : 0.0f;
            }
            return;
        default:
            for (int64_t i = 0; i < n; ++i) {
                const float v = y[i] + bias;
                y[i] = apply_activation(v + r[i], act);
            }
            return;
    }
}

}  // namespace fcnrt::cpu
