// The memory-bound kernels' inner loops (membound_kernels_impl.h) as the
// avx512 unit runs them (its 8-float whole-plane pool vectors included), built
// with -ffp-contract=off and no vector flags: the test path avx512sim
// (cpu_isa.h).
#define FCNRT_MEMBOUND_ISA avx512sim
#include "kernels/cpu/membound_kernels_impl.h"
