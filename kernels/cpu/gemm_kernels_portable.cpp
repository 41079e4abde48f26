// The portable micro-kernel: 4 rows x 4 scalar columns with fmaf, for any
// x86-64 (or other) CPU. fmaf rounds once, exactly as the vector FMAs do, so
// this path gives the same bits as the AVX2 and AVX-512 ones, only slower.
// Also the direct conv row kernel (conv_direct_microkernel.h): 4 pixels per step; 4 channels x 4 pixels in the multi-channel form.
// And the narrow GEMM kernel (gemm_narrow_kernel.h) on the same vectors.
#define FCNRT_GEMM_ISA_NAMESPACE portable
#include "kernels/cpu/gemm_microkernel.h"
#include "kernels/cpu/conv_direct_microkernel.h"
#include "kernels/cpu/gemm_narrow_kernel.h"

namespace fcnrt::cpu {
namespace portable {
namespace {

struct Vec {
    using type = float;
    static constexpr int width = 1;
    static type zero() { return 0.0f; }
    static type load(const float* p) { return *p; }
    static void store(float* p, type v) { *p = v; }
    static type broadcast(const float* p) { return *p; }
    static type fma(type a, type b, type c) { return __builtin_fmaf(a, b, c); }
};

}  // namespace
}  // namespace portable

const GemmMicroKernel& gemm_micro_kernel_portable() {
    static const GemmMicroKernel k = portable::make_micro_kernel<portable::Vec, 4, 4, 256>("portable");
    return k;
}

const ConvDirectKernel& conv_direct_kernel_portable() {
    static const ConvDirectKernel k = portable::make_conv_direct_kernel<portable::Vec, 4, 4, 4>("portable");
    return k;
}

const GemmNarrowKernel& gemm_narrow_kernel_portable() {
    static const GemmNarrowKernel k = portable::make_narrow_kernel<portable::Vec, 4>("portable");
    return k;
}

}  // namespace fcnrt::cpu
