// CUDA dense (fully connected) layer: y[n, o] = act(bias[o] + sum_f x[n, f] * w[o, f]),
// x's C*H*W elements of each batch item read in memory (C-major) order as f.
//
// Thread mapping: one warp per (output o, tile of up to kBatchTile batch items).
// The warp's 32 lanes stride over f together, so each weight row is read once
// per batch tile with coalesced loads (and each x row likewise); every lane keeps
// kBatchTile float64 partial sums in registers (compile-time indexed), then a
// warp shuffle reduces them in a fixed order, so results are deterministic.
// Dense layers here are the heads of patch classifiers: small batch, weights
// read once, memory-bound; a warp per output row is the simple fit, no cuBLAS
// handle to own. float64 accumulation matches the reference to the last bit
// for integer data and costs nothing next to the memory traffic.
// 256 threads (8 warps) per block; warps grid-stride over the outputs*tiles work
// items; grid clamped by grid_for; 64-bit indices.
#include "kernels/cuda/dense.h"

#include "kernels/cuda/cuda_check.h"

namespace fcnrt::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kWarpsPerBlock = kThreads / 32;
constexpr int kBatchTile = 8;

__global__ void dense_kernel(View x, View weight, const float* bias, View y, ActivationParams act,
                             int64_t outputs, int64_t tiles) {
    const int64_t features = x.chw();
    const int lane = threadIdx.x % 32;
    const int64_t warps = int64_t(gridDim.x) * kWarpsPerBlock;
    const int64_t work = outputs * tiles;
    for (int64_t item = blockIdx.x * int64_t(kWarpsPerBlock) + threadIdx.x / 32; item < work;
         item += warps) {
        const int64_t o = item % outputs;
        const int64_t n0 = (item / outputs) * kBatchTile;
        const float* w_row = weight.f32() + o * weight.batch_stride;  // (F)
        double acc[kBatchTile];
#pragma unroll
        for (int b = 0; b < kBatchTile; ++b) acc[b] = 0.0;
        for (int64_t f = lane; f < features; f += 32) {
            const double wv = double(w_row[f]);
#pragma unroll
            for (int b = 0; b < kBatchTile; ++b) {
                if (n0 + b < x.n) acc[b] += double(x.f32()[(n0 + b) * x.batch_stride + f]) * wv;
            }
        }
#pragma unroll
        for (int b = 0; b < kBatchTile; ++b) {
            for (int delta = 16; delta > 0; delta /= 2)
                acc[b] += __shfl_down_sync(0xffffffffu, acc[b], delta);
        }
        if (lane == 0) {
            const double b0 = bias ? double(bias[o]) : 0.0;
#pragma unroll
            for (int b = 0; b < kBatchTile; ++b) {
                if (n0 + b < x.n) {
                    y.f32()[(n0 + b) * y.batch_stride + o] =
                        apply_activation(float(b0 + acc[b]), act);
                }
            }
        }
    }
}

}  // namespace

void dense(const View& x, const View& weight, const float* bias, const View& y,
           ActivationParams act, cudaStream_t stream) {
    const int64_t outputs = y.chw();
    if (x.n == 0 || outputs == 0) return;
    const int64_t tiles = (x.n + kBatchTile - 1) / kBatchTile;
    const int64_t work = outputs * tiles;  // one warp each
    dense_kernel<<<grid_for(work, kWarpsPerBlock), kThreads, 0, stream>>>(x, weight, bias, y, act,
                                                                          outputs, tiles);
    check_launch("dense_kernel");
}

}  // namespace fcnrt::cuda
