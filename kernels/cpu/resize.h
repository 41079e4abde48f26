// Nearest and bilinear resize (PyTorch's interpolate).
// Fast CPU kernels (OpenMP threads, cache blocking), with the
// same contract as the reference kernels of the same name.
#pragma once

#include <cstdint>

#include "kernels/cpu/membound_kernels.h"
#include "kernels/op_params.h"
#include "kernels/view.h"

namespace fcnrt::cpu {

void resize(const View& x, const View& y, const ResizeParams& p);
// The same on a given ISA's row loops (tests compare the paths' bits).
void resize_with(const MemboundKernels& k, const View& x, const View& y, const ResizeParams& p);

}  // namespace fcnrt::cpu
