// Nearest and bilinear resize (PyTorch's interpolate).
// Naive reference kernels: straight loops with float64 accumulation, written
// to be audited, not to be fast. The oracle for the fast CPU and CUDA kernels.
#pragma once

#include <cstdint>

#include "kernels/op_params.h"
#include "kernels/view.h"

namespace fcnrt::reference {

void resize(const View& x, const View& y, const ResizeParams& p);

}  // namespace fcnrt::reference
