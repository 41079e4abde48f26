// The broadcast conv (kernels/cpu/conv_bcast.h) keeps the conv GEMM's contract:
// its results equal conv2d_gemm's bit for bit on every ISA path this CPU runs,
// at any thread count, and agree with the float64 reference. Sizes leave
// remainders everywhere: widths not a multiple of any ISA's tile (P pixels) or
// of 16, output channels not a multiple of the lanes, odd channel counts,
// several reduction blocks, interior runs whose last tiles are split (rests of
// 1 to 3 pixels) or not, rows wider than a pass segment, narrow maps with
// several rows per pass, kernels wider than the map (every pixel an edge),
// dilations 1 to 3, symmetric and asymmetric pads, groups, the epilogue with
// bias, residual and activations, and sums that underflow to -0 (where the
// padding taps' +0 entries must be multiplied exactly as the GEMM does).
#include <gtest/gtest.h>

#include <omp.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "kernels/cpu/conv.h"
#include "kernels/cpu/conv_bcast.h"
#include "kernels/cpu/cpu_isa.h"
#include "kernels/cpu/gemm_kernels.h"
#include "tests/cpu_kernel_test_util.h"

namespace fcnrt::cpu {
namespace {

using test::PoisonedOutput;
using test::random_floats;
using test::same_bits;

using Epi = test::ConvEpi;

struct BcastCase {
    int64_t n, c, h, w, k, kh, kw;
    int pt, pl, pb, pr, dh, dw, groups;
    float scale;  // inputs and weights uniform in [-scale, scale]
    Epi epi;
};

std::string name_of(const BcastCase& t) {
    return "x " + std::to_string(t.n) + "x" + std::to_string(t.c) + "x" + std::to_string(t.h) + "x" +
           std::to_string(t.w) + " k " + std::to_string(t.k) + " " + std::to_string(t.kh) + "x" +
           std::to_string(t.kw) + " pads " + std::to_string(t.pt) + "," + std::to_string(t.pl) + "," +
           std::to_string(t.pb) + "," + std::to_string(t.pr) + " d" + std::to_string(t.dh) + "," +
           std::to_string(t.dw) + " g" + std::to_string(t.groups);
}

// One case's inputs, parameters and views.
struct ConvSetup {
    BcastCase t;
    int64_t oh, ow, out_size;
    std::vector<float> x, wt, bias, res;
    Conv2dParams p;
    View xv, wv;
    const float* b = nullptr;

