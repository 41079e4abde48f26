// The op case catalogue (see op_cases.h). Each family's cases are listed by a
// builder function; names spell out the attributes so a failure names its case.
#include "tests/op_cases.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <sstream>

namespace fcnrt::test {

ActivationParams act(Activation kind, float alpha) {
    ActivationParams a;
    a.kind = kind;
    a.alpha = alpha;
    return a;
}

Conv2dParams conv_params(int sh, int sw, int pt, int pl, int pb, int pr, int dh, int dw, int groups,
                         ActivationParams a) {
    Conv2dParams p;
    p.stride[0] = sh;
    p.stride[1] = sw;
    p.pads[0] = pt;
    p.pads[1] = pl;
    p.pads[2] = pb;
    p.pads[3] = pr;
    p.dilation[0] = dh;
    p.dilation[1] = dw;
    p.groups = groups;
    p.act = a;
    return p;
}

ConvTranspose2dParams convt_params(int sh, int sw, int pt, int pl, int pb, int pr, int oph, int opw,
                                   int dh, int dw, int groups, ActivationParams a) {
    ConvTranspose2dParams p;
    p.stride[0] = sh;
    p.stride[1] = sw;
    p.pads[0] = pt;
    p.pads[1] = pl;
    p.pads[2] = pb;
    p.pads[3] = pr;
    p.output_padding[0] = oph;
    p.output_padding[1] = opw;
    p.dilation[0] = dh;
    p.dilation[1] = dw;
    p.groups = groups;
    p.act = a;
    return p;
}

namespace {

// ---- deterministic random numbers -------------------------------------------------

// Uniform in [0, 1) from the top 24 bits: exactly representable, platform-independent.
float unit(std::mt19937_64& rng) {
    return static_cast<float>(rng() >> 40) * 0x1p-24f;
}

float draw(std::mt19937_64& rng, Fill fill) {
    switch (fill) {
        case Fill::Uniform: return 2.0f * unit(rng) - 1.0f;
        case Fill::Wide: return 40.0f * unit(rng) - 20.0f;
        case Fill::Integer: return static_cast<float>(static_cast<int>(rng() % 9) - 4);
        case Fill::Positive: return 0.5f + 1.5f * unit(rng);
        case Fill::Index: return 0.0f;
    }
    return 0.0f;
}

// ---- naming -----------------------------------------------------------------------

std::string dims(const TensorSpec& s) {
    std::ostringstream o;
    o << s.n << "x" << s.c << "x" << s.h << "x" << s.w;
    if (s.batch_gap) o << "+gap" << s.batch_gap;
    return o.str();
}

std::string act_name(ActivationParams a) {
    switch (a.kind) {
        case Activation::None: return "none";
        case Activation::Relu: return "relu";
        case Activation::LeakyRelu: return "leaky" + std::to_string(a.alpha).substr(0, 4);
        case Activation::Sigmoid: return "sigmoid";
        case Activation::Tanh: return "tanh";
        case Activation::HardSigmoid:
            return "hsigmoid" + std::to_string(a.alpha).substr(0, 4) + "_" + std::to_string(a.beta).substr(0, 4);
        case Activation::HardSwish: return "hswish";
    }
    return "?";
}

std::string pair(const int* v) {
    return std::to_string(v[0]) + "x" + std::to_string(v[1]);
}

std::string pads4(const int* v) {
    return std::to_string(v[0]) + "." + std::to_string(v[1]) + "." + std::to_string(v[2]) + "." +
           std::to_string(v[3]);
}

TensorSpec f32(int64_t n, int64_t c, int64_t h, int64_t w, Fill fill = Fill::Uniform,
               int64_t gap = 0) {
    TensorSpec s;
    s.n = n;
    s.c = c;
    s.h = h;
    s.w = w;
    s.fill = fill;
    s.batch_gap = gap;
    return s;
}

TensorSpec i32(int64_t n, int64_t c, int64_t h, int64_t w, int64_t gap = 0) {
    TensorSpec s = f32(n, c, h, w, Fill::Index, gap);
    s.dtype = DType::I32;
    return s;
}


// hard_sigmoid as MobileNetV3's squeeze-excitation gate (alpha 1/6, beta 1/2).
ActivationParams hard_sigmoid_act(float alpha, float beta) {
    ActivationParams a = act(Activation::HardSigmoid, alpha);
    a.beta = beta;
    return a;
}

const ActivationParams kActs[] = {act(Activation::None),        act(Activation::Relu),
                                  act(Activation::LeakyRelu, 0.2f), act(Activation::Sigmoid),
                                  act(Activation::Tanh),        hard_sigmoid_act(1.0f / 6.0f, 0.5f),
                                  act(Activation::HardSwish)};

// ---- conv2d / conv_transpose2d ------------------------------------------------------

struct ConvShape {
    int64_t n, c, h, w, k;
    int kh, kw;
};

OpCase conv_case(ConvShape s, Conv2dParams p, bool bias, Fill fill = Fill::Uniform,
                 int64_t in_gap = 0, int64_t out_gap = 0) {
    const int64_t oh =
        (s.h + p.pads[0] + p.pads[2] - p.dilation[0] * (s.kh - 1) - 1) / p.stride[0] + 1;
    const int64_t ow =
        (s.w + p.pads[1] + p.pads[3] - p.dilation[1] * (s.kw - 1) - 1) / p.stride[1] + 1;
    OpCase c;
    c.family = "conv2d";
    c.inputs = {f32(s.n, s.c, s.h, s.w, fill, in_gap), f32(s.k, s.c / p.groups, s.kh, s.kw, fill)};
    if (bias) c.inputs.push_back(f32(1, s.k, 1, 1, fill));
    c.outputs = {f32(s.n, s.k, oh, ow, Fill::Uniform, out_gap)};
    c.name = dims(c.inputs[0]) + "_k" + std::to_string(s.k) + "_" + std::to_string(s.kh) + "x" +
             std::to_string(s.kw) + "_s" + pair(p.stride) + "_p" + pads4(p.pads) + "_d" +
             pair(p.dilation) + "_g" + std::to_string(p.groups) + (bias ? "_bias_" : "_nobias_") +
             act_name(p.act) + (fill == Fill::Integer ? "_int" : "") + "_out" + dims(c.outputs[0]);
    if (fill == Fill::Integer) c.tolerance = 0.0;  // integer products and sums < 2^24: exact
    c.run = [p, bias](const KernelSet& k, const std::vector<View>& in,
                      const std::vector<View>& out) {
        k.conv2d(in[0], in[1], bias ? in[2].f32() : nullptr, out[0], p);
    };
    return c;
}

// conv_case with a residual input (the last input), batch items res_gap apart:
// y = act(float(conv + bias) + r).
OpCase conv_residual_case(ConvShape s, Conv2dParams p, bool bias, Fill fill = Fill::Uniform,
                          int64_t in_gap = 0, int64_t out_gap = 0, int64_t res_gap = 0) {
    OpCase c = conv_case(s, p, bias, fill, in_gap, out_gap);
    const TensorSpec y = c.outputs[0];
    c.inputs.push_back(f32(y.n, y.c, y.h, y.w, fill, res_gap));
    c.name += "_res" + dims(c.inputs.back());
    c.run = [p, bias](const KernelSet& k, const std::vector<View>& in,
                      const std::vector<View>& out) {
        Conv2dParams q = p;
        q.residual = in.back();
        k.conv2d(in[0], in[1], bias ? in[2].f32() : nullptr, out[0], q);
    };
    return c;
}


std::vector<OpCase> conv2d_cases() {
    const auto none = act(Activation::None), relu = act(Activation::Relu);
    const auto leaky = act(Activation::LeakyRelu, 0.2f), sigm = act(Activation::Sigmoid);
    const auto tanh_ = act(Activation::Tanh);
    std::vector<OpCase> v;
    // 1x1 stride 1 unpadded: the no-im2col path, and its near misses.
    v.push_back(
        conv_case({2, 17, 33, 127, 5, 1, 1}, conv_params(1, 1, 0, 0, 0, 0, 1, 1, 1, relu), true));
    v.push_back(
        conv_case({1, 5, 7, 33, 3, 1, 1}, conv_params(2, 2, 0, 0, 0, 0, 1, 1, 1, none), false));
    v.push_back(
        conv_case({1, 3, 7, 7, 5, 1, 1}, conv_params(1, 1, 1, 0, 0, 1, 1, 1, 1, none), true));
    v.push_back(
        conv_case({2, 6, 33, 7, 4, 1, 1}, conv_params(1, 1, 0, 0, 0, 0, 1, 1, 2, leaky), true));
    // 3x3, every activation, strides 1-3, asymmetric pads.
    v.push_back(
        conv_case({1, 17, 127, 127, 17, 3, 3}, conv_params(1, 1, 1, 1, 1, 1, 1, 1, 1, none), true));
    v.push_back(
        conv_case({2, 5, 33, 7, 3, 3, 3}, conv_params(2, 2, 0, 1, 2, 1, 1, 1, 1, leaky), true));
    v.push_back(
        conv_case({1, 3, 127, 33, 5, 3, 3}, conv_params(3, 3, 2, 2, 2, 2, 2, 2, 1, sigm), true));
    v.push_back(
        conv_case({1, 5, 33, 127, 5, 3, 3}, conv_params(1, 3, 1, 0, 0, 2, 1, 1, 1, tanh_), false));
    v.push_back(
        conv_case({1, 5, 7, 127, 3, 3, 3}, conv_params(3, 1, 2, 1, 0, 1, 1, 1, 1, relu), true));
    // Large dilations (dense conversion of strided nets).
    v.push_back(conv_case({1, 3, 33, 33, 5, 3, 3},
                          conv_params(1, 1, 16, 16, 16, 16, 16, 16, 1, tanh_), true));
    v.push_back(conv_case({1, 5, 127, 127, 5, 3, 3},
                          conv_params(1, 1, 16, 4, 16, 4, 16, 4, 1, relu), true));
    v.push_back(
        conv_case({1, 5, 33, 33, 3, 2, 2}, conv_params(1, 1, 0, 0, 0, 0, 16, 16, 1, none), true));
    v.push_back(
        conv_case({1, 3, 127, 33, 3, 3, 3}, conv_params(2, 1, 0, 0, 0, 0, 8, 1, 1, leaky), true));
    // Groups, depthwise, channel multiplier.
    v.push_back(
        conv_case({2, 10, 33, 7, 15, 3, 3}, conv_params(1, 1, 1, 1, 1, 1, 1, 1, 5, relu), true));
    v.push_back(
        conv_case({1, 6, 33, 33, 9, 3, 3}, conv_params(2, 2, 1, 0, 1, 2, 2, 2, 3, none), false));
    v.push_back(conv_case({1, 17, 127, 127, 17, 3, 3},
                          conv_params(1, 1, 1, 1, 1, 1, 1, 1, 17, relu), true));
    v.push_back(
        conv_case({2, 5, 33, 7, 5, 3, 3}, conv_params(2, 3, 0, 1, 2, 1, 3, 1, 5, leaky), true));
    v.push_back(conv_case({1, 3, 33, 33, 3, 3, 3},
                          conv_params(1, 1, 16, 16, 16, 16, 16, 16, 3, sigm), false));
    v.push_back(
        conv_case({1, 5, 7, 33, 10, 3, 3}, conv_params(1, 2, 1, 1, 1, 1, 1, 2, 5, none), true));
    v.push_back(
        conv_case({1, 1, 33, 127, 1, 5, 5}, conv_params(1, 1, 2, 2, 2, 2, 1, 1, 1, none), true));
    // The direct kernel's strided and wide rows: depthwise 5x5 stride 2 (MobileNetV3),
    // dilated 5x5 (DeepLabV3's last stage), a one-channel first layer with 7 outputs.
    v.push_back(conv_case({1, 7, 37, 133, 7, 5, 5}, conv_params(2, 2, 2, 2, 2, 2, 1, 1, 7, relu),
                          true));
    v.push_back(conv_case({2, 5, 29, 71, 5, 5, 5}, conv_params(1, 1, 4, 4, 4, 4, 2, 2, 5, none),
                          false));
    v.push_back(conv_case({1, 1, 31, 97, 7, 3, 3}, conv_params(1, 1, 1, 1, 1, 1, 1, 1, 1, leaky),
                          true));
    // MobileNetV3's fused activations: hard_swish after depthwise 3x3 and 5x5 s2 (direct
    // padded rows) and 1x1 (GEMM, without a bias: the epilogue must not add 0), hard_sigmoid
    // after the squeeze-excitation's 1x1 conv on a 1x1 map; a residual with hard_swish.
    const auto hswish = act(Activation::HardSwish), hsig = hard_sigmoid_act(1.0f / 6.0f, 0.5f);
    v.push_back(conv_case({1, 17, 33, 41, 17, 3, 3}, conv_params(1, 1, 1, 1, 1, 1, 1, 1, 17, hswish),
                          true));
    v.push_back(conv_case({2, 5, 37, 23, 5, 5, 5}, conv_params(2, 2, 2, 2, 2, 2, 1, 1, 5, hswish),
                          false, Fill::Wide));
    v.push_back(conv_case({2, 16, 13, 11, 24, 1, 1}, conv_params(1, 1, 0, 0, 0, 0, 1, 1, 1, hswish),
                          false, Fill::Wide));
    v.push_back(conv_case({2, 24, 1, 1, 72, 1, 1}, conv_params(1, 1, 0, 0, 0, 0, 1, 1, 1, hsig),
                          true));
    v.push_back(conv_case({1, 7, 9, 13, 11, 3, 3},
                          conv_params(1, 1, 1, 1, 1, 1, 1, 1, 1, hard_sigmoid_act(0.2f, 0.25f)), true));
    v.push_back(conv_residual_case({1, 8, 19, 37, 8, 3, 3},
                                   conv_params(1, 1, 1, 1, 1, 1, 1, 1, 8, hswish), true, Fill::Wide));
    // Reductions over several of the GEMM's kc blocks (kc 256 on AVX2 and portable, 192 on
    // AVX-512), a block starting mid-channel, tiles across output rows and on the padding.
    v.push_back(conv_case({1, 37, 29, 45, 13, 3, 3}, conv_params(1, 1, 1, 1, 1, 1, 1, 1, 1, relu),
                          true));
    v.push_back(conv_case({1, 40, 21, 70, 7, 3, 3}, conv_params(1, 1, 2, 4, 2, 4, 2, 4, 1, none),
                          false));
    v.push_back(conv_residual_case({1, 30, 19, 37, 8, 3, 3},
                                   conv_params(1, 1, 1, 1, 1, 1, 1, 1, 1, leaky), true));
    // Over 512 output channels per group: the GEMM's channel chunks (conv_gemm_chunk_rows).
    v.push_back(conv_case({1, 3, 9, 21, 1033, 3, 3}, conv_params(1, 1, 1, 1, 1, 1, 1, 1, 1, relu),
                          true));
    v.push_back(conv_residual_case({2, 4, 7, 11, 1100, 1, 1},
                                   conv_params(1, 1, 0, 0, 0, 0, 1, 1, 2, none), true));
    // Non-square kernels, degenerate images.
    v.push_back(
        conv_case({1, 5, 33, 33, 3, 1, 7}, conv_params(1, 1, 0, 3, 0, 3, 1, 1, 1, relu), true));
    v.push_back(
        conv_case({1, 5, 33, 33, 3, 7, 1}, conv_params(1, 1, 3, 0, 3, 0, 2, 1, 1, none), true));
    v.push_back(
        conv_case({2, 3, 1, 1, 5, 3, 3}, conv_params(1, 1, 1, 1, 1, 1, 1, 1, 1, relu), true));
    v.push_back(
        conv_case({1, 3, 1, 127, 5, 1, 3}, conv_params(1, 2, 0, 1, 0, 1, 1, 1, 1, none), true));
    v.push_back(
        conv_case({1, 3, 127, 1, 5, 3, 1}, conv_params(2, 1, 1, 0, 1, 0, 3, 1, 1, none), true));
    v.push_back(
        conv_case({1, 3, 7, 7, 5, 7, 7}, conv_params(1, 1, 0, 0, 0, 0, 1, 1, 1, none), true));
    // Strided batch input and output (concat slices), integer-valued (exact).
    v.push_back(conv_case({3, 5, 7, 33, 3, 3, 3}, conv_params(1, 1, 1, 1, 1, 1, 1, 1, 1, relu),
                          true, Fill::Uniform, 11, 2 * 7 * 33));
    v.push_back(conv_case({3, 17, 33, 7, 5, 1, 1}, conv_params(1, 1, 0, 0, 0, 0, 1, 1, 1, none),
                          true, Fill::Integer, 5, 3 * 33 * 7));
    v.push_back(conv_case({2, 17, 33, 33, 5, 3, 3}, conv_params(2, 1, 1, 1, 0, 0, 2, 1, 1, relu),
                          true, Fill::Integer, 0, 17));
    v.push_back(conv_case({2, 5, 33, 33, 5, 3, 3}, conv_params(1, 1, 1, 1, 1, 1, 1, 1, 5, none),
                          false, Fill::Integer, 3, 5 * 33 * 33));
    // Residual (a fused add): GEMM, 1x1 and depthwise paths, strided batches.
    v.push_back(conv_residual_case({2, 5, 33, 7, 3, 3, 3},
                                   conv_params(1, 1, 1, 1, 1, 1, 1, 1, 1, relu), true,
                                   Fill::Uniform, 3, 5, 7));
    v.push_back(conv_residual_case({1, 17, 33, 127, 17, 3, 3},
                                   conv_params(2, 2, 1, 0, 1, 2, 1, 1, 1, none), false));
    v.push_back(conv_residual_case({2, 17, 33, 127, 5, 1, 1},
                                   conv_params(1, 1, 0, 0, 0, 0, 1, 1, 1, leaky), true,
                                   Fill::Uniform, 0, 11, 2));
    v.push_back(conv_residual_case({2, 6, 7, 33, 4, 1, 1},
                                   conv_params(1, 1, 0, 0, 0, 0, 1, 1, 2, sigm), false,
                                   Fill::Uniform, 1, 0, 9));
    v.push_back(conv_residual_case({2, 17, 33, 7, 17, 3, 3},
                                   conv_params(1, 1, 1, 1, 1, 1, 1, 1, 17, relu), true,
                                   Fill::Uniform, 2, 3, 5));
    v.push_back(conv_residual_case({1, 5, 33, 33, 10, 3, 3},
                                   conv_params(2, 1, 2, 1, 0, 1, 2, 1, 5, tanh_), true));
    v.push_back(conv_residual_case({2, 5, 7, 33, 3, 3, 3},
                                   conv_params(1, 2, 1, 1, 1, 1, 1, 1, 1, relu), true,
                                   Fill::Integer, 4, 2, 6));
    v.push_back(conv_residual_case({2, 3, 7, 7, 3, 3, 3},
                                   conv_params(1, 1, 1, 1, 1, 1, 1, 1, 3, none), false,
                                   Fill::Integer, 0, 1, 3));
    return v;
}

OpCase conv_transpose_case(ConvShape s, ConvTranspose2dParams p, bool bias,
                           Fill fill = Fill::Uniform, int64_t in_gap = 0, int64_t out_gap = 0) {
    const int64_t oh = (s.h - 1) * p.stride[0] - p.pads[0] - p.pads[2] +
                       p.dilation[0] * (s.kh - 1) + p.output_padding[0] + 1;
    const int64_t ow = (s.w - 1) * p.stride[1] - p.pads[1] - p.pads[3] +
                       p.dilation[1] * (s.kw - 1) + p.output_padding[1] + 1;
    OpCase c;
    c.family = "conv_transpose2d";
    c.inputs = {f32(s.n, s.c, s.h, s.w, fill, in_gap), f32(s.c, s.k / p.groups, s.kh, s.kw, fill)};
    if (bias) c.inputs.push_back(f32(1, s.k, 1, 1, fill));
    c.outputs = {f32(s.n, s.k, oh, ow, Fill::Uniform, out_gap)};
    c.name = dims(c.inputs[0]) + "_k" + std::to_string(s.k) + "_" + std::to_string(s.kh) + "x" +
             std::to_string(s.kw) + "_s" + pair(p.stride) + "_p" + pads4(p.pads) + "_op" +
             pair(p.output_padding) + "_d" + pair(p.dilation) + "_g" + std::to_string(p.groups) +
             (bias ? "_bias_" : "_nobias_") + act_name(p.act) +
             (fill == Fill::Integer ? "_int" : "") + "_out" + dims(c.outputs[0]);
    if (fill == Fill::Integer) c.tolerance = 0.0;  // integer products and sums < 2^24: exact
    c.run = [p, bias](const KernelSet& k, const std::vector<View>& in,
                      const std::vector<View>& out) {
        k.conv_transpose2d(in[0], in[1], bias ? in[2].f32() : nullptr, out[0], p);
    };
    return c;
}


std::vector<OpCase> conv_transpose2d_cases() {
    const auto none = act(Activation::None), relu = act(Activation::Relu);
    const auto leaky = act(Activation::LeakyRelu, 0.2f), sigm = act(Activation::Sigmoid);
    const auto tanh_ = act(Activation::Tanh);
    std::vector<OpCase> v;
    v.push_back(conv_transpose_case({1, 17, 33, 33, 5, 2, 2},
                                    convt_params(2, 2, 0, 0, 0, 0, 0, 0, 1, 1, 1, none), true));
    v.push_back(conv_transpose_case({2, 5, 7, 33, 3, 3, 3},
                                    convt_params(2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, relu), true));
    v.push_back(conv_transpose_case({1, 3, 33, 7, 5, 4, 4},
                                    convt_params(3, 3, 1, 0, 2, 1, 2, 1, 1, 1, 1, leaky), false));
    v.push_back(conv_transpose_case({1, 5, 7, 7, 3, 3, 3},
                                    convt_params(1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, sigm), true));
    v.push_back(conv_transpose_case({1, 5, 33, 33, 5, 3, 3},
                                    convt_params(1, 1, 1, 1, 1, 1, 0, 0, 2, 2, 1, tanh_), true));
    v.push_back(conv_transpose_case({1, 3, 7, 33, 3, 3, 3},
                                    convt_params(2, 3, 2, 0, 1, 3, 1, 0, 3, 2, 1, none), true));
    v.push_back(conv_transpose_case({1, 3, 7, 7, 5, 3, 3},
                                    convt_params(1, 1, 0, 0, 0, 0, 3, 3, 16, 16, 1, relu), true));
    v.push_back(conv_transpose_case({2, 6, 7, 33, 10, 3, 3},
                                    convt_params(2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 2, relu), true));
    v.push_back(conv_transpose_case({1, 17, 33, 33, 17, 4, 4},
                                    convt_params(2, 2, 1, 1, 1, 1, 0, 0, 1, 1, 17, none), true));
    v.push_back(conv_transpose_case({1, 5, 33, 7, 10, 3, 3},
                                    convt_params(3, 2, 0, 1, 2, 0, 0, 1, 1, 1, 5, leaky), false));
    v.push_back(conv_transpose_case({2, 3, 1, 1, 5, 3, 3},
                                    convt_params(2, 2, 0, 0, 0, 0, 1, 1, 1, 1, 1, none), true));
    v.push_back(conv_transpose_case({1, 3, 1, 127, 3, 1, 3},
                                    convt_params(1, 2, 0, 1, 0, 0, 0, 1, 1, 1, 1, none), true));
    v.push_back(conv_transpose_case({1, 17, 127, 127, 5, 2, 2},
                                    convt_params(2, 2, 0, 0, 0, 0, 0, 0, 1, 1, 1, relu), true));
    v.push_back(conv_transpose_case({1, 17, 127, 33, 17, 3, 3},
                                    convt_params(1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, none), true));
    v.push_back(conv_transpose_case({3, 5, 7, 33, 3, 3, 3},
                                    convt_params(2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, relu), true,
                                    Fill::Integer, 7, 4 * 14 * 66));
    v.push_back(conv_transpose_case({2, 4, 33, 7, 6, 5, 3},
                                    convt_params(3, 1, 2, 1, 0, 1, 2, 0, 2, 3, 2, none), true,
                                    Fill::Integer, 0, 13));
    return v;
}

// ---- pooling -------------------------------------------------------------------------

int64_t pool_out(int64_t in, int k, int s, int pa, int pb, int d, bool ceil_mode) {
    const int64_t num = in + pa + pb - static_cast<int64_t>(d) * (k - 1) - 1;
    int64_t out = (ceil_mode ? (num + s - 1) / s : num / s) + 1;
    if (ceil_mode && (out - 1) * s >= in + pa) --out;  // the last window must start inside
    return out;
}

Pool2dParams pool_params(int kh, int kw, int sh, int sw, int pt, int pl, int pb, int pr, int dh,
                         int dw, bool ceil_mode, bool include_pad = false) {
    Pool2dParams p;
    p.kernel[0] = kh;
    p.kernel[1] = kw;
    p.stride[0] = sh;
    p.stride[1] = sw;
    p.pads[0] = pt;
    p.pads[1] = pl;
    p.pads[2] = pb;
    p.pads[3] = pr;
    p.dilation[0] = dh;
    p.dilation[1] = dw;
    p.ceil_mode = ceil_mode;
    p.count_include_pad = include_pad;
    return p;
}

std::string pool_name(const TensorSpec& x, const Pool2dParams& p) {
    return dims(x) + "_k" + pair(p.kernel) + "_s" + pair(p.stride) + "_p" + pads4(p.pads) + "_d" +
           pair(p.dilation) + (p.ceil_mode ? "_ceil" : "_floor");
}

OpCase max_pool_case(TensorSpec x, Pool2dParams p, bool indices, int64_t out_gap = 0) {
    const int64_t oh =
        pool_out(x.h, p.kernel[0], p.stride[0], p.pads[0], p.pads[2], p.dilation[0], p.ceil_mode);
    const int64_t ow =
        pool_out(x.w, p.kernel[1], p.stride[1], p.pads[1], p.pads[3], p.dilation[1], p.ceil_mode);
    OpCase c;
    c.family = "max_pool2d";
    c.inputs = {x};
    c.outputs = {f32(x.n, x.c, oh, ow, Fill::Uniform, out_gap)};
    if (indices) c.outputs.push_back(i32(x.n, x.c, oh, ow, out_gap));
    c.name = pool_name(x, p) + (indices ? (p.flat_indices ? "_flatindices" : "_indices") : "") +
             (x.nan_fraction > 0 ? "_nan" : "") + "_out" + dims(c.outputs[0]);
    c.tolerance = 0.0;  // selects an input element: exact
    c.run = [p, indices](const KernelSet& k, const std::vector<View>& in,
                         const std::vector<View>& out) {
        k.max_pool2d(in[0], out[0], indices ? out[1] : View{}, p);
    };
    return c;
}

OpCase avg_pool_case(TensorSpec x, Pool2dParams p, int64_t out_gap = 0) {
    const int64_t oh =
        pool_out(x.h, p.kernel[0], p.stride[0], p.pads[0], p.pads[2], p.dilation[0], p.ceil_mode);
    const int64_t ow =
        pool_out(x.w, p.kernel[1], p.stride[1], p.pads[1], p.pads[3], p.dilation[1], p.ceil_mode);
    OpCase c;
    c.family = "avg_pool2d";
    c.inputs = {x};
    c.outputs = {f32(x.n, x.c, oh, ow, Fill::Uniform, out_gap)};
    c.name = pool_name(x, p) + (p.count_include_pad ? "_withpad" : "_nopad") + "_out" +
             dims(c.outputs[0]);
    c.run = [p](const KernelSet& k, const std::vector<View>& in, const std::vector<View>& out) {
        k.avg_pool2d(in[0], out[0], p);
    };
    return c;
}

std::vector<OpCase> max_pool2d_cases() {
    std::vector<OpCase> v;
    TensorSpec nan_x = f32(2, 3, 33, 33);
    nan_x.nan_fraction = 0.05;
    TensorSpec int_x = f32(1, 5, 33, 7, Fill::Integer);  // ties: the first maximum wins
    v.push_back(
        max_pool_case(f32(2, 3, 7, 33), pool_params(2, 2, 2, 2, 0, 0, 0, 0, 1, 1, false), true));
    v.push_back(
        max_pool_case(f32(1, 5, 33, 33), pool_params(3, 3, 2, 2, 1, 1, 1, 1, 1, 1, true), true));
    v.push_back(
        max_pool_case(f32(1, 3, 127, 7), pool_params(2, 2, 3, 3, 0, 0, 0, 0, 1, 1, true), true));
    v.push_back(
        max_pool_case(f32(1, 3, 33, 127), pool_params(3, 3, 1, 1, 1, 0, 1, 1, 2, 2, false), true));
    v.push_back(
        max_pool_case(f32(2, 5, 33, 33), pool_params(3, 2, 2, 1, 1, 1, 0, 0, 1, 3, true), false));
    v.push_back(
        max_pool_case(f32(1, 3, 33, 33), pool_params(2, 2, 1, 1, 0, 0, 0, 0, 16, 16, false), true));
    v.push_back(max_pool_case(f32(1, 17, 127, 127),
                              pool_params(3, 3, 1, 1, 1, 1, 1, 1, 1, 1, false), true));
    v.push_back(
        max_pool_case(f32(2, 3, 1, 1), pool_params(3, 3, 1, 1, 1, 1, 1, 1, 1, 1, false), true));
    // H = 1 with dilation 2 and pad 1: the windows of row 0 hold no input element.
    v.push_back(
        max_pool_case(f32(1, 3, 1, 7), pool_params(2, 2, 1, 1, 1, 1, 1, 1, 2, 2, false), true));
    v.push_back(max_pool_case(nan_x, pool_params(3, 3, 1, 2, 1, 1, 1, 1, 1, 1, true), true));
    v.push_back(max_pool_case(int_x, pool_params(3, 3, 2, 2, 1, 1, 1, 1, 1, 1, false), true));
    v.push_back(max_pool_case(f32(3, 5, 7, 33, Fill::Uniform, 9),
                              pool_params(2, 3, 2, 3, 1, 0, 0, 1, 1, 1, true), true, 4 * 4 * 12));
    // Flat indices (ONNX's, ((n*C + c)*H + h)*W + w): batch and channels > 1, batch gaps in
    // x and the outputs (the offset is over the logical N*C*H*W, not the strides), padding,
    // dilation, ties, NaN and a window wholly in the padding.
    auto flat = [](Pool2dParams p) {
        p.flat_indices = true;
        return p;
    };
    v.push_back(max_pool_case(f32(3, 5, 7, 33, Fill::Uniform, 9),
                              flat(pool_params(2, 3, 2, 3, 1, 0, 0, 1, 1, 1, true)), true,
                              4 * 4 * 12));
    v.push_back(max_pool_case(f32(2, 3, 33, 33),
                              flat(pool_params(3, 3, 2, 2, 1, 1, 1, 1, 2, 2, false)), true));
    v.push_back(max_pool_case(f32(2, 5, 33, 7, Fill::Integer),
                              flat(pool_params(3, 3, 2, 2, 1, 1, 1, 1, 1, 1, false)), true));
    v.push_back(max_pool_case(nan_x, flat(pool_params(3, 3, 1, 2, 1, 1, 1, 1, 1, 1, true)), true));
    v.push_back(max_pool_case(f32(2, 3, 1, 7),
                              flat(pool_params(2, 2, 1, 1, 1, 1, 1, 1, 2, 2, false)), true));
    // Values only (a separate loop from the indexed one), the common windows (2x2
    // s2, 3x3 s1 and s2): odd sizes, padding on either side, ceil_mode's short
    // last windows, NaN, ties, batch gaps, widths below and above a vector's.
    for (TensorSpec x : {f32(2, 3, 33, 67), f32(1, 5, 7, 5), nan_x, int_x,
                         f32(3, 5, 9, 35, Fill::Uniform, 9)}) {
        v.push_back(max_pool_case(x, pool_params(2, 2, 2, 2, 0, 0, 0, 0, 1, 1, false), false));
        v.push_back(max_pool_case(x, pool_params(2, 2, 2, 2, 1, 1, 0, 0, 1, 1, true), false));
        v.push_back(max_pool_case(x, pool_params(3, 3, 1, 1, 1, 1, 1, 1, 1, 1, false), false));
        v.push_back(max_pool_case(x, pool_params(3, 3, 1, 1, 0, 2, 0, 1, 1, 1, false), false));
        v.push_back(max_pool_case(x, pool_params(3, 3, 2, 2, 1, 1, 1, 1, 1, 1, true), false));
    }
    // The whole-plane 2x2 stride-2 kernel (values only, every window in bounds):
    // output widths 1, 4 to 8 (the 4-lane form, its overlapping last vector),
    // 14 and 5 (the patch net's pools), odd input sizes (the last row and
    // column unread), NaN, ties and batch gaps.
    TensorSpec nan_small = f32(2, 3, 11, 13);
    nan_small.nan_fraction = 0.1;
    for (TensorSpec x : {f32(1, 20, 28, 28), f32(1, 80, 10, 10), f32(2, 3, 9, 17), f32(1, 2, 6, 12),
                         f32(1, 3, 4, 8), f32(2, 3, 5, 3), f32(1, 4, 7, 15, Fill::Integer),
                         f32(3, 2, 8, 10, Fill::Uniform, 7), nan_small})
        v.push_back(max_pool_case(x, pool_params(2, 2, 2, 2, 0, 0, 0, 0, 1, 1, false), false));
    return v;
}

std::vector<OpCase> avg_pool2d_cases() {
    std::vector<OpCase> v;
    for (bool include_pad : {false, true}) {
        v.push_back(avg_pool_case(f32(2, 3, 7, 33),
                                  pool_params(2, 2, 2, 2, 0, 0, 0, 0, 1, 1, false, include_pad)));
        v.push_back(avg_pool_case(f32(1, 5, 33, 33),
                                  pool_params(3, 3, 2, 2, 1, 1, 1, 1, 1, 1, true, include_pad)));
        // ceil_mode: the last window hangs past the bottom/right edge.
        v.push_back(avg_pool_case(f32(1, 3, 7, 7),
                                  pool_params(2, 2, 2, 2, 0, 0, 0, 0, 1, 1, true, include_pad)));
        v.push_back(avg_pool_case(f32(1, 3, 127, 33),
                                  pool_params(3, 2, 3, 2, 1, 0, 0, 1, 1, 1, true, include_pad)));
        v.push_back(avg_pool_case(f32(1, 3, 33, 127),
                                  pool_params(3, 3, 1, 1, 1, 1, 1, 1, 2, 2, false, include_pad)));
        v.push_back(avg_pool_case(f32(1, 3, 33, 33),
                                  pool_params(3, 3, 2, 2, 1, 1, 1, 1, 3, 2, true, include_pad)));
        v.push_back(avg_pool_case(f32(1, 17, 127, 127),
                                  pool_params(5, 5, 1, 1, 2, 2, 2, 2, 1, 1, false, include_pad)));
        v.push_back(avg_pool_case(f32(2, 3, 1, 1),
                                  pool_params(3, 3, 1, 1, 1, 1, 1, 1, 1, 1, false, include_pad)));
        v.push_back(avg_pool_case(f32(1, 3, 1, 7),
                                  pool_params(2, 2, 1, 1, 1, 1, 1, 1, 2, 2, false, include_pad)));
        // Dilated and ceil_mode: the last windows hang past the edge (divisor k*k).
        v.push_back(avg_pool_case(f32(1, 3, 7, 33),
                                  pool_params(2, 3, 2, 3, 0, 0, 0, 0, 3, 2, true, include_pad)));
        v.push_back(avg_pool_case(f32(3, 5, 7, 33, Fill::Uniform, 9),
                                  pool_params(2, 3, 2, 3, 1, 0, 0, 1, 1, 1, true, include_pad),
                                  4 * 4 * 12));
        // The common windows (2x2 s2, 3x3 s1), odd sizes, padding on either side.
        for (TensorSpec x : {f32(2, 3, 33, 67), f32(1, 5, 7, 5)}) {
            v.push_back(
                avg_pool_case(x, pool_params(2, 2, 2, 2, 1, 1, 0, 0, 1, 1, true, include_pad)));
            v.push_back(
                avg_pool_case(x, pool_params(3, 3, 1, 1, 1, 1, 1, 1, 1, 1, false, include_pad)));
            v.push_back(
                avg_pool_case(x, pool_params(3, 3, 1, 1, 0, 2, 0, 1, 1, 1, false, include_pad)));
        }
    }
    return v;
}

std::vector<OpCase> global_avg_pool_cases() {
    std::vector<OpCase> v;
    for (TensorSpec x : {f32(2, 17, 127, 127), f32(3, 5, 1, 1), f32(1, 3, 33, 7),
                         f32(2, 5, 7, 127, Fill::Uniform, 13)}) {
        OpCase c;
        c.family = "global_avg_pool";
        c.inputs = {x};
        c.outputs = {f32(x.n, x.c, 1, 1, Fill::Uniform, 3)};
        c.name = dims(x);
        c.run = [](const KernelSet& k, const std::vector<View>& in, const std::vector<View>& out) {
            k.global_avg_pool(in[0], out[0]);
        };
        v.push_back(c);
    }
    return v;
}

std::vector<OpCase> max_unpool2d_cases() {
    std::vector<OpCase> v;
    struct Shape {
        int64_t n, c, h, w, oh, ow, gap;
    };
    for (Shape s : {Shape{2, 3, 7, 33, 14, 66, 0}, Shape{1, 5, 33, 33, 65, 66, 17},
                    Shape{1, 3, 1, 1, 2, 2, 0}, Shape{2, 17, 33, 7, 33, 7, 0}}) {
        OpCase c;
        c.family = "max_unpool2d";
        c.inputs = {f32(s.n, s.c, s.h, s.w), i32(s.n, s.c, s.h, s.w, 2)};
        c.outputs = {f32(s.n, s.c, s.oh, s.ow, Fill::Uniform, s.gap)};
        c.name = dims(c.inputs[0]) + "_out" + dims(c.outputs[0]);
        c.tolerance = 0.0;
        const int64_t plane = s.oh * s.ow;
        // Distinct indices per plane (a partial shuffle), a few of them out of range.
        c.prepare = [plane](std::mt19937_64& rng, const std::vector<View>& in) {
            const View& idx = in[1];
            std::vector<int32_t> pool(plane);
            for (int64_t n = 0; n < idx.n; ++n) {
                for (int64_t ch = 0; ch < idx.c; ++ch) {
                    for (int64_t i = 0; i < plane; ++i) pool[i] = static_cast<int32_t>(i);
                    int32_t* dst = idx.i32() + idx.offset(n, ch, 0, 0);
                    for (int64_t i = 0; i < idx.hw(); ++i) {
                        const int64_t j = i + static_cast<int64_t>(rng() % (plane - i));
                        std::swap(pool[i], pool[j]);
                        const uint64_t r = rng() % 16;
                        dst[i] = r == 0   ? -1 - static_cast<int32_t>(rng() % 3)
                                 : r == 1 ? static_cast<int32_t>(plane + rng() % 3)
                                          : pool[i];
                    }
                }
            }
        };
        c.run = [](const KernelSet& k, const std::vector<View>& in, const std::vector<View>& out) {
            k.max_unpool2d(in[0], in[1], out[0]);
        };
        v.push_back(c);
    }
    return v;
}

// ---- elementwise -------------------------------------------------------------------

std::vector<OpCase> activation_cases() {
    std::vector<OpCase> v;
    for (ActivationParams a : kActs) {
        for (int variant = 0; variant < 3; ++variant) {
            OpCase c;
            c.family = "activation";
            // 0: strided in and out, wide range; 1: in place, large (threaded); 2: NaNs.
            TensorSpec x = variant == 0   ? f32(3, 5, 33, 7, Fill::Wide, 7)
                           : variant == 1 ? f32(1, 17, 127, 127)
                                          : f32(2, 3, 7, 33);
            if (variant == 2) x.nan_fraction = 0.1;
            TensorSpec y = f32(x.n, x.c, x.h, x.w, Fill::Uniform, variant == 0 ? 33 : 0);
            if (variant == 1) y.alias_input = 0;
            c.inputs = {x};
            c.outputs = {y};
            c.name = act_name(a) + "_" + dims(x) + (variant == 1 ? "_inplace" : "") +
                     (variant == 2 ? "_nan" : "") + "_out" + dims(y);
            c.run = [a](const KernelSet& k, const std::vector<View>& in,
                        const std::vector<View>& out) { k.activation(in[0], out[0], a); };
            v.push_back(c);
        }
    }
    return v;
}

// hard_sigmoid (ONNX's alpha, beta) and hard_swish: strided, in place, NaNs,
// and values across both clamps.
std::vector<OpCase> hard_activation_cases() {
    std::vector<OpCase> v;
    const std::pair<float, float> sigmoid_params[] = {{0.2f, 0.5f}, {1.0f / 6.0f, 0.5f}, {0.7f, -0.1f}};
    for (int variant = 0; variant < 3; ++variant) {
        TensorSpec x = variant == 0   ? f32(3, 5, 33, 7, Fill::Wide, 7)
                       : variant == 1 ? f32(1, 17, 127, 127, Fill::Wide)
                                      : f32(2, 3, 7, 33, Fill::Wide);
        if (variant == 2) x.nan_fraction = 0.1;
        TensorSpec y = f32(x.n, x.c, x.h, x.w, Fill::Uniform, variant == 0 ? 33 : 0);
        if (variant == 1) y.alias_input = 0;
        const std::string suffix = "_" + dims(x) + (variant == 1 ? "_inplace" : "") +
                                   (variant == 2 ? "_nan" : "") + "_out" + dims(y);
        OpCase hs;
        hs.family = "hard_sigmoid";
        hs.inputs = {x};
        hs.outputs = {y};
        const auto [alpha, beta] = sigmoid_params[variant];
        hs.name = "alpha" + std::to_string(alpha) + "_beta" + std::to_string(beta) + suffix;
        hs.run = [alpha = alpha, beta = beta](const KernelSet& k, const std::vector<View>& in,
                                              const std::vector<View>& out) {
            k.hard_sigmoid(in[0], out[0], alpha, beta);
        };
        v.push_back(hs);
        OpCase sw;
        sw.family = "hard_swish";
        sw.inputs = {x};
        sw.outputs = {y};
        sw.name = "hard_swish" + suffix;
        sw.run = [](const KernelSet& k, const std::vector<View>& in, const std::vector<View>& out) {
            k.hard_swish(in[0], out[0]);
        };
        v.push_back(sw);
    }
    return v;
}

// prelu (per-channel slope, a scalar slope, slopes read from device memory as
// an input tensor), elu (alphas 1, 0.3) and gelu (erf and tanh forms): strided,
// in place, NaNs, wide values (exp and erf saturate, tiny negatives).
std::vector<OpCase> prelu_elu_gelu_cases() {
    std::vector<OpCase> v;
    for (int variant = 0; variant < 3; ++variant) {
        TensorSpec x = variant == 0   ? f32(3, 5, 33, 7, Fill::Wide, 7)
                       : variant == 1 ? f32(1, 17, 127, 127, Fill::Wide)
                                      : f32(2, 3, 7, 33);
        if (variant == 2) x.nan_fraction = 0.1;
        TensorSpec y = f32(x.n, x.c, x.h, x.w, Fill::Uniform, variant == 0 ? 33 : 0);
        if (variant == 1) y.alias_input = 0;
        const std::string suffix = "_" + dims(x) + (variant == 1 ? "_inplace" : "") +
                                   (variant == 2 ? "_nan" : "") + "_out" + dims(y);
        for (bool scalar : {false, true}) {
            OpCase pr;
            pr.family = "prelu";
            const int64_t count = scalar ? 1 : x.c;
            pr.inputs = {x, f32(1, count, 1, 1)};
            pr.outputs = {y};
            pr.name = std::string(scalar ? "scalar" : "per_channel") + suffix;
            pr.run = [count](const KernelSet& k, const std::vector<View>& in,
                             const std::vector<View>& out) {
                k.prelu(in[0], in[1].f32(), count, out[0]);
            };
            v.push_back(pr);
        }
        for (float alpha : {1.0f, 0.3f}) {
            OpCase e;
            e.family = "elu";
            e.inputs = {x};
            e.outputs = {y};
            e.name = "alpha" + std::to_string(alpha).substr(0, 4) + suffix;
            e.run = [alpha](const KernelSet& k, const std::vector<View>& in,
                            const std::vector<View>& out) { k.elu(in[0], out[0], alpha); };
            v.push_back(e);
        }
        for (bool tanh_form : {false, true}) {
            OpCase g;
            g.family = "gelu";
            g.inputs = {x};
            g.outputs = {y};
            g.name = std::string(tanh_form ? "tanh" : "erf") + suffix;
            g.run = [tanh_form](const KernelSet& k, const std::vector<View>& in,
                                const std::vector<View>& out) { k.gelu(in[0], out[0], tanh_form); };
            v.push_back(g);
        }
    }
    return v;
}

std::vector<OpCase> binary_cases() {
    std::vector<OpCase> v;
    for (BinaryOp op : {BinaryOp::Add, BinaryOp::Mul}) {
        for (ActivationParams a : kActs) {
            for (int variant = 0; variant < 3; ++variant) {
                // 0: same shape, strided; 1: broadcast b, in place (y is a); 2: broadcast, large.
                TensorSpec x = variant == 0   ? f32(3, 5, 7, 33, Fill::Uniform, 5)
                               : variant == 1 ? f32(2, 17, 33, 7)
                                              : f32(1, 17, 127, 127);
                TensorSpec b = variant == 0
                                   ? f32(3, 5, 7, 33, Fill::Uniform, 3)
                                   : f32(x.n, x.c, 1, 1, Fill::Uniform, variant == 1 ? 2 : 0);
                TensorSpec y =
                    f32(x.n, x.c, x.h, x.w, Fill::Uniform, variant == 0 ? 2 * 7 * 33 : 0);
                if (variant == 1) y.alias_input = 0;
                BinaryParams p;
                p.op = op;
                p.act = a;
                OpCase c;
                c.family = "binary";
                c.inputs = {x, b};
                c.outputs = {y};
                c.name = std::string(op == BinaryOp::Add ? "add_" : "mul_") + act_name(a) + "_" +
                         dims(x) + "_b" + dims(b) + (variant == 1 ? "_inplace" : "") + "_out" +
                         dims(y);
                c.run = [p](const KernelSet& k, const std::vector<View>& in,
                            const std::vector<View>& out) { k.binary(in[0], in[1], out[0], p); };
                v.push_back(c);
            }
        }
    }
    // NumPy broadcasting, any dim of size 1 on either side: attention gates
    // ([N, 1, H, W] against [N, C, H, W]), rows and columns, both operands growing,
    // batch broadcast, strided operands, y in place of a or of b, and a large one.
    struct Broadcast {
        TensorSpec a, b;
        int alias;  // output computed in place in input #alias, or -1
    };
    const Broadcast shapes[] = {
        {f32(2, 1, 7, 33), f32(2, 5, 7, 33, Fill::Uniform, 3), -1},
        {f32(2, 5, 7, 33, Fill::Uniform, 4), f32(2, 1, 7, 33), 0},
        {f32(2, 5, 7, 33), f32(1, 5, 1, 33), -1},
        {f32(3, 5, 1, 33), f32(3, 1, 7, 1), -1},
        {f32(1, 17, 1, 1), f32(2, 17, 9, 13), 1},
        {f32(2, 5, 7, 33), f32(2, 5, 7, 1, Fill::Uniform, 2), -1},
        {f32(3, 1, 1, 1), f32(1, 5, 3, 7), -1},
        {f32(4, 9, 1, 1), f32(1, 9, 1, 1), -1},
        {f32(1, 1, 127, 127), f32(1, 17, 127, 127), -1},
    };
    int k = 0;
    for (const Broadcast& s : shapes) {
        const ActivationParams a = kActs[k % 5];
        const BinaryOp op = k % 2 ? BinaryOp::Add : BinaryOp::Mul;
        ++k;
        TensorSpec y = f32(std::max(s.a.n, s.b.n), std::max(s.a.c, s.b.c), std::max(s.a.h, s.b.h),
                           std::max(s.a.w, s.b.w), Fill::Uniform,
                           s.alias < 0 ? 5 : (s.alias == 0 ? s.a : s.b).batch_gap);
        y.alias_input = s.alias;
        BinaryParams p;
        p.op = op;
        p.act = a;
        OpCase c;
        c.family = "binary";
        c.inputs = {s.a, s.b};
        c.outputs = {y};
        c.name = std::string(op == BinaryOp::Add ? "add_" : "mul_") + act_name(a) + "_broadcast_" +
                 dims(s.a) + "_b" + dims(s.b) +
                 (s.alias >= 0 ? "_inplace" + std::to_string(s.alias) : "") + "_out" + dims(y);
        c.run = [p](const KernelSet& k, const std::vector<View>& in, const std::vector<View>& out) {
            k.binary(in[0], in[1], out[0], p);
        };
        v.push_back(c);
    }
    return v;
}

std::vector<OpCase> batch_norm_cases() {
    std::vector<OpCase> v;
    struct Variant {
        TensorSpec x;
        int64_t out_gap;
        float eps;
        Activation act;
    };
    for (Variant s : {Variant{f32(2, 17, 33, 7), 0, 1e-5f, Activation::None},
                      Variant{f32(3, 5, 7, 33, Fill::Uniform, 4), 5 * 7 * 33, 1e-3f, Activation::Relu},
                      Variant{f32(1, 3, 127, 127), 0, 1e-5f, Activation::Relu},
                      Variant{f32(2, 4, 9, 5), 0, 1e-5f, Activation::LeakyRelu},
                      Variant{f32(2, 1, 1, 1), 0, 0.1f, Activation::None}}) {
        OpCase c;
        c.family = "batch_norm";
        const int64_t ch = s.x.c;
        c.inputs = {s.x, f32(1, ch, 1, 1), f32(1, ch, 1, 1), f32(1, ch, 1, 1),
                    f32(1, ch, 1, 1, Fill::Positive)};
        c.outputs = {f32(s.x.n, ch, s.x.h, s.x.w, Fill::Uniform, s.out_gap)};
        c.name = dims(s.x) + "_eps" + std::to_string(s.eps) + "_act" + std::to_string(int(s.act)) +
                 "_out" + dims(c.outputs[0]);
        const float eps = s.eps;
        ActivationParams act;
        act.kind = s.act;
        act.alpha = 0.1f;
        c.run = [eps, act](const KernelSet& k, const std::vector<View>& in,
                           const std::vector<View>& out) {
            k.batch_norm(in[0], in[1].f32(), in[2].f32(), in[3].f32(), in[4].f32(), eps, act, out[0]);
        };
        v.push_back(c);
    }
    return v;
}

std::vector<OpCase> copy_cases() {
    std::vector<OpCase> v;
    struct Variant {
        TensorSpec x;
        int64_t out_gap;
    };
    TensorSpec ix = i32(3, 5, 7, 33, 4);
    for (Variant s :
         {Variant{f32(3, 5, 7, 33, Fill::Uniform, 4), 0}, Variant{f32(3, 5, 7, 33), 2 * 7 * 33},
          Variant{f32(1, 17, 127, 127), 0}, Variant{ix, 17}, Variant{i32(2, 3, 1, 7), 0}}) {
        OpCase c;
        c.family = "copy";
        c.inputs = {s.x};
        TensorSpec y = s.x;
        y.batch_gap = s.out_gap;
        c.outputs = {y};
        c.name =
            std::string(s.x.dtype == DType::I32 ? "i32_" : "f32_") + dims(s.x) + "_out" + dims(y);
        c.tolerance = 0.0;
        c.prepare = [](std::mt19937_64& rng, const std::vector<View>& in) {
            if (in[0].dtype != DType::I32) return;
            for (int64_t n = 0; n < in[0].n; ++n) {
                for (int64_t i = 0; i < in[0].chw(); ++i) {
                    in[0].i32()[n * in[0].batch_stride + i] = static_cast<int32_t>(rng());
                }
            }
        };
        c.run = [](const KernelSet& k, const std::vector<View>& in, const std::vector<View>& out) {
            k.copy(in[0], out[0]);
        };
        v.push_back(c);
    }
    return v;
}

// ---- concat, softmax, argmax --------------------------------------------------------

std::vector<OpCase> concat_copy_cases() {
    std::vector<OpCase> v;
    for (int axis = 0; axis < 4; ++axis) {
        for (bool int32 : {false, true}) {
            for (int variant = 0; variant < 2; ++variant) {
                TensorSpec x =
                    variant == 0 ? f32(2, 5, 7, 33, Fill::Uniform, 3) : f32(1, 17, 127, 127);
                if (int32) {
                    x.dtype = DType::I32;
                    x.fill = Fill::Index;
                }
                TensorSpec y = x;
                y.batch_gap = variant == 0 ? 11 : 0;
                int64_t* extent[4] = {&y.n, &y.c, &y.h, &y.w};
                const int64_t offset = 1 + axis;
                *extent[axis] += offset + 2;  // x lands strictly inside y along the axis
                OpCase c;
                c.family = "concat_copy";
                c.inputs = {x};
                c.outputs = {y};
                c.tolerance = 0.0;
                c.name = std::string(int32 ? "i32_" : "f32_") + "axis" + std::to_string(axis) +
                         "_at" + std::to_string(offset) + "_" + dims(x) + "_into" + dims(y);
                c.prepare = [](std::mt19937_64& rng, const std::vector<View>& in) {
                    if (in[0].dtype != DType::I32) return;
                    for (int64_t n = 0; n < in[0].n; ++n) {
                        for (int64_t i = 0; i < in[0].chw(); ++i) {
                            in[0].i32()[n * in[0].batch_stride + i] = static_cast<int32_t>(rng());
                        }
                    }
                };
                c.run = [axis, offset](const KernelSet& k, const std::vector<View>& in,
                                       const std::vector<View>& out) {
                    k.concat_copy(in[0], out[0], axis, offset);
                };
                v.push_back(c);
            }
        }
    }
    return v;
}

std::vector<OpCase> softmax_cases() {
    std::vector<OpCase> v;
    for (int axis = 0; axis < 4; ++axis) {
        for (int variant = 0; variant < 3; ++variant) {
            // 0: wide values, strided in and out; 1: large; 2: NaNs poison their lanes.
            TensorSpec x = variant == 0   ? f32(3, 5, 7, 33, Fill::Wide, 6)
                           : variant == 1 ? f32(2, 17, 127, 33)
                                          : f32(2, 5, 33, 7);
            if (variant == 2) x.nan_fraction = 0.01;
            TensorSpec y = f32(x.n, x.c, x.h, x.w, Fill::Uniform, variant == 0 ? 5 * 7 * 33 : 0);
            OpCase c;
            c.family = "softmax";
            c.inputs = {x};
            c.outputs = {y};
            c.name = "axis" + std::to_string(axis) + "_" + dims(x) + (variant == 2 ? "_nan" : "") +
                     "_out" + dims(y);
            c.run = [axis](const KernelSet& k, const std::vector<View>& in,
                           const std::vector<View>& out) { k.softmax(in[0], out[0], axis); };
            v.push_back(c);
        }
    }
    return v;
}

std::vector<OpCase> argmax_cases() {
    std::vector<OpCase> v;
    for (int axis = 0; axis < 4; ++axis) {
        for (int variant = 0; variant < 3; ++variant) {
            // 0: integer values (ties), strided; 1: large; 2: NaNs (the first NaN wins).
            TensorSpec x = variant == 0   ? f32(3, 5, 7, 33, Fill::Integer, 6)
                           : variant == 1 ? f32(2, 17, 127, 33)
                                          : f32(2, 5, 33, 7);
            if (variant == 2) x.nan_fraction = 0.05;
            int64_t d[4] = {x.n, x.c, x.h, x.w};
            d[axis] = 1;
            TensorSpec y = i32(d[0], d[1], d[2], d[3], variant == 0 ? 9 : 0);
            OpCase c;
            c.family = "argmax";
            c.inputs = {x};
            c.outputs = {y};
            c.tolerance = 0.0;
            c.name = "axis" + std::to_string(axis) + "_" + dims(x) +
                     (variant == 0   ? "_int"
                      : variant == 2 ? "_nan"
                                     : "") +
                     "_out" + dims(y);
            c.run = [axis](const KernelSet& k, const std::vector<View>& in,
                           const std::vector<View>& out) { k.argmax(in[0], out[0], axis); };
            v.push_back(c);
        }
    }
    return v;
}

// ---- resize, crop, pad, dense -------------------------------------------------------

std::vector<OpCase> resize_cases() {
    std::vector<OpCase> v;
    struct Sizes {
        int64_t h, w, oh, ow;
        double scale_h, scale_w;  // graph-given scale; 0: size given (coord scale in/out)
    };
    const Sizes sizes[] = {
        {7, 33, 33, 127, 0, 0},    {33, 127, 7, 33, 0, 0},      {7, 7, 14, 14, 2.0, 2.0},
        {33, 7, 49, 17, 1.5, 2.5}, {1, 7, 7, 33, 0, 0},         {33, 33, 1, 1, 0, 0},
        {7, 33, 7, 33, 0, 0},      {127, 33, 63, 16, 0.5, 0.5}, {2, 2, 98, 98, 49, 49},
        {7, 33, 7, 99, 1.1, 3.0},  {7, 7, 14, 14, 2.1, 2.1}};  // out == in, out == 2 * in: ATen
                                                               // ignores the scale
    for (ResizeMode mode : {ResizeMode::Nearest, ResizeMode::Bilinear}) {
        for (bool align : {false, true}) {
            if (mode == ResizeMode::Nearest && align) continue;
            for (const Sizes& s : sizes) {
                ResizeParams p;
                p.mode = mode;
                p.align_corners = align;
                p.coord_scale[0] = s.scale_h > 0
                                       ? 1.0 / s.scale_h
                                       : static_cast<double>(s.h) / static_cast<double>(s.oh);
                p.coord_scale[1] = s.scale_w > 0
                                       ? 1.0 / s.scale_w
                                       : static_cast<double>(s.w) / static_cast<double>(s.ow);
                OpCase c;
                c.family = "resize";
                c.inputs = {f32(2, 3, s.h, s.w, Fill::Uniform, s.h == 7 ? 5 : 0)};
                c.outputs = {f32(2, 3, s.oh, s.ow, Fill::Uniform, s.oh == 33 ? 7 : 0)};
                std::ostringstream name;
                name << (mode == ResizeMode::Nearest ? "nearest" : "bilinear")
                     << (align ? "_align" : "") << "_" << dims(c.inputs[0]) << "_to"
                     << dims(c.outputs[0]);
                if (s.scale_h > 0) name << "_scale" << s.scale_h << "x" << s.scale_w;
                c.name = name.str();
                if (mode == ResizeMode::Nearest) c.tolerance = 0.0;  // selects an element
                c.run = [p](const KernelSet& k, const std::vector<View>& in,
                            const std::vector<View>& out) { k.resize(in[0], out[0], p); };
                v.push_back(c);
            }
        }
    }
    return v;
}

std::vector<OpCase> crop_cases() {
    std::vector<OpCase> v;
    struct Crop {
        TensorSpec x;
        int64_t oh, ow, top, left, out_gap;
    };
    for (Crop s :
         {Crop{f32(2, 5, 33, 127), 7, 33, 13, 50, 0},
          Crop{f32(3, 3, 33, 33, Fill::Uniform, 5), 33, 1, 0, 32, 4},
          Crop{f32(1, 17, 127, 127), 127, 127, 0, 0, 0}, Crop{f32(1, 3, 7, 7), 1, 7, 6, 0, 0}}) {
        OpCase c;
        c.family = "crop";
        c.inputs = {s.x};
        c.outputs = {f32(s.x.n, s.x.c, s.oh, s.ow, Fill::Uniform, s.out_gap)};
        c.tolerance = 0.0;
        c.name = dims(s.x) + "_at" + std::to_string(s.top) + "." + std::to_string(s.left) + "_out" +
                 dims(c.outputs[0]);
        const int64_t top = s.top, left = s.left;
        c.run = [top, left](const KernelSet& k, const std::vector<View>& in,
                            const std::vector<View>& out) { k.crop(in[0], out[0], top, left); };
        v.push_back(c);
    }
    return v;
}

std::vector<OpCase> pad_cases() {
    std::vector<OpCase> v;
    struct Pads {
        int t, l, b, r;
    };
    const Pads pads[] = {{1, 2, 3, 0},   {0, 0, 0, 0},     {6, 1, 0, 6},
                         {-2, 3, 1, -4}, {-1, -1, -2, -3}, {3, 32, 2, 5}};
    for (PadMode mode : {PadMode::Constant, PadMode::Reflect, PadMode::Edge}) {
        for (const Pads& pd : pads) {
            for (int variant = 0; variant < 2; ++variant) {
                TensorSpec x =
                    variant == 0 ? f32(2, 3, 7, 33, Fill::Uniform, 5) : f32(1, 5, 127, 127);
                PadParams p;
                p.pads[0] = pd.t;
                p.pads[1] = pd.l;
                p.pads[2] = pd.b;
                p.pads[3] = pd.r;
                p.mode = mode;
                p.value = mode == PadMode::Constant ? 1.5f : 0.0f;
                OpCase c;
                c.family = "pad";
                c.inputs = {x};
                c.outputs = {f32(x.n, x.c, x.h + pd.t + pd.b, x.w + pd.l + pd.r, Fill::Uniform,
                                 variant == 0 ? 3 : 0)};
                c.tolerance = 0.0;
                c.name = std::string(mode == PadMode::Constant  ? "constant"
                                     : mode == PadMode::Reflect ? "reflect"
                                                                : "edge") +
                         "_p" + pads4(p.pads) + "_" + dims(x) + "_out" + dims(c.outputs[0]);
                c.run = [p](const KernelSet& k, const std::vector<View>& in,
                            const std::vector<View>& out) { k.pad(in[0], out[0], p); };
                v.push_back(c);
            }
        }
    }
    // A 1-wide input: reflect has nothing to mirror and repeats the element.
    for (PadMode mode : {PadMode::Reflect, PadMode::Edge}) {
        PadParams p;
        p.pads[0] = 2;
        p.pads[1] = 3;
        p.pads[2] = 1;
        p.pads[3] = 2;
        p.mode = mode;
        OpCase c;
        c.family = "pad";
        c.inputs = {f32(2, 3, 1, 1)};
        c.outputs = {f32(2, 3, 4, 6)};
        c.tolerance = 0.0;
        c.name = std::string(mode == PadMode::Reflect ? "reflect" : "edge") + "_1x1";
        c.run = [p](const KernelSet& k, const std::vector<View>& in, const std::vector<View>& out) {
            k.pad(in[0], out[0], p);
        };
        v.push_back(c);
    }
    return v;
}

// depth_to_space / space_to_depth: blocks 1-4, both channel orders, odd sizes,
// strided inputs and outputs, a large threaded one. Pure copies: exact.
std::vector<OpCase> space_depth_cases() {
    std::vector<OpCase> v;
    struct Shape {
        int64_t n, c, h, w;  // space side: [n, c, h*b, w*b]; depth side [n, c*b*b, h, w]
        int b;
        int64_t in_gap, out_gap;
    };
    for (Shape s :
         {Shape{2, 3, 7, 5, 2, 0, 0}, Shape{1, 5, 3, 11, 3, 7, 3}, Shape{3, 1, 1, 1, 4, 0, 2},
          Shape{2, 17, 9, 7, 1, 3, 0}, Shape{1, 8, 33, 65, 2, 0, 0}}) {
        for (bool crd : {false, true}) {
            for (bool to_space : {true, false}) {
                SpaceDepthParams p;
                p.block = s.b;
                p.crd = crd;
                const TensorSpec space = f32(s.n, s.c, s.h * s.b, s.w * s.b);
                const TensorSpec depth = f32(s.n, s.c * s.b * s.b, s.h, s.w);
                TensorSpec x = to_space ? depth : space, y = to_space ? space : depth;
                x.batch_gap = s.in_gap;
                y.batch_gap = s.out_gap;
                OpCase c;
                c.family = to_space ? "depth_to_space" : "space_to_depth";
                c.inputs = {x};
                c.outputs = {y};
                c.name = dims(x) + "_b" + std::to_string(s.b) + (crd ? "_CRD" : "_DCR") + "_out" +
                         dims(y);
                c.tolerance = 0.0;
                c.run = [p, to_space](const KernelSet& k, const std::vector<View>& in,
                                      const std::vector<View>& out) {
                    if (to_space)
                        k.depth_to_space(in[0], out[0], p);
                    else
                        k.space_to_depth(in[0], out[0], p);
                };
                v.push_back(c);
            }
        }
    }
    return v;
}

std::vector<OpCase> dense_cases() {
    std::vector<OpCase> v;
    struct Dense {
        TensorSpec x;
        int64_t outputs, out_gap;
        bool bias;
    };
    const Dense shapes[] = {{f32(3, 5, 7, 7, Fill::Uniform, 9), 17, 3, true},
                            {f32(2, 1000, 1, 1), 5, 0, true},
                            {f32(1, 5, 33, 33), 3, 0, false},
                            {f32(1, 17, 1, 1), 1, 0, true},
                            {f32(5, 3, 1, 7, Fill::Integer, 1), 33, 0, true}};
    for (const Dense& s : shapes) {
        for (ActivationParams a : kActs) {
            const int64_t features = s.x.c * s.x.h * s.x.w;
            OpCase c;
            c.family = "dense";
            c.inputs = {s.x, f32(s.outputs, features, 1, 1, s.x.fill)};
            if (s.bias) c.inputs.push_back(f32(1, s.outputs, 1, 1, s.x.fill));
            c.outputs = {f32(s.x.n, s.outputs, 1, 1, Fill::Uniform, s.out_gap)};
            c.name = dims(s.x) + "_out" + dims(c.outputs[0]) + (s.bias ? "_bias_" : "_nobias_") +
                     act_name(a);
            if (s.x.fill == Fill::Integer &&
                (a.kind == Activation::None || a.kind == Activation::Relu)) {
                c.tolerance = 0.0;  // integer products and sums < 2^24: exact
            }
            const bool bias = s.bias;
            c.run = [a, bias](const KernelSet& k, const std::vector<View>& in,
                              const std::vector<View>& out) {
                k.dense(in[0], in[1], bias ? in[2].f32() : nullptr, out[0], a);
            };
            v.push_back(c);
        }
    }
    return v;
}

// group_norm: instance norm (groups == C), group norm (C / groups channels a
// group), one group; with and without scale/bias; odd planes, a 1x1 plane (variance
// 0: y = bias), strided batches, NaNs (poison their group only), positive inputs
// (mean about three times the spread) and a large epsilon.
std::vector<OpCase> group_norm_cases() {
    std::vector<OpCase> v;
    struct Variant {
        TensorSpec x;
        int64_t groups;
        bool affine;
        float epsilon;
        int64_t out_gap;
        double nan_fraction;
    };
    TensorSpec offset = f32(2, 6, 17, 9, Fill::Positive);
    for (const Variant& s : {Variant{f32(2, 5, 33, 7), 5, true, 1e-5f, 0, 0.0},
                             Variant{f32(3, 6, 7, 33, Fill::Wide, 11), 3, true, 1e-5f, 7, 0.0},
                             Variant{f32(1, 17, 127, 127), 1, false, 1e-5f, 0, 0.0},
                             Variant{f32(4, 4, 1, 1), 4, true, 1e-5f, 0, 0.0},
                             Variant{f32(2, 8, 5, 3), 2, false, 0.5f, 0, 0.0},
                             Variant{f32(2, 6, 9, 7), 3, true, 1e-5f, 0, 0.05},
                             Variant{offset, 2, true, 1e-6f, 0, 0.0}}) {
        OpCase c;
        c.family = "group_norm";
        TensorSpec x = s.x;
        x.nan_fraction = s.nan_fraction;
        c.inputs = {x};
        if (s.affine) c.inputs.push_back(f32(1, x.c, 1, 1, Fill::Wide));
        if (s.affine) c.inputs.push_back(f32(1, x.c, 1, 1));
        c.outputs = {f32(x.n, x.c, x.h, x.w, Fill::Uniform, s.out_gap)};
        c.name = dims(x) + "_groups" + std::to_string(s.groups) + (s.affine ? "_affine" : "") +
                 (s.nan_fraction > 0 ? "_nan" : "") + "_eps" + std::to_string(s.epsilon).substr(0, 8) +
                 "_out" + dims(c.outputs[0]);
        const int64_t groups = s.groups;
        const bool affine = s.affine;
        const float eps = s.epsilon;
        c.run = [groups, affine, eps](const KernelSet& k, const std::vector<View>& in,
                                      const std::vector<View>& out) {
            k.group_norm(in[0], affine ? in[1].f32() : nullptr, affine ? in[2].f32() : nullptr,
                         out[0], groups, eps);
        };
        v.push_back(c);
    }
    return v;
}

std::vector<OpCase> build_all() {
    std::vector<OpCase> all;
    for (auto builder : {conv2d_cases,
                         conv_transpose2d_cases,
                         max_pool2d_cases,
                         avg_pool2d_cases,
                         global_avg_pool_cases,
                         max_unpool2d_cases,
                         activation_cases,
                         hard_activation_cases,
                         prelu_elu_gelu_cases,
                         binary_cases,
                         batch_norm_cases,
                         copy_cases,
                         concat_copy_cases,
                         softmax_cases,
                         argmax_cases,
                         resize_cases,
                         crop_cases,
                         pad_cases,
                         space_depth_cases,
                         dense_cases,
                         group_norm_cases}) {
        std::vector<OpCase> cases = builder();
        for (size_t i = 0; i < cases.size(); ++i) {
            // Fixed seeds: a function of the family and the position within it.
            uint64_t h = 1469598103934665603ull;
            for (char ch : cases[i].family) h = (h ^ static_cast<uint8_t>(ch)) * 1099511628211ull;
            cases[i].seed = h + i;
            all.push_back(std::move(cases[i]));
        }
    }
    return all;
}

}  // namespace

const std::vector<OpCase>& all_op_cases() {
    static const std::vector<OpCase> cases = build_all();
    return cases;
}

std::vector<const OpCase*> op_cases(const std::string& family) {
    std::vector<const OpCase*> out;
    for (const OpCase& c : all_op_cases()) {
        if (c.family == family) out.push_back(&c);
    }
    return out;
}

View HostTensor::view() {
    View v = make_view(bits.data() + guard, spec.dtype, spec.n, spec.c, spec.h, spec.w);
    v.batch_stride = spec.batch_stride();
    return v;
}

std::vector<int64_t> view_elements(const TensorSpec& s) {
    std::vector<int64_t> out;
    out.reserve(static_cast<size_t>(s.n * s.c * s.h * s.w));
    for (int64_t n = 0; n < s.n; ++n) {
        for (int64_t i = 0; i < s.c * s.h * s.w; ++i) out.push_back(n * s.batch_stride() + i);
    }
    return out;
}

std::vector<HostTensor> make_inputs(const OpCase& c, int64_t guard) {
    std::mt19937_64 rng(c.seed);
    std::vector<HostTensor> tensors;
    std::vector<View> views;
    for (const TensorSpec& s : c.inputs) {
        HostTensor t;
        t.spec = s;
        t.guard = guard;
        // Gaps and guard hold a recognisable pattern (a signalling-NaN bit pattern).
        t.bits.assign(static_cast<size_t>(s.span() + 2 * guard), 0x7fa5a5a5u);
        for (int64_t at : view_elements(s)) {
            float v = draw(rng, s.fill);
            if (s.nan_fraction > 0 && unit(rng) < s.nan_fraction) {
                v = std::numeric_limits<float>::quiet_NaN();
            }
            if (s.dtype == DType::I32) {
                const auto iv = static_cast<int32_t>(v);
                std::memcpy(&t.bits[guard + at], &iv, 4);
            } else {
                std::memcpy(&t.bits[guard + at], &v, 4);
            }
        }
        tensors.push_back(std::move(t));
    }
    for (HostTensor& t : tensors) views.push_back(t.view());
    if (c.prepare) c.prepare(rng, views);
    return tensors;
}

}  // namespace fcnrt::test
