// The small-plane conv micro-kernel (conv_plane_kernels.h), written once for a
// vector type V and compiled next to the broadcast conv's in its three
// translation units (conv_bcast_kernels_{avx512,avx2,portable}.cpp, through
// conv_bcast_kernels_impl.h, V from isa_vec.h), under the rules of
// gemm_microkernel.h: include it only there, after defining
// FCNRT_GEMM_ISA_NAMESPACE; nothing from the standard library.
//
// One call: NV vectors of output channels (lanes, one weight block [r][lanes])
// x COUNT output pixels anywhere in the plane, NV x COUNT accumulators (half
// tiles: the block's first NV / 2 vectors, for a last block of at most
// lanes / 2 channels, with more pixels). Per
// reduction step r = (c, ky, kx): NV vector loads of weights, one tap offset,
// COUNT broadcasts of input values at x + roff[r] + poff[j] (the pixels'
// pointers held in registers), NV x COUNT fused multiply-adds. No reduction
// blocks: the whole chain in registers, stored once. Threads: none here.
//
// Summation order (the conv GEMM's, gemm.h): every output is
// acc = fma(w[k][c][ky][kx], x[...], acc) for r = (c, ky, kx) ascending from +0,
// so every ISA and tile gives the same bits as conv2d_gemm.
#ifndef FCNRT_GEMM_ISA_NAMESPACE
#error "define FCNRT_GEMM_ISA_NAMESPACE before including conv_plane_microkernel.h"
#endif

#include <cstdint>

#include "kernels/cpu/conv_plane_kernels.h"

namespace fcnrt::cpu::FCNRT_GEMM_ISA_NAMESPACE {
namespace {

// NV of the block's NVW vectors (NV < NVW: the first lanes of a block whose
// other lanes are only padding), weights NVW * W lanes apart; sums stored
// channel-major (out[l * ld + j]), on AVX2 by in-register 8 x 8 transposes.
template <class V, int NV, int NVW, int COUNT>
void plane_tile(int64_t reduce, const float* w, const float* x, const int64_t* roff,
                const int64_t* poff, float* out, int64_t ld) {
    constexpr int W = V::width, L = NVW * W;
    typename V::type acc[COUNT][NV];
    const float* px[COUNT];
#pragma GCC unroll 16
    for (int j = 0; j < COUNT; ++j) {
        px[j] = x + poff[j];
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[j][v] = V::zero();
    }
    for (int64_t r = 0; r < reduce; ++r) {
        typename V::type wv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) wv[v] = V::load(w + r * L + v * W);
        const int64_t o = roff[r];
#pragma GCC unroll 16
        for (int j = 0; j < COUNT; ++j) {
            const typename V::type xv = V::broadcast(px[j] + o);
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v) acc[j][v] = V::fma(wv[v], xv, acc[j][v]);
        }
    }
    // Channel-major: lane l of pixel j to out[l * ld + j].
    if constexpr (V::width == 8 && COUNT <= 8 && V::has_transpose8) {
        // One 8 x 8 transpose per vector of channels (pixels past COUNT: zeros,
        // stored past the tile, where the caller's next tile or padding is).
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) {
            typename V::type rows[8];
#pragma GCC unroll 8
            for (int j = 0; j < 8; ++j) rows[j] = j < COUNT ? acc[j < COUNT ? j : 0][v] : V::zero();
            V::transpose8(rows);
#pragma GCC unroll 8
            for (int l = 0; l < 8; ++l) V::store(out + (v * W + l) * ld, rows[l]);
        }
    } else {
        float lanes[W > 0 ? W : 1];
#pragma GCC unroll 16
        for (int j = 0; j < COUNT; ++j) {
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v) {
                V::store(lanes, acc[j][v]);
                for (int i = 0; i < W; ++i) out[(v * W + i) * ld + j] = lanes[i];
            }
        }
    }
    (void)L;
}

// One output pixel for NB consecutive weight blocks (block b at w + b * bstride):
// NB x NV accumulators, NB weight streams read a cache line or two per step,
// one broadcast of the pixel's tap. A plane of one pixel (a patch net's last
// conv): the blocks' weights stream from L2/L3 once, NB of them side by side
// (independent chains and several streams in flight).
template <class V, int NV, int NB>
void plane_column(int64_t reduce, const float* w, int64_t bstride, const float* x,
                  const int64_t* roff, float* out) {
    constexpr int W = V::width, L = NV * W;
    typename V::type acc[NB][NV];
#pragma GCC unroll 8
    for (int b = 0; b < NB; ++b)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[b][v] = V::zero();
    for (int64_t r = 0; r < reduce; ++r) {
        const typename V::type xv = V::broadcast(x + roff[r]);
#pragma GCC unroll 8
        for (int b = 0; b < NB; ++b)
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v)
                acc[b][v] = V::fma(V::load(w + b * bstride + r * L + v * W), xv, acc[b][v]);
    }
#pragma GCC unroll 8
    for (int b = 0; b < NB; ++b)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) V::store(out + b * L + v * W, acc[b][v]);
}

template <class V, int NV, int NB>
void fill_plane_columns(ConvPlaneKernel& k) {
    if constexpr (NB >= 1) {
        k.column[NB] = &plane_column<V, NV, NB>;
        fill_plane_columns<V, NV, NB - 1>(k);
    }
}

template <class V, int NV, int P, int PH, int COUNT>
void fill_plane_tiles(ConvPlaneKernel& k) {
    if constexpr (COUNT <= P) k.tile[COUNT] = &plane_tile<V, NV, NV, COUNT>;
    if constexpr (COUNT <= PH) k.half[COUNT] = &plane_tile<V, NV / 2, NV, COUNT>;
    if constexpr (COUNT < P || COUNT < PH) fill_plane_tiles<V, NV, P, PH, COUNT + 1>(k);
}

// The kernel table of this ISA: NV vectors of channels, up to P pixels per
// tile; the half tiles NV / 2 vectors, up to PH pixels; columns of up to NB blocks.
template <class V, int NV, int P, int PH, int NB>
ConvPlaneKernel make_conv_plane_kernel(const char* isa) {
    static_assert(NB >= 1 && NB <= kPlaneMaxColumnBlocks, "column blocks");
    static_assert(P >= 1 && P <= kPlaneMaxPixels && PH >= 1 && PH <= kPlaneMaxPixels, "tile width");
    static_assert(NV % 2 == 0, "half tiles");
    ConvPlaneKernel k;
    k.lanes = NV * V::width;
    k.pixels = P;
    k.half_pixels = PH;
    k.isa = isa;
    k.column_blocks = NB;
    for (int i = 0; i <= kPlaneMaxPixels; ++i) k.tile[i] = k.half[i] = nullptr;
    for (int i = 0; i <= kPlaneMaxColumnBlocks; ++i) k.column[i] = nullptr;
    fill_plane_tiles<V, NV, P, PH, 1>(k);
    fill_plane_columns<V, NV, NB>(k);
    return k;
}

}  // namespace
}  // namespace fcnrt::cpu::FCNRT_GEMM_ISA_NAMESPACE
