// Dense conversion (engine/passes/densify.h): randomized patch classifiers
// built here, densified, and compared with brute force, i.e. the patch model
// run on every patch of a random image (max-norm relative error <= 1e-4 as the
// spec allows; float32 sums in another order differ by far less). Then every
// refusal, --same-size, and a write_model / load_model round trip.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>

#include "engine/device.h"
#include "engine/error.h"
#include "engine/executor.h"
#include "engine/io/model_writer.h"
#include "engine/io/safetensors.h"
#include "engine/model_loader.h"
#include "engine/passes/densify.h"

namespace fcnrt {
namespace {

using Pair = std::array<int64_t, 2>;

std::string make_temp_dir() {
    std::string pattern = ::testing::TempDir() + "fcnrt_densify_XXXXXX";
    if (!mkdtemp(&pattern[0])) throw std::runtime_error("mkdtemp failed");
    return pattern + "/";
}

void remove_tree(const std::string& dir) {
    const std::string cmd = "rm -rf '" + dir + "'";
    if (std::system(cmd.c_str()) != 0) ADD_FAILURE() << "could not remove " << dir;
}

bool file_exists(const std::string& path) {
    return ::access(path.c_str(), F_OK) == 0;
}

// Builds a patch classifier node by node, tracking each tensor's shape for one
// patch so that weights get the right sizes. Weights are uniform in
// +-1/sqrt(fan_in), which keeps activations of order 1 through deep nets.
class PatchNet {
public:
    PatchNet(int64_t channels, Pair patch, uint32_t seed) : patch_(patch), rng_(seed) {
        shapes_["image"] = {1, channels, patch[0], patch[1]};
    }

    std::string conv(const std::string& x, int64_t out, Pair kernel, Pair stride = {1, 1},
                     Pair dilation = {1, 1}, int64_t groups = 1, const char* act = "none",
                     std::array<int64_t, 4> pads = {0, 0, 0, 0}) {
        const Shape& s = shape(x);
        const std::string name = fresh("conv");
        const int64_t fan_in = s[1] / groups * kernel[0] * kernel[1];
        add_weight(name + ".weight", {out, s[1] / groups, kernel[0], kernel[1]}, fan_in);
        add_weight(name + ".bias", {out}, fan_in);
        Json j = node("conv", name, {x});
        j["weight"] = name + ".weight";
        j["bias"] = name + ".bias";
        j["stride"] = stride;
        j["dilation"] = dilation;
        j["groups"] = groups;
        j["pads"] = pads;
        if (std::string(act) != "none") j["activation"] = act;
        Shape y = {1, out, 0, 0};
        for (int a = 0; a < 2; ++a)
            y[2 + a] =
                (s[2 + a] + pads[a] + pads[a + 2] - dilation[a] * (kernel[a] - 1) - 1) / stride[a] +
                1;
        return emit(j, y);
    }

    std::string pool(const char* op, const std::string& x, Pair kernel, Pair stride,
                     Pair dilation = {1, 1}) {
        const Shape& s = shape(x);
        Json j = node(op, fresh(op), {x});
        j["kernel"] = kernel;
        j["stride"] = stride;
        j["dilation"] = dilation;
        Shape y = s;
        for (int a = 0; a < 2; ++a)
            y[2 + a] = (s[2 + a] - dilation[a] * (kernel[a] - 1) - 1) / stride[a] + 1;
        return emit(j, y);
    }

    std::string batch_norm(const std::string& x) {
        const int64_t c = shape(x)[1];
        const std::string name = fresh("bn");
        Json j = node("batch_norm", name, {x});
        for (const char* w : {"scale", "bias", "mean", "var"}) {
            const std::string wname = name + "." + w;
            Tensor t(DType::F32, {c});
            for (int64_t i = 0; i < c; ++i)
                t.f32()[i] = std::string(w) == "var" || std::string(w) == "scale"
                                 ? uniform(0.5f, 1.5f)
                                 : uniform(-0.5f, 0.5f);
            weights_[wname] = std::move(t);
            j[w] = wname;
        }
        return emit(j, shape(x));
    }

