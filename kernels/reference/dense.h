// Fully connected layer.
// Naive reference kernels: straight loops with float64 accumulation, written
// to be audited, not to be fast. The oracle for the fast CPU and CUDA kernels.
#pragma once

#include <cstdint>

#include "kernels/op_params.h"
#include "kernels/view.h"

namespace fcnrt::reference {

// x read as [N, F] with F = C*H*W of the view; weight [out, F]; bias [out] or
// nullptr; y [N, out] (viewed [N, out, 1, 1]).
void dense(const View& x, const View& weight, const float* bias, const View& y,
           ActivationParams act);

}  // namespace fcnrt::reference
