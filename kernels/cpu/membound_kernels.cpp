// Picks the memory-bound kernels' table of the active ISA (membound_kernels.h).
#include "kernels/cpu/membound_kernels.h"

#include "kernels/cpu/isa_table.h"

namespace fcnrt::cpu {

const MemboundKernels& membound_kernels(CpuIsa isa) {
    return isa_table(isa, membound_kernels_avx512, membound_kernels_avx2, membound_kernels_portable,
                     membound_kernels_avx512sim);
}

const MemboundKernels& active_membound_kernels() {
    static const MemboundKernels& k = membound_kernels(active_cpu_isa());
    return k;
}

}  // namespace fcnrt::cpu
