// Fast CPU fully connected layer: C [out, N] = W [out, F] x x^T [F, N] on the
// GEMM micro-kernels (gemm.h). A tile is nr batch items; its B rows (features)
// are packed from the items' rows (a transpose of nr rows, kc features at a
// time), and its C block goes back transposed into y [N, out] with the bias and
// activation. Jobs are runs of tiles, one OpenMP fork/join (none below
// parallel.h's work threshold). Each output is the
// fma chain over the features in order: the same bits on every ISA path and
// for any batch split. Up to kNarrowMaxColumns items take the narrow kernel
// (gemm_narrow.h), vectorised over outputs: the same chains, so the same bits.
// One item with weights packed in blocks too (PackedDenseWeights::columns, AVX2)
// runs the small-plane conv's one-pixel columns (conv_plane.h): the same chains.
#include "kernels/cpu/dense.h"

#include <omp.h>

#include <algorithm>
#include <stdexcept>

#include "kernels/cpu/conv_bcast.h"
#include "kernels/cpu/conv_plane.h"
#include "kernels/cpu/cpu_isa.h"
#include "kernels/cpu/gemm_narrow.h"
#include "kernels/cpu/parallel.h"

namespace fcnrt::cpu {

std::shared_ptr<const PackedDenseWeights> pack_dense_weights(const View& weight) {
    const int64_t outputs = weight.n, features = weight.chw();
    const int64_t ldw = weight.n == 1 ? features : weight.batch_stride;
    auto packed = std::make_shared<PackedDenseWeights>();
    static_cast<PackedMatrix&>(*packed) = pack_matrix(weight.f32(), outputs, features, ldw, 1);
    if (active_cpu_isa_logic() == CpuIsa::Avx2 && ldw == features &&
        outputs * features <= kDenseColumnFloats) {
        packed->columns = pack_conv2d_weights_lanes(
            active_conv_plane_kernel().lanes,
            make_view(const_cast<float*>(weight.f32()), DType::F32, outputs, features, 1, 1), 1);
        packed->feature_offsets.resize(size_t(features));
        for (int64_t r = 0; r < features; ++r) packed->feature_offsets[size_t(r)] = r;
    }
    return packed;
}

namespace {

// A few items (up to kNarrowMaxColumns): the narrow kernel straight into y (C[o][j]
// is y[j][o]), then the bias and activation in place; jobs are runs of panels.
void dense_narrow(const View& x, const PackedMatrix& packed, const float* bias, const View& y,
                  ActivationParams act, bool threaded) {
    const GemmNarrowKernel& nk = active_gemm_narrow_kernel();
    if (packed.mr != nk.mr)
        throw std::logic_error("dense weights were packed for another micro-kernel");
    const int64_t rows = x.n, outputs = y.chw(), mr = packed.mr;
    const int64_t ldx = x.batch_stride, ldy = y.batch_stride;
    constexpr int64_t kPanelsPerJob = 16;
    const int64_t jobs = (packed.panels() + kPanelsPerJob - 1) / kPanelsPerJob;
#pragma omp parallel for schedule(static) if (jobs > 1 && threaded)
    for (int64_t job = 0; job < jobs; ++job) {
        const int64_t p0 = job * kPanelsPerJob, p1 = std::min(packed.panels(), p0 + kPanelsPerJob);
        const int64_t o0 = p0 * mr, o1 = std::min(outputs, p1 * mr);
        nk.run(packed.r, packed.panel(p0), packed.r * mr, p1 - p0, o1 - o0, x.f32(), 1, ldx, rows,
               y.f32() + o0, 1, ldy, false);
        for (int64_t j = 0; j < rows; ++j) {
            float* out = y.f32() + j * ldy;  // (out)
            for (int64_t o = o0; o < o1; ++o)
                out[o] = apply_activation(bias ? out[o] + bias[o] : out[o], act);
        }
    }
}

}  // namespace

void dense_packed(const View& x, const PackedMatrix& packed, const float* bias, const View& y,
                  ActivationParams act) {
    const int64_t rows = x.n, features = x.chw(), outputs = y.chw();
    if (rows == 0 || outputs == 0) return;
    const GemmMicroKernel& mk = active_micro_kernel();
    if (packed.mr != mk.mr || packed.m != outputs || packed.r != features)
        throw std::logic_error("dense weights were packed for another micro-kernel or shape");
    const int64_t nr = mk.nr;
    const int64_t ldx = x.batch_stride, ldy = y.batch_stride;
    const bool threaded = worth_threads(2.0 * double(rows) * double(features) * double(outputs));
    if (rows <= kNarrowMaxColumns) {
        dense_narrow(x, packed, bias, y, act, threaded);
        return;
    }
    const int64_t tiles = (rows + nr - 1) / nr;
    const int64_t jobs = tiles;
#pragma omp parallel for schedule(dynamic, 1) if (jobs > 1 && threaded)
    for (int64_t job = 0; job < jobs; ++job) {
        gemm_tiles(
            mk, packed, 0, packed.panels(), job, job + 1,
            [&](int64_t t, int64_t count, int64_t r0, int64_t kc, float* buf, int64_t ld) {
                for (int64_t j = 0; j < count * nr; ++j) {
                    const int64_t item = t * nr + j;
                    if (item >= rows) {
                        for (int64_t r = 0; r < kc; ++r) buf[r * ld + j] = 0.0f;
                        continue;
                    }
                    const float* src = x.f32() + item * ldx + r0;  // (kc) of the item's features
                    for (int64_t r = 0; r < kc; ++r) buf[r * ld + j] = src[r];
                }
            },
            [&](int64_t t, int64_t count, const float* c, int64_t ldc) {
                for (int64_t j = 0; j < count * nr && t * nr + j < rows; ++j) {
                    float* out = y.f32() + (t * nr + j) * ldy;  // (out)
                    for (int64_t o = 0; o < outputs; ++o)
                        out[o] = apply_activation(bias ? c[o * ldc + j] + bias[o] : c[o * ldc + j], act);
                }
            });
    }
}

void dense_packed(const View& x, const PackedDenseWeights& packed, const float* bias, const View& y,
                  ActivationParams act) {
    const ConvPlaneKernel& pk = active_conv_plane_kernel();
    if (x.n != 1 || packed.columns == nullptr || packed.columns->lanes != pk.lanes) {
        dense_packed(x, static_cast<const PackedMatrix&>(packed), bias, y, act);
        return;
    }
    const BcastWeights& cw = *packed.columns;
    const int64_t features = x.chw(), outputs = y.chw();
    if (cw.reduce != features || cw.kg != outputs)
        throw std::logic_error("dense weights were packed for another shape");
    // One item: columns of up to column_blocks blocks of lanes outputs, split
    // over the threads when the weights are large enough (parallel.h: one
    // item is bound by streaming them), then dense_narrow's epilogue.
    const int64_t lanes = pk.lanes;
    float* out = y.f32();  // (out)
    const int64_t columns = (cw.blocks + pk.column_blocks - 1) / pk.column_blocks;
    const bool threaded = worth_threads(2.0 * double(features) * double(outputs),
                                        double(features) * double(outputs) * sizeof(float));
#pragma omp parallel for schedule(static) if (columns > 1 && threaded)
    for (int64_t column = 0; column < columns; ++column) {
        float* sums = gemm_scratch(size_t(pk.column_blocks * lanes));  // the thread's own
        const int64_t b = column * pk.column_blocks;
        const int64_t nb = std::min<int64_t>(pk.column_blocks, cw.blocks - b);
        pk.column[nb](features, cw.block(0, b), features * lanes, x.f32(), packed.feature_offsets.data(), sums);
        const int64_t o0 = b * lanes, o1 = std::min(outputs, (b + nb) * lanes);
        for (int64_t o = o0; o < o1; ++o) {
            const float s = sums[o - o0];
            out[o] = apply_activation(bias ? s + bias[o] : s, act);
        }
    }
}

void dense(const View& x, const View& weight, const float* bias, const View& y,
           ActivationParams act) {
    dense_packed(x, *pack_dense_weights(weight), bias, y, act);
}

}  // namespace fcnrt::cpu
