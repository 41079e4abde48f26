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

// The one-line message of the fcnrt::Error that importing `path` must throw
// (a test failure, and "", when it imports).
std::string import_error(const std::string& path) {
    try {
        import_onnx(path);
    } catch (const Error& e) {
        return e.what();
    }
    ADD_FAILURE() << "expected an error importing " << path;
    return "";
}

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
        // A negative dim is a dynamic one (dim_param), as exports with dynamic axes write.
        for (int64_t d : shape) {
            if (d < 0) t->mutable_shape()->add_dim()->set_dim_param("d" + std::to_string(-d));
            else t->mutable_shape()->add_dim()->set_dim_value(d);
        }
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
    const std::string what = import_error(b.save("unsupported.onnx"));
    EXPECT_NE(what.find("Erf ('Erf_2', 'Erf_4')"), std::string::npos) << what;
    EXPECT_NE(what.find("LpNormalization ('LpNormalization_3')"), std::string::npos) << what;
    EXPECT_EQ(what.find("Relu"), std::string::npos) << what;
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

// The devices every new op is checked on: float64 reference, fast CPU and, where
// built (a GPU or the emulation layer), CUDA.
std::vector<const char*> test_devices() {
#ifdef FCNRT_WITH_CUDA
    return {"reference", "cpu", "cuda"};
#else
    return {"reference", "cpu"};
#endif
}

onnx::AttributeProto& attr(onnx::NodeProto& n, const std::string& name) {
    auto* a = n.add_attribute();
    a->set_name(name);
    return *a;
}

double gelu_erf(double v) {
    return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
}
double gelu_tanh(double v) {
    return 0.5 * v * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
}

TEST(OnnxImport, PReluPerChannelAndScalarEluOnEveryDevice) {
    Builder b;
    b.input("x", {2, 3, 5, 7});
    b.init("slope_c", {3, 1, 1}, {0.25f, -0.5f, 2.0f}, false);
    b.init("slope_1", {1}, {0.125f}, true);
    b.node("PRelu", {"x", "slope_c"}, {"a"});
    b.node("PRelu", {"x", "slope_1"}, {"b"});
    auto& elu = b.node("Elu", {"x"}, {"c"});
    auto& alpha = attr(elu, "alpha");
    alpha.set_type(onnx::AttributeProto::FLOAT);
    alpha.set_f(0.5f);
    b.output("a");
    b.output("b");
    b.output("c");
    const Model m = load_onnx_model(b.save("prelu_elu.onnx"));
    const Tensor x = random_tensor({2, 3, 5, 7}, 5);
    const double slope_c[3] = {0.25, -0.5, 2.0};
    for (const char* device : test_devices()) {
        const auto y = run(m, device, x);
        for (int64_t i = 0; i < x.numel(); ++i) {
            const double v = x.f32()[i];
            const int64_t c = (i / 35) % 3;
            EXPECT_NEAR(y[0].f32()[i], v >= 0 ? v : slope_c[c] * v, 1e-6) << device << " " << i;
            EXPECT_NEAR(y[1].f32()[i], v >= 0 ? v : 0.125 * v, 1e-6) << device << " " << i;
            EXPECT_NEAR(y[2].f32()[i], v > 0 ? v : 0.5 * std::expm1(v), 1e-6) << device << " " << i;
        }
    }
}

TEST(OnnxImport, PReluRefusesASlopeThatIsNotPerChannel) {
    Builder b;
    b.input("x", {1, 3, 2, 4});
    b.init("slope", {4}, {1, 2, 3, 4}, false);  // broadcasts over W, not C
    b.node("PRelu", {"x", "slope"}, {"y"});
    b.output("y");
    const std::string what = import_error(b.save("prelu_w.onnx"));
    EXPECT_NE(what.find("one slope per channel"), std::string::npos) << what;
}

