// Picks the memory-bound kernels' table of the active ISA (membound_kernels.h).
#include "kernels/cpu/membound_kernels.h"

namespace fcnrt::cpu {

const MemboundKernels& membound_kernels(CpuIsa isa) {
    switch (isa) {
        case CpuIsa::Avx512: return membound_kernels_avx512();
        case CpuIsa::Avx2: return membound_kernels_avx2();
        case CpuIsa::Portable: break;
    }
    return membound_kernels_portable();
}

const MemboundKernels& active_membound_kernels() {
    static const MemboundKernels& k = membound_kernels(active_cpu_isa());
    return k;
}

}  // namespace fcnrt::cpu
