// The memory-bound kernels' inner loops (membound_kernels_impl.h) built with
// -mavx2 (8 floats per vector) and -ffp-contract=off
// (CMakeLists.txt); called only when the CPU supports AVX2.
#define FCNRT_MEMBOUND_ISA_NAMESPACE membound_avx2
#include "kernels/cpu/membound_kernels_impl.h"

namespace fcnrt::cpu {

const MemboundKernels& membound_kernels_avx2() {
    static const MemboundKernels k = membound_avx2::make_membound_kernels("avx2");
    return k;
}

}  // namespace fcnrt::cpu
