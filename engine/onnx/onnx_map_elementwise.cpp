// ONNX activations, BatchNormalization, Add/Mul (and Sub/Div by a constant),
// Dropout and Identity onto fcnrt's elementwise ops.
//
// Broadcasting: fcnrt's add and mul take b of a's shape or [N, C, 1, 1]. Two
// run-time operands are ordered so the smaller is b (both ops commute). A
// constant operand becomes the weight `b` of the node (fcnrt's constant form),
// expanded at import to [N, C, 1, 1] when it is constant over H and W, or to a's
// whole shape otherwise; either needs those dims static.
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

bool is_per_channel_of(const Shape& b, const Shape& a) {
    return a.size() == 4 && b.size() == 4 && b[0] == a[0] && b[1] == a[1] && b[2] == 1 && b[3] == 1;
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
        std::string first = in0, second = in1;
        if (a != b && is_per_channel_of(a, b)) std::swap(first, second);
        else if (a != b && !is_per_channel_of(b, a))
            throw Error("operands of shapes " + shape_to_string(a) + " and " + shape_to_string(b) +
                        "; fcnrt broadcasts only [N, C, 1, 1] over [N, C, H, W]");
        im.emit(make_node(op, name, {first, second}, {n.output(0)}));
        return;
    }
    if (c0 && !commutes)
        throw Error(onnx_op + " with a constant first operand is not supported");
    const std::string x_name = c0 ? in1 : in0;
    const ConstValue& c = im.constant(c0 ? in0 : in1);
    const Shape& x = im.value(x_name).shape;
    if (c.dims.size() > x.size())
        throw Error("constant operand " + shape_to_string(c.dims) + " has a higher rank than " + shape_to_string(x));
    bool over_hw_constant = x.size() == 4;
    for (size_t k = 0; k < c.dims.size(); ++k) {
        const size_t ax = k + x.size() - c.dims.size();
        if (c.dims[k] != 1 && c.dims[k] != x[ax])
            throw Error("constant operand " + shape_to_string(c.dims) + " does not broadcast to " +
                        shape_to_string(x) + " without growing it");
        if (ax >= 2 && c.dims[k] != 1) over_hw_constant = false;
    }
    Shape target = over_hw_constant ? Shape{x[0], x[1], 1, 1} : x;
    for (int64_t d : target)
        if (d == kUnknownDim)
            throw Error("a constant operand needs the static shape of '" + x_name + "' (" +
                        shape_to_string(x) + ") to become an fcnrt weight; fix the ONNX input dims");
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
    m["BatchNormalization"] = map_batch_norm;
    m["Dropout"] = map_pass_through;
    m["Identity"] = map_pass_through;
}

}  // namespace fcnrt::onnx_import
