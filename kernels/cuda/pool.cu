// CUDA pooling: max_pool2d (with PyTorch's per-plane indices, or ONNX's flat ones),
// avg_pool2d (PyTorch's divisor rule), global_avg_pool and max_unpool2d, with the
// semantics of kernels/reference/pool.cpp tap for tap.
//
// Thread mapping:
// - max_pool2d, avg_pool2d: one thread per output element, a 1-D grid-stride loop
//   over y's N*C*OH*OW elements in NCHW order; the thread walks its window tap by
//   tap (start + j * dilation), skipping taps outside the input. Average sums in
//   float64, like the reference. 256 threads per block.
// - global_avg_pool: one block of 256 threads per (n, c) plane (grid-stride over
//   planes); each thread sums a strided share of the plane in float64, then a warp
//   shuffle and a shared-memory step reduce in a fixed order (deterministic).
// - max_unpool2d: three launches, deterministic whatever the indices:
//   (1) fill y's elements with the int32 pattern -1 (one thread per element);
//   (2) one thread per x element with an index inside y's plane does atomicMax of
//       its own position p (h * W + w in x's plane) into y's element at the index,
//       y's memory read as int32: of several x elements naming the same output,
//       the last in x's NCHW order wins, exactly as the reference's sequential
//       scatter (PyTorch leaves duplicates undefined);
//   (3) one thread per y element replaces the winning position p by x[n, c, p]
//       and the untouched -1 by 0.0f.
//   y never holds anything but its final values once (3) is done; indices outside
//   [0, OH*OW) are skipped, so nothing outside y is written.
// Grids are clamped by grid_for; 64-bit indices.
#include "kernels/cuda/pool.h"

#include <cmath>

#include "kernels/cuda/cuda_check.h"

namespace fcnrt::cuda {
namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ void split_index(int64_t i, const View& v, int64_t at[4]) {
    at[3] = i % v.w;
    i /= v.w;
    at[2] = i % v.h;
    i /= v.h;
    at[1] = i % v.c;
    at[0] = i / v.c;
}

__global__ void max_pool2d_kernel(View x, View y, View indices, Pool2dParams p, int64_t total) {
    const int64_t kh = p.kernel[0], kw = p.kernel[1];
    const int64_t sh = p.stride[0], sw = p.stride[1];
    const int64_t dh = p.dilation[0], dw = p.dilation[1];
    const int64_t pt = p.pads[0], pl = p.pads[1];
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
         i += int64_t(gridDim.x) * blockDim.x) {
        int64_t at[4];
        split_index(i, y, at);
        const int64_t n = at[0], c = at[1], oy = at[2], ox = at[3];
        const int64_t hstart = oy * sh - pt;
        const int64_t wstart = ox * sw - pl;
        // As ATen (and the reference): the index starts at the first tap past the
        // top/left padding, so an all-padding window gives -inf and that tap's index.
        int64_t y0 = hstart, x0 = wstart;
        while (y0 < 0) y0 += dh;
        while (x0 < 0) x0 += dw;
        float best = -INFINITY;
        int64_t best_index = y0 * x.w + x0;
        const float* plane = x.f32() + x.offset(n, c, 0, 0);
        // Flat indices (ONNX's) count from the start of x's (n, c) plane in N*C*H*W.
        const int64_t plane_base = p.flat_indices ? (n * x.c + c) * x.hw() : 0;
        for (int64_t ky = 0; ky < kh; ++ky) {
            const int64_t iy = hstart + ky * dh;
            if (iy < 0 || iy >= x.h) continue;
            for (int64_t kx = 0; kx < kw; ++kx) {
                const int64_t ix = wstart + kx * dw;
                if (ix < 0 || ix >= x.w) continue;
                const float v = plane[iy * x.w + ix];
                // Strictly greater keeps the first maximum; a NaN always replaces.
                if (v > best || isnan(v)) {
                    best = v;
                    best_index = iy * x.w + ix;
                }
            }
        }
        y.f32()[y.offset(n, c, oy, ox)] = best;
        if (indices.data != nullptr) {
            indices.i32()[indices.offset(n, c, oy, ox)] =
                static_cast<int32_t>(plane_base + best_index);
        }
    }
}

__global__ void avg_pool2d_kernel(View x, View y, Pool2dParams p, int64_t total) {
    const int64_t kh = p.kernel[0], kw = p.kernel[1];
    const int64_t sh = p.stride[0], sw = p.stride[1];
    const int64_t dh = p.dilation[0], dw = p.dilation[1];
    const int64_t pt = p.pads[0], pl = p.pads[1], pb = p.pads[2], pr = p.pads[3];
    const bool dilated = dh != 1 || dw != 1;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
         i += int64_t(gridDim.x) * blockDim.x) {
        int64_t at[4];
        split_index(i, y, at);
        const int64_t n = at[0], c = at[1], oy = at[2], ox = at[3];
        const int64_t hstart = oy * sh - pt;
        const int64_t wstart = ox * sw - pl;
        const float* plane = x.f32() + x.offset(n, c, 0, 0);
        double sum = 0.0;
        int64_t in_bounds = 0;
        for (int64_t ky = 0; ky < kh; ++ky) {
            const int64_t iy = hstart + ky * dh;
            if (iy < 0 || iy >= x.h) continue;
            for (int64_t kx = 0; kx < kw; ++kx) {
                const int64_t ix = wstart + kx * dw;
                if (ix < 0 || ix >= x.w) continue;
                sum += double(plane[iy * x.w + ix]);
                ++in_bounds;
            }
        }
        double divisor;
        if (!p.count_include_pad) {
            divisor = double(in_bounds);
        } else if (!dilated) {
            // The window clipped to the padded extent (ATen's pool_size).
            const int64_t hend = min(hstart + kh, x.h + pb);
            const int64_t wend = min(wstart + kw, x.w + pr);
            divisor = double((hend - hstart) * (wend - wstart));
        } else {
            divisor = double(kh * kw);  // the spec's rule for a dilated avg_pool
        }
        const double mean = in_bounds == 0 ? 0.0 : sum / divisor;
        y.f32()[y.offset(n, c, oy, ox)] = float(mean);
    }
}

