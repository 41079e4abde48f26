// The tensor-core convolution (kernels/cuda/conv_tensor_core.cu) at TF32, BF16 and
// FP16 against the float64 reference kernel, on random inputs at odd sizes that
// leave remainders in every tile (pixels % 64, channels % 64, Kred % 16), with the
// output poisoned (NaN) before the run and a guard band after it.
//
// Error bounds, per output element i (the derivation; none is a fitted tolerance).
// Let u be the format's unit roundoff (tf32 2^-11, bf16 2^-8, fp16 2^-11; tf32
// rounds to nearest with ties away, bf16 and fp16 to even: |round(a) - a| <= u|a|,
// plus, for fp16 below 2^-14, an absolute eta = 2^-25 = half its subnormal spacing)
// and S_i = sum_k |w_k||x_k| over the K = Cg*kh*kw products of element i (the
// reference kernel run on |x| and |w|). With both operands rounded,
//   |round(w)round(x) - wx| <= (2u + u^2)|w||x| + eta(1 + u)(|w| + |x|) + eta^2,
// the products of rounded operands are exact in float32 (at most 2 x 11 significant
// bits), and float32 accumulation of K terms, in any order or tree, adds at most
// gamma_K = K u32 / (1 - K u32) times the sum of the magnitudes (u32 = 2^-24; we
// allow 2K u32 for hardware that truncates instead of rounding inside the
// accumulation). The bias and residual adds and the reference's own rounding to
// float each add at most u32 of their magnitude. Hence two checks:
//   1. against the reference on the ROUNDED operands (round_to_precision, the GPU's
//      rounding): |y - ref_rounded| <= 2K u32 S_i + 4 u32 (|ref| + |bias| + |res|).
//      This pins the rounding: it fails if the kernel skipped it (an fp32 fallback),
//      rounded the wrong way or dropped a term, and the test asserts that the
//      roundings do move the result by more than this bound somewhere.
//   2. against the EXACT reference: check 1's bound + (2u + u^2) S_i + the eta terms.
// Plus: the same run twice gives the same bits, and a pixel gives the same bits
// wherever it lies in the tile (a crop of the input gives the crop of the output),
// which tiled segmentation relies on.
//
// conv_transpose (ConvTransposeTensorCore) has the same checks with the same
// bounds, K = Cg*kh*kw being the taps the kernel multiplies (those that fall
// between input pixels multiply zeros, which adds nothing): an upper bound on the
// products of a given element. dense (DenseTensorCore) likewise with K = F.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/cuda_backend.h"
#include "kernels/cuda/conv_tensor_core.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/precision.h"
#include "kernels/reference/conv.h"
#include "kernels/reference/dense.h"
#include "tests/op_cases.h"

