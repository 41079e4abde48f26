// The CPU GEMM's contract (kernels/cpu/gemm.h): every C[i][j] is the fma chain
// over k ascending from 0, on every ISA path this CPU supports, so results are
// bit-identical across AVX-512, AVX2 and portable code and across blockings.
// Sizes leave remainders in every tile (mr rows, nr columns) and span several
// reduction blocks (kc); B is also read with a row stride wider than n.
// The direct conv kernel (conv_direct_kernels.h) keeps the same contract: its
// results equal the conv GEMM path's bit for bit, on every ISA; so does the
// narrow kernel (gemm_narrow.h) for a few columns, and any thread count.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "kernels/cpu/conv.h"
#include "kernels/cpu/conv_direct_kernels.h"
#include "kernels/cpu/cpu_isa.h"
#include "kernels/cpu/dense.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_kernels.h"
#include "kernels/cpu/gemm_narrow.h"
#include "kernels/cpu/pool.h"
#include "tests/cpu_kernel_test_util.h"

#include <omp.h>

namespace fcnrt::cpu {
namespace {

using test::conv_direct_kernel_of;
using test::gemm_micro_kernel_of;
using test::gemm_narrow_kernel_of;
using test::PoisonedOutput;
using test::random_floats;
using test::same_bits;
using test::supported_cpu_isas;

struct Size {
    int64_t m, n, k, ldb_extra;
};

// Output size and a trace name of a conv test case (fields n, c, h, w, k, kh,
// kw, sh, sw, pt, pb, pl, pr, dh, dw, groups).
template <class Case>
int64_t case_out_h(const Case& t) {
    return (t.h + t.pt + t.pb - t.dh * (t.kh - 1) - 1) / t.sh + 1;
}
template <class Case>
int64_t case_out_w(const Case& t) {
    return (t.w + t.pl + t.pr - t.dw * (t.kw - 1) - 1) / t.sw + 1;
}
template <class Case>
std::string case_name(const Case& t) {
    return "x " + std::to_string(t.n) + "x" + std::to_string(t.c) + "x" + std::to_string(t.h) + "x" +
           std::to_string(t.w) + " k " + std::to_string(t.k) + " " + std::to_string(t.kh) + "x" +
           std::to_string(t.kw) + " s" + std::to_string(t.sh) + "," + std::to_string(t.sw) + " d" +
           std::to_string(t.dh) + "," + std::to_string(t.dw) + " g" + std::to_string(t.groups);
}

// A conv case's strides, pads, dilations and groups.
template <class Case>
Conv2dParams case_params(const Case& t) {
    Conv2dParams p = test::conv_case_params(t);
    p.stride[0] = t.sh;
    p.stride[1] = t.sw;
    return p;
}

// A conv case's outputs (fields as case_name's, and epilogue) one float at a
// time: the fma chain over (c, ky, kx) ascending from +0, padding taps reading
// zeros, then the epilogue in its order: + bias (b, or none: the sum as it
// is, -0 kept, unless a residual follows), + residual (res, if not null), ReLU
// (t.epilogue).
template <class Case>
std::vector<float> conv_chain(const Case& t, const std::vector<float>& x, const std::vector<float>& wt,
                              const float* b, const float* res) {
    const int64_t cg = t.c / t.groups, kg = t.k / t.groups;
    const int64_t oh = case_out_h(t), ow = case_out_w(t);
    std::vector<float> want(size_t(t.n * t.k * oh * ow));
    for (int64_t n = 0; n < t.n; ++n) {
        for (int64_t k = 0; k < t.k; ++k) {
            const int64_t g = k / kg;
            for (int64_t oy = 0; oy < oh; ++oy) {
                for (int64_t ox = 0; ox < ow; ++ox) {
                    float acc = 0.0f;
                    for (int64_t c = 0; c < cg; ++c)
                        for (int64_t ky = 0; ky < t.kh; ++ky)
                            for (int64_t kx = 0; kx < t.kw; ++kx) {
                                const int64_t iy = oy * t.sh - t.pt + ky * t.dh;
                                const int64_t ix = ox * t.sw - t.pl + kx * t.dw;
                                const bool in = iy >= 0 && iy < t.h && ix >= 0 && ix < t.w;
                                const float xi = in ? x[size_t(((n * t.c + g * cg + c) * t.h + iy) * t.w + ix)] : 0.0f;
                                acc = std::fma(wt[size_t(((k * cg + c) * t.kh + ky) * t.kw + kx)], xi, acc);
                            }
                    const int64_t i = ((n * t.k + k) * oh + oy) * ow + ox;
                    float v = acc + (b ? b[k] : 0.0f);
                    if (b == nullptr && res == nullptr) v = acc;  // no bias: a copy (keeps -0)
                    if (res != nullptr) v = v + res[size_t(i)];
                    if (t.epilogue) v = v > 0.0f ? v : 0.0f;
                    want[size_t(i)] = v;
                }
            }
        }
    }
    return want;
}

TEST(CpuGemm, EveryIsaIsTheFmaChainBitForBit) {
    const Size sizes[] = {{1, 1, 1, 0},    {7, 33, 5, 3},   {13, 50, 300, 0}, {6, 16, 256, 0},
                          {25, 97, 513, 7}, {8, 48, 192, 0}, {3, 200, 1000, 1}, {64, 130, 27, 0}};
    int tested = 0;
    for (CpuIsa isa : {CpuIsa::Portable, CpuIsa::Avx2, CpuIsa::Avx512, CpuIsa::Avx512Sim}) {
        if (!cpu_isa_supported(isa)) {
            std::printf("[   INFO   ] %s: not supported by this CPU, not tested here\n", cpu_isa_name(isa));
            continue;
        }
        ++tested;
        const GemmMicroKernel& mk = gemm_micro_kernel_of(isa);
        for (const Size& s : sizes) {
            SCOPED_TRACE(std::string(cpu_isa_name(isa)) + " m=" + std::to_string(s.m) +
                         " n=" + std::to_string(s.n) + " k=" + std::to_string(s.k));
            const int64_t ldb = s.n + s.ldb_extra, ldc = s.n + 2;
            const std::vector<float> a = random_floats(size_t(s.m * s.k), uint32_t(s.m * 31 + s.k));
            const std::vector<float> b = random_floats(size_t(s.k * ldb), uint32_t(s.n * 17 + s.k));
            std::vector<float> c(size_t(s.m * ldc), NAN);
            sgemm(mk, s.m, s.n, s.k, a.data(), s.k, b.data(), ldb, c.data(), ldc);
            for (int64_t i = 0; i < s.m; ++i) {
                for (int64_t j = 0; j < s.n; ++j) {
                    float acc = 0.0f;
                    for (int64_t r = 0; r < s.k; ++r) acc = std::fma(a[i * s.k + r], b[r * ldb + j], acc);
                    ASSERT_EQ(std::memcmp(&acc, &c[i * ldc + j], sizeof(float)), 0)
                        << "C[" << i << "][" << j << "] = " << c[i * ldc + j] << ", the chain gives " << acc;
                }
                for (int64_t j = s.n; j < ldc; ++j) ASSERT_TRUE(std::isnan(c[i * ldc + j])) << "wrote past n";
            }
        }
    }
    EXPECT_GE(tested, 2);  // portable everywhere, and at least AVX2 on the project's machines
}

// One conv for the direct-vs-GEMM comparison: x [n, c, h, w], weight [k, c/groups, kh, kw].
struct DirectConvCase {
    int64_t n, c, h, w, k, kh, kw;
    int sh, sw, pt, pl, pb, pr, dh, dw, groups;
    float scale;  // inputs and weights are uniform in [-scale, scale]
    bool epilogue;  // bias and ReLU (off: the raw sums, signed zeros visible)
};

TEST(CpuConvDirect, EveryIsaEqualsTheGemmPathBitForBit) {
    // Odd widths so that each ISA's vector blocks (4 vectors), single vectors and
    // scalar pixels all occur in a row, padding on every side, strides 1 and 2,
    // dilations, channel multipliers, one-channel convs with many outputs, a
    // multi-channel case (the direct kernel takes any Cg), products that
    // underflow to -0 (the padding taps must then act as the GEMM's zeros do),
    // and convs with over 512 output channels per group (the GEMM's chunks).
    const DirectConvCase cases[] = {
        {2, 7, 37, 71, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 7, 1.0f, true},        // depthwise 3x3
        {1, 5, 41, 133, 5, 5, 5, 2, 2, 2, 2, 2, 2, 1, 1, 5, 1.0f, true},       // depthwise 5x5 stride 2
        {1, 4, 29, 99, 4, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 4, 1.0f, true},        // depthwise dilated 2
        {1, 3, 23, 77, 3, 3, 3, 1, 1, 4, 4, 4, 4, 4, 4, 3, 1.0f, true},        // depthwise dilated 4, pads 4
        {1, 3, 33, 67, 6, 3, 3, 2, 1, 1, 0, 0, 1, 3, 1, 3, 1.0f, true},        // multiplier 2, asymmetric
        {2, 1, 19, 150, 5, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1.0f, true},       // one channel, 5 outputs
        {1, 1, 13, 17, 3, 7, 7, 1, 1, 3, 3, 3, 3, 1, 1, 1, 1.0f, true},        // taps wider than the interior
        {1, 3, 21, 70, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1.0f, true},        // RGB first layer (Cg = 3)
        // Depthwise on padded rows (conv2d_depthwise): rows narrower than a vector,
        // strides 2 and 3 (phase-split rows), underflowing sums with padding taps,
        // wide rows, kernels and dilations wider than the map.
        {1, 6, 3, 5, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 6, 1e-23f, false},      // tiny, stride 2
        {2, 5, 11, 203, 5, 5, 5, 1, 1, 4, 3, 2, 5, 2, 2, 5, 1.0f, true},       // wide, d2, asymmetric
        {1, 4, 13, 40, 4, 3, 3, 3, 3, 1, 2, 0, 1, 1, 1, 4, 1e-23f, false},     // stride 3, underflow
        {1, 3, 9, 9, 3, 7, 7, 1, 1, 3, 3, 3, 3, 1, 1, 3, 1.0f, true},          // 7x7 on 9x9
        {1, 2, 6, 6, 2, 3, 3, 1, 1, 12, 12, 12, 12, 12, 12, 2, 1.0f, true},    // dilation past the map
        {1, 3, 20, 37, 3, 5, 5, 2, 2, 2, 2, 2, 2, 1, 1, 3, 1.0f, true},        // 5x5 stride 2, odd width
        // Strided direct convs on padded rows: several input channels, channel multipliers.
        {1, 4, 15, 31, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 2, 1e-23f, false},     // 2 groups of 2 -> 3, underflow
        {1, 2, 17, 44, 6, 5, 5, 1, 2, 2, 2, 2, 2, 1, 1, 2, 1.0f, true},        // multiplier 3, width stride 2
        // Multi-channel rows (ConvDirectKernel::rows): channel blocks with remainders
        // on every ISA's mr, stride 2, groups with 2 channels each, padding rows.
        {1, 3, 37, 101, 13, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1.0f, true},      // RGB 3x3 stride 2
        {2, 4, 17, 50, 10, 3, 3, 1, 1, 2, 1, 0, 2, 2, 1, 2, 1.0f, true},       // 2 groups of 2 -> 5
        {1, 2, 11, 83, 17, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1e-23f, false},    // underflow, 17 outputs
        {1, 2, 9, 45, 2, 3, 3, 1, 2, 1, 1, 1, 1, 1, 1, 2, 1e-23f, false},       // underflowing products
        // Stride-1 multi-channel convs whose padding is over a quarter of the output
        // width (FCN-8s' first conv, pad 100): conv2d_direct runs them on padded rows.
        {1, 3, 9, 21, 10, 3, 3, 1, 1, 10, 10, 10, 10, 1, 1, 1, 1.0f, true},     // pad 10 on a 9x21 map
        {1, 3, 7, 11, 5, 3, 3, 1, 1, 6, 5, 4, 6, 1, 1, 1, 1e-23f, false},      // asymmetric, underflow
        // More than 512 output channels: the GEMM cuts them into chunks (conv_gemm_chunk_rows).
        {1, 2, 7, 45, 1031, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1.0f, true},
        {2, 4, 5, 21, 1100, 3, 3, 1, 1, 1, 0, 1, 2, 1, 1, 2, 1.0f, false},
        // Output planes of 1 to 4 pixels: the GEMM path's narrow kernel (gemm_narrow.h),
        // with two reduction blocks (Cg*kh*kw > 256), padding taps, stride 2, groups,
        // over 512 channels in chunks, underflowing products.
        {1, 120, 3, 3, 241, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1.0f, true},      // 1 pixel, reduce 1080
        {2, 40, 4, 4, 100, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1.0f, true},       // 2x2, reduce 360
        {1, 5, 3, 3, 9, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1.0f, true},          // 2x2, stride 2, padded
        {1, 7, 1, 3, 11, 3, 3, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1.0f, false},        // 1x3, asymmetric pads
        {2, 6, 2, 2, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2, 2, 2, 1.0f, true},          // 2x2, 2 groups, dilated
        {1, 30, 3, 3, 1031, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1.0f, false},     // 1 pixel, 1031 channels
        {1, 3, 2, 2, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1e-23f, false},       // underflow, 2x2
        {3, 9, 2, 2, 7, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1.0f, true},          // 1x1 kernel, 2x2, batch 3
        // Stride-1 multi-output convs on small maps (conv2d_direct_small_planes): the
        // patch net's 4x4 first conv, padded and underflowing, 2 groups, batch 2.
        {1, 1, 31, 31, 20, 4, 4, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1.0f, true},
        {1, 2, 9, 13, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1e-23f, false},
        {2, 4, 6, 11, 6, 3, 2, 1, 1, 0, 1, 2, 0, 2, 1, 2, 1.0f, true},
        // Blocks of mr channels (taps_rows) on virtual rows of one vector exactly
        // (AVX2) and narrower than one: 9 and 8 outputs, maps 4x5 and 3x4.
        {1, 2, 4, 5, 9, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1.0f, true},
        {1, 3, 3, 4, 8, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1e-23f, false},
    };
    const GemmMicroKernel& ref_mk = gemm_micro_kernel_of(CpuIsa::Portable);
    int small_plane_cases = 0;
    for (const DirectConvCase& t : cases) {
        const int64_t cg = t.c / t.groups;
        const int64_t oh = case_out_h(t), ow = case_out_w(t);
        SCOPED_TRACE(case_name(t));
        std::vector<float> x = random_floats(size_t(t.n * t.c * t.h * t.w), uint32_t(t.w * 7 + t.c), t.scale);
        std::vector<float> wt = random_floats(size_t(t.k * cg * t.kh * t.kw), uint32_t(t.k * 13 + t.kh), t.scale);
        const std::vector<float> bias = random_floats(size_t(t.k), 99);
        Conv2dParams p = case_params(t);
        p.act.kind = t.epilogue ? Activation::Relu : Activation::None;
        const float* b = t.epilogue ? bias.data() : nullptr;
        const View xv = make_view(x.data(), DType::F32, t.n, t.c, t.h, t.w);
        const View wv = make_view(wt.data(), DType::F32, t.k, cg, t.kh, t.kw);
        const int64_t out_size = t.n * t.k * oh * ow;
        // The reference bits: the GEMM path on the portable micro-kernel.
        PoisonedOutput ref(out_size);
        conv2d_gemm(ref_mk, xv, wv, *pack_conv2d_weights_for_gemm(ref_mk, wv, t.groups), b,
                    make_view(ref.data.data(), DType::F32, t.n, t.k, oh, ow), p);
        ASSERT_TRUE(ref.guard_intact());
        small_plane_cases +=
            conv2d_direct_small_planes(xv, wv, make_view(ref.data.data(), DType::F32, t.n, t.k, oh, ow), p);
        for (CpuIsa isa : supported_cpu_isas()) {
            SCOPED_TRACE(cpu_isa_name(isa));
            PoisonedOutput direct(out_size), gemm(out_size), rows(out_size);
            conv2d_direct(conv_direct_kernel_of(isa), xv, wv, b,
                          make_view(direct.data.data(), DType::F32, t.n, t.k, oh, ow), p);
            // And without the small-plane form (conv2d_direct_small_planes), which
            // the small multi-channel cases take above: their rows of channel blocks.
            conv2d_direct(conv_direct_kernel_of(isa), xv, wv, b,
                          make_view(rows.data.data(), DType::F32, t.n, t.k, oh, ow), p, false);
            ASSERT_TRUE(rows.guard_intact()) << "the direct kernel's rows wrote past y";
            ASSERT_TRUE(same_bits(ref.data.data(), rows.data.data(), out_size)) << "direct rows vs GEMM";
            const GemmMicroKernel& mk = gemm_micro_kernel_of(isa);
            conv2d_gemm(mk, xv, wv, *pack_conv2d_weights_for_gemm(mk, wv, t.groups), b,
                        make_view(gemm.data.data(), DType::F32, t.n, t.k, oh, ow), p);
            ASSERT_TRUE(direct.guard_intact()) << "the direct kernel wrote past y";
            ASSERT_TRUE(gemm.guard_intact()) << "the GEMM path wrote past y";
            ASSERT_TRUE(same_bits(ref.data.data(), direct.data.data(), out_size)) << "direct vs GEMM";
            ASSERT_TRUE(same_bits(ref.data.data(), gemm.data.data(), out_size))
                << cpu_isa_name(isa) << " GEMM vs portable GEMM";
        }
    }
    EXPECT_GE(small_plane_cases, 5);  // the one-channel, RGB and grouped small maps
}

// Small output planes (conv.cpp's SmallPlaneColumns: tiles across output rows
// and batch items, B built row by row per group of tiles): every output is the
// fma chain over (c, ky, kx) ascending with the padding's zeros, computed here
// one float at a time, and the same bits as the per-plane tiles
// (small_planes = false), on every ISA. Planes of 1x1 to 40x40 pixels (odd
// sizes: remainders in every tile, tiles across rows and items), kernels 1x1 to
// 7x7, padding on every side, dilation, strides 1 and 2, batches up to 21,
// groups, a residual, products that underflow to -0; outputs poisoned.
TEST(CpuConvSmallPlanes, EqualTheFmaChainAndThePerPlaneTilesBitForBit) {
    const DirectConvCase cases[] = {
        // n, c, h, w, k, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, groups, scale, epilogue
        {1, 20, 14, 14, 40, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1.0f, true},      // cellpatch conv2: 12x12
        {1, 40, 12, 12, 80, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1.0f, true},      // conv3: 10x10, 2 blocks
        {1, 80, 5, 5, 120, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1.0f, true},       // conv4: 3x3, 3 blocks
        {64, 12, 3, 3, 24, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1.0f, true},       // 1 pixel, batch 64
        {64, 120, 3, 3, 240, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1.0f, true},     // cellpatch conv5 at batch 64: threaded
        {9, 40, 12, 12, 80, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1.0f, true},      // conv3 at batch 9: threaded
        {21, 9, 3, 3, 13, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1.0f, false},       // 1 pixel, batch 21
        {5, 7, 2, 3, 11, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1.0f, true},         // 1x1 kernel, 2x3, batch 5
        {3, 6, 2, 2, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1.0f, true},          // 2x2 padded, batch 3
        {2, 5, 1, 1, 9, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1.0f, false},         // 1x1 plane, 1x1 kernel
        {3, 4, 7, 9, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1.0f, true},         // 7x9, padded, batch 3
        {2, 6, 11, 5, 9, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1.0f, true},         // 5x5 kernel on 11x5
        {1, 3, 9, 13, 7, 7, 7, 1, 1, 3, 3, 3, 3, 1, 1, 1, 1.0f, false},        // 7x7 kernel, 9x13
        {2, 5, 16, 16, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1.0f, true},        // 16x16: exactly 256 pixels
        {1, 5, 17, 15, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1.0f, true},        // 255 pixels
        {1, 4, 40, 40, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1.0f, true},        // 40x40: per-plane tiles
        {2, 6, 13, 11, 8, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1.0f, true},        // stride 2: 7x6
        {2, 6, 31, 23, 8, 5, 5, 2, 2, 2, 1, 2, 0, 1, 1, 1, 1.0f, false},       // stride 2, asymmetric: 16x10
        {1, 6, 9, 10, 5, 3, 3, 1, 2, 0, 1, 2, 1, 1, 1, 1, 1.0f, true},         // width stride only
        {2, 8, 10, 9, 7, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1, 1.0f, true},         // dilation 2
        {1, 4, 6, 6, 5, 3, 3, 1, 1, 6, 6, 6, 6, 6, 6, 1, 1.0f, true},          // dilation past the map
        {3, 8, 6, 7, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1.0f, true},         // 2 groups, batch 3
        {2, 12, 5, 4, 9, 3, 3, 1, 1, 1, 0, 1, 2, 1, 1, 3, 1.0f, false},        // 3 groups, asymmetric
        {4, 3, 4, 4, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1e-23f, false},       // underflow to -0
        {3, 30, 3, 3, 1031, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1.0f, true},      // 1 pixel, 1031 channels
        {1, 9, 2, 2, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1.0f, true},          // 2x2, batch 1: narrow
    };
    int small_form = 0;
    for (const DirectConvCase& t : cases) {
        for (bool with_residual : {false, true}) {
            const int64_t cg = t.c / t.groups;
            const int64_t oh = case_out_h(t), ow = case_out_w(t);
            SCOPED_TRACE(case_name(t) + (with_residual ? " residual" : ""));
            std::vector<float> x = random_floats(size_t(t.n * t.c * t.h * t.w), uint32_t(t.h * 5 + t.c), t.scale);
            std::vector<float> wt = random_floats(size_t(t.k * cg * t.kh * t.kw), uint32_t(t.k * 3 + t.kw), t.scale);
            const std::vector<float> bias = random_floats(size_t(t.k), 17);
            std::vector<float> res = random_floats(size_t(t.n * t.k * oh * ow), 23);
            Conv2dParams p = case_params(t);
            p.act.kind = t.epilogue ? Activation::Relu : Activation::None;
            if (with_residual) p.residual = make_view(res.data(), DType::F32, t.n, t.k, oh, ow);
            const float* b = t.epilogue ? bias.data() : nullptr;
            const View xv = make_view(x.data(), DType::F32, t.n, t.c, t.h, t.w);
            const View wv = make_view(wt.data(), DType::F32, t.k, cg, t.kh, t.kw);
            const int64_t out_size = t.n * t.k * oh * ow;
            small_form += oh * ow <= 256 && t.n * oh * ow > kNarrowMaxColumns;
            // The chain, one output at a time, then the epilogue in its order.
            const std::vector<float> want = conv_chain(t, x, wt, b, with_residual ? res.data() : nullptr);
            for (CpuIsa isa : supported_cpu_isas()) {
                SCOPED_TRACE(cpu_isa_name(isa));
                const GemmMicroKernel& mk = gemm_micro_kernel_of(isa);
                const auto packed = pack_conv2d_weights_for_gemm(mk, wv, t.groups);
                PoisonedOutput small(out_size), per_plane(out_size);
                conv2d_gemm(mk, xv, wv, *packed, b, make_view(small.data.data(), DType::F32, t.n, t.k, oh, ow),
                            p, true);
                conv2d_gemm(mk, xv, wv, *packed, b,
                            make_view(per_plane.data.data(), DType::F32, t.n, t.k, oh, ow), p, false);
                ASSERT_TRUE(small.guard_intact()) << "the small-plane form wrote past y";
                ASSERT_TRUE(per_plane.guard_intact());
                ASSERT_TRUE(same_bits(want.data(), small.data.data(), out_size)) << "small-plane form vs the chain";
                ASSERT_TRUE(same_bits(want.data(), per_plane.data.data(), out_size)) << "per-plane tiles vs the chain";
            }
        }
    }
    EXPECT_GE(small_form, 40);  // most cases run the small-plane form
}

// Strided convs on phase planes (conv2d_gemm_phases, conv_phases.cpp): every
// output is the fma chain over (c, ky, kx) ascending with the padding's zeros,
// computed here one float at a time, and the same bits as conv2d_gemm's
// gathered B, on every ISA. Output planes of over 256 pixels (the form's
// range) with odd sizes (remainders in every tile and tile group, tiles across
// output rows), strides 2 and 3, each dimension alone, padding on every side
// (asymmetric, and past a whole stride), dilation, 1x1 and 7x7 kernels,
// several reduction blocks, groups, batch 2, a residual, sums underflowing to
// -0 with padding taps; one case over the threading threshold; outputs poisoned.
TEST(CpuConvPhases, EqualTheFmaChainAndTheGatheredGemmBitForBit) {
    const DirectConvCase cases[] = {
        // n, c, h, w, k, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, groups, scale, epilogue
        {1, 3, 47, 45, 13, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1, 1.0f, true},       // ResNet stem 7x7 s2: 24x23
        {2, 9, 37, 41, 11, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1.0f, true},       // 3x3 s2, batch 2: 19x21
        {1, 31, 39, 35, 20, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1, 1.0f, false},     // 1x1 s2 (downsample): 20x18
        {1, 5, 41, 38, 7, 1, 1, 2, 3, 1, 2, 0, 1, 1, 1, 1, 1.0f, true},        // 1x1 s2,3 padded: 21x14
        {1, 30, 33, 35, 9, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1.0f, true},       // 270 taps: 2 reduction blocks
        {1, 4, 50, 61, 6, 5, 5, 3, 3, 2, 1, 0, 3, 1, 1, 1, 1.0f, true},        // stride 3, asymmetric: 16x22
        {1, 6, 23, 57, 5, 3, 3, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1.0f, true},        // width stride only: 23x29
        {1, 6, 57, 23, 5, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1.0f, false},       // height stride only: 29x23
        {2, 8, 45, 43, 10, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1.0f, true},       // dilation 2, 2 groups: 23x22
        {1, 4, 35, 37, 5, 4, 4, 2, 2, 5, 4, 3, 6, 1, 1, 1, 1.0f, true},        // even kernel, pads past a stride
        {1, 3, 36, 36, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1e-23f, false},     // underflow to -0: 18x18
        {1, 16, 61, 59, 40, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1.0f, true},      // threaded: 31x30
    };
    for (const DirectConvCase& t : cases) {
        for (bool with_residual : {false, true}) {
            const int64_t cg = t.c / t.groups;
            const int64_t oh = case_out_h(t), ow = case_out_w(t);
            SCOPED_TRACE(case_name(t) + (with_residual ? " residual" : ""));
            std::vector<float> x = random_floats(size_t(t.n * t.c * t.h * t.w), uint32_t(t.h * 7 + t.c), t.scale);
            std::vector<float> wt = random_floats(size_t(t.k * cg * t.kh * t.kw), uint32_t(t.k * 5 + t.kw), t.scale);
            const std::vector<float> bias = random_floats(size_t(t.k), 19);
            std::vector<float> res = random_floats(size_t(t.n * t.k * oh * ow), 29);
            Conv2dParams p = case_params(t);
            p.act.kind = t.epilogue ? Activation::Relu : Activation::None;
            if (with_residual) p.residual = make_view(res.data(), DType::F32, t.n, t.k, oh, ow);
            const float* b = t.epilogue ? bias.data() : nullptr;
            const View xv = make_view(x.data(), DType::F32, t.n, t.c, t.h, t.w);
            const View wv = make_view(wt.data(), DType::F32, t.k, cg, t.kh, t.kw);
            const int64_t out_size = t.n * t.k * oh * ow;
            PoisonedOutput probe(out_size);
            ASSERT_TRUE(conv2d_gemm_phases_applies(make_view(probe.data.data(), DType::F32, t.n, t.k, oh, ow), p))
                << "not a case of the phase planes";
            const std::vector<float> want = conv_chain(t, x, wt, b, with_residual ? res.data() : nullptr);
            int64_t negative_zeros = 0;
            for (float v : want) negative_zeros += v == 0.0f && std::signbit(v);
            if (t.scale < 1e-10f && !with_residual) {
                EXPECT_GT(negative_zeros, 0) << "no -0 to test";
            }
            for (CpuIsa isa : supported_cpu_isas()) {
                SCOPED_TRACE(cpu_isa_name(isa));
                const GemmMicroKernel& mk = gemm_micro_kernel_of(isa);
                const auto packed = pack_conv2d_weights_for_gemm(mk, wv, t.groups);
                PoisonedOutput phases(out_size), gathered(out_size);
                conv2d_gemm_phases(mk, xv, wv, *packed, b,
                                   make_view(phases.data.data(), DType::F32, t.n, t.k, oh, ow), p);
                conv2d_gemm(mk, xv, wv, *packed, b, make_view(gathered.data.data(), DType::F32, t.n, t.k, oh, ow),
                            p);
                ASSERT_TRUE(phases.guard_intact()) << "the phase planes' form wrote past y";
                ASSERT_TRUE(gathered.guard_intact());
                ASSERT_TRUE(same_bits(want.data(), phases.data.data(), out_size)) << "phase planes vs the chain";
                ASSERT_TRUE(same_bits(want.data(), gathered.data.data(), out_size)) << "gathered B vs the chain";
            }
        }
    }
}

// conv_transpose2d's col2im (conv_transpose_scatter.h), taps added straight
// from the GEMM's C block, strided widths in interleaved groups of taps: every
// output is the bias (or +0), then each contribution in increasing (iy, ix)
// order, each the fma chain over the group's input channels ascending, then
// the activation: computed here one float at a time, bit for bit, on the
// active ISA (ctest runs it on each). Strides 1, 2, 3 and 8 (kernels 2x2, 4x4,
// 5x5 that leave a short group, 16x16), asymmetric padding, output padding,
// dilation (no grouping), width stride alone, groups, batch 2, two reduction
// blocks, a case over the threading threshold; outputs poisoned.
TEST(CpuConvTranspose, ScatterAddsEachPixelsContributionsInInputOrderBitForBit) {
    struct Case {
        int64_t n, c, h, w, k, kh, kw;
        int sh, sw, pt, pl, pb, pr, oph, opw, dh, dw, groups;
        bool relu;
    };
    const Case cases[] = {
        {1, 6, 9, 13, 5, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 1, 1, 1, false},    // U-Net's 2x2 s2
        {2, 5, 11, 9, 7, 4, 4, 2, 2, 1, 1, 1, 1, 0, 0, 1, 1, 1, true},     // FCN's 4x4 s2 p1
        {1, 3, 6, 7, 4, 16, 16, 8, 8, 0, 0, 0, 0, 0, 0, 1, 1, 1, false},   // FCN-8s' 16x16 s8
        {1, 3, 5, 6, 3, 16, 16, 8, 8, 4, 3, 5, 2, 0, 0, 1, 1, 1, true},    // s8, asymmetric padding
        {1, 4, 10, 11, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, true},    // 3x3 s2, output padding
        {1, 4, 8, 9, 5, 5, 5, 3, 3, 2, 1, 0, 2, 0, 2, 1, 1, 1, false},     // 5x5 s3: groups of 3 and 2
        {1, 4, 8, 9, 5, 3, 3, 2, 2, 1, 1, 1, 1, 0, 0, 2, 2, 1, true},      // dilation 2
        {1, 3, 7, 12, 4, 3, 4, 1, 2, 1, 1, 1, 1, 0, 0, 1, 1, 1, false},    // width stride only
        {2, 6, 7, 8, 4, 4, 4, 2, 2, 1, 1, 1, 1, 0, 0, 1, 1, 2, true},      // 2 groups, batch 2
        {1, 5, 9, 9, 4, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, false},     // stride 1
        {1, 300, 5, 6, 3, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 1, 1, 1, true},    // 300 channels: 2 blocks
        {1, 32, 31, 29, 24, 4, 4, 2, 2, 1, 1, 1, 1, 0, 0, 1, 1, 1, true},  // threaded
    };
    for (const Case& t : cases) {
        const int64_t cg = t.c / t.groups, kg = t.k / t.groups;
        const int64_t oh = (t.h - 1) * t.sh - t.pt - t.pb + t.dh * (t.kh - 1) + t.oph + 1;
        const int64_t ow = (t.w - 1) * t.sw - t.pl - t.pr + t.dw * (t.kw - 1) + t.opw + 1;
        SCOPED_TRACE("x " + std::to_string(t.n) + "x" + std::to_string(t.c) + "x" + std::to_string(t.h) + "x" +
                     std::to_string(t.w) + " k " + std::to_string(t.k) + " " + std::to_string(t.kh) + "x" +
                     std::to_string(t.kw) + " s" + std::to_string(t.sh) + "," + std::to_string(t.sw) + " d" +
                     std::to_string(t.dh) + " g" + std::to_string(t.groups));
        const std::vector<float> x = random_floats(size_t(t.n * t.c * t.h * t.w), uint32_t(t.h * 11 + t.c));
        const std::vector<float> wt = random_floats(size_t(t.c * kg * t.kh * t.kw), uint32_t(t.k * 13 + t.kw));
        const std::vector<float> bias = random_floats(size_t(t.k), 37);
        ConvTranspose2dParams p;
        p.stride[0] = t.sh;
        p.stride[1] = t.sw;
        p.pads[0] = t.pt;
        p.pads[1] = t.pl;
        p.pads[2] = t.pb;
        p.pads[3] = t.pr;
        p.output_padding[0] = t.oph;
        p.output_padding[1] = t.opw;
        p.dilation[0] = t.dh;
        p.dilation[1] = t.dw;
        p.groups = t.groups;
        p.act.kind = t.relu ? Activation::Relu : Activation::None;
        const float* b = t.relu ? bias.data() : nullptr;  // with ReLU a bias, else none (y from +0)
        const int64_t out_size = t.n * t.k * oh * ow;
        std::vector<float> want(static_cast<size_t>(out_size));
        for (int64_t n = 0; n < t.n; ++n) {
            for (int64_t kk = 0; kk < t.k; ++kk) {
                const int64_t g = kk / kg, k = kk % kg;
                for (int64_t oy = 0; oy < oh; ++oy) {
                    for (int64_t ox = 0; ox < ow; ++ox) {
                        float v = b ? b[kk] : 0.0f;
                        for (int64_t iy = 0; iy < t.h; ++iy) {
                            const int64_t dy = oy - iy * t.sh + t.pt;
                            if (dy < 0 || dy % t.dh != 0 || dy / t.dh >= t.kh) continue;
                            const int64_t ky = dy / t.dh;
                            for (int64_t ix = 0; ix < t.w; ++ix) {
                                const int64_t dx = ox - ix * t.sw + t.pl;
                                if (dx < 0 || dx % t.dw != 0 || dx / t.dw >= t.kw) continue;
                                const int64_t kx = dx / t.dw;
                                float acc = 0.0f;
                                for (int64_t c = 0; c < cg; ++c)
                                    acc = std::fma(wt[size_t((((g * cg + c) * kg + k) * t.kh + ky) * t.kw + kx)],
                                                   x[size_t(((n * t.c + g * cg + c) * t.h + iy) * t.w + ix)], acc);
                                v = v + acc;
                            }
                        }
                        if (t.relu) {
                            v = v + 0.0f;
                            v = v > 0.0f ? v : 0.0f;
                        }
                        want[size_t(((n * t.k + kk) * oh + oy) * ow + ox)] = v;
                    }
                }
            }
        }
        const View wv = make_view(const_cast<float*>(wt.data()), DType::F32, t.c, kg, t.kh, t.kw);
        PoisonedOutput y(out_size);
        conv_transpose2d_packed(make_view(const_cast<float*>(x.data()), DType::F32, t.n, t.c, t.h, t.w), wv,
                                *pack_conv_transpose2d_weights(wv, t.groups), b,
                                make_view(y.data.data(), DType::F32, t.n, t.k, oh, ow), p);
        ASSERT_TRUE(y.guard_intact()) << "wrote past y";
        ASSERT_TRUE(same_bits(want.data(), y.data.data(), out_size));
    }
}

// The underflow case really produces signed zeros before the activation (else
// the case above would not test the padding taps' zeros).
TEST(CpuConvDirect, UnderflowCaseMakesNegativeZeros) {
    const std::vector<float> x(9 * 45, 1e-23f), wt(9, -1e-23f);
    Conv2dParams p;
    p.pads[0] = p.pads[1] = p.pads[2] = p.pads[3] = 1;
    std::vector<float> y(9 * 45, NAN);
    conv2d_direct(conv_direct_kernel_of(CpuIsa::Portable),
                  make_view(const_cast<float*>(x.data()), DType::F32, 1, 1, 9, 45),
                  make_view(const_cast<float*>(wt.data()), DType::F32, 1, 1, 3, 3), nullptr,
                  make_view(y.data(), DType::F32, 1, 1, 9, 45), p);
    int negative_zeros = 0;
    for (float v : y) negative_zeros += v == 0.0f && std::signbit(v);
    EXPECT_GT(negative_zeros, 0);
}

// conv2d_direct_padded's two modes (conv2d_direct_whole_planes): whole planes
// run as one virtual row (small maps) and jobs of rows on a ring of padded rows.
// Every width from 1 to 40 (rows narrower than a vector, the last overlapping
// vector, the dropped columns between the virtual row's rows), strides 1 and 2,
// 3x3 and 5x5, dilation 2, channel multipliers and two input channels per group,
// asymmetric pads; with bias and hard_swish, with a residual and relu, or the raw
// sums of underflowing products (signed zeros). On one thread, where 4 planes or
// more take the plane mode and fewer the rows; every ISA against the portable GEMM
// path bit for bit, outputs poisoned before the run and guarded after it.
TEST(CpuConvDirect, PaddedPlanesAndRowsEqualTheGemmPathBitForBit) {
    struct Shape {
        int64_t c, k, kh;
        int s, d, groups;
    };
    const Shape shapes[] = {
        {8, 8, 3, 1, 1, 8},   // depthwise 3x3: planes
        {8, 8, 5, 2, 1, 8},   // depthwise 5x5 stride 2
        {8, 8, 5, 1, 2, 8},   // depthwise 5x5 dilation 2 (DeepLab's last stage)
        {3, 3, 3, 2, 1, 3},   // 3 planes: rows on the ring
        {2, 2, 5, 1, 2, 2},   // 2 planes of 5x5 d2: rows
        {8, 8, 3, 2, 2, 4},   // 2 input channels and 2 outputs per group, stride 2, dilated
        {4, 8, 3, 2, 1, 4},   // multiplier 2, stride 2
    };
    const int saved_threads = omp_get_max_threads();
    omp_set_num_threads(1);
    int plane_cases = 0, row_cases = 0;
    const GemmMicroKernel& ref_mk = gemm_micro_kernel_of(CpuIsa::Portable);
    for (const Shape& sh : shapes) {
        for (int64_t w = 1; w <= 40; ++w) {
            const int variant = int(w % 3);  // 0: bias + hard_swish; 1: residual + relu; 2: raw underflow
            const int64_t h = 3 + w % 7, cg = sh.c / sh.groups;
            const int half = int(sh.kh - 1) / 2 * sh.d;
            Conv2dParams p;
            p.stride[0] = p.stride[1] = sh.s;
            p.dilation[0] = p.dilation[1] = sh.d;
            p.pads[0] = half;
            p.pads[1] = half;
            p.pads[2] = half + int(w % 2);
            p.pads[3] = std::max(0, half - int(w % 2));
            p.groups = sh.groups;
            const int64_t oh = (h + p.pads[0] + p.pads[2] - sh.d * (sh.kh - 1) - 1) / sh.s + 1;
            const int64_t ow = (w + p.pads[1] + p.pads[3] - sh.d * (sh.kh - 1) - 1) / sh.s + 1;
            if (oh < 1 || ow < 1) continue;
            SCOPED_TRACE("c " + std::to_string(sh.c) + " k " + std::to_string(sh.k) + " " +
                         std::to_string(sh.kh) + "x" + std::to_string(sh.kh) + " s" + std::to_string(sh.s) +
                         " d" + std::to_string(sh.d) + " g" + std::to_string(sh.groups) + " x " +
                         std::to_string(h) + "x" + std::to_string(w) + " variant " + std::to_string(variant));
            const float scale = variant == 2 ? 1e-23f : 3.0f;
            std::vector<float> x = random_floats(size_t(sh.c * h * w), uint32_t(w * 31 + sh.kh), scale);
            std::vector<float> wt =
                random_floats(size_t(sh.k * cg * sh.kh * sh.kh), uint32_t(sh.c + w), variant == 2 ? scale : 1.0f);
            const std::vector<float> bias = random_floats(size_t(sh.k), 7);
            std::vector<float> res = random_floats(size_t(sh.k * oh * ow), uint32_t(w));
            p.act.kind = variant == 0 ? Activation::HardSwish : variant == 1 ? Activation::Relu : Activation::None;
            if (variant == 1) p.residual = make_view(res.data(), DType::F32, 1, sh.k, oh, ow);
            const float* b = variant == 2 ? nullptr : bias.data();
            const View xv = make_view(x.data(), DType::F32, 1, sh.c, h, w);
            const View wv = make_view(wt.data(), DType::F32, sh.k, cg, sh.kh, sh.kh);
            const int64_t out_size = sh.k * oh * ow;
            PoisonedOutput ref(out_size);
            const View ref_y = make_view(ref.data.data(), DType::F32, 1, sh.k, oh, ow);
            (conv2d_direct_whole_planes(xv, wv, ref_y, p) ? plane_cases : row_cases) += 1;
            conv2d_gemm(ref_mk, xv, wv, *pack_conv2d_weights_for_gemm(ref_mk, wv, sh.groups), b, ref_y, p);
            ASSERT_TRUE(ref.guard_intact());
            for (CpuIsa isa : supported_cpu_isas()) {
                SCOPED_TRACE(cpu_isa_name(isa));
                PoisonedOutput direct(out_size);
                conv2d_direct(conv_direct_kernel_of(isa), xv, wv, b,
                              make_view(direct.data.data(), DType::F32, 1, sh.k, oh, ow), p);
                ASSERT_TRUE(direct.guard_intact()) << "the direct kernel wrote past y";
                ASSERT_TRUE(same_bits(ref.data.data(), direct.data.data(), out_size)) << "direct vs GEMM";
            }
        }
    }
    omp_set_num_threads(saved_threads);
    EXPECT_GT(plane_cases, 100);
    EXPECT_GT(row_cases, 60);
}

// The narrow kernel on its own: C rows and columns at strides with gaps (poisoned,
// must stay so), B in both layouts, the reduction in two blocks (the second
// accumulating), rows that end inside a panel, every column count.
TEST(CpuGemmNarrow, EveryIsaIsTheFmaChainBitForBit) {
    struct Case {
        int64_t m, k, k_first;  // rows, reduction, steps of the first block
    };
    const Case cases[] = {{1, 1, 1}, {6, 7, 3}, {13, 300, 256}, {50, 1080, 512}, {8, 2, 1}, {25, 33, 33}};
    for (CpuIsa isa : supported_cpu_isas()) {
        const GemmNarrowKernel& nk = gemm_narrow_kernel_of(isa);
        ASSERT_EQ(nk.mr, gemm_micro_kernel_of(isa).mr);
        for (const Case& t : cases) {
            for (int64_t n = 1; n <= kNarrowMaxColumns; ++n) {
                for (bool b_rows : {true, false}) {
                    SCOPED_TRACE(std::string(cpu_isa_name(isa)) + " m=" + std::to_string(t.m) +
                                 " k=" + std::to_string(t.k) + " n=" + std::to_string(n) +
                                 (b_rows ? " B [k][n]" : " B [n][k]"));
                    const std::vector<float> a = random_floats(size_t(t.m * t.k), uint32_t(t.m * 7 + t.k));
                    const PackedMatrix packed = pack_matrix(nk.mr, a.data(), t.m, t.k, t.k, 1);
                    const int64_t b_rs = b_rows ? n + 1 : 1, b_cs = b_rows ? 1 : t.k + 3;
                    const std::vector<float> b = random_floats(size_t(t.k * (n + 1) + n * (t.k + 3)), 5);
                    const int64_t c_rs = 2 * n + 1, c_cs = 2;  // gaps between rows and columns
                    std::vector<float> c(size_t(t.m * c_rs + 8), NAN);
                    const int64_t k1 = std::min(t.k, t.k_first);
                    nk.run(k1, packed.panel(0), packed.r * nk.mr, packed.panels(), t.m, b.data(), b_rs,
                           b_cs, n, c.data(), c_rs, c_cs, false);
                    if (k1 < t.k)
                        nk.run(t.k - k1, packed.panel(0) + k1 * nk.mr, packed.r * nk.mr, packed.panels(),
                               t.m, b.data() + k1 * b_rs, b_rs, b_cs, n, c.data(), c_rs, c_cs, true);
                    std::vector<bool> written(c.size(), false);
                    for (int64_t i = 0; i < t.m; ++i) {
                        for (int64_t j = 0; j < n; ++j) {
                            float acc = 0.0f;
                            for (int64_t r = 0; r < t.k; ++r)
                                acc = std::fma(a[i * t.k + r], b[r * b_rs + j * b_cs], acc);
                            const float got = c[i * c_rs + j * c_cs];
                            written[i * c_rs + j * c_cs] = true;
                            ASSERT_EQ(std::memcmp(&acc, &got, sizeof(float)), 0)
                                << "C[" << i << "][" << j << "] = " << got << ", the chain gives " << acc;
                        }
                    }
                    for (size_t e = 0; e < c.size(); ++e) {
                        if (written[e]) continue;
                        ASSERT_TRUE(std::isnan(c[e])) << "wrote outside C at " << e;
                    }
                }
            }
        }
    }
}

// dense on 1 to 4 items (the narrow kernel) and on 5 and 19 (tiles): each output the
// chain over the features plus the bias, then the ReLU, on the active ISA.
TEST(CpuGemmNarrow, DenseOnFewItemsIsTheChain) {
    const int64_t features = 300, outputs = 37;
    const std::vector<float> w = random_floats(size_t(outputs * features), 3);
    const std::vector<float> bias = random_floats(size_t(outputs), 4);
    const View wv = make_view(const_cast<float*>(w.data()), DType::F32, outputs, features, 1, 1);
    const auto packed = pack_dense_weights(wv);
    for (int64_t items : {1, 2, 3, 4, 5, 19}) {
        SCOPED_TRACE("items " + std::to_string(items));
        const std::vector<float> x = random_floats(size_t(items * features), uint32_t(items));
        PoisonedOutput y(items * outputs);
        ActivationParams act;
        act.kind = Activation::Relu;
        dense_packed(make_view(const_cast<float*>(x.data()), DType::F32, items, features, 1, 1), *packed,
                     bias.data(), make_view(y.data.data(), DType::F32, items, outputs, 1, 1), act);
        ASSERT_TRUE(y.guard_intact());
        for (int64_t j = 0; j < items; ++j) {
            for (int64_t o = 0; o < outputs; ++o) {
                float acc = 0.0f;
                for (int64_t r = 0; r < features; ++r) acc = std::fma(w[o * features + r], x[j * features + r], acc);
                const float sum = acc + bias[o];
                const float want = sum > 0.0f ? sum : 0.0f;
                ASSERT_EQ(std::memcmp(&want, &y.data[j * outputs + o], sizeof(float)), 0)
                    << "y[" << j << "][" << o << "] = " << y.data[j * outputs + o] << ", want " << want;
            }
        }
    }
}

// dense on one item with the weights also in column blocks (PackedDenseWeights,
// AVX2: the small-plane conv's one-pixel columns): the patch net's 240 -> 1000
// (63 blocks, a partial last one and column), a single partial block, without a
// bias and with a leaky ReLU, a row of signed-zero weights, and 960 -> 200 (750 KiB of
// weights: split over the threads, parallel.h); each output the chain over the features,
// then the bias and activation as dense applies them; outputs poisoned; 1 and 2 threads.
TEST(CpuGemmNarrow, DenseOnOneItemOnColumnsIsTheChain) {
    struct Shape {
        int64_t features, outputs;
        bool bias;
    };
    const int threads = omp_get_max_threads();
    for (const Shape& sh :
         {Shape{240, 1000, true}, Shape{33, 5, false}, Shape{7, 41, true}, Shape{960, 200, true}}) {
        for (int n : {1, 2}) {
            SCOPED_TRACE(std::to_string(n) + " thread(s)");
            SCOPED_TRACE(std::to_string(sh.features) + " -> " + std::to_string(sh.outputs));
            std::vector<float> w = random_floats(size_t(sh.outputs * sh.features), 11);
            std::vector<float> x = random_floats(size_t(sh.features), 12);
            for (int64_t r = 0; r < sh.features; ++r) w[size_t(r)] = r % 2 ? 0.0f : -0.0f;  // output 0
            const std::vector<float> bias = random_floats(size_t(sh.outputs), 13);
            const View wv = make_view(w.data(), DType::F32, sh.outputs, sh.features, 1, 1);
            const auto packed = pack_dense_weights(wv);
            if (active_cpu_isa() == CpuIsa::Avx2) {
                EXPECT_NE(packed->columns, nullptr);
            }
            PoisonedOutput y(sh.outputs);
            ActivationParams act;
            act.kind = sh.bias ? Activation::Relu : Activation::LeakyRelu;
            act.alpha = 0.1f;
            omp_set_num_threads(n);
            dense_packed(make_view(x.data(), DType::F32, 1, sh.features, 1, 1), *packed,
                         sh.bias ? bias.data() : nullptr, make_view(y.data.data(), DType::F32, 1, sh.outputs, 1, 1),
                         act);
            omp_set_num_threads(threads);
            ASSERT_TRUE(y.guard_intact());
            for (int64_t o = 0; o < sh.outputs; ++o) {
                float acc = 0.0f;
                for (int64_t r = 0; r < sh.features; ++r) acc = std::fma(w[o * sh.features + r], x[r], acc);
                const float v = sh.bias ? acc + bias[o] : acc;
                const float want = sh.bias ? (v > 0.0f ? v : 0.0f) : (v >= 0.0f ? v : v * 0.1f);
                ASSERT_EQ(std::memcmp(&want, &y.data[o], sizeof(float)), 0)
                    << "y[" << o << "] = " << y.data[o] << ", want " << want;
            }
        }
    }
}

// Kernels below parallel.h's work threshold run on one thread, above it on all:
// the same bits at 1 and 2 threads either way (convs on the tile, narrow and
// direct paths, transposed conv, pooling).
TEST(CpuThreads, OneOrTwoThreadsGiveTheSameBits) {
    struct Conv {
        int64_t c, h, w, k, kh;
    };
    const Conv convs[] = {{20, 14, 14, 40, 3}, {40, 12, 12, 80, 3}, {120, 3, 3, 240, 3},
                          {32, 41, 37, 48, 3}, {1, 31, 31, 20, 4},  {3, 130, 125, 16, 3}};
    const int saved = omp_get_max_threads();
    for (const Conv& t : convs) {
        SCOPED_TRACE("conv " + std::to_string(t.c) + "x" + std::to_string(t.h) + "x" + std::to_string(t.w) +
                     " -> " + std::to_string(t.k));
        const std::vector<float> x = random_floats(size_t(2 * t.c * t.h * t.w), 11);
        const std::vector<float> wt = random_floats(size_t(t.k * t.c * t.kh * t.kh), 12);
        const std::vector<float> bias = random_floats(size_t(t.k), 13);
        const View xv = make_view(const_cast<float*>(x.data()), DType::F32, 2, t.c, t.h, t.w);
        const View wv = make_view(const_cast<float*>(wt.data()), DType::F32, t.k, t.c, t.kh, t.kh);
        const auto packed = pack_conv2d_weights(wv, 1);
        Conv2dParams p;
        p.act.kind = Activation::Relu;
        const int64_t oh = t.h - t.kh + 1, ow = t.w - t.kh + 1, size = 2 * t.k * oh * ow;
        std::vector<float> y[2];
        for (int threads : {1, 2}) {
            omp_set_num_threads(threads);
            y[threads - 1].assign(size_t(size), NAN);
            conv2d_packed(xv, wv, *packed, bias.data(),
                          make_view(y[threads - 1].data(), DType::F32, 2, t.k, oh, ow), p);
        }
        ASSERT_EQ(std::memcmp(y[0].data(), y[1].data(), sizeof(float) * size_t(size)), 0);
    }
    for (int64_t c : {3, 32}) {  // transposed conv 3x3 stride 2 below and above the threshold
        SCOPED_TRACE("conv_transpose channels " + std::to_string(c));
        const int64_t k = 24, h = 30, oh = (h - 1) * 2 + 3;
        const std::vector<float> x = random_floats(size_t(2 * c * h * h), 31);
        const std::vector<float> wt = random_floats(size_t(c * k * 9), 32);
        const std::vector<float> bias = random_floats(size_t(k), 33);
        const View wv = make_view(const_cast<float*>(wt.data()), DType::F32, c, k, 3, 3);
        const auto packed = pack_conv_transpose2d_weights(wv, 1);
        ConvTranspose2dParams p;
        p.stride[0] = p.stride[1] = 2;
        p.act.kind = Activation::Relu;
        std::vector<float> y[2];
        for (int threads : {1, 2}) {
            omp_set_num_threads(threads);
            y[threads - 1].assign(size_t(2 * k * oh * oh), NAN);
            conv_transpose2d_packed(make_view(const_cast<float*>(x.data()), DType::F32, 2, c, h, h), wv,
                                    *packed, bias.data(),
                                    make_view(y[threads - 1].data(), DType::F32, 2, k, oh, oh), p);
        }
        ASSERT_EQ(std::memcmp(y[0].data(), y[1].data(), sizeof(float) * y[0].size()), 0);
    }
    const std::vector<float> x = random_floats(size_t(3 * 64 * 50 * 50), 21);
    for (int64_t c : {2, 64}) {  // pooling below and above the element threshold
        SCOPED_TRACE("max_pool channels " + std::to_string(c));
        const View xv = make_view(const_cast<float*>(x.data()), DType::F32, 3, c, 50, 50);
        Pool2dParams p;
        p.kernel[0] = p.kernel[1] = 2;
        p.stride[0] = p.stride[1] = 2;
        std::vector<float> y[2];
        std::vector<int32_t> idx[2];
        for (int threads : {1, 2}) {
            omp_set_num_threads(threads);
            y[threads - 1].assign(size_t(3 * c * 25 * 25), NAN);
            idx[threads - 1].assign(y[threads - 1].size(), -7);
            max_pool2d(xv, make_view(y[threads - 1].data(), DType::F32, 3, c, 25, 25),
                       make_view(idx[threads - 1].data(), DType::I32, 3, c, 25, 25), p);
        }
        ASSERT_EQ(std::memcmp(y[0].data(), y[1].data(), sizeof(float) * y[0].size()), 0);
        ASSERT_EQ(idx[0], idx[1]);
    }
    omp_set_num_threads(saved);
}

// Tap windows (conv2d_gemm_tap_windows): every output sums just its taps inside
// the input, which on sums that do not underflow gives the full GEMM's bits.
// ASPP-like dilations on maps smaller than the dilation (whole kernel rows and
// columns in the padding), several windows per dimension, no tap inside at all,
// strides, asymmetric padding, groups, batch 2, and the residual epilogue.
TEST(CpuConvTapWindows, EveryIsaEqualsTheFullGemmBitForBit) {
    struct Case {
        int64_t n, c, h, w, k, kh, kw;
        int sh, sw, pt, pl, pb, pr, dh, dw, groups;
        bool residual;
    };
    const Case cases[] = {
        {1, 37, 23, 29, 19, 3, 3, 1, 1, 7, 7, 7, 7, 7, 7, 1, false},        // d 7: 3 windows a side
        {2, 21, 17, 19, 13, 3, 3, 1, 1, 11, 11, 11, 11, 11, 11, 1, true},   // d 11, residual
        {1, 29, 15, 13, 70, 3, 3, 1, 1, 20, 20, 20, 20, 20, 20, 1, false},  // d 20: centre tap only
        {1, 10, 9, 11, 14, 3, 3, 1, 1, 30, 30, 30, 30, 30, 30, 2, true},    // groups, d 30
        {1, 9, 5, 7, 11, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, false},           // stride 2 on a tiny map
        {2, 6, 6, 5, 7, 5, 5, 1, 1, 2, 3, 1, 4, 1, 1, 1, true},             // 5x5, asymmetric pads
        {1, 8, 4, 9, 5, 3, 5, 1, 1, 7, 2, 7, 2, 5, 1, 1, false},            // rows with no tap inside
        {1, 300, 13, 11, 40, 3, 3, 1, 1, 6, 5, 6, 5, 6, 5, 1, true},        // several reduction blocks
        {1, 512, 9, 150, 7, 3, 3, 1, 1, 4, 4, 4, 4, 4, 4, 1, true},         // rectangles cut into row chunks
    };
    const GemmMicroKernel& ref_mk = gemm_micro_kernel_of(CpuIsa::Portable);
    for (const Case& t : cases) {
        const int64_t cg = t.c / t.groups;
        const int64_t oh = case_out_h(t), ow = case_out_w(t);
        SCOPED_TRACE(case_name(t));
        std::vector<float> x = random_floats(size_t(t.n * t.c * t.h * t.w), uint32_t(t.w * 5 + t.c));
        std::vector<float> wt = random_floats(size_t(t.k * cg * t.kh * t.kw), uint32_t(t.k * 11 + t.kh));
        std::vector<float> res = random_floats(size_t(t.n * t.k * oh * ow), 7);
        const std::vector<float> bias = random_floats(size_t(t.k), 98);
        Conv2dParams p = case_params(t);
        p.act.kind = Activation::Relu;
        if (t.residual) p.residual = make_view(res.data(), DType::F32, t.n, t.k, oh, ow);
        const View xv = make_view(x.data(), DType::F32, t.n, t.c, t.h, t.w);
        const View wv = make_view(wt.data(), DType::F32, t.k, cg, t.kh, t.kw);
        const int64_t out_size = t.n * t.k * oh * ow;
        EXPECT_TRUE(conv2d_tap_windows_pay(xv, wv, make_view(nullptr, DType::F32, t.n, t.k, oh, ow), p))
            << "the case does not reach the windows through conv2d_packed";
        PoisonedOutput ref(out_size);
        conv2d_gemm(ref_mk, xv, wv, *pack_conv2d_weights_for_gemm(ref_mk, wv, t.groups), bias.data(),
                    make_view(ref.data.data(), DType::F32, t.n, t.k, oh, ow), p);
        ASSERT_TRUE(ref.guard_intact());
        for (CpuIsa isa : supported_cpu_isas()) {
            SCOPED_TRACE(cpu_isa_name(isa));
            const GemmMicroKernel& mk = gemm_micro_kernel_of(isa);
            const auto packed = pack_conv2d_weights_for_gemm(mk, wv, t.groups);
            for (int round = 0; round < 2; ++round) {  // windows packed, then from the cache
                PoisonedOutput win(out_size);
                conv2d_gemm_tap_windows(mk, xv, wv, *packed, bias.data(),
                                        make_view(win.data.data(), DType::F32, t.n, t.k, oh, ow), p);
                ASSERT_TRUE(win.guard_intact()) << "the windows wrote past y";
                ASSERT_TRUE(same_bits(ref.data.data(), win.data.data(), out_size)) << "windows vs full GEMM";
            }
        }
    }
}

TEST(CpuGemm, ActiveIsaFollowsTheRequest) {
    const std::string why = cpu_isa_request_error();
    if (!why.empty()) GTEST_SKIP() << why;
    const char* env = std::getenv("FCNRT_CPU_ISA");
    const std::string expected = env && *env ? env : cpu_isa_name(best_cpu_isa());
    EXPECT_EQ(cpu_isa_name(active_cpu_isa()), expected);
    EXPECT_STREQ(active_micro_kernel().isa, expected.c_str());
}

}  // namespace
}  // namespace fcnrt::cpu
