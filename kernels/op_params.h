// Parameter structs of every op, as kernels receive them after the loader has
// parsed and validated the graph's attributes. Plain data, shared by the CPU
// and CUDA kernels. Pairs are {height, width}; pads are {top, left, bottom, right}.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/view.h"

namespace fcnrt {

enum class Activation : uint8_t { None, Relu, LeakyRelu, Sigmoid, Tanh, HardSigmoid, HardSwish };

struct ActivationParams {
    Activation kind = Activation::None;
    float alpha = 0.01f;  // leaky_relu slope; hard_sigmoid's alpha (0.2 when parsed)
    float beta = 0.5f;    // hard_sigmoid's beta
};

// Clamp to [0, 1] letting NaN through (fmin/fmax would turn it into a bound),
// as the reference's std::clamp and PyTorch do.
FCNRT_HD float clamp01_nan(float v) { return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v); }

// hard_sigmoid max(0, min(1, alpha * x + beta)) and hard_swish x * max(0, min(1,
// x * (1/6) + 1/2)) in float32, each product and sum rounded on its own (never
// contracted into an fma: __fmul_rn/__fadd_rn on the device; the host kernels are
// built without FMA contraction). The one definition of both: the standalone ops'
// CPU and CUDA kernels and every fused epilogue (apply_activation and the CPU's
// vectorised epilogues) call these, so a fused activation gives the unfused
// graph's bits.
FCNRT_HD float hard_sigmoid_f32(float v, float alpha, float beta) {
#ifdef __CUDA_ARCH__
    return clamp01_nan(__fadd_rn(__fmul_rn(alpha, v), beta));
#else
    return clamp01_nan(alpha * v + beta);
#endif
}

FCNRT_HD float hard_swish_f32(float v) {
    const float sixth = 1.0f / 6.0f;
#ifdef __CUDA_ARCH__
    return __fmul_rn(v, clamp01_nan(__fadd_rn(__fmul_rn(v, sixth), 0.5f)));
#else
    return v * clamp01_nan(v * sixth + 0.5f);
#endif
}

// Their float64 twins for the reference kernels (x / 6 exactly as the reference computes it).
inline double clamp01_nan_f64(double v) { return v < 0.0 ? 0.0 : (v > 1.0 ? 1.0 : v); }
inline double hard_sigmoid_f64(double v, float alpha, float beta) {
    return clamp01_nan_f64(static_cast<double>(alpha) * v + static_cast<double>(beta));
}
inline double hard_swish_f64(double v) { return v * clamp01_nan_f64(v / 6.0 + 0.5); }

// The activation applied after an op (and by the standalone activation ops).
FCNRT_HD float apply_activation(float v, ActivationParams a) {
    switch (a.kind) {
        case Activation::None: return v;
        case Activation::Relu: return v > 0.0f ? v : 0.0f;
        case Activation::LeakyRelu: return v >= 0.0f ? v : v * a.alpha;
        case Activation::Sigmoid: return 1.0f / (1.0f + expf(-v));
        case Activation::Tanh: return tanhf(v);
        case Activation::HardSigmoid: return hard_sigmoid_f32(v, a.alpha, a.beta);
        case Activation::HardSwish: return hard_swish_f32(v);
    }
    return v;
}

// Double-precision twin used by the reference kernels.
inline double apply_activation_f64(double v, ActivationParams a) {
    switch (a.kind) {
        case Activation::None: return v;
        case Activation::Relu: return v > 0.0 ? v : 0.0;
        case Activation::LeakyRelu: return v >= 0.0 ? v : v * static_cast<double>(a.alpha);
        case Activation::Sigmoid: return 1.0 / (1.0 + std::exp(-v));
        case Activation::Tanh: return std::tanh(v);
        case Activation::HardSigmoid: return hard_sigmoid_f64(v, a.alpha, a.beta);
        case Activation::HardSwish: return hard_swish_f64(v);
    }
    return v;
}

// conv: x [N, C, H, W], weight [K, C/groups, kh, kw], bias [K] or none, y [N, K, OH, OW]
// with OH = (H + pt + pb - dh*(kh-1) - 1) / sh + 1.
struct Conv2dParams {
    int stride[2] = {1, 1};
    int pads[4] = {0, 0, 0, 0};
    int dilation[2] = {1, 1};
    int groups = 1;
    ActivationParams act;
    // Optional residual r [N, K, OH, OW] (data == nullptr when none): the same dims
    // as y, with its own batch_stride. It is added after the bias and before the
    // activation, to the conv result rounded to float32:
    //   y = act(float(conv(x) + bias) + r), the last add in float32.
    View residual;
};

// conv_transpose: x [N, C, H, W], weight [C, K/groups, kh, kw], bias [K] or none,
// y [N, K, OH, OW] with OH = (H-1)*sh - pt - pb + dh*(kh-1) + output_padding_h + 1.
struct ConvTranspose2dParams {
    int stride[2] = {1, 1};
    int pads[4] = {0, 0, 0, 0};
    int output_padding[2] = {0, 0};
    int dilation[2] = {1, 1};
    int groups = 1;
    ActivationParams act;
};

