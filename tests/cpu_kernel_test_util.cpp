#include "tests/cpu_kernel_test_util.h"

#include <cmath>
#include <cstring>
#include <random>

#include "kernels/cpu/isa_table.h"

namespace fcnrt::test {

namespace {

constexpr int64_t kGuard = 64;
constexpr float kSentinel = 12345.0f;

}  // namespace

std::vector<cpu::CpuIsa> supported_cpu_isas() {
    std::vector<cpu::CpuIsa> isas;
    for (cpu::CpuIsa isa : {cpu::CpuIsa::Portable, cpu::CpuIsa::Avx2, cpu::CpuIsa::Avx512})
        if (cpu::cpu_isa_supported(isa)) isas.push_back(isa);
    return isas;
}

const cpu::GemmMicroKernel& gemm_micro_kernel_of(cpu::CpuIsa isa) {
    return cpu::isa_table(isa, cpu::gemm_micro_kernel_avx512, cpu::gemm_micro_kernel_avx2,
                          cpu::gemm_micro_kernel_portable);
}

const cpu::GemmNarrowKernel& gemm_narrow_kernel_of(cpu::CpuIsa isa) {
    return cpu::isa_table(isa, cpu::gemm_narrow_kernel_avx512, cpu::gemm_narrow_kernel_avx2,
                          cpu::gemm_narrow_kernel_portable);
}

const cpu::ConvDirectKernel& conv_direct_kernel_of(cpu::CpuIsa isa) {
    return cpu::isa_table(isa, cpu::conv_direct_kernel_avx512, cpu::conv_direct_kernel_avx2,
                          cpu::conv_direct_kernel_portable);
}

const cpu::ConvBcastKernel& conv_bcast_kernel_of(cpu::CpuIsa isa) {
    return cpu::isa_table(isa, cpu::conv_bcast_kernel_avx512, cpu::conv_bcast_kernel_avx2,
                          cpu::conv_bcast_kernel_portable);
}

const cpu::ConvPlaneKernel& conv_plane_kernel_of(cpu::CpuIsa isa) {
    return cpu::isa_table(isa, cpu::conv_plane_kernel_avx512, cpu::conv_plane_kernel_avx2,
                          cpu::conv_plane_kernel_portable);
}

std::vector<float> random_floats(size_t count, uint32_t seed, float scale) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    std::vector<float> v(count);
    for (float& x : v) x = dist(rng) * scale;
    return v;
}

PoisonedOutput::PoisonedOutput(int64_t n) : data(size_t(n + kGuard), NAN), size(n) {
    for (int64_t i = n; i < n + kGuard; ++i) data[size_t(i)] = kSentinel;
}

bool PoisonedOutput::guard_intact() const {
    for (int64_t i = size; i < size + kGuard; ++i)
        if (data[size_t(i)] != kSentinel) return false;
    return true;
}

::testing::AssertionResult same_bits(const float* want, const float* got, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        if (std::memcmp(&want[i], &got[i], sizeof(float)) != 0)
            return ::testing::AssertionFailure()
                   << "y[" << i << "] = " << got[i] << ", want " << want[i];
    }
    return ::testing::AssertionSuccess();
}

}  // namespace fcnrt::test
