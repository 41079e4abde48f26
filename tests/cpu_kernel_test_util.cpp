#include "tests/cpu_kernel_test_util.h"

#include <cmath>
#include <cstring>
#include <random>

#include "kernels/cpu/isa_table.h"
#include "kernels/reference/conv.h"

namespace fcnrt::test {

namespace {

constexpr int64_t kGuard = 64;
constexpr float kSentinel = 12345.0f;

}  // namespace

std::vector<cpu::CpuIsa> supported_cpu_isas() {
    std::vector<cpu::CpuIsa> isas;
    for (cpu::CpuIsa isa :
         {cpu::CpuIsa::Portable, cpu::CpuIsa::Avx2, cpu::CpuIsa::Avx512, cpu::CpuIsa::Avx512Sim})
        if (cpu::cpu_isa_supported(isa)) isas.push_back(isa);
    return isas;
}

const cpu::GemmMicroKernel& gemm_micro_kernel_of(cpu::CpuIsa isa) {
    return cpu::isa_table(isa, cpu::gemm_micro_kernel_avx512, cpu::gemm_micro_kernel_avx2,
                          cpu::gemm_micro_kernel_portable, cpu::gemm_micro_kernel_avx512sim);
}

const cpu::GemmNarrowKernel& gemm_narrow_kernel_of(cpu::CpuIsa isa) {
    return cpu::isa_table(isa, cpu::gemm_narrow_kernel_avx512, cpu::gemm_narrow_kernel_avx2,
                          cpu::gemm_narrow_kernel_portable, cpu::gemm_narrow_kernel_avx512sim);
}

const cpu::ConvDirectKernel& conv_direct_kernel_of(cpu::CpuIsa isa) {
    return cpu::isa_table(isa, cpu::conv_direct_kernel_avx512, cpu::conv_direct_kernel_avx2,
                          cpu::conv_direct_kernel_portable, cpu::conv_direct_kernel_avx512sim);
}

const cpu::ConvBcastKernel& conv_bcast_kernel_of(cpu::CpuIsa isa) {
    return cpu::isa_table(isa, cpu::conv_bcast_kernel_avx512, cpu::conv_bcast_kernel_avx2,
                          cpu::conv_bcast_kernel_portable, cpu::conv_bcast_kernel_avx512sim);
}

const cpu::ConvPlaneKernel& conv_plane_kernel_of(cpu::CpuIsa isa) {
    return cpu::isa_table(isa, cpu::conv_plane_kernel_avx512, cpu::conv_plane_kernel_avx2,
                          cpu::conv_plane_kernel_portable, cpu::conv_plane_kernel_avx512sim);
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

const float* set_conv_epi(ConvEpi epi, const float* bias, const View& residual, Conv2dParams* p) {
    if (epi == ConvEpi::BiasRelu || epi == ConvEpi::BiasResidualRelu)
        p->act.kind = Activation::Relu;
    if (epi == ConvEpi::BiasLeaky) {
        p->act.kind = Activation::LeakyRelu;
        p->act.alpha = 0.1f;
    }
    if (epi == ConvEpi::BiasResidualRelu || epi == ConvEpi::Residual) p->residual = residual;
    return (epi == ConvEpi::None || epi == ConvEpi::Residual) ? nullptr : bias;
}

::testing::AssertionResult near_reference_conv2d(const View& x, const View& w, const float* bias,
                                                 const View& y, const Conv2dParams& p) {
    const int64_t n = y.numel();
    std::vector<float> exact(static_cast<size_t>(n));
    reference::conv2d(x, w, bias, make_view(exact.data(), DType::F32, y.n, y.c, y.h, y.w), p);
    const float* got = y.f32();
    for (int64_t i = 0; i < n; ++i) {
        // As ASSERT_NEAR(got, want, tolerance): the difference in double.
        const float want = exact[size_t(i)], tolerance = 1e-4f * (1.0f + std::fabs(want));
        if (!(std::fabs(double(got[i]) - double(want)) <= double(tolerance)))
            return ::testing::AssertionFailure()
                   << "y[" << i << "] = " << got[i] << ", the float64 reference " << want;
    }
    return ::testing::AssertionSuccess();
}

SignedZeros count_signed_zeros(const float* y, int64_t n) {
    SignedZeros z;
    for (int64_t i = 0; i < n; ++i) {
        z.negative += y[i] == 0.0f && std::signbit(y[i]);
        z.positive += y[i] == 0.0f && !std::signbit(y[i]);
    }
    return z;
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
