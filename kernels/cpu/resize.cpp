// Fast CPU resize (PyTorch's interpolate, nearest and bilinear).
//
// Source coordinates depend only on the output row or column, so they are
// computed once per call (bilinear in float64 as op_params.h states, copying an
// axis whose size is unchanged as ATen does; nearest in float32 as ATen), into tables
// (source index, neighbour index, weight). OpenMP threads then take (n, c, block
// of kRowBlock output rows) triples. Bilinear: an output row is
// ky * h(row0) + ly * h(row1), h(r)[ox] = kx * r[a] + lx * r[b] the horizontal
// pass of an input row, computed once per input row and block (x2 upsampling
// reads each input row for two output rows) -- the same float ops as the one-line
// formula. Nearest: a gather per row, a copy of the previous output row when the
// source row repeats. The row loops are the active ISA's (membound_kernels.h).
#include "kernels/cpu/resize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
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

// Output rows per job: each job computes the horizontal pass of an input row
// once and reuses it for every output row of the job that reads it.
constexpr int64_t kRowBlock = 64;

std::vector<int32_t> to_int32(const std::vector<int64_t>& v) {
    return std::vector<int32_t>(v.begin(), v.end());
}

}  // namespace

void resize(const View& x, const View& y, const ResizeParams& p) {
    resize_with(active_membound_kernels(), x, y, p);
}

void resize_with(const MemboundKernels& k, const View& x, const View& y, const ResizeParams& p) {
    const int64_t ow = y.w, in_w = x.w;
    if (y.numel() == 0) return;
    const int64_t blocks = (y.h + kRowBlock - 1) / kRowBlock;
    if (p.mode == ResizeMode::Nearest) {
        const std::vector<int64_t> sy = nearest_taps(x.h, y.h, p.coord_scale[0], p.coord_mode, p.nearest);
        const std::vector<int32_t> sx =
            to_int32(nearest_taps(x.w, y.w, p.coord_scale[1], p.coord_mode, p.nearest));
#pragma omp parallel for collapse(3) schedule(static) if (y.numel() > 32768)
        for (int64_t n = 0; n < y.n; ++n) {
            for (int64_t c = 0; c < y.c; ++c) {
                for (int64_t blk = 0; blk < blocks; ++blk) {
                    const int64_t oy0 = blk * kRowBlock, oy1 = std::min(oy0 + kRowBlock, y.h);
                    for (int64_t oy = oy0; oy < oy1; ++oy) {
                        float* out = y.f32() + y.offset(n, c, oy, 0);  // (OW)
                        if (oy > oy0 && sy[oy] == sy[oy - 1]) {
                            std::memcpy(out, out - ow, sizeof(float) * ow);  // the same source row
                        } else {
                            k.gather_row(x.f32() + x.offset(n, c, sy[oy], 0), sx.data(), out, ow);
                        }
                    }
                }
            }
        }
        return;
    }
    const LinearTaps ty = linear_taps(x.h, y.h, p.align_corners, p.coord_scale[0], p.coord_mode);
    const LinearTaps tx = linear_taps(x.w, y.w, p.align_corners, p.coord_scale[1], p.coord_mode);
    const std::vector<int32_t> xa = to_int32(tx.src0), xb = to_int32(tx.src1);
    std::vector<float> xk(ow);
    for (int64_t ox = 0; ox < ow; ++ox) xk[ox] = 1.0f - tx.lambda[ox];
#pragma omp parallel if (y.numel() > 32768)
    {
        // The horizontal pass of the two input rows the current output row reads.
        std::vector<float> rows(2 * ow);
        float* slot[2] = {rows.data(), rows.data() + ow};
#pragma omp for collapse(3) schedule(static)
        for (int64_t n = 0; n < y.n; ++n) {
            for (int64_t c = 0; c < y.c; ++c) {
                for (int64_t blk = 0; blk < blocks; ++blk) {
                    const float* plane = x.f32() + x.offset(n, c, 0, 0);  // (H, W)
                    int64_t cached[2] = {-1, -1};  // input row in each slot
                    // Slot holding input row iy's horizontal pass, computed into the
                    // slot that does not hold row `keep` when it is not cached.
                    auto row_pass = [&](int64_t iy, int64_t keep) -> const float* {
                        for (int j = 0; j < 2; ++j)
                            if (cached[j] == iy) return slot[j];
                        const int j = cached[0] == keep ? 1 : 0;
                        k.bilinear_h(plane + iy * in_w, xa.data(), xb.data(), xk.data(),
                                     tx.lambda.data(), slot[j], ow);
                        cached[j] = iy;
                        return slot[j];
                    };
                    const int64_t oy0 = blk * kRowBlock, oy1 = std::min(oy0 + kRowBlock, y.h);
                    for (int64_t oy = oy0; oy < oy1; ++oy) {
                        const int64_t s0 = ty.src0[oy], s1 = ty.src1[oy];
                        const float* h0 = row_pass(s0, s1);
                        const float* h1 = row_pass(s1, s0);
                        const float ly = ty.lambda[oy], ky = 1.0f - ly;
                        k.bilinear_v(h0, h1, ky, ly, y.f32() + y.offset(n, c, oy, 0), ow);
                    }
                }
            }
        }
    }
}

}  // namespace fcnrt::cpu
