// CUDA concat_copy: copies one concat input into its slot of the output, the slot
// starting at `offset` along `axis` (0..3 of NCHW). F32 and I32 alike (4-byte words).
//
// Thread mapping: one thread per element of x, a 1-D grid-stride loop over x's
// N*C*H*W elements in NCHW order; the thread splits its index into (n, c, h, w),
// adds `offset` along `axis` and writes there in y. Reads are coalesced; writes are
// coalesced within each row (consecutive w stay consecutive in y for every axis).
// 256 threads per block, grid clamped by grid_for; 64-bit indices.
#include "kernels/cuda/concat.h"

#include "kernels/cuda/cuda_check.h"

namespace fcnrt::cuda {
namespace {

constexpr int kThreads = 256;

__global__ void concat_copy_kernel(View x, View y, int axis, int64_t offset, int64_t total) {
    const uint32_t* src = static_cast<const uint32_t*>(x.data);
    uint32_t* dst = static_cast<uint32_t*>(y.data);
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
         i += int64_t(gridDim.x) * blockDim.x) {
        int64_t at[4];
        int64_t rest = i;
        at[3] = rest % x.w;
        rest /= x.w;
        at[2] = rest % x.h;
        rest /= x.h;
        at[1] = rest % x.c;
        at[0] = rest / x.c;
        const int64_t from = x.offset(at[0], at[1], at[2], at[3]);
        at[axis] += offset;
        dst[y.offset(at[0], at[1], at[2], at[3])] = src[from];
    }
}

}  // namespace

void concat_copy(const View& x, const View& y, int axis, int64_t offset, cudaStream_t stream) {
    if (axis < 0 || axis > 3) throw std::runtime_error("concat_copy: axis must be 0..3");
    const int64_t total = x.numel();
    if (total == 0) return;
    concat_copy_kernel<<<grid_for(total, kThreads), kThreads, 0, stream>>>(x, y, axis, offset,
                                                                           total);
    check_launch("concat_copy_kernel");
}

}  // namespace fcnrt::cuda
