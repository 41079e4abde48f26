// The ONNX importer's shared state and helpers, used by the op-family mapping
// files (onnx_map_*.cpp) and constant folding (onnx_fold.cpp). Internal to
// engine/onnx/: it includes the generated protobuf header.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/graph.h"
#include "fcnrt_onnx/onnx.pb.h"

namespace fcnrt::onnx_import {

// A tensor whose value is known at import time: an initializer, a Constant's
// output or a folded result. Floats are held as double, integers and bools as
// int64; `dims` is the ONNX shape (empty for a scalar).
struct ConstValue {
    bool is_float = true;
    // Integer shape values some of whose elements are dims known only at run
    // time (Shape of a tensor with a null dim): such an element holds a symbol
    // code (Importer::symbol). Only the importer's symbol-aware paths read these.
    bool symbolic = false;
    Shape dims;
    std::vector<double> f;
    std::vector<int64_t> i;

    int64_t numel() const;
    double as_double(int64_t k) const { return is_float ? f[k] : double(i[k]); }
    int64_t as_int(int64_t k) const { return is_float ? int64_t(f[k]) : i[k]; }
    std::vector<int64_t> ints() const;      // every element as an integer
    std::vector<double> doubles() const;  // every element as a double
};

// A TensorProto's value; external data is read relative to `base_dir` (with its
// offset and length checked against the file).
ConstValue const_from_tensor(const onnx::TensorProto& t, const std::string& base_dir);

// Typed access to a node's attributes, with ONNX defaults.
class Attrs {
public:
    explicit Attrs(const onnx::NodeProto& node);
    bool has(const std::string& name) const { return by_name_.count(name) > 0; }
    int64_t integer(const std::string& name, int64_t fallback) const;
    double number(const std::string& name, double fallback) const;
    std::string text(const std::string& name, const std::string& fallback) const;
    std::vector<int64_t> ints(const std::string& name, std::vector<int64_t> fallback) const;
    std::vector<double> numbers(const std::string& name) const;
    const onnx::TensorProto* tensor(const std::string& name) const;

private:
    const onnx::AttributeProto& get(const std::string& name, onnx::AttributeProto::AttributeType type) const;
    std::map<std::string, const onnx::AttributeProto*> by_name_;
};

class Importer;
// Maps one ONNX node onto fcnrt nodes (Importer::emit) or refuses (throws Error).
using OpMapper = std::function<void(Importer&, const onnx::NodeProto&)>;

// The mapping table, filled by one function per op family.
void register_conv_mappers(std::map<std::string, OpMapper>& m);
void register_pool_mappers(std::map<std::string, OpMapper>& m);
void register_elementwise_mappers(std::map<std::string, OpMapper>& m);
void register_shape_mappers(std::map<std::string, OpMapper>& m);

// Op types that are folded when their inputs are known at import time.
const std::set<std::string>& foldable_op_types();
// Computes the node's outputs from constant inputs (and, for Shape, a run-time
// tensor's static shape). Returns false when the node cannot be folded.
bool fold_node(Importer& im, const onnx::NodeProto& node);

class Importer {
public:
    Importer(std::string base_dir, int64_t opset) : base_dir_(std::move(base_dir)), opset_(opset) {}

    int64_t opset() const { return opset_; }
    const std::string& base_dir() const { return base_dir_; }

    // ---- tensors known at import time ----
    bool is_const(const std::string& name) const { return consts_.count(name) > 0; }
    // Throws, naming the dynamic dims, when the value is symbolic.
    const ConstValue& constant(const std::string& name) const;
    // The value, symbolic or not.
    const ConstValue& constant_or_symbolic(const std::string& name) const;

    // ---- dynamic dims: dim `dim` of run-time tensor `tensor`, as a symbol code
    // in a symbolic ConstValue (far below any shape value an exporter writes, and
    // apart from the INT64_MIN-based sentinels of Slice) ----
    int64_t symbol(const std::string& tensor, int dim);
    // Whether `v` (an element of a symbolic value) is a symbol code.
    bool is_symbol(int64_t v) const;
    // The tensor and dim a symbol code names.
    const std::pair<std::string, int>& symbol_dim(int64_t v) const;
    // "dim 2 of 'x'", for messages.
    std::string describe_symbol(int64_t v) const;

    // GroupNorm's export, Reshape(x, [N, G, -1]) -> InstanceNormalization ->
    // Reshape(to Shape(x)), collected over its three nodes into one group_norm
    // (onnx_map_elementwise.cpp). Keyed by the intermediate tensor's name.
    struct PendingGroupNorm {
        std::string x;      // the rank-4 input
        int64_t groups = 0;
        bool normalised = false;  // the InstanceNormalization has been seen
        std::string scale, bias;  // per-channel weights ([C]) once normalised
        double epsilon = 1e-5;
        std::string name;   // the fcnrt node name (from the InstanceNormalization)
    };
    std::map<std::string, PendingGroupNorm> pending_group_norm;
    void set_const(const std::string& name, ConstValue v) { consts_[name] = std::move(v); }

    // ---- run-time tensors (graph inputs and outputs of emitted nodes) ----
    bool is_value(const std::string& name) const { return values_.count(name) > 0; }
    const TensorInfo& value(const std::string& name) const;
    void set_value(const std::string& name, TensorInfo info) { values_[name] = std::move(info); }

