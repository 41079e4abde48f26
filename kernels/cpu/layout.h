// Spatial layout ops: crop, pad, depth_to_space and space_to_depth.
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

// y = depth_to_space(x) (x [N, C*b*b, H, W], y [N, C, H*b, W*b]) and its inverse
// y = space_to_depth(x), in the channel order of p (see SpaceDepthParams).
void depth_to_space(const View& x, const View& y, const SpaceDepthParams& p);
void space_to_depth(const View& x, const View& y, const SpaceDepthParams& p);

}  // namespace fcnrt::cpu
