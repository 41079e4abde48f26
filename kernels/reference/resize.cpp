// Reference resize, PyTorch's interpolate for mode "nearest" and "bilinear". Each
// output pixel computes its source coordinate per axis (see ResizeParams) and reads
// one (nearest) or four (bilinear) input pixels. Two details follow ATen's CPU kernels
// rather than the letter of ResizeParams: the nearest index is computed in float32, and
// bilinear copies an axis whose size is unchanged.
#include "kernels/reference/resize.h"

#include <algorithm>
#include <cmath>

namespace fcnrt::reference {
namespace {

// src = min(floor(dst * coord_scale), in - 1). The source index is a discrete choice, so it
// is computed the way PyTorch computes it, in float32 (floorf of float(dst) * float scale),
// not "more exactly": in float64, 2 -> 98 maps dst 49 to 0 where PyTorch gives 1. No
// shortcut for out == in or out == 2 * in: ATen's CPU takes one only for a single channel
// or channels_last (nearest_idx), while NCHW with C > 1, like this formula, does not.
int64_t nearest_source(int64_t dst, int64_t in, double coord_scale) {
    const float scale = static_cast<float>(coord_scale);
    const auto src = static_cast<int64_t>(std::floor(static_cast<float>(dst) * scale));
    return std::min(src, in - 1);
}

// One axis of upsample_bilinear2d: the lower source index i0, its neighbour i1 (i0 + 1
// clamped to in - 1) and the weight lambda of i1 (ATen's h1lambda; h0lambda = 1 - lambda).
struct LinearTap {
    int64_t i0, i1;
    double lambda;
};

LinearTap linear_source(int64_t dst, int64_t in, int64_t out, double coord_scale,
                        bool align_corners) {
    // ATen's compute_source_index_and_lambda copies an axis whose size is unchanged, even
    // when a graph-given scale would say otherwise (scale 1.3 on 3 pixels gives 3).
    if (out == in) return {dst, dst, 0.0};
    double src;
    if (align_corners) {
        const double scale =
            out > 1 ? static_cast<double>(in - 1) / static_cast<double>(out - 1) : 0.0;
        src = static_cast<double>(dst) * scale;
    } else {
        // ATen's area_pixel_compute_source_index clamps a negative source to 0.
        src = std::max((static_cast<double>(dst) + 0.5) * coord_scale - 0.5, 0.0);
    }
    // As ATen's guard_index_and_lambda: src >= 0, so truncation is floor; the clamps only
    // matter for a scale that does not match the sizes.
    const int64_t i0 = std::min(static_cast<int64_t>(src), in - 1);
    const int64_t i1 = i0 < in - 1 ? i0 + 1 : i0;
    const double lambda = std::clamp(src - static_cast<double>(i0), 0.0, 1.0);
    return {i0, i1, lambda};
}

// ONNX coordinate modes (coord_mode != Pytorch): the source coordinate clamped into
// [0, in - 1], as onnxruntime and the ONNX reference (edge padding) both do.
LinearTap onnx_linear_source(int64_t dst, int64_t in, int64_t out, const ResizeParams& p,
                             int axis) {
    const double src = std::clamp(
        onnx_resize_source(dst, in, out, p.coord_scale[axis], p.coord_mode), 0.0,
        static_cast<double>(in - 1));
    const int64_t i0 = static_cast<int64_t>(std::floor(src));
    const int64_t i1 = i0 < in - 1 ? i0 + 1 : i0;
    return {i0, i1, src - static_cast<double>(i0)};
}

}  // namespace

void resize(const View& x, const View& y, const ResizeParams& p) {
    // x (N, C, H, W); y (N, C, OH, OW)
    for (int64_t n = 0; n < y.n; ++n) {
        for (int64_t c = 0; c < y.c; ++c) {
            for (int64_t oy = 0; oy < y.h; ++oy) {
                for (int64_t ox = 0; ox < y.w; ++ox) {
                    float v;
                    if (p.coord_mode != ResizeCoordMode::Pytorch && p.mode == ResizeMode::Nearest) {
                        const int64_t iy = onnx_nearest_index(
                            onnx_resize_source(oy, x.h, y.h, p.coord_scale[0], p.coord_mode), x.h,
                            p.nearest);
                        const int64_t ix = onnx_nearest_index(
                            onnx_resize_source(ox, x.w, y.w, p.coord_scale[1], p.coord_mode), x.w,
                            p.nearest);
                        v = x.f32()[x.offset(n, c, iy, ix)];
                    } else if (p.mode == ResizeMode::Nearest) {
                        const int64_t iy = nearest_source(oy, x.h, p.coord_scale[0]);
                        const int64_t ix = nearest_source(ox, x.w, p.coord_scale[1]);
                        v = x.f32()[x.offset(n, c, iy, ix)];
                    } else {
                        const bool onnx = p.coord_mode != ResizeCoordMode::Pytorch;
                        const LinearTap ty =
                            onnx ? onnx_linear_source(oy, x.h, y.h, p, 0)
                                 : linear_source(oy, x.h, y.h, p.coord_scale[0], p.align_corners);
                        const LinearTap tx =
                            onnx ? onnx_linear_source(ox, x.w, y.w, p, 1)
                                 : linear_source(ox, x.w, y.w, p.coord_scale[1], p.align_corners);
                        auto at = [&](int64_t iy, int64_t ix) {
                            return static_cast<double>(x.f32()[x.offset(n, c, iy, ix)]);
                        };
                        const double h0 = 1.0 - ty.lambda, h1 = ty.lambda;
                        const double w0 = 1.0 - tx.lambda, w1 = tx.lambda;
                        const double sum = h0 * (w0 * at(ty.i0, tx.i0) + w1 * at(ty.i0, tx.i1)) +
                                           h1 * (w0 * at(ty.i1, tx.i0) + w1 * at(ty.i1, tx.i1));
                        v = static_cast<float>(sum);
                    }
                    y.f32()[y.offset(n, c, oy, ox)] = v;
                }
            }
        }
    }
}

}  // namespace fcnrt::reference
