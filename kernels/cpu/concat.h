// Concatenation.
// Fast CPU kernels (OpenMP threads, cache blocking), with the
// same contract as the reference kernels of the same name.
#pragma once

#include <cstdint>

#include "kernels/op_params.h"
#include "kernels/view.h"

namespace fcnrt::cpu {

// Copies x into y at `offset` along `axis` (0..3 of NCHW): the part of a concat
// that an input's producer did not already write in place.
void concat_copy(const View& x, const View& y, int axis, int64_t offset);

}  // namespace fcnrt::cpu
