// Convolution and transposed convolution.
// Fast CPU kernels (OpenMP threads, our own register-blocked GEMM micro-kernels
// on AVX-512, AVX2 or portable code; see gemm.h), with the same contract as the
// reference kernels of the same name.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/cpu/gemm.h"
#include "kernels/op_params.h"
#include "kernels/view.h"

namespace fcnrt::cpu {

// A conv's or transposed conv's weights packed once (at load) for the active
// micro-kernel: one matrix per group. Empty for convs with one input channel
// per group, which run a direct kernel on the weights as they are.
struct PackedConvWeights {
    std::vector<PackedMatrix> groups;
};

// conv weight [K, C/groups, kh, kw]: group g's matrix A [K/groups, C/groups*kh*kw].
std::shared_ptr<const PackedConvWeights> pack_conv2d_weights(const View& weight, int groups);
// conv_transpose weight [C, K/groups, kh, kw]: group g's matrix
// A [K/groups*kh*kw, C/groups] (A[(k, ky, kx)][c]).
std::shared_ptr<const PackedConvWeights> pack_conv_transpose2d_weights(const View& weight,
                                                                       int groups);

// x [N, C, H, W], weight [K, C/groups, kh, kw] (contiguous), bias [K] or nullptr,
// y [N, K, OH, OW] already sized by shape inference. Activation applied last.
// `packed` from pack_conv2d_weights(weight, p.groups).
void conv2d_packed(const View& x, const View& weight, const PackedConvWeights& packed,
                   const float* bias, const View& y, const Conv2dParams& p);
// The same, packing the weights for this call only (tests and benchmarks; the
// executor packs once at load and calls conv2d_packed).
void conv2d(const View& x, const View& weight, const float* bias, const View& y,
            const Conv2dParams& p);

// x [N, C, H, W], weight [C, K/groups, kh, kw], bias [K] or nullptr, y [N, K, OH, OW].
// Output-stationary gather: y[oy] sums x[iy] * w[ky] over iy*sh - pt + ky*dh == oy.
void conv_transpose2d_packed(const View& x, const View& weight, const PackedConvWeights& packed,
                             const float* bias, const View& y, const ConvTranspose2dParams& p);
void conv_transpose2d(const View& x, const View& weight, const float* bias, const View& y,
                      const ConvTranspose2dParams& p);

// Per-thread scratch, in bytes, that conv2d and conv_transpose2d use at most
// with these weights (Cg input and Kg output channels per group, a kh x kw
// kernel), whatever the image's size: kept by each OpenMP thread between calls.
size_t conv2d_scratch_bytes(int64_t cg, int64_t kg, int64_t kh, int64_t kw);
size_t conv_transpose2d_scratch_bytes(int64_t cg, int64_t kg, int64_t kh, int64_t kw);

}  // namespace fcnrt::cpu
