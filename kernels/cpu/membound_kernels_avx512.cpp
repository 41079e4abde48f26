// The memory-bound kernels' inner loops (membound_kernels_impl.h) built with
// -mavx512f (16 floats per vector) and -ffp-contract=off (CMakeLists.txt);
// called only when the CPU supports AVX-512F.
#define FCNRT_MEMBOUND_ISA avx512
#include "kernels/cpu/membound_kernels_impl.h"
