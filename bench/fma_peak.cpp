// FMA-throughput loops per ISA (see fma_peak.h). Each loop keeps kChains
// independent accumulators: 12 covers a 4-cycle FMA latency on 2 units (8) with
// room to spare; the multiplier and addend stay in registers, so nothing but
// FMAs competes for the ports. The functions carry their ISA in a target
// attribute and run only when cpu_isa says the CPU has it.
#include "bench/fma_peak.h"

#include <immintrin.h>
#include <omp.h>

#include "kernels/cpu/cpu_isa.h"

namespace fcnrt::bench {
namespace {

constexpr int kChains = 12;

__attribute__((target("avx512f"))) float fma_chains_avx512(int64_t iterations, float seed) {
    __m512 acc[kChains];
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(seed + float(i));
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (int64_t n = 0; n < iterations; ++n) {
#pragma GCC unroll 12
        for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(a, acc[i], b);
    }
    __m512 sum = acc[0];
    for (int i = 1; i < kChains; ++i) sum = _mm512_add_ps(sum, acc[i]);
    // The lanes summed from memory (GCC 12 warns, falsely, on _mm512_reduce_add_ps).
    float lanes[16];
    _mm512_storeu_ps(lanes, sum);
    float total = 0.0f;
    for (float v : lanes) total += v;
    return total;
}

__attribute__((target("avx2,fma"))) float fma_chains_avx2(int64_t iterations, float seed) {
    __m256 acc[kChains];
    for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_ps(seed + float(i));
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (int64_t n = 0; n < iterations; ++n) {
#pragma GCC unroll 12
        for (int i = 0; i < kChains; ++i) acc[i] = _mm256_fmadd_ps(a, acc[i], b);
    }
    __m256 sum = acc[0];
    for (int i = 1; i < kChains; ++i) sum = _mm256_add_ps(sum, acc[i]);
    float lanes[8];
    _mm256_storeu_ps(lanes, sum);
    float s = 0;
    for (float v : lanes) s += v;
    return s;
}

}  // namespace

double measure_fma_peak_gflops(int64_t iterations) {
    const cpu::CpuIsa isa = cpu::active_cpu_isa();
    const int lanes = isa == cpu::CpuIsa::Avx512 ? 16 : isa == cpu::CpuIsa::Avx2 ? 8 : 0;
    if (lanes == 0) return 0;  // the portable path has no vector FMA to measure
    float sum = 0;
    int threads = 1;
    const double start = omp_get_wtime();
#pragma omp parallel reduction(+ : sum)
    {
#pragma omp single
        threads = omp_get_num_threads();
        const float seed = float(omp_get_thread_num());
        sum += isa == cpu::CpuIsa::Avx512 ? fma_chains_avx512(iterations, seed)
                                           : fma_chains_avx2(iterations, seed);
    }
    const double seconds = omp_get_wtime() - start;
    volatile float sink = sum;  // the chains' results are used
    (void)sink;
    const double flop = double(threads) * double(iterations) * kChains * lanes * 2.0;
    return seconds > 0 ? flop / seconds / 1e9 : 0;
}

}  // namespace fcnrt::bench
