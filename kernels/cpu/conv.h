// Convolution and transposed convolution.
// Fast CPU kernels (OpenMP threads, cache blocking, OpenBLAS SGEMM), with the
// same contract as the reference kernels of the same name.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/op_params.h"
#include "kernels/view.h"

namespace fcnrt::cpu {

// x [N, C, H, W], weight [K, C/groups, kh, kw] (contiguous), bias [K] or nullptr,
// y [N, K, OH, OW] already sized by shape inference. Activation applied last.
void conv2d(const View& x, const View& weight, const float* bias, const View& y,
            const Conv2dParams& p);

// x [N, C, H, W], weight [C, K/groups, kh, kw], bias [K] or nullptr, y [N, K, OH, OW].
// Output-stationary gather: y[oy] sums x[iy] * w[ky] over iy*sh - pt + ky*dh == oy.
void conv_transpose2d(const View& x, const View& weight, const float* bias, const View& y,
                      const ConvTranspose2dParams& p);

// Per-thread scratch, in bytes, that conv2d and conv_transpose2d use at most
// with these weights (Cg input and Kg output channels per group, a kh x kw
// kernel), whatever the image's size: kept by each OpenMP thread between calls.
size_t conv2d_scratch_bytes(int64_t cg, int64_t kg, int64_t kh, int64_t kw);
size_t conv_transpose2d_scratch_bytes(int64_t cg, int64_t kg, int64_t kh, int64_t kw);

}  // namespace fcnrt::cpu
