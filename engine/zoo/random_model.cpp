#include "engine/zoo/random_model.h"

#include <cmath>
#include <map>
#include <random>
#include <set>

#include "engine/error.h"
#include "engine/io/file_util.h"
#include "engine/model_loader.h"
#include "engine/op_registry.h"

namespace fcnrt {

namespace {

enum class Init { HeNormal, Normal01, Uniform05to15 };

Init init_for(const std::string& op, const std::string& slot) {
    if (op == "batch_norm")
        return slot == "scale" || slot == "var" ? Init::Uniform05to15 : Init::Normal01;
    return slot == "weight" ? Init::HeNormal : Init::Normal01;
}

Tensor random_tensor(const Shape& shape, Init init, std::mt19937_64& rng) {
    Tensor t(DType::F32, shape);
    float* p = t.f32();
    if (init == Init::Uniform05to15) {
        std::uniform_real_distribution<float> u(0.5f, 1.5f);
        for (int64_t i = 0; i < t.numel(); ++i) p[i] = u(rng);
        return t;
    }
    double std = 0.1;
    if (init == Init::HeNormal) {
        double fan_in = 1;
        for (size_t d = 1; d < shape.size(); ++d) fan_in *= double(shape[d]);
        std = std::sqrt(2.0 / fan_in);
    }
    std::normal_distribution<float> n(0.0f, float(std));
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = n(rng);
    return t;
}

}  // namespace

Model random_model_from_architecture(const std::string& path, uint64_t seed) {
    Json doc;
    try {
        doc = Json::parse(read_file_bytes(path));
    } catch (const Json::exception& e) {
        throw Error(path, "", std::string("not valid JSON: ") + e.what());
    }
    if (!doc.is_object() || doc.value("format", "") != "fcnrt-zoo-architecture" ||
        doc.value("version", 0) != 1 || !doc.contains("graph") || !doc["graph"].is_object() ||
        !doc.contains("weight_shapes") || !doc["weight_shapes"].is_object())
        throw Error(path, "",
                    "not a zoo architecture file (format \"fcnrt-zoo-architecture\", version 1, "
                    "with \"graph\" and \"weight_shapes\")");
    const Json& graph = doc["graph"];
    if (!graph.contains("nodes") || !graph["nodes"].is_array())
        throw Error(path, "", "the graph has no \"nodes\" list");

    // Which op and slot each weight fills, for its distribution.
    std::map<std::string, Init> inits;
    for (const Json& node : graph["nodes"]) {
        if (!node.is_object() || !node.contains("op") || !node["op"].is_string()) continue;
        const OpDef* op = find_op(node["op"].get<std::string>());
        if (!op) continue;  // the loader names it below
        for (const WeightSlot& slot : op->weights)
            if (node.contains(slot.key) && node[slot.key].is_string())
                inits[node[slot.key].get<std::string>()] = init_for(op->name, slot.key);
    }

    std::mt19937_64 rng(seed);
    std::map<std::string, Tensor> weights;
    for (const auto& [name, shape_json] : doc["weight_shapes"].items()) {  // sorted by name
        auto init = inits.find(name);
        if (init == inits.end()) throw Error(path, "", "weight '" + name + "' is named by no node");
        Shape shape;
        try {
            shape = shape_json.get<Shape>();
        } catch (const Json::exception&) {
            throw Error(path, "", "weight '" + name + "': the shape is not a list of sizes");
        }
        for (int64_t d : shape)
            if (d < 1 || d > (int64_t(1) << 31))
                throw Error(path, "", "weight '" + name + "': a size out of range");
        weights.emplace(name, random_tensor(shape, init->second, rng));
    }
    LoadOptions options;
    options.optimize = false;
    return load_model_from_json(graph, path, std::move(weights), options);
}

}  // namespace fcnrt
