// Reference softmax and argmax along any NCHW axis. For every position of the other
// three axes ("a lane"), the lane is walked along `axis`. Softmax subtracts the lane's
// maximum and sums exponentials in float64; a NaN anywhere in a lane makes the whole
// lane NaN, as in PyTorch.
#include "kernels/reference/softmax.h"

#include <cmath>

namespace fcnrt::reference {
namespace {

int64_t dim(const View& v, int axis) {
    const int64_t dims[4] = {v.n, v.c, v.h, v.w};
    return dims[axis];
}

int64_t offset_of(const View& v, const int64_t at[4]) {
    return v.offset(at[0], at[1], at[2], at[3]);
}

// Calls lane(start) for each lane start: every index with 0 along `axis`.
template <typename Lane>
void for_each_lane(const View& x, int axis, Lane lane) {
    int64_t ext[4] = {x.n, x.c, x.h, x.w};
    ext[axis] = 1;
    for (int64_t n = 0; n < ext[0]; ++n) {
        for (int64_t c = 0; c < ext[1]; ++c) {
            for (int64_t iy = 0; iy < ext[2]; ++iy) {
                for (int64_t ix = 0; ix < ext[3]; ++ix) {
                    const int64_t start[4] = {n, c, iy, ix};
                    lane(start);
                }
            }
        }
    }
}

}  // namespace

void softmax(const View& x, const View& y, int axis) {
    // x (N, C, H, W); y (N, C, H, W)
    const int64_t len = dim(x, axis);
    for_each_lane(x, axis, [&](const int64_t start[4]) {
        int64_t at[4] = {start[0], start[1], start[2], start[3]};
        double max = -INFINITY;
        for (at[axis] = 0; at[axis] < len; ++at[axis]) {
            max = std::fmax(max, static_cast<double>(x.f32()[offset_of(x, at)]));
        }
        double sum = 0.0;
        bool has_nan = false;
        for (at[axis] = 0; at[axis] < len; ++at[axis]) {
            const double v = static_cast<double>(x.f32()[offset_of(x, at)]);
            has_nan = has_nan || std::isnan(v);
            sum += std::exp(v - max);
        }
        for (at[axis] = 0; at[axis] < len; ++at[axis]) {
            const double v = static_cast<double>(x.f32()[offset_of(x, at)]);
            const double p = has_nan ? NAN : std::exp(v - max) / sum;
            y.f32()[offset_of(y, at)] = static_cast<float>(p);
        }
    });
}

void argmax(const View& x, const View& y, int axis) {
    // x (N, C, H, W); y int32, x's dims with 1 along axis
    const int64_t len = dim(x, axis);
    for_each_lane(x, axis, [&](const int64_t start[4]) {
        int64_t at[4] = {start[0], start[1], start[2], start[3]};
        float best = 0.0f;
        int64_t best_index = 0;
        for (at[axis] = 0; at[axis] < len; ++at[axis]) {
            const float v = x.f32()[offset_of(x, at)];
            // The first maximum wins (strictly greater to replace); the first NaN wins
            // over everything and is never replaced.
            const bool better = at[axis] == 0 || (!std::isnan(best) && (std::isnan(v) || v > best));
            if (better) {
                best = v;
                best_index = at[axis];
            }
        }
        y.i32()[offset_of(y, start)] = static_cast<int32_t>(best_index);
    });
}

}  // namespace fcnrt::reference
