// The AVX2+FMA micro-kernel: 6 rows x 2 ymm (16 pixels), 12 accumulators.
// Also the direct conv row kernel (conv_direct_microkernel.h): 4 ymm (32 pixels) per step; 4 channels x 3 ymm in the multi-channel form.
// Compiled with -mavx2 -mfma; called only when the CPU supports both.
// And the narrow GEMM kernel (gemm_narrow_kernel.h) on the same vectors.
#include <immintrin.h>

#define FCNRT_GEMM_ISA_NAMESPACE avx2
#include "kernels/cpu/gemm_microkernel.h"
#include "kernels/cpu/conv_direct_microkernel.h"
#include "kernels/cpu/gemm_narrow_kernel.h"

namespace fcnrt::cpu {
namespace avx2 {
namespace {

struct Vec {
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

const GemmMicroKernel& gemm_micro_kernel_avx2() {
    static const GemmMicroKernel k = avx2::make_micro_kernel<avx2::Vec, 6, 2, 256>("avx2");
    return k;
}

const ConvDirectKernel& conv_direct_kernel_avx2() {
    static const ConvDirectKernel k = avx2::make_conv_direct_kernel<avx2::Vec, 4, 4, 3>("avx2");
    return k;
}

const GemmNarrowKernel& gemm_narrow_kernel_avx2() {
    static const GemmNarrowKernel k = avx2::make_narrow_kernel<avx2::Vec, 6>("avx2");
    return k;
}

}  // namespace fcnrt::cpu
