#include "tests/fuzz/fuzz_util.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "engine/device.h"
#include "engine/error.h"
#include "engine/executor.h"
#include "engine/memory_plan.h"

namespace fcnrt::fuzz {

namespace {

// Caps that keep one execution in the milliseconds: fuzzing wants many
// executions, and a large run tests the kernels, not the loaders.
constexpr int64_t kMaxInputElements = int64_t(1) << 14;
constexpr size_t kMaxArenaBytes = size_t(16) << 20;
constexpr double kMaxFlops = 2e7;

struct Scratch {
    std::string dir;
    Scratch() {
        const char* base = std::getenv("TMPDIR");
        std::string tmpl = std::string(base && *base ? base : "/tmp") + "/fcnrt_fuzz.XXXXXX";
        if (!::mkdtemp(&tmpl[0])) {
            std::perror("fcnrt fuzz: mkdtemp");
            std::abort();
        }
        dir = tmpl + "/";
    }
    ~Scratch() {
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
    }
};

}  // namespace

const std::string& scratch_dir() {
    static Scratch scratch;
    return scratch.dir;
}

std::string write_input(const uint8_t* data, size_t size, const std::string& name) {
    const std::string path = scratch_dir() + name;
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f || (size > 0 && std::fwrite(data, 1, size, f) != size) || std::fclose(f) != 0) {
        std::perror("fcnrt fuzz: writing the input");
        std::abort();
    }
    return path;
}

std::string source_file(const std::string& relative) {
    return std::string(FCNRT_SOURCE_DIR) + "/" + relative;
}

bool run_small(const Model& model) {
    std::map<std::string, Shape> shapes;
    for (const GraphInput& in : model.graph.inputs) {
        Shape s = in.shape;
        for (size_t k = 0; k < s.size(); ++k)
            if (s[k] == kUnknownDim) s[k] = k == 0 ? 1 : (k + 1 == s.size() ? 11 : 13);
        int64_t n = 1;
        for (int64_t d : s) {
            if (d <= 0 || d > kMaxInputElements) return false;
            n *= d;
            if (n > kMaxInputElements) return false;
        }
        shapes[in.name] = s;
    }
    const MemoryPlan plan = plan_memory(model, shapes);
    if (plan.arena_bytes > kMaxArenaBytes || plan.unplanned_bytes > 4 * kMaxArenaBytes) return false;
    double flops = 0;
    for (const Node& n : model.graph.nodes) {
        std::vector<TensorInfo> ins, outs;
        for (const std::string& t : n.inputs) ins.push_back(plan.tensors.at(t));
        for (const std::string& t : n.outputs) outs.push_back(plan.tensors.at(t));
        const std::vector<const Tensor*> weights = node_weights(model, n);
        if (n.op->flops) flops += n.op->flops(InferContext{*n.params, ins, weights}, outs);
    }
    if (!(flops <= kMaxFlops)) return false;

    std::string chosen;
    Executor executor(model, select_backend("cpu", &chosen));
    std::map<std::string, Tensor> inputs;
    for (const auto& [name, shape] : shapes) {
        Tensor t(DType::F32, shape);
        float* p = t.f32();
        for (int64_t i = 0; i < t.numel(); ++i) p[i] = float(i % 17) * 0.125f - 1.0f;
        inputs.emplace(name, std::move(t));
    }
    executor.run(inputs);
    return true;
}

}  // namespace fcnrt::fuzz
