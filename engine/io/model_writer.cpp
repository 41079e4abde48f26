#include "engine/io/model_writer.h"

#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include "engine/error.h"
#include "engine/io/file_util.h"
#include "engine/io/safetensors.h"

namespace fcnrt {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string base_name(const std::string& path) {
    const size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool file_exists(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
}

// "op", "name", "inputs", "outputs" first, as people write nodes; then the
// attributes in name order.
std::string node_text(const Json& node) {
    static const char* const kLeading[] = {"op", "name", "inputs", "outputs"};
    std::string out = "{";
    bool first = true;
    auto add = [&](const std::string& key, const Json& value) {
        out += (first ? "" : ", ") + Json(key).dump() + ": " + value.dump();
        first = false;
    };
    for (const char* key : kLeading)
        if (node.contains(key)) add(key, node.at(key));
    for (const auto& [key, value] : node.items()) {
        bool leading = false;
        for (const char* k : kLeading) leading |= key == k;
        if (!leading) add(key, value);
    }
    return out + "}";
}

std::string graph_text(const Model& model, const std::string& weights_name) {
    const Graph& g = model.graph;
    Json inputs = Json::array();
    for (const GraphInput& in : g.inputs) {
        Json shape = Json::array();
        for (int64_t d : in.shape) shape.push_back(d == kUnknownDim ? Json(nullptr) : Json(d));
        inputs.push_back({{"name", in.name}, {"shape", shape}});
    }
    // Top-level keys one a line and nodes one a line: diffable and readable.
    std::string out = "{\n";
    out += "  \"format\": \"fcnrt-graph\",\n";
    out += "  \"version\": 1,\n";
    out += "  \"name\": " + Json(g.name).dump() + ",\n";
    if (!weights_name.empty()) out += "  \"weights\": " + Json(weights_name).dump() + ",\n";
    out += "  \"inputs\": " + inputs.dump() + ",\n";
    out += "  \"outputs\": " + Json(g.outputs).dump() + ",\n";
    out += "  \"nodes\": [\n";
    for (size_t i = 0; i < g.nodes.size(); ++i)
        out += "    " + node_text(g.nodes[i].json) + (i + 1 < g.nodes.size() ? ",\n" : "\n");
    out += "  ],\n";
    out += "  \"metadata\": " + g.metadata.dump() + "\n";
    return out + "}\n";
}

}  // namespace

std::string weights_path_for(const std::string& json_path) {
    const std::string stem =
        ends_with(json_path, ".json") ? json_path.substr(0, json_path.size() - 5) : json_path;
    return stem + ".safetensors";
}

void write_model(const Model& model, const std::string& json_path) {
    // Only the weights some node names; a pass may have left others unused.
    std::map<std::string, Tensor> weights;
    for (const Node& n : model.graph.nodes)
        for (const std::string& w : n.weights) {
            if (w.empty() || weights.count(w)) continue;
            auto it = model.weights.find(w);
            if (it == model.weights.end())
                throw Error(json_path, n.name, "weight '" + w + "' is not in the model");
            weights.emplace(w, it->second);
        }
    const std::string weights_path = weights_path_for(json_path);
    if (base_name(json_path).empty() || ends_with(json_path, ".safetensors"))
        throw Error(json_path, "",
                    "the graph file needs a name that is not its weights "
                    "file's (use NAME.json)");

    std::string text;
    try {
        text = graph_text(model, weights.empty() ? "" : base_name(weights_path));
    } catch (const Json::exception& e) {
        throw Error(json_path, "", std::string("cannot write the graph: ") + e.what());
    }
    if (weights.empty()) {
        write_file_atomically(json_path, text.data(), text.size());
        return;
    }
    const bool weights_existed = file_exists(weights_path);
    write_safetensors(weights_path, weights);
    try {
        write_file_atomically(json_path, text.data(), text.size());
    } catch (...) {
        // No new file may outlive a failed write; one we replaced is complete.
        if (!weights_existed) ::unlink(weights_path.c_str());
        throw;
    }
}

}  // namespace fcnrt
