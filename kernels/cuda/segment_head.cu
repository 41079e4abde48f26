// Segmentation head: argmax (and softmax) over the class planes of a window.
//
// Thread mapping: one thread per window pixel, a 1-D grid-stride loop over
// rows * cols pixels numbered row-major, 128 threads per block (grid_for). A
// thread walks its K class planes one after another; consecutive threads take
// consecutive columns, so every plane read and every label / probability write
// is a coalesced warp access. K is small (a handful of classes, at most 256), so
// a pixel's loop over K is short and needs no shared memory.
//
// Arithmetic, as engine/segment/classify_pixel.h does it on the CPU, so labels
// are identical to the CPU path's on the same scores: the maximum by strict `>`
// from class 0 (the first of equal maxima wins; a NaN never wins unless it is
// class 0's score), then probabilities in float: e_k = expf(s_k - max), their
// sum in class order, e_k / sum. The CPU keeps e_k in scratch; here it is
// recomputed in the write pass (same expression, same value). K == 1 is a
// two-class sigmoid: p = s (a probability output) or 1 / (1 + expf(-s)), label
// s > 0.5 or s > 0, probabilities (1 - p, p). expf differs from the host's
// std::exp by up to 2 ulp on a GPU, so probabilities agree to rounding.
//
// Index widths: pixel and plane offsets in int64 (a 20000 x 20000 plane is 4e8).
#include "kernels/cuda/segment_head.h"

#include "kernels/cuda/cuda_check.h"

namespace fcnrt::cuda {
namespace {

constexpr int kThreads = 128;

__global__ void segment_head_kernel(SegmentHeadArgs a) {
    const int64_t pixels = a.rows * a.cols;
    const int64_t plane = a.height * a.width;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < pixels;
         i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t y = i / a.cols, x = i % a.cols;
        const float* s = a.scores + (a.y0 + y) * a.width + (a.x0 + x);
        if (a.k == 1) {
            const float v = s[0];
            const float p = a.scores_are_probs ? v : 1.0f / (1.0f + expf(-v));
            a.labels[i] = a.scores_are_probs ? (v > 0.5f) : (v > 0.0f);
            if (a.probs) {
                a.probs[i] = 1.0f - p;
                a.probs[pixels + i] = p;
            }
            continue;
        }
        int64_t best = 0;
        float m = s[0];
        for (int64_t k = 1; k < a.k; ++k) {
            const float v = s[k * plane];
            if (v > m) {
                m = v;
                best = k;
            }
        }
        a.labels[i] = static_cast<uint8_t>(best);
        if (!a.probs) continue;
        if (a.scores_are_probs) {
            for (int64_t k = 0; k < a.k; ++k) a.probs[k * pixels + i] = s[k * plane];
            continue;
        }
        float sum = 0.0f;
        for (int64_t k = 0; k < a.k; ++k) sum += expf(s[k * plane] - m);
        for (int64_t k = 0; k < a.k; ++k) a.probs[k * pixels + i] = expf(s[k * plane] - m) / sum;
    }
}

}  // namespace

void segment_head(const SegmentHeadArgs& a, cudaStream_t stream) {
    const int64_t pixels = a.rows * a.cols;
    if (pixels == 0) return;
    segment_head_kernel<<<grid_for(pixels, kThreads), kThreads, 0, stream>>>(a);
    check_launch("segment_head_kernel");
}

}  // namespace fcnrt::cuda
