// Softmax and argmax.
// Naive reference kernels: straight loops with float64 accumulation, written
// to be audited, not to be fast. The oracle for the fast CPU and CUDA kernels.
#pragma once

#include <cstdint>

#include "kernels/op_params.h"
#include "kernels/view.h"

namespace fcnrt::reference {

// Numerically safe softmax along `axis` (0..3).
void softmax(const View& x, const View& y, int axis);

// y (int32) keeps `axis` with size 1; the first maximal index wins; NaN counts as
// the maximum (as PyTorch's argmax).
void argmax(const View& x, const View& y, int axis);

}  // namespace fcnrt::reference
