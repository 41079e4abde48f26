// The AVX-512F micro-kernel: 8 rows x 3 zmm (48 pixels), 24 accumulators.
// Also the direct conv row kernel (conv_direct_microkernel.h): 4 zmm (64 pixels) per step; 8 channels x 3 zmm in the multi-channel form.
// Compiled with -mavx512f -mfma; called only when the CPU supports both.
// And the narrow GEMM kernel (gemm_narrow_kernel.h) on the same vectors.
#include <immintrin.h>

#define FCNRT_GEMM_ISA_NAMESPACE avx512
#include "kernels/cpu/gemm_microkernel.h"
#include "kernels/cpu/conv_direct_microkernel.h"
#include "kernels/cpu/gemm_narrow_kernel.h"

namespace fcnrt::cpu {
namespace avx512 {
namespace {

struct Vec {
    using type = __m512;
    static constexpr int width = 16;
    static type zero() { return _mm512_setzero_ps(); }
    static type load(const float* p) { return _mm512_loadu_ps(p); }
    static void store(float* p, type v) { _mm512_storeu_ps(p, v); }
    static type broadcast(const float* p) { return _mm512_set1_ps(*p); }
    static type fma(type a, type b, type c) { return _mm512_fmadd_ps(a, b, c); }
};

}  // namespace
}  // namespace avx512

const GemmMicroKernel& gemm_micro_kernel_avx512() {
    static const GemmMicroKernel k = avx512::make_micro_kernel<avx512::Vec, 8, 3, 192>("avx512");
    return k;
}

const ConvDirectKernel& conv_direct_kernel_avx512() {
    static const ConvDirectKernel k = avx512::make_conv_direct_kernel<avx512::Vec, 4, 8, 3>("avx512");
    return k;
}

const GemmNarrowKernel& gemm_narrow_kernel_avx512() {
    static const GemmNarrowKernel k = avx512::make_narrow_kernel<avx512::Vec, 8>("avx512");
    return k;
}

}  // namespace fcnrt::cpu
