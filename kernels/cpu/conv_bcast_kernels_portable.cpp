// The portable broadcast conv kernel (conv_bcast_microkernel.h): 4 scalar
// output channels x 4 pixels with fmaf, for any CPU. fmaf rounds once, exactly
// as the vector FMAs do, so this path gives the same bits as the AVX2 and
// AVX-512 ones, only slower.
#define FCNRT_GEMM_ISA_NAMESPACE portable
#include "kernels/cpu/conv_bcast_microkernel.h"
#include "kernels/cpu/conv_plane_microkernel.h"

namespace fcnrt::cpu {
namespace portable {
namespace {

struct BcastVec {
    using type = float;
    static constexpr int width = 1;
    static type zero() { return 0.0f; }
    static type load(const float* p) { return *p; }
    static void store(float* p, type v) { *p = v; }
    static type broadcast(const float* p) { return *p; }
    static type fma(type a, type b, type c) { return __builtin_fmaf(a, b, c); }
    static constexpr bool has_transpose8 = false;
    static void transpose8(type*) {}
};

}  // namespace
}  // namespace portable

const ConvBcastKernel& conv_bcast_kernel_portable() {
    static const ConvBcastKernel k = portable::make_conv_bcast_kernel<portable::BcastVec, 4, 4, 128>("portable");
    return k;
}

// The small-plane conv (conv_plane_microkernel.h): the same lanes as the
// broadcast conv's blocks (it reads their packed weights), up to 4 pixels a tile
// (half tiles: 4); one-pixel columns of up to 2 blocks.
const ConvPlaneKernel& conv_plane_kernel_portable() {
    static const ConvPlaneKernel k = portable::make_conv_plane_kernel<portable::BcastVec, 4, 4, 4, 2>("portable");
    return k;
}

}  // namespace fcnrt::cpu
