// ONNX activations, BatchNormalization, Add/Mul (and Sub/Div by a constant),
// Dropout and Identity onto fcnrt's elementwise ops.
//
// Broadcasting: fcnrt's add and mul broadcast NumPy-style (any dim of size 1,
// either side) between operands of the same rank. A constant operand becomes the
// weight `b` of the node (fcnrt's constant form), kept at its own size with
// leading 1s up to the other operand's rank (Sub and Div fold their sign or
// reciprocal into it).
#include <algorithm>
#include <cmath>

#include "engine/onnx/onnx_importer.h"

namespace fcnrt::onnx_import {

namespace {

void map_activation(Importer& im, const onnx::NodeProto& n, const std::string& op) {
    const Attrs a(n);
    value_input(im, n, 0);
    Json j = make_node(op, im.node_name(n), {n.input(0)}, {n.output(0)});
    if (op == "leaky_relu") j["alpha"] = a.number("alpha", 0.01);
    if (op == "hard_sigmoid") {
        j["alpha"] = a.number("alpha", 0.2);
        j["beta"] = a.number("beta", 0.5);
    }
    im.emit(std::move(j));
}

// PRelu with a slope known at import: per channel (after ONNX's right-aligned
// broadcast to x, only the channel axis differs from 1) or a single value.
void map_prelu(Importer& im, const onnx::NodeProto& n) {
    const Shape& x = value_input(im, n, 0).shape;
    const ConstValue& slope = const_input(im, n, 1, "slope");
    if (slope.dims.size() > x.size())
        throw Error("slope " + shape_to_string(slope.dims) + " has a higher rank than x " +
                    shape_to_string(x));
    bool per_channel_or_scalar = true;
    for (size_t k = 0; k < slope.dims.size(); ++k) {
        const size_t ax = k + x.size() - slope.dims.size();
        if (slope.dims[k] != 1 && (ax != 1 || slope.dims[k] != x[1])) per_channel_or_scalar = false;
    }
    if (!per_channel_or_scalar)
        throw Error("slope of shape " + shape_to_string(slope.dims) + " for x of shape " +
                    shape_to_string(x) +
                    "; fcnrt's prelu takes one slope per channel ([C, 1, 1]) or a single slope");
    Json j = make_node("prelu", im.node_name(n), {n.input(0)}, {n.output(0)});
    j["slope"] = im.add_weight(n.input(1), slope, {slope.numel()});
    im.emit(std::move(j));
}

void map_elu(Importer& im, const onnx::NodeProto& n) {
    const Attrs a(n);
    value_input(im, n, 0);
    Json j = make_node("elu", im.node_name(n), {n.input(0)}, {n.output(0)});
    j["alpha"] = a.number("alpha", 1.0);
    im.emit(std::move(j));
}

// InstanceNormalization (scale and B known at import): of a rank-4 run-time
// tensor, fcnrt's group_norm with one group per channel; of the [N, G, -1] view
// opened by GroupNorm's export (a pending group norm, onnx_map_shape.cpp), the
// middle step of that pattern: its per-group scale and B become per-channel
// weights, and the closing Reshape emits one group_norm.
void map_instance_norm(Importer& im, const onnx::NodeProto& n) {
    const Attrs a(n);
    const double epsilon = a.number("epsilon", 1e-5);
    const ConstValue& scale = const_input(im, n, 1, "scale");
    const ConstValue& bias = const_input(im, n, 2, "B");
    auto pending = im.pending_group_norm.find(n.input(0));
    if (pending != im.pending_group_norm.end()) {
        Importer::PendingGroupNorm p = pending->second;
        if (p.normalised) throw Error("internal: group norm view normalised twice");
        const int64_t groups = p.groups, channels = im.value(p.x).shape[1];
        if (scale.numel() != groups || bias.numel() != groups)
            throw Error("scale and B must have " + std::to_string(groups) +
                        " elements (one per group of the [N, G, -1] view)");
        const auto& readers = im.consumers[n.output(0)];
        if (readers.size() != 1 || readers[0] != "Reshape" || im.graph_outputs.count(n.output(0)))
            throw Error("InstanceNormalization of a [N, G, -1] view must be read by one Reshape "
                        "back to the input's shape (PyTorch's GroupNorm export)");
        Tensor s(DType::F32, {channels}), b(DType::F32, {channels});
        for (int64_t c = 0; c < channels; ++c) {
            s.f32()[c] = float(scale.as_double(c / (channels / groups)));
            b.f32()[c] = float(bias.as_double(c / (channels / groups)));
        }
        p.normalised = true;
        p.scale = im.add_weight(n.input(1), std::move(s));
        p.bias = im.add_weight(n.input(2), std::move(b));
        p.epsilon = epsilon;
        p.name = im.node_name(n);
        im.pending_group_norm[n.output(0)] = p;
        return;
    }
    const Shape& x = value_input(im, n, 0).shape;
    if (x.size() != 4)
        throw Error("InstanceNormalization of rank " + std::to_string(x.size()) +
                    "; fcnrt normalises NCHW (rank-4) tensors, or GroupNorm's [N, G, -1] view");
    const int64_t channels = scale.numel();
    if (bias.numel() != channels || (x[1] != kUnknownDim && x[1] != channels))
        throw Error("scale and B must have one element per channel of x " + shape_to_string(x));
    Json j = make_node("group_norm", im.node_name(n), {n.input(0)}, {n.output(0)});
    j["groups"] = channels;
    j["epsilon"] = epsilon;
    j["scale"] = im.add_weight(n.input(1), scale, {channels});
    j["bias"] = im.add_weight(n.input(2), bias, {channels});
    im.emit(std::move(j));
}

// Gelu (opset 20): approximate "none" (erf) or "tanh".
void map_gelu(Importer& im, const onnx::NodeProto& n) {
    const Attrs a(n);
    value_input(im, n, 0);
    const std::string approximate = a.text("approximate", "none");
    if (approximate != "none" && approximate != "tanh")
        throw Error("Gelu approximate='" + approximate + "'; expected 'none' or 'tanh'");
    Json j = make_node("gelu", im.node_name(n), {n.input(0)}, {n.output(0)});
    j["approximate"] = approximate;
    im.emit(std::move(j));
}

void map_batch_norm(Importer& im, const onnx::NodeProto& n) {
    const Attrs a(n);
    if (a.integer("training_mode", 0) != 0) throw Error("training_mode=1 is not supported (inference only)");
    require_outputs_at_most(n, 1);
    value_input(im, n, 0);
    Json j = make_node("batch_norm", im.node_name(n), {n.input(0)}, {n.output(0)});
    const char* keys[4] = {"scale", "bias", "mean", "var"};
    for (int k = 0; k < 4; ++k) {
        const ConstValue& v = const_input(im, n, k + 1, keys[k]);
        j[keys[k]] = im.add_weight(n.input(k + 1), v, {v.numel()});
    }
    j["epsilon"] = a.number("epsilon", 1e-5);
    im.emit(std::move(j));
}

// The constant `c` broadcast (numpy, right-aligned) to `target`.
Tensor expand_to(const ConstValue& c, const Shape& target, double sign_or_inverse, bool invert) {
    Tensor t(DType::F32, target);
    const size_t r = target.size();
    std::vector<int64_t> idx(r, 0);
    for (int64_t flat = 0; flat < t.numel(); ++flat) {
        int64_t src = 0, stride = 1;
        for (int k = int(c.dims.size()) - 1; k >= 0; --k) {
            const int64_t i = c.dims[k] == 1 ? 0 : idx[k + r - c.dims.size()];
            src += i * stride;
            stride *= c.dims[k];
        }
        const double v = c.as_double(src);
        t.f32()[flat] = float(invert ? 1.0 / v : sign_or_inverse * v);
        for (int k = int(r) - 1; k >= 0; --k) {
            if (++idx[k] < target[k]) break;
            idx[k] = 0;
        }
    }
    return t;
}

// Each dim of `a` and `b` (same rank) equal, 1 on one side, or unknown.
bool broadcastable(const Shape& a, const Shape& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (a[i] != b[i] && a[i] != 1 && b[i] != 1 && a[i] != kUnknownDim && b[i] != kUnknownDim)
            return false;
    return true;
}

void map_binary(Importer& im, const onnx::NodeProto& n, const std::string& onnx_op) {
    const std::string in0 = input_or_empty(n, 0), in1 = input_or_empty(n, 1);
    const bool c0 = im.is_const(in0), c1 = im.is_const(in1);
    const bool commutes = onnx_op == "Add" || onnx_op == "Mul";
    const std::string op = onnx_op == "Add" || onnx_op == "Sub" ? "add" : "mul";
    const std::string name = im.node_name(n);
    if (!c0 && !c1) {
        if (!commutes) throw Error(onnx_op + " of two run-time tensors is not supported");
        const Shape& a = im.value(in0).shape;
        const Shape& b = im.value(in1).shape;
        if (a.size() != b.size())
            throw Error("operands of ranks " + std::to_string(a.size()) + " and " +
                        std::to_string(b.size()) + " (" + shape_to_string(a) + ", " +
                        shape_to_string(b) +
                        "); fcnrt broadcasts run-time operands of the same rank only");
        if (!broadcastable(a, b))
            throw Error("operands of shapes " + shape_to_string(a) + " and " + shape_to_string(b) +
                        " do not broadcast");
        im.emit(make_node(op, name, {in0, in1}, {n.output(0)}));
        return;
    }
    if (c0 && !commutes)
        throw Error(onnx_op + " with a constant first operand is not supported");
    const std::string x_name = c0 ? in1 : in0;
    const ConstValue& c = im.constant(c0 ? in0 : in1);
    const Shape& x = im.value(x_name).shape;
    if (c.dims.size() > x.size())
        throw Error("constant operand " + shape_to_string(c.dims) + " has a higher rank than " + shape_to_string(x));
    // The constant keeps its own size, right-aligned to x's rank (NumPy): fcnrt's
    // add/mul broadcast it at run time, so x's dims need not be static.
    Shape target(x.size() - c.dims.size(), 1);
    target.insert(target.end(), c.dims.begin(), c.dims.end());
    if (!broadcastable(x, target))
        throw Error("constant operand " + shape_to_string(c.dims) + " does not broadcast to " +
                    shape_to_string(x));
    Tensor w = expand_to(c, target, onnx_op == "Sub" ? -1.0 : 1.0, onnx_op == "Div");
    Json j = make_node(op, name, {x_name}, {n.output(0)});
    j["b"] = im.add_weight(c0 ? in0 : in1, std::move(w));
    im.emit(std::move(j));
}

void map_pass_through(Importer& im, const onnx::NodeProto& n) {
    const std::string mask = output_or_empty(n, 1);
    if (!mask.empty() && (im.consumers.count(mask) || im.graph_outputs.count(mask)))
        throw Error("Dropout's mask output is read; fcnrt's dropout (inference) has none");
    value_input(im, n, 0);
    im.emit(make_node("identity", im.node_name(n), {n.input(0)}, {n.output(0)}));
}

}  // namespace

void register_elementwise_mappers(std::map<std::string, OpMapper>& m) {
    const std::pair<const char*, const char*> activations[] = {
        {"Relu", "relu"},       {"Sigmoid", "sigmoid"},           {"Tanh", "tanh"},
        {"LeakyRelu", "leaky_relu"}, {"HardSigmoid", "hard_sigmoid"}, {"HardSwish", "hard_swish"}};
    for (const auto& [onnx_op, ours] : activations) {
        const std::string op = ours;
        m[onnx_op] = [op](Importer& im, const onnx::NodeProto& n) { map_activation(im, n, op); };
    }
    for (const char* op : {"Add", "Mul", "Sub", "Div"}) {
        const std::string o = op;
        m[op] = [o](Importer& im, const onnx::NodeProto& n) { map_binary(im, n, o); };
    }
    m["PRelu"] = map_prelu;
    m["Elu"] = map_elu;
    m["Gelu"] = map_gelu;
    m["BatchNormalization"] = map_batch_norm;
    m["InstanceNormalization"] = map_instance_norm;
    m["Dropout"] = map_pass_through;
    m["Identity"] = map_pass_through;
}

// ---- GELU exported as erf arithmetic ---------------------------------------------
//
// PyTorch exports GELU (approximate "none") before opset 20 as
//   Mul(Mul(x, Add(Erf(Div(x, sqrt 2)), 1)), 0.5)
// and some exporters as Mul(Mul(x, 0.5), Add(Erf(Mul(x, 1/sqrt 2)), 1)); either
// operand order. GELU approximate "tanh" is exported as
//   Mul(0.5, Mul(x, Add(1, Tanh(Mul(sqrt(2/pi), Add(x, Mul(0.044715, Mul(x, Mul(x, x)))))))))
// The chain becomes one gelu node when every intermediate has no other reader.
// A lone Erf stays unsupported (a lone Tanh is fcnrt's tanh).
namespace {

struct GraphIndex {
    std::map<std::string, int> producer;
    std::map<std::string, std::vector<int>> readers;
    std::set<std::string> outputs;
};

// A scalar known at import (an initializer or a Constant node's value).
bool scalar_value(const Importer& im, const onnx::GraphProto& g, const GraphIndex& gi,
                  const std::string& name, double& out) {
    if (im.is_const(name)) {
        const ConstValue& c = im.constant(name);
        if (c.numel() != 1) return false;
        out = c.as_double(0);
        return true;
    }
    auto p = gi.producer.find(name);
    if (p == gi.producer.end()) return false;
    const onnx::NodeProto& n = g.node(p->second);
    if (n.op_type() != "Constant") return false;
    const Attrs a(n);
    if (a.has("value_float")) {
        out = a.number("value_float", 0);
        return true;
    }
    const onnx::TensorProto* t = a.has("value") ? a.tensor("value") : nullptr;
    if (!t) return false;
    const ConstValue c = const_from_tensor(*t, im.base_dir());
    if (c.numel() != 1) return false;
    out = c.as_double(0);
    return true;
}

bool near(double v, double target) {
    return std::abs(v - target) <= 1e-6 * std::abs(target);
}

// The one reader of `t` (not a graph output), or -1.
int sole_reader(const GraphIndex& gi, const std::string& t) {
    auto r = gi.readers.find(t);
    if (r == gi.readers.end() || r->second.size() != 1 || gi.outputs.count(t)) return -1;
    return r->second[0];
}

// For a binary node with inputs {a, b}: the input that is not `known` ("" when neither).
std::string other_input(const onnx::NodeProto& n, const std::string& known) {
    if (n.input_size() != 2) return "";
    if (n.input(0) == known) return n.input(1);
    if (n.input(1) == known) return n.input(0);
    return "";
}

// The run-time operand of a binary op whose other operand is a scalar ~ target.
std::string operand_with_scalar(const Importer& im, const onnx::GraphProto& g, const GraphIndex& gi,
                                const onnx::NodeProto& n, double target, bool either_side) {
    if (n.input_size() != 2) return "";
    double v;
    if (scalar_value(im, g, gi, n.input(1), v) && near(v, target)) return n.input(0);
    if (either_side && scalar_value(im, g, gi, n.input(0), v) && near(v, target)) return n.input(1);
    return "";
}

}  // namespace

GeluPatterns find_gelu_patterns(const Importer& im, const onnx::GraphProto& g) {
    GraphIndex gi;
    for (int k = 0; k < g.node_size(); ++k) {
        for (const std::string& o : g.node(k).output()) gi.producer[o] = k;
        for (const std::string& i : g.node(k).input())
            if (!i.empty()) gi.readers[i].push_back(k);
    }
    for (const auto& o : g.output()) gi.outputs.insert(o.name());
    GeluPatterns found;
    const double sqrt2 = std::sqrt(2.0), sqrt_2_over_pi = std::sqrt(2.0 / 3.14159265358979323846);
    // The node producing `t` when `t` has it as its only reader, else -1.
    auto sole_producer = [&](const std::string& t, int reader) {
        auto p = gi.producer.find(t);
        return p == gi.producer.end() || sole_reader(gi, t) != reader ? -1 : p->second;
    };
    for (int kf = 0; kf < g.node_size(); ++kf) {
        const onnx::NodeProto& f = g.node(kf);
        const bool is_erf = f.op_type() == "Erf", is_tanh = f.op_type() == "Tanh";
        if ((!is_erf && !is_tanh) || f.input_size() != 1 || f.output_size() != 1) continue;
        const int kp = sole_producer(f.input(0), kf);
        if (kp < 0) continue;
        const onnx::NodeProto& scale = g.node(kp);
        std::string x;
        std::vector<int> chain = {kp, kf};
        if (is_erf) {
            // erf(x / sqrt 2) or erf(x * (1 / sqrt 2))
            if (scale.op_type() == "Div")
                x = operand_with_scalar(im, g, gi, scale, sqrt2, false);
            else if (scale.op_type() == "Mul")
                x = operand_with_scalar(im, g, gi, scale, 1.0 / sqrt2, true);
        } else if (scale.op_type() == "Mul") {
            // tanh(sqrt(2/pi) * (x + 0.044715 * (x * (x * x)))), torch's tanh-form export
            const std::string s = operand_with_scalar(im, g, gi, scale, sqrt_2_over_pi, true);
            const int ks = s.empty() ? -1 : sole_producer(s, kp);
            if (ks < 0 || g.node(ks).op_type() != "Add" || g.node(ks).input_size() != 2) continue;
            for (int side = 0; side < 2 && x.empty(); ++side) {
                const std::string cand = g.node(ks).input(side), kc_name = g.node(ks).input(1 - side);
                const int kk = sole_producer(kc_name, ks);
                if (kk < 0 || g.node(kk).op_type() != "Mul") continue;
                const std::string cube = operand_with_scalar(im, g, gi, g.node(kk), 0.044715, true);
                const int kc = cube.empty() ? -1 : sole_producer(cube, kk);
                if (kc < 0 || g.node(kc).op_type() != "Mul") continue;
                const std::string sq = other_input(g.node(kc), cand);
                const int kq = sq.empty() ? -1 : sole_producer(sq, kc);
                if (kq < 0 || g.node(kq).op_type() != "Mul" || g.node(kq).input_size() != 2 ||
                    g.node(kq).input(0) != cand || g.node(kq).input(1) != cand)
                    continue;
                x = cand;
                chain.insert(chain.end(), {ks, kk, kc, kq});
            }
        }
        if (x.empty()) continue;
        // The tail: 1 + f, times x, times 0.5 (in either nesting).
        const int ka = sole_reader(gi, f.output(0));
        if (ka < 0 || g.node(ka).op_type() != "Add" ||
            operand_with_scalar(im, g, gi, g.node(ka), 1.0, true) != f.output(0))
            continue;
        const int km = sole_reader(gi, g.node(ka).output(0));
        if (km < 0 || g.node(km).op_type() != "Mul") continue;
        const onnx::NodeProto& mul = g.node(km);
        const std::string other = other_input(mul, g.node(ka).output(0));
        chain.insert(chain.end(), {ka, km});
        std::string y;
        if (other == x) {
            // Mul(x, 1 + f) then Mul(., 0.5)
            const int kh = sole_reader(gi, mul.output(0));
            if (kh < 0 || g.node(kh).op_type() != "Mul" ||
                operand_with_scalar(im, g, gi, g.node(kh), 0.5, true) != mul.output(0))
                continue;
            chain.push_back(kh);
            y = g.node(kh).output(0);
        } else {
            // Mul(Mul(x, 0.5), 1 + f)
            const int kh = other.empty() ? -1 : sole_producer(other, km);
            if (kh < 0 || g.node(kh).op_type() != "Mul" ||
                operand_with_scalar(im, g, gi, g.node(kh), 0.5, true) != x)
                continue;
            chain.push_back(kh);
            y = mul.output(0);
        }
        const int last = *std::max_element(chain.begin(), chain.end());
        bool taken = false;
        for (int k : chain) taken = taken || found.skip.count(k) || found.emit_at.count(k);
        if (taken) continue;
        for (int k : chain)
            if (k != last) found.skip.insert(k);
        found.emit_at[last] = {x, y, kf, is_tanh};
    }
    return found;
}

}  // namespace fcnrt::onnx_import