namespace fcnrt::test {
namespace {

bool cuda_available(std::string* why) {
    static std::string why_not;
    static const bool usable = cuda_device_usable(&why_not);
    *why = why_not;
    return usable;
}

// A device copy of a host float vector, freed at scope exit.
struct DeviceFloats {
    explicit DeviceFloats(const std::vector<float>& host) : count(host.size()) {
        void* d = nullptr;
        CUDA_CHECK(cudaMalloc(&d, std::max<size_t>(count, 1) * sizeof(float)));
        ptr.reset(static_cast<float*>(d), [](float* q) { cudaFree(q); });
        CUDA_CHECK(cudaMemcpy(d, host.data(), count * sizeof(float), cudaMemcpyHostToDevice));
        CUDA_CHECK(cudaDeviceSynchronize());  // landed before another stream reads it
    }
    std::vector<float> read() const {
        std::vector<float> host(count);
        CUDA_CHECK(
            cudaMemcpy(host.data(), ptr.get(), count * sizeof(float), cudaMemcpyDeviceToHost));
        return host;
    }
    size_t count;
    std::shared_ptr<float> ptr;
};

struct Case {
    std::string name;
    int n, c, h, w, k, kh, kw;
    Conv2dParams p;
    bool bias = true, residual = false;
};

Conv2dParams params(int sh, int sw, int pt, int pl, int pb, int pr, int dh, int dw, int groups,
                    Activation act = Activation::None) {
    return conv_params(sh, sw, pt, pl, pb, pr, dh, dw, groups, fcnrt::test::act(act));
}

std::vector<Case> cases() {
    return {
        {"conv3x3", 2, 5, 11, 13, 7, 3, 3, params(1, 1, 1, 1, 1, 1, 1, 1, 1, Activation::Relu)},
        {"dilated", 1, 3, 13, 9, 9, 3, 3, params(1, 1, 2, 2, 2, 2, 2, 2, 1)},
        {"strided", 1, 6, 15, 17, 67, 3, 3, params(2, 2, 1, 1, 1, 1, 1, 1, 1)},
        {"grouped", 2, 6, 9, 7, 9, 3, 3, params(1, 1, 1, 0, 1, 2, 1, 1, 3)},
        {"pointwise_residual", 1, 37, 9, 8, 70, 1, 1, params(1, 1, 0, 0, 0, 0, 1, 1, 1), true,
         true},
        {"long_reduction", 1, 41, 7, 5, 5, 5, 5, params(1, 1, 2, 2, 2, 2, 1, 1, 1)},
        {"asymmetric", 1, 4, 10, 11, 3, 2, 5, params(1, 3, 0, 2, 1, 0, 3, 1, 1, Activation::Relu),
         false},
    };
}

int out_dim(int in, int k, int s, int pa, int pb, int d) {
    return (in + pa + pb - d * (k - 1) - 1) / s + 1;
}

class ConvTensorCore : public ::testing::TestWithParam<Precision> {
protected:
    void SetUp() override {
        std::string why;
        if (!cuda_available(&why)) GTEST_SKIP() << "no usable CUDA device: " << why;
    }
};

std::vector<float> abs_of(std::vector<float> v) {
    for (float& f : v) f = std::fabs(f);
    return v;
}

std::vector<float> rounded(std::vector<float> v, Precision p) {
    for (float& f : v) f = round_to_precision(f, p);
    return v;
}

// y on the host via the float64 reference kernel (its contract: float64 sums,
// float32 result).
std::vector<float> reference_conv(const Case& c, std::vector<float> x, std::vector<float> w,
                                  const std::vector<float>* bias, std::vector<float>* res, int oh,
                                  int ow, const Conv2dParams& p) {
    std::vector<float> y(size_t(c.n) * c.k * oh * ow, 0.0f);
    Conv2dParams q = p;
    if (res) q.residual = make_view(res->data(), DType::F32, c.n, c.k, oh, ow);
    reference::conv2d(make_view(x.data(), DType::F32, c.n, c.c, c.h, c.w),
                      make_view(w.data(), DType::F32, c.k, c.c / p.groups, c.kh, c.kw),
                      bias ? bias->data() : nullptr,
                      make_view(y.data(), DType::F32, c.n, c.k, oh, ow), q);
    return y;
}

// Runs the tensor-core kernel: x, weight, bias and residual copied to the device,
// the output poisoned with NaN and followed by a guard band of NaN that must survive.
std::vector<float> run_tensor_core(const Case& c, const std::vector<float>& x,
                                   const std::vector<float>& w, const std::vector<float>& bias,
                                   const std::vector<float>* res, int oh, int ow,
                                   Precision precision) {
    const size_t ny = size_t(c.n) * c.k * oh * ow, guard = 67;
    const float nan = std::numeric_limits<float>::quiet_NaN();
    DeviceFloats dx(x), dw(w), db(bias), dy(std::vector<float>(ny + guard, nan));
    std::unique_ptr<DeviceFloats> dr;
    if (res) dr = std::make_unique<DeviceFloats>(*res);
    const View wv = make_view(dw.ptr.get(), DType::F32, c.k, c.c / c.p.groups, c.kh, c.kw);
    auto packed = cuda::pack_conv2d_weights_tensor_core(wv, c.p.groups, precision);
    Conv2dParams p = c.p;
    if (res) p.residual = make_view(dr->ptr.get(), DType::F32, c.n, c.k, oh, ow);
    // On a non-blocking stream, as the backend runs it: the packed weights must be
    // on the device without the legacy stream's implicit ordering.
    cudaStream_t stream = nullptr;
    CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    cuda::conv2d_tensor_core(make_view(dx.ptr.get(), DType::F32, c.n, c.c, c.h, c.w), wv, *packed,
                             c.bias ? db.ptr.get() : nullptr,
                             make_view(dy.ptr.get(), DType::F32, c.n, c.k, oh, ow), p, stream);
    CUDA_CHECK(cudaStreamSynchronize(stream));
    CUDA_CHECK(cudaStreamDestroy(stream));
    CUDA_CHECK(cudaGetLastError());
    std::vector<float> y = dy.read();
    for (size_t i = ny; i < y.size(); ++i)
        EXPECT_TRUE(std::isnan(y[i])) << "guard element " << i - ny << " overwritten";
    y.resize(ny);
    return y;
}

TEST_P(ConvTensorCore, WithinDerivedBoundsOfFloat64Reference) {
    const Precision precision = GetParam();
    const double u = precision_unit_roundoff(precision), u32 = std::ldexp(1.0, -24);
    const double eta = precision == Precision::Fp16 ? std::ldexp(1.0, -25) : 0.0;
    std::mt19937 rng(1234);
    std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
    for (const Case& c : cases()) {
        SCOPED_TRACE(c.name + " at " + precision_name(precision));
        const int oh = out_dim(c.h, c.kh, c.p.stride[0], c.p.pads[0], c.p.pads[2], c.p.dilation[0]);
        const int ow = out_dim(c.w, c.kw, c.p.stride[1], c.p.pads[1], c.p.pads[3], c.p.dilation[1]);
        const int kred = c.c / c.p.groups * c.kh * c.kw;
        std::vector<float> x(size_t(c.n) * c.c * c.h * c.w), w(size_t(c.k) * kred), bias(c.k);
        for (float& v : x) v = uni(rng);
        for (float& v : w) v = uni(rng) * 0.5f;
        for (float& v : bias) v = uni(rng);
        std::vector<float> res(size_t(c.n) * c.k * oh * ow);
        for (float& v : res) v = uni(rng);
        std::vector<float>* r = c.residual ? &res : nullptr;
        const std::vector<float>* b = c.bias ? &bias : nullptr;

        const std::vector<float> exact = reference_conv(c, x, w, b, r, oh, ow, c.p);
        Conv2dParams plain = c.p;
        plain.act.kind = Activation::None;
        const std::vector<float> mag =
            reference_conv(c, abs_of(x), abs_of(w), nullptr, nullptr, oh, ow, plain);
        const std::vector<float> on_rounded =
            reference_conv(c, rounded(x, precision), rounded(w, precision), b, r, oh, ow, c.p);
        const std::vector<float> y = run_tensor_core(c, x, w, bias, r, oh, ow, precision);

        size_t distinguishing = 0;  // elements where the roundings exceed check 1's bound
        const size_t plane = size_t(oh) * ow;
        for (size_t i = 0; i < y.size(); ++i) {
            const size_t ch = (i / plane) % c.k;
            const double s = mag[i];
            const double extra = std::fabs(b ? bias[ch] : 0.0f) + std::fabs(r ? res[i] : 0.0f);
            const double accumulation =
                2.0 * kred * u32 * s + 4.0 * u32 * (std::fabs(on_rounded[i]) + extra);
            const double rounding =
                (2 * u + u * u) * s + eta * (1 + u) * kred * 2.0 + kred * eta * eta;
            ASSERT_TRUE(std::isfinite(y[i])) << "element " << i << " not written";
            ASSERT_LE(std::fabs(double(y[i]) - on_rounded[i]), accumulation)
                << "element " << i << " vs the reference on rounded operands";
            ASSERT_LE(std::fabs(double(y[i]) - exact[i]), accumulation + rounding)
                << "element " << i << " vs the exact reference";
            distinguishing += std::fabs(double(on_rounded[i]) - exact[i]) > accumulation;
        }
        // Check 1 can tell a rounded run from an unrounded one (where the worst-case
        // accumulation bound, linear in K, is not too loose for it: short reductions).
        if (kred < 100) {
            EXPECT_GT(distinguishing, 0u);
        }

        // Deterministic: the same bits again.
        EXPECT_EQ(std::memcmp(y.data(), run_tensor_core(c, x, w, bias, r, oh, ow, precision).data(),
                              y.size() * sizeof(float)),
                  0);
    }
}

// A pixel's value does not depend on where it lies in the block tile: convolving a
// crop of the input (no padding, stride 1) gives exactly the crop of the output.
TEST_P(ConvTensorCore, CropOfInputGivesCropOfOutputExactly) {
    const Precision precision = GetParam();
    std::mt19937 rng(99);
    std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
    Case full{"full", 1, 7, 19, 23, 5, 3, 3, params(1, 1, 0, 0, 0, 0, 2, 1, 1)};
    const int top = 3, left = 5;
    Case crop = full;
    crop.h -= top;
    crop.w -= left;
    std::vector<float> x(size_t(full.c) * full.h * full.w), w(size_t(full.k) * full.c * 9),
        bias(full.k);
    for (float& v : x) v = uni(rng);
    for (float& v : w) v = uni(rng);
    for (float& v : bias) v = uni(rng);
    std::vector<float> xc(size_t(crop.c) * crop.h * crop.w);
    for (int ci = 0; ci < crop.c; ++ci)
        for (int iy = 0; iy < crop.h; ++iy)
            for (int ix = 0; ix < crop.w; ++ix)
                xc[(size_t(ci) * crop.h + iy) * crop.w + ix] =
                    x[(size_t(ci) * full.h + iy + top) * full.w + ix + left];
    const int oh = out_dim(full.h, 3, 1, 0, 0, 2), ow = out_dim(full.w, 3, 1, 0, 0, 1);
    const int ohc = out_dim(crop.h, 3, 1, 0, 0, 2), owc = out_dim(crop.w, 3, 1, 0, 0, 1);
    const std::vector<float> y = run_tensor_core(full, x, w, bias, nullptr, oh, ow, precision);
    const std::vector<float> yc = run_tensor_core(crop, xc, w, bias, nullptr, ohc, owc, precision);
    for (int k = 0; k < full.k; ++k)
        for (int oy = 0; oy < ohc; ++oy)
            for (int ox = 0; ox < owc; ++ox) {
                const float a = yc[(size_t(k) * ohc + oy) * owc + ox];
                const float e = y[(size_t(k) * oh + oy + top) * ow + ox + left];
                ASSERT_EQ(std::memcmp(&a, &e, sizeof(float)), 0)
                    << "k " << k << " y " << oy << " x " << ox;
            }
}

INSTANTIATE_TEST_SUITE_P(Precisions, ConvTensorCore,
                         ::testing::Values(Precision::Tf32, Precision::Bf16, Precision::Fp16),
                         [](const ::testing::TestParamInfo<Precision>& i) {
                             return std::string(precision_name(i.param));
                         });

// ---- conv_transpose ----

struct TCase {
    std::string name;
    int n, c, h, w, k, kh, kw;
    ConvTranspose2dParams p;
    bool bias = true;
};

ConvTranspose2dParams tparams(int sh, int sw, int pt, int pl, int pb, int pr, int oph, int opw,
                              int dh, int dw, int groups, Activation act = Activation::None) {
    return convt_params(sh, sw, pt, pl, pb, pr, oph, opw, dh, dw, groups, fcnrt::test::act(act));
}

// Odd sizes: output planes not a multiple of 64 pixels, K = 67 leaves a remainder
// of channels, Cg*kh*kw (20, 27, 96, 369, 12, ...) of the 16-row stages.
std::vector<TCase> tcases() {
    return {
        {"up2x2_s2", 2, 5, 7, 9, 7, 2, 2, tparams(2, 2, 0, 0, 0, 0, 0, 0, 1, 1, 1)},
        {"up4x4_s2_pad1", 1, 6, 9, 11, 67, 4, 4, tparams(2, 2, 1, 1, 1, 1, 0, 0, 1, 1, 1)},
        {"s3_pads_output_padding", 1, 3, 5, 7, 9, 3, 3,
         tparams(3, 3, 1, 0, 2, 1, 2, 1, 1, 1, 1, Activation::Relu)},
        {"dilated_s2", 1, 4, 6, 5, 5, 3, 3, tparams(2, 2, 1, 1, 1, 1, 1, 1, 2, 2, 1)},
        {"grouped_s2", 2, 6, 5, 6, 9, 3, 3, tparams(2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 3)},
        {"long_reduction_s3", 1, 41, 4, 5, 5, 3, 3, tparams(3, 3, 0, 0, 0, 0, 0, 0, 1, 1, 1)},
        {"asymmetric", 1, 4, 6, 5, 3, 3, 5,
         tparams(2, 3, 0, 2, 1, 0, 1, 0, 1, 2, 1, Activation::Relu), false},
        {"stride1", 1, 5, 8, 9, 6, 3, 3, tparams(1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1)},
    };
}

int tout_dim(int in, int k, int s, int pa, int pb, int op, int d) {
    return (in - 1) * s - pa - pb + d * (k - 1) + op + 1;
}

std::vector<float> reference_tconv(const TCase& c, std::vector<float> x, std::vector<float> w,
                                   const std::vector<float>* bias, int oh, int ow,
                                   const ConvTranspose2dParams& p) {
    std::vector<float> y(size_t(c.n) * c.k * oh * ow, 0.0f);
    reference::conv_transpose2d(make_view(x.data(), DType::F32, c.n, c.c, c.h, c.w),
                                make_view(w.data(), DType::F32, c.c, c.k / p.groups, c.kh, c.kw),
                                bias ? bias->data() : nullptr,
                                make_view(y.data(), DType::F32, c.n, c.k, oh, ow), p);
    return y;
}

std::vector<float> run_tconv_tensor_core(const TCase& c, const std::vector<float>& x,
                                         const std::vector<float>& w,
                                         const std::vector<float>& bias, int oh, int ow,
                                         Precision precision) {
    const size_t ny = size_t(c.n) * c.k * oh * ow, guard = 67;
    const float nan = std::numeric_limits<float>::quiet_NaN();
    DeviceFloats dx(x), dw(w), db(bias), dy(std::vector<float>(ny + guard, nan));
    const View wv = make_view(dw.ptr.get(), DType::F32, c.c, c.k / c.p.groups, c.kh, c.kw);
    EXPECT_TRUE(cuda::conv_transpose2d_tensor_core_applies(wv, c.p.groups));
    auto packed = cuda::pack_conv_transpose2d_weights_tensor_core(wv, c.p.groups, precision);
    cudaStream_t stream = nullptr;
    CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    cuda::conv_transpose2d_tensor_core(make_view(dx.ptr.get(), DType::F32, c.n, c.c, c.h, c.w),
                                       wv, *packed, c.bias ? db.ptr.get() : nullptr,
                                       make_view(dy.ptr.get(), DType::F32, c.n, c.k, oh, ow), c.p,
                                       stream);
    CUDA_CHECK(cudaStreamSynchronize(stream));
    CUDA_CHECK(cudaStreamDestroy(stream));
    CUDA_CHECK(cudaGetLastError());
    std::vector<float> y = dy.read();
    for (size_t i = ny; i < y.size(); ++i)
        EXPECT_TRUE(std::isnan(y[i])) << "guard element " << i - ny << " overwritten";
    y.resize(ny);
    return y;
}

class ConvTransposeTensorCore : public ConvTensorCore {};

TEST_P(ConvTransposeTensorCore, WithinDerivedBoundsOfFloat64Reference) {
    const Precision precision = GetParam();
    const double u = precision_unit_roundoff(precision), u32 = std::ldexp(1.0, -24);
    const double eta = precision == Precision::Fp16 ? std::ldexp(1.0, -25) : 0.0;
    std::mt19937 rng(4321);
    std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
    for (const TCase& c : tcases()) {
        SCOPED_TRACE(c.name + " at " + precision_name(precision));
        const auto& p = c.p;
        const int oh = tout_dim(c.h, c.kh, p.stride[0], p.pads[0], p.pads[2], p.output_padding[0],
                                p.dilation[0]);
        const int ow = tout_dim(c.w, c.kw, p.stride[1], p.pads[1], p.pads[3], p.output_padding[1],
                                p.dilation[1]);
        const int kred = c.c / p.groups * c.kh * c.kw;
        std::vector<float> x(size_t(c.n) * c.c * c.h * c.w), w(size_t(c.c) * (c.k / p.groups) * c.kh * c.kw),
            bias(c.k);
        for (float& v : x) v = uni(rng);
        for (float& v : w) v = uni(rng) * 0.5f;
        for (float& v : bias) v = uni(rng);
        const std::vector<float>* b = c.bias ? &bias : nullptr;

        const std::vector<float> exact = reference_tconv(c, x, w, b, oh, ow, p);
        ConvTranspose2dParams plain = p;
        plain.act.kind = Activation::None;
        const std::vector<float> mag = reference_tconv(c, abs_of(x), abs_of(w), nullptr, oh, ow, plain);
        const std::vector<float> on_rounded =
            reference_tconv(c, rounded(x, precision), rounded(w, precision), b, oh, ow, p);
        const std::vector<float> y = run_tconv_tensor_core(c, x, w, bias, oh, ow, precision);

        size_t distinguishing = 0;
        const size_t plane = size_t(oh) * ow;
        for (size_t i = 0; i < y.size(); ++i) {
            const size_t ch = (i / plane) % c.k;
            const double s = mag[i];
            const double extra = std::fabs(b ? bias[ch] : 0.0f);
            const double accumulation =
                2.0 * kred * u32 * s + 4.0 * u32 * (std::fabs(on_rounded[i]) + extra);
            const double rounding =
                (2 * u + u * u) * s + eta * (1 + u) * kred * 2.0 + kred * eta * eta;
            ASSERT_TRUE(std::isfinite(y[i])) << "element " << i << " not written";
            ASSERT_LE(std::fabs(double(y[i]) - on_rounded[i]), accumulation)
                << "element " << i << " vs the reference on rounded operands";
            ASSERT_LE(std::fabs(double(y[i]) - exact[i]), accumulation + rounding)
                << "element " << i << " vs the exact reference";
            distinguishing += std::fabs(double(on_rounded[i]) - exact[i]) > accumulation;
        }
        if (kred < 100) {
            EXPECT_GT(distinguishing, 0u);
        }
        EXPECT_EQ(std::memcmp(y.data(), run_tconv_tensor_core(c, x, w, bias, oh, ow, precision).data(),
                              y.size() * sizeof(float)),
                  0);
    }
}

// Cropping `top` rows and `left` columns off the input (no padding) crops top*sh
// rows and left*sw columns off the output, bitwise, wherever all the taps of an
// output pixel fall inside the crop (rows from dh*(kh-1) on).
TEST_P(ConvTransposeTensorCore, CropOfInputGivesCropOfOutputExactly) {
    const Precision precision = GetParam();
    std::mt19937 rng(77);
    std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
    TCase full{"full", 1, 7, 13, 17, 5, 4, 3, tparams(2, 3, 0, 0, 0, 0, 1, 0, 1, 1, 1)};
    const int top = 3, left = 2;
    TCase crop = full;
    crop.h -= top;
    crop.w -= left;
    std::vector<float> x(size_t(full.c) * full.h * full.w), w(size_t(full.c) * full.k * 12),
        bias(full.k);
    for (float& v : x) v = uni(rng);
    for (float& v : w) v = uni(rng);
    for (float& v : bias) v = uni(rng);
    std::vector<float> xc(size_t(crop.c) * crop.h * crop.w);
    for (int ci = 0; ci < crop.c; ++ci)
        for (int iy = 0; iy < crop.h; ++iy)
            for (int ix = 0; ix < crop.w; ++ix)
                xc[(size_t(ci) * crop.h + iy) * crop.w + ix] =
                    x[(size_t(ci) * full.h + iy + top) * full.w + ix + left];
    const int oh = tout_dim(full.h, 4, 2, 0, 0, 1, 1), ow = tout_dim(full.w, 3, 3, 0, 0, 0, 1);
    const int ohc = tout_dim(crop.h, 4, 2, 0, 0, 1, 1), owc = tout_dim(crop.w, 3, 3, 0, 0, 0, 1);
    const std::vector<float> y = run_tconv_tensor_core(full, x, w, bias, oh, ow, precision);
    const std::vector<float> yc = run_tconv_tensor_core(crop, xc, w, bias, ohc, owc, precision);
    for (int k = 0; k < full.k; ++k)
        for (int oy = 3; oy < ohc; ++oy)
            for (int ox = 2; ox < owc; ++ox) {
                const float a = yc[(size_t(k) * ohc + oy) * owc + ox];
                const float e = y[(size_t(k) * oh + oy + top * 2) * ow + ox + left * 3];
                ASSERT_EQ(std::memcmp(&a, &e, sizeof(float)), 0)
                    << "k " << k << " y " << oy << " x " << ox;
            }
}

INSTANTIATE_TEST_SUITE_P(Precisions, ConvTransposeTensorCore,
                         ::testing::Values(Precision::Tf32, Precision::Bf16, Precision::Fp16),
                         [](const ::testing::TestParamInfo<Precision>& i) {
                             return std::string(precision_name(i.param));
                         });

// ---- dense ----

struct DCase {
    std::string name;
    int n, c, h, w, out;
    int64_t x_pad;  // extra elements between batch items of x
    Activation act;
    bool bias;
};

// Batch (the kernel's pixel columns) and out (its rows) with remainders of the
// 64 x 64 tile, F of the 16-row stages; x 2-D ([N, F]) and 4-D, one with a batch
// stride larger than F.
std::vector<DCase> dcases() {
    return {
        {"head", 3, 37, 1, 1, 70, 0, Activation::Relu, true},
        {"flatten4d", 2, 5, 3, 7, 9, 0, Activation::None, true},
        {"wide_batch", 67, 19, 1, 1, 66, 5, Activation::None, false},
        {"long", 1, 601, 1, 1, 3, 0, Activation::None, true},
    };
}

std::vector<float> run_dense_tensor_core(const DCase& c, const std::vector<float>& x,
                                         const std::vector<float>& w,
                                         const std::vector<float>& bias, Precision precision) {
    const int64_t f = int64_t(c.c) * c.h * c.w;
    const size_t ny = size_t(c.n) * c.out, guard = 67;
    const float nan = std::numeric_limits<float>::quiet_NaN();
    DeviceFloats dx(x), dw(w), db(bias), dy(std::vector<float>(ny + guard, nan));
    auto packed = cuda::pack_dense_weights_tensor_core(
        make_view(dw.ptr.get(), DType::F32, c.out, f, 1, 1), precision);
    View xv = make_view(dx.ptr.get(), DType::F32, c.n, c.c, c.h, c.w);
    xv.batch_stride = f + c.x_pad;
    cudaStream_t stream = nullptr;
    CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    ActivationParams act;
    act.kind = c.act;
    cuda::dense_tensor_core(xv, *packed, c.bias ? db.ptr.get() : nullptr,
                            make_view(dy.ptr.get(), DType::F32, c.n, c.out, 1, 1), act, stream);
    CUDA_CHECK(cudaStreamSynchronize(stream));
    CUDA_CHECK(cudaStreamDestroy(stream));
    CUDA_CHECK(cudaGetLastError());
    std::vector<float> y = dy.read();
    for (size_t i = ny; i < y.size(); ++i)
        EXPECT_TRUE(std::isnan(y[i])) << "guard element " << i - ny << " overwritten";
    y.resize(ny);
    return y;
}

std::vector<float> reference_dense(const DCase& c, std::vector<float> x, std::vector<float> w,
                                   const std::vector<float>* bias, Activation act) {
    const int64_t f = int64_t(c.c) * c.h * c.w;
    std::vector<float> y(size_t(c.n) * c.out, 0.0f);
    View xv = make_view(x.data(), DType::F32, c.n, c.c, c.h, c.w);
    xv.batch_stride = f + c.x_pad;
    ActivationParams a;
    a.kind = act;
    reference::dense(xv, make_view(w.data(), DType::F32, c.out, f, 1, 1),
                     bias ? bias->data() : nullptr,
                     make_view(y.data(), DType::F32, c.n, c.out, 1, 1), a);
    return y;
}

class DenseTensorCore : public ConvTensorCore {};

TEST_P(DenseTensorCore, WithinDerivedBoundsOfFloat64Reference) {
    const Precision precision = GetParam();
    const double u = precision_unit_roundoff(precision), u32 = std::ldexp(1.0, -24);
    const double eta = precision == Precision::Fp16 ? std::ldexp(1.0, -25) : 0.0;
    std::mt19937 rng(2468);
    std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
    for (const DCase& c : dcases()) {
        SCOPED_TRACE(c.name + " at " + precision_name(precision));
        const int64_t kred = int64_t(c.c) * c.h * c.w;
        // The padding between batch items is NaN: it must never be read.
        std::vector<float> x(size_t(c.n) * (kred + c.x_pad), std::numeric_limits<float>::quiet_NaN());
        for (int i = 0; i < c.n; ++i)
            for (int64_t k = 0; k < kred; ++k) x[size_t(i) * (kred + c.x_pad) + k] = uni(rng);
        std::vector<float> w(size_t(c.out) * kred), bias(c.out);
        for (float& v : w) v = uni(rng) * 0.5f;
        for (float& v : bias) v = uni(rng);
        const std::vector<float>* b = c.bias ? &bias : nullptr;
        std::vector<float> xa = x;  // |x| keeping the NaN padding (never read)
        for (float& v : xa) v = std::fabs(v);
        const std::vector<float> exact = reference_dense(c, x, w, b, c.act);
        const std::vector<float> mag = reference_dense(c, xa, abs_of(w), nullptr, Activation::None);
        const std::vector<float> on_rounded =
            reference_dense(c, rounded(x, precision), rounded(w, precision), b, c.act);
        const std::vector<float> y = run_dense_tensor_core(c, x, w, bias, precision);
        size_t distinguishing = 0;
        for (size_t i = 0; i < y.size(); ++i) {
            const double s = mag[i];
            const double extra = std::fabs(b ? bias[i % c.out] : 0.0f);
            const double accumulation =
                2.0 * kred * u32 * s + 4.0 * u32 * (std::fabs(on_rounded[i]) + extra);
            const double rounding =
                (2 * u + u * u) * s + eta * (1 + u) * kred * 2.0 + kred * eta * eta;
            ASSERT_TRUE(std::isfinite(y[i])) << "element " << i << " not written";
            ASSERT_LE(std::fabs(double(y[i]) - on_rounded[i]), accumulation)
                << "element " << i << " vs the reference on rounded operands";
            ASSERT_LE(std::fabs(double(y[i]) - exact[i]), accumulation + rounding)
                << "element " << i << " vs the exact reference";
            distinguishing += std::fabs(double(on_rounded[i]) - exact[i]) > accumulation;
        }
        if (kred < 100) {
            EXPECT_GT(distinguishing, 0u);
        }
        EXPECT_EQ(std::memcmp(y.data(), run_dense_tensor_core(c, x, w, bias, precision).data(),
                              y.size() * sizeof(float)),
                  0);
    }
}

INSTANTIATE_TEST_SUITE_P(Precisions, DenseTensorCore,
                         ::testing::Values(Precision::Tf32, Precision::Bf16, Precision::Fp16),
                         [](const ::testing::TestParamInfo<Precision>& i) {
                             return std::string(precision_name(i.param));
                         });

// The host rounding the packing and the tests use, pinned on values whose rounding
// is known: ties (away for tf32, to even for bf16 and fp16), fp16 subnormals and
// overflow.
TEST(RoundToPrecision, MatchesTheGpuConversions) {
    const float one = 1.0f;
    EXPECT_EQ(round_to_precision(one + std::ldexp(1.0f, -11), Precision::Tf32),
              one + std::ldexp(1.0f, -10));
    EXPECT_EQ(round_to_precision(-(one + std::ldexp(1.0f, -11)), Precision::Tf32),
              -(one + std::ldexp(1.0f, -10)));
    EXPECT_EQ(round_to_precision(one + std::ldexp(1.0f, -11), Precision::Fp16),
              one);  // tie to even
    EXPECT_EQ(round_to_precision(one + 3 * std::ldexp(1.0f, -11), Precision::Fp16),
              one + std::ldexp(1.0f, -9));
    EXPECT_EQ(round_to_precision(one + std::ldexp(1.0f, -8), Precision::Bf16), one);
    EXPECT_EQ(round_to_precision(one + 3 * std::ldexp(1.0f, -8), Precision::Bf16),
              one + std::ldexp(1.0f, -6));
    EXPECT_EQ(round_to_precision(std::ldexp(1.0f, -25), Precision::Fp16), 0.0f);  // tie to even (0)
    EXPECT_EQ(round_to_precision(std::ldexp(3.0f, -26), Precision::Fp16), std::ldexp(1.0f, -24));
    EXPECT_EQ(round_to_precision(65519.0f, Precision::Fp16), 65504.0f);
    EXPECT_TRUE(std::isinf(round_to_precision(65520.0f, Precision::Fp16)));
    EXPECT_TRUE(std::isinf(round_to_precision(std::numeric_limits<float>::max(), Precision::Bf16)));
    EXPECT_EQ(round_to_precision(0.1f, Precision::Fp32), 0.1f);
    EXPECT_TRUE(
        std::isnan(round_to_precision(std::numeric_limits<float>::quiet_NaN(), Precision::Tf32)));
}

}  // namespace
}  // namespace fcnrt::test
