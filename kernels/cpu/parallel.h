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
// runs on one thread: about 10 us of one core's GEMM rate. Measured on the
// one-patch classifier (`fcnrt bench`, 2 threads, Zen 3, 2026-12-03): with 8e6
// its 1.6-6 MFLOP convs ran on one thread, 0.167 ms a patch (onnxruntime 0.131);
// with 1e6 (and the weight-bytes rule below) 0.123 ms. The cost: with another
// process busy on one of the 2 cores, the median stays better (0.134-0.141
// against 0.172-0.178 ms at one thread) but a join now and then waits for a time
// slice (p99 4 ms, mean 0.28-0.40 ms): on an oversubscribed host use fewer
// threads (OMP_NUM_THREADS), as with any OpenMP or onnxruntime pool.
constexpr double kParallelMinFlops = 1e6;

// Weight bytes from which a conv or dense of few FLOPs per weight (one output
// pixel or item: a patch net's last layers, 1 MiB of weights for 0.5 MFLOP)
// runs on every thread anyway: it is bound by streaming the weights, and each
// thread streams its share through its own core's caches.
constexpr double kParallelMinWeightBytes = 512.0 * 1024.0;

// Elements below which a memory-bound loop (pooling) runs on one thread, as
// elementwise.cpp's threshold.
constexpr int64_t kParallelMinElements = 32768;

inline bool worth_threads(double flops) { return flops >= kParallelMinFlops; }
inline bool worth_threads(double flops, double weight_bytes) {
    return flops >= kParallelMinFlops || weight_bytes >= kParallelMinWeightBytes;
}

}  // namespace fcnrt::cpu
