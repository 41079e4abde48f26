// The memory-bound kernels' inner loops (membound_kernels.h), written once and
// compiled in the ISA translation units (membound_kernels_{avx512,avx2,portable,
// avx512sim}.cpp), each with its instruction set flags and -ffp-contract=off.
// Include it only there, once, after defining FCNRT_MEMBOUND_ISA (avx512, avx2,
// portable, or avx512sim: the avx512 unit's code with no vector flags, cpu_isa.h):
// every kernel lives in the anonymous namespace of membound_<isa> and nothing
// from the standard library is used, so the linker cannot hand a function built
// for a wider ISA to a caller on a narrower CPU; the one external symbol is the
// table getter membound_kernels_<isa>() (membound_kernels.h), named per ISA.
//
// Lanes: every loop marked `omp simd` runs across outputs of one row (pools,
// resize) or across the lanes of a chunk (softmax, argmax: pixels, with the
// reduction axis walked outside); the compiler widens it to the ISA's vector.
// Each output sees exactly the float operations, in the same order, on every
// path: max and selects are exact, sums are per lane in window order, and exp is
// exp_vectorisable below on every path.
#ifndef FCNRT_MEMBOUND_ISA
#error "define FCNRT_MEMBOUND_ISA before including membound_kernels_impl.h"
#endif

#include <cstdint>

#include "kernels/cpu/isa_unit.h"
#include "kernels/cpu/membound_kernels.h"

#define FCNRT_MEMBOUND_ISA_NAMESPACE FCNRT_ISA_CAT(membound_, FCNRT_MEMBOUND_ISA)

// The whole-plane pool's 8-float vectors: where the unit has AVX, and in
// avx512sim (GCC's generic vectors in SSE2 halves), which takes every branch
// the avx512 unit takes.
#if defined(__AVX__) || FCNRT_ISA_ID(FCNRT_MEMBOUND_ISA) == FCNRT_ISA_ID_avx512sim
#define FCNRT_MEMBOUND_POOL_V8 1
#else
#define FCNRT_MEMBOUND_POOL_V8 0
#endif