    // relu, leaky_relu, sigmoid, tanh, dropout, identity, softmax (extra attributes in `attrs`).
    std::string unary(const char* op, const std::string& x, Json attrs = Json::object()) {
        Json j = node(op, fresh(op), {x});
        for (const auto& [k, v] : attrs.items()) j[k] = v;
        return emit(j, shape(x));
    }

    std::string flatten(const std::string& x) {
        const Shape& s = shape(x);
        int64_t f = 1;
        for (size_t i = 1; i < s.size(); ++i) f *= s[i];
        return emit(node("flatten", fresh("flatten"), {x}), {1, f});
    }

    std::string dense(const std::string& x, int64_t out, const char* act = "none") {
        const Shape& s = shape(x);
        int64_t f = 1;
        for (size_t i = 1; i < s.size(); ++i) f *= s[i];
        const std::string name = fresh("dense");
        add_weight(name + ".weight", {out, f}, f);
        add_weight(name + ".bias", {out}, f);
        Json j = node("dense", name, {x});
        j["weight"] = name + ".weight";
        j["bias"] = name + ".bias";
        if (std::string(act) != "none") j["activation"] = act;
        return emit(j, {1, out});
    }

    std::string add(const std::string& a, const std::string& b, const char* op = "add") {
        return emit(node(op, fresh(op), {a, b}), shape(a));
    }

    std::string concat(const std::vector<std::string>& xs, int axis = 1) {
        Shape y = shape(xs[0]);
        y[axis] = 0;
        for (const std::string& x : xs) y[axis] += shape(x)[axis];
        Json j = node("concat", fresh("concat"), xs);
        j["axis"] = axis;
        return emit(j, y);
    }

    // Any other node, its output shape given.
    std::string raw(Json j, const Shape& y) {
        j["name"] = fresh(j["op"].get<std::string>());
        if (!j.contains("outputs")) j["outputs"] = {j["name"]};
        return emit(j, y);
    }
    std::string last_name() const { return nodes_.back()["name"]; }

    // Writes NAME.json and NAME.safetensors into `dir` and loads them unoptimised.
    Model finish(const std::vector<std::string>& outputs, const std::string& dir,
                 bool with_patch_metadata = true) {
        Json doc = {
            {"format", "fcnrt-graph"},
            {"version", 1},
            {"name", "patchnet"},
            {"weights", "patch.safetensors"},
            {"inputs",
             Json::array({{{"name", "image"},
                           {"shape", {nullptr, shapes_["image"][1], patch_[0], patch_[1]}}}})},
            {"outputs", outputs},
            {"nodes", nodes_},
            {"metadata", Json::object()}};
        if (with_patch_metadata) doc["metadata"]["patch"] = patch_;
        write_safetensors(dir + "patch.safetensors", weights_);
        std::ofstream(dir + "patch.json") << doc.dump(1);
        LoadOptions options;
        options.optimize = false;
        return load_model(dir + "patch.json", options);
    }

    const Shape& shape(const std::string& t) const { return shapes_.at(t); }

private:
    std::string fresh(const std::string& base) { return base + std::to_string(++counter_); }
    Json node(const char* op, const std::string& name, const std::vector<std::string>& in) {
        return {{"op", op}, {"name", name}, {"inputs", in}, {"outputs", {name}}};
    }
    std::string emit(const Json& j, const Shape& y) {
        nodes_.push_back(j);
        const std::string out = j["outputs"][0];
        shapes_[out] = y;
        return out;
    }
    float uniform(float lo, float hi) {
        return std::uniform_real_distribution<float>(lo, hi)(rng_);
    }
    void add_weight(const std::string& name, const Shape& shape, int64_t fan_in) {
        Tensor t(DType::F32, shape);
        const float bound = 1.0f / std::sqrt(float(fan_in));
        for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = uniform(-bound, bound);
        weights_[name] = std::move(t);
    }

