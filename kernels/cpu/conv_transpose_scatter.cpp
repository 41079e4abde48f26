// conv_transpose2d's col2im pass (conv_transpose_scatter.h).
#include "kernels/cpu/conv_transpose_scatter.h"

#include <algorithm>

namespace fcnrt::cpu {

namespace {

// One tap's entries in[ix] for ix in [a, b) into out[ix * sw].
inline void add_strided(float* out, const float* in, int64_t a, int64_t b, int64_t sw) {
    if (sw == 1) {
#pragma omp simd
        for (int64_t ix = a; ix < b; ++ix) out[ix] += in[ix];
    } else {
        for (int64_t ix = a; ix < b; ++ix) out[ix * sw] += in[ix];
    }
}

}  // namespace

void ConvTransposeScatter::operator()(const float* c, int64_t ldc, int64_t q0, int64_t len, const View& y,
                                      int64_t n, int64_t channel0, int64_t count) const {
    constexpr int64_t kMaxGroup = 16;  // taps interleaved at most (strides up to 16)
    const bool grouped = sw > 1 && sw <= kMaxGroup && dw == 1;
    for (int64_t q = q0; q < q0 + len;) {
        // One input row's segment [ix0, ix1); entry ix of a tap's row at + col + ix.
        const int64_t iy = q / w, ix0 = q % w;
        const int64_t ix1 = std::min(w, ix0 + (q0 + len - q));
        const int64_t col = q - q0 - ix0;
        for (int64_t k = 0; k < count; ++k) {
            float* plane = y.f32() + y.offset(n, channel0 + k, 0, 0);  // (OH, OW)
            for (int64_t ky = kh - 1; ky >= 0; --ky) {
                const int64_t oy = iy * sh - pt + ky * dh;
                if (oy < 0 || oy >= oh) continue;
                float* orow = plane + oy * ow;
                const float* taps = c + (k * kh + ky) * kw * ldc + col;  // tap kx at taps + kx*ldc
                for (int64_t kx = kw - 1; kx >= 0;) {
                    const int64_t g = grouped ? std::min(sw, kx + 1) : 1;
                    const int64_t kl = kx - g + 1;  // taps kl .. kx
                    if (g == 1) {
                        const int64_t a = std::clamp(lo[kx], ix0, ix1), b = std::clamp(hi[kx], a, ix1);
                        add_strided(orow + kx * dw - pl, taps + kx * ldc, a, b, sw);
                        --kx;
                        continue;
                    }
                    // [A, B): inside every tap's range: interleaved; the rest tap by tap.
                    int64_t A = ix0, B = ix1;
                    for (int64_t j = 0; j < g; ++j) {
                        A = std::max(A, std::clamp(lo[kl + j], ix0, ix1));
                        B = std::min(B, std::clamp(hi[kl + j], ix0, ix1));
                    }
                    if (B < A) B = A;
                    for (int64_t j = 0; j < g; ++j) {
                        const int64_t a = std::clamp(lo[kl + j], ix0, ix1), b = std::clamp(hi[kl + j], a, ix1);
                        float* out = orow + (kl + j) - pl;
                        const float* in = taps + (kl + j) * ldc;
                        add_strided(out, in, a, std::min(b, A), sw);
                        add_strided(out, in, std::max(a, B), b, sw);
                    }
                    float* base = orow + kl - pl + A * sw;  // tap kl + j, entry A + i at base[i*sw + j]
                    const int64_t span = B - A;
                    if (g == 2 && sw == 2) {
                        const float* i0 = taps + kl * ldc + A;
                        const float* i1 = i0 + ldc;
                        for (int64_t i = 0; i < span; ++i) {
                            base[2 * i] += i0[i];
                            base[2 * i + 1] += i1[i];
                        }
                    } else {
                        const float* in[kMaxGroup];
                        for (int64_t j = 0; j < g; ++j) in[j] = taps + (kl + j) * ldc + A;
                        for (int64_t i = 0; i < span; ++i) {
                            float* o = base + i * sw;
                            for (int64_t j = 0; j < g; ++j) o[j] += in[j][i];
                        }
                    }
                    kx = kl - 1;
                }
            }
        }
        q += ix1 - ix0;
    }
}

}  // namespace fcnrt::cpu
