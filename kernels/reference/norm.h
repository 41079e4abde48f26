// Normalisation over groups of channels (group_norm; instance norm is groups == C).
// Naive reference kernels: straight loops with float64 accumulation, written
// to be audited, not to be fast. The oracle for the fast CPU and CUDA kernels.
#pragma once

#include <cstdint>

#include "kernels/view.h"

namespace fcnrt::reference {

// x, y [N, C, H, W]; C divisible by groups. For each batch item and group g of
// C / groups consecutive channels: mean and (biased) variance over the group's
// (C / groups) * H * W elements, y = (x - mean) / sqrt(var + epsilon) * scale[c]
// + bias[c]; scale, bias ([C]) may be nullptr (1 and 0). NaN propagates to its group.
void group_norm(const View& x, const float* scale, const float* bias, const View& y, int64_t groups,
                float epsilon);

}  // namespace fcnrt::reference
