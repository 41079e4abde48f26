// Fast CPU resize (PyTorch's interpolate, nearest and bilinear).
//
// Source coordinates depend only on the output row or column, so they are
// computed once per call (bilinear in float64 as op_params.h states, copying an
// axis whose size is unchanged as ATen does; nearest in float32 as ATen), into tables
// (source index, neighbour index, weight). Nearest: OpenMP threads take (n, c, row)
// triples; each output row is a table-driven gather from one input row. Bilinear:
// threads take runs of output rows of a plane (see resize()); each input row is
// interpolated along x once per run, each output row blends two of those.
#include "kernels/cpu/resize.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace fcnrt::cpu {

namespace {

// Bilinear taps of one axis: dst reads src0 with weight 1 - lambda and src1 with
// weight lambda.
struct LinearTaps {
    std::vector<int64_t> src0, src1;
    std::vector<float> lambda;
};

LinearTaps linear_taps(int64_t in, int64_t out, bool align_corners, double coord_scale,
                       ResizeCoordMode coord_mode) {
    LinearTaps t;
    t.src0.resize(out);
    t.src1.resize(out);
    t.lambda.resize(out);
    for (int64_t d = 0; d < out; ++d) {
        if (coord_mode != ResizeCoordMode::Pytorch) {
            // ONNX modes: the coordinate clamped into [0, in - 1], no unchanged-axis copy.
            const double src = std::clamp(onnx_resize_source(d, in, out, coord_scale, coord_mode),
                                          0.0, static_cast<double>(in - 1));
            const int64_t i0 = static_cast<int64_t>(std::floor(src));
            t.src0[d] = i0;
            t.src1[d] = std::min(i0 + 1, in - 1);
            t.lambda[d] = static_cast<float>(src - static_cast<double>(i0));
            continue;
        }
        if (out == in) {
            // ATen's compute_source_index_and_lambda copies an axis whose size is
            // unchanged, even when a graph-given scale says otherwise.
            t.src0[d] = t.src1[d] = d;
            t.lambda[d] = 0.0f;
            continue;
        }
        double src;
        if (align_corners) {
            src = out > 1 ? static_cast<double>(d) * static_cast<double>(in - 1) /
                                static_cast<double>(out - 1)
                          : 0.0;
        } else {
            src = std::max((static_cast<double>(d) + 0.5) * coord_scale - 0.5, 0.0);
        }
        const int64_t i0 = std::min(static_cast<int64_t>(std::floor(src)), in - 1);
        t.src0[d] = i0;
        t.src1[d] = std::min(i0 + 1, in - 1);
        t.lambda[d] = static_cast<float>(src - static_cast<double>(i0));
    }
    return t;
}

// src = min(floor(dst * coord_scale), in - 1), computed as ATen's NCHW kernel does:
// in float32 (a discrete choice, so "more exact" float64 would differ from PyTorch,
// e.g. 2 -> 98 at dst 49), and without nearest_idx's out == in / out == 2 * in
// shortcuts, which ATen takes only for one channel or channels_last.
std::vector<int64_t> nearest_taps(int64_t in, int64_t out, double coord_scale,
                                  ResizeCoordMode coord_mode, NearestRounding rounding) {
    std::vector<int64_t> src(out);
    if (coord_mode != ResizeCoordMode::Pytorch) {
        for (int64_t d = 0; d < out; ++d)
            src[d] = onnx_nearest_index(onnx_resize_source(d, in, out, coord_scale, coord_mode),
                                        in, rounding);
        return src;
    }
    const float scale = static_cast<float>(coord_scale);
    for (int64_t d = 0; d < out; ++d) {
        const float s = std::floor(static_cast<float>(d) * scale);
        src[d] = std::min(static_cast<int64_t>(s), in - 1);
    }
    return src;
}

// A thread's rows interpolated along x (bilinear resize).
float* resize_scratch(int64_t count) {
    thread_local std::vector<float> buffer;
    if (static_cast<int64_t>(buffer.size()) < count) buffer.resize(count);
    return buffer.data();
}

}  // namespace

