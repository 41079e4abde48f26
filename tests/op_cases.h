// A backend-agnostic catalogue of randomized kernel test cases.
//
// Each OpCase describes one call of one kernel: its tensors (dims, dtype, batch
// gaps for strided views, how to fill them), its attributes (captured in `run`)
// and its tolerance. It owns no memory and names no backend: a driver builds the
// tensors (make_tensor), points the views wherever the backend needs them (host
// memory for the reference and CPU kernels, device copies for CUDA) and calls
// `run` with that backend's KernelSet. The same case, run on two backends with
// the same seed, must give the same outputs within `tolerance`.
//
// Sizes are deliberately odd (1, 7, 33, 127; channels 1, 3, 5, 17) and every
// attribute of every op is exercised: strides 1-3, asymmetric pads, dilations up
// to 16, groups and depthwise, ceil_mode, count_include_pad, output_padding,
// align_corners, every pad mode, every axis and activation, broadcast, strided
// (concat-slice) batch outputs, in-place calls and NaN inputs.
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "kernels/op_params.h"
#include "kernels/view.h"

namespace fcnrt::test {

// The kernel entry points of one backend, with the signatures of kernels/cpu/*.h
// (and kernels/reference/*.h). A backend whose kernels need more (a stream, a
// context) wraps them in lambdas.
struct KernelSet {
    std::string name;
    std::function<void(const View&, const View&, const float*, const View&, const Conv2dParams&)>
        conv2d;
    std::function<void(const View&, const View&, const float*, const View&,
                       const ConvTranspose2dParams&)>
        conv_transpose2d;
    std::function<void(const View&, const View&, const View&, const Pool2dParams&)> max_pool2d;
    std::function<void(const View&, const View&, const Pool2dParams&)> avg_pool2d;
    std::function<void(const View&, const View&)> global_avg_pool;
    std::function<void(const View&, const View&, const View&)> max_unpool2d;
    std::function<void(const View&, const View&, ActivationParams)> activation;
    std::function<void(const View&, const View&, float, float)> hard_sigmoid;
    std::function<void(const View&, const View&)> hard_swish;
    std::function<void(const View&, const float*, int64_t, const View&)> prelu;
    std::function<void(const View&, const View&, float)> elu;
    std::function<void(const View&, const View&, bool)> gelu;
    std::function<void(const View&, const View&, const View&, const BinaryParams&)> binary;
    std::function<void(const View&, const float*, const float*, const float*, const float*, float,
                       ActivationParams, const View&)>
        batch_norm;
    std::function<void(const View&, const View&)> copy;
    std::function<void(const View&, const View&, int, int64_t)> concat_copy;
    std::function<void(const View&, const View&, int)> softmax;
    std::function<void(const View&, const View&, int)> argmax;
    std::function<void(const View&, const View&, const ResizeParams&)> resize;
    std::function<void(const View&, const View&, int64_t, int64_t)> crop;
    std::function<void(const View&, const View&, const PadParams&)> pad;
    std::function<void(const View&, const View&, const SpaceDepthParams&)> depth_to_space;
    std::function<void(const View&, const View&, const SpaceDepthParams&)> space_to_depth;
    std::function<void(const View&, const View&, const float*, const View&, ActivationParams)>
        dense;
    std::function<void(const View&, const float*, const float*, const View&, int64_t, float)>
        group_norm;
};

enum class Fill : uint8_t {
    Uniform,   // uniform in [-1, 1)
    Wide,      // uniform in [-20, 20): saturates sigmoid/tanh, stresses softmax
    Integer,   // integers in [-4, 4]: exact float32 sums, many ties
    Positive,  // uniform in [0.5, 2): variances
    Index,     // int32, filled by the case's `prepare`
};

struct TensorSpec {
    DType dtype = DType::F32;
    int64_t n = 1, c = 1, h = 1, w = 1;
    int64_t batch_gap = 0;  // extra elements between batch items (a concat slice)
    Fill fill = Fill::Uniform;
    double nan_fraction = 0.0;  // share of elements replaced by NaN (inputs)
    int alias_input = -1;       // outputs: computed in place in input #alias_input

    int64_t batch_stride() const { return c * h * w + batch_gap; }
    // Elements from the first to one past the last element of the view.
    int64_t span() const { return n == 0 ? 0 : (n - 1) * batch_stride() + c * h * w; }
};

struct OpCase {
    std::string family;  // the kernel (or kernel group) tested, e.g. "conv2d"
    std::string name;    // unique within the family; spells out every attribute
    uint64_t seed = 0;
    std::vector<TensorSpec> inputs, outputs;
    // Relative max-norm error allowed: max|a - b| / max(max|b|, tiny) over each
    // float32 output. int32 outputs always compare exactly.
    double tolerance = 1e-5;
    // Optional: fills Fill::Index inputs (given the already filled host inputs).
    std::function<void(std::mt19937_64&, const std::vector<View>&)> prepare;
    // Calls the kernel on views laid out as `inputs` and `outputs` describe.
    std::function<void(const KernelSet&, const std::vector<View>&, const std::vector<View>&)> run;
};

// Every case of every family, in a fixed order with fixed seeds.
const std::vector<OpCase>& all_op_cases();

// The cases of one family.
std::vector<const OpCase*> op_cases(const std::string& family);

// Host memory for one tensor: `guard` elements before and after the view's span.
struct HostTensor {
    TensorSpec spec;
    std::vector<uint32_t> bits;  // raw 4-byte elements: guard, span() of the view, guard
    int64_t guard = 0;
    View view();  // over bits.data() + guard
};

// Deterministic filling (mt19937_64 with the case's seed, no implementation-defined
// distributions), so every backend and platform sees the same inputs.
std::vector<HostTensor> make_inputs(const OpCase& c, int64_t guard);

// Element index (from the view's first element) of every element, in NCHW order.
std::vector<int64_t> view_elements(const TensorSpec& s);

// Kernel parameters in one call, for the op cases and the kernel tests:
// strides, pads (top, left, bottom, right), dilations, groups, activation.
ActivationParams act(Activation kind, float alpha = 0.01f);
Conv2dParams conv_params(int sh, int sw, int pt, int pl, int pb, int pr, int dh, int dw, int groups,
                         ActivationParams a);
ConvTranspose2dParams convt_params(int sh, int sw, int pt, int pl, int pb, int pr, int oph, int opw,
                                   int dh, int dw, int groups, ActivationParams a);

}  // namespace fcnrt::test
