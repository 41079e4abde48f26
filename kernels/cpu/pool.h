// Pooling and unpooling.
// Fast CPU kernels (OpenMP threads, cache blocking), with the
// same contract as the reference kernels of the same name.
#pragma once

#include <cstdint>

#include "kernels/cpu/membound_kernels.h"
#include "kernels/op_params.h"
#include "kernels/view.h"

namespace fcnrt::cpu {

// y [N, C, OH, OW]; indices (int32, h * W + w in the input plane, PyTorch's
// convention, or with p.flat_indices ((n * C + c) * H + h) * W + w over the whole
// input, ONNX's; the caller keeps N*C*H*W within int32) written when
// indices.data != nullptr. NaN propagates like PyTorch.
void max_pool2d(const View& x, const View& y, const View& indices, const Pool2dParams& p);
// The same on a given ISA's row kernels (tests compare the paths' bits).
void max_pool2d_with(const MemboundKernels& k, const View& x, const View& y, const View& indices,
                const Pool2dParams& p);

// Divisor: in-bounds window elements, or with count_include_pad the window
// clipped to the padded input (PyTorch's avg_pool2d rule).
void avg_pool2d(const View& x, const View& y, const Pool2dParams& p);
void avg_pool2d_with(const MemboundKernels& k, const View& x, const View& y, const Pool2dParams& p);

// y [N, C, 1, 1] = mean over H, W.
void global_avg_pool(const View& x, const View& y);

// y [N, C, OH, OW] zero except y.plane[indices[i]] = x[i]. An index outside
// y's plane is skipped: a kernel never writes outside y.
void max_unpool2d(const View& x, const View& indices, const View& y);

}  // namespace fcnrt::cpu
