// Elementwise ops: activations, add/mul, batch norm, copies.
// Naive reference kernels: straight loops with float64 accumulation, written
// to be audited, not to be fast. The oracle for the fast CPU and CUDA kernels.
#pragma once

#include <cstdint>

#include "kernels/op_params.h"
#include "kernels/view.h"

namespace fcnrt::reference {

// y = act(x); x and y may be the same memory.
void activation(const View& x, const View& y, ActivationParams act);

// y = act(a op b) with NumPy broadcasting: y's dims are the broadcast of a's and
// b's, each of a's and b's dims equals y's or is 1 (either side, any dim). y may
// alias a or b when that operand has y's dims.
void binary(const View& a, const View& b, const View& y, const BinaryParams& p);

// y = act((x - mean[c]) / sqrt(var[c] + eps) * scale[c] + bias[c])
void batch_norm(const View& x, const float* scale, const float* bias, const float* mean,
                const float* var, float epsilon, ActivationParams act, const View& y);

// y = max(0, min(1, alpha * x + beta)) (ONNX HardSigmoid); x and y may be the same memory.
void hard_sigmoid(const View& x, const View& y, float alpha, float beta);

// y = x * max(0, min(1, x / 6 + 1 / 2)) (ONNX HardSwish, PyTorch hardswish); y may alias x.
void hard_swish(const View& x, const View& y);

// y = x >= 0 ? x : slope * x with slope[c] (slope_count == C) or slope[0]
// (slope_count == 1) (ONNX PRelu, PyTorch PReLU); y may alias x.
void prelu(const View& x, const float* slope, int64_t slope_count, const View& y);

// y = x > 0 ? x : alpha * (exp(x) - 1) (ONNX Elu, PyTorch ELU); y may alias x.
void elu(const View& x, const View& y, float alpha);

// y = x / 2 * (1 + erf(x / sqrt 2)), or with tanh_form the approximation
// x / 2 * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3))) (ONNX Gelu, PyTorch GELU
// approximate "none" / "tanh"); y may alias x.
void gelu(const View& x, const View& y, bool tanh_form);

// y = x elementwise (same dims, either may be strided over the batch). F32 or I32.
void copy(const View& x, const View& y);

}  // namespace fcnrt::reference
