// Fully connected layer.
// Fast CPU kernels (OpenMP threads, cache blocking, OpenBLAS SGEMM), with the
// same contract as the reference kernels of the same name.
#pragma once

#include <cstdint>

#include "kernels/op_params.h"
#include "kernels/view.h"

namespace fcnrt::cpu {

// x read as [N, F] with F = C*H*W of the view; weight [out, F]; bias [out] or
// nullptr; y [N, out] (viewed [N, out, 1, 1]).
void dense(const View& x, const View& weight, const float* bias, const View& y,
           ActivationParams act);

}  // namespace fcnrt::cpu