constexpr int kReduceThreads = 256;  // global_avg_pool: a multiple of 32

__global__ void global_avg_pool_kernel(View x, View y, int64_t planes) {
    __shared__ double warp_sums[kReduceThreads / 32];
    const int64_t hw = x.hw();
    for (int64_t plane = blockIdx.x; plane < planes; plane += gridDim.x) {
        const int64_t n = plane / x.c, c = plane - n * x.c;
        const float* src = x.f32() + x.offset(n, c, 0, 0);
        double sum = 0.0;
        for (int64_t j = threadIdx.x; j < hw; j += blockDim.x) sum += double(src[j]);
        for (int delta = 16; delta > 0; delta /= 2) sum += __shfl_down_sync(0xffffffffu, sum, delta);
        const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
        if (lane == 0) warp_sums[warp] = sum;
        __syncthreads();
        if (threadIdx.x == 0) {
            double total = 0.0;
            for (int k = 0; k < kReduceThreads / 32; ++k) total += warp_sums[k];
            y.f32()[y.offset(n, c, 0, 0)] = float(total / double(hw));
        }
        __syncthreads();  // warp_sums is reused by the next plane
    }
}

__global__ void fill_int_kernel(View y, int32_t value, int64_t total) {
    const int64_t chw = y.chw();
    int32_t* dst = static_cast<int32_t*>(y.data);
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
         i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t n = i / chw, r = i - n * chw;
        dst[n * y.batch_stride + r] = value;
    }
}

// Claims y[n, c, index] for the x element at plane position p (the last in x's
// order wins through atomicMax).
__global__ void unpool_claim_kernel(View indices, View y, int64_t total) {
    const int64_t hw = indices.hw(), plane_out = y.hw();
    int32_t* dst = static_cast<int32_t*>(y.data);
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
         i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t nc = i / hw, p = i - nc * hw;
        const int64_t n = nc / indices.c, c = nc - n * indices.c;
        const int64_t index = indices.i32()[indices.offset(n, c, 0, 0) + p];
        if (index < 0 || index >= plane_out) continue;
        atomicMax(dst + y.offset(n, c, 0, 0) + index, static_cast<int32_t>(p));
    }
}

// Turns each claimed position into x's value there, unclaimed ones into 0.
__global__ void unpool_resolve_kernel(View x, View y, int64_t total) {
    const int64_t chw = y.chw(), plane_out = y.hw();
    int32_t* claims = static_cast<int32_t*>(y.data);
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
         i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t n = i / chw, r = i - n * chw, c = r / plane_out;
        const int64_t at = n * y.batch_stride + r;
        const int32_t p = claims[at];
        y.f32()[at] = p < 0 ? 0.0f : x.f32()[x.offset(n, c, 0, 0) + p];
    }
}

}  // namespace

void max_pool2d(const View& x, const View& y, const View& indices, const Pool2dParams& p,
                cudaStream_t stream) {
    const int64_t total = y.numel();
    if (total == 0) return;
    max_pool2d_kernel<<<grid_for(total, kThreads), kThreads, 0, stream>>>(x, y, indices, p,
                                                                          total);
    check_launch("max_pool2d_kernel");
}

void avg_pool2d(const View& x, const View& y, const Pool2dParams& p, cudaStream_t stream) {
    const int64_t total = y.numel();
    if (total == 0) return;
    avg_pool2d_kernel<<<grid_for(total, kThreads), kThreads, 0, stream>>>(x, y, p, total);
    check_launch("avg_pool2d_kernel");
}

void global_avg_pool(const View& x, const View& y, cudaStream_t stream) {
    const int64_t planes = x.n * x.c;
    if (planes == 0) return;
    const unsigned blocks = grid_for(planes, 1);
    global_avg_pool_kernel<<<blocks, kReduceThreads, 0, stream>>>(x, y, planes);
    check_launch("global_avg_pool_kernel");
}

void max_unpool2d(const View& x, const View& indices, const View& y, cudaStream_t stream) {
    const int64_t out_total = y.numel();
    if (out_total == 0) return;
    if (y.hw() > INT32_MAX) throw std::runtime_error("max_unpool2d: output plane over 2^31 elements");
    fill_int_kernel<<<grid_for(out_total, kThreads), kThreads, 0, stream>>>(y, -1, out_total);
    check_launch("fill_int_kernel");
    const int64_t in_total = indices.numel();
    if (in_total > 0) {
        unpool_claim_kernel<<<grid_for(in_total, kThreads), kThreads, 0, stream>>>(indices, y,
                                                                                 in_total);
        check_launch("unpool_claim_kernel");
    }
    unpool_resolve_kernel<<<grid_for(out_total, kThreads), kThreads, 0, stream>>>(x, y, out_total);
    check_launch("unpool_resolve_kernel");
}

}  // namespace fcnrt::cuda
