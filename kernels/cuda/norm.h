// Normalisation over groups of channels (group_norm; instance norm is groups == C).
// CUDA kernels with the contract of the reference kernels of the same name. Every
// entry point enqueues its work on `stream` and returns without synchronising;
// it checks its launches (kernels/cuda/cuda_check.h) and throws on failure.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "kernels/view.h"

namespace fcnrt::cuda {

// x, y [N, C, H, W]; C divisible by groups; scale, bias ([C], device memory) may
// be nullptr. y = (x - mean) / sqrt(var + epsilon) * scale[c] + bias[c], mean and
// biased variance over each group's (C / groups) * H * W elements.
void group_norm(const View& x, const float* scale, const float* bias, const View& y, int64_t groups,
                float epsilon, cudaStream_t stream);

}  // namespace fcnrt::cuda
