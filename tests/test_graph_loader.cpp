// The graph loader and the executor's run-time input checks: a catalogue of
// malformed graphs and weights, each of which must fail with an fcnrt::Error
// whose message names the file, the node (where one is at fault) and the
// specific fault; a few graphs that must load (shuffled nodes, absent optional
// weights, F16 weights); and the inputs Executor::run must refuse.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/backend.h"
#include "engine/error.h"
#include "engine/executor.h"
#include "engine/io/safetensors.h"
#include "engine/model_loader.h"

namespace fcnrt {
namespace {

namespace fs = std::filesystem;

void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    ASSERT_TRUE(out.good()) << path;
}

std::string le_u64(uint64_t value) {
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((value >> (8 * i)) & 0xff);
    return out;
}

// A safetensors file from its header text and data section, byte for byte.
std::string safetensors_bytes(const std::string& header, const std::string& data) {
    return le_u64(header.size()) + header + data;
}

// A float32 tensor whose element i is start + i * step.
Tensor ramp(const Shape& shape, float start = 0.5f, float step = 0.25f) {
    Tensor t(DType::F32, shape);
    for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = start + step * float(i % 17);
    return t;
}

// A minimal valid graph: x [1, 3, 8, 8] -> conv "c1" (3x3, VALID, 4 channels) -> y.
Json conv_graph() {
    return Json::parse(R"({
        "format": "fcnrt-graph",
        "version": 1,
        "name": "conv-test",
        "weights": "model.safetensors",
        "inputs": [{"name": "x", "shape": [1, 3, 8, 8]}],
        "outputs": ["y"],
        "nodes": [
            {"op": "conv", "name": "c1", "inputs": ["x"], "outputs": ["y"],
             "weight": "w", "bias": "b"}
        ]
    })");
}

// The graph with its single node replaced by `node`.
Json with_node(const Json& node) {
    Json g = conv_graph();
    g["nodes"] = Json::array({node});
    return g;
}

// A fresh directory per test holding model.safetensors with every tensor the
// cases below name; removed afterwards.
class GraphLoaderTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern = ::testing::TempDir() + "fcnrt_graph_loader_XXXXXX";
        ASSERT_NE(mkdtemp(&pattern[0]), nullptr);
        dir_ = pattern;
        std::map<std::string, Tensor> w;
        w["w"] = ramp({4, 3, 3, 3});         // conv: K=4, C=3, 3x3
        w["b"] = ramp({4});
        w["b5"] = ramp({5});                 // a bias of the wrong length
        w["w_c2"] = ramp({4, 2, 3, 3});      // in-channels 2 for a 3-channel input
        w["w_g1"] = ramp({4, 1, 3, 3});      // for grouped convs
        w["w_rank2"] = ramp({4, 27});
        w["w_kh0"] = Tensor(DType::F32, {4, 3, 0, 3});  // an empty kernel
        w["bn.scale"] = ramp({3});
        w["bn.bias"] = ramp({3});
        w["bn.mean"] = ramp({3});
        w["bn.mean4"] = ramp({4});
        w["bn.var"] = ramp({3}, 1.0f);
        w["dense.w"] = ramp({10, 192});      // F = 3 * 8 * 8
        w["dense.w_bad"] = ramp({10, 100});
        w["dense.b"] = ramp({10});
        Tensor ints(DType::I32, {3, 3, 3, 3});  // as a conv or conv_transpose weight
        w["w_i32"] = ints;
        write_safetensors(path("model.safetensors"), w);
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::string path(const std::string& name) const { return dir_ + "/" + name; }

    // Writes the graph as model.json and returns its path.
    std::string write_graph(const Json& doc, const std::string& name = "model.json") {
        write_bytes(path(name), doc.dump(2));
        return path(name);
    }

    // Loads `json_path` and checks that it fails naming `file` (the JSON file
    // when empty), `node` (when not empty) and `phrase`.
    void expect_load_error(const std::string& json_path, const std::string& node,
                           const std::string& phrase, const std::string& file = "") {
        const std::string want_file = file.empty() ? json_path : file;
        try {
            load_model(json_path);
        } catch (const Error& e) {
            const std::string what = e.what();
            EXPECT_NE(what.find(want_file), std::string::npos)
                << "message does not name the file " << want_file << ":\n  " << what;
            if (!node.empty()) {
                EXPECT_EQ(e.node(), node) << what;
                EXPECT_NE(what.find("node " + node), std::string::npos)
                    << "message does not name node " << node << ":\n  " << what;
            }
            EXPECT_NE(what.find(phrase), std::string::npos)
                << "message lacks \"" << phrase << "\":\n  " << what;
            return;
        } catch (const std::exception& e) {
            ADD_FAILURE() << "expected fcnrt::Error, got another exception: " << e.what();
            return;
        }
        ADD_FAILURE() << "loaded without error; expected \"" << phrase << "\"";
    }

    void expect_graph_error(const Json& doc, const std::string& node, const std::string& phrase) {
        SCOPED_TRACE(doc.dump());
        expect_load_error(write_graph(doc), node, phrase);
    }
    void expect_text_error(const std::string& text, const std::string& phrase) {
        SCOPED_TRACE(text.substr(0, 300));
        write_bytes(path("model.json"), text);
        expect_load_error(path("model.json"), "", phrase);
    }

    std::string dir_;
};

// ---- the document ----

TEST_F(GraphLoaderTest, NotJsonOrTruncatedJson) {
    expect_text_error("", "invalid JSON");
    expect_text_error("hello, graph", "invalid JSON");
    expect_text_error(R"({"format": "fcnrt-graph", "version": 1, "inputs": [)", "invalid JSON");
    std::string text = conv_graph().dump();
    expect_text_error(text.substr(0, text.size() / 2), "invalid JSON");
    expect_text_error(text + " trailing", "invalid JSON");
    expect_text_error(std::string("{\"format\": \"fcnrt-graph\xff\"}"), "invalid JSON");
}

