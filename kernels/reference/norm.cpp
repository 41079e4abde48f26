// group_norm: two passes in float64 per (n, group), mean then variance.
#include "kernels/reference/norm.h"

#include <cmath>

namespace fcnrt::reference {

void group_norm(const View& x, const float* scale, const float* bias, const View& y, int64_t groups,
                float epsilon) {
    // x, y (N, C, H, W); groups of cg = C / groups channels
    const int64_t cg = x.c / groups;
    const double count = double(cg * x.hw());
    for (int64_t n = 0; n < x.n; ++n) {
        for (int64_t g = 0; g < groups; ++g) {
            double sum = 0.0;
            for (int64_t c = g * cg; c < (g + 1) * cg; ++c)
                for (int64_t iy = 0; iy < x.h; ++iy)
                    for (int64_t ix = 0; ix < x.w; ++ix)
                        sum += double(x.f32()[x.offset(n, c, iy, ix)]);
            const double mean = sum / count;
            double sq = 0.0;
            for (int64_t c = g * cg; c < (g + 1) * cg; ++c)
                for (int64_t iy = 0; iy < x.h; ++iy)
                    for (int64_t ix = 0; ix < x.w; ++ix) {
                        const double d = double(x.f32()[x.offset(n, c, iy, ix)]) - mean;
                        sq += d * d;
                    }
            const double inv_std = 1.0 / std::sqrt(sq / count + double(epsilon));
            for (int64_t c = g * cg; c < (g + 1) * cg; ++c) {
                const double s = scale ? double(scale[c]) : 1.0, b = bias ? double(bias[c]) : 0.0;
                for (int64_t iy = 0; iy < x.h; ++iy)
                    for (int64_t ix = 0; ix < x.w; ++ix) {
                        const double v = double(x.f32()[x.offset(n, c, iy, ix)]);
                        y.f32()[y.offset(n, c, iy, ix)] = float((v - mean) * inv_std * s + b);
                    }
            }
        }
    }
}

}  // namespace fcnrt::reference
