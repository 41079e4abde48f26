// Spatial layout ops: crop and pad.
// Fast CPU kernels (OpenMP threads, cache blocking), with the
// same contract as the reference kernels of the same name.
#pragma once

#include <cstdint>

#include "kernels/op_params.h"
#include "kernels/view.h"

namespace fcnrt::cpu {

// y = x[:, :, top : top + y.h, left : left + y.w]
void crop(const View& x, const View& y, int64_t top, int64_t left);

// y = pad(x) with constant, reflect (mirror without repeating the edge) or edge
// mode; negative pads crop.
void pad(const View& x, const View& y, const PadParams& p);

}  // namespace fcnrt::cpu
