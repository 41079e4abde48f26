// The ONNX importer on small models built here with the generated protobuf
// classes: one error listing every unsupported op, bounds-checked external
// data, typed versus raw initializer fields, constant operands of Add/Mul/Sub/Div
// becoming weights, folded shape arithmetic feeding Resize, and the new
// hard_sigmoid / hard_swish ops on both CPU backends against float64.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include <unistd.h>

#include "engine/device.h"
#include "engine/error.h"
#include "engine/executor.h"
#include "engine/onnx/onnx_loader.h"
#include "fcnrt_onnx/onnx.pb.h"

namespace fcnrt {
namespace {

namespace fs = std::filesystem;

struct Builder {
    onnx::ModelProto m;
    Builder() {
        m.set_ir_version(8);
        auto* op = m.add_opset_import();
        op->set_domain("");
        op->set_version(17);
    }
    onnx::GraphProto& g() { return *m.mutable_graph(); }
    void input(const std::string& name, Shape shape) {
        auto* vi = g().add_input();
        vi->set_name(name);
        auto* t = vi->mutable_type()->mutable_tensor_type();
        t->set_elem_type(onnx::TensorProto::FLOAT);
        for (int64_t d : shape) t->mutable_shape()->add_dim()->set_dim_value(d);
    }
    void output(const std::string& name) { g().add_output()->set_name(name); }
    onnx::NodeProto& node(const std::string& op, std::vector<std::string> ins, std::vector<std::string> outs) {
        auto* n = g().add_node();
        n->set_op_type(op);
        n->set_name(op + "_" + std::to_string(g().node_size()));
        for (auto& i : ins) n->add_input(i);
        for (auto& o : outs) n->add_output(o);
        return *n;
    }
    onnx::TensorProto& init(const std::string& name, Shape dims, std::vector<float> values, bool raw) {
        auto* t = g().add_initializer();
        t->set_name(name);
        t->set_data_type(onnx::TensorProto::FLOAT);
        for (int64_t d : dims) t->add_dims(d);
        if (raw) t->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * 4));
        else for (float v : values) t->add_float_data(v);
        return *t;
    }
    void init_ints(const std::string& name, std::vector<int64_t> values) {
        auto* t = g().add_initializer();
        t->set_name(name);
        t->set_data_type(onnx::TensorProto::INT64);
        t->add_dims(int64_t(values.size()));
        for (int64_t v : values) t->add_int64_data(v);
    }
    std::string save(const std::string& file) {
        const fs::path dir = fs::temp_directory_path() / ("fcnrt_onnx_" + std::to_string(::getpid()));
        fs::create_directories(dir);
        const std::string path = (dir / file).string();
        std::ofstream(path, std::ios::binary) << m.SerializeAsString();
        return path;
    }
};

Tensor random_tensor(Shape s, uint32_t seed) {
    Tensor t(DType::F32, s);
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> d(-40, 40);
    for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = float(d(rng)) / 8.0f;  // exact in float
    return t;
}

std::vector<Tensor> run(const Model& m, const std::string& device, const Tensor& x) {
    Executor ex(m, select_backend(device, nullptr));
    return ex.run({{m.graph.inputs[0].name, x}});
}

TEST(OnnxImport, ListsEveryUnsupportedOpInOneError) {
    Builder b;
    b.input("x", {1, 2, 3, 3});
    b.node("Relu", {"x"}, {"a"});
    b.node("Erf", {"a"}, {"b"});
    b.node("LpNormalization", {"b"}, {"c"});
    b.node("Erf", {"c"}, {"d"});
    b.output("d");
    try {
        import_onnx(b.save("unsupported.onnx"));
        FAIL() << "expected an error";
    } catch (const Error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("Erf ('Erf_2', 'Erf_4')"), std::string::npos) << what;
        EXPECT_NE(what.find("LpNormalization ('LpNormalization_3')"), std::string::npos) << what;
        EXPECT_EQ(what.find("Relu"), std::string::npos) << what;
    }
}

TEST(OnnxImport, ExternalDataIsBoundsChecked) {
    Builder b;
    b.input("x", {1, 2, 1, 1});
    auto& t = b.init("w", {2, 2, 1, 1}, {}, false);
    t.set_data_location(onnx::TensorProto::EXTERNAL);
    auto* loc = t.add_external_data();
    loc->set_key("location");
    loc->set_value("w.bin");
    auto* off = t.add_external_data();
    off->set_key("offset");
    off->set_value("8");
    b.node("Conv", {"x", "w"}, {"y"});
    b.output("y");
    const std::string path = b.save("external.onnx");
    const float w[4] = {1, 2, 3, 4};
    {
        std::ofstream f(fs::path(path).parent_path() / "w.bin", std::ios::binary);
        f.write(reinterpret_cast<const char*>(w), 16);  // 16 bytes: offset 8 + 16 overruns
    }
    EXPECT_THROW(import_onnx(path), Error);
    {
        std::ofstream f(fs::path(path).parent_path() / "w.bin", std::ios::binary);
        const char pad[8] = {};
        f.write(pad, 8);
        f.write(reinterpret_cast<const char*>(w), 16);
    }
    const Model m = load_onnx_model(path);
    Tensor x(DType::F32, {1, 2, 1, 1});
    x.f32()[0] = 1;
    x.f32()[1] = 10;
    const auto y = run(m, "cpu", x);
    EXPECT_EQ(y[0].f32()[0], 21.0f);
    EXPECT_EQ(y[0].f32()[1], 43.0f);

    loc->set_value("../w.bin");
    EXPECT_THROW(import_onnx(b.save("escape.onnx")), Error);
}

