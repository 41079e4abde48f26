// A standalone activation after an op that has an `activation` attribute moves
// into that op's epilogue: one pass over memory instead of two.
#include "engine/ops/conv_ops.h"
#include "engine/ops/elementwise_ops.h"
#include "engine/passes/passes.h"

namespace fcnrt {

namespace {

// The producer's params with `act` set, or nullptr when it cannot take one.
std::shared_ptr<const OpParams> with_activation(const Node& n, ActivationParams act) {
    const std::string& op = n.op->name;
    if (op == "conv") {
        auto p = std::make_shared<ops::ConvOp>(params_as<ops::ConvOp>(*n.params));
        if (p->k.act.kind != Activation::None) return nullptr;
        p->k.act = act;
        return p;
    }
    if (op == "conv_transpose") {
        auto p = std::make_shared<ops::ConvTransposeOp>(params_as<ops::ConvTransposeOp>(*n.params));
        if (p->k.act.kind != Activation::None) return nullptr;
        p->k.act = act;
        return p;
    }
    if (op == "dense") {
        auto p = std::make_shared<ops::DenseOp>(params_as<ops::DenseOp>(*n.params));
        if (p->act.kind != Activation::None) return nullptr;
        p->act = act;
        return p;
    }
    if (op == "batch_norm") {  // FC-DenseNet's pre-activation: one pass instead of two
        auto p = std::make_shared<ops::BatchNormOp>(params_as<ops::BatchNormOp>(*n.params));
        if (p->act.kind != Activation::None) return nullptr;
        p->act = act;
        return p;
    }
    if (op == "add" || op == "mul") {
        auto p = std::make_shared<ops::BinaryOpParams>(params_as<ops::BinaryOpParams>(*n.params));
        if (p->k.act.kind != Activation::None) return nullptr;
        p->k.act = act;
        return p;
    }
    return nullptr;
}

// The activation a standalone node computes, or None when it is not one that an
// epilogue can take: relu, leaky_relu, sigmoid, tanh, hard_sigmoid and hard_swish
// (the last two as Activation kinds computing hard_sigmoid_f32 / hard_swish_f32,
// the standalone kernels' own float ops, so the fused graph gives the same bits).
ActivationParams standalone_activation(const Node& n) {
    const std::string& op = n.op->name;
    if (op == "relu" || op == "leaky_relu" || op == "sigmoid" || op == "tanh")
        return params_as<ops::ActivationOp>(*n.params).act;
    ActivationParams a;
    if (op == "hard_sigmoid") {
        const auto& p = params_as<ops::HardSigmoidOp>(*n.params);
        a.kind = Activation::HardSigmoid;
        a.alpha = p.alpha;
        a.beta = p.beta;
    } else if (op == "hard_swish") {
        a.kind = Activation::HardSwish;
    }
    return a;
}

}  // namespace

void fuse_activation(Model& model) {
    Graph& g = model.graph;
    for (size_t i = 0; i < g.nodes.size();) {
        const Node& act_node = g.nodes[i];
        const std::string& op = act_node.op->name;
        const ActivationParams act = standalone_activation(act_node);
        if (act.kind == Activation::None) {
            ++i;
            continue;
        }
        const auto consumers = consumer_counts(g);
        int producer = -1;
        for (size_t p = 0; p < i && producer < 0; ++p)
            if (g.nodes[p].outputs.size() == 1 && g.nodes[p].outputs[0] == act_node.inputs[0])
                producer = int(p);
        std::shared_ptr<const OpParams> fused;
        if (producer >= 0 && consumers.at(act_node.inputs[0]) == 1)
            fused = with_activation(g.nodes[producer], act);
        if (!fused) {
            ++i;
            continue;
        }
        Node& p = g.nodes[producer];
        model.notes.push_back("fused " + op + " " + act_node.name + " into " + p.name);
        p.params = fused;
        write_activation(p.json, act);
        p.outputs[0] = act_node.outputs[0];
        p.json["outputs"] = p.outputs;
        g.nodes.erase(g.nodes.begin() + i);
    }
}

}  // namespace fcnrt
