// The body of the broadcast conv translation units
// (conv_bcast_kernels_{avx512,avx2,portable}.cpp): the kernel of
// conv_bcast_microkernel.h and the small-plane conv's of
// conv_plane_microkernel.h (the same lanes as the broadcast conv's blocks: it
// reads their packed weights) on the unit's vector type, with its blocking
// (isa_vec.h), and the table getters of conv_bcast_kernels.h and
// conv_plane_kernels.h (conv_bcast_kernel_avx2(), conv_plane_kernel_avx2() and
// so on). Include it only there, once, after defining FCNRT_GEMM_ISA_NAMESPACE,
// under the rules of gemm_microkernel.h.
#include "kernels/cpu/conv_bcast_microkernel.h"
#include "kernels/cpu/conv_plane_microkernel.h"
#include "kernels/cpu/isa_vec.h"

namespace fcnrt::cpu {

const ConvBcastKernel& FCNRT_ISA_CAT(conv_bcast_kernel_, FCNRT_GEMM_ISA_NAMESPACE)() {
    using namespace FCNRT_GEMM_ISA_NAMESPACE;
    static const ConvBcastKernel k =
        make_conv_bcast_kernel<Vec, Blocking::bcast_nv, Blocking::bcast_pixels, Blocking::bcast_kc>(
            FCNRT_ISA_STR(FCNRT_GEMM_ISA_NAMESPACE));
    return k;
}

const ConvPlaneKernel& FCNRT_ISA_CAT(conv_plane_kernel_, FCNRT_GEMM_ISA_NAMESPACE)() {
    using namespace FCNRT_GEMM_ISA_NAMESPACE;
    static const ConvPlaneKernel k =
        make_conv_plane_kernel<Vec, Blocking::bcast_nv, Blocking::plane_pixels,
                               Blocking::plane_half_pixels, Blocking::plane_column_blocks>(
            FCNRT_ISA_STR(FCNRT_GEMM_ISA_NAMESPACE));
    return k;
}

}  // namespace fcnrt::cpu
