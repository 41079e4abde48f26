// The memory-bound kernels' inner loops (membound_kernels_impl.h) built with
// no vector flags (SSE2, the x86-64 baseline) and -ffp-contract=off
// (CMakeLists.txt).
#define FCNRT_MEMBOUND_ISA portable
#include "kernels/cpu/membound_kernels_impl.h"
