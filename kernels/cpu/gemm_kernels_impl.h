// The body of the GEMM translation units (gemm_kernels_{avx512,avx2,portable}.cpp):
// the GEMM micro-kernel (gemm_microkernel.h), the direct conv row kernel
// (conv_direct_microkernel.h) and the narrow GEMM kernel (gemm_narrow_kernel.h)
// on the unit's vector type, with its blocking (isa_vec.h), and the three
// table getters of gemm_kernels.h, conv_direct_kernels.h and gemm_narrow.h
// (gemm_micro_kernel_avx2() and so on). Include it only there, once, after
// defining FCNRT_GEMM_ISA_NAMESPACE; the rules of gemm_microkernel.h hold:
// the kernels live in that namespace's anonymous namespace, and the getters
// (named per ISA, not inline) only build and return the table.
#include "kernels/cpu/conv_direct_microkernel.h"
#include "kernels/cpu/gemm_microkernel.h"
#include "kernels/cpu/gemm_narrow_kernel.h"
#include "kernels/cpu/isa_vec.h"

namespace fcnrt::cpu {

const GemmMicroKernel& FCNRT_ISA_CAT(gemm_micro_kernel_, FCNRT_GEMM_ISA_NAMESPACE)() {
    using namespace FCNRT_GEMM_ISA_NAMESPACE;
    static const GemmMicroKernel k =
        make_micro_kernel<Vec, Blocking::gemm_mr, Blocking::gemm_nv, Blocking::gemm_kc>(
            FCNRT_ISA_STR(FCNRT_GEMM_ISA_NAMESPACE));
    return k;
}

const ConvDirectKernel& FCNRT_ISA_CAT(conv_direct_kernel_, FCNRT_GEMM_ISA_NAMESPACE)() {
    using namespace FCNRT_GEMM_ISA_NAMESPACE;
    static const ConvDirectKernel k =
        make_conv_direct_kernel<Vec, Blocking::direct_nv, Blocking::direct_mr,
                                Blocking::direct_nvm>(FCNRT_ISA_STR(FCNRT_GEMM_ISA_NAMESPACE));
    return k;
}

const GemmNarrowKernel& FCNRT_ISA_CAT(gemm_narrow_kernel_, FCNRT_GEMM_ISA_NAMESPACE)() {
    using namespace FCNRT_GEMM_ISA_NAMESPACE;
    static const GemmNarrowKernel k =
        make_narrow_kernel<Vec, Blocking::narrow_mr>(FCNRT_ISA_STR(FCNRT_GEMM_ISA_NAMESPACE));
    return k;
}

}  // namespace fcnrt::cpu
