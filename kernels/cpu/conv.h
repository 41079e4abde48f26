// Convolution and transposed convolution.
// Fast CPU kernels (OpenMP threads, our own register-blocked GEMM micro-kernels
// on AVX-512, AVX2 or portable code; see gemm.h), with the same contract as the
// reference kernels of the same name.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/cpu/conv_direct_kernels.h"
#include "kernels/cpu/gemm.h"
#include "kernels/op_params.h"
#include "kernels/view.h"

namespace fcnrt::cpu {

struct ConvTapWindows;  // conv_tap_windows.cpp: packed weights of kernel windows, made on first use
struct BcastWeights;    // conv_bcast.h: weights in blocks of output channels for the broadcast conv
struct ConvPlaneWeights;  // conv_plane.h: the small-plane conv's weight blocks, made on first use

// A conv's or transposed conv's weights packed once (at load) for the active
// micro-kernel: one matrix per group. Empty for convs that run the direct
// kernel (conv2d_runs_direct), which reads the weights as they are. `windows`
// (set by pack_conv2d_weights_for_gemm) keeps the sub-kernels that
// conv2d_gemm_tap_windows packs on first use; null: packed per call.
struct PackedConvWeights {
    std::vector<PackedMatrix> groups;
    std::shared_ptr<ConvTapWindows> windows;
    // Set by pack_conv2d_weights where conv2d_bcast_may_pay (conv_bcast.h):
    // conv2d_packed then runs the broadcast conv where conv2d_prefers_bcast, and
    // always when `groups` is empty (bcast-only weights of a stride-1 conv).
    std::shared_ptr<const BcastWeights> bcast;
    // Set by both packers of conv2d's weights: the small-plane conv's blocks
    // (conv_plane.h), packed on first use where it runs and bcast's lanes differ.
    std::shared_ptr<ConvPlaneWeights> plane;
};

// Whether conv2d runs the direct row kernel (conv_direct_kernels.h) rather
// than the GEMM for Cg input and Kg output channels per group and a kh x kw
// kernel: one input channel per group (depthwise, with or without a channel
// multiplier; one-channel first layers), or up to 4 input channels with at
// most 75 taps per output and fewer than 12 output channels (RGB first layers
// with more outputs run the GEMM: faster there). Both give the same bits.
bool conv2d_runs_direct(int64_t cg, int64_t kg, int64_t kh, int64_t kw);

// conv weight [K, C/groups, kh, kw]: group g's matrix A [K/groups, C/groups*kh*kw]
// (none when the conv runs direct), and the broadcast conv's blocks where
// conv2d_bcast_may_pay (conv_bcast.h). With the conv's parameters (the
// executor's prepare): a stride-1 conv that the broadcast conv may take gets
// only its blocks (no GEMM panels: conv2d_packed then runs every call there,
// the same bits). The third form always packs the GEMM's, for `mk`.
std::shared_ptr<const PackedConvWeights> pack_conv2d_weights(const View& weight, int groups);
std::shared_ptr<const PackedConvWeights> pack_conv2d_weights(const View& weight, const Conv2dParams& p);
std::shared_ptr<const PackedConvWeights> pack_conv2d_weights_for_gemm(const GemmMicroKernel& mk,
                                                                      const View& weight, int groups);
// conv_transpose weight [C, K/groups, kh, kw]: group g's matrix
// A [K/groups*kh*kw, C/groups] (A[(k, ky, kx)][c]).
std::shared_ptr<const PackedConvWeights> pack_conv_transpose2d_weights(const View& weight,
                                                                       int groups);

// x [N, C, H, W], weight [K, C/groups, kh, kw] (contiguous), bias [K] or nullptr,
// y [N, K, OH, OW] already sized by shape inference. Activation applied last.
// `packed` from pack_conv2d_weights(weight, p.groups).
void conv2d_packed(const View& x, const View& weight, const PackedConvWeights& packed,
                   const float* bias, const View& y, const Conv2dParams& p);
// The two paths conv2d_packed chooses between, on a given kernel (tests compare
// them, and every ISA's, bit for bit): the direct row kernel for any Cg, and the
// GEMM on weights packed by pack_conv2d_weights_for_gemm(mk, ...).
// small_planes = false keeps conv2d_direct_small_planes' convs on the rows of
// channel blocks (tests compare the two bit for bit).
void conv2d_direct(const ConvDirectKernel& dk, const View& x, const View& weight, const float* bias,
                   const View& y, const Conv2dParams& p, bool small_planes = true);
// Whether conv2d_direct runs a conv on padded rows (depthwise, strided) as whole
// planes: one job per plane (n, g), its input padded once, each output channel
// one ConvDirectKernel::taps_row call over all the plane's rows (small maps: the
// padded plane within 32 KiB, at least 4 planes per thread), instead of jobs of
// rows on a ring of padded rows. The same bits either way; tests check which
// one a case takes.
bool conv2d_direct_whole_planes(const View& x, const View& weight, const View& y, const Conv2dParams& p);
// Whether conv2d_direct runs a stride-1 multi-output conv (a one-channel or RGB
// first layer) on a small map, below parallel.h's threshold, as whole planes on
// the calling thread (the plane form above, one taps_row call per output
// channel over the plane's virtual row) instead of the rows of blocks of mr
// channels: rows of a few vectors spent more on each call's set-up than on
// the sums (a 31x31 patch's 4x4 conv). The same bits.
bool conv2d_direct_small_planes(const View& x, const View& weight, const View& y, const Conv2dParams& p);
// small_planes = false keeps small planes on the per-plane forms (tiles within
// one plane; the narrow kernel for planes of up to 4 pixels at any batch)
// instead of tiles across rows and batch items (tests compare them bit for bit).
void conv2d_gemm(const GemmMicroKernel& mk, const View& x, const View& weight,
                 const PackedConvWeights& packed, const float* bias, const View& y,
                 const Conv2dParams& p, bool small_planes = true);
// Strided convs on output planes of over 256 pixels (conv_phases.cpp): the
// GEMM with B copied from a phase-split, zero-padded copy of the input (made
// once per call) instead of gathered entry by entry; the same B entries, jobs
// and epilogue as conv2d_gemm, so the same bits. conv2d_packed takes it where
// conv2d_gemm_phases_applies.
bool conv2d_gemm_phases_applies(const View& y, const Conv2dParams& p);
// The phase planes' bytes (held by the calling thread between calls).
size_t conv2d_gemm_phases_scratch_bytes(const View& x, const View& weight, const View& y,
                                        const Conv2dParams& p);
void conv2d_gemm_phases(const GemmMicroKernel& mk, const View& x, const View& weight,
                        const PackedConvWeights& packed, const float* bias, const View& y,
                        const Conv2dParams& p);

// Convs on maps small against their dilation (DeepLabV3's ASPP: 3x3, d = 12..36
// on 33x33) sum mostly padding. conv2d_gemm_tap_windows splits the output into
// rectangles whose pixels have the same taps inside the input (per dimension an
// interval of ky, of kx) and runs each as a conv with just those taps (a 1x1
// conv2d_gemm over the rectangle's im2col columns, every tap inside the input,
// with the kernel window's weights, packed on first use and kept in
// PackedConvWeights::windows): every output sums exactly its non-padding taps,
// in (c, ky, kx) order. conv2d_gemm also sums
// the padding taps' zeros, which leave the sum unchanged (fma(w, 0, acc) ==
// acc), except that a sum underflowing to -0 may come out +0 there: the two
// paths agree as floats and, unless a sum underflows, bit for bit.
// conv2d_tap_windows_pay: whether the windows skip at least a quarter of the taps.
bool conv2d_tap_windows_pay(const View& x, const View& weight, const View& y, const Conv2dParams& p);
// The most a call's rectangle columns and raw sums take (held by the calling thread).
size_t conv2d_tap_windows_scratch_bytes(const View& x, const View& weight, const View& y,
                                        const Conv2dParams& p);
void conv2d_gemm_tap_windows(const GemmMicroKernel& mk, const View& x, const View& weight,
                             const PackedConvWeights& packed, const float* bias, const View& y,
                             const Conv2dParams& p);
// An empty cache of windows, for PackedConvWeights::windows.
std::shared_ptr<ConvTapWindows> make_conv_tap_windows();
// Output channels per job of conv2d_gemm for Kg output channels per group: all
// of them, or even chunks of at most 512 (a multiple of mk.mr) so that the
// tile groups stay full (see conv.cpp).
int64_t conv_gemm_chunk_rows(const GemmMicroKernel& mk, int64_t kg);
// The direct kernel of the active ISA.
const ConvDirectKernel& active_conv_direct_kernel();
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
// The scratch that grows with the image instead, in bytes: what one conv2d_packed
// call with these shapes (views' data unused) takes at most on the calling
// thread, beyond conv2d_scratch_bytes (the strided conv's phase planes, the tap
// windows' columns and sums), kept between calls; 0 for most convs. An upper
// bound: the path is not resolved as far as the packed weights decide it.
size_t conv2d_call_scratch_bytes(const View& x, const View& weight, const View& y, const Conv2dParams& p);
size_t conv_transpose2d_scratch_bytes(int64_t cg, int64_t kg, int64_t kh, int64_t kw);

}  // namespace fcnrt::cpu
