// Strided convs on the GEMM (conv.h: conv2d_gemm_phases), B built from a
// phase-split, zero-padded copy of the input instead of an element-wise gather.
//
// A stride-(sh, sw) conv's tap (c, ky, kx) reads, for the output pixels of one
// row, every sw-th input column: gathered entry by entry (with bounds tests)
// its B block cost as much as the sums on ResNet's 7x7 stem and about a third
// of a 3x3 stride-2 conv. Here the input is first copied once per call, in
// parallel over its channels, into phase planes: per item n and channel c, for
// each row phase phy < sh and column phase phx < sw that some tap uses (in
// slots: a 1x1 stride-2 conv keeps one of the four), the plane
// P[n][c][phy][qy][phx][qx] = x[n][c][qy*sh + phy - pt][qx*sw + phx - pl]
// (0 outside the input), qy < rq, qx < wq (plane_layout's sizes). Tap (c, ky,
// kx) of output pixel (oy, ox) is then the entry at c*chan + slot((ky*dh) % sh)*rq*wp
// + ((ky*dh) / sh + oy)*wp + slot((kx*dw) % sw)*wq + (kx*dw) / sw + ox (wp: the
// used column phases times wq): contiguous in ox, every tap inside the copy. B rows of a tile group are then
// built by one copy per B row and output row of the group (no bounds tests, no
// zeros but past the plane's end).
//
// Jobs and epilogue are conv2d_gemm's main path (conv_gemm_jobs.h): runs of nr-pixel
// tiles of one plane (n, g) and a chunk of output channels, about
// kConvJobsPerThread per thread, dynamic scheduling; the epilogue on each tile as
// it leaves the GEMM. B holds the same entries (the padding's +0 included) as
// ConvColumns' gather, so every output is the same fma chain over (c, ky, kx)
// ascending (gemm.h): the same bits as conv2d_gemm on every ISA path and for
// any tiling, batch or thread count.
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "kernels/cpu/conv.h"
#include "kernels/cpu/conv_gemm_jobs.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/parallel.h"

namespace fcnrt::cpu {

namespace {

// Output planes of more pixels than this take the phase planes (smaller ones
// run conv2d_gemm's small-plane form, tiles across rows and items).
constexpr int64_t kPhaseMinPixels = 256;

// Columns of one tile group at most (16 tiles of the widest micro-kernel).
constexpr int64_t kMaxGroupColumns = 16 * 64;

// Only the phases some tap reads are kept, each in a slot: row phase phy in
// row slot row_slot[phy] (of rows_used), column phase phx in column slot
// col_slot[phx] (of cols_used); -1 for a phase no tap reads.
struct PhaseLayout {
    int64_t sh, sw, rq, wq;
    std::vector<int64_t> row_slot, col_slot;
    int64_t wp, chan;  // wp = cols_used*wq (a row), chan: one channel's planes

