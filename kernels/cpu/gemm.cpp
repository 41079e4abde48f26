// Wrapper over OpenBLAS cblas_sgemm (row-major). See gemm.h.
#include "kernels/cpu/gemm.h"

#include <cblas.h>

#include <climits>
#include <stdexcept>
#include <string>

namespace fcnrt::cpu {

namespace {

int to_blas_int(int64_t v, const char* what) {
    if (v < 0 || v > INT_MAX) {
        throw std::length_error(std::string("sgemm: ") + what + " = " + std::to_string(v) +
                                " does not fit OpenBLAS's 32-bit int; split the operation");
    }
    return static_cast<int>(v);
}

}  // namespace

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
           int64_t ldc) {
    if (m == 0 || n == 0) return;
    if (k == 0) {  // OpenBLAS rejects lda = 0; C = beta * C is all that is left
        for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
        return;
    }
    const int im = to_blas_int(m, "m"), in = to_blas_int(n, "n"), ik = to_blas_int(k, "k");
    const int ilda = to_blas_int(lda, "lda"), ildb = to_blas_int(ldb, "ldb");
    const int ildc = to_blas_int(ldc, "ldc");
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, im, in, ik, alpha, a, ilda, b, ildb, beta,
                c, ildc);
}

}  // namespace fcnrt::cpu
