#include "engine/attributes.h"
#include "engine/model_loader.h"

#include <set>

#include "engine/error.h"
#include "engine/io/file_util.h"
#include "engine/io/safetensors.h"
#ifdef FCNRT_WITH_ONNX
#include "engine/onnx/onnx_loader.h"
#endif
#include "engine/passes/passes.h"

namespace fcnrt {

namespace {

constexpr int64_t kMaxInputDim = int64_t(1) << 30;
// nlohmann parses any depth, but copying or printing a value recurses once per
// level: a file nested 100000 deep would overflow the stack. Graphs need few.
constexpr int kMaxJsonDepth = 128;

const Json& member(const Json& obj, const char* key, const std::string& where) {
    if (!obj.is_object() || !obj.contains(key))
        throw Error(where + " lacks \"" + key + "\"");
    return obj.at(key);
}

std::vector<std::string> string_list(const Json& v, const std::string& what) {
    if (!v.is_array()) throw Error(what + " must be a list of tensor names");
    std::vector<std::string> out;
    for (const Json& e : v) {
        if (!e.is_string() || e.get<std::string>().empty())
            throw Error(what + " must hold non-empty tensor names, got " + json_text(e));
        out.push_back(e.get<std::string>());
    }
    return out;
}

GraphInput parse_input(const Json& in) {
    GraphInput g;
    const Json& name = member(in, "name", "graph input");
    if (!name.is_string() || name.get<std::string>().empty())
        throw Error("graph input name must be a non-empty string");
    g.name = name.get<std::string>();
    const Json& shape = member(in, "shape", "graph input '" + g.name + "'");
    if (!shape.is_array() || shape.size() < 1 || shape.size() > 4)
        throw Error("graph input '" + g.name + "': shape must be a list of 1 to 4 dims, got " +
                    json_text(shape));
    for (const Json& d : shape) {
        if (d.is_null()) {
            g.shape.push_back(kUnknownDim);
        } else if (d.is_number_integer() && d.get<int64_t>() >= 1 &&
                   d.get<int64_t>() <= kMaxInputDim) {
            g.shape.push_back(d.get<int64_t>());
        } else {
            throw Error("graph input '" + g.name + "': dims must be positive integers or null, got " +
                        json_text(d));
        }
    }
    // Each dim is in range, but their product may not be (nor may sizes derived from it).
    Shape known_dims;
    for (int64_t d : g.shape)
        if (d != kUnknownDim) known_dims.push_back(d);
    try {
        checked_numel(known_dims);
    } catch (const Error& e) {
        throw Error("graph input '" + g.name + "': " + e.reason());
    }
    return g;
}

Node parse_node(const Json& j, size_t index) {
    Node n;
    if (!j.is_object()) throw Error("node #" + std::to_string(index) + " is not a JSON object");
    const Json* name = j.contains("name") ? &j.at("name") : nullptr;
    if (!name || !name->is_string() || name->get<std::string>().empty())
        throw Error("node #" + std::to_string(index) + " needs a non-empty string \"name\"");
    n.name = name->get<std::string>();
    n.json = j;
    try {
        const Json& op = member(j, "op", "the node");
        if (!op.is_string()) throw Error("\"op\" must be a string");
        n.op = find_op(op.get<std::string>());
        if (!n.op) throw Error("unknown op '" + op.get<std::string>() + "'");
        n.inputs = string_list(member(j, "inputs", "the node"), "\"inputs\"");
        n.outputs = string_list(member(j, "outputs", "the node"), "\"outputs\"");
        const OpDef& d = *n.op;
        if (int(n.inputs.size()) < d.min_inputs || int(n.inputs.size()) > d.max_inputs)
            throw Error(d.name + " takes " + std::to_string(d.min_inputs) +
                        (d.max_inputs > d.min_inputs ? " to " + std::to_string(d.max_inputs) : "") +
                        " inputs, got " + std::to_string(n.inputs.size()));
        if (int(n.outputs.size()) < d.min_outputs || int(n.outputs.size()) > d.max_outputs)
            throw Error(d.name + " gives " + std::to_string(d.min_outputs) +
                        (d.max_outputs > d.min_outputs ? " to " + std::to_string(d.max_outputs) : "") +
                        " outputs, got " + std::to_string(n.outputs.size()));
        std::set<std::string> seen;
        for (const std::string& o : n.outputs)
            if (!seen.insert(o).second) throw Error("output '" + o + "' is listed twice");

        AttrReader reader(j);
        for (const WeightSlot& w : d.weights) n.weights.push_back(reader.weight_name(w.key, w.optional));
        n.params = d.parse(reader);
        static const std::set<std::string> structural = {"op", "name", "inputs", "outputs"};
        for (const auto& [key, value] : j.items())
            if (!structural.count(key) && !reader.known_keys().count(key))
                throw Error("unknown attribute '" + key + "' for op " + d.name);
    } catch (const Error& e) {
        throw e.with_node(n.name);
    }
    return n;
}

void check_metadata(const Json& m) {
    if (!m.is_object()) throw Error("\"metadata\" must be an object");
    if (m.contains("patch")) {
        const Json& p = m.at("patch");
        if (!p.is_array() || p.size() != 2 || !p[0].is_number_integer() ||
            !p[1].is_number_integer() || p[0].get<int64_t>() < 1 || p[1].get<int64_t>() < 1)
            throw Error("metadata \"patch\" must be [ph, pw] with positive integers, got " + json_text(p));
    }
    if (m.contains("classes")) {
        const Json& c = m.at("classes");
        if (!c.is_array()) throw Error("metadata \"classes\" must be a list");
        for (const Json& k : c) {
            if (!k.is_object() || !k.contains("name") || !k.at("name").is_string())
                throw Error("metadata \"classes\" entries need a string \"name\", got " + json_text(k));
            if (k.contains("color")) {
                const Json& col = k.at("color");
                bool ok = col.is_array() && col.size() == 3;
                for (size_t i = 0; ok && i < 3; ++i)
                    ok = col[i].is_number_integer() && col[i].get<int64_t>() >= 0 &&
                         col[i].get<int64_t>() <= 255;
                if (!ok) throw Error("class color must be [r, g, b] in 0..255, got " + json_text(col));
            }
        }
    }
    if (m.contains("preprocess")) {
        const Json& p = m.at("preprocess");
        if (!p.is_object()) throw Error("metadata \"preprocess\" must be an object");
        if (p.contains("scale") && !p.at("scale").is_number())
            throw Error("preprocess \"scale\" must be a number");
        for (const char* key : {"mean", "std"}) {
            if (!p.contains(key)) continue;
            const Json& v = p.at(key);
            if (!v.is_array() || v.empty())
                throw Error(std::string("preprocess \"") + key + "\" must be a list of numbers");
            for (const Json& e : v) {
                if (!e.is_number())
                    throw Error(std::string("preprocess \"") + key + "\" must be a list of numbers");
                if (std::string(key) == "std" && e.get<double>() == 0.0)
                    throw Error("preprocess \"std\" must not contain 0");
            }
        }
        if (p.contains("channels") &&
            !(p.at("channels") == "rgb" || p.at("channels") == "gray"))
            throw Error("preprocess \"channels\" must be \"rgb\" or \"gray\"");
    }
}

std::string directory_of(const std::string& path) {
    const size_t slash = path.find_last_of('/');
    return slash == std::string::npos ? "" : path.substr(0, slash + 1);
}

Graph parse_graph(const Json& doc) {
    if (!doc.is_object()) throw Error("the graph file must hold a JSON object");
    const Json& format = member(doc, "format", "the graph");
    if (format != "fcnrt-graph")
        throw Error("\"format\" must be \"fcnrt-graph\", got " + json_text(format));
    const Json& version = member(doc, "version", "the graph");
    if (!version.is_number_integer()) throw Error("\"version\" must be an integer");
    if (version.get<int64_t>() != 1)
        throw Error("unsupported format version " + json_text(version) + " (this fcnrt reads version 1)");

    Graph g;
    if (doc.contains("name")) {
        if (!doc.at("name").is_string()) throw Error("\"name\" must be a string");
        g.name = doc.at("name").get<std::string>();
    }
    const Json& inputs = member(doc, "inputs", "the graph");
    if (!inputs.is_array() || inputs.empty()) throw Error("\"inputs\" must be a non-empty list");
    for (const Json& in : inputs) g.inputs.push_back(parse_input(in));
    g.outputs = string_list(member(doc, "outputs", "the graph"), "\"outputs\"");
    if (g.outputs.empty()) throw Error("\"outputs\" must name at least one tensor");
    const Json& nodes = member(doc, "nodes", "the graph");
    if (!nodes.is_array()) throw Error("\"nodes\" must be a list");
    std::set<std::string> names;
    for (size_t i = 0; i < nodes.size(); ++i) {
        Node n = parse_node(nodes[i], i);
        if (!names.insert(n.name).second) throw Error("", n.name, "node name is used twice");
        g.nodes.push_back(std::move(n));
    }
    if (doc.contains("metadata")) {
        check_metadata(doc.at("metadata"));
        g.metadata = doc.at("metadata");
    }
    static const std::set<std::string> top_level = {"format", "version", "name",  "weights",
                                                    "inputs", "outputs", "nodes", "metadata"};
    for (const auto& [key, value] : doc.items())
        if (!top_level.count(key)) throw Error("unknown top-level key \"" + key + "\"");
    sort_topologically(g);
    return g;
}

}  // namespace

namespace {

// Validates the graph against `weights` (already read), infers shapes and runs
// the load-time passes: the part of loading shared by every source of a model.
Model finish_load(const Json& doc, const std::string& json_path,
                  std::map<std::string, Tensor> weights, bool weights_given,
                  const LoadOptions& options) {
    Model model;
    model.path = json_path;
    try {
        model.graph = parse_graph(doc);
    } catch (const Error& e) {
        throw e.with_file(json_path);
    }

    bool needs_weights = false;
    for (const Node& n : model.graph.nodes)
        for (const std::string& w : n.weights) needs_weights |= !w.empty();
    if (weights_given) {
        model.weights = std::move(weights);
    } else if (doc.contains("weights")) {
        const Json& w = doc.at("weights");
        if (!w.is_string() || w.get<std::string>().empty())
            throw Error(json_path, "", "\"weights\" must be a file name");
        const std::string& rel = w.get<std::string>();
        const std::string weights_path = !rel.empty() && rel[0] == '/' ? rel : directory_of(json_path) + rel;
        model.weights = read_safetensors(weights_path).tensors;
    } else if (needs_weights) {
        throw Error(json_path, "", "nodes name weights but the graph has no \"weights\" file");
    }
    for (const Node& n : model.graph.nodes)
        for (const std::string& w : n.weights)
            if (!w.empty() && !model.weights.count(w))
                throw Error(json_path, n.name, "weight '" + w + "' is not in the weights file");

    // Shape inference with the declared shapes catches every weight or channel
    // mismatch now, not at the first run.
    infer_shapes(model, declared_input_shapes(model.graph));
    if (options.optimize) {
        remove_dead_nodes(model);
        fold_batch_norm(model);
        fuse_residual(model);
        fuse_activation(model);
        // Weights no node names any more (replaced by folded copies) would only
        // take device memory.
        std::set<std::string> named;
        for (const Node& n : model.graph.nodes) named.insert(n.weights.begin(), n.weights.end());
        for (auto it = model.weights.begin(); it != model.weights.end();)
            it = named.count(it->first) ? std::next(it) : model.weights.erase(it);
        infer_shapes(model, declared_input_shapes(model.graph));
    }
    return model;
}

}  // namespace

Model load_model_from_json(const Json& doc, const std::string& json_path,
                           const LoadOptions& options) {
    return finish_load(doc, json_path, {}, false, options);
}

Model load_model_from_json(const Json& doc, const std::string& path,
                           std::map<std::string, Tensor> weights, const LoadOptions& options) {
    return finish_load(doc, path, std::move(weights), true, options);
}

Model load_model(const std::string& json_path, const LoadOptions& options) {
#ifdef FCNRT_WITH_ONNX
    if (has_onnx_extension(json_path)) return load_onnx_model(json_path, options);
#endif
    const std::string text = read_file_bytes(json_path);
    Json doc;
    try {
        doc = Json::parse(text, [&](int depth, Json::parse_event_t, Json&) {
            if (depth > kMaxJsonDepth)
                throw Error(json_path, "", "invalid JSON: nested deeper than " +
                                               std::to_string(kMaxJsonDepth) + " levels");
            return true;
        });
    } catch (const Json::exception& e) {
        // parse_error, and out_of_range for a number beyond double (found by fuzz_graph_json).
        std::string what = e.what();
        const size_t colon = what.find("]: ");  // drop nlohmann's "[json.exception...]" prefix
        throw Error(json_path, "", "invalid JSON: " + (colon == std::string::npos ? what : what.substr(colon + 3)));
    }
    return load_model_from_json(doc, json_path, options);
}

}  // namespace fcnrt