    // The offset of tap (ky, kx) of output pixel (0, 0) within a channel.
    int64_t tap(int64_t ky, int64_t kx, int64_t dh, int64_t dw) const {
        return row_slot[size_t(ky * dh % sh)] * rq * wp + (ky * dh / sh) * wp + col_slot[size_t(kx * dw % sw)] * wq +
               kx * dw / sw;
    }
};

PhaseLayout phase_layout(const View& weight, const View& y, const Conv2dParams& p) {
    PhaseLayout l;
    l.sh = p.stride[0];
    l.sw = p.stride[1];
    l.rq = y.h + (weight.h - 1) * p.dilation[0] / l.sh;
    l.wq = y.w + (weight.w - 1) * p.dilation[1] / l.sw;
    l.row_slot.assign(size_t(l.sh), -1);
    l.col_slot.assign(size_t(l.sw), -1);
    for (int64_t ky = 0; ky < weight.h; ++ky) l.row_slot[size_t(ky * p.dilation[0] % l.sh)] = 0;
    for (int64_t kx = 0; kx < weight.w; ++kx) l.col_slot[size_t(kx * p.dilation[1] % l.sw)] = 0;
    int64_t rows_used = 0, cols_used = 0;
    for (int64_t& s : l.row_slot)
        if (s == 0) s = rows_used++;
    for (int64_t& s : l.col_slot)
        if (s == 0) s = cols_used++;
    l.wp = cols_used * l.wq;
    l.chan = rows_used * l.rq * l.wp;
    return l;
}

// The calling thread's phase planes (kept between calls, grown on demand).
float* phase_scratch(int64_t count) {
    thread_local std::vector<float> buffer;
    if (static_cast<int64_t>(buffer.size()) < count) buffer.resize(size_t(count));
    return buffer.data();
}

int64_t div_floor(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

int64_t div_ceil(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

// One phase row: dst[j] = in[j*sw + ph - pl] for j < wq, 0 outside [0, w).
void phase_row(const float* in, int64_t w, int64_t pl, int64_t sw, int64_t ph, int64_t wq, float* dst) {
    const int64_t lo = std::clamp<int64_t>(div_ceil(pl - ph, sw), 0, wq);
    const int64_t hi = std::clamp<int64_t>(div_floor(w - 1 + pl - ph, sw) + 1, lo, wq);
    std::fill(dst, dst + lo, 0.0f);
    const float* s = in + ph - pl;
    if (sw == 1) {
        std::copy(s + lo, s + hi, dst + lo);
    } else if (sw == 2) {
        for (int64_t j = lo; j < hi; ++j) dst[j] = s[2 * j];
    } else {
        for (int64_t j = lo; j < hi; ++j) dst[j] = s[j * sw];
    }
    std::fill(dst + hi, dst + wq, 0.0f);
}

// B of a group of tiles from the phase planes of one item and group: columns j
// = pixel t0*nr + j, row r at base + off[r] + oy*wp + ox.
struct PhaseColumns {
    const float* base;   // the planes of (n, g*cg)
    const int64_t* off;  // per B row (c, ky, kx)
    int64_t ow, wp, pixels, nr;

    void operator()(int64_t t0, int64_t count, int64_t r0, int64_t kc, float* buf, int64_t ld) const {
        const int64_t j0 = t0 * nr, width = count * nr;
        const int64_t valid = std::min(width, pixels - j0);
        // Pieces of one output row each: columns [seg_j, seg_j + seg_len) at seg_at.
        int64_t seg_j[kMaxGroupColumns], seg_len[kMaxGroupColumns], seg_at[kMaxGroupColumns];
        int64_t segments = 0;
        for (int64_t j = 0; j < valid;) {
            const int64_t q = j0 + j, oy = q / ow, ox = q % ow;
            const int64_t len = std::min(valid - j, ow - ox);
            seg_j[segments] = j;
            seg_len[segments] = len;
            seg_at[segments] = oy * wp + ox;
            ++segments;
            j += len;
        }
        for (int64_t r = 0; r < kc; ++r) {
            const float* src = base + off[r0 + r];
            float* row = buf + r * ld;
            for (int64_t s = 0; s < segments; ++s)
                std::memcpy(row + seg_j[s], src + seg_at[s], sizeof(float) * size_t(seg_len[s]));
            std::fill(row + valid, row + width, 0.0f);
        }
    }
};

}  // namespace

bool conv2d_gemm_phases_applies(const View& y, const Conv2dParams& p) {
    return (p.stride[0] > 1 || p.stride[1] > 1) && y.h * y.w > kPhaseMinPixels;
}

size_t conv2d_gemm_phases_scratch_bytes(const View& x, const View& weight, const View& y,
                                        const Conv2dParams& p) {
    return size_t(y.n * x.c * phase_layout(weight, y, p).chan) * sizeof(float);
}

void conv2d_gemm_phases(const GemmMicroKernel& mk, const View& x, const View& weight,
                        const PackedConvWeights& packed, const float* bias, const View& y,
                        const Conv2dParams& p) {
    const int64_t groups = p.groups;
    const int64_t cg = x.c / groups;
    const int64_t kh = weight.h, kw = weight.w;
    const int64_t dh = p.dilation[0], dw = p.dilation[1], pt = p.pads[0], pl = p.pads[1];
    const int64_t h = x.h, w = x.w, oh = y.h, ow = y.w;
    if (y.numel() == 0) return;
    for (int64_t g = 0; g < groups; ++g)
        if (g >= int64_t(packed.groups.size()) || packed.groups[g].mr != mk.mr)
            throw std::logic_error("conv weights were packed for another micro-kernel or group count");
    const PhaseLayout l = phase_layout(weight, y, p);
    const int64_t sh = l.sh, sw = l.sw;
    const int64_t nr = mk.nr;
    const int64_t pixels = oh * ow;
    const int64_t reduce = cg * kh * kw;
    const bool threaded = worth_threads(2.0 * double(y.numel()) * double(reduce));

    float* planes = phase_scratch(y.n * x.c * l.chan);
    const int64_t copies = y.n * x.c;
#pragma omp parallel for schedule(static) if (threaded && copies > 1)
    for (int64_t nc = 0; nc < copies; ++nc) {
        const int64_t n = nc / x.c, c = nc % x.c;
        const float* in = x.f32() + x.offset(n, c, 0, 0);  // (H, W)
        float* dst = planes + nc * l.chan;
        for (int64_t phy = 0; phy < sh; ++phy) {
            const int64_t rs = l.row_slot[size_t(phy)];
            if (rs < 0) continue;
            for (int64_t qy = 0; qy < l.rq; ++qy) {
                const int64_t iy = qy * sh + phy - pt;
                float* row = dst + (rs * l.rq + qy) * l.wp;
                for (int64_t phx = 0; phx < sw; ++phx) {
                    const int64_t cs = l.col_slot[size_t(phx)];
                    if (cs < 0) continue;
                    if (uint64_t(iy) < uint64_t(h)) {
                        phase_row(in + iy * w, w, pl, sw, phx, l.wq, row + cs * l.wq);
                    } else {
                        std::fill(row + cs * l.wq, row + (cs + 1) * l.wq, 0.0f);
                    }
                }
            }
        }
    }
    std::vector<int64_t> off(static_cast<size_t>(reduce));  // per B row (c, ky, kx)
    for (int64_t r = 0; r < reduce; ++r) {
        const int64_t c = r / (kh * kw), ky = r / kw % kh, kx = r % kw;
        off[size_t(r)] = c * l.chan + l.tap(ky, kx, dh, dw);
    }

    // Jobs and epilogue as conv2d_gemm's main path (conv_gemm_jobs.h).
    const ConvGemmJobs jobs(mk, y, groups, reduce);
#pragma omp parallel for schedule(dynamic, 1) if (jobs.jobs > 1 && jobs.threaded)
    for (int64_t job = 0; job < jobs.jobs; ++job) {
        const ConvGemmJobs::Job j = jobs.at(job);
        const PhaseColumns columns{planes + (j.n * x.c + j.g * cg) * l.chan, off.data(), ow, l.wp, pixels, nr};
        gemm_tiles(mk, packed.groups[j.g], j.panel0, j.panel1, j.t0, j.t1, columns,
                   [&](int64_t t, int64_t count, const float* c, int64_t ldc) {
            conv_tile_epilogue(j, nr, t, count, c, ldc, bias, y, p);
        }, jobs.chunk_panels * mk.mr);
    }
}

}  // namespace fcnrt::cpu