// Deep nesting must be refused, not recursed into until the stack overflows.
TEST_F(GraphLoaderTest, DeeplyNestedJson) {
    const int depth = 100000;
    const std::string deep = std::string(depth, '[') + std::string(depth, ']');
    std::string text = conv_graph().dump();
    text.replace(text.find("[1,3,8,8]"), 9, "[" + deep + "]");
    expect_text_error(text, "nested deeper than");

    Json g = conv_graph();
    g["metadata"] = Json::object();
    text = g.dump();
    text.replace(text.find("\"metadata\":{}"), 13, "\"metadata\":{\"notes\":" + deep + "}");
    expect_text_error(text, "nested deeper than");

    // Moderate nesting in free-form metadata is fine.
    text = g.dump();
    text.replace(text.find("\"metadata\":{}"), 13,
                 "\"metadata\":{\"notes\":" + std::string(20, '[') + std::string(20, ']') + "}");
    write_bytes(path("model.json"), text);
    EXPECT_NO_THROW(load_model(path("model.json")));

    // The same in a safetensors header.
    const std::string header = R"({"w":{"dtype":"F32","shape":[4,3,3,3],"data_offsets":[0,432]},)"
                               R"("b":{"dtype":"F32","shape":)" + deep +
                               R"(,"data_offsets":[432,448]}})";
    write_bytes(path("model.safetensors"), safetensors_bytes(header, std::string(448, '\0')));
    expect_load_error(write_graph(conv_graph()), "", "nested", path("model.safetensors"));
}

TEST_F(GraphLoaderTest, MissingGraphFileIsNamed) {
    expect_load_error(path("absent.json"), "", "cannot open");
    expect_load_error(dir_, "", "directory");
}

TEST_F(GraphLoaderTest, TopLevelMustBeAnObject) {
    expect_text_error("[1, 2, 3]", "must hold a JSON object");
    expect_text_error("\"fcnrt-graph\"", "must hold a JSON object");
    expect_text_error("null", "must hold a JSON object");
}

TEST_F(GraphLoaderTest, FormatAndVersion) {
    Json g = conv_graph();
    g["format"] = "onnx";
    expect_graph_error(g, "", "\"format\" must be \"fcnrt-graph\"");
    g.erase("format");
    expect_graph_error(g, "", "lacks \"format\"");

    g = conv_graph();
    g["version"] = 2;
    expect_graph_error(g, "", "unsupported format version 2");
    g["version"] = 0;
    expect_graph_error(g, "", "unsupported format version 0");
    g["version"] = "1";
    expect_graph_error(g, "", "\"version\" must be an integer");
    g["version"] = 1.5;
    expect_graph_error(g, "", "\"version\" must be an integer");
    g.erase("version");
    expect_graph_error(g, "", "lacks \"version\"");
}

TEST_F(GraphLoaderTest, MissingOrEmptyTopLevelLists) {
    for (const char* key : {"inputs", "outputs", "nodes"}) {
        Json g = conv_graph();
        g.erase(key);
        expect_graph_error(g, "", std::string("lacks \"") + key + "\"");
    }
    Json g = conv_graph();
    g["inputs"] = Json::array();
    expect_graph_error(g, "", "\"inputs\" must be a non-empty list");
    g = conv_graph();
    g["outputs"] = Json::array();
    expect_graph_error(g, "", "\"outputs\" must name at least one tensor");
    g["outputs"] = "y";
    expect_graph_error(g, "", "\"outputs\" must be a list of tensor names");
    g["outputs"] = Json::array({""});
    expect_graph_error(g, "", "non-empty tensor names");
    g = conv_graph();
    g["nodes"] = Json::object();
    expect_graph_error(g, "", "\"nodes\" must be a list");
    g = conv_graph();
    g["nodez"] = Json::array();
    expect_graph_error(g, "", "unknown top-level key \"nodez\"");
}

TEST_F(GraphLoaderTest, BadInputShapes) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"[1, 3, 0, 8]", "dims must be positive integers or null, got 0"},
        {"[1, 3, -8, 8]", "dims must be positive integers or null, got -8"},
        {"[1, 3, 8, 8, 1]", "shape must be a list of 1 to 4 dims"},
        {"[]", "shape must be a list of 1 to 4 dims"},
        {"[1, 3, \"H\", 8]", "dims must be positive integers or null, got \"H\""},
        {"[1, 3, 8.5, 8]", "dims must be positive integers or null, got 8.5"},
        {"[1, 3, true, 8]", "dims must be positive integers or null, got true"},
        {"[1, 3, 1099511627776, 8]", "dims must be positive integers or null"},
        {"\"1x3x8x8\"", "shape must be a list of 1 to 4 dims"},
    };
    for (const auto& [shape, phrase] : cases) {
        Json g = conv_graph();
        g["inputs"][0]["shape"] = Json::parse(shape);
        expect_graph_error(g, "", phrase);
        expect_graph_error(g, "", "graph input 'x'");
    }
    Json g = conv_graph();
    g["inputs"][0].erase("shape");
    expect_graph_error(g, "", "lacks \"shape\"");
    g = conv_graph();
    g["inputs"][0].erase("name");
    expect_graph_error(g, "", "graph input lacks \"name\"");
    g = conv_graph();
    g["inputs"][0]["name"] = 7;
    expect_graph_error(g, "", "graph input name must be a non-empty string");
    g = conv_graph();
    g["inputs"].push_back(g["inputs"][0]);
    expect_graph_error(g, "", "graph input 'x' is declared twice");
}

// A graph input whose byte size overflows (every dim is in range on its own).
TEST_F(GraphLoaderTest, InputWhoseSizeOverflows) {
    Json g = with_node(Json::parse(
        R"({"op": "relu", "name": "r", "inputs": ["x"], "outputs": ["y"]})"));
    g["inputs"][0]["shape"] = {1073741824, 1073741824, 1073741824, 1073741824};
    expect_graph_error(g, "", "too large");
    expect_graph_error(g, "", "graph input 'x'");
    // The graph input passed straight through: no node output checks it.
    g["nodes"] = Json::array();
    g["outputs"] = {"x"};
    g.erase("weights");
    expect_graph_error(g, "", "too large");
}

