// The memory-bound kernels' inner loops (membound_kernels_impl.h) built with
// no vector flags (SSE2, the x86-64 baseline) and
// -ffp-contract=off (CMakeLists.txt).
#define FCNRT_MEMBOUND_ISA_NAMESPACE membound_portable
#include "kernels/cpu/membound_kernels_impl.h"

namespace fcnrt::cpu {

const MemboundKernels& membound_kernels_portable() {
    static const MemboundKernels k = membound_portable::make_membound_kernels("portable");
    return k;
}

}  // namespace fcnrt::cpu
