// The in-memory model: a validated graph whose nodes are in execution order,
// and its weights.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/attributes.h"
#include "engine/op_registry.h"
#include "engine/tensor.h"

namespace fcnrt {

struct Node {
    std::string name;
    const OpDef* op = nullptr;
    std::shared_ptr<const OpParams> params;
    std::vector<std::string> inputs;
    std::vector<std::string> outputs;
    std::vector<std::string> weights;  // one per op weight slot; "" when absent
    Json json;                         // the node as written (kept in step by passes)
};

struct GraphInput {
    std::string name;
    Shape shape;  // kUnknownDim where the file says null
};

struct Graph {
    std::string name;
    std::vector<GraphInput> inputs;
    std::vector<std::string> outputs;
    std::vector<Node> nodes;  // topological order
    Json metadata = Json::object();
};

struct Model {
    std::string path;  // the graph file, for messages
    Graph graph;
    std::map<std::string, Tensor> weights;
    std::vector<std::string> notes;  // what the load-time passes changed
};

// The weights of a node by slot (nullptr for an absent optional weight).
std::vector<const Tensor*> node_weights(const Model& model, const Node& node);

// Orders the nodes so that every tensor is produced before it is read. Throws
// naming the node on a dangling input, a duplicate producer or a cycle.
void sort_topologically(Graph& graph);

// Shape inference over the whole graph for the given input shapes (graph input
// name -> shape; kUnknownDim allowed at load time). Every tensor's info, by name.
// Throws fcnrt::Error naming the node at fault.
std::map<std::string, TensorInfo> infer_shapes(const Model& model,
                                               const std::map<std::string, Shape>& input_shapes);

// The declared input shapes (with kUnknownDim for null dims).
std::map<std::string, Shape> declared_input_shapes(const Graph& graph);

// Number of nodes reading each tensor, graph outputs counted once each.
std::map<std::string, int> consumer_counts(const Graph& graph);

}  // namespace fcnrt