// ---- nodes and attributes ----

TEST_F(GraphLoaderTest, UnknownOp) {
    expect_graph_error(with_node(Json::parse(R"({"op": "convolution", "name": "c1",
        "inputs": ["x"], "outputs": ["y"]})")), "c1", "unknown op 'convolution'");
    expect_graph_error(with_node(Json::parse(R"({"op": 3, "name": "c1",
        "inputs": ["x"], "outputs": ["y"]})")), "c1", "\"op\" must be a string");
    expect_graph_error(with_node(Json::parse(R"({"name": "c1",
        "inputs": ["x"], "outputs": ["y"]})")), "c1", "lacks \"op\"");
}

TEST_F(GraphLoaderTest, UnknownAttribute) {
    Json node = conv_graph()["nodes"][0];
    node["strides"] = {2, 2};
    expect_graph_error(with_node(node), "c1", "unknown attribute 'strides' for op conv");
    node = conv_graph()["nodes"][0];
    node["alpha"] = 0.2;  // leaky_relu's attribute; conv's is activation_alpha
    expect_graph_error(with_node(node), "c1", "unknown attribute 'alpha' for op conv");
    expect_graph_error(with_node(Json::parse(R"({"op": "relu", "name": "r", "inputs": ["x"],
        "outputs": ["y"], "alpha": 0.1})")), "r", "unknown attribute 'alpha' for op relu");
    expect_graph_error(with_node(Json::parse(R"({"op": "max_pool", "name": "p", "inputs": ["x"],
        "outputs": ["y"], "kernel": [2, 2], "count_include_pad": true})")),
                       "p", "unknown attribute 'count_include_pad' for op max_pool");
}

TEST_F(GraphLoaderTest, BadConvAttributes) {
    struct Case {
        const char* key;
        const char* value;
        const char* phrase;
    };
    const Case cases[] = {
        {"stride", "[-1, 1]", "attribute 'stride' = -1 is out of range"},
        {"stride", "[1, 0]", "attribute 'stride' = 0 is out of range"},
        {"stride", "0", "attribute 'stride' = 0 is out of range"},
        {"stride", "[1, 1, 1]", "attribute 'stride' must have 2 elements, got 3"},
        {"stride", "\"2\"", "attribute 'stride' must be a list of 2 integers"},
        {"stride", "[1.5, 1]", "attribute 'stride' must be an integer, got 1.5"},
        {"pads", "[1, 1]", "attribute 'pads' must have 4 elements, got 2"},
        {"pads", "[1, 1, 1, 1, 1]", "attribute 'pads' must have 4 elements, got 5"},
        {"pads", "[0, 0, -1, 0]", "attribute 'pads' = -1 is out of range"},
        {"dilation", "[0, 1]", "attribute 'dilation' = 0 is out of range"},
        {"dilation", "[1, 2147483648]", "attribute 'dilation' = 2147483648 is out of range"},
        {"groups", "0", "attribute 'groups' = 0 is out of range"},
        {"groups", "3", "not divisible by groups 3"},
        {"groups", "2", "with groups 2 expects"},
        {"activation", "\"swish\"", "attribute 'activation' = \"swish\" is not one of"},
        {"activation", "1", "attribute 'activation' = 1 is not one of"},
        {"activation_alpha", "\"x\"", "attribute 'activation_alpha' must be a number"},
    };
    for (const Case& c : cases) {
        Json node = conv_graph()["nodes"][0];
        node[c.key] = Json::parse(c.value);
        if (std::string(c.key) == "groups") node["weight"] = "w_g1";
        expect_graph_error(with_node(node), "c1", c.phrase);
    }
}

TEST_F(GraphLoaderTest, BadAttributesOfOtherOps) {
    struct Case {
        const char* node;
        const char* phrase;
    };
    const Case cases[] = {
        {R"({"op": "pad", "name": "n", "inputs": ["x"], "outputs": ["y"], "pads": [1, 1, 1, 1],
             "mode": "wrap"})",
         "attribute 'mode' = \"wrap\" is not one of 'constant', 'reflect', 'edge'"},
        {R"({"op": "pad", "name": "n", "inputs": ["x"], "outputs": ["y"], "pads": [8, 0, 0, 0],
             "mode": "reflect"})",
         "reflect padding must be smaller than the input"},
        {R"({"op": "resize", "name": "n", "inputs": ["x"], "outputs": ["y"], "scale": [2, 2],
             "size": [16, 16]})",
         "give exactly one of 'scale' and 'size'"},
        {R"({"op": "resize", "name": "n", "inputs": ["x"], "outputs": ["y"]})",
         "give exactly one of 'scale' and 'size'"},
        {R"({"op": "resize", "name": "n", "inputs": ["x"], "outputs": ["y"], "scale": [2, 2],
             "align_corners": true})",
         "align_corners applies to bilinear only"},
        {R"({"op": "resize", "name": "n", "inputs": ["x"], "outputs": ["y"], "scale": [0, 2],
             "mode": "bilinear"})",
         "attribute 'scale' must be positive"},
        {R"({"op": "resize", "name": "n", "inputs": ["x"], "outputs": ["y"], "scale": [2, 2],
             "mode": "bicubic"})",
         "attribute 'mode' = \"bicubic\" is not one of"},
        {R"({"op": "resize", "name": "n", "inputs": ["x", "x"], "outputs": ["y"], "scale": [2, 2],
             "size_from_input": true})",
         "give 'size_from_input' or one of 'scale' and 'size', not both"},
        {R"({"op": "resize", "name": "n", "inputs": ["x"], "outputs": ["y"], "size_from_input": true})",
         "'size_from_input' needs a second input"},
        {R"({"op": "resize", "name": "n", "inputs": ["x", "x"], "outputs": ["y"], "scale": [2, 2]})",
         "a second input needs 'size_from_input'"},
        {R"({"op": "group_norm", "name": "n", "inputs": ["x"], "outputs": ["y"]})",
         "missing attribute 'groups'"},
        {R"({"op": "group_norm", "name": "n", "inputs": ["x"], "outputs": ["y"], "groups": 2})",
         "channels 3 are not divisible by groups 2"},
        {R"({"op": "group_norm", "name": "n", "inputs": ["x"], "outputs": ["y"], "groups": 3,
             "epsilon": -1})",
         "attribute 'epsilon' must be in [0, 1000]"},
        {R"({"op": "crop", "name": "n", "inputs": ["x"], "outputs": ["y"], "size": [4, 4]})",
         "attribute 'size' needs 'offset'"},
        {R"({"op": "crop", "name": "n", "inputs": ["x"], "outputs": ["y"], "offset": [1, 1]})",
         "attribute 'offset' needs 'size' or a ref input"},
        {R"({"op": "crop", "name": "n", "inputs": ["x"], "outputs": ["y"]})",
         "needs 'offset' with 'size', 'margins', or a ref input"},
        {R"({"op": "crop", "name": "n", "inputs": ["x"], "outputs": ["y"],
             "margins": [1, 1, 1, 1], "offset": [0, 0], "size": [2, 2]})",
         "give either 'margins' or 'offset' with 'size', not both"},
        {R"({"op": "crop", "name": "n", "inputs": ["x"], "outputs": ["y"], "offset": [4, 0],
             "size": [5, 5]})",
         "exceeds the input's 8"},
        {R"({"op": "max_pool", "name": "n", "inputs": ["x"], "outputs": ["y"]})",
         "missing attribute 'kernel'"},
        {R"({"op": "max_pool", "name": "n", "inputs": ["x"], "outputs": ["y"], "kernel": [2, 2],
             "pads": [2, 0, 0, 0]})",
         "must be smaller than the window extent"},
        {R"({"op": "avg_pool", "name": "n", "inputs": ["x"], "outputs": ["y"], "kernel": [2, 2],
             "ceil_mode": "yes"})",
         "attribute 'ceil_mode' must be true or false"},
        {R"({"op": "max_pool", "name": "n", "inputs": ["x"], "outputs": ["y"],
             "kernel": [65536, 65536], "dilation": [65536, 65536]})",
         "smaller than the window extent 4294901761"},
        {R"({"op": "softmax", "name": "n", "inputs": ["x"], "outputs": ["y"], "axis": 4})",
         "attribute 'axis' = 4 is out of range"},
        {R"({"op": "batch_norm", "name": "n", "inputs": ["x"], "outputs": ["y"],
             "scale": "bn.scale", "bias": "bn.bias", "mean": "bn.mean", "var": "bn.var",
             "epsilon": -1})",
         "attribute 'epsilon' must not be negative"},
        {R"({"op": "conv_transpose", "name": "n", "inputs": ["x"], "outputs": ["y"],
             "weight": "w", "stride": [2, 2], "output_padding": [2, 0]})",
         "output_padding must be smaller than stride or dilation"},
        {R"({"op": "max_unpool", "name": "n", "inputs": ["x", "x"], "outputs": ["y"]})",
         "needs attribute 'output_size'"},
    };
    for (const Case& c : cases) expect_graph_error(with_node(Json::parse(c.node)), "n", c.phrase);
}