void resize(const View& x, const View& y, const ResizeParams& p) {
    const int64_t ow = y.w;
    if (y.numel() == 0) return;
    if (p.mode == ResizeMode::Nearest) {
        const std::vector<int64_t> sy = nearest_taps(x.h, y.h, p.coord_scale[0], p.coord_mode, p.nearest);
        const std::vector<int64_t> sx = nearest_taps(x.w, y.w, p.coord_scale[1], p.coord_mode, p.nearest);
#pragma omp parallel for collapse(3) schedule(static) if (y.numel() > 32768)
        for (int64_t n = 0; n < y.n; ++n) {
            for (int64_t c = 0; c < y.c; ++c) {
                for (int64_t oy = 0; oy < y.h; ++oy) {
                    const float* row = x.f32() + x.offset(n, c, sy[oy], 0);  // (W)
                    float* out = y.f32() + y.offset(n, c, oy, 0);            // (OW)
                    for (int64_t ox = 0; ox < ow; ++ox) out[ox] = row[sx[ox]];
                }
            }
        }
        return;
    }
    const LinearTaps ty = linear_taps(x.h, y.h, p.align_corners, p.coord_scale[0], p.coord_mode);
    const LinearTaps tx = linear_taps(x.w, y.w, p.align_corners, p.coord_scale[1], p.coord_mode);
    // Jobs: (n, c, run of output rows), about kJobsPerThread per thread. A job
    // first interpolates along x each input row its output rows read (hx[iy][ox] =
    // kx * x[iy][a] + lx * x[iy][b], once per input row instead of once per output
    // row that reads it: upsampling by 8 reads each input row 16 times), then
    // blends two of those rows per output row, contiguously (vectorised):
    // out = ky * hx[src0] + ly * hx[src1], the same float ops in the same order
    // as the one-pass formula.
    const int64_t planes = y.n * y.c;
    const bool threaded = y.numel() > 32768;
    const int64_t wanted = threaded ? 4 * int64_t(omp_get_max_threads()) : 1;
    const int64_t chunks = std::clamp<int64_t>((wanted + planes - 1) / planes, 1, y.h);
    const int64_t rows_per_chunk = (y.h + chunks - 1) / chunks;
#pragma omp parallel for collapse(2) schedule(static) if (threaded)
    for (int64_t plane = 0; plane < planes; ++plane) {
        for (int64_t chunk = 0; chunk < chunks; ++chunk) {
            const int64_t n = plane / y.c, c = plane % y.c;
            const int64_t oy0 = chunk * rows_per_chunk, oy1 = std::min(y.h, oy0 + rows_per_chunk);
            if (oy0 >= oy1) continue;
            // Input rows read by rows [oy0, oy1): src0/src1 are nondecreasing in oy.
            int64_t lo = x.h, hi = -1;
            for (int64_t oy = oy0; oy < oy1; ++oy) {
                lo = std::min(lo, std::min(ty.src0[oy], ty.src1[oy]));
                hi = std::max(hi, std::max(ty.src0[oy], ty.src1[oy]));
            }
            float* hx = resize_scratch((hi - lo + 1) * ow);  // input rows lo..hi along x
            std::vector<char> done(static_cast<size_t>(hi - lo + 1), 0);
            for (int64_t oy = oy0; oy < oy1; ++oy) {
                for (const int64_t iy : {ty.src0[oy], ty.src1[oy]}) {
                    if (done[iy - lo]) continue;
                    done[iy - lo] = 1;
                    const float* r = x.f32() + x.offset(n, c, iy, 0);  // (W)
                    float* h = hx + (iy - lo) * ow;
                    for (int64_t ox = 0; ox < ow; ++ox) {
                        const int64_t a = tx.src0[ox], b = tx.src1[ox];
                        const float lx = tx.lambda[ox], kx = 1.0f - lx;
                        h[ox] = kx * r[a] + lx * r[b];
                    }
                }
                const float* h0 = hx + (ty.src0[oy] - lo) * ow;
                const float* h1 = hx + (ty.src1[oy] - lo) * ow;
                const float ly = ty.lambda[oy], ky = 1.0f - ly;
                float* out = y.f32() + y.offset(n, c, oy, 0);  // (OW)
#pragma omp simd
                for (int64_t ox = 0; ox < ow; ++ox) out[ox] = ky * h0[ox] + ly * h1[ox];
            }
        }
    }
}

}  // namespace fcnrt::cpu
