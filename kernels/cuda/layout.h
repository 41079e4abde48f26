// Spatial layout ops: crop, pad, depth_to_space and space_to_depth.
// CUDA kernels with the contract of the reference kernels of the same name. Every
// entry point enqueues its work on `stream` and returns without synchronising;
// it checks its launches (kernels/cuda/cuda_check.h) and throws on failure.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "kernels/op_params.h"
#include "kernels/view.h"

namespace fcnrt::cuda {

// y = x[:, :, top : top + y.h, left : left + y.w]
void crop(const View& x, const View& y, int64_t top, int64_t left, cudaStream_t stream);

// y = pad(x) with constant, reflect (mirror without repeating the edge) or edge
// mode; negative pads crop.
void pad(const View& x, const View& y, const PadParams& p, cudaStream_t stream);

// y = depth_to_space(x) and its inverse y = space_to_depth(x), as the reference.
void depth_to_space(const View& x, const View& y, const SpaceDepthParams& p, cudaStream_t stream);
void space_to_depth(const View& x, const View& y, const SpaceDepthParams& p, cudaStream_t stream);

}  // namespace fcnrt::cuda