    Pair patch_;
    std::mt19937 rng_;
    Json nodes_ = Json::array();
    std::map<std::string, Tensor> weights_;
    std::map<std::string, Shape> shapes_;
    int counter_ = 0;
};

Tensor random_image(int64_t channels, int64_t h, int64_t w, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    Tensor t(DType::F32, {1, channels, h, w});
    for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = u(rng);
    return t;
}

// The patch model on every patch of `image`, as [1, K, H - ph + 1, W - pw + 1]
// (one output only). Patches go through in batches, one Executor::run each.
Tensor brute_force(const Model& patch_model, const Tensor& image, Pair patch,
                   const std::string& device = "cpu", size_t output = 0) {
    const int64_t c = image.shape()[1], h = image.shape()[2], w = image.shape()[3];
    const int64_t oh = h - patch[0] + 1, ow = w - patch[1] + 1, count = oh * ow;
    Executor executor(patch_model, select_backend(device, nullptr));
    const int64_t kBatch = 256;
    Tensor out;
    for (int64_t first = 0; first < count; first += kBatch) {
        const int64_t n = std::min(kBatch, count - first);
        Tensor batch(DType::F32, {n, c, patch[0], patch[1]});
        for (int64_t b = 0; b < n; ++b) {
            const int64_t y = (first + b) / ow, x = (first + b) % ow;
            for (int64_t ch = 0; ch < c; ++ch)
                for (int64_t i = 0; i < patch[0]; ++i)
                    for (int64_t j = 0; j < patch[1]; ++j)
                        batch.f32()[((b * c + ch) * patch[0] + i) * patch[1] + j] =
                            image.f32()[(ch * h + y + i) * w + x + j];
        }
        const Tensor scores = executor.run({{patch_model.graph.inputs[0].name, batch}}).at(output);
        const int64_t k = scores.numel() / n;  // [n, K] or [n, K, 1, 1]
        if (first == 0) out = Tensor(DType::F32, {1, k, oh, ow});
        for (int64_t b = 0; b < n; ++b)
            for (int64_t kk = 0; kk < k; ++kk)
                out.f32()[kk * count + first + b] = scores.f32()[b * k + kk];
    }
    return out;
}

Tensor run_model(const Model& model, const Tensor& image, const std::string& device = "cpu") {
    Executor executor(model, select_backend(device, nullptr));
    return executor.run({{model.graph.inputs[0].name, image}})[0];
}

// max |got - want| / max |want|, or infinity on a shape mismatch.
double relative_error(const Tensor& got, const Tensor& want) {
    if (got.shape() != want.shape()) return INFINITY;
    double diff = 0, scale = 0;
    for (int64_t i = 0; i < want.numel(); ++i) {
        diff = std::max(diff, double(std::fabs(got.f32()[i] - want.f32()[i])));
        scale = std::max(scale, double(std::fabs(want.f32()[i])));
    }
    return scale > 0 ? diff / scale : diff;
}

class DensifyTest : public ::testing::Test {
protected:
    void SetUp() override { dir_ = make_temp_dir(); }
    void TearDown() override { remove_tree(dir_); }

    // Densifies `patch_model` and checks it against brute force on a random
    // 40x37 image (or `size`).
    void expect_equivalent(const Model& patch_model, Pair patch, int64_t channels,
                           Pair size = {40, 37}, const std::string& device = "cpu") {
        const Model dense = densify(patch_model);
        const Tensor image = random_image(channels, size[0], size[1], 1234);
        const Tensor got = run_model(dense, image, device);
        const Tensor want = brute_force(patch_model, image, patch, device);
        ASSERT_EQ(got.shape(), want.shape());
        EXPECT_EQ(got.shape()[2], size[0] - patch[0] + 1);
        EXPECT_EQ(got.shape()[3], size[1] - patch[1] + 1);
        EXPECT_LE(relative_error(got, want), 1e-4);
        EXPECT_FALSE(dense.graph.metadata.contains("patch"));
        EXPECT_EQ(dense.graph.metadata.at("dense_from_patch"), Json(patch));
    }

