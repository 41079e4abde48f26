// Concatenation.
// CUDA kernels with the contract of the reference kernels of the same name. Every
// entry point enqueues its work on `stream` and returns without synchronising;
// it checks its launches (kernels/cuda/cuda_check.h) and throws on failure.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "kernels/op_params.h"
#include "kernels/view.h"

namespace fcnrt::cuda {

// Copies x into y at `offset` along `axis` (0..3 of NCHW): the part of a concat
// that an input's producer did not already write in place.
void concat_copy(const View& x, const View& y, int axis, int64_t offset, cudaStream_t stream);

}  // namespace fcnrt::cuda
