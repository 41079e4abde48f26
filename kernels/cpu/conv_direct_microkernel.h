// The direct convolution row kernel, written once for a vector type V and
// compiled in the three ISA translation units (gemm_kernels_{avx512,avx2,
// portable}.cpp, through gemm_kernels_impl.h, V from isa_vec.h) beside the
// GEMM micro-kernel, under the same rules: include it only there, after
// defining FCNRT_GEMM_ISA_NAMESPACE (and gemm_microkernel.h).
//
// One call computes one output row out[0, ow) (conv_direct_kernels.h):
//   - interior columns [ox_lo, ox_hi), where every kx tap lies inside the input
//     row: vectorised over output width, NV vectors of V::width pixels per
//     step (NV independent accumulators hide the FMA latency), then single
//     vectors; per tap (c, ky, kx) one broadcast of the weight and NV loads
//     of input (stride sw > 1: gathered lane by lane);
//     and one last vector ending at ox_hi (overlapping the previous one);
//   - border columns (and interiors narrower than a vector): one pixel at a time.
// The multi-channel form computes mr output channels' rows at once
// (direct_block_multi): per tap, NVM input vectors loaded once and mr weight
// broadcasts, mr x NVM accumulators; for convs with a few input channels and
// many outputs, where the one-channel form would reload the input per channel.
// The padded-taps form (taps_row, for depthwise and strided convs; taps_rows for
// mr channels at once, as direct_block_multi) reads rows the caller
// has zero-padded (and split by column phase when strided), so every pixel is
// vectorised: NV vectors per step, single vectors, one last vector ending at
// `count` (overlapping), and scalar pixels only for rows narrower than a vector.
// Threads: none here; the caller runs rows of (n, k) planes in parallel.
//
// Summation order (the conv GEMM's, gemm.h): every output is
// acc = fma(w[c][ky][kx], x[...], acc) for (c, ky, kx) ascending from acc = 0,
// including the taps that fall in the padding (x = 0) exactly as the GEMM's
// packed tiles do. So the vector, single-vector and scalar parts, every ISA
// path and the GEMM path of the same conv all give the same bits, whatever
// the row's position in a tile.
#ifndef FCNRT_GEMM_ISA_NAMESPACE
#error "define FCNRT_GEMM_ISA_NAMESPACE before including conv_direct_microkernel.h"
#endif

#include <cstdint>

#include "kernels/cpu/conv_direct_kernels.h"

