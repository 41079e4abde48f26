// Softmax and argmax.
// Fast CPU kernels (OpenMP threads, cache blocking), with the
// same contract as the reference kernels of the same name.
#pragma once

#include <cstdint>

#include "kernels/cpu/membound_kernels.h"
#include "kernels/op_params.h"
#include "kernels/view.h"

namespace fcnrt::cpu {

// Numerically safe softmax along `axis` (0..3).
void softmax(const View& x, const View& y, int axis);
// The same on a given ISA's loops (tests compare the paths' bits).
void softmax_with(const MemboundKernels& k, const View& x, const View& y, int axis);

// y (int32) keeps `axis` with size 1; the first maximal index wins; NaN counts as
// the maximum (as PyTorch's argmax).
void argmax(const View& x, const View& y, int axis);
void argmax_with(const MemboundKernels& k, const View& x, const View& y, int axis);

}  // namespace fcnrt::cpu
