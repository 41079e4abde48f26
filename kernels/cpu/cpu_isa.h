// Which vector instruction set the fast CPU kernels run on.
//
// The kernels that sum many products (convolution, transposed convolution,
// dense) are written once for a generic vector type and built three times:
// AVX-512F, AVX2+FMA and portable scalar code. Every path sums each output in
// the same order with fused multiply-adds (std::fma on the portable path), so
// all three give the same bits; they differ only in speed. The inner loops of
// the memory-bound kernels (pools, softmax, argmax, resize) are built the same
// three ways, without multiply-add contraction (membound_kernels.h).
//
// The path is the best this CPU supports, or a lower one named by the
// environment variable FCNRT_CPU_ISA=avx512|avx2|portable (read once, at the
// first kernel call). Asking for a path the CPU lacks is an error
// (cpu_isa_request_error says which), never a silent fallback.
#pragma once

#include <string>

namespace fcnrt::cpu {

enum class CpuIsa { Portable = 0, Avx2 = 1, Avx512 = 2 };

const char* cpu_isa_name(CpuIsa isa);
// The best path this CPU (and OS, for the wider registers' state) supports.
CpuIsa best_cpu_isa();
bool cpu_isa_supported(CpuIsa isa);
// The path in use: FCNRT_CPU_ISA when set and supported, else best_cpu_isa().
// Throws std::runtime_error when FCNRT_CPU_ISA names an unknown or
// unsupported path.
CpuIsa active_cpu_isa();
// Empty when FCNRT_CPU_ISA is unset or names a supported path; otherwise why
// it cannot be used (for tests that skip, and for the CLI's error line).
std::string cpu_isa_request_error();

}  // namespace fcnrt::cpu
