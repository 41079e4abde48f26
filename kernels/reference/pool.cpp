// Reference pooling: max_pool2d (with PyTorch's per-plane indices, or ONNX's flat
// ones), avg_pool2d (with PyTorch's divisor rule), global_avg_pool and max_unpool2d.
// Windows are enumerated tap by tap (start + j * dilation), skipping taps outside
// the input; sums are float64.
#include "kernels/reference/pool.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace fcnrt::reference {

void max_pool2d(const View& x, const View& y, const View& indices, const Pool2dParams& p) {
    // x (N, C, H, W); y (N, C, OH, OW); indices int32 (N, C, OH, OW) or absent
    const int64_t kh = p.kernel[0], kw = p.kernel[1];
    const int64_t sh = p.stride[0], sw = p.stride[1];
    const int64_t dh = p.dilation[0], dw = p.dilation[1];
    const int64_t pt = p.pads[0], pl = p.pads[1];
    for (int64_t n = 0; n < y.n; ++n) {
        for (int64_t c = 0; c < y.c; ++c) {
            // Flat indices (ONNX's) count from the start of x's (n, c) plane in N*C*H*W.
            const int64_t plane_base = p.flat_indices ? (n * x.c + c) * x.hw() : 0;
            for (int64_t oy = 0; oy < y.h; ++oy) {
                for (int64_t ox = 0; ox < y.w; ++ox) {
                    const int64_t hstart = oy * sh - pt;
                    const int64_t wstart = ox * sw - pl;
                    // As ATen, the index starts at the first tap past the top/left padding,
                    // so a window with no in-bounds tap (possible only with dilation) yields
                    // -inf and that tap's index, which may lie outside the plane.
                    int64_t y0 = hstart, x0 = wstart;
                    while (y0 < 0) y0 += dh;
                    while (x0 < 0) x0 += dw;
                    float best = -std::numeric_limits<float>::infinity();
                    int64_t best_index = y0 * x.w + x0;
                    for (int64_t ky = 0; ky < kh; ++ky) {
                        const int64_t iy = hstart + ky * dh;
                        if (iy < 0 || iy >= x.h) continue;  // padding is -inf: never chosen
                        for (int64_t kx = 0; kx < kw; ++kx) {
                            const int64_t ix = wstart + kx * dw;
                            if (ix < 0 || ix >= x.w) continue;
                            const float v = x.f32()[x.offset(n, c, iy, ix)];
                            // Strictly greater keeps the first maximum; a NaN always replaces
                            // (so the index is the last NaN's, exactly as ATen's CPU and CUDA
                            // kernels do).
                            if (v > best || std::isnan(v)) {
                                best = v;
                                best_index = iy * x.w + ix;
                            }
                        }
                    }
                    y.f32()[y.offset(n, c, oy, ox)] = best;
                    if (indices.data != nullptr) {
                        indices.i32()[indices.offset(n, c, oy, ox)] =
                            static_cast<int32_t>(plane_base + best_index);
                    }
                }
            }
        }
    }
}

void avg_pool2d(const View& x, const View& y, const Pool2dParams& p) {
    // x (N, C, H, W); y (N, C, OH, OW)
    const int64_t kh = p.kernel[0], kw = p.kernel[1];
    const int64_t sh = p.stride[0], sw = p.stride[1];
    const int64_t dh = p.dilation[0], dw = p.dilation[1];
    const int64_t pt = p.pads[0], pl = p.pads[1], pb = p.pads[2], pr = p.pads[3];
    const bool dilated = dh != 1 || dw != 1;
    for (int64_t n = 0; n < y.n; ++n) {
        for (int64_t c = 0; c < y.c; ++c) {
            for (int64_t oy = 0; oy < y.h; ++oy) {
                for (int64_t ox = 0; ox < y.w; ++ox) {
                    const int64_t hstart = oy * sh - pt;
                    const int64_t wstart = ox * sw - pl;
                    double sum = 0.0;
                    int64_t in_bounds = 0;
                    for (int64_t ky = 0; ky < kh; ++ky) {
                        const int64_t iy = hstart + ky * dh;
                        if (iy < 0 || iy >= x.h) continue;
                        for (int64_t kx = 0; kx < kw; ++kx) {
                            const int64_t ix = wstart + kx * dw;
                            if (ix < 0 || ix >= x.w) continue;
                            sum += static_cast<double>(x.f32()[x.offset(n, c, iy, ix)]);
                            ++in_bounds;
                        }
                    }
                    double divisor;
                    if (!p.count_include_pad) {
                        // ATen: (hend - hstart) * (wend - wstart) after clipping to the input,
                        // i.e. the number of in-bounds taps (also with dilation, per the spec).
                        divisor = static_cast<double>(in_bounds);
                    } else if (!dilated) {
                        // ATen's pool_size: the window clipped to the padded extent
                        // [-pt, H + pb) x [-pl, W + pr), so a ceil_mode window hanging past the
                        // bottom/right padding is not charged for the overhang.
                        const int64_t hend = std::min(hstart + kh, x.h + pb);
                        const int64_t wend = std::min(wstart + kw, x.w + pr);
                        divisor = static_cast<double>((hend - hstart) * (wend - wstart));
                    } else {
                        // PyTorch has no dilated avg_pool2d; the spec says a dilated avg_pool
                        // with count_include_pad divides by all kh * kw taps.
                        divisor = static_cast<double>(kh * kw);
                    }
                    // A window with no in-bounds element gives 0, as ATen writes 0 for an
                    // empty window rather than dividing 0 by 0.
                    const double mean = in_bounds == 0 ? 0.0 : sum / divisor;
                    y.f32()[y.offset(n, c, oy, ox)] = static_cast<float>(mean);
                }
            }
        }
    }
}

void global_avg_pool(const View& x, const View& y) {
    // x (N, C, H, W); y (N, C, 1, 1)
    for (int64_t n = 0; n < x.n; ++n) {
        for (int64_t c = 0; c < x.c; ++c) {
            double sum = 0.0;
            for (int64_t iy = 0; iy < x.h; ++iy) {
                for (int64_t ix = 0; ix < x.w; ++ix) {
                    sum += static_cast<double>(x.f32()[x.offset(n, c, iy, ix)]);
                }
            }
            y.f32()[y.offset(n, c, 0, 0)] = static_cast<float>(sum / static_cast<double>(x.hw()));
        }
    }
}

void max_unpool2d(const View& x, const View& indices, const View& y) {
    // x (N, C, H, W); indices int32 (N, C, H, W); y (N, C, OH, OW)
    for (int64_t n = 0; n < y.n; ++n) {
        for (int64_t c = 0; c < y.c; ++c) {
            for (int64_t oy = 0; oy < y.h; ++oy) {
                for (int64_t ox = 0; ox < y.w; ++ox) y.f32()[y.offset(n, c, oy, ox)] = 0.0f;
            }
        }
    }
    // Scatter in x's order, so of two equal indices the later element wins (as ATen's CPU
    // loop). PyTorch raises on an out-of-range index; we skip it.
    for (int64_t n = 0; n < x.n; ++n) {
        for (int64_t c = 0; c < x.c; ++c) {
            for (int64_t iy = 0; iy < x.h; ++iy) {
                for (int64_t ix = 0; ix < x.w; ++ix) {
                    const int64_t index = indices.i32()[indices.offset(n, c, iy, ix)];
                    if (index < 0 || index >= y.hw()) continue;
                    y.f32()[y.offset(n, c, 0, 0) + index] = x.f32()[x.offset(n, c, iy, ix)];
                }
            }
        }
    }
}

}  // namespace fcnrt::reference
