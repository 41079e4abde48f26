// Fast CPU crop and pad.
//
// Both are row copies. crop memcpy's each output row from its window. pad maps
// each output row and column to a source row and column (or to "the constant")
// once per call; an output row is then the constant, or a left border, a
// memcpy'd middle and a right border. OpenMP threads take (n, c) planes.
#include "kernels/cpu/layout.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace fcnrt::cpu {

namespace {

// Source index of output position o along an axis of input length `in`, or -1
// for the constant.
int64_t pad_source(int64_t o, int64_t before, int64_t in, PadMode mode) {
    int64_t i = o - before;
    if (i >= 0 && i < in) return i;
    switch (mode) {
        case PadMode::Constant: return -1;
        case PadMode::Edge: return std::clamp<int64_t>(i, 0, in - 1);
        case PadMode::Reflect: {
            if (in == 1) return 0;
            // Mirror without repeating the edge; period 2 * (in - 1) covers pads
            // wider than the input too.
            const int64_t period = 2 * (in - 1);
            i %= period;
            if (i < 0) i += period;
            return i < in ? i : period - i;
        }
    }
    return -1;
}

// dst[r * d_row + q * d_col] = src[r * s_row + q * s_col] for r < rows, q < cols:
// one plane copied between a depth plane and every b-th column of space rows.
inline void copy_plane(const float* src, int64_t s_row, int64_t s_col, float* dst, int64_t d_row,
                       int64_t d_col, int64_t rows, int64_t cols) {
    for (int64_t r = 0; r < rows; ++r) {
        const float* s_r = src + r * s_row;
        float* d_r = dst + r * d_row;
        for (int64_t q = 0; q < cols; ++q) d_r[q * d_col] = s_r[q * s_col];
    }
}

}  // namespace

void crop(const View& x, const View& y, int64_t top, int64_t left) {
#pragma omp parallel for collapse(2) schedule(static) if (y.numel() > 32768)
    for (int64_t n = 0; n < y.n; ++n) {
        for (int64_t c = 0; c < y.c; ++c) {
            for (int64_t oy = 0; oy < y.h; ++oy) {
                std::memcpy(y.f32() + y.offset(n, c, oy, 0),
                            x.f32() + x.offset(n, c, top + oy, left), sizeof(float) * y.w);
            }
        }
    }
}

void pad(const View& x, const View& y, const PadParams& p) {
    std::vector<int64_t> sy(y.h), sx(y.w);
    for (int64_t o = 0; o < y.h; ++o) sy[o] = pad_source(o, p.pads[0], x.h, p.mode);
    for (int64_t o = 0; o < y.w; ++o) sx[o] = pad_source(o, p.pads[1], x.w, p.mode);
    // Output columns [mid_lo, mid_hi) copy input columns [mid_lo - left, ...) in order.
    const int64_t mid_lo = std::clamp<int64_t>(p.pads[1], 0, y.w);
    const int64_t mid_hi = std::clamp<int64_t>(p.pads[1] + x.w, mid_lo, y.w);
    const float value = p.value;
#pragma omp parallel for collapse(2) schedule(static) if (y.numel() > 32768)
    for (int64_t n = 0; n < y.n; ++n) {
        for (int64_t c = 0; c < y.c; ++c) {
            for (int64_t oy = 0; oy < y.h; ++oy) {
                float* out = y.f32() + y.offset(n, c, oy, 0);  // (OW)
                if (sy[oy] < 0) {
                    std::fill(out, out + y.w, value);
                    continue;
                }
                const float* row = x.f32() + x.offset(n, c, sy[oy], 0);  // (W)
                for (int64_t ox = 0; ox < mid_lo; ++ox) out[ox] = sx[ox] < 0 ? value : row[sx[ox]];
                if (mid_hi > mid_lo) {
                    std::memcpy(out + mid_lo, row + (mid_lo - p.pads[1]),
                                sizeof(float) * (mid_hi - mid_lo));
                }
                for (int64_t ox = mid_hi; ox < y.w; ++ox)
                    out[ox] = sx[ox] < 0 ? value : row[sx[ox]];
            }
        }
    }
}

// depth_to_space / space_to_depth: one task per (n, shallow channel c, block row
// i); for each block column j one strided copy between a depth plane and every
// b-th column of the space-side rows. Pure copies, so exact.
void depth_to_space(const View& x, const View& y, const SpaceDepthParams& p) {
    const int64_t b = p.block, h = x.h, w = x.w;
#pragma omp parallel for collapse(3) schedule(static) if (y.numel() > 32768)
    for (int64_t n = 0; n < y.n; ++n)
        for (int64_t c = 0; c < y.c; ++c)
            for (int64_t i = 0; i < b; ++i)
                for (int64_t j = 0; j < b; ++j) {
                    const float* src = x.f32() + x.offset(n, depth_channel(c, i, j, y.c, p), 0, 0);
                    float* dst = y.f32() + y.offset(n, c, i, j);
                    copy_plane(src, w, 1, dst, b * y.w, b, h, w);
                }
}

void space_to_depth(const View& x, const View& y, const SpaceDepthParams& p) {
    const int64_t b = p.block, h = y.h, w = y.w;
#pragma omp parallel for collapse(3) schedule(static) if (y.numel() > 32768)
    for (int64_t n = 0; n < x.n; ++n)
        for (int64_t c = 0; c < x.c; ++c)
            for (int64_t i = 0; i < b; ++i)
                for (int64_t j = 0; j < b; ++j) {
                    const float* src = x.f32() + x.offset(n, c, i, j);
                    float* dst = y.f32() + y.offset(n, depth_channel(c, i, j, x.c, p), 0, 0);
                    copy_plane(src, b * x.w, b, dst, w, 1, h, w);
                }
}

}  // namespace fcnrt::cpu
