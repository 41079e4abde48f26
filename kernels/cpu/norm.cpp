// group_norm: one OpenMP task per (n, group); the group's elements are
// contiguous (channels g*cg .. (g+1)*cg - 1 of one batch item). Mean and
// variance in float64, two passes (no cancellation of E[x^2] - E[x]^2), then
// y = (x - mean) * a[c] + bias[c], a = scale * inv_std, also in float64: a mean
// large against the spread would cost float32 digits there (memory bound anyway).
#include "kernels/cpu/norm.h"

#include <cmath>

namespace fcnrt::cpu {

void group_norm(const View& x, const float* scale, const float* bias, const View& y, int64_t groups,
                float epsilon) {
    const int64_t cg = x.c / groups, hw = x.hw(), len = cg * hw;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t n = 0; n < x.n; ++n) {
        for (int64_t g = 0; g < groups; ++g) {
            const float* src = x.f32() + x.offset(n, g * cg, 0, 0);  // (cg, H, W)
            float* dst = y.f32() + y.offset(n, g * cg, 0, 0);        // (cg, H, W)
            double sum = 0.0;
#pragma omp simd reduction(+ : sum)
            for (int64_t i = 0; i < len; ++i) sum += src[i];
            const double mean = sum / double(len);
            double sq = 0.0;
#pragma omp simd reduction(+ : sq)
            for (int64_t i = 0; i < len; ++i) {
                const double d = double(src[i]) - mean;
                sq += d * d;
            }
            const double inv_std = 1.0 / std::sqrt(sq / double(len) + double(epsilon));
            for (int64_t c = 0; c < cg; ++c) {
                const double a = (scale ? double(scale[g * cg + c]) : 1.0) * inv_std;
                const double b = bias ? double(bias[g * cg + c]) : 0.0;
                const float* in = src + c * hw;
                float* out = dst + c * hw;
#pragma omp simd
                for (int64_t i = 0; i < hw; ++i) out[i] = float((double(in[i]) - mean) * a + b);
            }
        }
    }
}

}  // namespace fcnrt::cpu
