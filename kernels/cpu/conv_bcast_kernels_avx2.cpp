// The AVX2+FMA broadcast conv kernel (conv_bcast_microkernel.h): 2 ymm of
// output channels (16) x 6 pixels, 12 accumulators, 2 weight loads and 6
// broadcasts per reduction step. Compiled with -mavx2 -mfma; called only when
// the CPU supports both.
#include <immintrin.h>

#define FCNRT_GEMM_ISA_NAMESPACE avx2
#include "kernels/cpu/conv_bcast_microkernel.h"
#include "kernels/cpu/conv_plane_microkernel.h"

namespace fcnrt::cpu {
namespace avx2 {
namespace {

struct BcastVec {
    using type = __m256;
    static constexpr int width = 8;
    static type zero() { return _mm256_setzero_ps(); }
    static type load(const float* p) { return _mm256_loadu_ps(p); }
    static void store(float* p, type v) { _mm256_storeu_ps(p, v); }
    static type broadcast(const float* p) { return _mm256_broadcast_ss(p); }
    static type fma(type a, type b, type c) { return _mm256_fmadd_ps(a, b, c); }
};

}  // namespace
}  // namespace avx2

const ConvBcastKernel& conv_bcast_kernel_avx2() {
    static const ConvBcastKernel k = avx2::make_conv_bcast_kernel<avx2::BcastVec, 2, 6, 128>("avx2");
    return k;
}

// The small-plane conv (conv_plane_microkernel.h): the same lanes as the
// broadcast conv's blocks (it reads their packed weights), up to 6 pixels a tile
// (half tiles: 8); one-pixel columns of up to 5 blocks.
const ConvPlaneKernel& conv_plane_kernel_avx2() {
    static const ConvPlaneKernel k = avx2::make_conv_plane_kernel<avx2::BcastVec, 2, 6, 8, 5>("avx2");
    return k;
}

}  // namespace fcnrt::cpu