    std::string dir_;
};

// The README's B. subtilis network, scaled down: conv 4x4, pool 2/2, conv 3x3 x2,
// pool 2/2, conv 3x3 x2, dense, dense; 31x31 patch, 1 channel.
TEST_F(DensifyTest, BsubtilisShapedNetStrideTwo) {
    PatchNet net(1, {31, 31}, 1);
    std::string x = net.conv("image", 4, {4, 4}, {1, 1}, {1, 1}, 1, "relu");
    x = net.pool("max_pool", x, {2, 2}, {2, 2});
    x = net.conv(x, 6, {3, 3}, {1, 1}, {1, 1}, 1, "relu");
    x = net.conv(x, 6, {3, 3}, {1, 1}, {1, 1}, 1, "relu");
    x = net.pool("max_pool", x, {2, 2}, {2, 2});
    x = net.conv(x, 8, {3, 3}, {1, 1}, {1, 1}, 1, "relu");
    x = net.conv(x, 8, {3, 3}, {1, 1}, {1, 1}, 1, "relu");
    x = net.dense(net.flatten(x), 12, "relu");
    x = net.dense(x, 3);
    expect_equivalent(net.finish({x}, dir_), {31, 31}, 1, {44, 41});
}

// Strides 2 and 3 on convs, a patch not tight to the receptive field (VALID
// windows drop trailing rows and columns), non-square, three channels.
TEST_F(DensifyTest, StridesTwoAndThreeLooseNonSquarePatch) {
    PatchNet net(3, {18, 15}, 2);
    std::string x = net.conv("image", 5, {3, 2}, {2, 3}, {1, 1}, 1, "relu");  // 8x5
    x = net.conv(x, 6, {2, 2}, {3, 2}, {1, 1}, 1, "tanh");                    // 3x2
    x = net.dense(x, 4);  // reads the rank-4 map directly, no flatten
    expect_equivalent(net.finish({x}, dir_), {18, 15}, 3);
}

// Pools whose stride differs from the kernel, avg pools, dilated pool and conv,
// grouped conv, batch_norm and every activation; one channel.
TEST_F(DensifyTest, PoolsActivationsBatchNormOneChannel) {
    PatchNet net(1, {21, 19}, 3);
    std::string x = net.conv("image", 4, {3, 3});  // 19x17
    x = net.batch_norm(x);
    x = net.unary("leaky_relu", x, {{"alpha", 0.2}});
    x = net.pool("max_pool", x, {3, 3}, {2, 2});               // 9x8
    x = net.conv(x, 8, {2, 2}, {1, 1}, {2, 1}, 2, "sigmoid");  // 7x7
    x = net.pool("avg_pool", x, {2, 3}, {1, 2});               // 6x3
    x = net.unary("tanh", x);
    x = net.pool("avg_pool", x, {2, 1}, {3, 1}, {2, 1});  // 2x3
    x = net.unary("relu", net.batch_norm(x));
    x = net.flatten(x);
    x = net.unary("sigmoid", net.unary("dropout", x));
    x = net.dense(x, 5, "leaky_relu");
    x = net.unary("softmax", net.dense(x, 3), {{"axis", 1}});
    expect_equivalent(net.finish({x}, dir_), {21, 19}, 1);
}

// Two branches of different spare rows meet in a concat and an add; the
// second output is a fully convolutional head ([N, K, 1, 1]).
TEST_F(DensifyTest, ConcatAndAddOfBranchesTwoOutputs) {
    PatchNet net(3, {14, 14}, 4);
    const std::string stem = net.conv("image", 4, {3, 3}, {1, 1}, {1, 1}, 1, "relu");  // 12
    std::string a = net.conv(stem, 4, {3, 3});                                         // 10
    a = net.pool("max_pool", a, {2, 2}, {2, 2});                                       // 5, spare 0
    std::string b = net.conv(stem, 3, {3, 3}, {2, 2}, {1, 1}, 1, "relu");              // 5, spare 1
    const std::string both = net.concat({a, b});
    std::string c = net.conv(stem, 7, {4, 4}, {2, 2});  // 5, spare 0
    std::string x = net.add(both, c);
    x = net.add(x, net.unary("identity", x), "mul");
    std::string head = net.conv(x, 2, {5, 5});  // [N, 2, 1, 1]
    std::string vec = net.dense(net.unary("dropout", net.flatten(x)), 6, "relu");
    std::string other = net.dense(vec, 4);
    other = net.add(other, net.dense(vec, 4));
    const Model patch = net.finish({other, head}, dir_);
    const Model dense = densify(patch);
    const Tensor image = random_image(3, 40, 37, 99);
    const std::vector<Tensor> got =
        Executor(dense, select_backend("cpu", nullptr)).run({{"image", image}});
    ASSERT_EQ(got.size(), 2u);
    EXPECT_LE(relative_error(got[0], brute_force(patch, image, {14, 14}, "cpu", 0)), 1e-4);
    EXPECT_LE(relative_error(got[1], brute_force(patch, image, {14, 14}, "cpu", 1)), 1e-4);
    EXPECT_EQ(got[1].shape(), (Shape{1, 2, 27, 24}));
}

TEST_F(DensifyTest, ReferenceBackend) {
    PatchNet net(2, {11, 12}, 5);
    std::string x = net.conv("image", 3, {3, 3}, {2, 2}, {1, 1}, 1, "relu");  // 5x5
    x = net.pool("avg_pool", x, {3, 2}, {1, 2});                              // 3x2
    x = net.dense(net.flatten(x), 4, "tanh");
    x = net.dense(x, 2);
    expect_equivalent(net.finish({x}, dir_), {11, 12}, 2, {17, 20}, "reference");
}

// The same equivalence on the GPU: dense on CUDA against brute-force patchwise
// on CUDA (strides 2 and 3, pools, dense head). Skipped, with the reason, where
// no CUDA device is usable.
TEST_F(DensifyTest, CudaBackend) {
    std::string why;
    if (!cuda_usable(&why)) GTEST_SKIP() << "no usable CUDA device: " << why;
    PatchNet net(1, {31, 31}, 7);
    std::string x = net.conv("image", 4, {4, 4}, {1, 1}, {1, 1}, 1, "relu");
    x = net.pool("max_pool", x, {2, 2}, {2, 2});
    x = net.conv(x, 6, {3, 3}, {1, 1}, {1, 1}, 1, "relu");
    x = net.pool("avg_pool", x, {3, 3}, {2, 2});
    x = net.conv(x, 8, {3, 3}, {3, 3}, {1, 1}, 1, "relu");
    x = net.dense(net.flatten(x), 12, "relu");
    x = net.dense(x, 3);
    expect_equivalent(net.finish({x}, dir_), {31, 31}, 1, {47, 43}, "cuda");
}

// Image exactly the patch size: one output pixel.
TEST_F(DensifyTest, ImageOfPatchSize) {
    PatchNet net(1, {9, 7}, 6);
    std::string x = net.conv("image", 3, {2, 2}, {3, 2});  // 3x3
    x = net.dense(net.flatten(x), 2);
    expect_equivalent(net.finish({x}, dir_), {9, 7}, 1, {9, 7});
}

// Output pixel (y, x) of --same-size is the dense output of the image padded by
// the halo; checked against padding done here, for both halo modes.
TEST_F(DensifyTest, SameSizeIsDenseOfPaddedImage) {
    const Pair patch = {10, 7};
    PatchNet net(2, patch, 7);
    std::string x = net.conv("image", 3, {3, 2}, {2, 1}, {1, 1}, 1, "relu");  // 4x6
    x = net.dense(net.flatten(x), 3);
    const Model patch_model = net.finish({x}, dir_);
    const Model dense = densify(patch_model);
    const int64_t h = 23, w = 19, top = patch[0] / 2, left = patch[1] / 2;
    const Tensor image = random_image(2, h, w, 5);
    for (auto halo : {DensifyOptions::Halo::Reflect, DensifyOptions::Halo::Zero}) {
        DensifyOptions options;
        options.same_size = true;
        options.halo = halo;
        const Model same = densify(patch_model, options);
        const int64_t ph = h + patch[0] - 1, pw = w + patch[1] - 1;
        Tensor padded(DType::F32, {1, 2, ph, pw});
        for (int64_t c = 0; c < 2; ++c)
            for (int64_t i = 0; i < ph; ++i)
                for (int64_t j = 0; j < pw; ++j) {
                    int64_t y = i - top, xx = j - left;
                    const bool outside = y < 0 || y >= h || xx < 0 || xx >= w;
                    if (outside && halo == DensifyOptions::Halo::Zero) continue;
                    y = y < 0 ? -y : y >= h ? 2 * (h - 1) - y : y;
                    xx = xx < 0 ? -xx : xx >= w ? 2 * (w - 1) - xx : xx;
                    padded.f32()[(c * ph + i) * pw + j] = image.f32()[(c * h + y) * w + xx];
                }
        const Tensor got = run_model(same, image);
        ASSERT_EQ(got.shape(), (Shape{1, 3, h, w}));
        EXPECT_LE(relative_error(got, run_model(dense, padded)), 1e-6);
        EXPECT_TRUE(same.graph.metadata.contains("dense_halo"));
    }
}

TEST_F(DensifyTest, WriteThenLoadGivesTheSameOutputs) {
    PatchNet net(3, {13, 13}, 8);
    std::string x = net.conv("image", 4, {3, 3}, {2, 2}, {1, 1}, 1, "relu");
    x = net.batch_norm(net.pool("max_pool", x, {3, 3}, {2, 2}));
    x = net.dense(net.flatten(x), 5, "relu");
    x = net.dense(x, 3);
    const Model patch = net.finish({x}, dir_);
    const Model dense = densify(patch);
    write_model(dense, dir_ + "dense.json");
    ASSERT_TRUE(file_exists(dir_ + "dense.safetensors"));

    const Tensor image = random_image(3, 30, 26, 11);
    const Tensor in_memory = run_model(dense, image);
    LoadOptions raw;
    raw.optimize = false;
    const Model reread = load_model(dir_ + "dense.json", raw);
    EXPECT_EQ(relative_error(run_model(reread, image), in_memory), 0.0);
    EXPECT_EQ(reread.graph.metadata, dense.graph.metadata);
    // Loaded as `fcnrt run` loads it (batch_norm folded, activations fused).
    const Model optimised = load_model(dir_ + "dense.json");
    EXPECT_LE(relative_error(run_model(optimised, image), brute_force(patch, image, {13, 13})),
              1e-4);
}

TEST_F(DensifyTest, WriteModelLeavesNothingOnFailure) {
    PatchNet net(1, {5, 5}, 9);
    const std::string x = net.dense(net.flatten(net.conv("image", 2, {3, 3})), 2);
    const Model dense = densify(net.finish({x}, dir_));
    EXPECT_THROW(write_model(dense, dir_ + "missing/dense.json"), Error);
    EXPECT_FALSE(file_exists(dir_ + "missing"));
    EXPECT_THROW(write_model(dense, dir_ + "dense.safetensors"), Error);
    EXPECT_FALSE(file_exists(dir_ + "dense.safetensors"));
    // A graph file that cannot be created (a directory is in its place): the new
    // weights file beside it is removed again.
    ASSERT_EQ(::mkdir((dir_ + "taken.json").c_str(), 0755), 0);
    EXPECT_THROW(write_model(dense, dir_ + "taken.json"), Error);
    EXPECT_FALSE(file_exists(dir_ + "taken.safetensors"));
}

// ---- refusals: each names the node and the reason ----

class DensifyRefusalTest : public DensifyTest {
protected:
    // Expects densify to throw naming `node` with `reason` in the message.
    void expect_refusal(const Model& patch, const std::string& node, const std::string& reason,
                        const DensifyOptions& options = {}) {
        try {
            densify(patch, options);
            ADD_FAILURE() << "densify accepted a model it should refuse (" << reason << ")";
        } catch (const Error& e) {
            EXPECT_EQ(e.node(), node) << e.what();
            EXPECT_NE(e.reason().find(reason), std::string::npos) << e.what();
        }
    }
};

TEST_F(DensifyRefusalTest, PaddedConv) {
    PatchNet net(1, {8, 8}, 10);
    std::string x = net.conv("image", 2, {3, 3}, {1, 1}, {1, 1}, 1, "none", {1, 1, 1, 1});
    const std::string bad = net.last_name();
    x = net.dense(net.flatten(x), 2);
    expect_refusal(net.finish({x}, dir_), bad, "padded conv");
}

TEST_F(DensifyRefusalTest, PaddedPoolAndCeilMode) {
    {
        PatchNet net(1, {8, 8}, 11);
        Json pool = {
            {"op", "max_pool"}, {"inputs", {"image"}}, {"kernel", {2, 2}}, {"pads", {1, 0, 0, 0}}};
        std::string x = net.raw(pool, {1, 1, 4, 4});
        const std::string bad = net.last_name();
        x = net.dense(net.flatten(x), 2);
        expect_refusal(net.finish({x}, dir_), bad, "padded max_pool");
    }
    {
        PatchNet net(1, {9, 9}, 12);
        Json pool = {
            {"op", "avg_pool"}, {"inputs", {"image"}}, {"kernel", {2, 2}}, {"ceil_mode", true}};
        std::string x = net.raw(pool, {1, 1, 5, 5});
        const std::string bad = net.last_name();
        x = net.dense(net.flatten(x), 2);
        expect_refusal(net.finish({x}, dir_), bad, "ceil_mode");
    }
}

TEST_F(DensifyRefusalTest, OpsWithoutDenseEquivalent) {
    struct Case {
        Json node;
        Shape out;
        std::string reason;
    };
    const std::vector<Case> cases = {
        {{{"op", "resize"}, {"inputs", {"image"}}, {"scale", {2.0, 2.0}}},
         {1, 1, 16, 16},
         "resize"},
        {{{"op", "global_avg_pool"}, {"inputs", {"image"}}}, {1, 1, 1, 1}, "global pooling"},
        {{{"op", "crop"}, {"inputs", {"image"}}, {"margins", {1, 1, 1, 1}}}, {1, 1, 6, 6}, "crop"},
        {{{"op", "pad"}, {"inputs", {"image"}}, {"pads", {1, 1, 1, 1}}}, {1, 1, 10, 10}, "pad"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.node.dump());
        const std::string sub = make_temp_dir();
        PatchNet net(1, {8, 8}, 13);
        std::string x = net.raw(c.node, c.out);
        const std::string bad = net.last_name();
        x = net.dense(net.flatten(x), 2);
        expect_refusal(net.finish({x}, sub), bad, c.reason);
        remove_tree(sub);
    }
}

TEST_F(DensifyRefusalTest, ConvTransposeAndMaxUnpool) {
    {
        PatchNet net(1, {6, 6}, 14);
        std::string x = net.conv("image", 2, {3, 3});  // 4x4: weight for conv_transpose below
        Json ct = {{"op", "conv_transpose"},
                   {"inputs", {x}},
                   {"weight", "conv1.weight"},
                   {"stride", {2, 2}}};
        // conv1.weight is [2, 1, 3, 3]: conv_transpose from 2 channels to 1.
        x = net.raw(ct, {1, 1, 9, 9});
        const std::string bad = net.last_name();
        x = net.dense(net.flatten(x), 2);
        expect_refusal(net.finish({x}, dir_), bad, "conv_transpose");
    }
    {
        const std::string sub = make_temp_dir();
        PatchNet net(1, {6, 6}, 15);
        Json pool = {{"op", "max_pool"},
                     {"name", "pool"},
                     {"inputs", {"image"}},
                     {"outputs", {"pooled", "indices"}},
                     {"kernel", {2, 2}}};
        net.raw(pool, {1, 1, 3, 3});
        Json unpool = {
            {"op", "max_unpool"}, {"inputs", {"pooled", "indices"}}, {"output_size", {6, 6}}};
        std::string x = net.raw(unpool, {1, 1, 6, 6});
        const std::string bad = net.last_name();
        x = net.dense(net.flatten(x), 2);
        expect_refusal(net.finish({x}, sub), bad, "max_unpool");
        remove_tree(sub);
    }
}

// A dense layer must read one whole feature map: features mixed across
// positions before it are refused where they are mixed.
TEST_F(DensifyRefusalTest, DenseNotFedByOneWholeMap) {
    struct Case {
        const char* what;
        std::string reason;
    };
    for (const Case& c : {Case{"concat of flattened maps", "flattened"},
                          Case{"batch_norm of flattened map", "batch_norm over flattened"},
                          Case{"softmax of flattened map", "flattened features"},
                          Case{"add of differently flattened maps", "flattened maps"}}) {
        SCOPED_TRACE(c.what);
        const std::string sub = make_temp_dir();
        PatchNet net(2, {7, 7}, 16);
        const std::string a = net.conv("image", 2, {3, 3});  // 5x5
        const std::string b = net.conv("image", 2, {3, 3});
        std::string x;
        const std::string what = c.what;
        if (what == "concat of flattened maps") {
            x = net.concat({net.flatten(a), net.flatten(b)});
        } else if (what == "batch_norm of flattened map") {
            // [N, F] batch_norm: F = 50 scales, one per (channel, row, column).
            x = net.batch_norm(net.flatten(a));
        } else if (what == "softmax of flattened map") {
            x = net.unary("softmax", net.flatten(a));
        } else {
            const std::string c5 = net.conv("image", 2, {3, 3});  // 5x5 map, 2 channels
            const std::string wide = net.conv(c5, 1, {1, 1});     // 5x5, 1 channel
            const std::string tall = net.conv("image", 2, {7, 3}, {1, 1}, {1, 1});    // 1x5
            const std::string tall5 = net.concat({tall, tall, tall, tall, tall}, 1);  // 10x1x5
            x = net.add(net.flatten(net.concat({wide, wide}, 1)), net.flatten(tall5));
        }
        const std::string bad = net.last_name();
        x = net.dense(x, 2);
        expect_refusal(net.finish({x}, sub), bad, c.reason);
        remove_tree(sub);
    }
}

TEST_F(DensifyRefusalTest, ChannelOpsOnOtherAxesAndBroadcast) {
    {
        PatchNet net(2, {6, 6}, 17);
        std::string x = net.unary("softmax", net.conv("image", 2, {3, 3}), {{"axis", 2}});
        const std::string bad = net.last_name();
        x = net.dense(net.flatten(x), 2);
        expect_refusal(net.finish({x}, dir_), bad, "axis 2");
    }
    {
        const std::string sub = make_temp_dir();
        PatchNet net(2, {6, 6}, 18);
        const std::string map = net.conv("image", 2, {3, 3});   // 4x4
        const std::string gate = net.conv("image", 2, {6, 6});  // 1x1
        std::string x = net.add(map, gate, "mul");
        const std::string bad = net.last_name();
        x = net.dense(net.flatten(x), 2);
        expect_refusal(net.finish({x}, sub), bad, "broadcast");
        remove_tree(sub);
    }
    {
        const std::string sub = make_temp_dir();
        PatchNet net(1, {9, 9}, 19);
        const std::string a = net.conv("image", 2, {3, 3}, {2, 2});  // 4x4, step 2
        const std::string b = net.conv("image", 2, {6, 6});          // 4x4, step 1
        std::string x = net.concat({a, b});
        const std::string bad = net.last_name();
        x = net.dense(net.flatten(x), 2);
        expect_refusal(net.finish({x}, sub), bad, "accumulated stride");
        remove_tree(sub);
    }
    {
        const std::string sub = make_temp_dir();
        PatchNet net(1, {6, 6}, 20);
        std::string x = net.conv("image", 2, {3, 3});
        x = net.concat({x, x}, 2);
        const std::string bad = net.last_name();
        x = net.dense(net.flatten(x), 2);
        expect_refusal(net.finish({x}, sub), bad, "axis 2");
        remove_tree(sub);
    }
}

TEST_F(DensifyRefusalTest, ModelLevelRefusals) {
    {
        PatchNet net(1, {6, 6}, 21);
        const std::string x = net.dense(net.flatten(net.conv("image", 2, {3, 3})), 2);
        try {
            densify(net.finish({x}, dir_, /*with_patch_metadata=*/false));
            ADD_FAILURE() << "accepted a model without \"patch\"";
        } catch (const Error& e) {
            EXPECT_NE(e.reason().find("\"patch\""), std::string::npos) << e.what();
        }
    }
    {
        // A spatial output is not a patch classifier's.
        const std::string sub = make_temp_dir();
        PatchNet net(1, {6, 6}, 22);
        const std::string x = net.conv("image", 2, {3, 3});
        expect_refusal(net.finish({x}, sub), net.last_name(), "[N, classes]");
        remove_tree(sub);
    }
}

// A dead branch holding an op densify refuses does not block the conversion.
TEST_F(DensifyTest, DeadBranchIsIgnored) {
    PatchNet net(1, {8, 8}, 23);
    const std::string map = net.conv("image", 2, {3, 3}, {2, 2});
    net.raw({{"op", "global_avg_pool"}, {"inputs", {map}}}, {1, 2, 1, 1});
    const std::string x = net.dense(net.flatten(map), 2);
    expect_equivalent(net.finish({x}, dir_), {8, 8}, 1, {15, 12});
}

}  // namespace
}  // namespace fcnrt
