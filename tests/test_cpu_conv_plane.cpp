// The small-plane conv (kernels/cpu/conv_plane.h) keeps the conv GEMM's
// contract: its results equal conv2d_gemm's bit for bit on every ISA path this
// CPU runs, at any thread count, through conv2d_packed's dispatch, and agree
// with the float64 reference. Sizes leave remainders everywhere: planes of 1
// to 256 pixels, not a multiple of any ISA's tile; output channels not a
// multiple of the lanes; strides, dilations, groups, batch items, 1x1 and
// non-square kernels; the epilogue with bias, residual and activations; sums
// that underflow to -0. Outputs are poisoned (NaN) with a guard after them.
#include <gtest/gtest.h>
#include <omp.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "kernels/cpu/conv.h"
#include "kernels/cpu/conv_bcast.h"
#include "kernels/cpu/conv_plane.h"
#include "kernels/cpu/cpu_isa.h"
#include "kernels/cpu/gemm_kernels.h"
#include "tests/cpu_kernel_test_util.h"

namespace fcnrt::cpu {
namespace {

using test::PoisonedOutput;
using test::random_floats;
using test::same_bits;

using Epi = test::ConvEpi;

struct PlaneCase {
    int64_t n, c, h, w, k, kh, kw;
    int sh, sw, dh, dw, groups;
    float scale;  // inputs and weights uniform in [-scale, scale]
    Epi epi;
};

std::string name_of(const PlaneCase& t) {
    return "x " + std::to_string(t.n) + "x" + std::to_string(t.c) + "x" + std::to_string(t.h) +
           "x" + std::to_string(t.w) + " k " + std::to_string(t.k) + " " + std::to_string(t.kh) +
           "x" + std::to_string(t.kw) + " s" + std::to_string(t.sh) + "," + std::to_string(t.sw) +
           " d" + std::to_string(t.dh) + "," + std::to_string(t.dw) + " g" +
           std::to_string(t.groups);
}

struct ConvSetup {
    PlaneCase t;
    int64_t oh, ow, out_size;
    std::vector<float> x, wt, bias, res;
    Conv2dParams p;
    View xv, wv;
    const float* b = nullptr;

