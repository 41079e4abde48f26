// The small-plane conv: convs whose every tap lies inside the input (no
// padding; any stride, dilation, groups) onto output planes of a few to a few
// hundred pixels (a patch classifier's 12x12, 10x10 and 3x3 maps), where the
// GEMM's 16-pixel tiles are mostly empty or must be gathered from rows of 3 to
// 12 pixels. Output channels sit in the vector lanes (the broadcast conv's
// weight blocks, conv_bcast.h); a tile is up to P output pixels anywhere in the
// plane, each broadcast from the input in place at its own offset
// (conv_plane_kernels.h): no packing of the input, no reduction blocks.
//
// Driver (conv_plane.cpp): a job is one plane (n, g) and a chunk of channel
// blocks, one OpenMP fork/join with dynamic scheduling (one thread below
// parallel.h's threshold). Per block, the plane's pixels in tiles of nearly
// equal size (at most P; a last block of at most half the lanes: the half
// tiles, fewer lanes and more pixels), the sums stored channel-major into
// per-thread scratch (AVX2: in-register 8 x 8 transposes), then each channel's
// row through the GEMM path's epilogue (bias, residual, activation: the same
// float ops) into y. A plane of one pixel runs columns instead: up to
// column_blocks weight blocks at once against the pixel's taps.
//
// Summation order: every output is the fma chain over r = (c, ky, kx)
// ascending from +0, as conv2d_gemm computes it: the same bits on every ISA,
// tile, batch split and thread count.
#pragma once

#include <cstdint>
#include <memory>

#include "kernels/cpu/conv_plane_kernels.h"
#include "kernels/op_params.h"
#include "kernels/view.h"

namespace fcnrt::cpu {

struct BcastWeights;
struct PackedConvWeights;

// Output planes of up to this many pixels (the scratch of a block's sums).
constexpr int64_t kPlaneMaxOutputPixels = 256;

// The kernel of the active ISA (cpu_isa.h).
const ConvPlaneKernel& active_conv_plane_kernel();

// Whether the small-plane conv can run this conv: no padding (every tap
// inside the input), an output plane of 1 to kPlaneMaxOutputPixels pixels.
bool conv2d_plane_applies(const View& x, const View& weight, const View& y, const Conv2dParams& p);

// Where conv2d_packed takes it (measured, AVX2 only; see conv_plane.cpp):
// applies, and planes wider than the narrow GEMM's columns whose group input fits
// in L2 (kPlaneMaxInputFloats, conv_plane.cpp), or one pixel of one item. FCNRT_CONV_PLANE=off
// (read once) keeps the GEMM, for A/B measurements.
bool conv2d_prefers_plane(const View& x, const View& weight, const View& y, const Conv2dParams& p);

// Weights packed for the small-plane conv on first use (PackedConvWeights::plane).
struct ConvPlaneWeights;
std::shared_ptr<ConvPlaneWeights> make_conv_plane_weights();

// The weight blocks for pk: packed.bcast where its lanes are pk's, else packed
// once into packed.plane (nullptr when packed has neither).
const BcastWeights* conv2d_plane_weights(const ConvPlaneKernel& pk, const PackedConvWeights& packed,
                                         const View& weight, int groups);

// x [N, C, H, W], weight [K, C/groups, kh, kw], bias [K] or nullptr, y [N, K, OH, OW];
// conv2d's contract (residual and activation included) where conv2d_plane_applies.
// `packed`: pack_conv2d_weights_bcast's blocks of pk.lanes channels.
void conv2d_plane(const ConvPlaneKernel& pk, const View& x, const View& weight,
                  const BcastWeights& packed, const float* bias, const View& y,
                  const Conv2dParams& p);

}  // namespace fcnrt::cpu