// max_pool / avg_pool. Output size as PyTorch's max_pool2d/avg_pool2d, including
// ceil_mode (a last window must start inside the input or the left padding).
struct Pool2dParams {
    int kernel[2] = {1, 1};
    int stride[2] = {1, 1};
    int pads[4] = {0, 0, 0, 0};
    int dilation[2] = {1, 1};
    bool ceil_mode = false;
    bool count_include_pad = false;  // avg_pool only
    // max_pool only: indices h * W + w within each (n, c) plane (false, PyTorch's
    // convention, what max_unpool reads) or flattened over the input,
    // ((n * C + c) * H + h) * W + w (true, ONNX MaxPool's with storage_order 0).
    bool flat_indices = false;
};

enum class BinaryOp : uint8_t { Add, Mul };

// add / mul: a [N, C, H, W]; b the same shape or [N, C, 1, 1] (broadcast over H, W).
struct BinaryParams {
    BinaryOp op = BinaryOp::Add;
    ActivationParams act;
};

enum class ResizeMode : uint8_t { Nearest, Bilinear };

// resize: y[oy, ox] samples x at a source coordinate computed with the factor
// in/out per axis: `coord_scale` is 1/scale when the graph gave `scale` (as
// PyTorch's interpolate uses scale_factor directly) and in/out when it gave `size`.
// nearest: src = min(floor(dst * coord_scale), in - 1)
// bilinear, align_corners false: src = max((dst + 0.5) * coord_scale - 0.5, 0)
// bilinear, align_corners true: src = dst * (in - 1) / (out - 1)  (0 when out == 1)
//
// `coord_mode` other than Pytorch selects ONNX Resize's coordinate_transformation_mode
// instead (an fcnrt extension for imported ONNX graphs), with `nearest` as its
// nearest_mode: see onnx_resize_source. Pytorch, the default, is exactly the above.
enum class ResizeCoordMode : uint8_t { Pytorch, HalfPixel, PytorchHalfPixel, Asymmetric, AlignCorners };
enum class NearestRounding : uint8_t { Floor, RoundPreferFloor, RoundPreferCeil, Ceil };

struct ResizeParams {
    ResizeMode mode = ResizeMode::Nearest;
    bool align_corners = false;
    double coord_scale[2] = {1.0, 1.0};
    ResizeCoordMode coord_mode = ResizeCoordMode::Pytorch;
    NearestRounding nearest = NearestRounding::Floor;
};

// ONNX Resize's source coordinate of output index `dst` (coord_scale = 1 / scale, or
// in / out when sizes were given), before rounding (nearest) or clamping (linear):
// half_pixel (dst + 0.5) * cs - 0.5; pytorch_half_pixel the same but 0 when out == 1;
// asymmetric dst * cs; align_corners dst * (in - 1) / (in / cs - 1), 0 when out == 1.
inline double onnx_resize_source(int64_t dst, int64_t in, int64_t out, double coord_scale,
                                 ResizeCoordMode mode) {
    const double d = static_cast<double>(dst);
    switch (mode) {
        case ResizeCoordMode::PytorchHalfPixel:
            return out > 1 ? (d + 0.5) * coord_scale - 0.5 : 0.0;
        case ResizeCoordMode::Asymmetric: return d * coord_scale;
        case ResizeCoordMode::AlignCorners: {
            // ONNX's length_resized is in * scale before flooring (= out when sizes were given).
            const double resized = static_cast<double>(in) / coord_scale;
            return out > 1 && resized > 1.0 ? d * static_cast<double>(in - 1) / (resized - 1.0) : 0.0;
        }
        case ResizeCoordMode::HalfPixel:
        case ResizeCoordMode::Pytorch: break;
    }
    return (d + 0.5) * coord_scale - 0.5;
}

// ONNX nearest_mode rounding of a source coordinate, clamped into [0, in - 1].
inline int64_t onnx_nearest_index(double src, int64_t in, NearestRounding r) {
    double i;
    switch (r) {
        case NearestRounding::RoundPreferFloor: i = std::ceil(src - 0.5); break;
        case NearestRounding::RoundPreferCeil: i = std::floor(src + 0.5); break;
        case NearestRounding::Ceil: i = std::ceil(src); break;
        case NearestRounding::Floor:
        default: i = std::floor(src); break;
    }
    if (i < 0.0) return 0;
    return i > static_cast<double>(in - 1) ? in - 1 : static_cast<int64_t>(i);
}

enum class PadMode : uint8_t { Constant, Reflect, Edge };

// pad: y [N, C, H + pt + pb, W + pl + pr]; negative pads crop.
struct PadParams {
    int pads[4] = {0, 0, 0, 0};
    PadMode mode = PadMode::Constant;
    float value = 0.0f;
};

// depth_to_space: x [N, C*b*b, H, W] -> y [N, C, H*b, W*b] with
//   y[n, c, h*b + i, w*b + j] = x[n, depth_channel(c, i, j), h, w];
// space_to_depth is its inverse. The depth channel is (i*b + j)*C + c in DCR order
// (ONNX's default and SpaceToDepth's) or (c*b + i)*b + j in CRD order (PyTorch's
// pixel_shuffle / pixel_unshuffle).
struct SpaceDepthParams {
    int block = 2;
    bool crd = false;
};

// The depth channel of shallow channel c at block offset (i, j); C is the
// shallow (space-side) channel count.
FCNRT_HD int64_t depth_channel(int64_t c, int64_t i, int64_t j, int64_t C,
                               const SpaceDepthParams& p) {
    const int64_t b = p.block;
    return p.crd ? (c * b + i) * b + j : (i * b + j) * C + c;
}

}  // namespace fcnrt
