// The GEMM drivers' non-template parts: the active micro-kernel, packing,
// scratch, and a plain row-major sgemm on the same tiles (see gemm.h).
#include "kernels/cpu/gemm.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "kernels/cpu/cpu_isa.h"
#include "kernels/cpu/gemm_narrow.h"
#include "kernels/cpu/isa_table.h"

namespace fcnrt::cpu {

const GemmMicroKernel& active_micro_kernel() {
    return isa_table(active_cpu_isa(), gemm_micro_kernel_avx512, gemm_micro_kernel_avx2,
                     gemm_micro_kernel_portable, gemm_micro_kernel_avx512sim);
}

const GemmNarrowKernel& active_gemm_narrow_kernel() {
    return isa_table(active_cpu_isa(), gemm_narrow_kernel_avx512, gemm_narrow_kernel_avx2,
                     gemm_narrow_kernel_portable, gemm_narrow_kernel_avx512sim);
}

const GemmNarrowKernel& gemm_narrow_kernel_for(const GemmMicroKernel& mk) {
    if (std::strcmp(mk.isa, "avx512") == 0) return gemm_narrow_kernel_avx512();
    if (std::strcmp(mk.isa, "avx512sim") == 0) return gemm_narrow_kernel_avx512sim();
    if (std::strcmp(mk.isa, "avx2") == 0) return gemm_narrow_kernel_avx2();
    return gemm_narrow_kernel_portable();
}

PackedMatrix pack_matrix(const float* a, int64_t m, int64_t r, int64_t stride_m, int64_t stride_r) {
    return pack_matrix(active_micro_kernel().mr, a, m, r, stride_m, stride_r);
}

PackedMatrix pack_matrix(int mr, const float* a, int64_t m, int64_t r, int64_t stride_m,
                         int64_t stride_r) {
    PackedMatrix p;
    p.m = m;
    p.r = r;
    p.mr = mr;
    p.data.assign(size_t(p.panels() * r * p.mr), 0.0f);
    for (int64_t panel = 0; panel < p.panels(); ++panel) {
        float* dst = p.data.data() + panel * r * p.mr;  // (r, mr)
        for (int64_t i = 0; i < p.mr; ++i) {
            const int64_t row = panel * p.mr + i;
            if (row >= m) break;
            for (int64_t k = 0; k < r; ++k) dst[k * p.mr + i] = a[row * stride_m + k * stride_r];
        }
    }
    return p;
}

int64_t gemm_tile_group(const GemmMicroKernel& mk, int64_t m) {
    // Packed B blocks of the group within ~128 KiB, the C block within ~256 KiB.
    const int64_t mpad = (m + mk.mr - 1) / mk.mr * mk.mr;
    const int64_t by_b = 32768 / (int64_t(mk.kc) * mk.nr);
    const int64_t by_c = 65536 / std::max<int64_t>(1, mpad * mk.nr);
    return std::clamp<int64_t>(std::min(by_b, by_c), 1, 16);
}

size_t gemm_scratch_bytes(const GemmMicroKernel& mk, int64_t m) {
    const int64_t mpad = (m + mk.mr - 1) / mk.mr * mk.mr;
    const int64_t group = gemm_tile_group(mk, m);
    return size_t(mk.kc * gemm_b_pitch(group * mk.nr) + mpad * group * mk.nr + 16) * sizeof(float);
}

float* gemm_scratch(size_t floats) {
    thread_local std::vector<float> buffer;
    if (buffer.size() < floats + 16) buffer.resize(floats + 16);
    const uintptr_t p = reinterpret_cast<uintptr_t>(buffer.data());
    return buffer.data() + ((64 - p % 64) % 64) / sizeof(float);
}

void pack_rows(const float* src, const int64_t* off, int64_t kc, int64_t width, float* dst,
               int64_t ld) {
    // Every cache line of the row kAhead rows on, prefetched: the hardware
    // prefetchers do not follow dozens of interleaved streams on their own,
    // and a row piece spans up to width / 16 + 1 lines.
    constexpr int64_t kAhead = 6;
    for (int64_t r = 0; r < kc; ++r) {
        if (r + kAhead < kc) {
            const char* next = reinterpret_cast<const char*>(src + off[r + kAhead]);
            const char* end = next + sizeof(float) * size_t(width);
            for (const char* q = next; q < end; q += 64) __builtin_prefetch(q);
            __builtin_prefetch(end - 1);
        }
        std::memcpy(dst + r * ld, src + off[r], sizeof(float) * size_t(width));
    }
}

void sgemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
           float* c, int64_t ldc) {
    sgemm(active_micro_kernel(), m, n, k, a, lda, b, ldb, c, ldc);
}

void sgemm(const GemmMicroKernel& mk, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
           const float* b, int64_t ldb, float* c, int64_t ldc) {
    if (m == 0 || n == 0) return;
    const PackedMatrix packed = pack_matrix(mk.mr, a, m, k, lda, 1);
    const int64_t nr = mk.nr;
    const int64_t tiles = (n + nr - 1) / nr;
    const int64_t per_job = std::max<int64_t>(1, gemm_tile_group(mk, m));
    const int64_t jobs = (tiles + per_job - 1) / per_job;
#pragma omp parallel for schedule(dynamic, 1) if (jobs > 1 && !omp_in_parallel())
    for (int64_t job = 0; job < jobs; ++job) {
        const int64_t t0 = job * per_job, t1 = std::min(tiles, t0 + per_job);
        gemm_tiles(
            mk, packed, 0, packed.panels(), t0, t1,
            [&](int64_t t, int64_t count, int64_t r0, int64_t kc, float* buf, int64_t ld) {
                const int64_t j0 = t * nr, valid = std::min(count * nr, n - j0);
                for (int64_t r = 0; r < kc; ++r) {
                    float* dst = buf + r * ld;
                    std::copy(b + (r0 + r) * ldb + j0, b + (r0 + r) * ldb + j0 + valid, dst);
                    std::fill(dst + valid, dst + count * nr, 0.0f);
                }
            },
            [&](int64_t t, int64_t count, const float* block, int64_t ld) {
                const int64_t j0 = t * nr, valid = std::min(count * nr, n - j0);
                for (int64_t i = 0; i < m; ++i)
                    std::copy(block + i * ld, block + i * ld + valid, c + i * ldc + j0);
            });
    }
}

}  // namespace fcnrt::cpu
