// CUDA crop, pad, depth_to_space and space_to_depth.
//
// Thread mapping: one thread per output element, a 1-D grid-stride loop over y's
// N*C*H*W elements in NCHW order; each thread maps its (n, c, oy, ox) back to one
// input element (or the pad constant), exactly as kernels/reference/layout.cpp.
// Consecutive threads write consecutive addresses of a row (coalesced); reads
// are coalesced except where reflect mode runs backwards, and in depth_to_space /
// space_to_depth, where neighbouring threads read b planes (or b columns) apart
// (both are pure copies, bound by memory either way). 256 threads per block,
// grid clamped by grid_for; 64-bit indices.
#include "kernels/cuda/layout.h"

#include "kernels/cuda/cuda_check.h"

namespace fcnrt::cuda {
namespace {

constexpr int kThreads = 256;

// Splits NCHW element index i of a view with dims (c, h, w) into (n, c, h, w).
__device__ __forceinline__ void split_index(int64_t i, const View& v, int64_t at[4]) {
    at[3] = i % v.w;
    i /= v.w;
    at[2] = i % v.h;
    i /= v.h;
    at[1] = i % v.c;
    at[0] = i / v.c;
}

// torch 'reflect': mirror about the edge element without repeating it; beyond one
// period it keeps mirroring (stays in bounds for any pad).
__device__ __forceinline__ int64_t reflect_index(int64_t i, int64_t size) {
    if (size == 1) return 0;
    const int64_t period = 2 * (size - 1);
    i %= period;
    if (i < 0) i += period;
    return i < size ? i : period - i;
}

__device__ __forceinline__ int64_t edge_index(int64_t i, int64_t size) {
    return i < 0 ? 0 : (i >= size ? size - 1 : i);
}

__global__ void crop_kernel(View x, View y, int64_t top, int64_t left, int64_t total) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
         i += int64_t(gridDim.x) * blockDim.x) {
        int64_t at[4];
        split_index(i, y, at);
        y.f32()[y.offset(at[0], at[1], at[2], at[3])] =
            x.f32()[x.offset(at[0], at[1], at[2] + top, at[3] + left)];
    }
}

__global__ void pad_kernel(View x, View y, PadParams p, int64_t total) {
    const int64_t pt = p.pads[0], pl = p.pads[1];
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
         i += int64_t(gridDim.x) * blockDim.x) {
        int64_t at[4];
        split_index(i, y, at);
        int64_t iy = at[2] - pt, ix = at[3] - pl;
        const bool inside = iy >= 0 && iy < x.h && ix >= 0 && ix < x.w;
        if (p.mode == PadMode::Reflect) {
            iy = reflect_index(iy, x.h);
            ix = reflect_index(ix, x.w);
        } else if (p.mode == PadMode::Edge) {
            iy = edge_index(iy, x.h);
            ix = edge_index(ix, x.w);
        }
        float v = p.value;
        if (inside || p.mode != PadMode::Constant) v = x.f32()[x.offset(at[0], at[1], iy, ix)];
        y.f32()[y.offset(at[0], at[1], at[2], at[3])] = v;
    }
}

// depth_to_space: thread = output element (n, c, oy, ox) of the space side,
// reading depth channel depth_channel(c, oy % b, ox % b) at (oy / b, ox / b);
// writes coalesced, reads strided over b planes.
__global__ void depth_to_space_kernel(View x, View y, SpaceDepthParams p, int64_t total) {
    const int64_t b = p.block;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
         i += int64_t(gridDim.x) * blockDim.x) {
        int64_t at[4];
        split_index(i, y, at);
        const int64_t dc = depth_channel(at[1], at[2] % b, at[3] % b, y.c, p);
        y.f32()[y.offset(at[0], at[1], at[2], at[3])] =
            x.f32()[x.offset(at[0], dc, at[2] / b, at[3] / b)];
    }
}

// space_to_depth: thread = output element (n, dc, oy, ox) of the depth side; the
// shallow channel and block offset are recovered from dc.
__global__ void space_to_depth_kernel(View x, View y, SpaceDepthParams p, int64_t total) {
    const int64_t b = p.block, C = x.c;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
         i += int64_t(gridDim.x) * blockDim.x) {
        int64_t at[4];
        split_index(i, y, at);
        const int64_t dc = at[1];
        // Inverse of depth_channel: DCR dc = (bi*b + bj)*C + c, CRD dc = (c*b + bi)*b + bj.
        const int64_t c = p.crd ? dc / (b * b) : dc % C;
        const int64_t k = p.crd ? dc % (b * b) : dc / C;
        const int64_t bi = k / b, bj = k % b;
        y.f32()[y.offset(at[0], dc, at[2], at[3])] =
            x.f32()[x.offset(at[0], c, at[2] * b + bi, at[3] * b + bj)];
    }
}

}  // namespace

void depth_to_space(const View& x, const View& y, const SpaceDepthParams& p, cudaStream_t stream) {
    const int64_t total = y.numel();
    if (total == 0) return;
    depth_to_space_kernel<<<grid_for(total, kThreads), kThreads, 0, stream>>>(x, y, p, total);
    check_launch("depth_to_space_kernel");
}

void space_to_depth(const View& x, const View& y, const SpaceDepthParams& p, cudaStream_t stream) {
    const int64_t total = y.numel();
    if (total == 0) return;
    space_to_depth_kernel<<<grid_for(total, kThreads), kThreads, 0, stream>>>(x, y, p, total);
    check_launch("space_to_depth_kernel");
}

void crop(const View& x, const View& y, int64_t top, int64_t left, cudaStream_t stream) {
    const int64_t total = y.numel();
    if (total == 0) return;
    crop_kernel<<<grid_for(total, kThreads), kThreads, 0, stream>>>(x, y, top, left, total);
    check_launch("crop_kernel");
}

void pad(const View& x, const View& y, const PadParams& p, cudaStream_t stream) {
    const int64_t total = y.numel();
    if (total == 0) return;
    pad_kernel<<<grid_for(total, kThreads), kThreads, 0, stream>>>(x, y, p, total);
    check_launch("pad_kernel");
}

}  // namespace fcnrt::cuda
