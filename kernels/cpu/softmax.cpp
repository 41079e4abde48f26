// Fast CPU softmax and argmax along any NCHW axis.
//
// A tensor is walked as `outer` independent slices, each holding `len` values
// along the axis `stride` elements apart, times `inner` contiguous lanes (the
// dimensions after the axis). Each slice's lanes are cut into chunks of kChunk;
// OpenMP threads take (slice, chunk) pairs, and within a chunk the loops run
// across lanes (contiguous, vectorised) and along the axis (three passes for
// softmax: max, exp + sum, scale). The last axis (inner == 1, contiguous
// lines) gets a plain per-line loop instead.
#include "kernels/cpu/softmax.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace fcnrt::cpu {

namespace {

constexpr int64_t kChunk = 256;

// exp(x) in float32, within 2 ulp of std::exp for normal results, written so
// that a loop of it vectorises (std::exp is a scalar libm call per element).
// Cephes' expf: x = n ln2 + r with |r| <= ln2/2 (n rounded with the 1.5 * 2^23
// trick, exact in round-to-nearest without floor()), a degree-6 polynomial for
// e^r, then the exponent bits of 2^n. Results below FLT_MIN flush to 0 (std::exp
// would give a subnormal under 1.2e-38, far below the float32 tolerance of a
// probability); overflow gives +inf and NaN stays NaN, as std::exp.
inline float exp_vectorisable(float x) {
    constexpr float kLog2e = 1.44269504088896341f;
    constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
    constexpr float kRound = 12582912.0f;  // 1.5 * 2^23
    constexpr float kMin = -87.3365447505f, kMax = 88.7228391117f;
    float clamped = x < kMin ? kMin : x;
    clamped = clamped > kMax ? kMax : clamped;
    const float n = (clamped * kLog2e + kRound) - kRound;  // nearest integer
    const float r = (clamped - n * kLn2Hi) - n * kLn2Lo;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    const float e_r = p * r * r + r + 1.0f;
    const float scale = __builtin_bit_cast(float, (static_cast<int32_t>(n) + 127) << 23);  // 2^n
    float y = e_r * scale;
    y = x < kMin ? 0.0f : y;
    y = x > kMax ? std::numeric_limits<float>::infinity() : y;
    return x != x ? x : y;
}

struct AxisWalk {
    int64_t outer, len, inner, stride;
};

AxisWalk axis_walk(const View& v, int axis) {
    switch (axis) {
        case 0: return {1, v.n, v.chw(), v.batch_stride};
        case 1: return {v.n, v.c, v.hw(), v.hw()};
        case 2: return {v.n * v.c, v.h, v.w, v.w};
        default: return {v.n * v.c * v.h, v.w, 1, 1};
    }
}

// Element offset of slice o's first value in v.
int64_t slice_offset(const View& v, int axis, int64_t o) {
    switch (axis) {
        case 0: return 0;
        case 1: return o * v.batch_stride;
        case 2: return (o / v.c) * v.batch_stride + (o % v.c) * v.hw();
        default: return (o / (v.c * v.h)) * v.batch_stride + (o % (v.c * v.h)) * v.w;
    }
}

}  // namespace

void softmax(const View& x, const View& y, int axis) {
    const AxisWalk wx = axis_walk(x, axis), wy = axis_walk(y, axis);
    const int64_t len = wx.len;
    if (x.numel() == 0) return;
    if (wx.inner == 1) {
#pragma omp parallel for schedule(static) if (x.numel() > 32768)
        for (int64_t o = 0; o < wx.outer; ++o) {
            const float* in = x.f32() + slice_offset(x, axis, o);  // (len)
            float* out = y.f32() + slice_offset(y, axis, o);       // (len)
            float mx = in[0];
            for (int64_t a = 1; a < len; ++a) mx = std::max(mx, in[a]);
#pragma omp simd
            for (int64_t a = 0; a < len; ++a) out[a] = exp_vectorisable(in[a] - mx);
            float sum = 0.0f;
            for (int64_t a = 0; a < len; ++a) sum += out[a];
            const float inv = 1.0f / sum;
#pragma omp simd
            for (int64_t a = 0; a < len; ++a) out[a] *= inv;
        }
        return;
    }
    const int64_t chunks = (wx.inner + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (x.numel() > 32768)
    for (int64_t job = 0; job < wx.outer * chunks; ++job) {
        const int64_t o = job / chunks, i0 = (job % chunks) * kChunk;
        const int64_t lanes = std::min(kChunk, wx.inner - i0);
        const float* in =
            x.f32() + slice_offset(x, axis, o) + i0;           // (len, lanes), stride wx.stride
        float* out = y.f32() + slice_offset(y, axis, o) + i0;  // (len, lanes), stride wy.stride
        float mx[kChunk], sum[kChunk];
        std::copy(in, in + lanes, mx);
        for (int64_t a = 1; a < len; ++a) {
            const float* row = in + a * wx.stride;
#pragma omp simd
            for (int64_t i = 0; i < lanes; ++i) mx[i] = std::max(mx[i], row[i]);
        }
        std::fill(sum, sum + lanes, 0.0f);
        for (int64_t a = 0; a < len; ++a) {
            const float* row = in + a * wx.stride;
            float* dst = out + a * wy.stride;
#pragma omp simd
            for (int64_t i = 0; i < lanes; ++i) {
                dst[i] = exp_vectorisable(row[i] - mx[i]);
                sum[i] += dst[i];
            }
        }
        for (int64_t i = 0; i < lanes; ++i) sum[i] = 1.0f / sum[i];
        for (int64_t a = 0; a < len; ++a) {
            float* dst = out + a * wy.stride;
#pragma omp simd
            for (int64_t i = 0; i < lanes; ++i) dst[i] *= sum[i];
        }
    }
}

void argmax(const View& x, const View& y, int axis) {
    const AxisWalk wx = axis_walk(x, axis);
    const int64_t len = wx.len;
    if (x.numel() == 0) return;
    const int64_t chunks = (wx.inner + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (x.numel() > 32768)
    for (int64_t job = 0; job < wx.outer * chunks; ++job) {
        const int64_t o = job / chunks, i0 = (job % chunks) * kChunk;
        const int64_t lanes = std::min(kChunk, wx.inner - i0);
        const float* in = x.f32() + slice_offset(x, axis, o) + i0;  // (len, lanes)
        int32_t* out = y.i32() + slice_offset(y, axis, o) + i0;     // (lanes)
        float best[kChunk];
        std::copy(in, in + lanes, best);
        std::fill(out, out + lanes, 0);
        for (int64_t a = 1; a < len; ++a) {
            const float* row = in + a * wx.stride;
            for (int64_t i = 0; i < lanes; ++i) {
                // The first maximum wins; the first NaN beats everything after it.
                if (row[i] > best[i] || (std::isnan(row[i]) && !std::isnan(best[i]))) {
                    best[i] = row[i];
                    out[i] = static_cast<int32_t>(a);
                }
            }
        }
    }
}

}  // namespace fcnrt::cpu
