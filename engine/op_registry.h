// The registry of ops. Each op is defined once, in engine/ops/: its name, the
// inputs, outputs and weights it takes, attribute parsing and validation,
// shape inference, FLOP count, spatial geometry (for receptive fields) and its
// kernels on each backend. The loader, the executor, `fcnrt info` and the tests
// all read that one definition.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/attributes.h"
#include "engine/tensor.h"
#include "kernels/precision.h"
#include "kernels/view.h"

namespace fcnrt {

// Parsed attributes of one node; each op derives its own.
struct OpParams {
    virtual ~OpParams() = default;
};

// Dtype and shape of a tensor. During load-time validation a spatial dim the
// graph leaves open (`null`) is kUnknownDim; at run time every dim is known.
constexpr int64_t kUnknownDim = -1;
struct TensorInfo {
    DType dtype = DType::F32;
    Shape shape;
};

// What shape inference sees of a node.
struct InferContext {
    const OpParams& params;
    const std::vector<TensorInfo>& inputs;   // activation inputs, in order
    const std::vector<const Tensor*>& weights;  // by weight slot; nullptr when absent
};

// Everything a kernel needs for one node, resolved once per memory plan.
struct KernelArgs {
    const OpParams* params = nullptr;
    std::vector<View> inputs;
    std::vector<View> weights;  // by weight slot; data == nullptr when absent
    std::vector<View> outputs;  // data == nullptr for an output the graph does not use
    void* stream = nullptr;     // the backend's stream (cudaStream_t on CUDA)
    // What the op's prepare function made of the weights at load (nullptr when
    // it has none): e.g. the CPU convolution's packed GEMM panels.
    const void* prepared = nullptr;
};
using KernelFn = void (*)(const KernelArgs&);
// Rearranges a node's weights once, when the executor loads them, into the
// layout its kernel on one backend reads (weights by slot, as in KernelArgs;
// host memory on the host backends), for the executor's precision (the CUDA
// convolution packs TF32/BF16/FP16 weights for the tensor cores; fp32 everywhere
// else). The result lives as long as the executor.
using PrepareFn = std::shared_ptr<const void> (*)(const OpParams& params, const std::vector<View>& weights,
                                                  Precision precision);

enum class BackendKind { Reference = 0, Cpu = 1, Cuda = 2 };
constexpr int kNumBackendKinds = 3;

// How an op moves pixels, per spatial axis, for receptive-field and halo analysis.
struct SpatialMap {
    enum class Kind { Pointwise, Window, Upsample, Resize, Shift, Global };
    Kind kind = Kind::Pointwise;
    int extent[2] = {1, 1};  // effective window size: dilation * (kernel - 1) + 1
    int stride[2] = {1, 1};  // Window: output step in input pixels; Upsample: factor
    int pad_before[2] = {0, 0};  // Window/Upsample: top, left padding; Shift: rows/cols removed (negative adds)
    double scale[2] = {1.0, 1.0};  // Resize: out/in
    bool centred = false;  // Shift: a centre crop, whose shift follows from the shapes
};

struct WeightSlot {
    std::string key;  // the node attribute naming the tensor ("weight", "bias", ...)
    bool optional = false;
};

struct OpDef {
    std::string name;
    int min_inputs = 1, max_inputs = 1;
    int min_outputs = 1, max_outputs = 1;
    std::vector<WeightSlot> weights;

    // Parses and validates the node's attributes; throws fcnrt::Error.
    std::function<std::shared_ptr<const OpParams>(const AttrReader&)> parse;
    // Output dtypes and shapes (one per possible output); throws on bad inputs or weights.
    std::function<std::vector<TensorInfo>(const InferContext&)> infer;
    // Floating-point operations (a multiply-add counts 2) for the given shapes.
    std::function<double(const InferContext&, const std::vector<TensorInfo>& outputs)> flops;
    // Spatial geometry; Pointwise when absent.
    std::function<SpatialMap(const OpParams&, const std::vector<const Tensor*>& weights)> spatial;
    // Output 0 is input 0 under another name (and maybe another shape of the
    // same elements): it takes no memory and runs no kernel.
    bool output_aliases_input = false;

    // Optional: host bytes that the fast CPU kernel takes for one call at these
    // shapes beyond the arena and its per-thread scratch (Backend::
    // kernel_scratch_bytes), growing with the image (e.g. the strided conv's
    // phase-split input copy) and kept between calls. plan_memory keeps the
    // most any node takes (MemoryPlan::host_scratch_bytes). Absent: none.
    std::function<size_t(const InferContext&, const std::vector<TensorInfo>& outputs)> host_scratch;

    KernelFn kernels[kNumBackendKinds] = {nullptr, nullptr, nullptr};
    // Optional, per backend: weights prepared at load for that backend's kernel.
    PrepareFn prepare[kNumBackendKinds] = {nullptr, nullptr, nullptr};
};

// The op named `name`, or nullptr.
const OpDef* find_op(const std::string& name);
// Every registered op, sorted by name.
std::vector<const OpDef*> all_ops();

// Typed access to a node's params.
template <typename T>
const T& params_as(const OpParams& p) {
    return static_cast<const T&>(p);
}

// Registration, one function per file in engine/ops/.
void register_conv_ops(std::map<std::string, OpDef>& ops);
void register_pool_ops(std::map<std::string, OpDef>& ops);
void register_elementwise_ops(std::map<std::string, OpDef>& ops);
void register_shape_ops(std::map<std::string, OpDef>& ops);
void register_channel_ops(std::map<std::string, OpDef>& ops);
void register_norm_ops(std::map<std::string, OpDef>& ops);

}  // namespace fcnrt
