// One pixel's class, and optionally its class probabilities, from the model's
// K scores: shared by tiled dense segmentation and the patchwise baseline.
#pragma once

#include <cmath>
#include <cstdint>

namespace fcnrt {

// Scores are s[k * stride]. Probabilities (when `probs` is not null) go to
// probs[k * probs_stride]: the scores themselves when the model's output already
// is a probability, else their softmax; a one-channel output is a two-class
// sigmoid. `scratch` holds K floats.
inline uint8_t classify_pixel(const float* s, int64_t stride, int64_t K, bool output_is_probs,
                              float* probs, int64_t probs_stride, float* scratch) {
    if (K == 1) {
        const float v = s[0];
        const float p = output_is_probs ? v : 1.0f / (1.0f + std::exp(-v));
        if (probs) {
            probs[0] = 1.0f - p;
            probs[probs_stride] = p;
        }
        return output_is_probs ? v > 0.5f : v > 0.0f;
    }
    int64_t best = 0;
    float m = s[0];
    for (int64_t k = 1; k < K; ++k)
        if (s[k * stride] > m) {
            m = s[k * stride];
            best = k;
        }
    if (probs) {
        if (output_is_probs) {
            for (int64_t k = 0; k < K; ++k) probs[k * probs_stride] = s[k * stride];
        } else {
            float sum = 0.0f;
            for (int64_t k = 0; k < K; ++k) sum += scratch[k] = std::exp(s[k * stride] - m);
            for (int64_t k = 0; k < K; ++k) probs[k * probs_stride] = scratch[k] / sum;
        }
    }
    return uint8_t(best);
}

}  // namespace fcnrt