TEST_F(GraphLoaderTest, NodeNames) {
    Json g = conv_graph();
    g["nodes"][0].erase("name");
    expect_graph_error(g, "", "node #0 needs a non-empty string \"name\"");
    g["nodes"][0]["name"] = "";
    expect_graph_error(g, "", "node #0 needs a non-empty string \"name\"");
    g["nodes"][0]["name"] = 12;
    expect_graph_error(g, "", "node #0 needs a non-empty string \"name\"");
    g["nodes"][0] = "conv";
    expect_graph_error(g, "", "node #0 is not a JSON object");

    g = conv_graph();
    g["nodes"].push_back(Json::parse(
        R"({"op": "relu", "name": "c1", "inputs": ["y"], "outputs": ["z"]})"));
    expect_graph_error(g, "c1", "node name is used twice");
}

TEST_F(GraphLoaderTest, DanglingInput) {
    Json g = conv_graph();
    g["nodes"].push_back(Json::parse(
        R"({"op": "add", "name": "sum", "inputs": ["y", "nowhere"], "outputs": ["z"]})"));
    g["outputs"] = {"z"};
    expect_graph_error(g, "sum", "input 'nowhere' is produced by no node or graph input");
}

TEST_F(GraphLoaderTest, DuplicateProducers) {
    Json g = conv_graph();
    g["nodes"].push_back(Json::parse(
        R"({"op": "relu", "name": "again", "inputs": ["x"], "outputs": ["y"]})"));
    expect_graph_error(g, "again", "output 'y' is already produced by node c1");

    g = conv_graph();
    g["nodes"].push_back(Json::parse(
        R"({"op": "relu", "name": "shadow", "inputs": ["y"], "outputs": ["x"]})"));
    expect_graph_error(g, "shadow", "output 'x' is already produced by the graph input");

    g = with_node(Json::parse(
        R"({"op": "max_pool", "name": "p", "inputs": ["x"], "outputs": ["y", "y"],
            "kernel": [2, 2]})"));
    expect_graph_error(g, "p", "output 'y' is listed twice");
}