    // A new weight holding `v` reshaped to `shape` (float32); returns its name.
    std::string add_weight(const std::string& hint, const ConstValue& v, const Shape& shape);
    std::string add_weight(const std::string& hint, Tensor t);

    // A fresh tensor name for an intermediate the mapping introduces.
    std::string fresh_tensor(const std::string& hint);
    // The fcnrt node name for an ONNX node (its name, made unique, or OpType_k).
    std::string node_name(const onnx::NodeProto& node);

    // Adds an fcnrt node (op, name, inputs, outputs and attributes in `node`),
    // running the op's own attribute parsing and shape inference so the outputs'
    // shapes are known to later mappings. Throws naming the node.
    void emit(Json node);

    // Run-time tensors viewed at rank 6 by a Reshape (and then maybe permuted by a
    // Transpose): the first steps of PyTorch's PixelShuffle / PixelUnshuffle export
    // (Reshape, Transpose, Reshape), which become one depth_to_space or
    // space_to_depth node at the closing Reshape (onnx_map_shape.cpp).
    struct Pending6d {
        std::string x;              // the rank-4 tensor reshaped
        Shape dims;                 // its rank-6 view
        std::vector<int64_t> perm;  // empty until transposed
    };
    std::map<std::string, Pending6d> pending_6d;

    // PixelUnshuffle exported with dynamic H/W (torch's opset-9 symbolic):
    // Unsqueeze(x, [3]), Reshape [0, 0, -1, b, 0], Reshape [0, 0, 0, 0, -1, b],
    // Transpose [0, 1, 3, 5, 2, 4], Reshape [0, -1, 1, 1, 0, 0], Squeeze [2, 3]:
    // one space_to_depth (CRD) at the Squeeze. `stage` counts the steps seen.
    struct PendingUnshuffle {
        std::string x;
        int stage = 1;
        int64_t block = 0;
    };
    std::map<std::string, PendingUnshuffle> pending_unshuffle;

    // Tensors that carry fcnrt's per-plane max_pool indices.
    std::set<std::string> plane_indices;
    // Tensors read by each node (name -> consumer op types), for checks such as
    // "the Indices output feeds only MaxUnpool".
    std::map<std::string, std::vector<std::string>> consumers;
    std::set<std::string> graph_outputs;

    Json nodes = Json::array();
    std::map<std::string, Tensor> weights;

private:
    std::string base_dir_;
    int64_t opset_;
    std::map<std::string, ConstValue> consts_;
    std::map<std::string, TensorInfo> values_;
    std::set<std::string> used_node_names_;
    std::set<std::string> used_tensor_names_;
    std::vector<std::pair<std::string, int>> symbols_;
    int counter_ = 0;
};

// GELU exported as erf or tanh arithmetic (Div, Erf, Add, Mul, Mul; see
// onnx_map_elementwise.cpp): the nodes of each recognised chain. The chain's last
// node (by index) is replaced by one fcnrt gelu node x -> y; the others are skipped.
struct GeluChain {
    std::string x, y;
    int erf_node = -1;  // the Erf (or Tanh) node, which names the gelu node
    bool tanh_form = false;
};
struct GeluPatterns {
    std::set<int> skip;
    std::map<int, GeluChain> emit_at;
};
// Needs the initializers already set as constants.
GeluPatterns find_gelu_patterns(const Importer& im, const onnx::GraphProto& g);

// ---- helpers for the mappers ----

// Input `k` of the node, or "" when absent or empty.
std::string input_or_empty(const onnx::NodeProto& node, int k);
// Output `k` of the node, or "" when absent or empty.
std::string output_or_empty(const onnx::NodeProto& node, int k);
// The constant input `k`; throws naming what it is for when it is not known at import.
const ConstValue& const_input(Importer& im, const onnx::NodeProto& node, int k, const char* what);
// The run-time input `k`; throws when it is missing or a constant.
const TensorInfo& value_input(Importer& im, const onnx::NodeProto& node, int k);
// A JSON node skeleton {"op", "name", "inputs", "outputs"}.
Json make_node(const std::string& op, const std::string& name, std::vector<std::string> inputs,
               std::vector<std::string> outputs);
// Throws unless the node has no more than `n` non-empty outputs.
void require_outputs_at_most(const onnx::NodeProto& node, int n);
// ONNX auto_pad for a 2-D window: fills pads [top, left, bottom, right] from the
// input's static H, W (refuses unknown sizes) or leaves `pads` alone for NOTSET.
void apply_auto_pad(const std::string& auto_pad, const Shape& x, const int64_t kernel[2],
                    const int64_t stride[2], const int64_t dilation[2], std::vector<int64_t>& pads);
// A 2-D attribute pair (kernel_shape, strides, dilations) checked to have two elements.
std::vector<int64_t> pair_attr(const Attrs& a, const char* name, std::vector<int64_t> fallback);
// ONNX pads [h_begin, w_begin, h_end, w_end] are fcnrt's [top, left, bottom, right].
std::vector<int64_t> pads_attr(const Attrs& a);

}  // namespace fcnrt::onnx_import
