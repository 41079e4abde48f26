// CUDA elementwise ops: activation, hard_sigmoid and hard_swish, prelu, elu and
// gelu, add/mul (NumPy broadcasting, any dim of size 1 on either side), eval-mode
// batch norm and plain copies (float32 or int32).
//
// Thread mapping: one thread per output element, a 1-D grid-stride loop over the
// N*C*H*W elements in NCHW order. Element i is batch item i / CHW at position
// i % CHW inside it, so each view's own batch_stride (a concat slice may have a
// gap after every item) is applied per view; within an item consecutive threads
// touch consecutive addresses (coalesced). 256 threads per block; the grid is
// clamped (grid_for) and the loop covers the rest. 64-bit indices throughout.
//
// In-place calls (y aliasing x or a) are safe: every thread reads only the
// element it writes. Arithmetic is float32 like the fast CPU kernels, except
// batch norm, which (like the reference) normalises in float64 so that a large
// mean does not cost the result its low bits.
#include "kernels/cuda/elementwise.h"

#include "kernels/cuda/cuda_check.h"

namespace fcnrt::cuda {
namespace {

constexpr int kThreads = 256;

__global__ void activation_kernel(View x, View y, ActivationParams act, int64_t total) {
    const int64_t chw = x.chw();
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
         i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t n = i / chw, r = i - n * chw;
        y.f32()[n * y.batch_stride + r] = apply_activation(x.f32()[n * x.batch_stride + r], act);
    }
}

// hard_sigmoid_f32 / hard_swish_f32 (op_params.h), shared with the CPU kernels and
// the fused conv epilogues: no FMA contraction (__fmul_rn, __fadd_rn), so the CPU
// and CUDA results, fused or not, match bit for bit.
__global__ void hard_sigmoid_kernel(View x, View y, float alpha, float beta, int64_t total) {
    const int64_t chw = x.chw();
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
         i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t n = i / chw, r = i - n * chw;
        y.f32()[n * y.batch_stride + r] = hard_sigmoid_f32(x.f32()[n * x.batch_stride + r], alpha, beta);
    }
}

__global__ void hard_swish_kernel(View x, View y, int64_t total) {
    const int64_t chw = x.chw();
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
         i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t n = i / chw, r = i - n * chw;
        y.f32()[n * y.batch_stride + r] = hard_swish_f32(x.f32()[n * x.batch_stride + r]);
    }
}

// prelu: the slope is read per element from a tiny array (one channel's value,
// or the single scalar), so it stays in cache.
__global__ void prelu_kernel(View x, const float* slope, int64_t slope_count, View y,
                             int64_t total) {
    const int64_t chw = x.chw(), hw = x.hw();
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
         i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t n = i / chw, r = i - n * chw;
        const float v = x.f32()[n * x.batch_stride + r];
        const float s = slope[slope_count == 1 ? 0 : r / hw];
        y.f32()[n * y.batch_stride + r] = v >= 0.0f ? v : s * v;
    }
}

// elu and gelu use the accurate math functions (expm1f, erff, tanhf), not the
// fast intrinsics, so they stay within the float64 reference's 1e-5.
__global__ void elu_kernel(View x, View y, float alpha, int64_t total) {
    const int64_t chw = x.chw();
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
         i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t n = i / chw, r = i - n * chw;
        const float v = x.f32()[n * x.batch_stride + r];
        y.f32()[n * y.batch_stride + r] = v > 0.0f ? v : alpha * expm1f(v);
    }
}

__global__ void gelu_kernel(View x, View y, bool tanh_form, int64_t total) {
    const int64_t chw = x.chw();
    const float inv_sqrt2 = 0.70710678118654752f, sqrt_2_over_pi = 0.79788456080286536f;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
         i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t n = i / chw, r = i - n * chw;
        const float v = x.f32()[n * x.batch_stride + r];
        const float inner =
            tanh_form ? tanhf(sqrt_2_over_pi * (v + 0.044715f * v * v * v)) : erff(v * inv_sqrt2);
        y.f32()[n * y.batch_stride + r] = 0.5f * v * (1.0f + inner);
    }
}

// binary: NumPy broadcasting. The thread's output element (n, c, h, w) is read
// in each operand at index 0 along that operand's dims of size 1; one element of
// an operand may thus be read by many threads (a cached broadcast).
__global__ void binary_kernel(View a, View b, View y, BinaryParams p, int64_t total) {
    const int64_t chw = y.chw(), hw = y.hw(), w = y.w;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
         i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t n = i / chw, r = i - n * chw, c = r / hw, q = r - c * hw, iy = q / w,
                      ix = q - iy * w;
        const float va = a.f32()[a.offset(a.n == 1 ? 0 : n, a.c == 1 ? 0 : c, a.h == 1 ? 0 : iy,
                                          a.w == 1 ? 0 : ix)];
        const float vb = b.f32()[b.offset(b.n == 1 ? 0 : n, b.c == 1 ? 0 : c, b.h == 1 ? 0 : iy,
                                          b.w == 1 ? 0 : ix)];
        const float v = p.op == BinaryOp::Add ? va + vb : va * vb;
        y.f32()[n * y.batch_stride + r] = apply_activation(v, p.act);
    }
}