TEST_F(GraphLoaderTest, Cycles) {
    // Two nodes feeding each other.
    Json g = conv_graph();
    g["nodes"] = Json::parse(R"([
        {"op": "add", "name": "a", "inputs": ["x", "tb"], "outputs": ["ta"]},
        {"op": "relu", "name": "b", "inputs": ["ta"], "outputs": ["tb"]}
    ])");
    g["outputs"] = {"tb"};
    g.erase("weights");
    expect_graph_error(g, "", "is part of a cycle");
    {
        const std::string what = [&] {
            try {
                load_model(write_graph(g));
            } catch (const Error& e) {
                return e.node();
            }
            return std::string();
        }();
        EXPECT_TRUE(what == "a" || what == "b") << "node named: '" << what << "'";
    }

    // Three nodes, listed so that the cycle is met from its middle.
    g["nodes"] = Json::parse(R"([
        {"op": "relu", "name": "n2", "inputs": ["t1"], "outputs": ["t2"]},
        {"op": "add", "name": "n1", "inputs": ["x", "t3"], "outputs": ["t1"]},
        {"op": "sigmoid", "name": "n3", "inputs": ["t2"], "outputs": ["t3"]},
        {"op": "tanh", "name": "out", "inputs": ["t3"], "outputs": ["y"]}
    ])");
    g["outputs"] = {"y"};
    try {
        load_model(write_graph(g));
        ADD_FAILURE() << "a three-node cycle loaded";
    } catch (const Error& e) {
        const std::set<std::string> ring = {"n1", "n2", "n3"};
        EXPECT_TRUE(ring.count(e.node())) << e.what();
        EXPECT_NE(std::string(e.what()).find("cycle"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find(path("model.json")), std::string::npos) << e.what();
    }

    // A node reading its own output.
    g["nodes"] = Json::parse(R"([
        {"op": "add", "name": "self", "inputs": ["x", "y"], "outputs": ["y"]}
    ])");
    expect_graph_error(g, "self", "is part of a cycle");
}

TEST_F(GraphLoaderTest, GraphOutputProducedByNobody) {
    Json g = conv_graph();
    g["outputs"] = {"y", "logits"};
    expect_graph_error(g, "", "graph output 'logits' is produced by no node or graph input");
}

TEST_F(GraphLoaderTest, WrongNumberOfInputsOrOutputs) {
    const std::pair<const char*, const char*> cases[] = {
        {R"({"op": "conv", "name": "n", "inputs": ["x", "x", "x"], "outputs": ["y"], "weight": "w"})",
         "conv takes 1 to 2 inputs, got 3"},
        // A second conv input is the residual (an fcnrt extension): it must match the output.
        {R"({"op": "conv", "name": "n", "inputs": ["x", "x"], "outputs": ["y"], "weight": "w"})",
         "residual (input 1) has shape [1, 3, 8, 8]; it must equal the conv output's shape"},
        {R"({"op": "relu", "name": "n", "inputs": ["x", "x"], "outputs": ["y"]})",
         "relu takes 1 inputs, got 2"},
        {R"({"op": "add", "name": "n", "inputs": ["x"], "outputs": ["y"]})",
         "add takes 2 inputs, got 1"},
        {R"({"op": "relu", "name": "n", "inputs": [], "outputs": ["y"]})",
         "relu takes 1 inputs, got 0"},
        {R"({"op": "crop", "name": "n", "inputs": ["x", "x", "x"], "outputs": ["y"]})",
         "crop takes 1 to 2 inputs, got 3"},
        {R"({"op": "relu", "name": "n", "inputs": ["x"], "outputs": ["y", "y2"]})",
         "relu gives 1 outputs, got 2"},
        {R"({"op": "relu", "name": "n", "inputs": ["x"], "outputs": []})",
         "relu gives 1 outputs, got 0"},
        {R"({"op": "max_pool", "name": "n", "inputs": ["x"], "outputs": ["y", "i", "j"],
             "kernel": [2, 2]})",
         "max_pool gives 1 to 2 outputs, got 3"},
        {R"({"op": "relu", "name": "n", "inputs": "x", "outputs": ["y"]})",
         "\"inputs\" must be a list of tensor names"},
        {R"({"op": "relu", "name": "n", "inputs": [1], "outputs": ["y"]})",
         "\"inputs\" must hold non-empty tensor names"},
        {R"({"op": "relu", "name": "n", "inputs": ["x"]})", "lacks \"outputs\""},
    };
    for (const auto& [node, phrase] : cases)
        expect_graph_error(with_node(Json::parse(node)), "n", phrase);
}

// ---- weights ----

TEST_F(GraphLoaderTest, WeightNotInFile) {
    Json node = conv_graph()["nodes"][0];
    node["weight"] = "encoder.0.weight";
    expect_graph_error(with_node(node), "c1", "weight 'encoder.0.weight' is not in the weights file");
    node = conv_graph()["nodes"][0];
    node["bias"] = "encoder.0.bias";
    expect_graph_error(with_node(node), "c1", "weight 'encoder.0.bias' is not in the weights file");
    node = conv_graph()["nodes"][0];
    node.erase("weight");
    expect_graph_error(with_node(node), "c1", "missing weight attribute 'weight'");
    node = conv_graph()["nodes"][0];
    node["weight"] = 5;
    expect_graph_error(with_node(node), "c1", "weight attribute 'weight' must name a tensor");
}

TEST_F(GraphLoaderTest, WeightsFileMissing) {
    Json g = conv_graph();
    g["weights"] = "absent.safetensors";
    const std::string json_path = write_graph(g);
    expect_load_error(json_path, "", "cannot open", path("absent.safetensors"));

    g.erase("weights");
    expect_graph_error(g, "", "nodes name weights but the graph has no \"weights\" file");
    g["weights"] = "";
    expect_graph_error(g, "", "\"weights\" must be a file name");
    g["weights"] = 3;
    expect_graph_error(g, "", "\"weights\" must be a file name");
}

// The weights path is relative to the JSON file, not to the working directory.
TEST_F(GraphLoaderTest, WeightsPathIsRelativeToTheGraph) {
    fs::create_directory(path("sub"));
    fs::copy_file(path("model.safetensors"), path("sub/weights.safetensors"));
    Json g = conv_graph();
    g["weights"] = "weights.safetensors";
    EXPECT_NO_THROW(load_model(write_graph(g, "sub/model.json")));
}