namespace fcnrt::cpu::FCNRT_MEMBOUND_ISA_NAMESPACE {
namespace {

// ---- pools ----

// The max pool's update rule, tap by tap in window order: v replaces b when
// greater or NaN (a NaN in the window wins, as in the reference).
inline float max_or_nan(float b, float v) { return v > b || v != v ? v : b; }

// One 2x2 window (rows r0, r1, columns 2*ox, 2*ox + 1) folded in window order.
inline float max_2x2_window(const float* r0, const float* r1, int64_t ox) {
    float b = r0[2 * ox];
    b = max_or_nan(b, r0[2 * ox + 1]);
    b = max_or_nan(b, r1[2 * ox]);
    return max_or_nan(b, r1[2 * ox + 1]);
}

// best[ox] = max over one tap of the row, for ox in [lo, hi), the stride a
// constant where it is 1 or 2 so that the loads vectorise.
template <int64_t SW>
void max_tap_values(float* best, const float* row, int64_t off, int64_t lo, int64_t hi, int64_t sw) {
    const int64_t stride = SW > 0 ? SW : sw;
#pragma omp simd
    for (int64_t ox = lo; ox < hi; ++ox) {
        const float v = row[ox * stride + off];
        best[ox] = max_or_nan(best[ox], v);
    }
}

void max_tap(float* best, const float* row, int64_t off, int64_t lo, int64_t hi, int64_t sw) {
    if (sw == 1) return max_tap_values<1>(best, row, off, lo, hi, sw);
    if (sw == 2) return max_tap_values<2>(best, row, off, lo, hi, sw);
    max_tap_values<0>(best, row, off, lo, hi, sw);
}

template <int64_t SW>
void max_tap_indices(float* best, int32_t* idx, const float* row, int64_t off, int32_t base,
                     int64_t lo, int64_t hi, int64_t sw) {
    const int64_t stride = SW > 0 ? SW : sw;
#pragma omp simd
    for (int64_t ox = lo; ox < hi; ++ox) {
        const float v = row[ox * stride + off];
        const bool take = v > best[ox] || v != v;  // NaN wins
        best[ox] = take ? v : best[ox];
        idx[ox] = take ? base + static_cast<int32_t>(ox * stride) : idx[ox];
    }
}

// The 2x2 stride-2 window with no padding, every output's window in bounds
// (SegNet's, U-Net's, FC-DenseNet's pools): one pass over the two input rows,
// the four taps folded in registers in window order with the same update rule
// as the tap-by-tap loop, so the same value and index win. Taken only with
// indices: without them, folding one window row at a time (two passes,
// max_fold_values) measured faster on 256 px planes and about as fast on 1024
// px ones (bench/results/2026-12-02-s6-membound-kernels.md).
void max_pool_2x2_s2(const PoolRow& r, float* best, int32_t* idx, int64_t plane_base) {
    const float neg_inf = -__builtin_inff();
    const int64_t row1 = r.row0 + r.dh;
    const float* r0 = r.plane + r.row0 * r.in_w;  // (W)
    const float* r1 = r.plane + row1 * r.in_w;    // (W)
    const int64_t ow = r.ow;
    if (idx == nullptr) {
#pragma omp simd
        for (int64_t ox = 0; ox < ow; ++ox) best[ox] = max_2x2_window(r0, r1, ox);
        return;
    }
    const int32_t b00 = static_cast<int32_t>(plane_base + r.row0 * r.in_w);
    const int32_t b01 = static_cast<int32_t>(plane_base + r.row0 * r.in_w + 1);
    const int32_t b10 = static_cast<int32_t>(plane_base + row1 * r.in_w);
    const int32_t b11 = static_cast<int32_t>(plane_base + row1 * r.in_w + 1);
#pragma omp simd
    for (int64_t ox = 0; ox < ow; ++ox) {
        const int32_t o2 = static_cast<int32_t>(ox * 2);
        float b = neg_inf, v;
        int32_t i = b00 + o2;  // the starting index: the window's first tap
        bool t;
        v = r0[2 * ox];
        t = v > b || v != v;
        b = t ? v : b;
        i = t ? b00 + o2 : i;
        v = r0[2 * ox + 1];
        t = v > b || v != v;
        b = t ? v : b;
        i = t ? b01 + o2 : i;
        v = r1[2 * ox];
        t = v > b || v != v;
        b = t ? v : b;
        i = t ? b10 + o2 : i;
        v = r1[2 * ox + 1];
        t = v > b || v != v;
        b = t ? v : b;
        i = t ? b11 + o2 : i;
        best[ox] = b;
        idx[ox] = i;
    }
}

// ---- 2x2 stride-2 max pool, values only, every window in bounds ----
//
// A whole plane in one call (small planes: a patch net's 28x28 -> 14x14 and
// 10x10 -> 5x5 pools spent more on the per-row set-up of max_pool_row than on
// the maxima). Lanes: V consecutive outputs of one row, their taps loaded as
// two vectors per window row and split into even and odd columns; a row's
// last vector is placed at ow - V, overlapping the previous one (it recomputes
// the same outputs), so no row has a scalar remainder or a branch per value.
// (V = 8 where the ISA has AVX, and in avx512sim; else 4.) Rows narrower than
// 4 outputs: per value. Each output folds its taps in window order (0,0),
// (0,1), (1,0), (1,1) with the update rule of the tap-by-tap loop from -inf
// (starting with the first tap gives the same bits: it replaces -inf unless it
// is -inf itself), so the same value as max_pool_row.
#if FCNRT_MEMBOUND_POOL_V8
typedef float pool_v8f __attribute__((vector_size(32)));
typedef int pool_v8i __attribute__((vector_size(32)));
#endif
typedef float pool_v4f __attribute__((vector_size(16)));
typedef int pool_v4i __attribute__((vector_size(16)));

template <class VF>
inline VF pool_load(const float* p) {
    VF v;
    __builtin_memcpy(&v, p, sizeof(v));
    return v;
}

template <class VF>
inline VF pool_fold(VF b, VF v) {
    return ((v > b) | (v != v)) ? v : b;
}

// Lanes idx of the concatenation (a, b): GCC's __builtin_shuffle; clang (the
// fuzz build) has no such builtin, so there the same selection lane by lane.
template <class VF, class VI, int N>
inline VF pool_select(VF a, VF b, VI idx) {
#if defined(__clang__)
    VF r;
    for (int i = 0; i < N; ++i) r[i] = idx[i] < N ? a[idx[i]] : b[idx[i] - N];
    return r;
#else
    return __builtin_shuffle(a, b, idx);
#endif
}

template <class VF, class VI, int N>
inline void max_2x2_s2_vector(const float* r0, const float* r1, int64_t ox, float* y) {
    VI even, odd;
    for (int i = 0; i < N; ++i) {
        even[i] = 2 * i;
        odd[i] = 2 * i + 1;
    }
    const VF a0 = pool_load<VF>(r0 + 2 * ox), a1 = pool_load<VF>(r0 + 2 * ox + N);
    const VF b0 = pool_load<VF>(r1 + 2 * ox), b1 = pool_load<VF>(r1 + 2 * ox + N);
    VF m = pool_select<VF, VI, N>(a0, a1, even);
    m = pool_fold(m, pool_select<VF, VI, N>(a0, a1, odd));
    m = pool_fold(m, pool_select<VF, VI, N>(b0, b1, even));
    m = pool_fold(m, pool_select<VF, VI, N>(b0, b1, odd));
    __builtin_memcpy(y + ox, &m, sizeof(m));
}

void max_pool_2x2_s2_plane(const float* x, int64_t in_w, int64_t oh, int64_t ow, float* y) {
    for (int64_t oy = 0; oy < oh; ++oy) {
        const float* r0 = x + 2 * oy * in_w;
        const float* r1 = r0 + in_w;
        float* out = y + oy * ow;
#if FCNRT_MEMBOUND_POOL_V8
        if (ow >= 8) {
            int64_t ox = 0;
            for (; ox + 8 <= ow; ox += 8) max_2x2_s2_vector<pool_v8f, pool_v8i, 8>(r0, r1, ox, out);
            if (ox < ow) max_2x2_s2_vector<pool_v8f, pool_v8i, 8>(r0, r1, ow - 8, out);
        } else
#endif
        if (ow >= 4) {
            int64_t ox = 0;
            for (; ox + 4 <= ow; ox += 4) max_2x2_s2_vector<pool_v4f, pool_v4i, 4>(r0, r1, ox, out);
            if (ox < ow) max_2x2_s2_vector<pool_v4f, pool_v4i, 4>(r0, r1, ow - 4, out);
        } else {
            for (int64_t ox = 0; ox < ow; ++ox) out[ox] = max_2x2_window(r0, r1, ox);
        }
    }
}

// The outputs [*l, *h) of a row that every window column reaches (empty: *h == *l).
void row_interior(const PoolRow& r, int64_t* l, int64_t* h) {
    int64_t lo = 0, hi = r.ow;
    for (int64_t kx = 0; kx < r.kw; ++kx) {
        lo = r.lo[kx] > lo ? r.lo[kx] : lo;
        hi = r.hi[kx] < hi ? r.hi[kx] : hi;
    }
    *l = lo;
    *h = hi > lo ? hi : lo;
}

// One window row's KW taps folded per output over the interior [lo, hi), in
// window column order: the same updates as KW tap-by-tap passes, one pass.
template <int KW, int64_t SW>
void max_fold_values(float* best, const float* row, int64_t off0, int64_t dw, int64_t lo, int64_t hi) {
#pragma omp simd
    for (int64_t ox = lo; ox < hi; ++ox) {
        float b = best[ox];
#pragma GCC unroll 4
        for (int k = 0; k < KW; ++k) {
            b = max_or_nan(b, row[ox * SW + off0 + k * dw]);
        }
        best[ox] = b;
    }
}

template <int KW, int64_t SW>
void max_fold_indices(float* best, int32_t* idx, const float* row, int64_t off0, int64_t dw,
                      const int32_t* base, int64_t lo, int64_t hi) {
#pragma omp simd
    for (int64_t ox = lo; ox < hi; ++ox) {
        float b = best[ox];
        int32_t i = idx[ox];
        const int32_t o = static_cast<int32_t>(ox * SW);
#pragma GCC unroll 4
        for (int k = 0; k < KW; ++k) {
            const float v = row[ox * SW + off0 + k * dw];
            const bool t = v > b || v != v;
            b = t ? v : b;
            i = t ? base[k] + o : i;
        }
        best[ox] = b;
        idx[ox] = i;
    }
}

template <int KW, int64_t SW>
void sum_fold(float* sum, const float* row, int64_t off0, int64_t dw, int64_t lo, int64_t hi) {
#pragma omp simd
    for (int64_t ox = lo; ox < hi; ++ox) {
        float a = sum[ox];
#pragma GCC unroll 4
        for (int k = 0; k < KW; ++k) a += row[ox * SW + off0 + k * dw];
        sum[ox] = a;
    }
}

// Folded windows: 2 or 3 columns at stride 1 or 2 (3x3 s1/s2, 2x2 with padding
// or ceil_mode); the rest tap by tap.
int fold_kind(const PoolRow& r) {
    if ((r.kw != 2 && r.kw != 3) || (r.sw != 1 && r.sw != 2)) return 0;
    return static_cast<int>(r.kw * 10 + r.sw);
}

bool is_full_2x2_s2(const PoolRow& r) {
    return r.kw == 2 && r.sw == 2 && r.dw == 1 && r.pl == 0 && r.rows == 2 && r.lo[0] == 0 &&
           r.lo[1] == 0 && r.hi[0] == r.ow && r.hi[1] == r.ow;
}

// Taps in the reference's order (row-major over the window): per window row,
// each tap applied to the outputs it reaches, or for 2- and 3-column windows at
// stride 1 or 2 the row's taps folded per output over the interior (every tap
// in bounds) and tap by tap over the borders. Each output sees its taps in
// window order either way.
void max_pool_row(const PoolRow& r, float* best, int32_t* idx, int64_t plane_base,
                  const int64_t* first_x) {
    if (idx != nullptr && is_full_2x2_s2(r)) return max_pool_2x2_s2(r, best, idx, plane_base);
    const float neg_inf = -__builtin_inff();
    for (int64_t ox = 0; ox < r.ow; ++ox) best[ox] = neg_inf;
    const int fold = fold_kind(r);
    int64_t l = 0, h = 0;  // folded outputs, when fold != 0
    if (fold != 0) row_interior(r, &l, &h);
    if (idx == nullptr) {
        for (int64_t a = 0; a < r.rows; ++a) {
            const float* row = r.plane + (r.row0 + a * r.dh) * r.in_w;
            for (int64_t kx = 0; kx < r.kw; ++kx) {
                const int64_t off = kx * r.dw - r.pl;
                if (fold == 0) {
                    max_tap(best, row, off, r.lo[kx], r.hi[kx], r.sw);
                    continue;
                }
                // The border outputs, left and right of the interior, tap by tap.
                max_tap(best, row, off, r.lo[kx], r.hi[kx] < l ? r.hi[kx] : l, r.sw);
                max_tap(best, row, off, r.lo[kx] > h ? r.lo[kx] : h, r.hi[kx], r.sw);
            }
            switch (fold) {
                case 21: max_fold_values<2, 1>(best, row, -r.pl, r.dw, l, h); break;
                case 22: max_fold_values<2, 2>(best, row, -r.pl, r.dw, l, h); break;
                case 31: max_fold_values<3, 1>(best, row, -r.pl, r.dw, l, h); break;
                case 32: max_fold_values<3, 2>(best, row, -r.pl, r.dw, l, h); break;
                default: break;
            }
        }
        return;
    }
    for (int64_t ox = 0; ox < r.ow; ++ox)
        idx[ox] = static_cast<int32_t>(plane_base + r.row0 * r.in_w + first_x[ox]);
    for (int64_t a = 0; a < r.rows; ++a) {
        const int64_t iy = r.row0 + a * r.dh;
        const float* row = r.plane + iy * r.in_w;
        int32_t bases[3] = {0, 0, 0};
        for (int64_t kx = 0; kx < r.kw; ++kx) {
            const int64_t off = kx * r.dw - r.pl;
            const int32_t base = static_cast<int32_t>(plane_base + iy * r.in_w + off);
            // Tap by tap: the whole row, or with a fold only the border outputs.
            const int64_t spans[2][2] = {{r.lo[kx], fold == 0 ? r.hi[kx] : (r.hi[kx] < l ? r.hi[kx] : l)},
                                         {fold == 0 ? r.hi[kx] : (r.lo[kx] > h ? r.lo[kx] : h), r.hi[kx]}};
            if (fold != 0) bases[kx] = base;
            for (const auto& span : spans) {
                if (r.sw == 1) {
                    max_tap_indices<1>(best, idx, row, off, base, span[0], span[1], r.sw);
                } else if (r.sw == 2) {
                    max_tap_indices<2>(best, idx, row, off, base, span[0], span[1], r.sw);
                } else {
                    max_tap_indices<0>(best, idx, row, off, base, span[0], span[1], r.sw);
                }
            }
        }
        switch (fold) {
            case 21: max_fold_indices<2, 1>(best, idx, row, -r.pl, r.dw, bases, l, h); break;
            case 22: max_fold_indices<2, 2>(best, idx, row, -r.pl, r.dw, bases, l, h); break;
            case 31: max_fold_indices<3, 1>(best, idx, row, -r.pl, r.dw, bases, l, h); break;
            case 32: max_fold_indices<3, 2>(best, idx, row, -r.pl, r.dw, bases, l, h); break;
            default: break;
        }
    }
}

// sum[ox] += row[ox * sw + off] for ox in [lo, hi).
template <int64_t SW>
void sum_tap_values(float* sum, const float* row, int64_t off, int64_t lo, int64_t hi, int64_t sw) {
    const int64_t stride = SW > 0 ? SW : sw;
#pragma omp simd
    for (int64_t ox = lo; ox < hi; ++ox) sum[ox] += row[ox * stride + off];
}

void avg_pool_row(const PoolRow& r, const PoolDivisor& d, float* sum) {
    for (int64_t ox = 0; ox < r.ow; ++ox) sum[ox] = 0.0f;
    const int fold = fold_kind(r);
    int64_t l = 0, h = 0;  // folded outputs, when fold != 0
    if (fold != 0) row_interior(r, &l, &h);
    for (int64_t a = 0; a < r.rows; ++a) {
        const float* row = r.plane + (r.row0 + a * r.dh) * r.in_w;
        for (int64_t kx = 0; kx < r.kw; ++kx) {
            const int64_t off = kx * r.dw - r.pl;
            // Tap by tap: the whole row, or with a fold only the border outputs.
            const int64_t spans[2][2] = {{r.lo[kx], fold == 0 ? r.hi[kx] : (r.hi[kx] < l ? r.hi[kx] : l)},
                                         {fold == 0 ? r.hi[kx] : (r.lo[kx] > h ? r.lo[kx] : h), r.hi[kx]}};
            for (const auto& span : spans) {
                if (r.sw == 1) {
                    sum_tap_values<1>(sum, row, off, span[0], span[1], r.sw);
                } else if (r.sw == 2) {
                    sum_tap_values<2>(sum, row, off, span[0], span[1], r.sw);
                } else {
                    sum_tap_values<0>(sum, row, off, span[0], span[1], r.sw);
                }
            }
        }
        switch (fold) {
            case 21: sum_fold<2, 1>(sum, row, -r.pl, r.dw, l, h); break;
            case 22: sum_fold<2, 2>(sum, row, -r.pl, r.dw, l, h); break;
            case 31: sum_fold<3, 1>(sum, row, -r.pl, r.dw, l, h); break;
            case 32: sum_fold<3, 2>(sum, row, -r.pl, r.dw, l, h); break;
            default: break;
        }
    }
    // The divisors as floats first (integer work, scalar), then one vector
    // division per output.
    constexpr int64_t kSpan = 256;
    float divisor[kSpan];
    int32_t empty[kSpan];
    for (int64_t o0 = 0; o0 < r.ow; o0 += kSpan) {
        const int64_t m = r.ow - o0 < kSpan ? r.ow - o0 : kSpan;
        for (int64_t j = 0; j < m; ++j) {
            const int64_t in_bounds = d.row_count * d.count[o0 + j];
            int64_t div = in_bounds;
            if (d.include_pad) div = d.dilated ? d.kernel_taps : d.row_padded * d.padded[o0 + j];
            divisor[j] = static_cast<float>(div);
            empty[j] = in_bounds == 0;
        }
        float* s = sum + o0;
        // An empty window gives 0, as ATen writes 0 rather than 0 / 0.
#pragma omp simd
        for (int64_t j = 0; j < m; ++j) s[j] = empty[j] ? 0.0f : s[j] / divisor[j];
    }
}

// ---- softmax, argmax ----

// exp(x) in float32, within 2 ulp of std::exp for normal results, written so
// that a loop of it vectorises (std::exp is a scalar libm call per element).
// Cephes' expf: x = n ln2 + r with |r| <= ln2/2 (n rounded with the 1.5 * 2^23
// trick, exact in round-to-nearest without floor()), a degree-6 polynomial for
// e^r, then the exponent bits of 2^n. Results below FLT_MIN flush to 0 (std::exp
// would give a subnormal under 1.2e-38, far below the float32 tolerance of a
// probability); overflow gives +inf and NaN stays NaN, as std::exp. Every
// operation is a single IEEE float op (no contraction), so every ISA path
// gives the same bits.
inline float exp_vectorisable(float x) {
    constexpr float kLog2e = 1.44269504088896341f;
    constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
    constexpr float kRound = 12582912.0f;  // 1.5 * 2^23
    constexpr float kMin = -87.3365447505f, kMax = 88.7228391117f;
    // A NaN clamps to kMin (its result is dropped below): n stays in [-126, 128],
    // so the int conversion and the shift below are defined for every x.
    float clamped = x > kMin ? x : kMin;
    clamped = clamped < kMax ? clamped : kMax;
    const float n = (clamped * kLog2e + kRound) - kRound;  // nearest integer
    const float r = (clamped - n * kLn2Hi) - n * kLn2Lo;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    const float e_r = p * r * r + r + 1.0f;
    const float scale = __builtin_bit_cast(float, (static_cast<int32_t>(n) + 127) << 23);  // 2^n
    float y = e_r * scale;
    y = x < kMin ? 0.0f : y;
    y = x > kMax ? __builtin_inff() : y;
    return x != x ? x : y;
}

void softmax_line(const float* in, float* out, int64_t len) {
    float mx = in[0];
    for (int64_t a = 1; a < len; ++a) mx = mx < in[a] ? in[a] : mx;
#pragma omp simd
    for (int64_t a = 0; a < len; ++a) out[a] = exp_vectorisable(in[a] - mx);
    float sum = 0.0f;
    for (int64_t a = 0; a < len; ++a) sum += out[a];
    const float inv = 1.0f / sum;
#pragma omp simd
    for (int64_t a = 0; a < len; ++a) out[a] *= inv;
}

// Three passes along the axis, each across the chunk's lanes: max, exp + sum,
// scale by 1 / sum.
void softmax_chunk(const float* in, int64_t in_stride, float* out, int64_t out_stride, int64_t len,
                   int64_t lanes) {
    float mx[kSoftmaxChunk], sum[kSoftmaxChunk];
    for (int64_t i = 0; i < lanes; ++i) mx[i] = in[i];
    for (int64_t a = 1; a < len; ++a) {
        const float* row = in + a * in_stride;
#pragma omp simd
        for (int64_t i = 0; i < lanes; ++i) mx[i] = mx[i] < row[i] ? row[i] : mx[i];
    }
    for (int64_t i = 0; i < lanes; ++i) sum[i] = 0.0f;
    for (int64_t a = 0; a < len; ++a) {
        const float* row = in + a * in_stride;
        float* dst = out + a * out_stride;
#pragma omp simd
        for (int64_t i = 0; i < lanes; ++i) {
            dst[i] = exp_vectorisable(row[i] - mx[i]);
            sum[i] += dst[i];
        }
    }
#pragma omp simd
    for (int64_t i = 0; i < lanes; ++i) sum[i] = 1.0f / sum[i];
    for (int64_t a = 0; a < len; ++a) {
        float* dst = out + a * out_stride;
#pragma omp simd
        for (int64_t i = 0; i < lanes; ++i) dst[i] *= sum[i];
    }
}

void argmax_chunk(const float* in, int64_t stride, int32_t* out, int64_t len, int64_t lanes) {
    float best[kSoftmaxChunk];
    for (int64_t i = 0; i < lanes; ++i) {
        best[i] = in[i];
        out[i] = 0;
    }
    for (int64_t a = 1; a < len; ++a) {
        const float* row = in + a * stride;
        const int32_t ai = static_cast<int32_t>(a);
#pragma omp simd
        for (int64_t i = 0; i < lanes; ++i) {
            // The first maximum wins; the first NaN beats everything after it.
            const float v = row[i], b = best[i];
            const bool take = v > b || (v != v && b == b);
            best[i] = take ? v : b;
            out[i] = take ? ai : out[i];
        }
    }
}

// ---- resize ----

void bilinear_h(const float* row, const int32_t* a, const int32_t* b, const float* kx,
                const float* lx, float* h, int64_t ow) {
#pragma omp simd
    for (int64_t ox = 0; ox < ow; ++ox) h[ox] = kx[ox] * row[a[ox]] + lx[ox] * row[b[ox]];
}

void bilinear_v(const float* h0, const float* h1, float ky, float ly, float* out, int64_t ow) {
#pragma omp simd
    for (int64_t ox = 0; ox < ow; ++ox) out[ox] = ky * h0[ox] + ly * h1[ox];
}

void gather_row(const float* row, const int32_t* src, float* out, int64_t ow) {
#pragma omp simd
    for (int64_t ox = 0; ox < ow; ++ox) out[ox] = row[src[ox]];
}

void max_pool_plane(const PoolPlane& p, float* y, int32_t* idx, int64_t plane_base,
                    const int64_t* first_x) {
    PoolRow r = p.row;
    for (int64_t oy = 0; oy < p.oh; ++oy) {
        r.row0 = p.first_y[oy];
        r.rows = p.count_y[oy];
        max_pool_row(r, y + oy * r.ow, idx == nullptr ? nullptr : idx + oy * r.ow, plane_base, first_x);
    }
}

void avg_pool_plane(const PoolPlane& p, const PoolDivisor& divisor, float* y) {
    PoolRow r = p.row;
    PoolDivisor d = divisor;
    for (int64_t oy = 0; oy < p.oh; ++oy) {
        r.row0 = p.first_y[oy];
        r.rows = p.count_y[oy];
        d.row_count = p.count_y[oy];
        d.row_padded = p.padded_y[oy];
        avg_pool_row(r, d, y + oy * r.ow);
    }
}

MemboundKernels make_membound_kernels(const char* isa) {
    MemboundKernels k;
    k.isa = isa;
    k.max_pool_plane = max_pool_plane;
    k.avg_pool_plane = avg_pool_plane;
    k.max_pool_2x2_s2_plane = max_pool_2x2_s2_plane;
    k.softmax_line = softmax_line;
    k.softmax_chunk = softmax_chunk;
    k.argmax_chunk = argmax_chunk;
    k.bilinear_h = bilinear_h;
    k.bilinear_v = bilinear_v;
    k.gather_row = gather_row;
    return k;
}

}  // namespace
}  // namespace fcnrt::cpu::FCNRT_MEMBOUND_ISA_NAMESPACE

namespace fcnrt::cpu {

const MemboundKernels& FCNRT_ISA_CAT(membound_kernels_, FCNRT_MEMBOUND_ISA)() {
    static const MemboundKernels k =
        FCNRT_MEMBOUND_ISA_NAMESPACE::make_membound_kernels(FCNRT_ISA_STR(FCNRT_MEMBOUND_ISA));
    return k;
}

}  // namespace fcnrt::cpu
