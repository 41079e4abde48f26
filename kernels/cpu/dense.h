// Fully connected layer.
// Fast CPU kernel on our own GEMM micro-kernels (gemm.h), with the same
// contract as the reference kernel of the same name.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/cpu/gemm.h"
#include "kernels/op_params.h"
#include "kernels/view.h"

namespace fcnrt::cpu {

struct BcastWeights;

// weight [out, F] packed once (at load) for the active micro-kernel; on AVX2,
// for weights of up to kDenseColumnFloats, also in blocks of the small-plane
// conv's lanes ([block][F][lanes], conv_plane.h) for its one-pixel columns,
// which one item runs (whole cache lines from NB weight streams at once,
// instead of the narrow GEMM's 8 six-row panels: a patch net's 240 -> 1000
// layer, 1 MB streamed from L3, 27 -> ~19 us). The same fma chains.
struct PackedDenseWeights : PackedMatrix {
    std::shared_ptr<const BcastWeights> columns;  // null: not packed
    std::vector<int64_t> feature_offsets;         // 0, 1, ..., F - 1 (the columns' tap offsets)
};
constexpr int64_t kDenseColumnFloats = int64_t{1} << 20;
std::shared_ptr<const PackedDenseWeights> pack_dense_weights(const View& weight);

// x read as [N, F] with F = C*H*W of the view; weight [out, F]; bias [out] or
// nullptr; y [N, out] (viewed [N, out, 1, 1]). `packed` from pack_dense_weights.
void dense_packed(const View& x, const PackedMatrix& packed, const float* bias, const View& y,
                  ActivationParams act);
// The same, one item on the columns where `packed` has them.
void dense_packed(const View& x, const PackedDenseWeights& packed, const float* bias, const View& y,
                  ActivationParams act);
// The same, packing the weights for this call only (tests and benchmarks).
void dense(const View& x, const View& weight, const float* bias, const View& y,
           ActivationParams act);

}  // namespace fcnrt::cpu
