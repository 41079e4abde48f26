// Single-precision matrix products for the CPU kernels, on our own
// micro-kernels (gemm_kernels.h): no BLAS library, so every output's summation
// order is ours and fixed.
//
// The view: C[m][j] = sum over r of A[m][r] * B[r][j], A the weights (packed
// once, at load, into panels of the micro-kernel's mr rows), B the columns a
// kernel computes on (a conv's input pixels: read in place where the taps
// allow, else packed tile by tile, im2col-style but one tile at a time), C
// handed to the caller tile by tile for its epilogue.
//
// Summation order (the reason this exists): every C[m][j] is the chain
// acc = fma(A[m][r], B[r][j], acc) for r = 0, 1, ..., R-1 from acc = 0, on
// every ISA path, whatever the tile, its position, the blocking or the thread
// that runs it. So a tiled image equals the untiled one bit for bit, runs are
// deterministic, and AVX-512, AVX2 and portable results are identical.
// A zero B entry (a padding tap) leaves acc unchanged (acc is never -0), so a
// packed tile with zeros and an in-place tile without them agree as well.
//
// Threading: callers split work into jobs (runs of tiles) in one OpenMP
// fork/join; gemm_tiles runs on the calling thread with thread-local scratch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/cpu/gemm_kernels.h"
#include "kernels/op_params.h"

namespace fcnrt::cpu {

// The micro-kernel of the active ISA (cpu_isa.h).
const GemmMicroKernel& active_micro_kernel();

// A [m, r] packed for a micro-kernel with `mr` rows: ceil(m / mr) panels, each
// [r][mr] (the mr rows' entries for one r side by side), rows past m zero.
struct PackedMatrix {
    int64_t m = 0, r = 0;
    int mr = 0;
    std::vector<float> data;

    int64_t panels() const { return (m + mr - 1) / mr; }
    const float* panel(int64_t p) const { return data.data() + p * r * mr; }
};

// Packs A[i][k] = a[i * stride_m + k * stride_r] in panels of `mr` rows (the
// first form: the active micro-kernel's).
PackedMatrix pack_matrix(const float* a, int64_t m, int64_t r, int64_t stride_m, int64_t stride_r);
PackedMatrix pack_matrix(int mr, const float* a, int64_t m, int64_t r, int64_t stride_m,
                         int64_t stride_r);

// Tiles per group and the thread-local scratch of gemm_tiles for A of m rows.
int64_t gemm_tile_group(const GemmMicroKernel& mk, int64_t m);
size_t gemm_scratch_bytes(const GemmMicroKernel& mk, int64_t m);

// Thread-local scratch of gemm_tiles, grown on demand and kept; 64-byte
// aligned, so the micro-kernel's 16-float B and C rows are whole cache lines
// (an unaligned vector load that crosses a line costs two).
float* gemm_scratch(size_t floats);

// The row pitch of a packed B block of `width` floats: width plus one cache
// line when width is a multiple of two lines (of 16 floats), so that the rows
// of one tile fall in every L1 set rather than in a few (a power-of-two pitch
// maps a tile's kc rows to 64 / (pitch / 16) sets, and they evict each other).
inline int64_t gemm_b_pitch(int64_t width) {
    const int64_t lines = (width + 15) / 16;
    return (lines % 2 == 0 ? lines + 1 : lines) * 16;
}

// Packs B rows [0, kc) of `width` consecutive columns whose rows lie in
// memory as they are, row r at src + off[r], into dst (rows ld floats apart).
// Packing (rather than handing the micro-kernel the rows in place) keeps its
// reads sequential: rows a power-of-two plane apart would otherwise all map to
// one L1 set. A group's in-place tiles are packed in one run per row, so each
// row is read as one long contiguous piece.
void pack_rows(const float* src, const int64_t* off, int64_t kc, int64_t width, float* dst,
               int64_t ld);

// Runs tiles [tile0, tile1) of C against panels [panel0, panel1) of `a`, on the
// calling thread, in groups of up to gemm_tile_group consecutive tiles:
//   prepare(first_tile, tiles, r0, kc, float* b, int64_t ldb): packs B rows
//     [r0, r0 + kc) of the group's tiles into b [kc][ldb], ldb =
//     gemm_b_pitch(tiles * nr), tile first_tile + u in columns [u * nr, (u + 1) * nr);
//   emit(first_tile, tiles, const float* c, int64_t ldc): the group's C rows
//     for panels [panel0, panel1), row i (of (panel1 - panel0) * mr) at
//     c + i * ldc, tiles * nr columns (tile first_tile + u at column u * nr).
// Per group, per reduction block, per block of A panels (in L2): each tile's
// B block stays in L1 while the A panels pass it (BLIS's loop order).
// The group size is gemm_tile_group(mk, group_rows), group_rows = a.m unless
// given (a caller that cuts A into chunks of panels passes the chunk's rows,
// and sizes its scratch with the same).
template <class Prepare, class Emit>
void gemm_tiles(const GemmMicroKernel& mk, const PackedMatrix& a, int64_t panel0, int64_t panel1,
                int64_t tile0, int64_t tile1, Prepare&& prepare, Emit&& emit,
                int64_t group_rows = -1) {
    const int64_t nr = mk.nr, mr = mk.mr, kc_max = mk.kc;
    const int64_t np = panel1 - panel0;
    const int64_t group = gemm_tile_group(mk, group_rows >= 0 ? group_rows : a.m);
    const int64_t ldc = group * nr, pitch = gemm_b_pitch(group * nr);
    // A panels per block: about 192 KiB of A, half a core's L2.
    const int64_t panel_block = 49152 / (kc_max * mr) > 0 ? 49152 / (kc_max * mr) : 1;
    float* scratch = gemm_scratch(size_t(kc_max * pitch + np * mr * ldc));
    float* pack = scratch;                     // (kc_max, pitch)
    float* cblock = scratch + kc_max * pitch;  // (np * mr, group * nr)
    for (int64_t t0 = tile0; t0 < tile1; t0 += group) {
        const int64_t g = t0 + group <= tile1 ? group : tile1 - t0;
        const int64_t ldb = gemm_b_pitch(g * nr);
        if (a.r == 0)
            for (int64_t i = 0; i < np * mr * ldc; ++i) cblock[i] = 0.0f;
        for (int64_t r0 = 0; r0 < a.r; r0 += kc_max) {
            const int64_t kc = r0 + kc_max <= a.r ? kc_max : a.r - r0;
            prepare(t0, g, r0, kc, pack, ldb);
            for (int64_t pb = panel0; pb < panel1; pb += panel_block) {
                const int64_t pe = pb + panel_block < panel1 ? pb + panel_block : panel1;
                for (int64_t u = 0; u < g; ++u) {
                    for (int64_t p = pb; p < pe; ++p) {
                        mk.packed(kc, a.panel(p) + r0 * mr, pack + u * nr, ldb,
                                  cblock + (p - panel0) * mr * ldc + u * nr, ldc, r0 > 0);
                    }
                }
            }
        }
        emit(t0, g, static_cast<const float*>(cblock), ldc);
    }
}

// Row-major C [m, n] = A [m, k] * B [k, n] (leading dimensions lda, ldb, ldc),
// A packed on the fly: for measuring the micro-kernel's rate (the backend's
// peak) and for tests. Threaded over column tiles when called outside a
// parallel region.
// The second form runs on the given micro-kernel (tests compare every ISA's).
void sgemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
           float* c, int64_t ldc);
