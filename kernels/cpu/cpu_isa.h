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
//
// A fourth path, avx512sim (FCNRT_CPU_ISA=avx512sim only, never picked by
// itself), is for tests: the AVX-512 path's code (its blocking, tiles,
// remainders and every dispatch decision and threshold of the drivers) built
// with a 16-float vector type in portable C++ (isa_vec.h), so that CPUs
// without AVX-512 run, and test, the AVX-512 path's logic; only the
// instructions differ. It is about as slow as the portable path.
#pragma once

#include <string>

namespace fcnrt::cpu {

enum class CpuIsa { Portable = 0, Avx2 = 1, Avx512 = 2, Avx512Sim = 3 };

const char* cpu_isa_name(CpuIsa isa);
// The best path this CPU (and OS, for the wider registers' state) supports.
CpuIsa best_cpu_isa();
// True for avx512sim and portable on any CPU.
bool cpu_isa_supported(CpuIsa isa);
// The path whose logic isa runs: avx512 for avx512sim, else isa. The drivers'
// choices by ISA (which kernel form pays, thresholds) ask this, never
// active_cpu_isa() itself, so that avx512sim chooses as avx512 does.
CpuIsa cpu_isa_logic(CpuIsa isa);
// The path in use: FCNRT_CPU_ISA when set and supported, else best_cpu_isa().
// Throws std::runtime_error when FCNRT_CPU_ISA names an unknown or
// unsupported path.
CpuIsa active_cpu_isa();
// cpu_isa_logic(active_cpu_isa()).
CpuIsa active_cpu_isa_logic();
// Whether the baseline code's AVX2-built helpers (conv.cpp's and
// conv_plane.cpp's plane_epilogue_avx, the same bits as their SSE2 build) may
// run: a vector path is active and the CPU has AVX2 (avx512sim on a CPU without
// it takes the SSE2 build).
bool cpu_avx2_helpers();
// Empty when FCNRT_CPU_ISA is unset or names a supported path; otherwise why
// it cannot be used (for tests that skip, and for the CLI's error line).
std::string cpu_isa_request_error();

}  // namespace fcnrt::cpu