TEST_F(GraphLoaderTest, WeightsOfTheWrongShape) {
    Json node = conv_graph()["nodes"][0];
    node["weight"] = "w_c2";
    expect_graph_error(with_node(node), "c1", "input has 3 channels but weight [4, 2, 3, 3]");
    node = conv_graph()["nodes"][0];
    node["bias"] = "b5";
    expect_graph_error(with_node(node), "c1", "weight 'bias' has shape [5], expected [4]");
    node = conv_graph()["nodes"][0];
    node["weight"] = "w_rank2";
    expect_graph_error(with_node(node), "c1", "weight 'weight' must have rank 4");
    node = conv_graph()["nodes"][0];
    node["weight"] = "w_kh0";
    expect_graph_error(with_node(node), "c1", "weight 'weight' has an empty dim");
    node = conv_graph()["nodes"][0];
    node["weight"] = "w_i32";
    expect_graph_error(with_node(node), "c1", "must be float32");

    expect_graph_error(with_node(Json::parse(R"({"op": "batch_norm", "name": "bn",
        "inputs": ["x"], "outputs": ["y"], "scale": "bn.scale", "bias": "bn.bias",
        "mean": "bn.mean4", "var": "bn.var"})")), "bn", "weight 'mean' has shape [4], expected [3]");
    expect_graph_error(with_node(Json::parse(R"({"op": "batch_norm", "name": "bn",
        "inputs": ["x"], "outputs": ["y"], "scale": "bn.scale", "bias": "bn.bias",
        "mean": "bn.mean"})")), "bn", "missing weight attribute 'var'");

    expect_graph_error(with_node(Json::parse(R"({"op": "dense", "name": "fc", "inputs": ["x"],
        "outputs": ["y"], "weight": "dense.w_bad", "bias": "dense.b"})")),
                       "fc", "input has 192 features per item");
    expect_graph_error(with_node(Json::parse(R"({"op": "dense", "name": "fc", "inputs": ["x"],
        "outputs": ["y"], "weight": "dense.w", "bias": "b"})")),
                       "fc", "weight 'bias' has shape [4], expected [10]");
    expect_graph_error(with_node(Json::parse(R"({"op": "dense", "name": "fc", "inputs": ["x"],
        "outputs": ["y"], "weight": "w_i32"})")), "fc", "must be float32");
    expect_graph_error(with_node(Json::parse(R"({"op": "conv_transpose", "name": "up",
        "inputs": ["x"], "outputs": ["y"], "weight": "w_i32"})")), "up", "must be float32");
}

TEST_F(GraphLoaderTest, BrokenWeightsFileIsNamed) {
    const std::string st = path("broken.safetensors");
    Json g = conv_graph();
    g["weights"] = "broken.safetensors";
    const std::string json_path = write_graph(g);
    const std::string data(4 * (108 + 4), '\0');
    const std::string header =
        R"({"w":{"dtype":"F32","shape":[4,3,3,3],"data_offsets":[0,432]},)"
        R"("b":{"dtype":"F32","shape":[4],"data_offsets":[432,448]}})";
    const std::string good = safetensors_bytes(header, data);
    write_bytes(st, good);
    ASSERT_NO_THROW(load_model(json_path));

    const std::vector<std::pair<std::string, std::string>> files = {
        {"truncated data", good.substr(0, good.size() - 10)},
        {"truncated header", good.substr(0, 20)},
        {"shorter than the length field", good.substr(0, 5)},
        {"empty", ""},
        {"header past the end", le_u64(1 << 20) + header},
        {"header length absurd", le_u64(~uint64_t(0)) + header},
        {"overlapping offsets",
         safetensors_bytes(R"({"w":{"dtype":"F32","shape":[4,3,3,3],"data_offsets":[0,432]},)"
                           R"("b":{"dtype":"F32","shape":[4],"data_offsets":[420,436]}})",
                           std::string(436, '\0'))},
        {"header not JSON", safetensors_bytes("{\"w\": [", data)},
    };
    for (const auto& [what, bytes] : files) {
        SCOPED_TRACE(what);
        write_bytes(st, bytes);
        expect_load_error(json_path, "", "", st);
    }
}

// ---- shapes ----

TEST_F(GraphLoaderTest, DeclaredInputTooSmallForValidConv) {
    Json g = conv_graph();
    g["inputs"][0]["shape"] = {1, 3, 2, 8};
    expect_graph_error(g, "c1", "input height 2 (padded 2) is smaller than the window extent 3");
    g["inputs"][0]["shape"] = {1, 3, 8, 1};
    expect_graph_error(g, "c1", "input width 1 (padded 1) is smaller than the window extent 3");
}

TEST_F(GraphLoaderTest, OutputSizeOverflows) {
    Json g = with_node(Json::parse(R"({"op": "resize", "name": "up", "inputs": ["x"],
        "outputs": ["y"], "scale": [10000, 10000]})"));
    g["inputs"][0]["shape"] = {1, 1000, 100, 100};
    expect_graph_error(g, "up", "output 'y': shape [1, 1000, 1000000, 1000000] is too large");
    // Each output dim in range (100000 * 10000 <= 2^30), their product not.
    g["inputs"][0]["shape"] = {1, 1, 100000, 100000};
    expect_graph_error(g, "up", "too large");
    // An input of 4e13 bytes is refused before any node sees it.
    g["inputs"][0]["shape"] = {1, 1000, 100000, 100000};
    expect_graph_error(g, "", "graph input 'x': shape [1, 1000, 100000, 100000] is too large");
    // Open spatial dims: the known dims alone already overflow.
    g["inputs"][0]["shape"] = {1073741824, 1073741824, nullptr, nullptr};
    g["nodes"][0] = Json::parse(R"({"op": "global_avg_pool", "name": "gap", "inputs": ["x"],
        "outputs": ["y"]})");
    expect_graph_error(g, "", "too large");
}

// ---- metadata ----

TEST_F(GraphLoaderTest, InvalidMetadata) {
    const std::pair<const char*, const char*> cases[] = {
        {R"({"patch": [8]})", "metadata \"patch\" must be [ph, pw]"},
        {R"({"patch": [8, 0]})", "metadata \"patch\" must be [ph, pw]"},
        {R"({"patch": [8, "8"]})", "metadata \"patch\" must be [ph, pw]"},
        {R"({"patch": 8})", "metadata \"patch\" must be [ph, pw]"},
        {R"({"classes": [{"name": "bg", "color": [0, 0, 256]}]})", "class color must be [r, g, b]"},
        {R"({"classes": [{"name": "bg", "color": [-1, 0, 0]}]})", "class color must be [r, g, b]"},
        {R"({"classes": [{"name": "bg", "color": [0, 0]}]})", "class color must be [r, g, b]"},
        {R"({"classes": [{"color": [0, 0, 0]}]})", "entries need a string \"name\""},
        {R"({"classes": {"bg": 0}})", "metadata \"classes\" must be a list"},
        {R"({"preprocess": {"std": [0.5, 0, 0.5]}})", "preprocess \"std\" must not contain 0"},
        {R"({"preprocess": {"mean": "0.5"}})", "preprocess \"mean\" must be a list of numbers"},
        {R"({"preprocess": {"scale": "1/255"}})", "preprocess \"scale\" must be a number"},
        {R"({"preprocess": {"channels": "bgr"}})", "preprocess \"channels\" must be"},
        {R"([1, 2])", "\"metadata\" must be an object"},
    };
    for (const auto& [metadata, phrase] : cases) {
        Json g = conv_graph();
        g["metadata"] = Json::parse(metadata);
        expect_graph_error(g, "", phrase);
    }
}

// ---- graphs that must load ----

// Each node's inputs are graph inputs or outputs of earlier nodes.
void expect_topological(const Model& m) {
    std::set<std::string> ready;
    for (const GraphInput& in : m.graph.inputs) ready.insert(in.name);
    for (const Node& n : m.graph.nodes) {
        for (const std::string& t : n.inputs)
            EXPECT_TRUE(ready.count(t)) << "node " << n.name << " reads '" << t << "' before it exists";
        for (const std::string& t : n.outputs) ready.insert(t);
    }
    for (const std::string& t : m.graph.outputs) EXPECT_TRUE(ready.count(t)) << t;
}

TEST_F(GraphLoaderTest, ShuffledNodesAreSorted) {
    Json g = conv_graph();
    // A chain and a diamond, listed out of order (mostly reversed).
    g["nodes"] = Json::parse(R"([
        {"op": "tanh", "name": "n6", "inputs": ["t5"], "outputs": ["y"]},
        {"op": "add", "name": "n5", "inputs": ["t3", "t4"], "outputs": ["t5"]},
        {"op": "sigmoid", "name": "n4", "inputs": ["t2"], "outputs": ["t4"]},
        {"op": "relu", "name": "n3", "inputs": ["t2"], "outputs": ["t3"]},
        {"op": "conv", "name": "n2", "inputs": ["t1"], "outputs": ["t2"], "weight": "w_g1",
         "pads": [1, 1, 1, 1], "groups": 4},
        {"op": "relu", "name": "n0c", "inputs": ["t1b"], "outputs": ["t1"]},
        {"op": "crop", "name": "n1", "inputs": ["x"], "outputs": ["t0"], "margins": [1, 1, 1, 1]},
        {"op": "identity", "name": "n0b", "inputs": ["t1a"], "outputs": ["t1b"]},
        {"op": "conv", "name": "n0", "inputs": ["t0"], "outputs": ["t1a"], "weight": "w",
         "pads": [1, 1, 1, 1]}
    ])");
    for (bool optimize : {false, true}) {
        LoadOptions options;
        options.optimize = optimize;
        Model m;
        ASSERT_NO_THROW(m = load_model(write_graph(g), options));
        expect_topological(m);
        if (!optimize) {
            EXPECT_EQ(m.graph.nodes.size(), 9u);
        }
        std::map<std::string, Shape> shapes = {{"x", {1, 3, 8, 8}}};
        EXPECT_EQ(infer_shapes(m, shapes).at("y").shape, (Shape{1, 4, 6, 6}));
    }
}

TEST_F(GraphLoaderTest, GoldenShuffledGraphsLoadInOrder) {
    for (const char* name : {"graph_unet_valid", "graph_segnet", "graph_fpn"}) {
        SCOPED_TRACE(name);
        const std::string p = std::string(FCNRT_SOURCE_DIR) + "/tests/golden/" + name + "/model.json";
        if (!fs::exists(p)) GTEST_SKIP() << "no golden model " << p;
        LoadOptions raw;
        raw.optimize = false;
        Model m;
        ASSERT_NO_THROW(m = load_model(p, raw));
        expect_topological(m);
        ASSERT_NO_THROW(m = load_model(p));
        expect_topological(m);
    }
}

TEST_F(GraphLoaderTest, OptionalBiasMayBeAbsent) {
    Json node = conv_graph()["nodes"][0];
    node.erase("bias");
    Model m;
    ASSERT_NO_THROW(m = load_model(write_graph(with_node(node))));
    ASSERT_EQ(m.graph.nodes.size(), 1u);
    ASSERT_EQ(m.graph.nodes[0].weights.size(), 2u);
    EXPECT_EQ(m.graph.nodes[0].weights[1], "");
    EXPECT_EQ(node_weights(m, m.graph.nodes[0])[1], nullptr);

    // A graph naming no weights needs no weights file.
    Json g = with_node(Json::parse(R"({"op": "relu", "name": "r", "inputs": ["x"],
        "outputs": ["y"]})"));
    g.erase("weights");
    EXPECT_NO_THROW(load_model(write_graph(g)));
}

TEST_F(GraphLoaderTest, F16WeightsLoadWidened) {
    // weight [4, 3, 3, 3] of 1.5 (0x3e00), bias [4] of -2 (0xc000), F16 little-endian.
    std::string data;
    for (int i = 0; i < 108; ++i) data += std::string("\x00\x3e", 2);
    for (int i = 0; i < 4; ++i) data += std::string("\x00\xc0", 2);
    std::string header =
        R"({"__metadata__":{"format":"pt"},)"
        R"("w":{"dtype":"F16","shape":[4,3,3,3],"data_offsets":[0,216]},)"
        R"("b":{"dtype":"F16","shape":[4],"data_offsets":[216,224]}})";
    while (header.size() % 8) header += ' ';
    write_bytes(path("half.safetensors"), safetensors_bytes(header, data));
    Json g = conv_graph();
    g["weights"] = "half.safetensors";
    Model m;
    ASSERT_NO_THROW(m = load_model(write_graph(g)));
    const Tensor& w = m.weights.at("w");
    const Tensor& b = m.weights.at("b");
    ASSERT_EQ(w.dtype(), DType::F32);
    ASSERT_EQ(w.shape(), (Shape{4, 3, 3, 3}));
    for (int64_t i = 0; i < w.numel(); ++i) ASSERT_EQ(w.f32()[i], 1.5f) << i;
    for (int64_t i = 0; i < b.numel(); ++i) ASSERT_EQ(b.f32()[i], -2.0f) << i;

    // And they run: every output is 27 * 1.5 * 1 - 2 for an all-ones input.
    Executor exec(m, make_cpu_backend(BackendKind::Cpu));
    Tensor x(DType::F32, {1, 3, 8, 8});
    for (int64_t i = 0; i < x.numel(); ++i) x.f32()[i] = 1.0f;
    const std::vector<Tensor> y = exec.run({{"x", x}});
    ASSERT_EQ(y.size(), 1u);
    ASSERT_EQ(y[0].shape(), (Shape{1, 4, 6, 6}));
    for (int64_t i = 0; i < y[0].numel(); ++i) ASSERT_FLOAT_EQ(y[0].f32()[i], 38.5f) << i;
}

// ---- Executor::run input checks ----

class ExecutorInputTest : public GraphLoaderTest {
protected:
    // x [1, 3, null, null] -> 3x3 VALID conv "c1" -> y; and one with a fixed size.
    Model open_model() {
        Json g = conv_graph();
        g["inputs"][0]["shape"] = {1, 3, nullptr, nullptr};
        return load_model(write_graph(g, "open.json"));
    }
    Model fixed_model() { return load_model(write_graph(conv_graph(), "fixed.json")); }

    // Runs and checks that it fails naming `phrase` (and `node` when given).
    void expect_run_error(const Model& m, const std::map<std::string, Tensor>& inputs,
                          const std::string& node, const std::string& phrase) {
        Executor exec(m, make_cpu_backend(BackendKind::Cpu));
        try {
            exec.run(inputs);
        } catch (const Error& e) {
            const std::string what = e.what();
            EXPECT_NE(what.find(phrase), std::string::npos) << "lacks \"" << phrase << "\": " << what;
            EXPECT_NE(what.find(m.path), std::string::npos) << "lacks the model path: " << what;
            if (!node.empty()) {
                EXPECT_EQ(e.node(), node) << what;
            }
            return;
        } catch (const std::exception& e) {
            ADD_FAILURE() << "expected fcnrt::Error, got: " << e.what();
            return;
        }
        ADD_FAILURE() << "ran without error; expected \"" << phrase << "\"";
    }
};

TEST_F(ExecutorInputTest, MissingInput) {
    expect_run_error(open_model(), {}, "", "input 'x' is missing");
}

TEST_F(ExecutorInputTest, ExtraInput) {
    expect_run_error(open_model(),
                     {{"x", Tensor(DType::F32, {1, 3, 8, 8})}, {"mask", Tensor(DType::F32, {1})}},
                     "", "the graph has no input named 'mask'");
}

TEST_F(ExecutorInputTest, WrongRank) {
    expect_run_error(open_model(), {{"x", Tensor(DType::F32, {3, 8, 8})}}, "",
                     "input 'x' has shape [3, 8, 8], the graph expects [1, 3, ?, ?]");
}

TEST_F(ExecutorInputTest, SizeDiffersFromDeclaredDim) {
    expect_run_error(open_model(), {{"x", Tensor(DType::F32, {1, 4, 8, 8})}}, "",
                     "input 'x' has shape [1, 4, 8, 8], the graph expects [1, 3, ?, ?]");
    expect_run_error(fixed_model(), {{"x", Tensor(DType::F32, {1, 3, 8, 9})}}, "",
                     "input 'x' has shape [1, 3, 8, 9], the graph expects [1, 3, 8, 8]");
    expect_run_error(open_model(), {{"x", Tensor(DType::I32, {1, 3, 8, 8})}}, "",
                     "input 'x' must be float32");
}

TEST_F(ExecutorInputTest, InputTooSmallForTheNet) {
    const Model m = open_model();
    expect_run_error(m, {{"x", Tensor(DType::F32, {1, 3, 2, 2})}}, "c1",
                     "smaller than the window extent 3");
    // The same executor still runs a good size after refusing a bad one.
    Executor exec(m, make_cpu_backend(BackendKind::Cpu));
    EXPECT_THROW(exec.run({{"x", Tensor(DType::F32, {1, 3, 8, 2})}}), Error);
    std::vector<Tensor> y;
    ASSERT_NO_THROW(y = exec.run({{"x", ramp({1, 3, 5, 7})}}));
    ASSERT_EQ(y.size(), 1u);
    EXPECT_EQ(y[0].shape(), (Shape{1, 4, 3, 5}));
}

}  // namespace
}  // namespace fcnrt
