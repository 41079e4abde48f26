// The broadcast conv's driver (conv_bcast.h): weight packing, passes over
// rows and segments, reduction blocks, the row-pointer tables, edges, the
// epilogue, and the OpenMP jobs.
#include "kernels/cpu/conv_bcast.h"

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "kernels/cpu/cpu_isa.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_narrow.h"
#include "kernels/cpu/parallel.h"

namespace fcnrt::cpu {

namespace {

// Jobs to aim for per thread (dynamic scheduling evens out the load), and
// channel blocks per job at most (the partial sums of a pass stay in L2:
// 4 blocks x 256 pixels x 16 lanes = 64 KiB on AVX2).
constexpr int64_t kJobsPerThread = 4;
constexpr int64_t kChunkBlocks = 4;
// Rows of a pass at most (narrow maps: 256 / OW rows).
constexpr int64_t kMaxPassRows = 16;

struct PassShape {
    int64_t seg;   // columns per segment
    int64_t rows;  // output rows per pass
};

PassShape pass_shape(int64_t oh, int64_t ow) {
    PassShape s;
    s.seg = std::min(ow, kBcastPassPixels);
    s.rows = std::clamp<int64_t>(kBcastPassPixels / std::max<int64_t>(1, s.seg), 1,
                                 std::min(kMaxPassRows, std::max<int64_t>(1, oh)));
    return s;
}

// Floats of a thread's scratch: partial sums (chunk blocks x pass pixels x lanes),
// the transposed tile rows (lanes x seg), the zero row (seg + P + 1), and the
// row-pointer tables (rows x kc pointers, as floats).
int64_t scratch_floats(const ConvBcastKernel& bk, int64_t chunk_blocks, PassShape s) {
    return chunk_blocks * s.rows * s.seg * bk.lanes + bk.lanes * s.seg + (s.seg + bk.pixels + 1) +
           s.rows * bk.kc * int64_t(sizeof(const float*) / sizeof(float)) + 16;
}

float* bcast_scratch(int64_t floats) {
    thread_local std::vector<float> buffer;
    if (static_cast<int64_t>(buffer.size()) < floats) buffer.resize(size_t(floats));
    return buffer.data();
}

}  // namespace

const ConvBcastKernel& active_conv_bcast_kernel() {
    switch (active_cpu_isa()) {
        case CpuIsa::Avx512: return conv_bcast_kernel_avx512();
        case CpuIsa::Avx512Sim: return conv_bcast_kernel_avx512sim();
        case CpuIsa::Avx2: return conv_bcast_kernel_avx2();
        case CpuIsa::Portable: break;
    }
    return conv_bcast_kernel_portable();
}

std::shared_ptr<const BcastWeights> pack_conv2d_weights_bcast(const ConvBcastKernel& bk,
                                                              const View& weight, int groups) {
    return pack_conv2d_weights_lanes(bk.lanes, weight, groups);
}

std::shared_ptr<const BcastWeights> pack_conv2d_weights_lanes(int lanes_, const View& weight, int groups) {
    auto packed = std::make_shared<BcastWeights>();
    const int64_t lanes = lanes_;
    packed->lanes = lanes_;
    packed->kg = weight.n / groups;
    packed->reduce = weight.c * weight.h * weight.w;
    packed->blocks = (packed->kg + lanes - 1) / lanes;
    const int64_t kg = packed->kg, reduce = packed->reduce;
    for (int64_t g = 0; g < groups; ++g) {
        std::vector<float> data(size_t(packed->blocks * reduce * lanes), 0.0f);
        const float* wg = weight.f32() + g * kg * reduce;  // (Kg, reduce)
        for (int64_t k = 0; k < kg; ++k) {
            float* dst = data.data() + (k / lanes) * reduce * lanes + k % lanes;
            for (int64_t r = 0; r < reduce; ++r) dst[r * lanes] = wg[k * reduce + r];
        }
        packed->groups.push_back(std::move(data));
    }
    return packed;
}

bool conv2d_bcast_applies(const Conv2dParams& p) { return p.stride[0] == 1 && p.stride[1] == 1; }

namespace {

// FCNRT_CONV_PATH: 0 unset (measured choice), 1 gemm, 2 bcast.
int forced_path() {
    static const int path = [] {
        const char* v = std::getenv("FCNRT_CONV_PATH");
        if (v == nullptr || *v == 0) return 0;
        if (std::strcmp(v, "gemm") == 0) return 1;
        if (std::strcmp(v, "bcast") == 0) return 2;
        throw std::runtime_error(std::string("FCNRT_CONV_PATH must be gemm or bcast, not ") + v);
    }();
    return path;
}

}  // namespace

// Measured (bench/results/2026-12-02-s6-bcast-shapes.md, AVX2 on Zen 3, one
// thread, CPU time, A/B against conv2d_gemm): the broadcast conv wins where the
// GEMM's 6-row panels and its B packing serve few output channels: 3x3 convs
// with 16 outputs (FC-DenseNet's dense layers, C = 48..1000, maps 512..16:
// 1.4-2x), 32 outputs (1.2x), 64 (U-Net's first level at 256 and 570: 1.02-1.1x);
// it ties at 96 and 128 and loses from 256 outputs on (0.9x), and on 1x1 convs
// (the GEMM reads those in place). Only the AVX2 kernel was measured: AVX-512
// (32 lanes) and portable keep the GEMM unless forced.
bool conv2d_bcast_may_pay(int64_t cg, int64_t kg, int64_t kh, int64_t kw) {
    switch (forced_path()) {
        case 1: return false;
        case 2: return true;
        default: break;
    }
    if (active_cpu_isa_logic() != CpuIsa::Avx2 || kh * kw < 2 || kg > 64) return false;
    // RGB first layers (up to 4 input channels, 75 taps): the GEMM is faster
    // (3x3 c3 -> 16..64: 1.1-1.2x, bench_conv_cpu_time, one thread).
    if (cg <= 4 && cg * kh * kw <= 75) return false;
    const int64_t lanes = conv_bcast_kernel_avx2().lanes;
    const int64_t padded = (kg + lanes - 1) / lanes * lanes;
    return (padded - kg) * 8 <= padded;  // at most 1/8 of the lanes idle
}

bool conv2d_prefers_bcast(int64_t cg, int64_t kg, int64_t kh, int64_t kw, const Conv2dParams& p,
                          int64_t oh, int64_t ow) {
    if (!conv2d_bcast_applies(p)) return false;
    switch (forced_path()) {
        case 1: return false;
        case 2: return true;
        default: break;
    }
    // Planes of a few pixels: the GEMM's narrow kernel (gemm_narrow.h).
    if (oh * ow <= kNarrowMaxColumns) return false;
    return conv2d_bcast_may_pay(cg, kg, kh, kw);
}

size_t conv2d_bcast_scratch_bytes(const ConvBcastKernel& bk, int64_t kg) {
    const int64_t blocks = (kg + bk.lanes - 1) / bk.lanes;
    // Any pass: rows x seg <= kBcastPassPixels, seg <= kBcastPassPixels, rows <= kMaxPassRows.
    const int64_t chunk_blocks = std::min(blocks, kChunkBlocks);
    const int64_t floats = chunk_blocks * kBcastPassPixels * bk.lanes + bk.lanes * kBcastPassPixels +
                           (kBcastPassPixels + bk.pixels + 1) +
                           kMaxPassRows * bk.kc * int64_t(sizeof(const float*) / sizeof(float)) + 16;
    return size_t(floats) * sizeof(float);
}

void conv2d_bcast(const ConvBcastKernel& bk, const View& x, const View& weight,
                  const BcastWeights& packed, const float* bias, const View& y,
                  const Conv2dParams& p) {
    if (!conv2d_bcast_applies(p)) throw std::logic_error("conv2d_bcast: stride 1 only");
    const int64_t groups = p.groups;
    const int64_t cg = x.c / groups, kg = y.c / groups;
    const int64_t kh = weight.h, kw = weight.w;
    const int64_t h = x.h, w = x.w, oh = y.h, ow = y.w;
    const int64_t dh = p.dilation[0], dw = p.dilation[1], pt = p.pads[0], pl = p.pads[1];
    if (y.numel() == 0) return;
    const int64_t lanes = bk.lanes, P = bk.pixels, kc_max = bk.kc;
    const int64_t reduce = cg * kh * kw;
    if (packed.lanes != lanes || packed.kg != kg || packed.reduce != reduce ||
        int64_t(packed.groups.size()) != groups)
        throw std::logic_error("conv weights were packed for another broadcast kernel or shape");
    const int64_t blocks = packed.blocks;
    const int64_t chunk_blocks = std::min(blocks, kChunkBlocks);
    const int64_t chunks = (blocks + chunk_blocks - 1) / chunk_blocks;
    const PassShape shape = pass_shape(oh, ow);
    const int64_t pass_rows = shape.rows, seg_max = shape.seg;
    const int64_t row_passes = (oh + pass_rows - 1) / pass_rows;
    // Output columns whose every kx tap lies inside the input row.
    const int64_t ox_lo = std::min(pl, ow);
    const int64_t ox_hi = std::max(ox_lo, std::min(ow, w + pl - (kw - 1) * dw));
    // Jobs: runs of passes of one plane and one chunk of channel blocks.
    const int64_t planes = y.n * groups;
    const bool threaded = worth_threads(2.0 * double(y.numel()) * double(reduce));
    const int64_t wanted = kJobsPerThread * (threaded ? omp_get_max_threads() : 1);
    const int64_t runs = std::clamp<int64_t>((wanted + planes * chunks - 1) / (planes * chunks), 1,
                                             row_passes);
    const int64_t passes_per_run = (row_passes + runs - 1) / runs;
    const int64_t jobs = planes * runs * chunks;
    const bool residual = p.residual.data != nullptr;
    const int64_t floats = scratch_floats(bk, chunk_blocks, shape);
#pragma omp parallel for schedule(dynamic, 1) if (jobs > 1 && threaded)
    for (int64_t job = 0; job < jobs; ++job) {
        // job = ((n * groups + g) * runs + run) * chunks + chunk: a run's chunks are
        // neighbours, so concurrent jobs share its input in cache.
        const int64_t chunk = job % chunks, run = job / chunks % runs;
        const int64_t g = job / (chunks * runs) % groups, n = job / (chunks * runs * groups);
        const int64_t b0 = chunk * chunk_blocks, b1 = std::min(blocks, b0 + chunk_blocks);
        const int64_t oy_begin = run * passes_per_run * pass_rows;
        const int64_t oy_end = std::min(oh, oy_begin + passes_per_run * pass_rows);
        const float* x_g = x.f32() + x.offset(n, g * cg, 0, 0);  // (Cg, H, W)
        float* scratch = bcast_scratch(floats);
        float* part = scratch;  // (b1 - b0, rows, seg, lanes)
        float* trans = part + chunk_blocks * pass_rows * seg_max * lanes;  // (lanes, seg)
        float* zero = trans + lanes * seg_max;                             // (seg + P + 1)
        std::fill(zero, zero + seg_max + P + 1, 0.0f);
        // Row-pointer tables, pointer-aligned: (rows, kc).
        const float** tab = reinterpret_cast<const float**>(
            (reinterpret_cast<uintptr_t>(zero + seg_max + P + 1) + 15) & ~uintptr_t{15});
        // A segment's edge columns, which of their taps lie inside the row, and a
        // pass's edge pixels (at most every pixel of the pass).
        std::vector<int64_t> edge_col(static_cast<size_t>(seg_max));
        std::vector<unsigned char> inside(static_cast<size_t>(seg_max * kw), 0);
        std::vector<BcastEdgePixel> edge_px(static_cast<size_t>(pass_rows * seg_max));
        for (int64_t oy0 = oy_begin; oy0 < oy_end; oy0 += pass_rows) {
            const int64_t rows = std::min(pass_rows, oy_end - oy0);
            for (int64_t s0 = 0; s0 < ow; s0 += seg_max) {
                const int64_t seg = std::min(seg_max, ow - s0);
                // Pixels [s0, s1) of the segment: edges [s0, e0) and [e1, s1), tiles between.
                const int64_t s1 = s0 + seg;
                const int64_t e0 = std::clamp(ox_lo, s0, s1), e1 = std::clamp(ox_hi, e0, s1);
                int64_t edge_cols = 0;
                for (int64_t col = s0; col < s1; ++col) {
                    if (col >= e0 && col < e1) continue;
                    edge_col[size_t(edge_cols)] = col;
                    for (int64_t k = 0; k < kw; ++k) {
                        const int64_t ix = col - pl + k * dw;
                        inside[size_t(edge_cols * kw + k)] = ix >= 0 && ix < w;
                    }
                    ++edge_cols;
                }
                for (int64_t r0 = 0; r0 == 0 || r0 < reduce; r0 += kc_max) {
                    const int64_t kc = std::min(kc_max, reduce - r0);
                    const bool acc = r0 > 0;
                    // Each row's table: tap r0 + i's input row, shifted so that
                    // tab[i] + (ox - s0) reads x[c][iy][ox - pl + kx*dw].
                    for (int64_t row = 0; row < rows; ++row) {
                        const float** t = tab + row * kc_max;
                        int64_t c = r0 / (kh * kw), ky = r0 / kw % kh, kx = r0 % kw;
                        for (int64_t i = 0; i < kc; ++i) {
                            const int64_t iy = oy0 + row - pt + ky * dh;
                            t[i] = uint64_t(iy) < uint64_t(h)
                                       ? x_g + (c * h + iy) * w + (s0 - pl + kx * dw)
                                       : zero;
                            if (++kx == kw) {
                                kx = 0;
                                if (++ky == kh) {
                                    ky = 0;
                                    ++c;
                                }
                            }
                        }
                    }
                    for (int64_t b = b0; b < b1; ++b) {
                        const float* wb = packed.block(g, b) + r0 * lanes;
                        for (int64_t row = 0; row < rows; ++row) {
                            const float* const* t = tab + row * kc_max;
                            float* out = part + ((b - b0) * pass_rows + row) * seg_max * lanes;
                            // Full tiles, then the rest; a rest under P / 2 and the
                            // last full tile as two tiles of about half (a
                            // tile of 1 or 2 pixels runs at well under the rate).
                            const int64_t inner = e1 - e0;
                            const int64_t rest = inner % P;
                            const int64_t split = inner > P && rest > 0 && 2 * rest <= P ? P + rest : 0;
                            const int64_t full_end = e1 - split - (split ? 0 : rest);
                            int64_t ox = e0;
                            for (; ox < full_end; ox += P)
                                bk.tile[P](kc, wb, t, ox - s0, out + (ox - s0) * lanes, acc);
                            if (split) {
                                const int64_t first = (split + 1) / 2;
                                bk.tile[first](kc, wb, t, ox - s0, out + (ox - s0) * lanes, acc);
                                ox += first;
                            }
                            if (ox < e1)
                                bk.tile[e1 - ox](kc, wb, t, ox - s0, out + (ox - s0) * lanes, acc);
                        }
                        // The pass's edge pixels (every row's), up to P per call.
                        for (int64_t row = 0, i = 0; row < rows; ++row) {
                            float* out = part + ((b - b0) * pass_rows + row) * seg_max * lanes;
                            for (int64_t e = 0; e < edge_cols; ++e, ++i) {
                                const int64_t col = edge_col[size_t(e)];
                                edge_px[size_t(i)] = BcastEdgePixel{tab + row * kc_max, col - s0,
                                                                    inside.data() + e * kw,
                                                                    out + (col - s0) * lanes};
                            }
                        }
                        const int64_t edges = rows * edge_cols;
                        for (int64_t e = 0; e < edges; e += P)
                            bk.edge[std::min(P, edges - e)](kc, wb, edge_px.data() + e, r0 % kw, kw,
                                                            zero, acc);
                    }
                }
                // The epilogue, per channel row: the GEMM path's emit (conv.cpp).
                for (int64_t b = b0; b < b1; ++b) {
                    for (int64_t row = 0; row < rows; ++row) {
                        const int64_t oy = oy0 + row;
                        const float* tile = part + ((b - b0) * pass_rows + row) * seg_max * lanes;
                        const int64_t count = std::min(lanes, kg - b * lanes);
                        bk.transpose(tile, seg, trans, seg_max);
                        for (int64_t l = 0; l < count; ++l) {
                            const int64_t channel = g * kg + b * lanes + l;
                            float* out = y.f32() + y.offset(n, channel, oy, s0);
                            const float bk_ = bias ? bias[channel] : 0.0f;
                            const float* row_in = trans + l * seg_max;
                            if (residual) {
                                bias_residual_activation(
                                    row_in, out, seg, bk_,
                                    p.residual.f32() + p.residual.offset(n, channel, oy, s0), p.act);
                            } else {
                                bias_activation(row_in, out, seg, bk_, p.act);
                            }
                        }
                    }
                }
            }
        }
    }
}

}  // namespace fcnrt::cpu