TEST(OnnxImport, ConstantOperandsBecomeWeights) {
    for (bool raw : {false, true}) {
        Builder b;
        b.input("x", {2, 3, 4, 5});
        b.init("half", {}, {0.5f}, raw);
        b.init("bias", {1, 3, 1, 1}, {1, 2, 3}, raw);
        b.init("row", {5}, {1, 2, 4, 8, 16}, raw);
        b.node("Mul", {"half", "x"}, {"a"});
        b.node("Add", {"a", "bias"}, {"c"});
        b.node("Div", {"c", "row"}, {"d"});
        b.node("Sub", {"d", "half"}, {"y"});
        b.output("y");
        const Model m = load_onnx_model(b.save("consts.onnx"));
        const Tensor x = random_tensor({2, 3, 4, 5}, 7);
        const float row[5] = {1, 2, 4, 8, 16};
        for (const char* device : {"reference", "cpu"}) {
            const auto y = run(m, device, x);
            for (int64_t i = 0; i < x.numel(); ++i) {
                const int64_t c = (i / 20) % 3, w = i % 5;
                const double want = (0.5 * x.f32()[i] + double(c + 1)) / row[w] - 0.5;
                EXPECT_NEAR(y[0].f32()[i], want, 1e-6) << device << " element " << i << " raw " << raw;
            }
        }
    }
}

TEST(OnnxImport, FoldsShapeArithmeticIntoResize) {
    // sizes = Concat(Shape(x)[0:2], Shape(x)[2:4] * 2): what exporters emit for interpolate.
    Builder b;
    b.input("x", {1, 2, 3, 5});
    b.init_ints("lo", {0});
    b.init_ints("mid", {2});
    b.init_ints("hi", {4});
    b.init_ints("two", {2});
    b.node("Shape", {"x"}, {"s"});
    b.node("Slice", {"s", "lo", "mid"}, {"nc"});
    b.node("Slice", {"s", "mid", "hi"}, {"hw"});
    b.node("Mul", {"hw", "two"}, {"hw2"});
    b.node("Concat", {"nc", "hw2"}, {"sizes"}).add_attribute()->CopyFrom([] {
        onnx::AttributeProto a;
        a.set_name("axis");
        a.set_type(onnx::AttributeProto::INT);
        a.set_i(0);
        return a;
    }());
    auto& r = b.node("Resize", {"x", "", "", "sizes"}, {"y"});
    auto* mode = r.add_attribute();
    mode->set_name("mode");
    mode->set_type(onnx::AttributeProto::STRING);
    mode->set_s("nearest");
    b.output("y");
    const Model m = load_onnx_model(b.save("resize.onnx"));
    ASSERT_EQ(m.graph.nodes.size(), 1u);
    const Tensor x = random_tensor({1, 2, 3, 5}, 3);
    const auto y = run(m, "cpu", x);
    ASSERT_EQ(y[0].shape(), (Shape{1, 2, 6, 10}));
    // half_pixel + round_prefer_floor at exactly 2x: source index floor(dst / 2).
    for (int64_t c = 0; c < 2; ++c)
        for (int64_t oy = 0; oy < 6; ++oy)
            for (int64_t ox = 0; ox < 10; ++ox)
                EXPECT_EQ(y[0].f32()[(c * 6 + oy) * 10 + ox], x.f32()[(c * 3 + oy / 2) * 5 + ox / 2]);
}

TEST(OnnxImport, HardSigmoidAndHardSwishOnBothCpuBackends) {
    Builder b;
    b.input("x", {2, 3, 5, 7});
    auto& hs = b.node("HardSigmoid", {"x"}, {"a"});
    auto* alpha = hs.add_attribute();
    alpha->set_name("alpha");
    alpha->set_type(onnx::AttributeProto::FLOAT);
    alpha->set_f(0.25f);
    b.node("HardSwish", {"x"}, {"b"});
    b.output("a");
    b.output("b");
    const Model m = load_onnx_model(b.save("hard.onnx"));
    const Tensor x = random_tensor({2, 3, 5, 7}, 11);
    for (const char* device : {"reference", "cpu"}) {
        const auto y = run(m, device, x);
        for (int64_t i = 0; i < x.numel(); ++i) {
            const double v = x.f32()[i];
            EXPECT_NEAR(y[0].f32()[i], std::clamp(0.25 * v + 0.5, 0.0, 1.0), 1e-6) << device;
            EXPECT_NEAR(y[1].f32()[i], v * std::clamp(v / 6.0 + 0.5, 0.0, 1.0), 1e-6) << device;
        }
    }
}

}  // namespace
}  // namespace fcnrt
