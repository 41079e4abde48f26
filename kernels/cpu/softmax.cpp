// Fast CPU softmax and argmax along any NCHW axis.
//
// A tensor is walked as `outer` independent slices, each holding `len` values
// along the axis `stride` elements apart, times `inner` contiguous lanes (the
// dimensions after the axis). Each slice's lanes are cut into chunks of kChunk;
// OpenMP threads take (slice, chunk) pairs, and within a chunk the loops run
// across lanes (contiguous, vectorised) and along the axis (three passes for
// softmax: max, exp + sum, scale). The last axis (inner == 1, contiguous
// lines) gets a plain per-line loop instead. The loops are the active ISA's
// (membound_kernels.h; exp is the same polynomial on every path).
#include "kernels/cpu/softmax.h"

#include <algorithm>
#include <cstdint>

namespace fcnrt::cpu {

namespace {

constexpr int64_t kChunk = kSoftmaxChunk;

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
    softmax_with(active_membound_kernels(), x, y, axis);
}

void softmax_with(const MemboundKernels& k, const View& x, const View& y, int axis) {
    const AxisWalk wx = axis_walk(x, axis), wy = axis_walk(y, axis);
    const int64_t len = wx.len;
    if (x.numel() == 0) return;
    if (wx.inner == 1) {
#pragma omp parallel for schedule(static) if (x.numel() > 32768)
        for (int64_t o = 0; o < wx.outer; ++o)
            k.softmax_line(x.f32() + slice_offset(x, axis, o), y.f32() + slice_offset(y, axis, o), len);
        return;
    }
    const int64_t chunks = (wx.inner + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (x.numel() > 32768)
    for (int64_t job = 0; job < wx.outer * chunks; ++job) {
        const int64_t o = job / chunks, i0 = (job % chunks) * kChunk;
        const int64_t lanes = std::min(kChunk, wx.inner - i0);
        const float* in = x.f32() + slice_offset(x, axis, o) + i0;  // (len, lanes), stride wx.stride
        float* out = y.f32() + slice_offset(y, axis, o) + i0;       // (len, lanes), stride wy.stride
        k.softmax_chunk(in, wx.stride, out, wy.stride, len, lanes);
    }
}

void argmax(const View& x, const View& y, int axis) { argmax_with(active_membound_kernels(), x, y, axis); }

void argmax_with(const MemboundKernels& k, const View& x, const View& y, int axis) {
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
        k.argmax_chunk(in, wx.stride, out, len, lanes);
    }
}

}  // namespace fcnrt::cpu
