// One ISA path's table of a kernel, picked among the kernel's four getters
// (gemm_micro_kernel_avx512/_avx2/_portable/_avx512sim and the like): for the code that
// dispatches (gemm.cpp, membound_kernels.cpp, the tests). Never include it in an
// ISA translation unit: instantiated there, this template would be a weak
// symbol built with that unit's flags (gemm_microkernel.h's rule).
#pragma once

#include "kernels/cpu/cpu_isa.h"

namespace fcnrt::cpu {

template <class Table>
const Table& isa_table(CpuIsa isa, const Table& (*avx512)(), const Table& (*avx2)(),
                       const Table& (*portable)(), const Table& (*avx512sim)()) {
    switch (isa) {
        case CpuIsa::Avx512: return avx512();
        case CpuIsa::Avx512Sim: return avx512sim();
        case CpuIsa::Avx2: return avx2();
        case CpuIsa::Portable: break;
    }
    return portable();
}

}  // namespace fcnrt::cpu
