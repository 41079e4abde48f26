// The end of fcnrt segment on the device: per-pixel class labels (uint8) and,
// when asked, class probabilities of a window of the model's score output, so a
// tile brings back one byte per pixel instead of K floats. The same rule as the
// CPU path (engine/segment/classify_pixel.h), which is this kernel's reference.
// Enqueues on `stream`, checks its launch, throws std::runtime_error on failure.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

namespace fcnrt::cuda {

struct SegmentHeadArgs {
    const float* scores = nullptr;  // (K, H, W) one image's scores, class planes H*W apart
    int64_t k = 1;                  // K score channels
    int64_t height = 0, width = 0;  // H, W of the score planes
    int64_t y0 = 0, x0 = 0;         // the window's first row and column in the planes
    int64_t rows = 0, cols = 0;     // the window's size
    bool scores_are_probs = false;  // the model's output already is softmax / sigmoid
    uint8_t* labels = nullptr;      // (rows, cols): argmax, the first of equal maxima;
                                    // K == 1: the score above 0.5 (probs) or 0 (logit)
    float* probs = nullptr;         // (classes, rows, cols) or null; classes = K, 2 when K == 1
};

void segment_head(const SegmentHeadArgs& a, cudaStream_t stream);

}  // namespace fcnrt::cuda
