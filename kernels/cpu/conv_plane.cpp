// The small-plane conv's driver (conv_plane.h): tap and pixel offsets, tiles,
// the epilogue, the OpenMP jobs, and its weights made on first use.
#include "kernels/cpu/conv_plane.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "kernels/cpu/conv.h"
#include "kernels/cpu/conv_bcast.h"
#include "kernels/cpu/cpu_isa.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_narrow.h"
#include "kernels/cpu/parallel.h"

namespace fcnrt::cpu {

struct ConvPlaneWeights {
    std::mutex mutex;
    std::shared_ptr<const BcastWeights> blocks;  // packed for blocks->lanes
};

std::shared_ptr<ConvPlaneWeights> make_conv_plane_weights() {
    return std::make_shared<ConvPlaneWeights>();
}

namespace {

// Channel blocks per job at most when threaded (a job's sums stay in L1/L2).
constexpr int64_t kChunkBlocks = 2;

// Per-thread scratch: offsets (int64) then floats, grown on demand and kept.
template <class T>
T* plane_scratch(int64_t count) {
    thread_local std::vector<T> buffer;
    if (static_cast<int64_t>(buffer.size()) < count) buffer.resize(size_t(count));
    return buffer.data();
}

// One channel's sums (a row of n) through the GEMM path's epilogue into out;
// r: its residual row or nullptr.
inline void plane_epilogue(const float* sums, float* out, int64_t n, float bias, const float* r,
                           ActivationParams act) {
    if (r != nullptr) {
        bias_residual_activation(sums, out, n, bias, r, act);
    } else {
        bias_activation(sums, out, n, bias, act);
    }
}

// The same built for AVX2 (8 lanes instead of SSE2's 4; the rest of this file
// is baseline x86-64), used where the CPU has it, as conv.cpp's
// plane_epilogue_avx: without FMA the compiler cannot contract a multiply and
// an add, so every output is the same float ops and bits.
#if defined(__GNUC__) && defined(__x86_64__)
__attribute__((target("avx2"))) void plane_epilogue_avx(const float* sums, float* out, int64_t n,
                                                        float bias, const float* r,
                                                        ActivationParams act) {
    plane_epilogue(sums, out, n, bias, r, act);
}
#else
void plane_epilogue_avx(const float* sums, float* out, int64_t n, float bias, const float* r,
                        ActivationParams act) {
    plane_epilogue(sums, out, n, bias, r, act);
}
#endif

bool plane_disabled() {
    static const bool off = [] {
        const char* v = std::getenv("FCNRT_CONV_PLANE");
        return v != nullptr && std::strcmp(v, "off") == 0;
    }();
    return off;
}

}  // namespace

const ConvPlaneKernel& active_conv_plane_kernel() {
    switch (active_cpu_isa()) {
        case CpuIsa::Avx512: return conv_plane_kernel_avx512();
        case CpuIsa::Avx512Sim: return conv_plane_kernel_avx512sim();
        case CpuIsa::Avx2: return conv_plane_kernel_avx2();
        case CpuIsa::Portable: break;
    }
    return conv_plane_kernel_portable();
}

bool conv2d_plane_applies(const View& x, const View& weight, const View& y, const Conv2dParams& p) {
    (void)x;
    (void)weight;
    const int64_t pixels = y.h * y.w;
    return p.pads[0] == 0 && p.pads[1] == 0 && p.pads[2] == 0 && p.pads[3] == 0 && pixels >= 1 &&
           pixels <= kPlaneMaxOutputPixels;
}

// Input floats per group at most for the tiles (192 KiB: within a core's L2
// with the weight blocks they stream).
constexpr int64_t kPlaneMaxInputFloats = 48 * 1024;

// Measured (bench/results/2026-12-03-s7-cellpatch.md, AVX2 on Zen 3, one
// thread, CPU time, against conv2d_gemm's small-plane tiles): the patch
// classifier's 3x3 convs onto 12x12 (20 -> 40 channels), 10x10 (40 -> 80) and
// 3x3 (80 -> 120), and its conv onto 1x1 (120 -> 240, 1 MB of weights streamed
// from L3: columns of 5 blocks 29 -> ~20 us against the narrow GEMM's 8 panels);
// standalone 3x3 shapes of 9 to 256 output pixels and 16 to 196 KiB of input
// (C = 32 to 1024): 1.0-1.3x the GEMM's rate.
// Planes of 2 to kNarrowMaxColumns pixels, and one pixel at batch > 1, keep the
// narrow GEMM (one weight pass for every column). Only the AVX2
// kernel was measured: AVX-512 and portable keep the GEMM unless a test calls
// conv2d_plane itself.
bool conv2d_prefers_plane(const View& x, const View& weight, const View& y, const Conv2dParams& p) {
    if (plane_disabled() || active_cpu_isa_logic() != CpuIsa::Avx2) return false;
    if (!conv2d_plane_applies(x, weight, y, p)) return false;
    // One pixel of one item: the columns (more items share the GEMM's weight pass).
    if (y.h * y.w == 1) return y.n == 1;
    // Tiles broadcast every tap from the input in place: the group's input must
    // stay in L2 (measured: 512 -> 1024 on 18x18, 648 KiB of input, 62 GFLOP/s
    // against the GEMM's 85; 200 KiB and less, a tie or a win).
    return y.h * y.w > kNarrowMaxColumns && (x.c / p.groups) * x.h * x.w <= kPlaneMaxInputFloats;
}

const BcastWeights* conv2d_plane_weights(const ConvPlaneKernel& pk, const PackedConvWeights& packed,
                                         const View& weight, int groups) {
    if (packed.bcast != nullptr && packed.bcast->lanes == pk.lanes) return packed.bcast.get();
    if (packed.plane == nullptr) return nullptr;
    ConvPlaneWeights& cache = *packed.plane;
    const std::lock_guard<std::mutex> lock(cache.mutex);
    if (cache.blocks == nullptr || cache.blocks->lanes != pk.lanes)
        cache.blocks = pack_conv2d_weights_lanes(pk.lanes, weight, groups);
    return cache.blocks.get();
}

void conv2d_plane(const ConvPlaneKernel& pk, const View& x, const View& weight,
                  const BcastWeights& packed, const float* bias, const View& y,
                  const Conv2dParams& p) {
    if (!conv2d_plane_applies(x, weight, y, p))
        throw std::logic_error("conv2d_plane: unpadded convs onto small planes only");
    const int64_t groups = p.groups;
    const int64_t cg = x.c / groups, kg = y.c / groups;
    const int64_t kh = weight.h, kw = weight.w;
    const int64_t h = x.h, w = x.w, oh = y.h, ow = y.w;
    const int64_t sh = p.stride[0], sw = p.stride[1], dh = p.dilation[0], dw = p.dilation[1];
    if (y.numel() == 0) return;
    const int64_t lanes = pk.lanes, reduce = cg * kh * kw, pixels = oh * ow;
    if (packed.lanes != lanes || packed.kg != kg || packed.reduce != reduce ||
        int64_t(packed.groups.size()) != groups)
        throw std::logic_error("conv weights were packed for another small-plane kernel or shape");
    const int64_t blocks = packed.blocks;
    const bool threaded = worth_threads(2.0 * double(y.numel()) * double(reduce),
                                        double(y.c) * double(reduce) * sizeof(float));
    const int64_t planes = y.n * groups;
    // Jobs: a plane and a chunk of channel blocks (all of them on one thread).
    const int64_t chunk_blocks =
        threaded
            ? std::clamp<int64_t>(planes * blocks / (4 * omp_get_max_threads()), 1, kChunkBlocks)
            : blocks;
    const int64_t chunks = (blocks + chunk_blocks - 1) / chunk_blocks;
    const int64_t jobs = planes * chunks;
    // Tiles of nearly equal size, at most P pixels (half tiles: their own P).
    const int64_t full_tiles = (pixels + pk.pixels - 1) / pk.pixels;
    const int64_t half_tiles = (pixels + pk.half_pixels - 1) / pk.half_pixels;
    const bool residual = p.residual.data != nullptr;
    const bool avx = cpu_avx2_helpers();
#pragma omp parallel for schedule(dynamic, 1) if (jobs > 1 && threaded)
    for (int64_t job = 0; job < jobs; ++job) {
        const int64_t chunk = job % chunks, g = job / chunks % groups, n = job / (chunks * groups);
        const int64_t b0 = chunk * chunk_blocks, b1 = std::min(blocks, b0 + chunk_blocks);
        // Offsets: tap r = (c, ky, kx) from a pixel's first tap, pixel q's first tap.
        int64_t* roff = plane_scratch<int64_t>(reduce + pixels);
        int64_t* poff = roff + reduce;
        for (int64_t c = 0, r = 0; c < cg; ++c)
            for (int64_t ky = 0; ky < kh; ++ky)
                for (int64_t kx = 0; kx < kw; ++kx, ++r) roff[r] = (c * h + ky * dh) * w + kx * dw;
        for (int64_t oy = 0, q = 0; oy < oh; ++oy)
            for (int64_t ox = 0; ox < ow; ++ox, ++q) poff[q] = oy * sh * w + ox * sw;
        // The block's sums channel-major (lanes rows of `pitch`: a tile may write
        // 8 columns past its first), or a column call's (blocks, lanes).
        const int64_t pitch = pixels + 8;
        float* sums = plane_scratch<float>(std::max<int64_t>(pitch, pk.column_blocks) * lanes);
        const float* x_g = x.f32() + x.offset(n, g * cg, 0, 0);  // (Cg, H, W)
        if (pixels == 1) {
            // One pixel: columns of up to column_blocks blocks, each channel's sum
            // straight through the epilogue (a plane of one pixel is its sum).
            for (int64_t b = b0; b < b1; b += pk.column_blocks) {
                const int64_t nb = std::min<int64_t>(pk.column_blocks, b1 - b);
                pk.column[nb](reduce, packed.block(g, b), reduce * lanes, x_g, roff, sums);
                for (int64_t u = 0; u < nb; ++u) {
                    const int64_t count = std::min(lanes, kg - (b + u) * lanes);
                    for (int64_t l = 0; l < count; ++l) {
                        const int64_t channel = g * kg + (b + u) * lanes + l;
                        float* out = y.f32() + y.offset(n, channel, 0, 0);
                        const float bc = bias ? bias[channel] : 0.0f;
                        if (residual) {
                            bias_residual_activation(
                                sums + u * lanes + l, out, 1, bc,
                                p.residual.f32() + p.residual.offset(n, channel, 0, 0), p.act);
                        } else {
                            bias_activation(sums + u * lanes + l, out, 1, bc, p.act);
                        }
                    }
                }
            }
            continue;
        }
        for (int64_t b = b0; b < b1; ++b) {
            const float* wb = packed.block(g, b);
            const int64_t count = std::min(lanes, kg - b * lanes);
            // A last block of at most lanes / 2 channels: the half tiles.
            const bool half = 2 * count <= lanes;
            const int64_t tiles = half ? half_tiles : full_tiles;
            for (int64_t t = 0; t < tiles; ++t) {
                const int64_t q0 = t * pixels / tiles, q1 = (t + 1) * pixels / tiles;
                (half ? pk.half : pk.tile)[q1 - q0](reduce, wb, x_g, roff, poff + q0, sums + q0,
                                                    pitch);
            }
            for (int64_t l = 0; l < count; ++l) {
                const int64_t channel = g * kg + b * lanes + l;
                float* out = y.f32() + y.offset(n, channel, 0, 0);  // (OH * OW)
                const float bc = bias ? bias[channel] : 0.0f;
                const float* r =
                    residual ? p.residual.f32() + p.residual.offset(n, channel, 0, 0) : nullptr;
                if (avx) {
                    plane_epilogue_avx(sums + l * pitch, out, pixels, bc, r, p.act);
                } else {
                    plane_epilogue(sums + l * pitch, out, pixels, bc, r, p.act);
                }
            }
        }
    }
}

}  // namespace fcnrt::cpu