TEST(OnnxImport, GeluOfOpset20BothForms) {
    Builder b;
    b.m.mutable_opset_import(0)->set_version(20);
    b.input("x", {1, 4, 3, 5});
    b.node("Gelu", {"x"}, {"a"});
    auto& t = b.node("Gelu", {"x"}, {"b"});
    auto& approx = attr(t, "approximate");
    approx.set_type(onnx::AttributeProto::STRING);
    approx.set_s("tanh");
    b.output("a");
    b.output("b");
    const Model m = load_onnx_model(b.save("gelu20.onnx"));
    const Tensor x = random_tensor({1, 4, 3, 5}, 7);
    for (const char* device : test_devices()) {
        const auto y = run(m, device, x);
        for (int64_t i = 0; i < x.numel(); ++i) {
            EXPECT_NEAR(y[0].f32()[i], gelu_erf(x.f32()[i]), 1e-5) << device;
            EXPECT_NEAR(y[1].f32()[i], gelu_tanh(x.f32()[i]), 1e-5) << device;
        }
    }
}

// Scalar constants as Constant nodes (as the TorchScript exporter writes them).
void constant_scalar(Builder& b, const std::string& name, float v) {
    auto& n = b.node("Constant", {}, {name});
    auto& a = attr(n, "value");
    a.set_type(onnx::AttributeProto::TENSOR);
    a.mutable_t()->set_data_type(onnx::TensorProto::FLOAT);
    a.mutable_t()->add_float_data(v);
}

TEST(OnnxImport, GeluErfPatternsBecomeOneGeluNode) {
    Builder b;
    b.input("x", {2, 3, 4, 5});
    b.node("Relu", {"x"}, {"r"});
    // PyTorch's export: Mul(Mul(r, Add(Erf(Div(r, sqrt2)), 1)), 0.5).
    constant_scalar(b, "sqrt2", 1.4142135f);
    b.node("Div", {"r", "sqrt2"}, {"d"});
    b.node("Erf", {"d"}, {"e"});
    constant_scalar(b, "one", 1.0f);
    b.node("Add", {"e", "one"}, {"p"});
    b.node("Mul", {"r", "p"}, {"m"});
    constant_scalar(b, "half", 0.5f);
    b.node("Mul", {"m", "half"}, {"g1"});
    // The other form: Mul(Mul(x, 0.5), Add(1, Erf(Mul(x, 1/sqrt2)))), initializers.
    b.init("inv_sqrt2", {}, {0.70710678f}, false);
    b.init("half2", {}, {0.5f}, false);
    b.init("one2", {}, {1.0f}, false);
    b.node("Mul", {"inv_sqrt2", "x"}, {"d2"});
    b.node("Erf", {"d2"}, {"e2"});
    b.node("Add", {"one2", "e2"}, {"p2"});
    b.node("Mul", {"x", "half2"}, {"h2"});
    b.node("Mul", {"h2", "p2"}, {"g2"});
    b.output("g1");
    b.output("g2");
    const OnnxImport imp = import_onnx(b.save("gelu_erf.onnx"));
    int gelus = 0;
    for (const auto& n : imp.doc["nodes"]) {
        EXPECT_NE(n["op"], "mul") << n.dump();
        EXPECT_NE(n["op"], "add") << n.dump();
        gelus += n["op"] == "gelu";
    }
    EXPECT_EQ(gelus, 2);
    const Model m = load_onnx_model(b.save("gelu_erf.onnx"));
    const Tensor x = random_tensor({2, 3, 4, 5}, 9);
    for (const char* device : test_devices()) {
        const auto y = run(m, device, x);
        for (int64_t i = 0; i < x.numel(); ++i) {
            const double v = x.f32()[i];
            EXPECT_NEAR(y[0].f32()[i], gelu_erf(std::max(v, 0.0)), 1e-5) << device;
            EXPECT_NEAR(y[1].f32()[i], gelu_erf(v), 1e-5) << device;
        }
    }
}

// An Erf whose intermediate has another reader is not GELU; Erf stays refused.
TEST(OnnxImport, ErfChainWithAnotherReaderIsNotGelu) {
    Builder b;
    b.input("x", {1, 2, 3, 3});
    b.init("sqrt2", {}, {1.4142135f}, false);
    b.init("one", {}, {1.0f}, false);
    b.init("half", {}, {0.5f}, false);
    b.node("Div", {"x", "sqrt2"}, {"d"});
    b.node("Erf", {"d"}, {"e"});
    b.node("Add", {"e", "one"}, {"p"});
    b.node("Mul", {"x", "p"}, {"m"});
    b.node("Mul", {"m", "half"}, {"g"});
    b.output("g");
    b.output("p");  // the intermediate is also a graph output
    const std::string what = import_error(b.save("erf_not_gelu.onnx"));
    EXPECT_NE(what.find("Erf"), std::string::npos) << what;
}

