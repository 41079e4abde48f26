#include "engine/graph.h"

#include <set>

#include "engine/error.h"

namespace fcnrt {

std::vector<const Tensor*> node_weights(const Model& model, const Node& node) {
    std::vector<const Tensor*> out;
    for (const std::string& name : node.weights) {
        if (name.empty()) {
            out.push_back(nullptr);
            continue;
        }
        auto it = model.weights.find(name);
        if (it == model.weights.end())
            throw Error(model.path, node.name, "weight '" + name + "' is not in the weights file");
        out.push_back(&it->second);
    }
    return out;
}

void sort_topologically(Graph& graph) {
    std::map<std::string, int> producer;  // tensor -> node index; -1 for graph inputs
    for (const GraphInput& in : graph.inputs) {
        if (!producer.emplace(in.name, -1).second)
            throw Error("graph input '" + in.name + "' is declared twice");
    }
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
        for (const std::string& t : graph.nodes[i].outputs) {
            auto [it, fresh] = producer.emplace(t, int(i));
            if (!fresh) {
                const std::string other =
                    it->second < 0 ? "the graph input" : "node " + graph.nodes[it->second].name;
                throw Error("", graph.nodes[i].name,
                            "output '" + t + "' is already produced by " + other);
            }
        }
    }
    for (const Node& n : graph.nodes)
        for (const std::string& t : n.inputs)
            if (!producer.count(t))
                throw Error("", n.name, "input '" + t + "' is produced by no node or graph input");
    for (const std::string& t : graph.outputs)
        if (!producer.count(t))
            throw Error("graph output '" + t + "' is produced by no node or graph input");

    // Depth-first post-order from each node in file order (stable, deterministic).
    enum State { kNew, kActive, kDone };
    std::vector<State> state(graph.nodes.size(), kNew);
    std::vector<Node> order;
    order.reserve(graph.nodes.size());
    for (size_t root = 0; root < graph.nodes.size(); ++root) {
        if (state[root] != kNew) continue;
        // Explicit stack: (node, next input to visit); deep graphs must not overflow.
        std::vector<std::pair<int, size_t>> stack = {{int(root), 0}};
        state[root] = kActive;
        while (!stack.empty()) {
            auto& [node, next] = stack.back();
            const Node& n = graph.nodes[node];
            if (next < n.inputs.size()) {
                const int p = producer.at(n.inputs[next++]);
                if (p < 0 || state[p] == kDone) continue;
                if (state[p] == kActive)
                    throw Error("", n.name, "is part of a cycle (through input '" +
                                                n.inputs[next - 1] + "' from node " +
                                                graph.nodes[p].name + ")");
                state[p] = kActive;
                stack.push_back({p, 0});
            } else {
                state[node] = kDone;
                order.push_back(std::move(graph.nodes[node]));
                stack.pop_back();
            }
        }
    }
    graph.nodes = std::move(order);
}

std::map<std::string, Shape> declared_input_shapes(const Graph& graph) {
    std::map<std::string, Shape> out;
    for (const GraphInput& in : graph.inputs) out[in.name] = in.shape;
    return out;
}

std::map<std::string, TensorInfo> infer_shapes(const Model& model,
                                               const std::map<std::string, Shape>& input_shapes) {
    std::map<std::string, TensorInfo> info;
    for (const GraphInput& in : model.graph.inputs) {
        auto it = input_shapes.find(in.name);
        if (it == input_shapes.end()) throw Error(model.path, "", "no shape for input '" + in.name + "'");
        info[in.name] = {DType::F32, it->second};
    }
    for (const Node& n : model.graph.nodes) {
        std::vector<TensorInfo> ins;
        for (const std::string& t : n.inputs) ins.push_back(info.at(t));
        const std::vector<const Tensor*> weights = node_weights(model, n);
        std::vector<TensorInfo> outs;
        try {
            outs = n.op->infer(InferContext{*n.params, ins, weights});
        } catch (const Error& e) {
            throw e.with_node(n.name).with_file(model.path);
        }
        for (size_t i = 0; i < n.outputs.size(); ++i) {
            for (int64_t d : outs[i].shape)
                if (d != kUnknownDim && d < 1)
                    throw Error(model.path, n.name,
                                "output '" + n.outputs[i] + "' would have shape " +
                                    shape_to_string(outs[i].shape));
            try {
                Shape known_dims;  // overflow check over the dims known so far
                for (int64_t d : outs[i].shape)
                    if (d != kUnknownDim) known_dims.push_back(d);
                checked_numel(known_dims, dtype_size(outs[i].dtype));
            } catch (const Error& e) {
                throw Error(model.path, n.name, "output '" + n.outputs[i] + "': " + e.reason());
            }
            info[n.outputs[i]] = outs[i];
        }
    }
    return info;
}

std::map<std::string, int> consumer_counts(const Graph& graph) {
    std::map<std::string, int> count;
    for (const Node& n : graph.nodes)
        for (const std::string& t : n.inputs) ++count[t];
    for (const std::string& t : graph.outputs) ++count[t];
    return count;
}

}  // namespace fcnrt
