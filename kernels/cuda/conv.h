// Convolution and transposed convolution.
// CUDA kernels with the contract of the reference kernels of the same name. Every
// entry point enqueues its work on `stream` and returns without synchronising;
// it checks its launches (kernels/cuda/cuda_check.h) and throws on failure.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "kernels/op_params.h"
#include "kernels/view.h"

namespace fcnrt::cuda {

// x [N, C, H, W], weight [K, C/groups, kh, kw] (contiguous), bias [K] or nullptr,
// y [N, K, OH, OW] already sized by shape inference. Activation applied last.
void conv2d(const View& x, const View& weight, const float* bias, const View& y,
            const Conv2dParams& p, cudaStream_t stream);

// x [N, C, H, W], weight [C, K/groups, kh, kw], bias [K] or nullptr, y [N, K, OH, OW].
// Output-stationary gather: y[oy] sums x[iy] * w[ky] over iy*sh - pt + ky*dh == oy.
void conv_transpose2d(const View& x, const View& weight, const float* bias, const View& y,
                      const ConvTranspose2dParams& p, cudaStream_t stream);

}  // namespace fcnrt::cuda
