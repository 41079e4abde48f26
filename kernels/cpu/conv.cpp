// Fast CPU convolution and transposed convolution on our own GEMM
// micro-kernels (gemm.h): the GEMM view is C [Kg, pixels] = A [Kg, Cg*kh*kw]
// x B [Cg*kh*kw, pixels], A the group's weights packed once at load, B the
// input pixels each tap reads, C handed back tile by tile.
//
// conv2d: tiles are runs of nr output pixels (row-major over OH, OW, within
// one plane (n, g)); a job is a run of tiles of one plane and one chunk of
// output channels (all of them up to 512, else even chunks: see
// conv_gemm_chunk_rows), all jobs in one OpenMP fork/join with dynamic
// scheduling. A tile's B rows are read in place
// from the input when every tap of the tile is inside it and contiguous
// (1x1 unpadded convs always; stride-1 width otherwise, for tiles within one
// output row and away from the padding): row r = (c, ky, kx) of the tile is
// x_g + c*H*W + (iy0 + ky*dh)*W + ix0 + kx*dw. Other tiles (borders, the
// plane's last partial tile, strided widths) are packed: kc x nr floats, zeros
// for padding. The epilogue (bias, residual, activation) runs on each tile as
// it leaves the GEMM, while it is in cache, in the pass that copies it to y. No im2col matrix exists.
// Convs with one input channel per group (depthwise, also with a channel
// multiplier, and one-channel first layers) and those with up to 4 input
// channels, 75 taps and 11 outputs (conv2d_runs_direct) run the direct
// row kernel instead (conv_direct_microkernel.h): rows of blocks of mr output
// channels (one channel for depthwise) split statically over the threads,
// each row vectorised over output width, the epilogue on the rows as they
// leave the kernel; depthwise and strided direct convs run on rows copied
// once into a ring of zero-padded rows (conv2d_direct_padded), every pixel
// vectorised; on small maps a job is a whole plane, padded once and run as one
// virtual row (conv2d_direct_planes). Same summation order, so the same bits as the GEMM path
// would give. Output planes of up to kNarrowMaxColumns pixels (a patch net's
// last convs) take the narrow GEMM kernel (gemm_narrow.h) instead of nr-pixel
// tiles: the same chains again. Other planes of up to kSmallPlanePixels pixels
// (and small planes at batch > 1) run tiles over the columns of all batch
// items of a group (SmallPlaneColumns): tiles cross output rows and items, a
// job is a run of tile groups and a chunk of output channels, B built per
// group from inline row-piece copies: the same entries, chains and bits. Unpadded
// convs onto small planes (conv2d_prefers_plane) run the small-plane conv
// (conv_plane.h): output channels in lanes, pixels broadcast in place; the GEMM's
// bits. Dilated convs on maps small against their
// dilation (ASPP) skip the taps in the padding: tap windows (conv.h; conv_tap_windows.cpp).
// Stride-1 convs with few output channels per group (conv2d_bcast_may_pay: on
// AVX2, kh*kw > 1 and up to 64) run the broadcast conv (conv_bcast.h): output
// channels in the vector lanes, the input read in place; the GEMM's bits.
//
// conv_transpose2d: a job is one batch item, group and chunk of output
// channels. The GEMM A [(k, ky, kx), Cg] x x_g [Cg, pixels] (the chunk's taps);
// as each tile group's C block leaves it, a col2im pass adds each entry into
// the output pixel it lands on (conv_transpose_scatter.h), taps in decreasing
// order, so every output pixel receives its contributions in increasing
// (iy, ix) order however the input is cut. Each output channel belongs to one
// job: deterministic, no atomics. y starts as the bias; the activation runs
// once all contributions are in.
//
// A conv below parallel.h's work threshold runs on the calling thread (no
// fork/join): the same jobs, so the same bits.
//
// Summation order: every GEMM entry is the fma chain over (c, ky, kx)
// ascending from 0 (gemm.h), whatever the tile, ISA or thread count, so a
// tiled image equals the untiled one bit for bit on every ISA path.
#include "kernels/cpu/conv.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "kernels/cpu/conv_bcast.h"
#include "kernels/cpu/conv_gemm_jobs.h"
#include "kernels/cpu/conv_plane.h"
#include "kernels/cpu/conv_transpose_scatter.h"
#include "kernels/cpu/cpu_isa.h"
#include "kernels/cpu/gemm_narrow.h"
#include "kernels/cpu/parallel.h"

