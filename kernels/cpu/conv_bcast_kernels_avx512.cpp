// The AVX-512F broadcast conv kernel (conv_bcast_microkernel.h): 2 zmm of
// output channels (32) x 12 pixels, 24 accumulators, 2 weight loads and 12
// broadcasts per reduction step. Compiled with -mavx512f -mfma; called only
// when the CPU supports both.
#include <immintrin.h>

#define FCNRT_GEMM_ISA_NAMESPACE avx512
#include "kernels/cpu/conv_bcast_microkernel.h"
#include "kernels/cpu/conv_plane_microkernel.h"

namespace fcnrt::cpu {
namespace avx512 {
namespace {

struct BcastVec {
    using type = __m512;
    static constexpr int width = 16;
    static type zero() { return _mm512_setzero_ps(); }
    static type load(const float* p) { return _mm512_loadu_ps(p); }
    static void store(float* p, type v) { _mm512_storeu_ps(p, v); }
    static type broadcast(const float* p) { return _mm512_set1_ps(*p); }
    static type fma(type a, type b, type c) { return _mm512_fmadd_ps(a, b, c); }
    static constexpr bool has_transpose8 = false;
    static void transpose8(type*) {}
};

}  // namespace
}  // namespace avx512

const ConvBcastKernel& conv_bcast_kernel_avx512() {
    static const ConvBcastKernel k = avx512::make_conv_bcast_kernel<avx512::BcastVec, 2, 12, 64>("avx512");
    return k;
}

// The small-plane conv (conv_plane_microkernel.h): the same lanes as the
// broadcast conv's blocks (it reads their packed weights), up to 12 pixels a tile
// (half tiles: 12); one-pixel columns of up to 5 blocks.
const ConvPlaneKernel& conv_plane_kernel_avx512() {
    static const ConvPlaneKernel k = avx512::make_conv_plane_kernel<avx512::BcastVec, 2, 12, 12, 5>("avx512");
    return k;
}

}  // namespace fcnrt::cpu