// Attention gates and other NumPy broadcasts: Mul of [N,1,H,W] by [N,C,H,W], the
// smaller operand first, a row [N,C,1,W], and a constant that grows the channels.
TEST(OnnxImport, BinaryOpsBroadcastNumpyStyle) {
    Builder b;
    b.input("x", {2, 3, 4, 5});
    b.input("r", {2, 3, 1, 5});
    b.input("g", {2, 1, 4, 5});
    b.init("k", {3, 1, 1}, {1, -2, 4}, false);
    b.node("Mul", {"g", "x"}, {"gated"});
    b.node("Add", {"r", "gated"}, {"y"});
    b.node("Sub", {"g", "k"}, {"z"});
    b.output("y");
    b.output("z");
    const Model m = load_onnx_model(b.save("broadcast.onnx"));
    const Tensor x = random_tensor({2, 3, 4, 5}, 1), r = random_tensor({2, 3, 1, 5}, 2),
                 g = random_tensor({2, 1, 4, 5}, 3);
    const double k[3] = {1, -2, 4};
    for (const char* device : test_devices()) {
        Executor ex(m, select_backend(device, nullptr));
        const auto out = ex.run({{"x", x}, {"r", r}, {"g", g}});
        ASSERT_EQ(out[1].shape(), (Shape{2, 3, 4, 5}));
        for (int64_t n = 0; n < 2; ++n)
            for (int64_t c = 0; c < 3; ++c)
                for (int64_t h = 0; h < 4; ++h)
                    for (int64_t w = 0; w < 5; ++w) {
                        const int64_t i = ((n * 3 + c) * 4 + h) * 5 + w;
                        const double gv = g.f32()[(n * 4 + h) * 5 + w];
                        const double want = r.f32()[(n * 3 + c) * 5 + w] + gv * x.f32()[i];
                        EXPECT_NEAR(out[0].f32()[i], want, 1e-6) << device << " " << i;
                        EXPECT_NEAR(out[1].f32()[i], gv - k[c], 1e-6) << device << " " << i;
                    }
    }
}

TEST(OnnxImport, BinaryOpsRefuseShapesThatDoNotBroadcast) {
    Builder b;
    b.input("x", {1, 3, 4, 5});
    b.input("y", {1, 3, 5, 4});
    b.node("Add", {"x", "y"}, {"z"});
    b.output("z");
    const std::string what = import_error(b.save("no_broadcast.onnx"));
    EXPECT_NE(what.find("do not broadcast"), std::string::npos) << what;
}

// DepthToSpace in both modes and SpaceToDepth, against the formulas of the ONNX
// operator documentation (DCR: depth channel (i*b + j)*C + c; CRD: (c*b + i)*b + j).
TEST(OnnxImport, DepthToSpaceAndSpaceToDepth) {
    Builder b;
    b.input("x", {2, 12, 3, 5});
    auto& dcr = b.node("DepthToSpace", {"x"}, {"dcr"});
    auto& bs = attr(dcr, "blocksize");
    bs.set_type(onnx::AttributeProto::INT);
    bs.set_i(2);
    auto& crd = b.node("DepthToSpace", {"x"}, {"crd"});
    attr(crd, "blocksize").CopyFrom(bs);
    auto& mode = attr(crd, "mode");
    mode.set_type(onnx::AttributeProto::STRING);
    mode.set_s("CRD");
    auto& s2d = b.node("SpaceToDepth", {"dcr"}, {"back"});
    attr(s2d, "blocksize").CopyFrom(bs);
    b.output("dcr");
    b.output("crd");
    b.output("back");
    const Model m = load_onnx_model(b.save("depth_space.onnx"));
    const Tensor x = random_tensor({2, 12, 3, 5}, 13);
    for (const char* device : test_devices()) {
        const auto y = run(m, device, x);
        ASSERT_EQ(y[0].shape(), (Shape{2, 3, 6, 10}));
        for (int64_t n = 0; n < 2; ++n)
            for (int64_t c = 0; c < 3; ++c)
                for (int64_t oy = 0; oy < 6; ++oy)
                    for (int64_t ox = 0; ox < 10; ++ox) {
                        const int64_t i = oy % 2, j = ox % 2,
                                      out = ((n * 3 + c) * 6 + oy) * 10 + ox;
                        const auto at = [&](int64_t ch) {
                            return x.f32()[((n * 12 + ch) * 3 + oy / 2) * 5 + ox / 2];
                        };
                        EXPECT_EQ(y[0].f32()[out], at((i * 2 + j) * 3 + c)) << device;
                        EXPECT_EQ(y[1].f32()[out], at((c * 2 + i) * 2 + j)) << device;
                    }
        for (int64_t k = 0; k < x.numel(); ++k) EXPECT_EQ(y[2].f32()[k], x.f32()[k]) << device;
    }
}