__global__ void batch_norm_kernel(View x, const float* scale, const float* bias,
                                  const float* mean, const float* var, float epsilon,
                                  ActivationParams act, View y, int64_t total) {
    const int64_t chw = x.chw(), hw = x.hw();
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
         i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t n = i / chw, r = i - n * chw, c = r / hw;
        const double inv_std = 1.0 / sqrt(double(var[c]) + double(epsilon));
        const double v = double(x.f32()[n * x.batch_stride + r]);
        y.f32()[n * y.batch_stride + r] = apply_activation(
            float((v - double(mean[c])) * inv_std * double(scale[c]) + double(bias[c])), act);
    }
}

// float32 and int32 are both 4-byte words: copied as bits.
__global__ void copy_kernel(View x, View y, int64_t total) {
    const int64_t chw = x.chw();
    const uint32_t* src = static_cast<const uint32_t*>(x.data);
    uint32_t* dst = static_cast<uint32_t*>(y.data);
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
         i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t n = i / chw, r = i - n * chw;
        dst[n * y.batch_stride + r] = src[n * x.batch_stride + r];
    }
}

// The kernel whose attributes kernel_image_status() reads.
__global__ void probe_kernel(int* out) {
    if (out) *out = 1;
}

}  // namespace

void activation(const View& x, const View& y, ActivationParams act, cudaStream_t stream) {
    const int64_t total = x.numel();
    if (total == 0) return;
    activation_kernel<<<grid_for(total, kThreads), kThreads, 0, stream>>>(x, y, act, total);
    check_launch("activation_kernel");
}

void hard_sigmoid(const View& x, const View& y, float alpha, float beta, cudaStream_t stream) {
    const int64_t total = x.numel();
    if (total == 0) return;
    hard_sigmoid_kernel<<<grid_for(total, kThreads), kThreads, 0, stream>>>(x, y, alpha, beta, total);
    check_launch("hard_sigmoid_kernel");
}

void hard_swish(const View& x, const View& y, cudaStream_t stream) {
    const int64_t total = x.numel();
    if (total == 0) return;
    hard_swish_kernel<<<grid_for(total, kThreads), kThreads, 0, stream>>>(x, y, total);
    check_launch("hard_swish_kernel");
}

void prelu(const View& x, const float* slope, int64_t slope_count, const View& y,
           cudaStream_t stream) {
    const int64_t total = x.numel();
    if (total == 0) return;
    prelu_kernel<<<grid_for(total, kThreads), kThreads, 0, stream>>>(x, slope, slope_count, y,
                                                                     total);
    check_launch("prelu_kernel");
}

void elu(const View& x, const View& y, float alpha, cudaStream_t stream) {
    const int64_t total = x.numel();
    if (total == 0) return;
    elu_kernel<<<grid_for(total, kThreads), kThreads, 0, stream>>>(x, y, alpha, total);
    check_launch("elu_kernel");
}

void gelu(const View& x, const View& y, bool tanh_form, cudaStream_t stream) {
    const int64_t total = x.numel();
    if (total == 0) return;
    gelu_kernel<<<grid_for(total, kThreads), kThreads, 0, stream>>>(x, y, tanh_form, total);
    check_launch("gelu_kernel");
}

void binary(const View& a, const View& b, const View& y, const BinaryParams& p,
            cudaStream_t stream) {
    const int64_t total = y.numel();
    if (total == 0) return;
    binary_kernel<<<grid_for(total, kThreads), kThreads, 0, stream>>>(a, b, y, p, total);
    check_launch("binary_kernel");
}

void batch_norm(const View& x, const float* scale, const float* bias, const float* mean,
                const float* var, float epsilon, ActivationParams act, const View& y,
                cudaStream_t stream) {
    const int64_t total = x.numel();
    if (total == 0) return;
    batch_norm_kernel<<<grid_for(total, kThreads), kThreads, 0, stream>>>(
        x, scale, bias, mean, var, epsilon, act, y, total);
    check_launch("batch_norm_kernel");
}

void copy(const View& x, const View& y, cudaStream_t stream) {
    const int64_t total = x.numel();
    if (total == 0) return;
    copy_kernel<<<grid_for(total, kThreads), kThreads, 0, stream>>>(x, y, total);
    check_launch("copy_kernel");
}

cudaError_t kernel_image_status() {
    cudaFuncAttributes attributes;
    return cudaFuncGetAttributes(&attributes, probe_kernel);
}

}  // namespace fcnrt::cuda