    explicit ConvSetup(const PlaneCase& c) : t(c) {
        oh = (t.h - t.dh * (t.kh - 1) - 1) / t.sh + 1;
        ow = (t.w - t.dw * (t.kw - 1) - 1) / t.sw + 1;
        out_size = t.n * t.k * oh * ow;
        const int64_t cg = t.c / t.groups;
        x = random_floats(size_t(t.n * t.c * t.h * t.w), uint32_t(t.w * 7 + t.c), t.scale);
        wt = random_floats(size_t(t.k * cg * t.kh * t.kw), uint32_t(t.k * 13 + t.kh), t.scale);
        bias = random_floats(size_t(t.k), 99, 1.0f);
        res = random_floats(size_t(out_size), 7, 1.0f);
        p.stride[0] = t.sh;
        p.stride[1] = t.sw;
        p.dilation[0] = t.dh;
        p.dilation[1] = t.dw;
        p.groups = t.groups;
        b = test::set_conv_epi(t.epi, bias.data(),
                               make_view(res.data(), DType::F32, t.n, t.k, oh, ow), &p);
        xv = make_view(x.data(), DType::F32, t.n, t.c, t.h, t.w);
        wv = make_view(wt.data(), DType::F32, t.k, cg, t.kh, t.kw);
    }
    View out(PoisonedOutput& y) const {
        return make_view(y.data.data(), DType::F32, t.n, t.k, oh, ow);
    }
};

void expect_same_bits(const PoisonedOutput& ref, const PoisonedOutput& y, const char* what) {
    ASSERT_TRUE(y.guard_intact()) << what << " wrote past y";
    ASSERT_TRUE(same_bits(ref.data.data(), y.data.data(), ref.size)) << what << " vs GEMM";
}

const PlaneCase kCases[] = {
    {1, 20, 14, 14, 40, 3, 3, 1, 1, 1, 1, 1, 1.0f, Epi::BiasRelu},        // the patch net's conv2
    {1, 40, 12, 12, 80, 3, 3, 1, 1, 1, 1, 1, 1.0f, Epi::BiasRelu},        // conv3
    {1, 80, 5, 5, 120, 3, 3, 1, 1, 1, 1, 1, 1.0f, Epi::BiasRelu},         // conv4: 9 pixels
    {2, 7, 9, 11, 19, 3, 3, 2, 2, 1, 1, 1, 1.0f, Epi::BiasResidualRelu},  // stride 2, batch 2
    {1, 6, 13, 9, 33, 2, 3, 1, 1, 2, 1, 3, 1.0f, Epi::BiasLeaky},  // 2x3, d2,1, 3 groups of 11
    {1, 5, 4, 4, 17, 3, 3, 1, 1, 1, 1, 1, 1.0f, Epi::BiasRelu},    // 4 pixels
    {1, 3, 3, 3, 5, 3, 3, 1, 1, 1, 1, 1, 1.0f, Epi::Residual},     // 1 pixel
    {1, 9, 20, 20, 24, 5, 5, 1, 1, 1, 1, 1, 1.0f, Epi::BiasRelu},  // 256 pixels
    {3, 16, 8, 7, 16, 1, 1, 1, 1, 1, 1, 1, 1.0f, Epi::None},       // 1x1, 3 items
    {1, 11, 9, 10, 7, 3, 3, 1, 2, 1, 1, 1, 1.0f, Epi::BiasRelu},   // stride 1,2: 7x4
    {1, 13, 10, 9, 21, 3, 3, 1, 1, 1, 1, 1, 1e-23f, Epi::None},    // underflow to -0
    // One pixel (the columns): the patch net's conv5 (15 blocks), a partial last
    // column and block, groups, a residual, underflow.
    {1, 120, 3, 3, 240, 3, 3, 1, 1, 1, 1, 1, 1.0f, Epi::BiasRelu},
    {1, 30, 3, 3, 100, 3, 3, 1, 1, 1, 1, 1, 1.0f, Epi::BiasResidualRelu},
    {1, 12, 2, 3, 22, 2, 3, 1, 1, 1, 1, 2, 1.0f, Epi::BiasLeaky},
    {1, 17, 5, 5, 37, 3, 3, 2, 2, 2, 2, 1, 1e-23f, Epi::None},
    // Planes of 2, 3, 5, 6, 7, 8 and 4 pixels (one tile each on AVX-512, 12
    // pixels a tile), 48 and 40 channels: full and half tiles of every width there.
    {1, 5, 3, 4, 48, 3, 3, 1, 1, 1, 1, 1, 1.0f, Epi::BiasRelu},
    {1, 4, 3, 5, 48, 3, 3, 1, 1, 1, 1, 1, 1.0f, Epi::BiasLeaky},
    {2, 3, 3, 7, 48, 3, 3, 1, 1, 1, 1, 1, 1.0f, Epi::BiasResidualRelu},
    {1, 6, 4, 5, 48, 3, 3, 1, 1, 1, 1, 1, 1.0f, Epi::Residual},
    {1, 3, 1, 7, 48, 1, 1, 1, 1, 1, 1, 1, 1.0f, Epi::None},
    {1, 7, 4, 6, 48, 2, 2, 1, 1, 2, 2, 1, 1.0f, Epi::BiasRelu},
    {1, 2, 3, 4, 40, 2, 3, 1, 1, 1, 1, 1, 1.0f, Epi::BiasResidualRelu},
};

TEST(CpuConvPlane, EveryIsaEqualsTheGemmPathBitForBit) {
    const GemmMicroKernel& ref_mk = gemm_micro_kernel_portable();
    for (const PlaneCase& t : kCases) {
        SCOPED_TRACE(name_of(t));
        const ConvSetup s(t);
        PoisonedOutput ref(s.out_size);
        ASSERT_TRUE(conv2d_plane_applies(s.xv, s.wv, s.out(ref), s.p));
        conv2d_gemm(ref_mk, s.xv, s.wv, *pack_conv2d_weights_for_gemm(ref_mk, s.wv, t.groups), s.b,
                    s.out(ref), s.p);
        ASSERT_TRUE(ref.guard_intact());
        ASSERT_TRUE(test::near_reference_conv2d(s.xv, s.wv, s.b, s.out(ref), s.p));
        int tested = 0;
        for (CpuIsa isa : test::supported_cpu_isas()) {
            ++tested;
            const ConvPlaneKernel& pk = test::conv_plane_kernel_of(isa);
            SCOPED_TRACE(pk.isa);
            PoisonedOutput y(s.out_size);
            conv2d_plane(pk, s.xv, s.wv, *pack_conv2d_weights_lanes(pk.lanes, s.wv, t.groups), s.b,
                         s.out(y), s.p);
            expect_same_bits(ref, y, "small-plane");
        }
        EXPECT_GE(tested, 1);
    }
}

// The underflow case really makes signed zeros of both signs.
TEST(CpuConvPlane, UnderflowCaseMakesNegativeZeros) {
    for (const PlaneCase& t : kCases) {
        if (t.scale > 1e-20f) continue;
        SCOPED_TRACE(name_of(t));
        const ConvSetup s(t);
        PoisonedOutput y(s.out_size);
        const ConvPlaneKernel& pk = conv_plane_kernel_portable();
        conv2d_plane(pk, s.xv, s.wv, *pack_conv2d_weights_lanes(pk.lanes, s.wv, t.groups), s.b,
                     s.out(y), s.p);
        const test::SignedZeros z = test::count_signed_zeros(y.data.data(), s.out_size);
        EXPECT_GT(z.negative, 0);
        EXPECT_GT(z.positive, 0);
    }
}

// Padded convs and planes past kPlaneMaxOutputPixels are not the small-plane
// conv's; conv2d_plane refuses them.
TEST(CpuConvPlane, AppliesOnlyToUnpaddedSmallPlanes) {
    PlaneCase t{1, 4, 6, 6, 8, 3, 3, 1, 1, 1, 1, 1, 1.0f, Epi::None};
    ConvSetup s(t);
    PoisonedOutput y(s.out_size);
    EXPECT_TRUE(conv2d_plane_applies(s.xv, s.wv, s.out(y), s.p));
    s.p.pads[3] = 1;
    EXPECT_FALSE(conv2d_plane_applies(s.xv, s.wv, s.out(y), s.p));
    const ConvPlaneKernel& pk = conv_plane_kernel_portable();
    EXPECT_THROW(conv2d_plane(pk, s.xv, s.wv, *pack_conv2d_weights_lanes(pk.lanes, s.wv, 1),
                              nullptr, s.out(y), s.p),
                 std::logic_error);
    const PlaneCase big{1, 2, 19, 19, 4, 3,    3,
                        1, 1, 1,  1,  1, 1.0f, Epi::None};  // 17x17 = 289 pixels
    const ConvSetup sb(big);
    PoisonedOutput yb(sb.out_size);
    EXPECT_FALSE(conv2d_plane_applies(sb.xv, sb.wv, sb.out(yb), sb.p));
    // The dispatch (AVX2): tiles only while a group's input fits in L2 (shapes only:
    // the views' data is never read).
    if (active_cpu_isa() == CpuIsa::Avx2 && std::getenv("FCNRT_CONV_PLANE") == nullptr) {
        float dummy = 0.0f;
        Conv2dParams p;
        auto prefers = [&](int64_t c, int64_t hw, int64_t k, int64_t n) {
            return conv2d_prefers_plane(make_view(&dummy, DType::F32, n, c, hw, hw),
                                        make_view(&dummy, DType::F32, k, c, 3, 3),
                                        make_view(&dummy, DType::F32, n, k, hw - 2, hw - 2), p);
        };
        EXPECT_TRUE(prefers(40, 12, 80, 1));      // 22 KiB of input
        EXPECT_TRUE(prefers(128, 14, 128, 1));    // 98 KiB
        EXPECT_FALSE(prefers(512, 18, 1024, 1));  // 648 KiB: the GEMM
        EXPECT_FALSE(prefers(64, 4, 64, 1));      // 2x2: the narrow GEMM
        EXPECT_TRUE(prefers(120, 3, 240, 1));     // one pixel, one item: columns
        EXPECT_FALSE(prefers(120, 3, 240, 2));    // one pixel, two items: the narrow GEMM
    }
}

// One and two threads (threaded above parallel.h's threshold: jobs of channel
// blocks) give the same bits as the GEMM, on the active ISA's kernel.
TEST(CpuConvPlane, OneOrTwoThreadsGiveTheGemmBits) {
    const PlaneCase cases[] = {
        {2, 64, 18, 18, 120, 3, 3, 1, 1, 1, 1, 1, 1.0f, Epi::BiasResidualRelu},  // 16x16, 2 items
        {1, 96, 12, 12, 200, 3, 3, 1, 1, 1, 1, 2, 1.0f, Epi::BiasRelu},          // 10x10, 2 groups
        {1, 512, 3, 3, 1000, 3, 3, 1, 1, 1, 1, 1, 1.0f, Epi::BiasRelu},  // one pixel: columns
    };
    const ConvPlaneKernel& pk = active_conv_plane_kernel();
    const GemmMicroKernel& ref_mk = gemm_micro_kernel_portable();
    const int threads = omp_get_max_threads();
    for (const PlaneCase& t : cases) {
        SCOPED_TRACE(name_of(t));
        const ConvSetup s(t);
        PoisonedOutput ref(s.out_size);
        conv2d_gemm(ref_mk, s.xv, s.wv, *pack_conv2d_weights_for_gemm(ref_mk, s.wv, t.groups), s.b,
                    s.out(ref), s.p);
        const auto packed = pack_conv2d_weights_lanes(pk.lanes, s.wv, t.groups);
        for (int n : {1, 2}) {
            PoisonedOutput y(s.out_size);
            omp_set_num_threads(n);
            conv2d_plane(pk, s.xv, s.wv, *packed, s.b, s.out(y), s.p);
            omp_set_num_threads(threads);
            expect_same_bits(ref, y, n == 1 ? "1 thread" : "2 threads");
        }
    }
}

// The executor's path: pack_conv2d_weights (with and without the conv's
// parameters) and conv2d_packed's dispatch, which on AVX2 takes the small-plane
// conv for these (its weights made on first use, or the broadcast conv's blocks
// where those exist): the GEMM path's bits whichever path runs, on every call.
TEST(CpuConvPlane, PackedDispatchEqualsTheGemmPath) {
    const PlaneCase cases[] = {
        {1, 80, 5, 5, 120, 3, 3, 1, 1, 1, 1, 1, 1.0f, Epi::BiasRelu},
        {2, 20, 9, 9, 16, 3, 3, 1, 1, 1, 1, 1, 1.0f,
         Epi::BiasResidualRelu},                                        // 16 outputs: bcast blocks
        {1, 10, 8, 11, 30, 3, 3, 1, 1, 1, 1, 2, 1e-23f, Epi::None},     // 2 groups, underflow
        {1, 7, 11, 11, 9, 3, 3, 2, 2, 1, 1, 1, 1.0f, Epi::BiasLeaky},   // strided
        {1, 120, 3, 3, 240, 3, 3, 1, 1, 1, 1, 1, 1.0f, Epi::BiasRelu},  // one pixel: columns
    };
    const GemmMicroKernel& ref_mk = gemm_micro_kernel_portable();
    for (const PlaneCase& t : cases) {
        SCOPED_TRACE(name_of(t));
        const ConvSetup s(t);
        PoisonedOutput ref(s.out_size);
        conv2d_gemm(ref_mk, s.xv, s.wv, *pack_conv2d_weights_for_gemm(ref_mk, s.wv, t.groups), s.b,
                    s.out(ref), s.p);
        for (bool with_params : {false, true}) {
            const auto packed =
                with_params ? pack_conv2d_weights(s.wv, s.p) : pack_conv2d_weights(s.wv, t.groups);
            if (active_cpu_isa() == CpuIsa::Avx2 && std::getenv("FCNRT_CONV_PLANE") == nullptr) {
                PoisonedOutput probe(s.out_size);
                EXPECT_TRUE(conv2d_prefers_plane(s.xv, s.wv, s.out(probe), s.p));
                EXPECT_NE(conv2d_plane_weights(active_conv_plane_kernel(), *packed, s.wv, t.groups),
                          nullptr);
            }
            for (int call = 0; call < 2; ++call) {
                PoisonedOutput y(s.out_size);
                conv2d_packed(s.xv, s.wv, *packed, s.b, s.out(y), s.p);
                expect_same_bits(ref, y, with_params ? "packed with params" : "packed");
            }
        }
    }
}

}  // namespace
}  // namespace fcnrt::cpu