onnx::NodeProto& transpose(Builder& b, const std::string& in, const std::string& out,
                           std::vector<int64_t> perm) {
    auto& t = b.node("Transpose", {in}, {out});
    auto& a = attr(t, "perm");
    a.set_type(onnx::AttributeProto::INTS);
    for (int64_t p : perm) a.add_ints(p);
    return t;
}

// PyTorch's PixelShuffle (opset < 11) and PixelUnshuffle exports, Reshape to rank
// 6, Transpose, Reshape back, become depth_to_space / space_to_depth; compared
// with DepthToSpace nodes (themselves checked against ONNX's node cases).
TEST(OnnxImport, ReshapeTransposeReshapeIsPixelShuffle) {
    Builder b;
    b.input("x", {2, 12, 3, 5});
    b.init_ints("crd6", {0, 3, 2, 2, 3, 5});
    b.init_ints("dcr6", {0, 2, 2, 3, 3, 5});
    b.init_ints("space4", {0, -1, 6, 10});
    b.init_ints("unshuffle6", {0, 3, 3, 2, 5, 2});
    b.init_ints("depth4", {0, 12, 3, 5});
    b.node("Reshape", {"x", "crd6"}, {"c6"});
    transpose(b, "c6", "c6t", {0, 1, 4, 2, 5, 3});
    b.node("Reshape", {"c6t", "space4"}, {"shuffled_crd"});
    b.node("Reshape", {"x", "dcr6"}, {"d6"});
    transpose(b, "d6", "d6t", {0, 3, 4, 1, 5, 2});
    b.node("Reshape", {"d6t", "space4"}, {"shuffled_dcr"});
    b.node("Reshape", {"shuffled_crd", "unshuffle6"}, {"u6"});
    transpose(b, "u6", "u6t", {0, 1, 3, 5, 2, 4});
    b.node("Reshape", {"u6t", "depth4"}, {"unshuffled"});
    for (const char* mode : {"CRD", "DCR"}) {
        auto& n = b.node("DepthToSpace", {"x"}, {std::string("d2s_") + mode});
        auto& bs = attr(n, "blocksize");
        bs.set_type(onnx::AttributeProto::INT);
        bs.set_i(2);
        auto& m = attr(n, "mode");
        m.set_type(onnx::AttributeProto::STRING);
        m.set_s(mode);
    }
    for (const char* o : {"shuffled_crd", "shuffled_dcr", "unshuffled", "d2s_CRD", "d2s_DCR"})
        b.output(o);
    const OnnxImport imp = import_onnx(b.save("pixel_shuffle.onnx"));
    std::vector<std::string> ops;
    for (const auto& n : imp.doc["nodes"]) ops.push_back(n["op"]);
    EXPECT_EQ(ops, (std::vector<std::string>{"depth_to_space", "depth_to_space", "space_to_depth",
                                             "depth_to_space", "depth_to_space"}));
    const Model m = load_onnx_model(b.save("pixel_shuffle.onnx"));
    const Tensor x = random_tensor({2, 12, 3, 5}, 17);
    for (const char* device : test_devices()) {
        const auto y = run(m, device, x);
        ASSERT_EQ(y[0].shape(), (Shape{2, 3, 6, 10}));
        for (int64_t k = 0; k < y[0].numel(); ++k) {
            EXPECT_EQ(y[0].f32()[k], y[3].f32()[k]) << device;
            EXPECT_EQ(y[1].f32()[k], y[4].f32()[k]) << device;
        }
        ASSERT_EQ(y[2].shape(), x.shape());
        for (int64_t k = 0; k < x.numel(); ++k) EXPECT_EQ(y[2].f32()[k], x.f32()[k]) << device;
    }
}

