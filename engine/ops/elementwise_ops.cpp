// Activations, add and mul, batch_norm, and the pass-through ops dropout and identity.
#include "engine/ops/elementwise_ops.h"

#include "engine/ops/op_helpers.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/reference/elementwise.h"
#ifdef FCNRT_WITH_CUDA
#include "kernels/cuda/elementwise.h"
#endif

namespace fcnrt {
namespace ops {
namespace {

template <auto Fn>
void run_activation(const KernelArgs& a) {
    invoke_kernel(Fn, a.stream, a.inputs[0], a.outputs[0], params_as<ActivationOp>(*a.params).act);
}
// b is the second input, or (the constant form) the weight `b`.
template <auto Fn>
void run_binary(const KernelArgs& a) {
    const View& b = a.inputs.size() > 1 ? a.inputs[1] : a.weights[0];
    invoke_kernel(Fn, a.stream, a.inputs[0], b, a.outputs[0], params_as<BinaryOpParams>(*a.params).k);
}
template <auto Fn>
void run_hard_sigmoid(const KernelArgs& a) {
    const auto& p = params_as<HardSigmoidOp>(*a.params);
    invoke_kernel(Fn, a.stream, a.inputs[0], a.outputs[0], p.alpha, p.beta);
}
template <auto Fn>
void run_hard_swish(const KernelArgs& a) {
    invoke_kernel(Fn, a.stream, a.inputs[0], a.outputs[0]);
}
template <auto Fn>
void run_prelu(const KernelArgs& a) {
    invoke_kernel(Fn, a.stream, a.inputs[0], a.weights[0].f32(), a.weights[0].numel(),
                  a.outputs[0]);
}
template <auto Fn>
void run_elu(const KernelArgs& a) {
    invoke_kernel(Fn, a.stream, a.inputs[0], a.outputs[0], params_as<EluOp>(*a.params).alpha);
}
template <auto Fn>
void run_gelu(const KernelArgs& a) {
    invoke_kernel(Fn, a.stream, a.inputs[0], a.outputs[0], params_as<GeluOp>(*a.params).tanh_form);
}
template <auto Fn>
void run_batch_norm(const KernelArgs& a) {
    invoke_kernel(Fn, a.stream, a.inputs[0], a.weights[0].f32(), a.weights[1].f32(), a.weights[2].f32(),
       a.weights[3].f32(), params_as<BatchNormOp>(*a.params).epsilon,
       params_as<BatchNormOp>(*a.params).act, a.outputs[0]);
}

std::vector<TensorInfo> same_as_input(const InferContext& c) {
    require_f32(c, 0);
    const Shape& x = c.inputs[0].shape;
    if (x.size() != 2 && x.size() != 4)
        throw Error("input must have rank 2 or 4, got shape " + shape_to_string(x));
    return {{DType::F32, x}};
}

OpDef activation_def(const std::string& name, Activation kind) {
    OpDef d;
    d.name = name;
    d.parse = [kind](const AttrReader& r) {
        auto p = std::make_shared<ActivationOp>();
        p->act.kind = kind;
        if (kind == Activation::LeakyRelu) p->act.alpha = float(r.number("alpha", 0.01));
        return std::shared_ptr<const OpParams>(p);
    };
    d.infer = same_as_input;
    d.flops = [](const InferContext& c, const std::vector<TensorInfo>&) {
        return count(c.inputs[0].shape);
    };
    set_kernels(d, run_activation<reference::activation>, run_activation<cpu::activation>,
                FCNRT_CUDA_KERNEL(run_activation<cuda::activation>));
    return d;
}

// hard_sigmoid (alpha 0.2, beta 0.5) and hard_swish, as ONNX HardSigmoid and
// HardSwish; no CUDA kernel yet.
OpDef hard_sigmoid_def() {
    OpDef d;
    d.name = "hard_sigmoid";
    d.parse = [](const AttrReader& r) {
        auto p = std::make_shared<HardSigmoidOp>();
        p->alpha = float(r.number("alpha", 0.2));
        p->beta = float(r.number("beta", 0.5));
        return std::shared_ptr<const OpParams>(p);
    };
    d.infer = same_as_input;
    d.flops = [](const InferContext& c, const std::vector<TensorInfo>&) {
        return 2.0 * count(c.inputs[0].shape);
    };
    set_kernels(d, run_hard_sigmoid<reference::hard_sigmoid>, run_hard_sigmoid<cpu::hard_sigmoid>,
                FCNRT_CUDA_KERNEL(run_hard_sigmoid<cuda::hard_sigmoid>));
    return d;
}

OpDef hard_swish_def() {
    OpDef d;
    d.name = "hard_swish";
    d.parse = [](const AttrReader&) { return std::make_shared<const OpParams>(); };
    d.infer = same_as_input;
    d.flops = [](const InferContext& c, const std::vector<TensorInfo>&) {
        return 3.0 * count(c.inputs[0].shape);
    };
    set_kernels(d, run_hard_swish<reference::hard_swish>, run_hard_swish<cpu::hard_swish>,
                FCNRT_CUDA_KERNEL(run_hard_swish<cuda::hard_swish>));
    return d;
}

// prelu (ONNX PRelu with a per-channel or scalar slope), elu (ONNX Elu) and
// gelu (ONNX Gelu, approximate "none" or "tanh"): fcnrt extensions.
OpDef prelu_def() {
    OpDef d;
    d.name = "prelu";
    d.weights = {{"slope", false}};
    d.parse = [](const AttrReader&) { return std::make_shared<const OpParams>(); };
    d.infer = [](const InferContext& c) {
        auto out = same_as_input(c);
        const Tensor* s = c.weights[0];
        const int64_t ch = c.inputs[0].shape[1];
        const bool ok = s->dtype() == DType::F32 && s->shape().size() == 1 &&
                        (s->shape()[0] == 1 || s->shape()[0] == ch || !known(ch));
        if (!ok)
            throw Error("weight 'slope' has shape " + shape_to_string(s->shape()) +
                        ", expected [1] or [C] = [" + (known(ch) ? std::to_string(ch) : "?") +
                        "] (float32)");
        return out;
    };
    d.flops = [](const InferContext& c, const std::vector<TensorInfo>&) {
        return count(c.inputs[0].shape);
    };
    set_kernels(d, run_prelu<reference::prelu>, run_prelu<cpu::prelu>,
                FCNRT_CUDA_KERNEL(run_prelu<cuda::prelu>));
    return d;
}

OpDef elu_def() {
    OpDef d;
    d.name = "elu";
    d.parse = [](const AttrReader& r) {
        auto p = std::make_shared<EluOp>();
        p->alpha = float(r.number("alpha", 1.0));
        return std::shared_ptr<const OpParams>(p);
    };
    d.infer = same_as_input;
    d.flops = [](const InferContext& c, const std::vector<TensorInfo>&) {
        return 3.0 * count(c.inputs[0].shape);
    };
    set_kernels(d, run_elu<reference::elu>, run_elu<cpu::elu>,
                FCNRT_CUDA_KERNEL(run_elu<cuda::elu>));
    return d;
}

OpDef gelu_def() {
    OpDef d;
    d.name = "gelu";
    d.parse = [](const AttrReader& r) {
        auto p = std::make_shared<GeluOp>();
        p->tanh_form = r.choice("approximate", {"none", "tanh"}, "none") == "tanh";
        return std::shared_ptr<const OpParams>(p);
    };
    d.infer = same_as_input;
    d.flops = [](const InferContext& c, const std::vector<TensorInfo>&) {
        return 8.0 * count(c.inputs[0].shape);
    };
    set_kernels(d, run_gelu<reference::gelu>, run_gelu<cpu::gelu>,
                FCNRT_CUDA_KERNEL(run_gelu<cuda::gelu>));
    return d;
}

// add/mul take b as a second input or, an fcnrt extension for constants (ONNX
// initializers), as the weight named by attribute "b": exactly one of the two.
// a and b broadcast NumPy-style (an fcnrt extension of the spec's [N, C, 1, 1]).
OpDef binary_def(const std::string& name, BinaryOp op) {
    OpDef d;
    d.name = name;
    d.min_inputs = 1;
    d.max_inputs = 2;
    d.weights = {{"b", true}};
    d.parse = [op](const AttrReader& r) {
        auto p = std::make_shared<BinaryOpParams>();
        p->k.op = op;
        p->k.act = r.activation();
        return std::shared_ptr<const OpParams>(p);
    };
    d.infer = [name](const InferContext& c) {
        require_f32(c, 0);
        const bool b_is_weight = c.inputs.size() == 1;
        if (b_is_weight != (c.weights[0] != nullptr))
            throw Error(c.weights[0] ? "give b as an input or as weight 'b', not both"
                                     : name + " takes 2 inputs, got 1 (or 1 input and weight 'b')");
        if (!b_is_weight) require_f32(c, 1);
        if (b_is_weight && c.weights[0]->dtype() != DType::F32)
            throw Error("weight 'b' must be float32");
        const Shape& a = c.inputs[0].shape;
        const Shape& b = b_is_weight ? c.weights[0]->shape() : c.inputs[1].shape;
        if (a.size() != 2 && a.size() != 4)
            throw Error("input a must have rank 2 or 4, got shape " + shape_to_string(a));
        if (b.size() != a.size())
            throw Error("input b has shape " + shape_to_string(b) +
                        "; it must have a's rank (a is " + shape_to_string(a) + ")");
        // NumPy broadcasting: per dim equal, or one side 1. An unknown dim against
        // a known one other than 1 takes the known size.
        Shape y(a.size());
        for (size_t i = 0; i < a.size(); ++i) {
            if (a[i] == b[i] || b[i] == 1)
                y[i] = a[i];
            else if (a[i] == 1)
                y[i] = b[i];
            else if (!known(a[i]))
                y[i] = b[i];
            else if (!known(b[i]))
                y[i] = a[i];
            else
                throw Error("inputs of shapes " + shape_to_string(a) + " and " +
                            shape_to_string(b) + " do not broadcast (dim " + std::to_string(i) +
                            ": " + std::to_string(a[i]) + " vs " + std::to_string(b[i]) +
                            "; each dim must be equal or 1 on one side)");
        }
        return std::vector<TensorInfo>{{DType::F32, y}};
    };
    d.flops = [](const InferContext&, const std::vector<TensorInfo>& out) {
        return count(out[0].shape);
    };
    set_kernels(d, run_binary<reference::binary>, run_binary<cpu::binary>,
                FCNRT_CUDA_KERNEL(run_binary<cuda::binary>));
    return d;
}

OpDef batch_norm_def() {
    OpDef d;
    d.name = "batch_norm";
    d.weights = {{"scale", false}, {"bias", false}, {"mean", false}, {"var", false}};
    d.parse = [](const AttrReader& r) {
        auto p = std::make_shared<BatchNormOp>();
        p->epsilon = float(r.number("epsilon", 1e-5));
        if (p->epsilon < 0) throw Error("attribute 'epsilon' must not be negative");
        p->act = r.activation();
        return std::shared_ptr<const OpParams>(p);
    };
    d.infer = [](const InferContext& c) {
        auto out = same_as_input(c);
        const int64_t ch = c.inputs[0].shape[1];
        const char* keys[4] = {"scale", "bias", "mean", "var"};
        for (size_t i = 0; i < 4; ++i) require_weight_shape(c, i, keys[i], {ch});
        for (size_t i = 0; i < 4; ++i)
            if (c.weights[i]->shape().size() != 1)
                throw Error(std::string("weight '") + keys[i] + "' must have rank 1");
        return out;
    };
    d.flops = [](const InferContext& c, const std::vector<TensorInfo>&) {
        return 2.0 * count(c.inputs[0].shape);
    };
    set_kernels(d, run_batch_norm<reference::batch_norm>, run_batch_norm<cpu::batch_norm>,
                FCNRT_CUDA_KERNEL(run_batch_norm<cuda::batch_norm>));
    return d;
}

OpDef pass_through_def(const std::string& name) {
    OpDef d;
    d.name = name;
    d.parse = [](const AttrReader& r) {
        // dropout's ratio is accepted and ignored: inference is eval mode.
        r.number("ratio", 0.5);
        return std::make_shared<const OpParams>();
    };
    d.infer = [](const InferContext& c) { return std::vector<TensorInfo>{c.inputs.at(0)}; };
    d.flops = [](const InferContext&, const std::vector<TensorInfo>&) { return 0.0; };
    d.output_aliases_input = true;
    return d;
}

}  // namespace
}  // namespace ops

void register_elementwise_ops(std::map<std::string, OpDef>& ops) {
    using ops::activation_def;
    for (OpDef d :
         {activation_def("relu", Activation::Relu), activation_def("sigmoid", Activation::Sigmoid),
          activation_def("tanh", Activation::Tanh),
          activation_def("leaky_relu", Activation::LeakyRelu), ops::hard_sigmoid_def(),
          ops::hard_swish_def(), ops::prelu_def(), ops::elu_def(), ops::gelu_def(),
          ops::binary_def("add", BinaryOp::Add), ops::binary_def("mul", BinaryOp::Mul),
          ops::batch_norm_def(), ops::pass_through_def("dropout"),
          ops::pass_through_def("identity")})
        ops.emplace(d.name, std::move(d));
}

}  // namespace fcnrt
