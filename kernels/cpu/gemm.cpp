// Wrapper over OpenBLAS cblas_sgemm (row-major). See gemm.h for the threading.
#include "kernels/cpu/gemm.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <climits>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace fcnrt::cpu {

namespace {

// Below this many multiply-adds a product runs on the calling thread.
constexpr int64_t kParallelMacs = int64_t{1} << 21;

int to_blas_int(int64_t v, const char* what) {
    if (v < 0 || v > INT_MAX) {
        throw std::length_error(std::string("sgemm: ") + what + " = " + std::to_string(v) +
                                " does not fit OpenBLAS's 32-bit int; split the operation");
    }
    return static_cast<int>(v);
}

void sgemm_serial(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                  int64_t ldc) {
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, to_blas_int(m, "m"), to_blas_int(n, "n"),
                to_blas_int(k, "k"), alpha, a, to_blas_int(lda, "lda"), b, to_blas_int(ldb, "ldb"),
                beta, c, to_blas_int(ldc, "ldc"));
}

// OpenBLAS's own pool would compete with the OpenMP pool for the same cores
// (and a pthreads OpenBLAS serialises calls made from several OpenMP threads),
// so OpenBLAS runs single-threaded and all threading is OpenMP's.
void make_blas_single_threaded() {
    static std::once_flag once;
    std::call_once(once, [] { openblas_set_num_threads(1); });
}

}  // namespace

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
           int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
    make_blas_single_threaded();
    if (m == 0 || n == 0) return;
    if (k == 0) {  // OpenBLAS rejects lda = 0; C = beta * C is all that is left
        for (int64_t i = 0; i < m; ++i) {
            for (int64_t j = 0; j < n; ++j) {
                c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
            }
        }
        return;
    }
    const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
    if (threads == 1 || m * n * k < kParallelMacs) {
        sgemm_serial(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    // One panel of the larger output dimension per thread, multiples of 16 wide.
    const bool split_n = n >= m;
    const int64_t extent = split_n ? n : m;
    const int64_t panel = (extent / threads + 16) / 16 * 16;
    const int64_t panels = (extent + panel - 1) / panel;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t p = 0; p < panels; ++p) {
        const int64_t lo = p * panel, len = std::min(panel, extent - lo);
        if (split_n) {
            sgemm_serial(trans_a, trans_b, m, len, k, alpha, a, lda,
                         trans_b ? b + lo * ldb : b + lo, ldb, beta, c + lo, ldc);
        } else {
            sgemm_serial(trans_a, trans_b, len, n, k, alpha, trans_a ? a + lo : a + lo * lda, lda,
                         b, ldb, beta, c + lo * ldc, ldc);
        }
    }
}

void sgemm_column_chunks(bool trans_a, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                         const float* b, int64_t ldb, float* c, int64_t ldc) {
    if (m == 0 || n == 0) return;
    if (k == 0) {
        for (int64_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, 0.0f);
        return;
    }
    make_blas_single_threaded();
    constexpr int64_t w = kGemmColumnChunk;
    const int64_t full = n / w * w;
    for (int64_t j = 0; j < full; j += w) {
        sgemm_serial(trans_a, false, m, w, k, 1.0f, a, lda, b + j, ldb, 0.0f, c + j, ldc);
    }
    const int64_t tail = n - full;
    if (tail == 0) return;
    thread_local std::vector<float> padded_b, padded_c;
    padded_b.assign(size_t(k * w), 0.0f);  // (k, w): the tail's columns, then zeros
    if (padded_c.size() < size_t(m * w)) padded_c.resize(size_t(m * w));
    for (int64_t r = 0; r < k; ++r) {
        std::copy(b + r * ldb + full, b + r * ldb + n, padded_b.data() + r * w);
    }
    sgemm_serial(trans_a, false, m, w, k, 1.0f, a, lda, padded_b.data(), w, 0.0f, padded_c.data(), w);
    for (int64_t i = 0; i < m; ++i) {
        std::copy(padded_c.data() + i * w, padded_c.data() + i * w + tail, c + i * ldc + full);
    }
}

}  // namespace fcnrt::cpu
