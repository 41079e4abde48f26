// The memory-bound kernels' inner loops (membound_kernels_impl.h) built with
// -mavx2 (8 floats per vector) and -ffp-contract=off (CMakeLists.txt);
// called only when the CPU supports AVX2.
#define FCNRT_MEMBOUND_ISA avx2
#include "kernels/cpu/membound_kernels_impl.h"