void sgemm(const GemmMicroKernel& mk, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
           const float* b, int64_t ldb, float* c, int64_t ldc);

// y[i] = act(x[i] + bias) for i < n, one contiguous run (serial: callers thread
// over runs); x may be y (in place). The switch sits outside the loops so the
// common cases vectorise.
inline void bias_activation(const float* x, float* y, int64_t n, float bias, ActivationParams act) {
    switch (act.kind) {
        case Activation::None:
            if (bias == 0.0f) {  // a copy: x + 0 would turn -0 into +0
                if (x != y)
                    for (int64_t i = 0; i < n; ++i) y[i] = x[i];
                return;
            }
#pragma omp simd
            for (int64_t i = 0; i < n; ++i) y[i] = x[i] + bias;
            return;
        case Activation::Relu:
#pragma omp simd
            for (int64_t i = 0; i < n; ++i) {
                const float v = x[i] + bias;
                y[i] = v > 0.0f ? v : 0.0f;
            }
            return;
        case Activation::LeakyRelu:
#pragma omp simd
            for (int64_t i = 0; i < n; ++i) {
                const float v = x[i] + bias;
                y[i] = v >= 0.0f ? v : v * act.alpha;
            }
            return;
        // MobileNetV3's: the standalone ops' float ops on the op's output, which
        // is x itself without a bias (x + 0 would turn -0 into +0, hard_swish's sign).
        case Activation::HardSwish:
            if (bias == 0.0f) {
#pragma omp simd
                for (int64_t i = 0; i < n; ++i) y[i] = hard_swish_f32(x[i]);
                return;
            }
#pragma omp simd
            for (int64_t i = 0; i < n; ++i) y[i] = hard_swish_f32(x[i] + bias);
            return;
        case Activation::HardSigmoid:
#pragma omp simd
            for (int64_t i = 0; i < n; ++i) y[i] = hard_sigmoid_f32(x[i] + bias, act.alpha, act.beta);
            return;
        default:
            for (int64_t i = 0; i < n; ++i) y[i] = apply_activation(x[i] + bias, act);
            return;
    }
}

// y[i] = act(y[i] + bias) for i < n, in place.
inline void bias_activation(float* y, int64_t n, float bias, ActivationParams act) {
    bias_activation(y, y, n, bias, act);
}

// y[i] = act((x[i] + bias) + r[i]) for i < n: the conv residual epilogue, each
// add in float32 in that order (see Conv2dParams::residual); x may be y.
inline void bias_residual_activation(const float* x, float* y, int64_t n, float bias, const float* r,
                                     ActivationParams act) {
    switch (act.kind) {
        case Activation::None:
#pragma omp simd
            for (int64_t i = 0; i < n; ++i) {
                const float v = x[i] + bias;
                y[i] = v + r[i];
            }
            return;
        case Activation::Relu:
#pragma omp simd
            for (int64_t i = 0; i < n; ++i) {
                const float v = x[i] + bias;
                const float s = v + r[i];
                y[i] = s > 0.0f ? s : 0.0f;
            }
            return;
        default:
            for (int64_t i = 0; i < n; ++i) {
                const float v = x[i] + bias;
                y[i] = apply_activation(v + r[i], act);
            }
            return;
    }
}

// The same, in place.
inline void bias_residual_activation(float* y, int64_t n, float bias, const float* r,
                                     ActivationParams act) {
    bias_residual_activation(y, y, n, bias, r, act);
}

// The conv epilogue of one contiguous run y[0, n): bias, then the residual
// run r (nullptr when none), then the activation (see Conv2dParams::residual).
inline void epilogue_run(float* y, int64_t n, float bias, const float* r, ActivationParams act) {
    if (r != nullptr) {
        bias_residual_activation(y, n, bias, r, act);
    } else {
        bias_activation(y, n, bias, act);
    }
}

}  // namespace fcnrt::cpu
