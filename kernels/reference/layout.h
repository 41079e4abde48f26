// Spatial layout ops: crop and pad.
// Naive reference kernels: straight loops with float64 accumulation, written
// to be audited, not to be fast. The oracle for the fast CPU and CUDA kernels.
#pragma once

#include <cstdint>

#include "kernels/op_params.h"
#include "kernels/view.h"

namespace fcnrt::reference {

// y = x[:, :, top : top + y.h, left : left + y.w]
void crop(const View& x, const View& y, int64_t top, int64_t left);

// y = pad(x) with constant, reflect (mirror without repeating the edge) or edge
// mode; negative pads crop.
void pad(const View& x, const View& y, const PadParams& p);

}  // namespace fcnrt::reference
