// Nearest and bilinear resize (PyTorch's interpolate).
// CUDA kernels with the contract of the reference kernels of the same name. Every
// entry point enqueues its work on `stream` and returns without synchronising;
// it checks its launches (kernels/cuda/cuda_check.h) and throws on failure.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "kernels/op_params.h"
#include "kernels/view.h"

namespace fcnrt::cuda {

void resize(const View& x, const View& y, const ResizeParams& p, cudaStream_t stream);

}  // namespace fcnrt::cuda