TEST(OnnxImport, OtherRank6TransposesAreRefused) {
    Builder b;
    b.input("x", {1, 12, 3, 5});
    b.init_ints("s6", {1, 3, 2, 2, 3, 5});
    b.init_ints("s4", {1, 3, 6, 10});
    b.node("Reshape", {"x", "s6"}, {"v"});
    transpose(b, "v", "t", {0, 1, 2, 4, 3, 5});
    b.node("Reshape", {"t", "s4"}, {"y"});
    b.output("y");
    const std::string what = import_error(b.save("not_shuffle.onnx"));
    EXPECT_NE(what.find("not PixelShuffle"), std::string::npos) << what;
}

void init_scalar_int(Builder& b, const std::string& name, int64_t v) {
    auto* t = b.g().add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_int64_data(v);
}

// The subgraph the TorchScript exporter (opset 17) writes for F.pad(x, (1, 2, 0, 3),
// mode="reflect"): the pads list is extended with zeros, reshaped to pairs,
// reversed with a Slice of step -1, transposed and flattened. Folded at import
// (Transpose, Where, Expand, Equal included), it must give ONNX pads
// [0, 0, 0, 1, 0, 0, 3, 2], i.e. fcnrt pads [top 0, left 1, bottom 3, right 2].
TEST(OnnxImport, FoldsTorchPadSubgraphWithTranspose) {
    Builder b;
    b.input("x", {2, 3, 5, 6});
    b.init_ints("pad", {1, 2, 0, 3});
    init_scalar_int(b, "rank", 4);
    init_scalar_int(b, "two", 2);
    init_scalar_int(b, "zero_i", 0);
    b.init_ints("axis0", {0});
    b.init_ints("pairs", {-1, 2});
    b.init_ints("flat", {-1});
    b.init_ints("start", {-1});
    b.init_ints("end", {-9223372036854775807});
    b.init_ints("step", {-1});
    b.init_ints("eight", {8});
    b.node("Shape", {"pad"}, {"pad_shape"});
    b.node("Gather", {"pad_shape", "zero_i"}, {"pad_len"});
    b.node("Mul", {"rank", "two"}, {"twice"});
    b.node("Sub", {"twice", "pad_len"}, {"extension"});
    b.node("Unsqueeze", {"extension", "axis0"}, {"ext1"});
    b.node("ConstantOfShape", {"ext1"}, {"zeros"});
    auto& cat = b.node("Concat", {"pad", "zeros"}, {"padded"});
    auto& axis = attr(cat, "axis");
    axis.set_type(onnx::AttributeProto::INT);
    axis.set_i(0);
    b.node("Reshape", {"padded", "pairs"}, {"as_pairs"});
    b.node("Slice", {"as_pairs", "start", "end", "axis0", "step"}, {"reversed"});
    transpose(b, "reversed", "by_side", {1, 0});
    b.node("Reshape", {"by_side", "flat"}, {"onnx_pads"});
    // Where(Equal(p, 0), Expand(0, [8]), p): p again, through the other folds.
    b.node("Equal", {"onnx_pads", "zero_i"}, {"is_zero"});
    b.node("Expand", {"zero_i", "eight"}, {"zeros8"});
    b.node("Where", {"is_zero", "zeros8", "onnx_pads"}, {"pads"});
    auto& cast = b.node("Cast", {"pads"}, {"pads64"});
    auto& to = attr(cast, "to");
    to.set_type(onnx::AttributeProto::INT);
    to.set_i(onnx::TensorProto::INT64);
    auto& pad = b.node("Pad", {"x", "pads64"}, {"y"});
    auto& mode = attr(pad, "mode");
    mode.set_type(onnx::AttributeProto::STRING);
    mode.set_s("reflect");
    b.output("y");
    const OnnxImport imp = import_onnx(b.save("torch_pad.onnx"));
    ASSERT_EQ(imp.doc["nodes"].size(), 1u) << imp.doc["nodes"].dump();
    EXPECT_EQ(imp.doc["nodes"][0]["op"], "pad");
    EXPECT_EQ(imp.doc["nodes"][0]["pads"], Json({0, 1, 3, 2}));
    const Model m = load_onnx_model(b.save("torch_pad.onnx"));
    const Tensor x = random_tensor({2, 3, 5, 6}, 19);
    auto reflect = [](int64_t i, int64_t size) {
        return i < 0 ? -i : (i >= size ? 2 * (size - 1) - i : i);
    };
    for (const char* device : test_devices()) {
        const auto y = run(m, device, x);
        ASSERT_EQ(y[0].shape(), (Shape{2, 3, 8, 9}));
        for (int64_t nc = 0; nc < 6; ++nc)
            for (int64_t oy = 0; oy < 8; ++oy)
                for (int64_t ox = 0; ox < 9; ++ox)
                    EXPECT_EQ(y[0].f32()[(nc * 8 + oy) * 9 + ox],
                              x.f32()[(nc * 5 + reflect(oy, 5)) * 6 + reflect(ox - 1, 6)])
                        << device;
    }
}

