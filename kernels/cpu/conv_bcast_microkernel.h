// The broadcast conv micro-kernel, written once for a vector type V and
// compiled in three translation units (conv_bcast_kernels_{avx512,avx2,
// portable}.cpp, through conv_bcast_kernels_impl.h, V from isa_vec.h), each
// with its own instruction set flags, under the rules of gemm_microkernel.h:
// include it only there, after defining FCNRT_GEMM_ISA_NAMESPACE; every symbol
// lives in that namespace.
//
// One call computes a register tile of NV vectors of output channels (the
// lanes: NV * V::width channels, a block of the weights packed at load as
// [r][lanes]) x COUNT consecutive output pixels of one row (conv_bcast_kernels.h):
// per reduction step r = (c, ky, kx), NV vector loads of weights, COUNT
// broadcasts of input pixels read in place at src[r] + ox + j (the caller's
// table of row pointers: an input row shifted by the tap, or a row of zeros
// in the vertical padding), NV x COUNT fused multiply-adds into NV x COUNT
// accumulators. The edge form does COUNT pixels whose taps may leave their
// rows (each with its own table, column and taps inside), reading a +0 for
// the taps outside. Threads: none here (conv_bcast.cpp splits rows).
//
// Summation order (the conv GEMM's, gemm.h): every output is
// acc = fma(w[k][c][ky][kx], x[...], acc) for r = (c, ky, kx) ascending, from
// +0 (accumulate == false) or from the stored partial sum of the previous
// reduction block; the padding taps are multiplied as +0 entries exactly as
// the GEMM's packed tiles do. So every ISA, every tile width and position give
// the same bits as conv2d_gemm.
#ifndef FCNRT_GEMM_ISA_NAMESPACE
#error "define FCNRT_GEMM_ISA_NAMESPACE before including conv_bcast_microkernel.h"
#endif

#include <cstdint>

#include "kernels/cpu/conv_bcast_kernels.h"

namespace fcnrt::cpu::FCNRT_GEMM_ISA_NAMESPACE {
namespace {

template <class V, int NV, int COUNT>
void bcast_tile(int64_t kc, const float* w, const float* const* src, int64_t ox, float* out,
                bool accumulate) {
    constexpr int W = V::width, L = NV * W;
    typename V::type acc[COUNT][NV];
#pragma GCC unroll 16
    for (int j = 0; j < COUNT; ++j)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[j][v] = accumulate ? V::load(out + j * L + v * W) : V::zero();
    for (int64_t r = 0; r < kc; ++r) {
        typename V::type wv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) wv[v] = V::load(w + r * L + v * W);
        const float* s = src[r] + ox;
#pragma GCC unroll 16
        for (int j = 0; j < COUNT; ++j) {
            const typename V::type xv = V::broadcast(s + j);
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v) acc[j][v] = V::fma(wv[v], xv, acc[j][v]);
        }
    }
#pragma GCC unroll 16
    for (int j = 0; j < COUNT; ++j)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) V::store(out + j * L + v * W, acc[j][v]);
}

template <class V, int NV, int COUNT>
void bcast_edge(int64_t kc, const float* w, const BcastEdgePixel* px, int64_t kx0, int64_t kw,
                const float* zero, bool accumulate) {
    constexpr int W = V::width, L = NV * W;
    typename V::type acc[COUNT][NV];
#pragma GCC unroll 16
    for (int j = 0; j < COUNT; ++j)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[j][v] = accumulate ? V::load(px[j].out + v * W) : V::zero();
    int64_t kx = kx0;
    for (int64_t r = 0; r < kc; ++r) {
        typename V::type wv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) wv[v] = V::load(w + r * L + v * W);
#pragma GCC unroll 16
        for (int j = 0; j < COUNT; ++j) {
            const float* s = px[j].inside[kx] ? px[j].src[r] + px[j].ox : zero;
            const typename V::type xv = V::broadcast(s);
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v) acc[j][v] = V::fma(wv[v], xv, acc[j][v]);
        }
        if (++kx == kw) kx = 0;
    }
#pragma GCC unroll 16
    for (int j = 0; j < COUNT; ++j)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) V::store(px[j].out + v * W, acc[j][v]);
}

// trans[l * ld + j] = part[j * L + l] (pixels j < seg, lanes l < L): 8 x 8
// register transposes where the ISA has them, element by element otherwise.
template <class V, int NV>
void bcast_transpose(const float* part, int64_t seg, float* trans, int64_t ld) {
    constexpr int W = V::width, L = NV * W;
    int64_t j = 0;
    if constexpr (W == 8 && V::has_transpose8) {
        for (; j + 8 <= seg; j += 8) {
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v) {
                typename V::type rows[8];
#pragma GCC unroll 8
                for (int i = 0; i < 8; ++i) rows[i] = V::load(part + (j + i) * L + v * W);
                V::transpose8(rows);
#pragma GCC unroll 8
                for (int l = 0; l < 8; ++l) V::store(trans + (v * W + l) * ld + j, rows[l]);
            }
        }
    }
    for (; j < seg; ++j)
        for (int l = 0; l < L; ++l) trans[l * ld + j] = part[j * L + l];
}

template <class V, int NV, int P, int COUNT>
void fill_tiles(ConvBcastKernel& k) {
    if constexpr (COUNT <= P) {
        k.tile[COUNT] = &bcast_tile<V, NV, COUNT>;
        k.edge[COUNT] = &bcast_edge<V, NV, COUNT>;
        fill_tiles<V, NV, P, COUNT + 1>(k);
    }
}

// The kernel table of this ISA: NV vectors of channels, P pixels per tile, KC
// reduction steps per block.
template <class V, int NV, int P, int KC>
ConvBcastKernel make_conv_bcast_kernel(const char* isa) {
    static_assert(P >= 1 && P <= kBcastMaxPixels, "tile width");
    ConvBcastKernel k;
    k.lanes = NV * V::width;
    k.pixels = P;
    k.kc = KC;
    k.isa = isa;
    for (int i = 0; i <= kBcastMaxPixels; ++i) {
        k.tile[i] = nullptr;
        k.edge[i] = nullptr;
    }
    fill_tiles<V, NV, P, 1>(k);
    k.transpose = &bcast_transpose<V, NV>;
    return k;
}

}  // namespace
}  // namespace fcnrt::cpu::FCNRT_GEMM_ISA_NAMESPACE
