// Helpers for the CPU kernel contract tests (test_cpu_gemm.cpp,
// test_cpu_conv_bcast.cpp, test_cpu_conv_plane.cpp): each ISA's kernel tables,
// seeded random inputs, outputs poisoned with NaN and guarded by sentinels, and
// bit-for-bit comparison (the contract is the same bits on every ISA path, so
// results are compared with memcmp, never with a tolerance); for the conv
// cases, their epilogues, the check of the reference bits against the float64
// reference (the one tolerance: the rounding of float32 sums), and the signed
// zeros of the underflow cases.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/cpu/conv_bcast_kernels.h"
#include "kernels/cpu/conv_direct_kernels.h"
#include "kernels/cpu/conv_plane_kernels.h"
#include "kernels/cpu/cpu_isa.h"
#include "kernels/cpu/gemm_kernels.h"
#include "kernels/cpu/gemm_narrow.h"
#include "kernels/op_params.h"
#include "kernels/view.h"

namespace fcnrt::test {

// The paths this CPU runs, in the order portable, AVX2, AVX-512.
std::vector<cpu::CpuIsa> supported_cpu_isas();

// Each kernel's table for one ISA path (whether or not this CPU runs it).
const cpu::GemmMicroKernel& gemm_micro_kernel_of(cpu::CpuIsa isa);
const cpu::GemmNarrowKernel& gemm_narrow_kernel_of(cpu::CpuIsa isa);
const cpu::ConvDirectKernel& conv_direct_kernel_of(cpu::CpuIsa isa);
const cpu::ConvBcastKernel& conv_bcast_kernel_of(cpu::CpuIsa isa);
const cpu::ConvPlaneKernel& conv_plane_kernel_of(cpu::CpuIsa isa);

// `count` floats uniform in [-1, 1] from a generator seeded with `seed`, each
// times `scale` (one float multiply).
std::vector<float> random_floats(size_t count, uint32_t seed, float scale = 1.0f);

// An output of `size` floats poisoned with NaN, and a guard of sentinels after it.
struct PoisonedOutput {
    std::vector<float> data;
    int64_t size;
    explicit PoisonedOutput(int64_t n);
    // Whether the guard survived (nothing was written past the output).
    bool guard_intact() const;
};

// A conv test case's pads, dilations and groups (its fields pt, pl, pb, pr, dh,
// dw, groups); strides 1, no activation, no residual.
template <class Case>
Conv2dParams conv_case_params(const Case& t) {
    Conv2dParams p;
    p.pads[0] = t.pt;
    p.pads[1] = t.pl;
    p.pads[2] = t.pb;
    p.pads[3] = t.pr;
    p.dilation[0] = t.dh;
    p.dilation[1] = t.dw;
    p.groups = t.groups;
    return p;
}

// A conv case's epilogue: none, bias + ReLU, bias + residual + ReLU, bias +
// leaky ReLU (alpha 0.1), or the residual alone.
enum class ConvEpi { None, BiasRelu, BiasResidualRelu, BiasLeaky, Residual };

// Sets p's activation and residual (`residual`, shaped as the output) for
// `epi`; returns the bias to pass: `bias`, or null where `epi` has none.
const float* set_conv_epi(ConvEpi epi, const float* bias, const View& residual, Conv2dParams* p);

// Success when every y value is within 1e-4 * (1 + |exact|) of the float64
// reference conv's (reference::conv2d on the same x, w, bias and p); else the
// first index that is not, with both values.
::testing::AssertionResult near_reference_conv2d(const View& x, const View& w, const float* bias,
                                                 const View& y, const Conv2dParams& p);

// How many of y[0, n) are -0 and +0 (the underflow cases must make both).
struct SignedZeros {
    int64_t negative = 0, positive = 0;
};
SignedZeros count_signed_zeros(const float* y, int64_t n);

// Success when got[0, n) has exactly want[0, n)'s bits (signed zeros and NaNs
// included); else the first index that differs, with both values.
::testing::AssertionResult same_bits(const float* want, const float* got, int64_t n);

}  // namespace fcnrt::test