namespace fcnrt::cpu {

namespace {

// Widest tile of any micro-kernel (AVX-512: 48 pixels).
constexpr int64_t kMaxTile = 64;

// Pixels one gather_segments call covers at most, and the segments (pieces of
// one output row, at least 8 pixels wide but the first and last) they make.
constexpr int64_t kMaxSegmentPixels = 1024;
constexpr int64_t kMaxSegments = kMaxSegmentPixels / 8 + 2;

int64_t div_floor(int64_t a, int64_t b) {
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

int64_t div_ceil(int64_t a, int64_t b) {
    return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}

// Output columns [lo, hi) of a row whose input column ox*stride + start lies in
// [0, in): the only part of the row that reads (or writes) the input.
void valid_range(int64_t start, int64_t stride, int64_t in, int64_t out, int64_t* lo, int64_t* hi) {
    *lo = std::min(out, std::max<int64_t>(0, div_ceil(-start, stride)));
    *hi = std::max(*lo, std::min(out, div_floor(in - 1 - start, stride) + 1));
}

const PackedMatrix& group_matrix(const PackedConvWeights& packed, int64_t g, const GemmMicroKernel& mk) {
    if (g >= int64_t(packed.groups.size()) || packed.groups[g].mr != mk.mr)
        throw std::logic_error("conv weights were packed for another micro-kernel or group count");
    return packed.groups[g];
}

// Where conv2d's B entries come from, for the tiles of one plane (n, g),
// packed per group of tiles and reduction block (rows copied whole where every
// tap of the tile is inside the input and contiguous, else gathered with zeros):
// B[(c, ky, kx)][q] = x_g[c][oy*sh - pt + ky*dh][ox*sw - pl + kx*dw] for
// output pixel q = oy*OW + ox, 0 outside the input.
struct ConvColumns {
    const float* x_g;    // (Cg, H, W)
    const int64_t* off;  // per row r = (c, ky, kx): c*H*W + ky*dh*W + kx*dw (operator() only)
    int64_t h, w, ow, pixels, nr;
    int64_t kh, kw, sh, sw, dh, dw, pt, pl;
    bool flat;  // 1x1, stride 1, unpadded: output pixel q reads input pixel q

    // The input pointer of a full tile whose every tap is inside the input and
    // contiguous (row r of the tile at it + off[r]), else nullptr.
    const float* in_place(int64_t t) const {
        const int64_t p0 = t * nr;
        if (p0 + nr > pixels) return nullptr;
        if (flat) return x_g + p0;
        const int64_t oy = p0 / ow, ox0 = p0 % ow;
        const int64_t iy0 = oy * sh - pt, ix0 = ox0 - pl;
        if (sw == 1 && ox0 + nr <= ow && iy0 >= 0 && iy0 + (kh - 1) * dh < h && ix0 >= 0 &&
            ix0 + nr - 1 + (kw - 1) * dw < w)
            return x_g + iy0 * w + ix0;
        return nullptr;
    }

    // Tile t's rows [r0, r0 + kc) gathered with zeros for padding, into
    // dst (rows ld floats apart).
    void gather(int64_t t, int64_t r0, int64_t kc, float* dst, int64_t ld) const {
        if (sw == 1 && ow >= 8) {
            gather_segments(t, 1, r0, kc, dst, ld);
            return;
        }
        const int64_t p0 = t * nr;
        // Each column's first input row and column, then kc rows of taps.
        int64_t iy_base[kMaxTile], ix_base[kMaxTile];
        for (int64_t j = 0; j < nr; ++j) {
            const int64_t q = p0 + j;
            if (q < pixels) {
                iy_base[j] = q / ow * sh - pt;
                ix_base[j] = q % ow * sw - pl;
            } else {  // past the plane: never inside the input
                iy_base[j] = -(int64_t{1} << 40);
                ix_base[j] = 0;
            }
        }
        int64_t c = r0 / (kh * kw), ky = r0 / kw % kh, kx = r0 % kw;
        for (int64_t r = 0; r < kc; ++r) {
            const float* plane = x_g + c * h * w;
            const int64_t dy = ky * dh, dx = kx * dw;
            float* row = dst + r * ld;
            for (int64_t j = 0; j < nr; ++j) {
                const int64_t iy = iy_base[j] + dy, ix = ix_base[j] + dx;
                row[j] = (uint64_t(iy) < uint64_t(h) && uint64_t(ix) < uint64_t(w)) ? plane[iy * w + ix]
                                                                                    : 0.0f;
            }
            if (++kx == kw) {
                kx = 0;
                if (++ky == kh) {
                    ky = 0;
                    ++c;
                }
            }
        }
    }

    // gather for stride-1 width, of `tiles` consecutive tiles from t on (their
    // columns side by side): the tiles' pixels cut into segments that lie in
    // one output row each (past the plane: zeros); per B row and segment, one
    // input row's contiguous piece copied between runs of zeros (a tap row in
    // the padding: all zeros). The same entries as the element-wise gather;
    // several tiles at once make fewer, longer copies (small images: rows of
    // 32 to 64 pixels, every tile touching the padding).
    void gather_segments(int64_t t, int64_t tiles, int64_t r0, int64_t kc, float* dst,
                         int64_t ld) const {
        const int64_t p0 = t * nr, width = tiles * nr;
        int64_t seg_j[kMaxSegments], seg_len[kMaxSegments], seg_iy[kMaxSegments], seg_ix[kMaxSegments];
        int64_t segments = 0, valid = 0;
        for (int64_t j = 0; j < width && p0 + j < pixels;) {
            const int64_t q = p0 + j, oy = q / ow, ox = q % ow;
            const int64_t len = std::min(width - j, ow - ox);
            seg_j[segments] = j;
            seg_len[segments] = len;
            seg_iy[segments] = oy * sh - pt;
            seg_ix[segments] = ox - pl;
            ++segments;
            j += len;
            valid = j;
        }
        int64_t c = r0 / (kh * kw), ky = r0 / kw % kh, kx = r0 % kw;
        // Row r + kAhead's tap (ca, kya, kxa), stepped along with (c, ky, kx).
        constexpr int64_t kAhead = 6;  // rows: see pack_rows
        int64_t ca = (r0 + kAhead) / (kh * kw), kya = (r0 + kAhead) / kw % kh, kxa = (r0 + kAhead) % kw;
        for (int64_t r = 0; r < kc; ++r) {
            const float* plane = x_g + c * h * w;
            const int64_t dy = ky * dh, dx = kx * dw;
            float* row = dst + r * ld;
            if (r + kAhead < kc && kxa == 0) {
                // The input pieces of row r + kAhead's (c, ky), for all its kx
                // taps at once (they read one input row, shifted), line by line.
                const float* pa = x_g + ca * h * w;
                const int64_t ya = kya * dh, span = (kw - 1) * dw;
                for (int64_t s = 0; s < segments; ++s) {
                    const int64_t iy = seg_iy[s] + ya, ix = seg_ix[s];
                    const int64_t lo = std::clamp<int64_t>(-ix, 0, seg_len[s] + span);
                    const int64_t hi = std::clamp<int64_t>(w - ix, lo, seg_len[s] + span);
                    if (uint64_t(iy) >= uint64_t(h) || hi == lo) continue;
                    const char* q = reinterpret_cast<const char*>(pa + iy * w + ix + lo);
                    const char* end = q + sizeof(float) * size_t(hi - lo);
                    for (; q < end; q += 64) __builtin_prefetch(q);
                    __builtin_prefetch(end - 1);
                }
            }
            if (++kxa == kw) {
                kxa = 0;
                if (++kya == kh) {
                    kya = 0;
                    ++ca;
                }
            }
            for (int64_t s = 0; s < segments; ++s) {
                float* out = row + seg_j[s];
                const int64_t len = seg_len[s], iy = seg_iy[s] + dy, ix = seg_ix[s] + dx;
                if (uint64_t(iy) >= uint64_t(h)) {
                    std::fill(out, out + len, 0.0f);
                    continue;
                }
                // Columns [lo, hi) of the segment read inside the input row.
                const int64_t lo = std::clamp<int64_t>(-ix, 0, len);
                const int64_t hi = std::clamp<int64_t>(w - ix, lo, len);
                const float* in = plane + iy * w + (ix + lo);
                std::fill(out, out + lo, 0.0f);
                std::copy(in, in + (hi - lo), out + lo);
                std::fill(out + hi, out + len, 0.0f);
            }
            std::fill(row + valid, row + width, 0.0f);
            if (++kx == kw) {
                kx = 0;
                if (++ky == kh) {
                    ky = 0;
                    ++c;
                }
            }
        }
    }

    // The group's B block [kc][ld]: runs of consecutive in-place tiles that
    // continue each other in memory are copied one long piece per row, the
    // rest gathered (stride-1 widths: runs of tiles at once, else tile by tile).
    void operator()(int64_t t0, int64_t count, int64_t r0, int64_t kc, float* buf, int64_t ld) const {
        const bool segmented = sw == 1 && ow >= 8;
        if (segmented && !flat) {
            // Stride-1 width: the whole group in pieces of whole output rows,
            // in-place tiles and border ones alike (one copy per B row and
            // output row, its padding zeros beside it).
            const int64_t per_call = std::max<int64_t>(1, kMaxSegmentPixels / nr);
            for (int64_t u = 0; u < count; u += per_call)
                gather_segments(t0 + u, std::min(per_call, count - u), r0, kc, buf + u * nr, ld);
            return;
        }
        for (int64_t u = 0; u < count;) {
            const float* src = in_place(t0 + u);
            if (src == nullptr) {
                if (!segmented) {
                    gather(t0 + u, r0, kc, buf + u * nr, ld);
                    ++u;
                    continue;
                }
                // The run of tiles up to the next in-place one, in pieces whose
                // segments fit the arrays (at most width / 8 + 2 of them).
                int64_t run = 1;
                while (u + run < count && (run + 1) * nr <= kMaxSegmentPixels &&
                       in_place(t0 + u + run) == nullptr)
                    ++run;
                gather_segments(t0 + u, run, r0, kc, buf + u * nr, ld);
                u += run;
                continue;
            }
            int64_t run = 1;
            while (u + run < count && in_place(t0 + u + run) == src + run * nr) ++run;
            pack_rows(src, off + r0, kc, run * nr, buf + u * nr, ld);
            u += run;
        }
    }
};

// A thread's virtual output row for conv2d_direct_padded's plane mode.
float* plane_sums_scratch(int64_t count) {
    thread_local std::vector<float> buffer;
    if (static_cast<int64_t>(buffer.size()) < count) buffer.resize(count);
    return buffer.data();
}

// Short pieces of B rows, copied inline: a small plane's B row is made of
// pieces of a few floats (one output row each), where a memmove call costs more
// than the copy. Whole 4-float moves, the last one overlapping the previous.
inline void copy_short(const float* s, float* d, int64_t n) {
    if (n >= 4) {
        int64_t i = 0;
        for (; i + 4 <= n; i += 4) std::memcpy(d + i, s + i, 4 * sizeof(float));
        if (i < n) std::memcpy(d + n - 4, s + n - 4, 4 * sizeof(float));
        return;
    }
    if (n > 0) d[0] = s[0];
    if (n > 1) d[1] = s[1];
    if (n > 2) d[2] = s[2];
}

inline void zero_short(float* d, int64_t n) {
    static const float zeros[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    if (n >= 4) {
        int64_t i = 0;
        for (; i + 4 <= n; i += 4) std::memcpy(d + i, zeros, 4 * sizeof(float));
        if (i < n) std::memcpy(d + n - 4, zeros, 4 * sizeof(float));
        return;
    }
    if (n > 0) d[0] = 0.0f;
    if (n > 1) d[1] = 0.0f;
    if (n > 2) d[2] = 0.0f;
}

// Output planes of up to this many pixels take conv2d_gemm's small-plane form
// (SmallPlaneColumns): their rows are too short for in-place tiles, and a
// plane's B block (kc rows of the plane) stays within 256 KiB.
constexpr int64_t kSmallPlanePixels = 256;

// Columns SmallPlaneColumns::operator() cuts into pieces at most (a group of
// tiles of the widest micro-kernel, 16 x 64).
constexpr int64_t kMaxSmallColumns = 16 * kMaxTile;

// Where conv2d_gemm's B entries come from for small output planes: columns
// j = n * OH*OW + q over every batch item n and output pixel q = oy*OW + ox of
// one group g, so that tiles run across output rows and batch items alike
// (a 1-pixel plane at batch 64: 4 tiles of 16 items against one pass over the
// weights instead of 64 passes). B[(c, ky, kx)][j] = x[n][g*Cg + c][oy*sh - pt
// + ky*dh][ox*sw - pl + kx*dw], 0 outside the input: the same entries as
// ConvColumns gives per plane, so the same chains and bits. A group's block is
// built row by row: per B row, one piece per (item, output row) in the group,
// copied inline from the input row (stride 1) or gathered (strided), between
// its padding zeros.
struct SmallPlaneColumns {
    const float* x_g;     // item 0's (Cg, H, W) of the group
    int64_t item_stride;  // floats between items (x.batch_stride)
    int64_t h, w, ow, pixels, columns, nr;
    int64_t kh, kw, sh, sw, dh, dw, pt, pl;

    void operator()(int64_t t0, int64_t count, int64_t r0, int64_t kc, float* buf, int64_t ld) const {
        const int64_t j0 = t0 * nr, width = count * nr;
        const int64_t valid = std::min(width, columns - j0);
        // The pieces: one output row of one item each; off: the input offset
        // of the piece's first tap (ky = kx = 0 of its first pixel, perhaps
        // outside the input).
        int64_t seg_j[kMaxSmallColumns], seg_len[kMaxSmallColumns], seg_iy[kMaxSmallColumns],
            seg_ix[kMaxSmallColumns], seg_off[kMaxSmallColumns];
        bool seg_inside[kMaxSmallColumns];  // every tap of the piece inside the input
        int64_t segments = 0;
        bool all_inside = sw == 1;
        for (int64_t j = 0; j < valid;) {
            const int64_t n = (j0 + j) / pixels, q = (j0 + j) % pixels, oy = q / ow, ox = q % ow;
            const int64_t len = std::min(valid - j, ow - ox);
            const int64_t iy = oy * sh - pt, ix = ox * sw - pl;
            seg_j[segments] = j;
            seg_len[segments] = len;
            seg_iy[segments] = iy;
            seg_ix[segments] = ix;
            seg_off[segments] = n * item_stride + iy * w + ix;
            seg_inside[segments] = iy >= 0 && iy + (kh - 1) * dh < h && ix >= 0 &&
                                   ix + (len - 1) * sw + (kw - 1) * dw < w;
            all_inside = all_inside && seg_inside[segments];
            ++segments;
            j += len;
        }
        int64_t c = r0 / (kh * kw), ky = r0 / kw % kh, kx = r0 % kw;
        for (int64_t r = 0; r < kc; ++r) {
            const int64_t dy = ky * dh, dx = kx * dw;
            const int64_t tap = c * h * w + dy * w + dx;  // row r's offset from a piece's first tap
            float* row = buf + r * ld;
            if (all_inside) {  // unpadded stride-1 convs: plain copies
                for (int64_t s = 0; s < segments; ++s)
                    copy_short(x_g + (seg_off[s] + tap), row + seg_j[s], seg_len[s]);
            } else {
                for (int64_t s = 0; s < segments; ++s) piece(seg_len[s], seg_iy[s] + dy, seg_ix[s] + dx,
                                                             seg_inside[s], seg_off[s] + tap,
                                                             row + seg_j[s]);
            }
            zero_short(row + valid, width - valid);
            if (++kx == kw) {
                kx = 0;
                if (++ky == kh) {
                    ky = 0;
                    ++c;
                }
            }
        }
    }

    // One piece of a B row: len columns whose taps are at input row iy,
    // columns ix + i*sw, input offset at + i*sw (i < len).
    void piece(int64_t len, int64_t iy, int64_t ix, bool inside, int64_t at, float* out) const {
        if (inside && sw == 1) {
            copy_short(x_g + at, out, len);
            return;
        }
        if (uint64_t(iy) >= uint64_t(h)) {
            zero_short(out, len);
            return;
        }
        // Columns [lo, hi) of the piece read inside the input row.
        int64_t lo, hi;
        if (sw == 1) {
            lo = std::clamp<int64_t>(-ix, 0, len);
            hi = std::clamp<int64_t>(w - ix, lo, len);
            copy_short(x_g + (at + lo), out + lo, hi - lo);
        } else {
            lo = std::clamp<int64_t>(div_ceil(-ix, sw), 0, len);
            hi = std::clamp<int64_t>(div_floor(w - 1 - ix, sw) + 1, lo, len);
            const float* in = x_g + (at + lo * sw);  // column i at in[(i - lo) * sw]
            for (int64_t i = lo; i < hi; ++i) out[i] = in[(i - lo) * sw];
        }
        zero_short(out, lo);
        zero_short(out + hi, len - hi);
    }
};

// A thread's ring of padded input rows for conv2d_direct_padded.
float* depthwise_scratch(int64_t count) {
    thread_local std::vector<float> buffer;
    if (static_cast<int64_t>(buffer.size()) < count) buffer.resize(count);
    return buffer.data();
}

// Input row in[0, w) zero-padded by pl on the left (and as far as needed on the
// right), split by column phase: padded column j*sw + ph (input column
// j*sw + ph - pl) at dst[ph*phase_pitch + j], for ph < sw and j < wq.
void pad_row(const float* in, int64_t w, int64_t pl, int64_t sw, int64_t wq, int64_t phase_pitch,
             float* dst) {
    if (sw == 1) {
        const int64_t lo = std::clamp<int64_t>(pl, 0, wq), hi = std::clamp<int64_t>(pl + w, lo, wq);
        std::fill(dst, dst + lo, 0.0f);
        std::copy(in + (lo - pl), in + (hi - pl), dst + lo);
        std::fill(dst + hi, dst + wq, 0.0f);
        return;
    }
    if (sw == 2) {  // both phases in one pass (a vectorised deinterleave) where both are inside
        int64_t lo[2], hi[2];
        for (int64_t ph = 0; ph < 2; ++ph) {
            lo[ph] = std::clamp<int64_t>(div_ceil(pl - ph, 2), 0, wq);
            hi[ph] = std::clamp<int64_t>(div_floor(w - 1 + pl - ph, 2) + 1, lo[ph], wq);
        }
        float* d0 = dst;
        float* d1 = dst + phase_pitch;
        const int64_t a = std::max(lo[0], lo[1]), b = std::max(a, std::min(hi[0], hi[1]));
        std::fill(d0, d0 + lo[0], 0.0f);
        std::fill(d1, d1 + lo[1], 0.0f);
        for (int64_t j = lo[0]; j < a; ++j) d0[j] = in[2 * j - pl];
        for (int64_t j = lo[1]; j < a; ++j) d1[j] = in[2 * j + 1 - pl];
        const float* s = in + 2 * a - pl;
        const int64_t n = b - a;
        float* e0 = d0 + a;
        float* e1 = d1 + a;
        for (int64_t j = 0; j < n; ++j) {
            e0[j] = s[2 * j];
            e1[j] = s[2 * j + 1];
        }
        for (int64_t j = b; j < hi[0]; ++j) d0[j] = in[2 * j - pl];
        for (int64_t j = b; j < hi[1]; ++j) d1[j] = in[2 * j + 1 - pl];
        std::fill(d0 + hi[0], d0 + wq, 0.0f);
        std::fill(d1 + hi[1], d1 + wq, 0.0f);
        return;
    }
    for (int64_t ph = 0; ph < sw; ++ph) {
        float* d = dst + ph * phase_pitch;
        // j in [lo, hi): input column j*sw + ph - pl inside [0, w)
        const int64_t lo = std::clamp<int64_t>(div_ceil(pl - ph, sw), 0, wq);
        const int64_t hi = std::clamp<int64_t>(div_floor(w - 1 + pl - ph, sw) + 1, lo, wq);
        const float* s = in + ph - pl;
        std::fill(d, d + lo, 0.0f);
        for (int64_t j = lo; j < hi; ++j) d[j] = s[j * sw];
        std::fill(d + hi, d + wq, 0.0f);
    }
}

// Output channels (GEMM rows, a multiple of mr) per job of conv2d's GEMM.
// gemm_tiles keeps a C block of rows x (group x nr) in L2 (gemm_tile_group),
// so many rows mean small tile groups: with 4096 rows one tile of 16 pixels per
// pass over A, which then streams from memory at 8 FLOP per byte (the dilation
// net's fc6). Past kMaxChunkRows the rows are cut into even chunks, each its
// own jobs, so the tile group stays full and each A block serves 8 tiles.
// The summation order of every output is untouched (gemm.h).
constexpr int64_t kMaxChunkRows = 512;

}  // namespace

int64_t conv_gemm_chunk_rows(const GemmMicroKernel& mk, int64_t kg) {
    const int64_t panels = (kg + mk.mr - 1) / mk.mr;
    const int64_t max_panels = std::max<int64_t>(1, kMaxChunkRows / mk.mr);
    const int64_t chunks = (panels + max_panels - 1) / max_panels;
    return (panels + chunks - 1) / chunks * mk.mr;
}

namespace {

}  // namespace

const ConvDirectKernel& active_conv_direct_kernel() {
    switch (active_cpu_isa()) {
        case CpuIsa::Avx512: return conv_direct_kernel_avx512();
        case CpuIsa::Avx512Sim: return conv_direct_kernel_avx512sim();
        case CpuIsa::Avx2: return conv_direct_kernel_avx2();
        case CpuIsa::Portable: break;
    }
    return conv_direct_kernel_portable();
}

bool conv2d_runs_direct(int64_t cg, int64_t kg, int64_t kh, int64_t kw) {
    // One input channel: the GEMM's A would have a handful of columns and its B
    // packing would cost as much as the sums. A few input channels with a short
    // reduction and few outputs: the GEMM's 6-row panels would sit mostly idle.
    // RGB first layers with 12 or more outputs run the GEMM (measured, AVX2,
    // one thread, CPU time: 3x3 c3 -> 64 on 900x900 59 against the direct rows'
    // 74 ms, FCN-8s' pad-100 conv1_1 39 against 45 ms, c3 -> 16 and 32 on 512x512
    // 1.2-1.3x; direct still 1.2-1.5x ahead at 4 and 8 outputs).
    return cg == 1 || (cg <= 4 && cg * kh * kw <= 75 && kg < 12);
}

std::shared_ptr<const PackedConvWeights> pack_conv2d_weights(const View& weight, int groups) {
    if (conv2d_runs_direct(weight.c, weight.n / groups, weight.h, weight.w))
        return std::make_shared<PackedConvWeights>();  // the direct kernel reads the weights as they are
    auto packed = pack_conv2d_weights_for_gemm(active_micro_kernel(), weight, groups);
    if (conv2d_bcast_may_pay(weight.c, weight.n / groups, weight.h, weight.w))
        std::const_pointer_cast<PackedConvWeights>(packed)->bcast =
            pack_conv2d_weights_bcast(active_conv_bcast_kernel(), weight, groups);
    return packed;
}

std::shared_ptr<const PackedConvWeights> pack_conv2d_weights(const View& weight, const Conv2dParams& p) {
    const int64_t kg = weight.n / p.groups;
    if (conv2d_runs_direct(weight.c, kg, weight.h, weight.w) || !conv2d_bcast_applies(p) ||
        !conv2d_bcast_may_pay(weight.c, kg, weight.h, weight.w))
        return pack_conv2d_weights(weight, p.groups);
    auto packed = std::make_shared<PackedConvWeights>();
    packed->bcast = pack_conv2d_weights_bcast(active_conv_bcast_kernel(), weight, p.groups);
    packed->plane = make_conv_plane_weights();
    return packed;
}

std::shared_ptr<const PackedConvWeights> pack_conv2d_weights_for_gemm(const GemmMicroKernel& mk,
                                                                      const View& weight, int groups) {
    auto packed = std::make_shared<PackedConvWeights>();
    packed->windows = make_conv_tap_windows();
    packed->plane = make_conv_plane_weights();
    const int64_t kg = weight.n / groups, reduce = weight.c * weight.h * weight.w;
    for (int64_t g = 0; g < groups; ++g)
        packed->groups.push_back(
            pack_matrix(mk.mr, weight.f32() + g * kg * reduce, kg, reduce, reduce, 1));
    return packed;
}

std::shared_ptr<const PackedConvWeights> pack_conv_transpose2d_weights(const View& weight,
                                                                       int groups) {
    auto packed = std::make_shared<PackedConvWeights>();
    const int64_t cg = weight.n / groups, rows = weight.c * weight.h * weight.w;  // (Kg, kh, kw)
    for (int64_t g = 0; g < groups; ++g)
        packed->groups.push_back(pack_matrix(weight.f32() + g * cg * rows, rows, cg, 1, rows));
    return packed;
}

size_t conv2d_scratch_bytes(int64_t cg, int64_t kg, int64_t kh, int64_t kw) {
    if (conv2d_runs_direct(cg, kg, kh, kw)) return 0;  // no scratch: rows go straight to y
    const GemmMicroKernel& mk = active_micro_kernel();
    size_t bytes = gemm_scratch_bytes(mk, conv_gemm_chunk_rows(mk, kg));
    if (conv2d_bcast_may_pay(cg, kg, kh, kw))
        bytes = std::max(bytes, conv2d_bcast_scratch_bytes(active_conv_bcast_kernel(), kg));
    return bytes;
}

size_t conv_transpose2d_scratch_bytes(int64_t cg, int64_t kg, int64_t kh, int64_t kw) {
    const GemmMicroKernel& mk = active_micro_kernel();
    const int64_t taps = kg * kh * kw;  // at most: a job's channel chunk may be all of Kg
    return gemm_scratch_bytes(mk, taps);
}

namespace {

// RGB first layers (up to 4 input channels, 75 taps) that conv2d_direct would
// run on padded rows (stride 1, the columns with a tap in the padding over a
// quarter of the row, as conv2d_direct decides): there the direct kernel beats
// the GEMM also with many outputs (FCN-8s' pad-100 conv1_1: 43 against 46 ms,
// one thread, CPU time), the GEMM summing the padding's zeros as well.
bool rgb_conv_heavily_padded(const View& x, const View& weight, const View& y, const Conv2dParams& p) {
    const int64_t cg = x.c / p.groups, kw = weight.w;
    if (cg > 4 || cg * weight.h * kw > 75 || p.stride[0] != 1 || p.stride[1] != 1) return false;
    int64_t ox_lo = 0, ox_hi = y.w;
    for (int64_t kx = 0; kx < kw; ++kx) {
        int64_t lo, hi;
        valid_range(kx * p.dilation[1] - p.pads[1], 1, x.w, y.w, &lo, &hi);
        ox_lo = std::max(ox_lo, lo);
        ox_hi = std::min(ox_hi, hi);
    }
    return 4 * (y.w - std::max<int64_t>(0, ox_hi - ox_lo)) > y.w;
}

}  // namespace

size_t conv2d_call_scratch_bytes(const View& x, const View& weight, const View& y, const Conv2dParams& p) {
    // The branches of conv2d_packed that keep scratch growing with the image;
    // the earlier ones (direct, plane, broadcast) are left in, as they may
    // depend on how the weights were packed.
    if (conv2d_tap_windows_pay(x, weight, y, p)) return conv2d_tap_windows_scratch_bytes(x, weight, y, p);
    if (conv2d_gemm_phases_applies(y, p)) return conv2d_gemm_phases_scratch_bytes(x, weight, y, p);
    return 0;
}

void conv2d_packed(const View& x, const View& weight, const PackedConvWeights& packed,
                   const float* bias, const View& y, const Conv2dParams& p) {
    if (conv2d_runs_direct(x.c / p.groups, y.c / p.groups, weight.h, weight.w) ||
        rgb_conv_heavily_padded(x, weight, y, p)) {
        conv2d_direct(active_conv_direct_kernel(), x, weight, bias, y, p);
    } else if (const BcastWeights* pw = conv2d_prefers_plane(x, weight, y, p)
                                            ? conv2d_plane_weights(active_conv_plane_kernel(), packed, weight,
                                                                   p.groups)
                                            : nullptr) {
        // Unpadded convs onto small planes (conv_plane.h).
        conv2d_plane(active_conv_plane_kernel(), x, weight, *pw, bias, y, p);
    } else if (packed.groups.empty() && packed.bcast != nullptr) {
        // Weights packed for the broadcast conv alone (pack_conv2d_weights with p).
        conv2d_bcast(active_conv_bcast_kernel(), x, weight, *packed.bcast, bias, y, p);
    } else if (conv2d_tap_windows_pay(x, weight, y, p)) {
        conv2d_gemm_tap_windows(active_micro_kernel(), x, weight, packed, bias, y, p);
    } else if (packed.bcast != nullptr && conv2d_prefers_bcast(x.c / p.groups, y.c / p.groups, weight.h,
                                                               weight.w, p, y.h, y.w)) {
        conv2d_bcast(active_conv_bcast_kernel(), x, weight, *packed.bcast, bias, y, p);
    } else if (conv2d_gemm_phases_applies(y, p)) {
        conv2d_gemm_phases(active_micro_kernel(), x, weight, packed, bias, y, p);
    } else {
        conv2d_gemm(active_micro_kernel(), x, weight, packed, bias, y, p);
    }
}

namespace {

// Plane mode of conv2d_direct_padded (conv2d_direct_whole_planes): each job is a
// whole plane (n, g), its input padded once into sh*sw phase planes (padded row
// r, column c at phase (r % sh, c % sw), row r / sh, column c / sw; pitch wq).
// Output row oy's tap (c, ky, kx) then reads wq*oy floats after output row 0's,
// so the plane is one virtual row of (oh - 1)*wq + ow pixels, output pixel
// (oy, ox) at oy*wq + ox (the wq - ow between rows are computed and dropped):
// one ConvDirectKernel::taps_row call per output channel, every pixel in full
// vector blocks but the last (per row, a row of 33 pixels would end in a single
// vector, a chain of kh*kw dependent fmas), into a scratch row that the epilogue
// then writes to y row by row. Every output is the same chain as in row mode.
struct PlaneLayout {
    int64_t wq, rq;  // columns and rows of one phase plane
    int64_t floats;  // the padded input of one plane: Cg * sh * sw * rq * wq
};

PlaneLayout plane_layout(const View& x, const View& weight, const View& y, const Conv2dParams& p) {
    const int64_t sh = p.stride[0], sw = p.stride[1];
    PlaneLayout l;
    l.wq = y.w + (weight.w - 1) * p.dilation[1] / sw;
    l.rq = y.h + (weight.h - 1) * p.dilation[0] / sh;
    l.floats = (x.c / p.groups) * sh * sw * l.rq * l.wq;
    return l;
}

// Largest padded plane (floats) a plane-mode job copies: 32 KiB, within L1.
// Bigger maps keep the ring of padded rows (measured on DeepLab's 130x130 maps:
// slower as planes; their rows are long enough that a call per row costs little).
constexpr int64_t kPlaneModeFloats = 8 * 1024;

// Plane mode's epilogue: sums (oh rows, pitch wq) -> y's plane (oh rows of ow),
// bias, the residual plane r (nullptr when none) and the activation, row by row.
inline void plane_epilogue(const float* sums, int64_t wq, float* out, int64_t oh, int64_t ow, float bias,
                           const float* r, ActivationParams act) {
    for (int64_t oy = 0; oy < oh; ++oy) {
        if (r != nullptr) {
            bias_residual_activation(sums + oy * wq, out + oy * ow, ow, bias, r + oy * ow, act);
        } else {
            bias_activation(sums + oy * wq, out + oy * ow, ow, bias, act);
        }
    }
}

// The same built for AVX2 (8 lanes instead of SSE2's 4; the rest of this file is
// baseline x86-64), used where the CPU has it (the AVX2 and AVX-512 paths). AVX2
// without FMA: the compiler cannot contract a multiply and an add, so every
// output is the same float ops and bits as plane_epilogue's (and the unfused ops').
#if defined(__GNUC__) && defined(__x86_64__)
__attribute__((target("avx2"))) void plane_epilogue_avx(const float* sums, int64_t wq, float* out, int64_t oh,
                                                       int64_t ow, float bias, const float* r,
                                                       ActivationParams act) {
    plane_epilogue(sums, wq, out, oh, ow, bias, r, act);
}
#else
void plane_epilogue_avx(const float* sums, int64_t wq, float* out, int64_t oh, int64_t ow, float bias,
                        const float* r, ActivationParams act) {
    plane_epilogue(sums, wq, out, oh, ow, bias, r, act);
}
#endif

void conv2d_direct_planes(const ConvDirectKernel& dk, const View& x, const View& weight,
                          const float* bias, const View& y, const Conv2dParams& p, bool threaded = true) {
    const int64_t cg = x.c / p.groups, kg = y.c / p.groups;
    const int64_t kh = weight.h, kw = weight.w;
    const int64_t sh = p.stride[0], sw = p.stride[1], dh = p.dilation[0], dw = p.dilation[1];
    const int64_t pt = p.pads[0], pl = p.pads[1];
    const int64_t h = x.h, w = x.w, oh = y.h, ow = y.w;
    const PlaneLayout l = plane_layout(x, weight, y, p);
    const int64_t phase = l.rq * l.wq;         // one phase plane
    const int64_t channel = sh * sw * phase;   // one input channel's phase planes
    std::vector<int64_t> col(static_cast<size_t>(kw));  // tap kx's column phase and offset
    for (int64_t kx = 0; kx < kw; ++kx) col[kx] = kx * dw % sw * phase + kx * dw / sw;
    std::vector<int64_t> row(static_cast<size_t>(kh));  // tap ky's row phase and row, output row 0
    for (int64_t ky = 0; ky < kh; ++ky) row[ky] = (ky * dh % sh * sw * l.rq + ky * dh / sh) * l.wq;
    const int64_t planes = y.n * p.groups;
    const int64_t wstride = cg * kh * kw;  // weights of one output channel
    const bool residual = p.residual.data != nullptr;
    const bool avx = cpu_avx2_helpers();
#pragma omp parallel for schedule(static) if (threaded)
    for (int64_t plane = 0; plane < planes; ++plane) {
        const int64_t n = plane / p.groups, g = plane % p.groups;
        const float* in = x.f32() + x.offset(n, g * cg, 0, 0);  // (Cg, H, W)
        float* buf = depthwise_scratch(l.floats);
        for (int64_t c = 0; c < cg; ++c) {
            for (int64_t rp = 0; rp < sh; ++rp) {
                for (int64_t q = 0; q < l.rq; ++q) {
                    float* dst = buf + c * channel + (rp * sw * l.rq + q) * l.wq;
                    const int64_t iy = q * sh + rp - pt;
                    if (uint64_t(iy) < uint64_t(h)) {
                        pad_row(in + (c * h + iy) * w, w, pl, sw, l.wq, phase, dst);
                    } else {
                        for (int64_t cp = 0; cp < sw; ++cp) std::fill(dst + cp * phase, dst + cp * phase + l.wq, 0.0f);
                    }
                }
            }
        }
        const float* rows[64];  // (c, ky), cg * kh <= 64 (conv2d_direct_whole_planes)
        for (int64_t c = 0; c < cg; ++c)
            for (int64_t ky = 0; ky < kh; ++ky) rows[c * kh + ky] = buf + c * channel + row[ky];
        // Blocks of dk.mr channels at once (taps_rows: each input vector loaded
        // once per tap for all of them), then the rest one by one.
        const int64_t count = (oh - 1) * l.wq + ow, pitch = oh * l.wq;
        float* sums = plane_sums_scratch(dk.mr * pitch);
        for (int64_t m0 = 0; m0 < kg;) {
            const int64_t block = kg - m0 >= dk.mr ? dk.mr : 1;
            const float* wk = weight.f32() + (g * kg + m0) * wstride;
            if (block > 1) {
                dk.taps_rows(rows, col.data(), cg * kh, kw, wk, wstride, count, sums, pitch);
            } else {
                dk.taps_row(rows, col.data(), cg * kh, kw, wk, count, sums);
            }
            for (int64_t u = 0; u < block; ++u) {
                const int64_t k = g * kg + m0 + u;
                const float* r = residual ? p.residual.f32() + p.residual.offset(n, k, 0, 0) : nullptr;
                const float bk = bias ? bias[k] : 0.0f;
                float* out = y.f32() + y.offset(n, k, 0, 0);
                if (avx) {
                    plane_epilogue_avx(sums + u * pitch, l.wq, out, oh, ow, bk, r, p.act);
                } else {
                    plane_epilogue(sums + u * pitch, l.wq, out, oh, ow, bk, r, p.act);
                }
            }
            m0 += block;
        }
    }
}

// Direct convs on padded rows: depthwise convs (one input and one output
// channel per group) and strided direct convs (RGB first layers, where the
// row kernels would gather the strided input lane by lane). A job is a run of
// output rows of one plane (n, g), jobs split statically over the threads.
// The input rows a job reads are copied once each into a ring of zero-padded
// rows per input channel, split by column phase when strided (padded column
// j*sw + ph at ph*wq + j), so that every tap (c, ky, kx) of an output row reads
// one contiguous piece and the whole row is vectorised
// (ConvDirectKernel::taps_row over cg*kh rows (c, ky)); rows in the padding
// read a row of zeros. Every output is the fma chain over (c, ky, kx) with the
// padding's zeros, as in the other direct forms and the GEMM.
// Small maps run as whole planes instead (conv2d_direct_planes).
void conv2d_direct_padded(const ConvDirectKernel& dk, const View& x, const View& weight,
                          const float* bias, const View& y, const Conv2dParams& p) {
    if (conv2d_direct_whole_planes(x, weight, y, p)) {
        conv2d_direct_planes(dk, x, weight, bias, y, p);
        return;
    }
    const int64_t cg = x.c / p.groups, kg = y.c / p.groups;
    const int64_t kh = weight.h, kw = weight.w;
    const int64_t sh = p.stride[0], sw = p.stride[1], dh = p.dilation[0], dw = p.dilation[1];
    const int64_t pt = p.pads[0], pl = p.pads[1];
    const int64_t h = x.h, w = x.w, oh = y.h, ow = y.w;
    const int64_t wq = ow + (kw - 1) * dw / sw + 1;  // one phase of a padded row
    const int64_t row_len = sw * wq;
    const int64_t ring = std::min((kh - 1) * dh + 1, h);  // input rows one output row spans
    std::vector<int64_t> col(static_cast<size_t>(kw));   // tap kx's piece in a padded row
    for (int64_t kx = 0; kx < kw; ++kx) col[kx] = kx * dw % sw * wq + kx * dw / sw;
    const int64_t planes = y.n * p.groups;
    const int64_t wanted = kConvJobsPerThread * omp_get_max_threads();
    const int64_t chunks = std::clamp<int64_t>((wanted + planes - 1) / planes, 1, oh);
    const int64_t rows_per_chunk = (oh + chunks - 1) / chunks;
    const int64_t wstride = cg * kh * kw;  // weights of one output channel
    const bool residual = p.residual.data != nullptr;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t plane = 0; plane < planes; ++plane) {
        for (int64_t chunk = 0; chunk < chunks; ++chunk) {
            const int64_t n = plane / p.groups, g = plane % p.groups;
            const int64_t oy0 = chunk * rows_per_chunk, oy1 = std::min(oh, oy0 + rows_per_chunk);
            if (oy0 >= oy1) continue;
            const float* in = x.f32() + x.offset(n, g * cg, 0, 0);  // (Cg, H, W)
            float* buf = depthwise_scratch((cg * ring + 1) * row_len);  // (Cg, ring) rows, then zeros
            float* zero = buf + cg * ring * row_len;
            std::fill(zero, zero + row_len, 0.0f);
            std::vector<int64_t> held(static_cast<size_t>(ring), -1);  // input row in each slot
            std::vector<const float*> rows(static_cast<size_t>(cg * kh));  // (c, ky)
            for (int64_t oy = oy0; oy < oy1; ++oy) {
                for (int64_t ky = 0; ky < kh; ++ky) {
                    const int64_t iy = oy * sh - pt + ky * dh;
                    if (uint64_t(iy) >= uint64_t(h)) {
                        for (int64_t c = 0; c < cg; ++c) rows[c * kh + ky] = zero;
                        continue;
                    }
                    const int64_t slot = iy % ring;
                    if (held[slot] != iy) {
                        held[slot] = iy;
                        for (int64_t c = 0; c < cg; ++c)
                            pad_row(in + (c * h + iy) * w, w, pl, sw, wq, wq, buf + (c * ring + slot) * row_len);
                    }
                    for (int64_t c = 0; c < cg; ++c) rows[c * kh + ky] = buf + (c * ring + slot) * row_len;
                }
                for (int64_t m = 0; m < kg; ++m) {
                    const int64_t k = g * kg + m;
                    float* out = y.f32() + y.offset(n, k, oy, 0);
                    dk.taps_row(rows.data(), col.data(), cg * kh, kw, weight.f32() + k * wstride, ow, out);
                    epilogue_run(out, ow, bias ? bias[k] : 0.0f,
                                 residual ? p.residual.f32() + p.residual.offset(n, k, oy, 0) : nullptr,
                                 p.act);
                }
            }
        }
    }
}

}  // namespace

bool conv2d_direct_whole_planes(const View& x, const View& weight, const View& y, const Conv2dParams& p) {
    const int64_t planes = y.n * p.groups;
    return (x.c / p.groups) * weight.h <= 64 && plane_layout(x, weight, y, p).floats <= kPlaneModeFloats &&
           planes >= kConvJobsPerThread * omp_get_max_threads();
}

bool conv2d_direct_small_planes(const View& x, const View& weight, const View& y, const Conv2dParams& p) {
    const int64_t cg = x.c / p.groups, kg = y.c / p.groups;
    return p.stride[0] == 1 && p.stride[1] == 1 && kg > 1 && cg * weight.h <= 64 &&
           plane_layout(x, weight, y, p).floats <= kPlaneModeFloats &&
           !worth_threads(2.0 * double(y.numel()) * double(cg * weight.h * weight.w));
}

void conv2d_direct(const ConvDirectKernel& dk, const View& x, const View& weight, const float* bias,
                   const View& y, const Conv2dParams& p, bool small_planes) {
    const int64_t cg = x.c / p.groups, kg = y.c / p.groups;
    const int64_t kh = weight.h, kw = weight.w;
    if (y.numel() == 0) return;
    if ((cg == 1 && kg == 1) || p.stride[1] > 1) {
        conv2d_direct_padded(dk, x, weight, bias, y, p);
        return;
    }
    if (small_planes && conv2d_direct_small_planes(x, weight, y, p)) {
        conv2d_direct_planes(dk, x, weight, bias, y, p, false);
        return;
    }
    DirectConvRow g;
    g.cg = cg;
    g.h = x.h;
    g.w = x.w;
    g.kh = kh;
    g.kw = kw;
    g.sh = p.stride[0];
    g.sw = p.stride[1];
    g.dh = p.dilation[0];
    g.dw = p.dilation[1];
    g.pt = p.pads[0];
    g.pl = p.pads[1];
    g.ow = y.w;
    // Columns where every kx is inside the input row: the intersection of each kx's range.
    g.ox_lo = 0;
    g.ox_hi = y.w;
    for (int64_t kx = 0; kx < kw; ++kx) {
        int64_t lo, hi;
        valid_range(kx * g.dw - g.pl, g.sw, x.w, y.w, &lo, &hi);
        g.ox_lo = std::max(g.ox_lo, lo);
        g.ox_hi = std::min(g.ox_hi, hi);
    }
    if (g.ox_hi < g.ox_lo) g.ox_hi = g.ox_lo;
    // Rows whose border (columns with a tap in the padding, run pixel by pixel
    // with bounds tests here) is over a quarter of the row run on padded rows
    // instead, every pixel vectorised: FCN-8s' first conv (pad 100) had 29% of
    // its columns there. The same fma chains with the padding's zeros.
    if (4 * (y.w - (g.ox_hi - g.ox_lo)) > y.w) {
        conv2d_direct_padded(dk, x, weight, bias, y, p);
        return;
    }
    const bool residual = p.residual.data != nullptr;
    // Work items: (n, group, block of dk.mr output channels of the group, output
    // row), consecutive rows of a block on one thread. A group's last channels
    // (fewer than mr) are single-channel blocks, each a row of its own.
    const int64_t mr = dk.mr;
    const int64_t full = kg / mr;                  // multi-channel blocks per group
    const int64_t blocks = full + (kg - full * mr);  // plus single channels
    const int64_t rstride = cg * kh * kw;          // weights of one output channel
    const bool threaded = worth_threads(2.0 * double(y.numel()) * double(rstride));
#pragma omp parallel for collapse(4) schedule(static) if (threaded)
    for (int64_t n = 0; n < y.n; ++n) {
        for (int64_t grp = 0; grp < p.groups; ++grp) {
            for (int64_t b = 0; b < blocks; ++b) {
                for (int64_t oy = 0; oy < y.h; ++oy) {
                    const float* planes = x.f32() + x.offset(n, grp * cg, 0, 0);  // (Cg, H, W)
                    const int64_t k0 = grp * kg + (b < full ? b * mr : full * mr + (b - full));
                    const int64_t count = b < full ? mr : 1;
                    const float* wk = weight.f32() + k0 * rstride;  // (count, Cg, kh, kw)
                    float* out = y.f32() + y.offset(n, k0, oy, 0);  // (count rows of OW, a plane apart)
                    const int64_t ostride = y.h * y.w;
                    if (count == 1) {
                        dk.row(g, planes, wk, oy, out);
                    } else {
                        dk.rows(g, planes, wk, rstride, oy, out, ostride);
                    }
                    for (int64_t m = 0; m < count; ++m) {
                        const int64_t k = k0 + m;
                        epilogue_run(out + m * ostride, y.w, bias ? bias[k] : 0.0f,
                                     residual ? p.residual.f32() + p.residual.offset(n, k, oy, 0)
                                              : nullptr,
                                     p.act);
                    }
                }
            }
        }
    }
}

void conv2d_gemm(const GemmMicroKernel& mk, const View& x, const View& weight,
                 const PackedConvWeights& packed, const float* bias, const View& y,
                 const Conv2dParams& p, bool small_planes) {
    const int64_t groups = p.groups;
    const int64_t cg = x.c / groups, kg = y.c / groups;
    const int64_t kh = weight.h, kw = weight.w;
    const int64_t oh = y.h, ow = y.w;
    if (y.numel() == 0) return;
    for (int64_t g = 0; g < groups; ++g) group_matrix(packed, g, mk);
    const int64_t nr = mk.nr;
    const int64_t pixels = oh * ow;
    const int64_t reduce = cg * kh * kw;
    const bool flat = kh == 1 && kw == 1 && p.stride[0] == 1 && p.stride[1] == 1 && p.pads[0] == 0 &&
                      p.pads[1] == 0 && p.pads[2] == 0 && p.pads[3] == 0 && oh == x.h && ow == x.w;
    // Jobs: runs of tiles of one plane and one chunk of A panels (output
    // channels), about kConvJobsPerThread per thread, at least a tile group
    // each (conv_gemm_jobs.h); the other forms below chunk the channels alike.
    const ConvGemmJobs jobs(mk, y, groups, reduce);
    const int64_t planes = y.n * groups;
    const int64_t panels = jobs.panels, chunk_panels = jobs.chunk_panels, chunks = jobs.chunks;
    const int64_t group = gemm_tile_group(mk, chunk_panels * mk.mr);
    const bool threaded = jobs.threaded;
    const int64_t wanted = kConvJobsPerThread * (threaded ? omp_get_max_threads() : 1);
    const bool residual = p.residual.data != nullptr;
    if (small_planes && pixels <= kSmallPlanePixels && y.n * pixels > kNarrowMaxColumns) {
        // Small planes: tiles over the columns of all batch items of a group
        // (SmallPlaneColumns), jobs of at least a tile group per group and
        // chunk of output channels.
        const int64_t columns = y.n * pixels;
        const int64_t col_tiles = (columns + nr - 1) / nr;
        // At least a tile group per job, or an even share of the item tiles
        // when they are fewer than a group per thread (a 1-pixel plane at
        // batch 64 is 4 tiles: 2 jobs at 2 threads).
        const int64_t threads = threaded ? omp_get_max_threads() : 1;
        const int64_t per = std::clamp<int64_t>((groups * chunks * col_tiles + wanted - 1) / wanted,
                                                std::min(group, (col_tiles + threads - 1) / threads),
                                                col_tiles);
        const int64_t col_blocks = (col_tiles + per - 1) / per;
        const int64_t small_jobs = groups * chunks * col_blocks;
#pragma omp parallel for schedule(dynamic, 1) if (small_jobs > 1 && threaded)
        for (int64_t job = 0; job < small_jobs; ++job) {
            const int64_t chunk = job % chunks, block = job / chunks % col_blocks;
            const int64_t g = job / (chunks * col_blocks);
            const int64_t t0 = block * per, t1 = std::min(col_tiles, t0 + per);
            const int64_t panel0 = chunk * chunk_panels, panel1 = std::min(panels, panel0 + chunk_panels);
            const int64_t k0 = panel0 * mk.mr, k1 = std::min(kg, panel1 * mk.mr);
            const SmallPlaneColumns columns_of{x.f32() + x.offset(0, g * cg, 0, 0), x.batch_stride, x.h,
                                               x.w, ow, pixels, columns, nr, kh, kw, p.stride[0],
                                               p.stride[1], p.dilation[0], p.dilation[1], p.pads[0],
                                               p.pads[1]};
            gemm_tiles(mk, packed.groups[g], panel0, panel1, t0, t1, columns_of,
                       [&](int64_t t, int64_t count, const float* c, int64_t ldc) {
                const int64_t j0 = t * nr, j1 = std::min(j0 + count * nr, columns);
                // One piece per batch item the tiles cover.
                for (int64_t j = j0; j < j1;) {
                    const int64_t n = j / pixels, q = j % pixels, len = std::min(pixels - q, j1 - j);
                    for (int64_t k = k0; k < k1; ++k) {
                        const int64_t channel = g * kg + k;
                        float* out = y.f32() + y.offset(n, channel, 0, 0) + q;
                        const float bk = bias ? bias[channel] : 0.0f;
                        const float* row = c + (k - k0) * ldc + (j - j0);
                        if (residual) {
                            bias_residual_activation(
                                row, out, len, bk, p.residual.f32() + p.residual.offset(n, channel, 0, 0) + q,
                                p.act);
                        } else {
                            bias_activation(row, out, len, bk, p.act);
                        }
                    }
                    j += len;
                }
            }, chunk_panels * mk.mr);
        }
        return;
    }
    if (pixels <= kNarrowMaxColumns) {
        // A plane of a few pixels: the narrow kernel (gemm_narrow.h) straight into
        // y, one job per plane and chunk of output channels; B block by block,
        // gathered with zeros as one tile of `pixels` columns.
        const GemmNarrowKernel& nk = gemm_narrow_kernel_for(mk);
        const int64_t narrow_jobs = planes * chunks;
        const int64_t plane_stride = oh * ow;  // between y's channels
#pragma omp parallel for schedule(dynamic, 1) if (narrow_jobs > 1 && threaded)
        for (int64_t job = 0; job < narrow_jobs; ++job) {
            const int64_t chunk = job % chunks, g = job / chunks % groups, n = job / (chunks * groups);
            const int64_t panel0 = chunk * chunk_panels, panel1 = std::min(panels, panel0 + chunk_panels);
            const int64_t k0 = panel0 * mk.mr, k1 = std::min(kg, panel1 * mk.mr);
            const PackedMatrix& a = packed.groups[g];
            const ConvColumns columns{x.f32() + x.offset(n, g * cg, 0, 0), nullptr, x.h, x.w, ow,
                                      pixels, pixels, kh, kw, p.stride[0], p.stride[1], p.dilation[0],
                                      p.dilation[1], p.pads[0], p.pads[1], flat};
            float* buf = gemm_scratch(size_t(mk.kc * pixels));  // (kc, pixels)
            float* c = y.f32() + y.offset(n, g * kg + k0, 0, 0);  // (k1 - k0 channels, pixels)
            for (int64_t r0 = 0; r0 == 0 || r0 < reduce; r0 += mk.kc) {
                const int64_t kc = std::min<int64_t>(mk.kc, reduce - r0);
                if (kc > 0) columns.gather(0, r0, kc, buf, pixels);
                nk.run(kc, a.panel(panel0) + r0 * mk.mr, a.r * mk.mr, panel1 - panel0, k1 - k0, buf,
                       pixels, 1, pixels, c, plane_stride, 1, r0 > 0);
            }
            for (int64_t k = k0; k < k1; ++k) {
                const int64_t channel = g * kg + k;
                epilogue_run(c + (k - k0) * plane_stride, pixels, bias ? bias[channel] : 0.0f,
                             residual ? p.residual.f32() + p.residual.offset(n, channel, 0, 0) : nullptr,
                             p.act);
            }
        }
        return;
    }
    std::vector<int64_t> off(static_cast<size_t>(reduce));  // per row (c, ky, kx) of B
    for (int64_t r = 0; r < reduce; ++r)
        off[r] = r / (kh * kw) * x.h * x.w + r / kw % kh * p.dilation[0] * x.w + r % kw * p.dilation[1];
#pragma omp parallel for schedule(dynamic, 1) if (jobs.jobs > 1 && threaded)
    for (int64_t job = 0; job < jobs.jobs; ++job) {
        const ConvGemmJobs::Job j = jobs.at(job);
        const ConvColumns columns{x.f32() + x.offset(j.n, j.g * cg, 0, 0), off.data(), x.h, x.w, ow, pixels,
                                  nr, kh, kw, p.stride[0], p.stride[1], p.dilation[0], p.dilation[1],
                                  p.pads[0], p.pads[1], flat};
        gemm_tiles(mk, packed.groups[j.g], j.panel0, j.panel1, j.t0, j.t1, columns,
                   [&](int64_t t, int64_t count, const float* c, int64_t ldc) {
            conv_tile_epilogue(j, nr, t, count, c, ldc, bias, y, p);
        }, chunk_panels * mk.mr);
    }
}

void conv2d(const View& x, const View& weight, const float* bias, const View& y,
            const Conv2dParams& p) {
    conv2d_packed(x, weight, *pack_conv2d_weights(weight, p.groups), bias, y, p);
}

void conv_transpose2d_packed(const View& x, const View& weight, const PackedConvWeights& packed,
                             const float* bias, const View& y, const ConvTranspose2dParams& p) {
    const int64_t groups = p.groups;
    const int64_t cg = x.c / groups, kg = y.c / groups;
    const int64_t kh = weight.h, kw = weight.w, khkw = kh * kw;
    const int64_t sh = p.stride[0], sw = p.stride[1];
    const int64_t dh = p.dilation[0], dw = p.dilation[1];
    const int64_t pt = p.pads[0], pl = p.pads[1];
    const int64_t h = x.h, w = x.w, oh = y.h, ow = y.w;
    if (y.numel() == 0) return;
    const bool threaded = worth_threads(2.0 * double(x.numel()) * double(kg * khkw));

    // y = bias (or 0), then every run of input pixels adds its contributions.
#pragma omp parallel for collapse(2) schedule(static) if (threaded)
    for (int64_t n = 0; n < y.n; ++n) {
        for (int64_t k = 0; k < y.c; ++k) {
            float* plane = y.f32() + y.offset(n, k, 0, 0);
            std::fill(plane, plane + oh * ow, bias ? bias[k] : 0.0f);
        }
    }
    if (x.numel() != 0) {
        const GemmMicroKernel& mk = active_micro_kernel();
        for (int64_t g = 0; g < groups; ++g) group_matrix(packed, g, mk);
        const int64_t nr = mk.nr, mr = mk.mr;
        const int64_t pixels = h * w;
        std::vector<int64_t> off(static_cast<size_t>(cg));  // B row c: input channel c's plane
        for (int64_t c = 0; c < cg; ++c) off[c] = c * pixels;
        // Valid input-column range of each kx: ox = ix*sw - pl + kx*dw in [0, OW).
        std::vector<int64_t> lo(kw), hi(kw);
        for (int64_t kx = 0; kx < kw; ++kx) {
            const int64_t o = kx * dw - pl;
            lo[kx] = std::min(w, std::max<int64_t>(0, div_ceil(-o, sw)));
            hi[kx] = std::max(lo[kx], std::min(w, div_floor(ow - 1 - o, sw) + 1));
        }
        // Output-channel chunks: enough jobs for every thread when Kg allows.
        const int64_t planes = x.n * groups;
        const int64_t wanted = ((threaded ? omp_get_max_threads() : 1) + planes - 1) / planes;
        const int64_t chunk = std::max<int64_t>(1, (kg + wanted - 1) / wanted);
        const int64_t chunks = (kg + chunk - 1) / chunk;
        const int64_t jobs = planes * chunks;
        const ConvTransposeScatter scatter{w, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl, lo.data(), hi.data()};
#pragma omp parallel for schedule(dynamic, 1) if (jobs > 1 && threaded)
        for (int64_t job = 0; job < jobs; ++job) {
            const int64_t n = job / (groups * chunks), g = (job / chunks) % groups;
            const int64_t k0 = (job % chunks) * chunk, count = std::min(chunk, kg - k0);
            const PackedMatrix& a = packed.groups[g];
            // GEMM rows (k, ky, kx) of this chunk, and the A panels that hold them.
            const int64_t m0 = k0 * khkw, m1 = (k0 + count) * khkw;
            const int64_t panel0 = m0 / mr, panel1 = (m1 + mr - 1) / mr;
            const float* x_g = x.f32() + x.offset(n, g * cg, 0, 0);  // (Cg, H*W)
            // (taps, Cg) x (Cg, pixels), each tile group's columns added into y as
            // they leave the GEMM (conv_transpose_scatter.h).
            gemm_tiles(
                mk, a, panel0, panel1, 0, (pixels + nr - 1) / nr,
                [&](int64_t t, int64_t count, int64_t r0, int64_t kc, float* buf, int64_t ld) {
                    const int64_t p0 = t * nr, valid = std::min(count * nr, pixels - p0);
                    if (valid == count * nr) {
                        pack_rows(x_g + p0, off.data() + r0, kc, valid, buf, ld);
                        return;
                    }
                    for (int64_t r = 0; r < kc; ++r) {
                        const float* src = x_g + (r0 + r) * pixels + p0;
                        std::copy(src, src + valid, buf + r * ld);
                        std::fill(buf + r * ld + valid, buf + r * ld + count * nr, 0.0f);
                    }
                },
                [&](int64_t t, int64_t tiles, const float* c, int64_t ldc) {
                    const int64_t p0 = t * nr, valid = std::min(tiles * nr, pixels - p0);
                    scatter(c + (m0 - panel0 * mr) * ldc, ldc, p0, valid, y, n, g * kg + k0, count);
                });
        }
    }
    if (p.act.kind != Activation::None) {
#pragma omp parallel for collapse(2) schedule(static) if (threaded)
        for (int64_t n = 0; n < y.n; ++n) {
            for (int64_t k = 0; k < y.c; ++k) {
                bias_activation(y.f32() + y.offset(n, k, 0, 0), oh * ow, 0.0f, p.act);
            }
        }
    }
}

void conv_transpose2d(const View& x, const View& weight, const float* bias, const View& y,
                      const ConvTranspose2dParams& p) {
    conv_transpose2d_packed(x, weight, *pack_conv_transpose2d_weights(weight, p.groups), bias, y, p);
}

}  // namespace fcnrt::cpu