// GELU approximate="tanh" as torch.onnx writes it before opset 20.
TEST(OnnxImport, GeluTanhPatternBecomesOneGeluNode) {
    Builder b;
    b.input("x", {2, 3, 4, 5});
    constant_scalar(b, "kappa", 0.044715f);
    constant_scalar(b, "beta", 0.7978845608f);
    constant_scalar(b, "one", 1.0f);
    constant_scalar(b, "half", 0.5f);
    b.node("Mul", {"x", "x"}, {"sq"});
    b.node("Mul", {"x", "sq"}, {"cube"});
    b.node("Mul", {"kappa", "cube"}, {"kc"});
    b.node("Add", {"x", "kc"}, {"s"});
    b.node("Mul", {"beta", "s"}, {"inner"});
    b.node("Tanh", {"inner"}, {"t"});
    b.node("Add", {"one", "t"}, {"p"});
    b.node("Mul", {"x", "p"}, {"q"});
    b.node("Mul", {"half", "q"}, {"y"});
    b.output("y");
    const OnnxImport imp = import_onnx(b.save("gelu_tanh.onnx"));
    ASSERT_EQ(imp.doc["nodes"].size(), 1u) << imp.doc["nodes"].dump();
    EXPECT_EQ(imp.doc["nodes"][0]["op"], "gelu");
    EXPECT_EQ(imp.doc["nodes"][0]["approximate"], "tanh");
    const Model m = load_onnx_model(b.save("gelu_tanh.onnx"));
    const Tensor x = random_tensor({2, 3, 4, 5}, 23);
    for (const char* device : test_devices()) {
        const auto y = run(m, device, x);
        for (int64_t i = 0; i < x.numel(); ++i) EXPECT_NEAR(y[0].f32()[i], gelu_tanh(x.f32()[i]), 1e-5) << device;
    }
}

// ---- issue 14: instance/group norm, dynamic sizes ----

// Closed form of group norm over (n, group) of x [N, C, H, W]; scale/bias per channel.
std::vector<double> group_norm_expected(const Tensor& x, int64_t groups, const std::vector<float>& scale,
                                        const std::vector<float>& bias, double eps) {
    const Shape& s = x.shape();
    const int64_t cg = s[1] / groups, len = cg * s[2] * s[3];
    std::vector<double> y(size_t(x.numel()));
    for (int64_t n = 0; n < s[0]; ++n)
        for (int64_t g = 0; g < groups; ++g) {
            const float* p = x.f32() + (n * s[1] + g * cg) * s[2] * s[3];
            double mean = 0, var = 0;
            for (int64_t i = 0; i < len; ++i) mean += p[i];
            mean /= double(len);
            for (int64_t i = 0; i < len; ++i) var += (p[i] - mean) * (p[i] - mean);
            var /= double(len);
            for (int64_t i = 0; i < len; ++i) {
                const int64_t c = g * cg + i / (s[2] * s[3]);
                y[size_t(p - x.f32() + i)] = (p[i] - mean) / std::sqrt(var + eps) * scale[c] + bias[c];
            }
        }
    return y;
}

