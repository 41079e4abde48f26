// The executor and its memory plan: node order in the file does not matter,
// buffers are reused (peak far below the sum) without two live tensors ever
// sharing bytes, and concat inputs are written in place, also nested and with
// batch-strided slices. The phases a benchmark times one by one (upload,
// execute, download) give what run() gives; stream timers and the backends'
// memory counts and peak rates behave.
#include <gtest/gtest.h>

#include <cstring>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <random>
#include <set>
#include <thread>

#include "engine/attributes.h"
#include "engine/device.h"
#include "engine/error.h"
#include "engine/executor.h"
#include "engine/io/file_util.h"
#include "engine/io/npy.h"
#include "engine/io/safetensors.h"
#include "engine/model_loader.h"
#include "tests/golden_cases.h"

namespace fcnrt {
namespace {

Json read_json(const std::string& path) { return Json::parse(read_file_bytes(path)); }

std::map<std::string, Tensor> golden_inputs(const test::GoldenCase& c) {
    std::map<std::string, Tensor> inputs;
    for (const std::string& in : c.inputs) inputs[in] = read_npy(c.dir + "/input_" + in + ".npy");
    return inputs;
}

std::vector<test::GoldenCase> graph_cases() {
    std::vector<test::GoldenCase> out;
    for (const auto& c : test::golden_cases())
        if (c.name.rfind("graph_", 0) == 0) out.push_back(c);
    return out;
}

TEST(Executor, NodeOrderInTheFileDoesNotMatter) {
    const auto cases = graph_cases();
    ASSERT_GE(cases.size(), 4u);
    std::mt19937 rng(7);
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        const Json doc = read_json(c.dir + "/model.json");
        const Model original = load_model_from_json(doc, c.dir + "/model.json");
        const auto expected = Executor(original, select_backend("cpu", nullptr)).run(golden_inputs(c));
        for (int trial = 0; trial < 3; ++trial) {
            Json shuffled = doc;
            std::vector<Json> nodes(shuffled["nodes"].begin(), shuffled["nodes"].end());
            std::shuffle(nodes.begin(), nodes.end(), rng);
            if (trial == 0) std::reverse(nodes.begin(), nodes.end());
            shuffled["nodes"] = nodes;
            const Model m = load_model_from_json(shuffled, c.dir + "/model.json");
            const auto got = Executor(m, select_backend("cpu", nullptr)).run(golden_inputs(c));
            ASSERT_EQ(got.size(), expected.size());
            for (size_t i = 0; i < got.size(); ++i)
                EXPECT_EQ(test::relative_max_error(got[i], expected[i]), 0.0);
        }
    }
}

// Lifetime of each tensor in plan steps (inputs at 0, node i at i + 1, outputs read at n + 1).
std::map<std::string, std::pair<int, int>> lifetimes(const Graph& g) {
    std::map<std::string, std::pair<int, int>> life;
    for (const GraphInput& in : g.inputs) life[in.name] = {0, 0};
    for (size_t i = 0; i < g.nodes.size(); ++i) {
        for (const std::string& t : g.nodes[i].inputs) life[t].second = int(i) + 1;
        for (const std::string& t : g.nodes[i].outputs) life[t] = {int(i) + 1, int(i) + 1};
    }
    for (size_t i = 0; i < g.nodes.size(); ++i)
        for (const std::string& t : g.nodes[i].inputs) life[t].second = std::max(life[t].second, int(i) + 1);
    for (const std::string& t : g.outputs) life[t].second = int(g.nodes.size()) + 1;
    return life;
}

// Byte ranges [begin, end) touched by a tensor's view (every batch item).
std::vector<std::pair<size_t, size_t>> ranges(const MemoryPlan& plan, const std::string& t) {
    const View v = placed_view(plan, t, nullptr);
    std::vector<std::pair<size_t, size_t>> out;
    const size_t elem = dtype_size(v.dtype);
    for (int64_t b = 0; b < v.n; ++b) {
        const size_t begin = size_t(reinterpret_cast<uintptr_t>(v.data)) + size_t(b * v.batch_stride) * elem;
        out.push_back({begin, begin + size_t(v.chw()) * elem});
    }
    return out;
}

// No two tensors whose lifetimes meet share a byte, unless one is stored inside
// the other by design (an alias, or a concat input inside the concat output; for
// an input that aliases another tensor, the end of its alias chain is inside).
void expect_plan_is_safe(const Model& model, const MemoryPlan& plan) {
    const auto life = lifetimes(model.graph);
    std::map<std::string, std::string> container;  // tensor -> the tensor it lives in
    std::set<std::string> alias;
    for (const Node& n : model.graph.nodes) {
        if (n.op->output_aliases_input) {
            container[n.outputs[0]] = n.inputs[0];
            alias.insert(n.outputs[0]);
        }
        if (n.op->name == "concat")
            for (const std::string& x : plan.in_place_concat_inputs)
                if (std::count(n.inputs.begin(), n.inputs.end(), x)) {
                    // The first concat that reads it holds it (the planner's
                    // node order); later ones copy it.
                    std::string t = x;
                    while (alias.count(t)) t = container.at(t);
                    if (!container.count(t)) container[t] = n.outputs[0];
                }
    }
    auto root = [&](std::string t) {
        while (container.count(t)) t = container.at(t);
        return t;
    };
    for (const auto& [a, la] : life)
        for (const auto& [b, lb] : life) {
            if (a >= b || la.first > lb.second || lb.first > la.second) continue;
            if (root(a) == root(b)) continue;
            for (const auto& ra : ranges(plan, a))
                for (const auto& rb : ranges(plan, b))
                    EXPECT_TRUE(ra.second <= rb.first || rb.second <= ra.first)
                        << a << " and " << b << " are live together and overlap";
        }
    EXPECT_LE(plan.arena_bytes, plan.unplanned_bytes + 256 * plan.tensors.size());
}

TEST(MemoryPlan, LiveTensorsNeverShareBytes) {
    for (const auto& c : test::golden_cases()) {
        SCOPED_TRACE(c.name);
        const Model m = load_model(c.dir + "/model.json");
        std::map<std::string, Shape> shapes;
        for (const auto& [name, t] : golden_inputs(c)) shapes[name] = t.shape();
        expect_plan_is_safe(m, plan_memory(m, shapes));
    }
}

// A chain of `depth` padded 3x3 convs, 8 channels: only two activations are
// ever live at once, so the peak is a small fraction of the sum. Node number
// `strided` (if any) has stride 2.
Model conv_chain(int depth, const std::string& dir, int strided = -1) {
    Json doc = {{"format", "fcnrt-graph"}, {"version", 1}, {"weights", "chain.safetensors"},
                {"inputs", Json::array({{{"name", "x"}, {"shape", {1, 8, nullptr, nullptr}}}})},
                {"outputs", {"t" + std::to_string(depth)}}};
    std::map<std::string, Tensor> weights;
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> u(-0.2f, 0.2f);
    for (int i = 0; i < depth; ++i) {
        const std::string w = "w" + std::to_string(i);
        Tensor t(DType::F32, {8, 8, 3, 3});
        for (int64_t e = 0; e < t.numel(); ++e) t.f32()[e] = u(rng);
        weights[w] = std::move(t);
        doc["nodes"].push_back({{"op", "conv"}, {"name", "c" + std::to_string(i)},
                                {"inputs", {"t" + std::to_string(i)}},
                                {"outputs", {"t" + std::to_string(i + 1)}}, {"weight", w},
                                {"pads", {1, 1, 1, 1}}, {"activation", "relu"}});
        if (i == strided) doc["nodes"].back()["stride"] = {2, 2};
    }
    doc["nodes"][0]["inputs"] = {"x"};
    write_safetensors(dir + "/chain.safetensors", weights);
    return load_model_from_json(doc, dir + "/chain.json");
}

std::string temp_dir() {
    std::string tmpl = ::testing::TempDir() + "fcnrt-exec-XXXXXX";
    char* made = mkdtemp(tmpl.data());
    if (!made) throw std::runtime_error("mkdtemp failed");
    return made;
}

TEST(MemoryPlan, PeakIsFarBelowTheSum) {
    const std::string dir = temp_dir();
    const Model m = conv_chain(20, dir);
    const MemoryPlan plan = plan_memory(m, {{"x", {1, 8, 33, 17}}});
    const size_t one = 8 * 33 * 17 * 4;
    EXPECT_EQ(plan.unplanned_bytes, 21 * one);
    EXPECT_LE(plan.arena_bytes, 2 * ((one + 255) / 256 * 256));
    expect_plan_is_safe(m, plan);
}

// The strided conv's phase-split input copy grows with the image: the plan
// counts it (memory budgets add it to the arena); stride-1 3x3 convs keep none.
TEST(MemoryPlan, CountsKernelScratchThatGrowsWithTheImage) {
    const std::string dir = temp_dir();
    const Model plain = conv_chain(3, dir);
    EXPECT_EQ(plan_memory(plain, {{"x", {1, 8, 64, 64}}}).host_scratch_bytes, 0u);

    const Model strided = conv_chain(3, dir, 1);
    const size_t input = 8 * 64 * 64 * 4;  // c1's input, every element in one phase plane
    const size_t small = plan_memory(strided, {{"x", {1, 8, 64, 64}}}).host_scratch_bytes;
    EXPECT_GE(small, input);
    EXPECT_LE(small, 2 * input);
    const size_t large = plan_memory(strided, {{"x", {1, 8, 128, 128}}}).host_scratch_bytes;
    EXPECT_GE(large, 4 * input);
    EXPECT_LE(large, 8 * input);
}

TEST(Executor, ReplansWhenTheInputSizeChanges) {
    const std::string dir = temp_dir();
    const Model m = conv_chain(4, dir);
    Executor reused(m, select_backend("cpu", nullptr));
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> u(-1, 1);
    for (Shape s : {Shape{1, 8, 9, 11}, Shape{1, 8, 31, 7}, Shape{1, 8, 9, 11}}) {
        Tensor x(DType::F32, s);
        for (int64_t e = 0; e < x.numel(); ++e) x.f32()[e] = u(rng);
        const auto got = reused.run({{"x", x}});
        const auto fresh = Executor(m, select_backend("reference", nullptr)).run({{"x", x}});
        EXPECT_LE(test::relative_max_error(got[0], fresh[0]), 1e-5);
        EXPECT_EQ(reused.plan()->input_shapes.at("x"), s);
    }
}

// y = concat(2x, concat(3x, x_copy), x): scaled 1x1 convs make every slice known.
TEST(ConcatInPlace, ProducersWriteIntoNestedAndStridedSlices) {
    const std::string dir = temp_dir();
    std::map<std::string, Tensor> weights;
    auto scale = [&](const std::string& name, float s, int64_t c) {
        Tensor w(DType::F32, {c, c, 1, 1});
        for (int64_t i = 0; i < c; ++i) w.f32()[i * c + i] = s;
        weights[name] = std::move(w);
    };
    scale("s2", 2, 3);
    scale("s3", 3, 3);
    scale("s1", 1, 3);
    write_safetensors(dir + "/cat.safetensors", weights);
    auto conv = [](const char* name, const char* w, const char* in, const char* out) {
        return Json{{"op", "conv"}, {"name", name}, {"weight", w}, {"inputs", {in}}, {"outputs", {out}}};
    };
    Json doc = {{"format", "fcnrt-graph"}, {"version", 1}, {"weights", "cat.safetensors"},
                {"inputs", Json::array({{{"name", "x"}, {"shape", {2, 3, nullptr, nullptr}}}})},
                {"outputs", {"y", "a"}},
                {"nodes",
                 {conv("two", "s2", "x", "a"), conv("three", "s3", "x", "b"),
                  conv("one", "s1", "x", "c"),
                  {{"op", "concat"}, {"name", "inner"}, {"inputs", {"b", "c"}}, {"outputs", {"bc"}}},
                  {{"op", "concat"}, {"name", "outer"}, {"inputs", {"a", "bc", "x"}}, {"outputs", {"y"}}}}}};
    const Model m = load_model_from_json(doc, dir + "/cat.json");
    Tensor x(DType::F32, {2, 3, 5, 7});
    for (int64_t e = 0; e < x.numel(); ++e) x.f32()[e] = float(e % 23) - 11.0f;

    for (const char* device : {"reference", "cpu"}) {
        SCOPED_TRACE(device);
        Executor ex(m, select_backend(device, nullptr));
        const auto out = ex.run({{"x", x}});
        const auto& placed = ex.plan()->in_place_concat_inputs;
        for (const char* t : {"a", "b", "c", "bc"})
            EXPECT_TRUE(std::count(placed.begin(), placed.end(), t)) << t << " not in place";
        EXPECT_FALSE(std::count(placed.begin(), placed.end(), "x")) << "a graph input cannot be";
        const Tensor& y = out[0];  // (2, 12, 5, 7): channels 2x, 3x, x, x
        ASSERT_EQ(y.shape(), (Shape{2, 12, 5, 7}));
        const float factor[4] = {2, 3, 1, 1};
        for (int64_t n = 0; n < 2; ++n)
            for (int64_t k = 0; k < 12; ++k)
                for (int64_t p = 0; p < 35; ++p)
                    ASSERT_EQ(y.f32()[(n * 12 + k) * 35 + p], factor[k / 3] * x.f32()[(n * 3 + k % 3) * 35 + p])
                        << "n " << n << " channel " << k << " pixel " << p;
        // `a` is also a graph output living inside y: copied out with its stride.
        for (int64_t e = 0; e < x.numel(); ++e) ASSERT_EQ(out[1].f32()[e], 2 * x.f32()[e]);
        expect_plan_is_safe(m, *ex.plan());
    }
}

// FC-DenseNet's layer: y = concat(x, dropout(conv(x))) with the conv's output
// also read by a relu (a graph output). The dropout aliases the conv output, so
// the conv writes into y's slice and the concat copies nothing of it.
TEST(ConcatInPlace, ConvThroughDropoutWritesIntoTheSlice) {
    const std::string dir = temp_dir();
    std::map<std::string, Tensor> weights;
    Tensor w(DType::F32, {3, 3, 1, 1});
    for (int64_t i = 0; i < 3; ++i) w.f32()[i * 3 + i] = -2.0f;
    weights["s"] = std::move(w);
    write_safetensors(dir + "/drop.safetensors", weights);
    Json doc = {{"format", "fcnrt-graph"}, {"version", 1}, {"weights", "drop.safetensors"},
                {"inputs", Json::array({{{"name", "x"}, {"shape", {2, 3, nullptr, nullptr}}}})},
                {"outputs", {"y", "r"}},
                {"nodes",
                 {{{"op", "conv"}, {"name", "conv"}, {"weight", "s"}, {"inputs", {"x"}}, {"outputs", {"c"}}},
                  {{"op", "dropout"}, {"name", "drop"}, {"inputs", {"c"}}, {"outputs", {"d"}}},
                  {{"op", "relu"}, {"name", "relu"}, {"inputs", {"c"}}, {"outputs", {"r"}}},
                  {{"op", "concat"}, {"name", "cat"}, {"inputs", {"x", "d"}}, {"outputs", {"y"}}}}}};
    const Model m = load_model_from_json(doc, dir + "/drop.json");
    Tensor x(DType::F32, {2, 3, 5, 7});
    for (int64_t e = 0; e < x.numel(); ++e) x.f32()[e] = float(e % 23) - 11.0f;
    for (const char* device : {"reference", "cpu"}) {
        SCOPED_TRACE(device);
        Executor ex(m, select_backend(device, nullptr));
        const auto out = ex.run({{"x", x}});
        const auto& placed = ex.plan()->in_place_concat_inputs;
        EXPECT_TRUE(std::count(placed.begin(), placed.end(), "d")) << "d not in place";
        const Tensor& y = out[0];  // (2, 6, 5, 7): x, then -2x
        ASSERT_EQ(y.shape(), (Shape{2, 6, 5, 7}));
        for (int64_t n = 0; n < 2; ++n)
            for (int64_t k = 0; k < 6; ++k)
                for (int64_t p = 0; p < 35; ++p)
                    ASSERT_EQ(y.f32()[(n * 6 + k) * 35 + p],
                              (k < 3 ? 1.0f : -2.0f) * x.f32()[(n * 3 + k % 3) * 35 + p])
                        << "n " << n << " channel " << k << " pixel " << p;
        for (int64_t e = 0; e < x.numel(); ++e)
            ASSERT_EQ(out[1].f32()[e], std::max(0.0f, -2.0f * x.f32()[e]));
        expect_plan_is_safe(m, *ex.plan());
    }
}

// Output 0 of `model` on input "x" on the named backend.
Tensor run_on(const Model& model, const char* device, const Tensor& x) {
    return Executor(model, select_backend(device, nullptr)).run({{"x", x}})[0];
}

TEST(FuseResidual, ConvAddReluBecomesOneNode) {
    std::map<std::string, Tensor> weights;
    Tensor w(DType::F32, {3, 3, 3, 3});
    Tensor b(DType::F32, {3});
    std::mt19937 rng(11);
    std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
    for (int64_t e = 0; e < w.numel(); ++e) w.f32()[e] = uni(rng);
    for (int64_t e = 0; e < b.numel(); ++e) b.f32()[e] = uni(rng);
    weights["w"] = std::move(w);
    weights["b"] = std::move(b);
    Json doc = {{"format", "fcnrt-graph"}, {"version", 1},
                {"inputs", Json::array({{{"name", "x"}, {"shape", {2, 3, 9, 11}}}})},
                {"outputs", {"y"}},
                {"nodes",
                 {{{"op", "conv"}, {"name", "c"}, {"weight", "w"}, {"bias", "b"}, {"pads", {1, 1, 1, 1}},
                   {"inputs", {"x"}}, {"outputs", {"t"}}},
                  {{"op", "add"}, {"name", "sum"}, {"inputs", {"t", "x"}}, {"outputs", {"s"}}},
                  {{"op", "relu"}, {"name", "r"}, {"inputs", {"s"}}, {"outputs", {"y"}}}}}};
    LoadOptions plain;
    plain.optimize = false;
    const Model fused = load_model_from_json(doc, "residual.json", weights, {});
    const Model unfused = load_model_from_json(doc, "residual.json", weights, plain);
    ASSERT_EQ(fused.graph.nodes.size(), 1u);
    const Node& n = fused.graph.nodes[0];
    EXPECT_EQ(n.inputs, (std::vector<std::string>{"x", "x"}));
    EXPECT_EQ(n.outputs, (std::vector<std::string>{"y"}));
    EXPECT_EQ(n.json["inputs"], Json({"x", "x"}));
    EXPECT_EQ(n.json["activation"], "relu");
    EXPECT_EQ(unfused.graph.nodes.size(), 3u);
    Tensor x(DType::F32, {2, 3, 9, 11});
    for (int64_t e = 0; e < x.numel(); ++e) x.f32()[e] = uni(rng);
    for (const char* device : {"reference", "cpu"}) {
        SCOPED_TRACE(device);
        const Tensor got = run_on(fused, device, x);
        const Tensor want = run_on(unfused, device, x);
        ASSERT_EQ(got.shape(), want.shape());
        EXPECT_LE(test::relative_max_error(got, want), 1e-6);
        float lo = 0.0f;
        for (int64_t e = 0; e < got.numel(); ++e) lo = std::min(lo, got.f32()[e]);
        EXPECT_EQ(lo, 0.0f);  // the relu was fused too
    }
}

// FC-DenseNet's pre-activation: concat -> batch_norm -> relu -> conv. The
// batch_norm cannot fold into a conv (none precedes it), so the relu fuses into
// the batch_norm: one pass over the activations instead of two.
TEST(FuseActivation, BatchNormReluBecomesOnePass) {
    std::map<std::string, Tensor> weights;
    std::mt19937 rng(12);
    std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
    for (const char* name : {"scale", "bias", "mean", "var"}) {
        Tensor t(DType::F32, {4});
        for (int64_t e = 0; e < 4; ++e) t.f32()[e] = std::string(name) == "var" ? 0.5f + uni(rng) * 0.4f : uni(rng);
        weights[name] = std::move(t);
    }
    Json doc = {{"format", "fcnrt-graph"}, {"version", 1},
                {"inputs", Json::array({{{"name", "x"}, {"shape", {2, 4, 5, 7}}}})},
                {"outputs", {"y"}},
                {"nodes",
                 {{{"op", "batch_norm"}, {"name", "bn"}, {"scale", "scale"}, {"bias", "bias"},
                   {"mean", "mean"}, {"var", "var"}, {"inputs", {"x"}}, {"outputs", {"t"}}},
                  {{"op", "relu"}, {"name", "r"}, {"inputs", {"t"}}, {"outputs", {"y"}}}}}};
    LoadOptions plain;
    plain.optimize = false;
    const Model fused = load_model_from_json(doc, "bn_relu.json", weights, {});
    const Model unfused = load_model_from_json(doc, "bn_relu.json", weights, plain);
    ASSERT_EQ(fused.graph.nodes.size(), 1u);
    EXPECT_EQ(fused.graph.nodes[0].json["activation"], "relu");
    EXPECT_EQ(unfused.graph.nodes.size(), 2u);
    Tensor x(DType::F32, {2, 4, 5, 7});
    for (int64_t e = 0; e < x.numel(); ++e) x.f32()[e] = uni(rng);
    for (const char* device : {"reference", "cpu"}) {
        SCOPED_TRACE(device);
        const Tensor got = run_on(fused, device, x);
        const Tensor want = run_on(unfused, device, x);
        ASSERT_EQ(got.shape(), want.shape());
        EXPECT_EQ(std::memcmp(got.data(), want.data(), got.bytes()), 0) << "one pass must give the two passes' bits";
    }
}

// MobileNetV3: depthwise conv -> hard_swish, and the squeeze-excitation gate's
// 1x1 conv -> hard_sigmoid (alpha 1/6). Both activations move into the convs'
// epilogues as Activation kinds computing the standalone kernels' own float ops
// (hard_swish_f32 / hard_sigmoid_f32), so the fused graph gives the unfused
// one's bits, on the CPU (its vectorised epilogues, with and without a bias) and
// the reference.
TEST(FuseActivation, HardSwishAndHardSigmoidFuseIntoConvsBitExact) {
    std::map<std::string, Tensor> weights;
    std::mt19937 rng(13);
    std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
    auto random = [&](Shape shape, float scale) {
        Tensor t(DType::F32, shape);
        for (int64_t e = 0; e < t.numel(); ++e) t.f32()[e] = scale * uni(rng);
        return t;
    };
    weights["wd"] = random({6, 1, 3, 3}, 1.0f);
    weights["wp"] = random({5, 6, 1, 1}, 1.0f);
    weights["bp"] = random({5}, 2.0f);
    Json doc = {{"format", "fcnrt-graph"}, {"version", 1},
                {"inputs", Json::array({{{"name", "x"}, {"shape", {2, 6, 13, 37}}}})},
                {"outputs", {"y", "z"}},
                {"nodes",
                 {{{"op", "conv"}, {"name", "dw"}, {"weight", "wd"}, {"groups", 6},
                   {"pads", {1, 1, 1, 1}}, {"inputs", {"x"}}, {"outputs", {"t"}}},
                  {{"op", "hard_swish"}, {"name", "hs"}, {"inputs", {"t"}}, {"outputs", {"y"}}},
                  {{"op", "conv"}, {"name", "pw"}, {"weight", "wp"}, {"bias", "bp"},
                   {"inputs", {"y"}}, {"outputs", {"u"}}},
                  {{"op", "hard_sigmoid"}, {"name", "gate"}, {"alpha", 1.0 / 6.0}, {"beta", 0.5},
                   {"inputs", {"u"}}, {"outputs", {"z"}}}}}};
    LoadOptions plain;
    plain.optimize = false;
    const Model fused = load_model_from_json(doc, "mbv3.json", weights, {});
    const Model unfused = load_model_from_json(doc, "mbv3.json", weights, plain);
    ASSERT_EQ(fused.graph.nodes.size(), 2u);
    EXPECT_EQ(fused.graph.nodes[0].json["activation"], "hard_swish");
    EXPECT_EQ(fused.graph.nodes[1].json["activation"], "hard_sigmoid");
    EXPECT_FLOAT_EQ(fused.graph.nodes[1].json["activation_alpha"].get<float>(), 1.0f / 6.0f);
    EXPECT_FLOAT_EQ(fused.graph.nodes[1].json["activation_beta"].get<float>(), 0.5f);
    EXPECT_EQ(unfused.graph.nodes.size(), 4u);
    // The fused node's attributes load back to the same activation (a graph fcnrt writes).
    const Json& gate = fused.graph.nodes[1].json;
    const ActivationParams back = AttrReader(gate).activation();
    EXPECT_EQ(back.kind, Activation::HardSigmoid);
    EXPECT_EQ(back.alpha, 1.0f / 6.0f);
    EXPECT_EQ(back.beta, 0.5f);
    Tensor x = random({2, 6, 13, 37}, 8.0f);  // past both clamps of hard_swish and hard_sigmoid
    x.f32()[5] = std::nanf("");
    for (const char* device : {"reference", "cpu"}) {
        SCOPED_TRACE(device);
        const auto got = Executor(fused, select_backend(device, nullptr)).run({{"x", x}});
        const auto want = Executor(unfused, select_backend(device, nullptr)).run({{"x", x}});
        ASSERT_EQ(got.size(), 2u);
        for (size_t o = 0; o < 2; ++o) {
            ASSERT_EQ(got[o].shape(), want[o].shape());
            if (std::string(device) == "cpu") {
                EXPECT_EQ(std::memcmp(got[o].data(), want[o].data(), got[o].bytes()), 0)
                    << "output " << o << ": the fused epilogue must give the unfused graph's bits";
            } else {  // float64 sums: fused, the activation runs before the rounding to float32
                EXPECT_LE(test::relative_max_error(got[o], want[o]), 1e-6) << "output " << o;
            }
        }
        int clamped_low = 0, clamped_high = 0;
        for (int64_t e = 0; e < got[1].numel(); ++e) {
            clamped_low += got[1].f32()[e] == 0.0f;
            clamped_high += got[1].f32()[e] == 1.0f;
        }
        EXPECT_GT(clamped_low, 0);
        EXPECT_GT(clamped_high, 0);
    }
}

TEST(ConcatInPlace, ATensorConcatenatedTwiceIsCopied) {
    const std::string dir = temp_dir();
    Json doc = {{"format", "fcnrt-graph"}, {"version", 1},
                {"inputs", Json::array({{{"name", "x"}, {"shape", {1, 2, 3, 3}}}})},
                {"outputs", {"y"}},
                {"nodes",
                 {{{"op", "relu"}, {"name", "r"}, {"inputs", {"x"}}, {"outputs", {"a"}}},
                  {{"op", "concat"}, {"name", "cat"}, {"inputs", {"a", "a"}}, {"outputs", {"y"}}}}}};
    const Model m = load_model_from_json(doc, dir + "/twice.json");
    Tensor x(DType::F32, {1, 2, 3, 3});
    for (int64_t e = 0; e < x.numel(); ++e) x.f32()[e] = float(e) - 9.0f;
    Executor ex(m, select_backend("cpu", nullptr));
    const Tensor y = ex.run({{"x", x}})[0];
    EXPECT_TRUE(ex.plan()->in_place_concat_inputs.empty());
    for (int64_t e = 0; e < 18; ++e) {
        EXPECT_EQ(y.f32()[e], std::max(0.0f, x.f32()[e]));
        EXPECT_EQ(y.f32()[18 + e], std::max(0.0f, x.f32()[e]));
    }
}

// upload_inputs + execute + download_outputs + synchronize is run(), also when
// the outputs are downloaded into tensors from an earlier run; with a per-node
// timer every node gets one non-negative time and the times add up to the whole.
void expect_phases_equal_run(const std::string& device) {
    for (const auto& c : graph_cases()) {
        SCOPED_TRACE(c.name + " on " + device);
        const Model m = load_model(c.dir + "/model.json");
        const auto inputs = golden_inputs(c);
        std::shared_ptr<Backend> backend = select_backend(device, nullptr);
        Executor ex(m, backend);
        const std::vector<Tensor> want = ex.run(inputs);

        std::vector<Tensor> got;
        ex.upload_inputs(inputs);
        ex.execute();
        ex.download_outputs(got);
        backend->synchronize();
        ASSERT_EQ(got.size(), want.size());
        for (size_t i = 0; i < got.size(); ++i)
            EXPECT_EQ(test::relative_max_error(got[i], want[i]), 0.0);

        for (Tensor& t : got)  // poison: a reused tensor must be overwritten in full
            for (int64_t e = 0; t.dtype() == DType::F32 && e < t.numel(); ++e)
                t.f32()[e] = std::numeric_limits<float>::quiet_NaN();
        const size_t nodes = m.graph.nodes.size();
        std::unique_ptr<StreamTimer> timer = backend->make_timer(nodes + 1);
        ASSERT_EQ(timer->marks(), nodes + 1);
        ex.upload_inputs(inputs);
        ex.execute(timer.get());
        ex.download_outputs(got);
        backend->synchronize();
        for (size_t i = 0; i < got.size(); ++i)
            EXPECT_EQ(test::relative_max_error(got[i], want[i]), 0.0);
        double sum = 0;
        for (size_t i = 0; i < nodes; ++i) {
            const double ms = timer->elapsed_ms(i, i + 1);
            EXPECT_GE(ms, 0.0) << "node " << m.graph.nodes[i].name;
            sum += ms;
        }
        // CUDA events give float milliseconds: each of the nodes + 1 readings is
        // rounded to float (half an ulp, 2^-24 of the value, at most), which at
        // emulated speeds (100s of ms) is well above 1e-6 ms.
        EXPECT_NEAR(sum, timer->elapsed_ms(0, nodes), 1e-6 + (nodes + 1) * sum * 0x1p-24);

        // The weights and the arena are all the executor holds, and all were counted.
        EXPECT_GE(backend->allocated_bytes(), ex.weight_bytes() + ex.plan()->arena_bytes);
        EXPECT_GE(backend->peak_allocated_bytes(), backend->allocated_bytes());
    }
}

TEST(Executor, PhasesEqualRunOnTheHost) {
    for (const char* device : {"reference", "cpu"}) expect_phases_equal_run(device);
}

TEST(Executor, PhasesEqualRunOnCuda) {
    std::string why;
    if (!cuda_usable(&why)) GTEST_SKIP() << "no usable CUDA device: " << why;
    expect_phases_equal_run("cuda");
    const DevicePeak peak = select_backend("cuda", nullptr)->peak();
    EXPECT_GT(peak.fp32_tflops, 0.0);
    EXPECT_NE(peak.fp32_source.find("theoretical"), std::string::npos) << peak.fp32_source;
    EXPECT_GT(peak.memory_gbs, 0.0) << peak.memory_source;
}

TEST(Executor, PhasesRefuseMisuse) {
    const auto cases = graph_cases();
    ASSERT_FALSE(cases.empty());
    const Model m = load_model(cases[0].dir + "/model.json");
    std::shared_ptr<Backend> backend = select_backend("cpu", nullptr);
    Executor ex(m, backend);
    std::vector<Tensor> outputs;
    EXPECT_THROW(ex.execute(), Error);  // nothing uploaded, nothing planned
    EXPECT_THROW(ex.download_outputs(outputs), Error);
    ex.upload_inputs(golden_inputs(cases[0]));
    std::unique_ptr<StreamTimer> short_timer = backend->make_timer(m.graph.nodes.size());
    EXPECT_THROW(ex.execute(short_timer.get()), Error);  // one mark short
}

TEST(Backend, HostTimerReadsTheClockAtEachMark) {
    std::shared_ptr<Backend> backend = select_backend("cpu", nullptr);
    std::unique_ptr<StreamTimer> timer = backend->make_timer(3);
    timer->mark(0);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    timer->mark(1);
    timer->mark(2);
    backend->synchronize();
    EXPECT_GE(timer->elapsed_ms(0, 1), 5.0);
    EXPECT_GE(timer->elapsed_ms(1, 2), 0.0);
    EXPECT_NEAR(timer->elapsed_ms(0, 2), timer->elapsed_ms(0, 1) + timer->elapsed_ms(1, 2), 1e-9);
}

// Memory held through allocate() is counted while held; the peak stays, and
// re-planning for a larger input raises it.
TEST(Backend, CountsAllocatedAndPeakBytes) {
    const std::string dir = temp_dir();
    const Model m = conv_chain(4, dir);
    std::shared_ptr<Backend> backend = select_backend("cpu", nullptr);
    EXPECT_EQ(backend->allocated_bytes(), 0u);
    {
        auto a = backend->allocate(1000, "a test buffer");
        EXPECT_GE(backend->allocated_bytes(), 1000u);
    }
    EXPECT_EQ(backend->allocated_bytes(), 0u);
    EXPECT_GE(backend->peak_allocated_bytes(), 1000u);
    size_t small_peak = 0;
    {
        Executor ex(m, backend);
        ex.run({{"x", Tensor(DType::F32, {1, 8, 9, 11})}});
        EXPECT_GE(backend->allocated_bytes(), ex.weight_bytes() + ex.plan()->arena_bytes);
        small_peak = backend->peak_allocated_bytes();
        ex.run({{"x", Tensor(DType::F32, {1, 8, 90, 110})}});
        EXPECT_GE(backend->peak_allocated_bytes(), ex.weight_bytes() + ex.plan()->arena_bytes);
        EXPECT_GT(backend->peak_allocated_bytes(), small_peak);
    }
    EXPECT_EQ(backend->allocated_bytes(), 0u);  // the executor gave everything back
}

TEST(Backend, HostPeakIsMeasuredAndSaysSo) {
    std::shared_ptr<Backend> backend = select_backend("cpu", nullptr);
    const DevicePeak peak = backend->peak();
    EXPECT_GT(peak.fp32_tflops, 0.0);
    EXPECT_TRUE(std::isfinite(peak.fp32_tflops));
    EXPECT_NE(peak.fp32_source.find("measured"), std::string::npos) << peak.fp32_source;
    EXPECT_GT(peak.memory_gbs, 0.0);
    EXPECT_NE(peak.memory_source.find("measured"), std::string::npos) << peak.memory_source;
    EXPECT_EQ(backend->peak().fp32_tflops, peak.fp32_tflops);  // measured once
}

}  // namespace
}  // namespace fcnrt
