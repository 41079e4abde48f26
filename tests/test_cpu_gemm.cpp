// The CPU GEMM's contract (kernels/cpu/gemm.h): every C[i][j] is the fma chain
// over k ascending from 0, on every ISA path this CPU supports, so results are
// bit-identical across AVX-512, AVX2 and portable code and across blockings.
// Sizes leave remainders in every tile (mr rows, nr columns) and span several
// reduction blocks (kc); B is also read with a row stride wider than n.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/cpu/cpu_isa.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_kernels.h"

namespace fcnrt::cpu {
namespace {

const GemmMicroKernel& kernel_of(CpuIsa isa) {
    switch (isa) {
        case CpuIsa::Avx512: return gemm_micro_kernel_avx512();
        case CpuIsa::Avx2: return gemm_micro_kernel_avx2();
        case CpuIsa::Portable: break;
    }
    return gemm_micro_kernel_portable();
}

struct Size {
    int64_t m, n, k, ldb_extra;
};

std::vector<float> random_floats(size_t count, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    std::vector<float> v(count);
    for (float& x : v) x = dist(rng);
    return v;
}

TEST(CpuGemm, EveryIsaIsTheFmaChainBitForBit) {
    const Size sizes[] = {{1, 1, 1, 0},    {7, 33, 5, 3},   {13, 50, 300, 0}, {6, 16, 256, 0},
                          {25, 97, 513, 7}, {8, 48, 192, 0}, {3, 200, 1000, 1}, {64, 130, 27, 0}};
    int tested = 0;
    for (CpuIsa isa : {CpuIsa::Portable, CpuIsa::Avx2, CpuIsa::Avx512}) {
        if (!cpu_isa_supported(isa)) {
            std::printf("[   INFO   ] %s: not supported by this CPU, not tested here\n", cpu_isa_name(isa));
            continue;
        }
        ++tested;
        const GemmMicroKernel& mk = kernel_of(isa);
        for (const Size& s : sizes) {
            SCOPED_TRACE(std::string(cpu_isa_name(isa)) + " m=" + std::to_string(s.m) +
                         " n=" + std::to_string(s.n) + " k=" + std::to_string(s.k));
            const int64_t ldb = s.n + s.ldb_extra, ldc = s.n + 2;
            const std::vector<float> a = random_floats(size_t(s.m * s.k), uint32_t(s.m * 31 + s.k));
            const std::vector<float> b = random_floats(size_t(s.k * ldb), uint32_t(s.n * 17 + s.k));
            std::vector<float> c(size_t(s.m * ldc), NAN);
            sgemm(mk, s.m, s.n, s.k, a.data(), s.k, b.data(), ldb, c.data(), ldc);
            for (int64_t i = 0; i < s.m; ++i) {
                for (int64_t j = 0; j < s.n; ++j) {
                    float acc = 0.0f;
                    for (int64_t r = 0; r < s.k; ++r) acc = std::fma(a[i * s.k + r], b[r * ldb + j], acc);
                    ASSERT_EQ(std::memcmp(&acc, &c[i * ldc + j], sizeof(float)), 0)
                        << "C[" << i << "][" << j << "] = " << c[i * ldc + j] << ", the chain gives " << acc;
                }
                for (int64_t j = s.n; j < ldc; ++j) ASSERT_TRUE(std::isnan(c[i * ldc + j])) << "wrote past n";
            }
        }
    }
    EXPECT_GE(tested, 2);  // portable everywhere, and at least AVX2 on the project's machines
}

TEST(CpuGemm, ActiveIsaFollowsTheRequest) {
    const std::string why = cpu_isa_request_error();
    if (!why.empty()) GTEST_SKIP() << why;
    const char* env = std::getenv("FCNRT_CPU_ISA");
    const std::string expected = env && *env ? env : cpu_isa_name(best_cpu_isa());
    EXPECT_EQ(cpu_isa_name(active_cpu_isa()), expected);
    EXPECT_STREQ(active_micro_kernel().isa, expected.c_str());
}

}  // namespace
}  // namespace fcnrt::cpu