TEST(OnnxImport, InstanceNormAndGroupNormPatternOnEveryDeviceAtDynamicSizes) {
    // y1 = InstanceNormalization(x) (nn.InstanceNorm2d); y2 = PyTorch's GroupNorm export:
    // Reshape(x, [0, 2, -1]), InstanceNormalization (per-group scale/B), Reshape(Shape(x)).
    Builder b;
    b.input("x", {-1, 4, -2, -3});
    b.init("s4", {4}, {0.5f, -1.0f, 2.0f, 1.5f}, false);
    b.init("b4", {4}, {0.25f, 0.0f, -1.0f, 3.0f}, true);
    b.init("s2", {2}, {2.0f, -0.5f}, false);
    b.init("b2", {2}, {1.0f, 0.5f}, false);
    b.init_ints("view", {0, 2, -1});
    auto& in1 = b.node("InstanceNormalization", {"x", "s4", "b4"}, {"y1"});
    auto& eps = attr(in1, "epsilon");
    eps.set_type(onnx::AttributeProto::FLOAT);
    eps.set_f(1e-3f);
    b.node("Reshape", {"x", "view"}, {"r"});
    b.node("InstanceNormalization", {"r", "s2", "b2"}, {"n"});
    b.node("Shape", {"x"}, {"sx"});
    b.node("Reshape", {"n", "sx"}, {"y2"});
    b.output("y1");
    b.output("y2");
    const OnnxImport imp = import_onnx(b.save("norms.onnx"));
    ASSERT_EQ(imp.doc["nodes"].size(), 2u) << imp.doc["nodes"].dump();
    EXPECT_EQ(imp.doc["nodes"][0]["op"], "group_norm");
    EXPECT_EQ(imp.doc["nodes"][0]["groups"], 4);
    EXPECT_EQ(imp.doc["nodes"][1]["op"], "group_norm");
    EXPECT_EQ(imp.doc["nodes"][1]["groups"], 2);
    const Model m = load_onnx_model(b.save("norms.onnx"));
    for (Shape s : {Shape{1, 4, 5, 7}, Shape{3, 4, 1, 9}}) {
        const Tensor x = random_tensor(s, 31);
        const auto want1 = group_norm_expected(x, 4, {0.5f, -1.0f, 2.0f, 1.5f}, {0.25f, 0.0f, -1.0f, 3.0f}, 1e-3);
        const auto want2 = group_norm_expected(x, 2, {2.0f, 2.0f, -0.5f, -0.5f}, {1.0f, 1.0f, 0.5f, 0.5f}, 1e-5);
        for (const char* device : test_devices()) {
            const auto y = run(m, device, x);
            ASSERT_EQ(y[0].shape(), s);
            ASSERT_EQ(y[1].shape(), s);
            for (int64_t i = 0; i < x.numel(); ++i) {
                EXPECT_NEAR(y[0].f32()[i], want1[size_t(i)], 1e-5) << device << " " << i;
                EXPECT_NEAR(y[1].f32()[i], want2[size_t(i)], 1e-5) << device << " " << i;
            }
        }
    }
}

