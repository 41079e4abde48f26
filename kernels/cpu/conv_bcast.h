// The broadcast conv: stride-1 convs (any kernel, dilation, padding, groups)
// with output channels in the vector lanes and the input read in place, no
// packing of B (conv_bcast_kernels.h, conv_bcast_microkernel.h). The weights
// are packed once, at load, into blocks of `lanes` output channels, [r][lanes]
// per block (r = (c, ky, kx)), zeros past the group's last channel.
//
// Driver (conv_bcast.cpp): a job is a run of output rows of one plane (n, g)
// and a chunk of channel blocks; jobs run in one OpenMP fork/join with dynamic
// scheduling (one thread below parallel.h's threshold). A job works in passes:
// a few output rows (enough for about kBcastPassPixels pixels) times a segment
// of at most kBcastPassPixels columns; per pass, per reduction block of kc
// steps, each row's table of kc input-row pointers (the tap's input row
// shifted by kx*dw - pl, or a row of zeros where the tap row lies in the
// vertical padding), then per channel block the row's tiles of P pixels
// (pixels whose taps leave the row at the sides: one at a time, the taps
// outside read +0). Partial sums go to per-thread scratch between reduction
// blocks (exact: each is the fma chain so far); after the last block each
// tile is transposed to channel rows and leaves through the GEMM path's
// epilogue (bias, residual, activation: the same float ops) into y.
//
// Summation order: every output is the fma chain over r = (c, ky, kx)
// ascending from +0, padding taps multiplied as +0 entries, as conv2d_gemm
// computes it: the same bits on every ISA, tile width, position and thread count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/cpu/conv_bcast_kernels.h"
#include "kernels/op_params.h"
#include "kernels/view.h"

namespace fcnrt::cpu {

// Columns of one pass segment (and the rows of a pass: enough for this many pixels).
constexpr int64_t kBcastPassPixels = 256;

// A conv's weights in blocks of `lanes` output channels, per group:
// groups[g][(b * reduce + r) * lanes + l] = weight[g*kg + b*lanes + l][r], 0 past kg.
struct BcastWeights {
    int lanes = 0;
    int64_t kg = 0, reduce = 0, blocks = 0;
    std::vector<std::vector<float>> groups;

    const float* block(int64_t g, int64_t b) const {
        return groups[size_t(g)].data() + b * reduce * lanes;
    }
};

// The kernel of the active ISA (cpu_isa.h).
const ConvBcastKernel& active_conv_bcast_kernel();

// weight [K, C/groups, kh, kw] packed for bk.
std::shared_ptr<const BcastWeights> pack_conv2d_weights_bcast(const ConvBcastKernel& bk,
                                                              const View& weight, int groups);
// The same for any block width (the small-plane conv's, conv_plane.h).
std::shared_ptr<const BcastWeights> pack_conv2d_weights_lanes(int lanes, const View& weight, int groups);

// Whether the broadcast conv can run this conv: stride 1.
bool conv2d_bcast_applies(const Conv2dParams& p);

// x [N, C, H, W], weight [K, C/groups, kh, kw], bias [K] or nullptr, y [N, K, OH, OW];
// the same contract as conv2d (residual and activation included), stride 1 only.
void conv2d_bcast(const ConvBcastKernel& bk, const View& x, const View& weight,
                  const BcastWeights& packed, const float* bias, const View& y,
                  const Conv2dParams& p);

// Where conv2d_packed takes the broadcast conv (measured: see conv_bcast.cpp):
// conv2d_bcast_may_pay decides at load whether to pack its weights too (Cg
// input, Kg output channels per group, kh x kw), conv2d_prefers_bcast per call.
// FCNRT_CONV_PATH=gemm|bcast (read once) forces one path wherever the broadcast
// conv applies, for A/B measurements.
bool conv2d_bcast_may_pay(int64_t cg, int64_t kg, int64_t kh, int64_t kw);
bool conv2d_prefers_bcast(int64_t cg, int64_t kg, int64_t kh, int64_t kw, const Conv2dParams& p,
                          int64_t oh, int64_t ow);

// Per-thread scratch of conv2d_bcast for these weights, whatever the image's size.
size_t conv2d_bcast_scratch_bytes(const ConvBcastKernel& bk, int64_t kg);

}  // namespace fcnrt::cpu
