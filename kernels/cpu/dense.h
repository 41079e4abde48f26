// Fully connected layer.
// Fast CPU kernel on our own GEMM micro-kernels (gemm.h), with the same
// contract as the reference kernel of the same name.
#pragma once

#include <cstdint>
#include <memory>

#include "kernels/cpu/gemm.h"
#include "kernels/op_params.h"
#include "kernels/view.h"

namespace fcnrt::cpu {

// weight [out, F] packed once (at load) for the active micro-kernel.
std::shared_ptr<const PackedMatrix> pack_dense_weights(const View& weight);

// x read as [N, F] with F = C*H*W of the view; weight [out, F]; bias [out] or
// nullptr; y [N, out] (viewed [N, out, 1, 1]). `packed` from pack_dense_weights.
void dense_packed(const View& x, const PackedMatrix& packed, const float* bias, const View& y,
                  ActivationParams act);
// The same, packing the weights for this call only (tests and benchmarks).
void dense(const View& x, const View& weight, const float* bias, const View& y,
           ActivationParams act);

}  // namespace fcnrt::cpu
