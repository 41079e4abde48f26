// CUDA softmax and argmax along any NCHW axis.
//
// Thread mapping: one thread per lane, a lane being every position of the three
// other axes (N*C*H*W / len lanes), a 1-D grid-stride loop over lanes. Lanes are
// numbered in NCHW order with `axis` taken out, so for the usual axis 1 (classes)
// consecutive threads take consecutive pixels and every step along the lane is a
// coalesced warp access. 128 threads per block, grid clamped by grid_for.
//
// Softmax makes two sweeps over its lane: an online pass keeping the running
// maximum m and the sum s of exp(v - m) (rescaled when m grows), both float64 like
// the reference, then the write pass exp(v - m) / s. A NaN anywhere makes the whole
// lane NaN, and so does an infinite maximum (+inf: inf - inf; all -inf: 0 / 0),
// matching the reference's two-pass arithmetic. Argmax keeps the first maximum and
// lets the first NaN win, as PyTorch.
#include "kernels/cuda/softmax.h"

#include <cmath>

#include "kernels/cuda/cuda_check.h"

namespace fcnrt::cuda {
namespace {

constexpr int kThreads = 128;

__device__ __forceinline__ int64_t dim_of(const View& v, int axis) {
    return axis == 0 ? v.n : axis == 1 ? v.c : axis == 2 ? v.h : v.w;
}

// The lane's first element (index 0 along axis) and the step between its elements.
struct Lane {
    int64_t start, step;
};

// Lane `lane` of x, lanes numbered in NCHW order over x's dims with `axis` removed.
__device__ __forceinline__ void lane_position(int64_t lane, const View& v, int axis,
                                              int64_t at[4]) {
    int64_t ext[4] = {v.n, v.c, v.h, v.w};
    ext[axis] = 1;
    for (int d = 3; d >= 0; --d) {
        at[d] = lane % ext[d];
        lane /= ext[d];
    }
}

__device__ __forceinline__ Lane lane_of(const View& v, int axis, const int64_t at[4]) {
    const int64_t steps[4] = {v.batch_stride, v.h * v.w, v.w, 1};
    return {v.offset(at[0], at[1], at[2], at[3]), steps[axis]};
}

__global__ void softmax_kernel(View x, View y, int axis, int64_t lanes) {
    const int64_t len = dim_of(x, axis);
    for (int64_t lane = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; lane < lanes;
         lane += int64_t(gridDim.x) * blockDim.x) {
        int64_t at[4];
        lane_position(lane, x, axis, at);
        const Lane xl = lane_of(x, axis, at), yl = lane_of(y, axis, at);
        double m = -INFINITY, s = 0.0;
        bool has_nan = false;
        for (int64_t j = 0; j < len; ++j) {
            const double v = double(x.f32()[xl.start + j * xl.step]);
            if (isnan(v)) {
                has_nan = true;
            } else if (v > m) {
                s = s * exp(m - v) + 1.0;  // exp(-inf) = 0 for the first element
                m = v;
            } else if (v != -INFINITY) {
                s += exp(v - m);
            }
        }
        const bool nan_lane = has_nan || isinf(m);
        for (int64_t j = 0; j < len; ++j) {
            const double v = double(x.f32()[xl.start + j * xl.step]);
            y.f32()[yl.start + j * yl.step] = nan_lane ? NAN : float(exp(v - m) / s);
        }
    }
}

__global__ void argmax_kernel(View x, View y, int axis, int64_t lanes) {
    const int64_t len = dim_of(x, axis);
    for (int64_t lane = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; lane < lanes;
         lane += int64_t(gridDim.x) * blockDim.x) {
        int64_t at[4];
        lane_position(lane, x, axis, at);
        const Lane xl = lane_of(x, axis, at);
        float best = 0.0f;
        int64_t best_index = 0;
        for (int64_t j = 0; j < len; ++j) {
            const float v = x.f32()[xl.start + j * xl.step];
            if (j == 0 || (!isnan(best) && (isnan(v) || v > best))) {
                best = v;
                best_index = j;
            }
        }
        y.i32()[y.offset(at[0], at[1], at[2], at[3])] = static_cast<int32_t>(best_index);
    }
}

int64_t extent(const View& v, int axis) {
    const int64_t dims[4] = {v.n, v.c, v.h, v.w};
    return dims[axis];
}

}  // namespace

void softmax(const View& x, const View& y, int axis, cudaStream_t stream) {
    if (axis < 0 || axis > 3) throw std::runtime_error("softmax: axis must be 0..3");
    const int64_t len = extent(x, axis);
    if (len == 0 || x.numel() == 0) return;
    const int64_t lanes = x.numel() / len;
    softmax_kernel<<<grid_for(lanes, kThreads), kThreads, 0, stream>>>(x, y, axis, lanes);
    check_launch("softmax_kernel");
}

void argmax(const View& x, const View& y, int axis, cudaStream_t stream) {
    if (axis < 0 || axis > 3) throw std::runtime_error("argmax: axis must be 0..3");
    const int64_t len = extent(x, axis);
    if (len == 0 || x.numel() == 0) return;
    const int64_t lanes = x.numel() / len;
    argmax_kernel<<<grid_for(lanes, kThreads), kThreads, 0, stream>>>(x, y, axis, lanes);
    check_launch("argmax_kernel");
}

}  // namespace fcnrt::cuda
