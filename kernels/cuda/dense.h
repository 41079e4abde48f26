// Fully connected layer.
// CUDA kernels with the contract of the reference kernels of the same name. Every
// entry point enqueues its work on `stream` and returns without synchronising;
// it checks its launches (kernels/cuda/cuda_check.h) and throws on failure.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "kernels/op_params.h"
#include "kernels/view.h"

namespace fcnrt::cuda {

// x read as [N, F] with F = C*H*W of the view; weight [out, F]; bias [out] or
// nullptr; y [N, out] (viewed [N, out, 1, 1]).
void dense(const View& x, const View& weight, const float* bias, const View& y,
           ActivationParams act, cudaStream_t stream);

}  // namespace fcnrt::cuda
