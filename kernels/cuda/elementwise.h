// Elementwise ops: activations, add/mul, batch norm, copies.
// CUDA kernels with the contract of the reference kernels of the same name. Every
// entry point enqueues its work on `stream` and returns without synchronising;
// it checks its launches (kernels/cuda/cuda_check.h) and throws on failure.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "kernels/op_params.h"
#include "kernels/view.h"

namespace fcnrt::cuda {

// y = act(x); x and y may be the same memory.
void activation(const View& x, const View& y, ActivationParams act, cudaStream_t stream);

// y = act(a op b) with NumPy broadcasting: each of a's and b's dims equals y's or
// is 1. y may alias a or b when that operand has y's dims.
void binary(const View& a, const View& b, const View& y, const BinaryParams& p, cudaStream_t stream);

// y = act((x - mean[c]) / sqrt(var[c] + eps) * scale[c] + bias[c])
void batch_norm(const View& x, const float* scale, const float* bias, const float* mean,
                const float* var, float epsilon, ActivationParams act, const View& y,
                cudaStream_t stream);

// y = clamp(alpha * x + beta, 0, 1) and y = x * clamp(x / 6 + 1/2, 0, 1) (ONNX's
// HardSigmoid and HardSwish); NaN propagates.
void hard_sigmoid(const View& x, const View& y, float alpha, float beta, cudaStream_t stream);
void hard_swish(const View& x, const View& y, cudaStream_t stream);

// prelu (slope[c] when slope_count == C, else slope[0]), elu and gelu (erf or
// tanh form), as the reference kernels of the same name; y may alias x.
void prelu(const View& x, const float* slope, int64_t slope_count, const View& y,
           cudaStream_t stream);
void elu(const View& x, const View& y, float alpha, cudaStream_t stream);
void gelu(const View& x, const View& y, bool tanh_form, cudaStream_t stream);

// y = x elementwise (same dims, either may be strided over the batch). F32 or I32.
void copy(const View& x, const View& y, cudaStream_t stream);

}  // namespace fcnrt::cuda
