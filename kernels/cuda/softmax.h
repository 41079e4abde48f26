// Softmax and argmax.
// CUDA kernels with the contract of the reference kernels of the same name. Every
// entry point enqueues its work on `stream` and returns without synchronising;
// it checks its launches (kernels/cuda/cuda_check.h) and throws on failure.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "kernels/op_params.h"
#include "kernels/view.h"

namespace fcnrt::cuda {

// Numerically safe softmax along `axis` (0..3).
void softmax(const View& x, const View& y, int axis, cudaStream_t stream);

// y (int32) keeps `axis` with size 1; the first maximal index wins; NaN counts as
// the maximum (as PyTorch's argmax).
void argmax(const View& x, const View& y, int axis, cudaStream_t stream);

}  // namespace fcnrt::cuda
