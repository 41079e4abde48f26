// The machine's floating-point peak, measured rather than looked up: every
// OpenMP thread runs independent fused multiply-add chains of the active ISA's
// widest vector (kernels/cpu/cpu_isa.h), enough of them to cover the FMA
// latency times the FMA units, with no loads or stores. What it reaches is
// cores x clock x FMA lanes x 2 as this machine actually runs it (turbo, the
// units' width, e.g. Zen 4 issuing 512-bit FMAs as two 256-bit halves), the
// denominator of bench_cpu_kernels' "share_of_fma_peak".
#pragma once

#include <cstdint>

namespace fcnrt::bench {

// GFLOP/s (2 flop per lane per FMA) of `iterations` rounds of the chains on
// every thread of the enclosing OpenMP team size (call outside a parallel
// region), timed as one wall-clock interval.
double measure_fma_peak_gflops(int64_t iterations);

}  // namespace fcnrt::bench
