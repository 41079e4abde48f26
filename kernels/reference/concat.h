// Concatenation.
// Naive reference kernels: straight loops with float64 accumulation, written
// to be audited, not to be fast. The oracle for the fast CPU and CUDA kernels.
#pragma once

#include <cstdint>

#include "kernels/op_params.h"
#include "kernels/view.h"

namespace fcnrt::reference {

// Copies x into y at `offset` along `axis` (0..3 of NCHW): the part of a concat
// that an input's producer did not already write in place.
void concat_copy(const View& x, const View& y, int axis, int64_t offset);

}  // namespace fcnrt::reference