TEST(OnnxImport, ResizeToAnotherTensorsDynamicSize) {
    // interpolate(pool(x), size=x.shape[-2:]) with dynamic H, W: the sizes come from
    // Shape(x) and Shape(p) through Slice and Concat, known only at run time.
    Builder b;
    b.input("x", {-1, 2, -2, -3});
    b.init_ints("lo", {0});
    b.init_ints("mid", {2});
    b.init_ints("hi", {4});
    auto& pool = b.node("MaxPool", {"x"}, {"p"});
    attr(pool, "kernel_shape").set_type(onnx::AttributeProto::INTS);
    pool.mutable_attribute(0)->add_ints(2);
    pool.mutable_attribute(0)->add_ints(2);
    attr(pool, "strides").set_type(onnx::AttributeProto::INTS);
    pool.mutable_attribute(1)->add_ints(2);
    pool.mutable_attribute(1)->add_ints(2);
    b.node("Shape", {"x"}, {"sx"});
    b.node("Shape", {"p"}, {"sp"});
    b.node("Slice", {"sp", "lo", "mid"}, {"nc"});
    b.node("Slice", {"sx", "mid", "hi"}, {"hw"});
    auto& cat = b.node("Concat", {"nc", "hw"}, {"sizes"});
    attr(cat, "axis").set_type(onnx::AttributeProto::INT);
    auto& r = b.node("Resize", {"p", "", "", "sizes"}, {"y"});
    attr(r, "mode").set_s("nearest");
    r.mutable_attribute(0)->set_type(onnx::AttributeProto::STRING);
    attr(r, "coordinate_transformation_mode").set_s("asymmetric");
    r.mutable_attribute(1)->set_type(onnx::AttributeProto::STRING);
    attr(r, "nearest_mode").set_s("floor");
    r.mutable_attribute(2)->set_type(onnx::AttributeProto::STRING);
    b.output("y");
    const OnnxImport imp = import_onnx(b.save("resize_like.onnx"));
    ASSERT_EQ(imp.doc["nodes"].size(), 2u) << imp.doc["nodes"].dump();
    const Json& rz = imp.doc["nodes"][1];
    EXPECT_EQ(rz["op"], "resize");
    EXPECT_EQ(rz["size_from_input"], true);
    EXPECT_EQ(rz["inputs"], Json::array({"p", "x"}));
    const Model m = load_onnx_model(b.save("resize_like.onnx"));
    for (Shape s : {Shape{1, 2, 7, 9}, Shape{2, 2, 4, 13}}) {
        const Tensor x = random_tensor(s, 41);
        const int64_t ph = s[2] / 2, pw = s[3] / 2;
        for (const char* device : test_devices()) {
            const auto y = run(m, device, x);
            ASSERT_EQ(y[0].shape(), s) << device;
            for (int64_t nc = 0; nc < s[0] * s[1]; ++nc)
                for (int64_t oy = 0; oy < s[2]; ++oy)
                    for (int64_t ox = 0; ox < s[3]; ++ox) {
                        // nearest, asymmetric, floor: pooled pixel floor(o * in / out), the max of its 2x2 window
                        const int64_t py = oy * ph / s[2], px = ox * pw / s[3];
                        float want = -INFINITY;
                        for (int64_t dy = 0; dy < 2; ++dy)
                            for (int64_t dx = 0; dx < 2; ++dx)
                                want = std::max(want, x.f32()[(nc * s[2] + 2 * py + dy) * s[3] + 2 * px + dx]);
                        EXPECT_EQ(y[0].f32()[(nc * s[2] + oy) * s[3] + ox], want) << device;
                    }
        }
    }
}

TEST(OnnxImport, DynamicDimsKeptByReshapeAndRefusedInArithmetic) {
    // Reshape(x, [Shape(x)[0], -1]) with a dynamic batch is a flatten.
    {
        Builder b;
        b.input("x", {-1, 2, 3, 3});
        b.init_ints("zero", {0});
        b.init_ints("rest", {-1});
        b.node("Shape", {"x"}, {"sx"});
        auto& g = b.node("Gather", {"sx", "zero"}, {"n"});
        attr(g, "axis").set_type(onnx::AttributeProto::INT);
        auto& cat = b.node("Concat", {"n", "rest"}, {"spec"});
        attr(cat, "axis").set_type(onnx::AttributeProto::INT);
        b.node("Reshape", {"x", "spec"}, {"y"});
        b.output("y");
        const Model m = load_onnx_model(b.save("flatten_dyn.onnx"));
        const Tensor x = random_tensor({3, 2, 3, 3}, 5);
        const auto y = run(m, "cpu", x);
        ASSERT_EQ(y[0].shape(), (Shape{3, 18}));
        for (int64_t i = 0; i < x.numel(); ++i) EXPECT_EQ(y[0].f32()[i], x.f32()[i]);
    }
    // Resize to twice the dynamic size: arithmetic on a dynamic dim is refused, naming it.
    Builder b;
    b.input("x", {1, 2, -1, 5});
    b.init_ints("lo", {0});
    b.init_ints("mid", {2});
    b.init_ints("hi", {4});
    b.init_ints("two", {2});
    b.node("Shape", {"x"}, {"s"});
    b.node("Slice", {"s", "lo", "mid"}, {"nc"});
    b.node("Slice", {"s", "mid", "hi"}, {"hw"});
    b.node("Mul", {"hw", "two"}, {"hw2"});
    auto& cat = b.node("Concat", {"nc", "hw2"}, {"sizes"});
    attr(cat, "axis").set_type(onnx::AttributeProto::INT);
    b.node("Resize", {"x", "", "", "sizes"}, {"y"});
    b.output("y");
    const std::string what = import_error(b.save("resize_dyn_mul.onnx"));
    EXPECT_NE(what.find("Mul_"), std::string::npos) << what;
    EXPECT_NE(what.find("depends on run-time sizes (dim 2 of 'x')"), std::string::npos) << what;
}

}  // namespace
}  // namespace fcnrt
