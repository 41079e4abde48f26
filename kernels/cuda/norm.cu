// CUDA group_norm (instance norm is groups == C), with the semantics of
// kernels/reference/norm.cpp.
//
// Thread mapping: one block of 256 threads per (n, group) (a grid-stride loop
// over the N * groups groups). A group's cg * H * W elements are contiguous
// (channels g*cg .. (g+1)*cg - 1 of batch item n). Three sweeps over them, each
// thread taking elements threadIdx.x, threadIdx.x + 256, ...:
//   (1) float64 sum -> block_sum -> mean;
//   (2) float64 sum of (x - mean)^2 -> block_sum -> inv_std (two passes: no
//       cancellation);
//   (3) y = (x - mean) * (scale[c] * inv_std) + bias[c] in float64, as the CPU.
// block_sum reduces with warp shuffles then one thread over the per-warp sums,
// in a fixed order: deterministic. 64-bit indices.
#include "kernels/cuda/norm.h"

#include <cmath>

#include "kernels/cuda/cuda_check.h"

namespace fcnrt::cuda {
namespace {

constexpr int kThreads = 256;  // a multiple of 32

// Sum of every thread's `v`, returned to all threads of the block. Reuses
// `scratch` (kThreads / 32 + 1 doubles); ends with a barrier, so it may be
// called again at once.
__device__ double block_sum(double v, double* scratch) {
    for (int delta = 16; delta > 0; delta /= 2) v += __shfl_down_sync(0xffffffffu, v, delta);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    if (threadIdx.x == 0) {
        double total = 0.0;
        for (int k = 0; k < kThreads / 32; ++k) total += scratch[k];
        scratch[kThreads / 32] = total;
    }
    __syncthreads();
    const double total = scratch[kThreads / 32];
    __syncthreads();  // everyone has read it before scratch is written again
    return total;
}

__global__ void group_norm_kernel(View x, const float* scale, const float* bias, View y,
                                  int64_t groups, float epsilon, int64_t total_groups) {
    __shared__ double scratch[kThreads / 32 + 1];
    const int64_t cg = x.c / groups, hw = x.hw(), len = cg * hw;
    for (int64_t ng = blockIdx.x; ng < total_groups; ng += gridDim.x) {
        const int64_t n = ng / groups, g = ng - n * groups;
        const float* src = x.f32() + x.offset(n, g * cg, 0, 0);  // (cg, H, W)
        float* dst = y.f32() + y.offset(n, g * cg, 0, 0);        // (cg, H, W)
        double sum = 0.0;
        for (int64_t i = threadIdx.x; i < len; i += blockDim.x) sum += double(src[i]);
        const double mean = block_sum(sum, scratch) / double(len);
        double sq = 0.0;
        for (int64_t i = threadIdx.x; i < len; i += blockDim.x) {
            const double d = double(src[i]) - mean;
            sq += d * d;
        }
        const double inv_std = 1.0 / sqrt(block_sum(sq, scratch) / double(len) + double(epsilon));
        for (int64_t i = threadIdx.x; i < len; i += blockDim.x) {
            const int64_t c = g * cg + i / hw;
            const double a = (scale ? double(scale[c]) : 1.0) * inv_std;
            const double b = bias ? double(bias[c]) : 0.0;
            dst[i] = float((double(src[i]) - mean) * a + b);
        }
    }
}

}  // namespace

void group_norm(const View& x, const float* scale, const float* bias, const View& y, int64_t groups,
                float epsilon, cudaStream_t stream) {
    const int64_t total_groups = x.n * groups;
    if (total_groups == 0 || x.numel() == 0) return;
    group_norm_kernel<<<grid_for(total_groups, 1), kThreads, 0, stream>>>(x, scale, bias, y, groups,
                                                                          epsilon, total_groups);
    check_launch("group_norm_kernel");
}

}  // namespace fcnrt::cuda
