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
    // r[j] (lane l) -> r[l] (lane j): the small-plane conv's channel-major store.
    static constexpr bool has_transpose8 = true;
    static void transpose8(type* r) {
        const type t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
        const type t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
        const type t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
        const type t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
        const type u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
        const type u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
        const type u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
        const type u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
        r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
        r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
        r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
        r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
        r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
        r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
        r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
        r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
    }
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