namespace fcnrt::cpu::FCNRT_GEMM_ISA_NAMESPACE {
namespace {

// x[0], x[s], ..., x[(width-1)*s] as one vector.
template <class V, bool Unit>
typename V::type load_strided(const float* p, int64_t s) {
    if (Unit) return V::load(p);
    float lanes[V::width];
    for (int i = 0; i < V::width; ++i) lanes[i] = p[i * s];
    return V::load(lanes);
}

// One output pixel, every tap with a bounds check (0 outside the input).
inline float direct_pixel(const DirectConvRow& g, const float* planes, const float* wk, int64_t oy,
                          int64_t ox) {
    float acc = 0.0f;
    const int64_t iy0 = oy * g.sh - g.pt, ix0 = ox * g.sw - g.pl;
    for (int64_t c = 0; c < g.cg; ++c) {
        const float* plane = planes + c * g.h * g.w;
        for (int64_t ky = 0; ky < g.kh; ++ky) {
            const int64_t iy = iy0 + ky * g.dh;
            const bool row_in = uint64_t(iy) < uint64_t(g.h);
            const float* wr = wk + (c * g.kh + ky) * g.kw;
            for (int64_t kx = 0; kx < g.kw; ++kx) {
                const int64_t ix = ix0 + kx * g.dw;
                const float v =
                    row_in && uint64_t(ix) < uint64_t(g.w) ? plane[iy * g.w + ix] : 0.0f;
                acc = __builtin_fmaf(wr[kx], v, acc);
            }
        }
    }
    return acc;
}

// NB vectors of output pixels from column ox (all inside [ox_lo, ox_hi)).
template <class V, int NB, bool Unit>
inline void direct_block(const DirectConvRow& g, const float* planes, const float* wk, int64_t oy,
                         int64_t ox, float* out) {
    constexpr int W = V::width;
    typename V::type acc[NB];
#pragma GCC unroll 8
    for (int v = 0; v < NB; ++v) acc[v] = V::zero();
    const int64_t iy0 = oy * g.sh - g.pt, ix0 = ox * g.sw - g.pl;
    const int64_t step = W * g.sw;
    for (int64_t c = 0; c < g.cg; ++c) {
        const float* plane = planes + c * g.h * g.w;
        for (int64_t ky = 0; ky < g.kh; ++ky) {
            const int64_t iy = iy0 + ky * g.dh;
            const float* wr = wk + (c * g.kh + ky) * g.kw;
            if (uint64_t(iy) < uint64_t(g.h)) {
                const float* src = plane + iy * g.w + ix0;
                for (int64_t kx = 0; kx < g.kw; ++kx) {
                    const typename V::type wv = V::broadcast(wr + kx);
                    const float* s = src + kx * g.dw;
#pragma GCC unroll 8
                    for (int v = 0; v < NB; ++v)
                        acc[v] = V::fma(wv, load_strided<V, Unit>(s + v * step, g.sw), acc[v]);
                }
            } else {  // a padding row: its taps are fma(w, 0, acc), as in the GEMM's packed tiles
                const typename V::type zero = V::zero();
                for (int64_t kx = 0; kx < g.kw; ++kx) {
                    const typename V::type wv = V::broadcast(wr + kx);
#pragma GCC unroll 8
                    for (int v = 0; v < NB; ++v) acc[v] = V::fma(wv, zero, acc[v]);
                }
            }
        }
    }
#pragma GCC unroll 8
    for (int v = 0; v < NB; ++v) V::store(out + ox + v * W, acc[v]);
}

template <class V, int NV, bool Unit>
void direct_row_impl(const DirectConvRow& g, const float* planes, const float* wk, int64_t oy,
                     float* out) {
    constexpr int W = V::width;
    int64_t ox = 0;
    for (; ox < g.ox_lo; ++ox) out[ox] = direct_pixel(g, planes, wk, oy, ox);
    for (; ox + NV * W <= g.ox_hi; ox += NV * W)
        direct_block<V, NV, Unit>(g, planes, wk, oy, ox, out);
    for (; ox + W <= g.ox_hi; ox += W) direct_block<V, 1, Unit>(g, planes, wk, oy, ox, out);
    // The interior's last pixels: one vector ending at ox_hi, overlapping pixels
    // already written (recomputed to the same bits), when the interior is that wide.
    if (ox < g.ox_hi && g.ox_hi - W >= g.ox_lo) {
        direct_block<V, 1, Unit>(g, planes, wk, oy, g.ox_hi - W, out);
        ox = g.ox_hi;
    }
    for (; ox < g.ow; ++ox) out[ox] = direct_pixel(g, planes, wk, oy, ox);
}

template <class V, int NV>
void direct_row(const DirectConvRow& g, const float* planes, const float* wk, int64_t oy,
                float* out) {
    if (g.sw == 1) {
        direct_row_impl<V, NV, true>(g, planes, wk, oy, out);
    } else {
        direct_row_impl<V, NV, false>(g, planes, wk, oy, out);
    }
}

// MR output channels at once (channel m's weights at wk + m*wstride, its row
// at out + m*ostride): NB vectors of pixels from column ox, each input vector
// loaded once per tap for all MR channels.
template <class V, int MR, int NB, bool Unit>
inline void direct_block_multi(const DirectConvRow& g, const float* planes, const float* wk,
                               int64_t wstride, int64_t oy, int64_t ox, float* out,
                               int64_t ostride) {
    constexpr int W = V::width;
    typename V::type acc[MR][NB];
#pragma GCC unroll 8
    for (int m = 0; m < MR; ++m)
#pragma GCC unroll 8
        for (int v = 0; v < NB; ++v) acc[m][v] = V::zero();
    const int64_t iy0 = oy * g.sh - g.pt, ix0 = ox * g.sw - g.pl;
    const int64_t step = W * g.sw;
    for (int64_t c = 0; c < g.cg; ++c) {
        const float* plane = planes + c * g.h * g.w;
        for (int64_t ky = 0; ky < g.kh; ++ky) {
            const int64_t iy = iy0 + ky * g.dh;
            const float* wr = wk + (c * g.kh + ky) * g.kw;
            const bool row_in = uint64_t(iy) < uint64_t(g.h);
            const float* src = plane + (row_in ? iy : 0) * g.w + ix0;
            for (int64_t kx = 0; kx < g.kw; ++kx) {
                typename V::type xv[NB];
                if (row_in) {
#pragma GCC unroll 8
                    for (int v = 0; v < NB; ++v)
                        xv[v] = load_strided<V, Unit>(src + kx * g.dw + v * step, g.sw);
                } else {  // a padding row: fma(w, 0, acc), as in the GEMM's packed tiles
#pragma GCC unroll 8
                    for (int v = 0; v < NB; ++v) xv[v] = V::zero();
                }
#pragma GCC unroll 8
                for (int m = 0; m < MR; ++m) {
                    const typename V::type wv = V::broadcast(wr + m * wstride + kx);
#pragma GCC unroll 8
                    for (int v = 0; v < NB; ++v) acc[m][v] = V::fma(wv, xv[v], acc[m][v]);
                }
            }
        }
    }
#pragma GCC unroll 8
    for (int m = 0; m < MR; ++m)
#pragma GCC unroll 8
        for (int v = 0; v < NB; ++v) V::store(out + m * ostride + ox + v * W, acc[m][v]);
}

template <class V, int MR, int NV, bool Unit>
void direct_rows_impl(const DirectConvRow& g, const float* planes, const float* wk, int64_t wstride,
                      int64_t oy, float* out, int64_t ostride) {
    constexpr int W = V::width;
    for (int64_t ox = 0; ox < g.ox_lo; ++ox)
        for (int m = 0; m < MR; ++m)
            out[m * ostride + ox] = direct_pixel(g, planes, wk + m * wstride, oy, ox);
    int64_t ox = g.ox_lo;
    for (; ox + NV * W <= g.ox_hi; ox += NV * W)
        direct_block_multi<V, MR, NV, Unit>(g, planes, wk, wstride, oy, ox, out, ostride);
    for (; ox + W <= g.ox_hi; ox += W)
        direct_block_multi<V, MR, 1, Unit>(g, planes, wk, wstride, oy, ox, out, ostride);
    if (ox < g.ox_hi && g.ox_hi - W >= g.ox_lo) {  // the last vector, overlapping the previous
        direct_block_multi<V, MR, 1, Unit>(g, planes, wk, wstride, oy, g.ox_hi - W, out, ostride);
        ox = g.ox_hi;
    }
    for (; ox < g.ow; ++ox)
        for (int m = 0; m < MR; ++m)
            out[m * ostride + ox] = direct_pixel(g, planes, wk + m * wstride, oy, ox);
}

template <class V, int MR, int NV>
void direct_rows(const DirectConvRow& g, const float* planes, const float* wk, int64_t wstride,
                 int64_t oy, float* out, int64_t ostride) {
    if (g.sw == 1) {
        direct_rows_impl<V, MR, NV, true>(g, planes, wk, wstride, oy, out, ostride);
    } else {
        direct_rows_impl<V, MR, NV, false>(g, planes, wk, wstride, oy, out, ostride);
    }
}

// NB vectors of padded-taps output pixels from column ox (taps_row).
template <class V, int NB>
inline void taps_block(const float* const* rows, const int64_t* col, int64_t kh, int64_t kw,
                       const float* wk, int64_t ox, float* out) {
    constexpr int W = V::width;
    typename V::type acc[NB];
#pragma GCC unroll 8
    for (int v = 0; v < NB; ++v) acc[v] = V::zero();
    for (int64_t ky = 0; ky < kh; ++ky) {
        const float* r = rows[ky] + ox;
        const float* wr = wk + ky * kw;
        for (int64_t kx = 0; kx < kw; ++kx) {
            const typename V::type wv = V::broadcast(wr + kx);
            const float* s = r + col[kx];
#pragma GCC unroll 8
            for (int v = 0; v < NB; ++v) acc[v] = V::fma(wv, V::load(s + v * W), acc[v]);
        }
    }
#pragma GCC unroll 8
    for (int v = 0; v < NB; ++v) V::store(out + ox + v * W, acc[v]);
}

template <class V, int NV>
void direct_taps_row(const float* const* rows, const int64_t* col, int64_t kh, int64_t kw,
              const float* wk, int64_t count, float* out) {
    constexpr int W = V::width;
    int64_t ox = 0;
    for (; ox + NV * W <= count; ox += NV * W) taps_block<V, NV>(rows, col, kh, kw, wk, ox, out);
    for (; ox + W <= count; ox += W) taps_block<V, 1>(rows, col, kh, kw, wk, ox, out);
    if (ox == count) return;
    if (count >= W) {  // the last pixels: one vector ending at count, recomputing some
        taps_block<V, 1>(rows, col, kh, kw, wk, count - W, out);
        return;
    }
    for (; ox < count; ++ox) {  // a row narrower than one vector
        float acc = 0.0f;
        for (int64_t ky = 0; ky < kh; ++ky)
            for (int64_t kx = 0; kx < kw; ++kx)
                acc = __builtin_fmaf(wk[ky * kw + kx], rows[ky][col[kx] + ox], acc);
        out[ox] = acc;
    }
}

// MR output channels of taps_row at once (channel m's weights at wk + m*wstride,
// its row at out + m*ostride): NB vectors of pixels from column ox, each input
// vector loaded once per tap for all MR channels.
template <class V, int MR, int NB>
inline void taps_block_multi(const float* const* rows, const int64_t* col, int64_t kh, int64_t kw,
                             const float* wk, int64_t wstride, int64_t ox, float* out, int64_t ostride) {
    constexpr int W = V::width;
    typename V::type acc[MR][NB];
#pragma GCC unroll 8
    for (int m = 0; m < MR; ++m)
#pragma GCC unroll 8
        for (int v = 0; v < NB; ++v) acc[m][v] = V::zero();
    for (int64_t ky = 0; ky < kh; ++ky) {
        const float* r = rows[ky] + ox;
        const float* wr = wk + ky * kw;
        for (int64_t kx = 0; kx < kw; ++kx) {
            const float* s = r + col[kx];
            typename V::type xv[NB];
#pragma GCC unroll 8
            for (int v = 0; v < NB; ++v) xv[v] = V::load(s + v * W);
#pragma GCC unroll 8
            for (int m = 0; m < MR; ++m) {
                const typename V::type wv = V::broadcast(wr + m * wstride + kx);
#pragma GCC unroll 8
                for (int v = 0; v < NB; ++v) acc[m][v] = V::fma(wv, xv[v], acc[m][v]);
            }
        }
    }
#pragma GCC unroll 8
    for (int m = 0; m < MR; ++m)
#pragma GCC unroll 8
        for (int v = 0; v < NB; ++v) V::store(out + m * ostride + ox + v * W, acc[m][v]);
}

template <class V, int MR, int NVM>
void direct_taps_rows(const float* const* rows, const int64_t* col, int64_t kh, int64_t kw, const float* wk,
                      int64_t wstride, int64_t count, float* out, int64_t ostride) {
    constexpr int W = V::width;
    int64_t ox = 0;
    for (; ox + NVM * W <= count; ox += NVM * W)
        taps_block_multi<V, MR, NVM>(rows, col, kh, kw, wk, wstride, ox, out, ostride);
    for (; ox + W <= count; ox += W) taps_block_multi<V, MR, 1>(rows, col, kh, kw, wk, wstride, ox, out, ostride);
    if (ox == count) return;
    if (count >= W) {  // the last pixels: one vector ending at count, recomputing some
        taps_block_multi<V, MR, 1>(rows, col, kh, kw, wk, wstride, count - W, out, ostride);
        return;
    }
    for (int m = 0; m < MR; ++m)  // a row narrower than one vector
        direct_taps_row<V, 1>(rows, col, kh, kw, wk + m * wstride, count, out + m * ostride);
}

// NV: vectors per step of the one-channel row (and of taps_row); MR x NVM: channels x vectors of
// the multi-channel rows (MR*NVM accumulators, NVM input vectors and one
// broadcast must fit the register file).
template <class V, int NV, int MR, int NVM>
ConvDirectKernel make_conv_direct_kernel(const char* isa) {
    ConvDirectKernel k;
    k.isa = isa;
    k.row = &direct_row<V, NV>;
    k.mr = MR;
    k.rows = &direct_rows<V, MR, NVM>;
    k.taps_row = &direct_taps_row<V, NV>;
    k.taps_rows = &direct_taps_rows<V, MR, NVM>;
    return k;
}

}  // namespace
}  // namespace fcnrt::cpu::FCNRT_GEMM_ISA_NAMESPACE
