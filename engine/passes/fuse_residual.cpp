// add(conv_out, r) (either operand order) becomes the conv's residual input:
// y = act(conv(x) + bias + r) in the conv's epilogue, one pass over memory
// instead of two. The add's activation moves into the conv.
//
// Shapes are compared as inferred from the declared input shapes; where both
// operands have the same unknown dims the fused conv checks them at run time.
#include "engine/ops/conv_ops.h"
#include "engine/ops/elementwise_ops.h"
#include "engine/passes/passes.h"

#include <algorithm>

namespace fcnrt {

namespace {

int producer_of(const Graph& g, const std::string& tensor) {
    for (size_t i = 0; i < g.nodes.size(); ++i)
        for (const std::string& t : g.nodes[i].outputs)
            if (t == tensor) return int(i);
    return -1;
}

}  // namespace

void fuse_residual(Model& model) {
    Graph& g = model.graph;
    const auto shapes = infer_shapes(model, declared_input_shapes(g));
    for (size_t i = 0; i < g.nodes.size(); ++i) {
        const Node& add = g.nodes[i];
        if (add.op->name != "add" || add.inputs.size() != 2 || add.outputs.size() != 1 ||
            add.inputs[0] == add.inputs[1])
            continue;
        const TensorInfo& a = shapes.at(add.inputs[0]);
        const TensorInfo& b = shapes.at(add.inputs[1]);
        if (a.dtype != DType::F32 || b.dtype != DType::F32 || a.shape != b.shape || a.shape.size() != 4)
            continue;
        const auto consumers = consumer_counts(g);
        int conv = -1, slot = -1;
        for (int s = 0; s < 2 && conv < 0; ++s) {
            const std::string& t = add.inputs[s];
            const int p = producer_of(g, t);
            if (p < 0) continue;
            const Node& c = g.nodes[p];
            if (c.op->name != "conv" || c.inputs.size() != 1 || c.outputs.size() != 1) continue;
            if (params_as<ops::ConvOp>(*c.params).k.act.kind != Activation::None) continue;
            if (consumers.at(t) != 1) continue;
            if (std::find(g.outputs.begin(), g.outputs.end(), t) != g.outputs.end()) continue;
            conv = p;
            slot = s;
        }
        if (conv < 0) continue;

        const ActivationParams act = params_as<ops::BinaryOpParams>(*add.params).k.act;
        const std::string residual = add.inputs[1 - slot];
        const std::string output = add.outputs[0];
        const std::string add_name = add.name;
        Node fused = std::move(g.nodes[conv]);
        auto params = std::make_shared<ops::ConvOp>(params_as<ops::ConvOp>(*fused.params));
        params->k.act = act;
        fused.params = params;
        fused.inputs.push_back(residual);
        fused.json["inputs"] = fused.inputs;
        if (act.kind != Activation::None) write_activation(fused.json, act);
        fused.outputs[0] = output;
        fused.json["outputs"] = fused.outputs;
        model.notes.push_back("fused add " + add_name + " into conv " + fused.name + " as a residual");
        // The conv runs where the add ran: the residual is produced by then, and
        // everything reading the output comes later.
        g.nodes[i] = std::move(fused);
        g.nodes.erase(g.nodes.begin() + conv);
        --i;  // g.nodes[i] is now the node after the fused conv
    }
}

}  // namespace fcnrt
