// Reference dense (linear) layer: y[n, o] = act(bias[o] + sum_f x[n, f] * w[o, f]),
// x's C*H*W elements of each batch item read in memory (C-major) order as f.
#include "kernels/reference/dense.h"

namespace fcnrt::reference {

void dense(const View& x, const View& weight, const float* bias, const View& y,
           ActivationParams act) {
    // x (N, F) as (N, C, H, W) with F = C*H*W; weight (OUT, F); y (N, OUT, 1, 1)
    const int64_t features = x.chw();
    const int64_t outputs = y.chw();
    for (int64_t n = 0; n < x.n; ++n) {
        const float* xn = x.f32() + x.offset(n, 0, 0, 0);  // (F)
        for (int64_t o = 0; o < outputs; ++o) {
            const float* wo = weight.f32() + weight.offset(o, 0, 0, 0);  // (F)
            double acc = bias ? static_cast<double>(bias[o]) : 0.0;
            for (int64_t f = 0; f < features; ++f) {
                acc += static_cast<double>(xn[f]) * static_cast<double>(wo[f]);
            }
            y.f32()[y.offset(n, 0, 0, 0) + o] = static_cast<float>(apply_activation_f64(acc, act));
        }
    }
}

}  // namespace fcnrt::reference
