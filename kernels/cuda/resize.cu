// CUDA resize, PyTorch's interpolate for mode "nearest" and "bilinear", with the
// coordinate rules of kernels/reference/resize.cpp (see ResizeParams).
//
// Thread mapping: one thread per output element, a 1-D grid-stride loop over y's
// N*C*OH*OW elements in NCHW order; each thread computes its source coordinate per
// axis and reads one (nearest) or four (bilinear) input pixels. Consecutive threads
// write consecutive pixels of a row (coalesced). 256 threads per block, grid
// clamped by grid_for; 64-bit indices.
//
// The source index is a discrete choice, so it is computed with exactly the
// reference's operations and roundings: nearest in float32 (floorf(float(dst) *
// float(scale))), bilinear in float64, each product and sum through the _rn
// intrinsics so that nvcc cannot fuse them into an FMA with different rounding
// (gcc does not contract in ISO C++ mode, so the reference rounds every step).
#include "kernels/cuda/resize.h"

#include <cmath>

#include "kernels/cuda/cuda_check.h"

namespace fcnrt::cuda {
namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ int64_t nearest_source(int64_t dst, int64_t in, float scale) {
    const auto src = static_cast<int64_t>(floorf(__fmul_rn(static_cast<float>(dst), scale)));
    return src < in - 1 ? src : in - 1;
}

struct LinearTap {
    int64_t i0, i1;
    double lambda;
};

__device__ __forceinline__ LinearTap linear_source(int64_t dst, int64_t in, int64_t out,
                                                   double coord_scale, bool align_corners) {
    if (out == in) return {dst, dst, 0.0};  // ATen copies an axis whose size is unchanged
    double src;
    if (align_corners) {
        const double scale = out > 1 ? double(in - 1) / double(out - 1) : 0.0;
        src = __dmul_rn(double(dst), scale);
    } else {
        src = __dadd_rn(__dmul_rn(__dadd_rn(double(dst), 0.5), coord_scale), -0.5);
        src = src > 0.0 ? src : 0.0;  // also maps a NaN-free negative to 0, as std::max
    }
    int64_t i0 = static_cast<int64_t>(src);
    if (i0 > in - 1) i0 = in - 1;
    const int64_t i1 = i0 < in - 1 ? i0 + 1 : i0;
    double lambda = __dadd_rn(src, -double(i0));
    lambda = lambda < 0.0 ? 0.0 : (lambda > 1.0 ? 1.0 : lambda);
    return {i0, i1, lambda};
}

__global__ void resize_kernel(View x, View y, ResizeParams p, int64_t total) {
    const float nearest_scale_h = static_cast<float>(p.coord_scale[0]);
    const float nearest_scale_w = static_cast<float>(p.coord_scale[1]);
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
         i += int64_t(gridDim.x) * blockDim.x) {
        int64_t rest = i;
        const int64_t ox = rest % y.w;
        rest /= y.w;
        const int64_t oy = rest % y.h;
        rest /= y.h;
        const int64_t c = rest % y.c;
        const int64_t n = rest / y.c;
        const float* plane = x.f32() + x.offset(n, c, 0, 0);
        float v;
        if (p.mode == ResizeMode::Nearest) {
            const int64_t iy = nearest_source(oy, x.h, nearest_scale_h);
            const int64_t ix = nearest_source(ox, x.w, nearest_scale_w);
            v = plane[iy * x.w + ix];
        } else {
            const LinearTap ty = linear_source(oy, x.h, y.h, p.coord_scale[0], p.align_corners);
            const LinearTap tx = linear_source(ox, x.w, y.w, p.coord_scale[1], p.align_corners);
            const double a00 = plane[ty.i0 * x.w + tx.i0], a01 = plane[ty.i0 * x.w + tx.i1];
            const double a10 = plane[ty.i1 * x.w + tx.i0], a11 = plane[ty.i1 * x.w + tx.i1];
            const double h0 = 1.0 - ty.lambda, h1 = ty.lambda;
            const double w0 = 1.0 - tx.lambda, w1 = tx.lambda;
            v = static_cast<float>(h0 * (w0 * a00 + w1 * a01) + h1 * (w0 * a10 + w1 * a11));
        }
        y.f32()[y.offset(n, c, oy, ox)] = v;
    }
}

}  // namespace

void resize(const View& x, const View& y, const ResizeParams& p, cudaStream_t stream) {
    // Only PyTorch's rules have a CUDA kernel; an imported ONNX graph's coordinate
    // modes must fail loudly rather than resample differently.
    if (p.coord_mode != ResizeCoordMode::Pytorch) {
        throw std::runtime_error(
            "resize: ONNX coordinate_transformation_mode has no CUDA kernel yet (use --device cpu)");
    }
    const int64_t total = y.numel();
    if (total == 0) return;
    resize_kernel<<<grid_for(total, kThreads), kThreads, 0, stream>>>(x, y, p, total);
    check_launch("resize_kernel");
}

}  // namespace fcnrt::cuda