    explicit ConvSetup(const BcastCase& c) : t(c) {
        oh = t.h + t.pt + t.pb - t.dh * (t.kh - 1);
        ow = t.w + t.pl + t.pr - t.dw * (t.kw - 1);
        out_size = t.n * t.k * oh * ow;
        const int64_t cg = t.c / t.groups;
        x = random_floats(size_t(t.n * t.c * t.h * t.w), uint32_t(t.w * 7 + t.c), t.scale);
        wt = random_floats(size_t(t.k * cg * t.kh * t.kw), uint32_t(t.k * 13 + t.kh), t.scale);
        bias = random_floats(size_t(t.k), 99, 1.0f);
        res = random_floats(size_t(out_size), 7, 1.0f);
        p = test::conv_case_params(t);
        b = test::set_conv_epi(t.epi, bias.data(), make_view(res.data(), DType::F32, t.n, t.k, oh, ow), &p);
        xv = make_view(x.data(), DType::F32, t.n, t.c, t.h, t.w);
        wv = make_view(wt.data(), DType::F32, t.k, cg, t.kh, t.kw);
    }
    View out(PoisonedOutput& y) const { return make_view(y.data.data(), DType::F32, t.n, t.k, oh, ow); }
};

const BcastCase kCases[] = {
    {1, 5, 9, 23, 19, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1.0f, Epi::BiasRelu},         // pad 1, odd sizes
    {2, 7, 13, 37, 33, 3, 3, 2, 2, 2, 2, 2, 2, 1, 1.0f, Epi::BiasResidualRelu},  // dilation 2, batch 2
    {1, 3, 11, 29, 16, 3, 3, 3, 3, 3, 3, 3, 3, 1, 1.0f, Epi::None},             // dilation 3
    {1, 4, 10, 17, 5, 1, 3, 0, 1, 0, 1, 1, 1, 1, 1.0f, Epi::BiasLeaky},         // 1x3
    {1, 4, 17, 10, 21, 3, 1, 1, 0, 1, 0, 1, 1, 1, 1.0f, Epi::BiasRelu},         // 3x1
    {1, 6, 12, 31, 40, 5, 5, 2, 2, 2, 2, 1, 1, 2, 1.0f, Epi::BiasResidualRelu},  // 5x5, 2 groups
    {1, 51, 6, 7, 17, 3, 3, 0, 2, 1, 0, 1, 1, 1, 1.0f, Epi::Residual},          // asymmetric, 4 kc blocks
    {1, 9, 5, 300, 70, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1.0f, Epi::BiasRelu},         // 2 segments, 2 chunks
    {1, 3, 40, 3, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1.0f, Epi::BiasRelu},           // 3 wide: 16 rows a pass
    {1, 2, 5, 5, 3, 7, 7, 3, 3, 3, 3, 1, 1, 1, 1.0f, Epi::BiasRelu},            // 7x7 on 5x5: all edges
    {1, 5, 9, 45, 18, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1e-23f, Epi::None},            // underflow to -0
    {1, 3, 7, 21, 5, 5, 5, 2, 2, 2, 2, 2, 1, 1, 1e-23f, Epi::None},             // underflow, d2,1
    {2, 33, 7, 19, 24, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1.0f, Epi::BiasRelu},         // 1x1
    {1, 8, 9, 14, 12, 3, 3, 1, 2, 0, 1, 1, 2, 4, 1.0f, Epi::BiasLeaky},         // 4 groups of 3 outputs
    {1, 20, 8, 20, 150, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1.0f, Epi::BiasResidualRelu},  // many blocks
    {1, 3, 1, 1, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1.0f, Epi::BiasRelu},            // one pixel
    {1, 4, 5, 10, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1.0f, Epi::BiasRelu},          // 8 inner: 4 + 4
    {1, 4, 5, 14, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1.0f, Epi::BiasLeaky},         // 12 inner: 6 + 6
    // Left padding only (one edge column, passes of 256 / ow rows): interiors
    // of 20, 16, 22 and 14 pixels and edge calls of 2 to 11 pixels, for the
    // tile widths up to AVX-512's 12 pixels (chosen by coverage of the
    // avx512sim units before the rest's half-tile split; still every width).
    {1, 4, 19, 22, 19, 3, 3, 1, 1, 1, 0, 1, 1, 1, 1.0f, Epi::BiasRelu},
    {1, 5, 20, 18, 21, 3, 3, 1, 1, 1, 0, 1, 1, 1, 1.0f, Epi::BiasResidualRelu},
    {1, 3, 20, 24, 35, 3, 3, 1, 1, 1, 0, 1, 1, 1, 1.0f, Epi::BiasLeaky},
    {1, 4, 18, 16, 9, 3, 3, 1, 1, 1, 0, 1, 1, 1, 1.0f, Epi::None},
};

TEST(CpuConvBcast, EveryIsaEqualsTheGemmPathBitForBit) {
    const GemmMicroKernel& ref_mk = gemm_micro_kernel_portable();
    for (const BcastCase& t : kCases) {
        SCOPED_TRACE(name_of(t));
        const ConvSetup s(t);
        // The reference bits: the GEMM path on the portable micro-kernel.
        PoisonedOutput ref(s.out_size);
        conv2d_gemm(ref_mk, s.xv, s.wv, *pack_conv2d_weights_for_gemm(ref_mk, s.wv, t.groups), s.b,
                    s.out(ref), s.p);
        ASSERT_TRUE(ref.guard_intact());
        // And the float64 reference, for the rounding (scaled cases are all ~0).
        ASSERT_TRUE(test::near_reference_conv2d(s.xv, s.wv, s.b, s.out(ref), s.p));
        int tested = 0;
        for (CpuIsa isa : test::supported_cpu_isas()) {
            ++tested;
            const ConvBcastKernel& bk = test::conv_bcast_kernel_of(isa);
            SCOPED_TRACE(bk.isa);
            PoisonedOutput y(s.out_size);
            conv2d_bcast(bk, s.xv, s.wv, *pack_conv2d_weights_bcast(bk, s.wv, t.groups), s.b, s.out(y), s.p);
            ASSERT_TRUE(y.guard_intact()) << "wrote past y";
            ASSERT_TRUE(same_bits(ref.data.data(), y.data.data(), s.out_size)) << "broadcast vs GEMM";
        }
        EXPECT_GE(tested, 1);
    }
}

// The underflow cases really make signed zeros (else they would not test the
// padding taps' multiplications).
TEST(CpuConvBcast, UnderflowCasesMakeNegativeZeros) {
    for (const BcastCase& t : kCases) {
        if (t.scale > 1e-20f) continue;
        SCOPED_TRACE(name_of(t));
        const ConvSetup s(t);
        PoisonedOutput y(s.out_size);
        const ConvBcastKernel& bk = conv_bcast_kernel_portable();
        conv2d_bcast(bk, s.xv, s.wv, *pack_conv2d_weights_bcast(bk, s.wv, t.groups), s.b, s.out(y), s.p);
        const test::SignedZeros z = test::count_signed_zeros(y.data.data(), s.out_size);
        EXPECT_GT(z.negative, 0);
        EXPECT_GT(z.positive, 0);
    }
}

// One and two threads (jobs split differently, threaded above parallel.h's
// threshold) give the same bits, on the active ISA's kernel.
TEST(CpuConvBcast, OneOrTwoThreadsGiveTheSameBits) {
    const BcastCase cases[] = {
        {2, 40, 30, 45, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1.0f, Epi::BiasResidualRelu},
        {1, 48, 20, 300, 16, 3, 3, 2, 2, 2, 2, 2, 2, 1, 1.0f, Epi::BiasRelu},
    };
    const ConvBcastKernel& bk = active_conv_bcast_kernel();
    const int threads = omp_get_max_threads();
    for (const BcastCase& t : cases) {
        SCOPED_TRACE(name_of(t));
        const ConvSetup s(t);
        const auto packed = pack_conv2d_weights_bcast(bk, s.wv, t.groups);
        PoisonedOutput one(s.out_size), two(s.out_size);
        omp_set_num_threads(1);
        conv2d_bcast(bk, s.xv, s.wv, *packed, s.b, s.out(one), s.p);
        omp_set_num_threads(2);
        conv2d_bcast(bk, s.xv, s.wv, *packed, s.b, s.out(two), s.p);
        omp_set_num_threads(threads);
        ASSERT_TRUE(one.guard_intact() && two.guard_intact());
        ASSERT_TRUE(same_bits(one.data.data(), two.data.data(), s.out_size)) << "two threads vs one";
        for (int64_t i = 0; i < s.out_size; ++i) ASSERT_FALSE(std::isnan(one.data[size_t(i)])) << i;
    }
}

// The executor's path: weights packed with the conv's parameters
// (pack_conv2d_weights(w, p)) and conv2d_packed's dispatch, including planes the
// GEMM would run on its narrow kernel (4 pixels) or as tap windows (a dilation
// past a small map): the GEMM path's bits whichever path runs. On AVX2 (unless
// FCNRT_CONV_PATH says otherwise) these 16-channel 3x3 convs get the broadcast
// conv's blocks alone.
TEST(CpuConvBcast, PackedDispatchEqualsTheGemmPath) {
    const BcastCase cases[] = {
        {1, 20, 13, 45, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1.0f, Epi::BiasResidualRelu},
        {1, 20, 2, 2, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1.0f, Epi::BiasRelu},     // 4 pixels
        {1, 24, 9, 9, 16, 3, 3, 4, 4, 4, 4, 4, 4, 1, 1.0f, Epi::BiasRelu},     // d4 on 9x9
        {1, 10, 8, 11, 32, 3, 3, 1, 1, 1, 1, 1, 1, 2, 1e-23f, Epi::None},      // 2 groups, underflow
    };
    const GemmMicroKernel& ref_mk = gemm_micro_kernel_portable();
    const bool forced = std::getenv("FCNRT_CONV_PATH") != nullptr;
    for (const BcastCase& t : cases) {
        SCOPED_TRACE(name_of(t));
        const ConvSetup s(t);
        PoisonedOutput ref(s.out_size), y(s.out_size);
        conv2d_gemm(ref_mk, s.xv, s.wv, *pack_conv2d_weights_for_gemm(ref_mk, s.wv, t.groups), s.b,
                    s.out(ref), s.p);
        const auto packed = pack_conv2d_weights(s.wv, s.p);
        if (active_cpu_isa() == CpuIsa::Avx2 && !forced) {
            EXPECT_TRUE(packed->groups.empty() && packed->bcast != nullptr)
                << "expected the broadcast conv's blocks alone";
        }
        conv2d_packed(s.xv, s.wv, *packed, s.b, s.out(y), s.p);
        ASSERT_TRUE(y.guard_intact()) << "wrote past y";
        ASSERT_TRUE(same_bits(ref.data.data(), y.data.data(), s.out_size)) << "packed dispatch vs GEMM";
    }
}

}  // namespace
}  // namespace fcnrt::cpu
