// When a CPU kernel's loop is worth an OpenMP fork/join.
//
// A parallel region costs a wake-up and a join of every team thread: a few
// microseconds on an idle host, but on a busy one the join waits until each
// thread has had its time slice, milliseconds per region. A net of tiny nodes
// (a patch classifier on one 31x31 patch: ten nodes of 0.01-6 MFLOP) then took
// 60 ms at 2 threads instead of 0.2 ms. Kernels below these thresholds run their
// loop on the calling thread (OpenMP's `if` clause). Only the thread count
// changes: every output's summation order is fixed by the op alone (gemm.h),
// so the results are the same bits either way.
#pragma once

#include <cstdint>

namespace fcnrt::cpu {

// FLOPs (a multiply-add counts 2) below which a conv, transposed conv or dense
// runs on one thread: about 100 us of one core's GEMM rate, where two threads
// would save at most 50 us and a busy host can cost a time slice per join.
constexpr double kParallelMinFlops = 8e6;

// Elements below which a memory-bound loop (pooling) runs on one thread, as
// elementwise.cpp's threshold.
constexpr int64_t kParallelMinElements = 32768;

inline bool worth_threads(double flops) { return flops >= kParallelMinFlops; }

}  // namespace fcnrt::cpu
