// The patchwise baseline (engine/segment/patchwise.h) against the dense
// conversion: on a random 23x19 image, the patch model run on every patch,
// B patches per run, gives the densified model's scores (max-norm relative
// error <= 1e-4, the spec's limit for the conversion; the two differ only in
// float32 summation order) and the same labels wherever the top two scores
// are more than 1e-4 apart. Nets: a random 3-channel patch net declared with
// a fixed batch of 1 (non-square 9x7 patch, pooling, two dense layers) and
// the golden PyTorch patch classifier (batch_norm, dropout, declared batch
// 2). Also: whole-image segmentation (halo, labels, probabilities) equals
// the dense path's, the batch size does not change the scores, the batch
// shrinks to fit the budget, and non-patch models are refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>

#include "engine/backend.h"
#include "engine/device.h"
#include "engine/error.h"
#include "engine/executor.h"
#include "engine/image/image_io.h"
#include "engine/io/safetensors.h"
#include "engine/model_loader.h"
#include "engine/passes/densify.h"
#include "engine/segment/patchwise.h"
#include "engine/segment/preprocess.h"
#include "engine/segment/tiling.h"
#include "tests/test_util.h"

namespace fcnrt {
namespace {

using test::TempDirTest;
using PatchwiseTest = TempDirTest;

const std::string kGoldenPatch =
    std::string(FCNRT_SOURCE_DIR) + "/tests/golden/graph_patch_classifier/model.json";

Tensor uniform_tensor(const Shape& shape, float bound, std::mt19937& rng) {
    std::uniform_real_distribution<float> u(-bound, bound);
    Tensor t(DType::F32, shape);
    for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = u(rng);
    return t;
}

// A 3-channel patch net with a 9x7 patch, input declared [1, 3, 9, 7]:
// conv 3x3 3->5 relu (7x5), max_pool 2/2 (3x2), conv 2x2 5->6 relu (2x1),
// flatten (12), dense 12->8 relu, dense 8->4. Weights uniform in
// +-1/sqrt(fan_in). Written to `dir`/patch.json.
std::string write_random_patch_net(const std::string& dir, uint32_t seed) {
    std::mt19937 rng(seed);
    std::map<std::string, Tensor> w;
    auto add = [&](const std::string& name, const Shape& shape, int64_t fan_in) {
        w[name] = uniform_tensor(shape, 1.0f / std::sqrt(float(fan_in)), rng);
    };
    add("c1.weight", {5, 3, 3, 3}, 27);
    add("c1.bias", {5}, 27);
    add("c2.weight", {6, 5, 2, 2}, 20);
    add("c2.bias", {6}, 20);
    add("d1.weight", {8, 12}, 12);
    add("d1.bias", {8}, 12);
    add("d2.weight", {4, 8}, 8);
    add("d2.bias", {4}, 8);
    write_safetensors(dir + "/patch.safetensors", w);
    const Json doc = Json::parse(R"({
      "format": "fcnrt-graph", "version": 1, "name": "random_patch", "weights": "patch.safetensors",
      "inputs": [{"name": "image", "shape": [1, 3, 9, 7]}],
      "outputs": ["scores"],
      "nodes": [
        {"op": "conv", "name": "c1", "inputs": ["image"], "outputs": ["c1"], "weight": "c1.weight", "bias": "c1.bias", "activation": "relu"},
        {"op": "max_pool", "name": "p1", "inputs": ["c1"], "outputs": ["p1"], "kernel": [2, 2]},
        {"op": "conv", "name": "c2", "inputs": ["p1"], "outputs": ["c2"], "weight": "c2.weight", "bias": "c2.bias", "activation": "relu"},
        {"op": "flatten", "name": "flat", "inputs": ["c2"], "outputs": ["flat"]},
        {"op": "dense", "name": "d1", "inputs": ["flat"], "outputs": ["d1"], "weight": "d1.weight", "bias": "d1.bias", "activation": "relu"},
        {"op": "dense", "name": "d2", "inputs": ["d1"], "outputs": ["scores"], "weight": "d2.weight", "bias": "d2.bias"}
      ],
      "metadata": {"patch": [9, 7], "preprocess": {"scale": 0.00392156862745098, "mean": [0.5, 0.4, 0.6], "std": [0.25, 0.2, 0.3], "channels": "rgb"}}
    })");
    const std::string path = dir + "/patch.json";
    std::ofstream(path) << doc.dump(1);
    return path;
}

// The patch model at `path`, loaded to run patchwise (batch dimension open).
struct Patchwise {
    Model model;
    PatchwiseModel pm;
};
Patchwise load_patchwise(const std::string& path) {
    Patchwise p{load_model(path), {}};
    p.pm = analyse_patchwise_model(p.model);
    open_batch_dimension(p.model, p.pm);
    return p;
}

// The densified model of the patch model at `path`.
Model load_dense(const std::string& path) {
    LoadOptions unoptimised;
    unoptimised.optimize = false;
    return densify(load_model(path, unoptimised));
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

// Argmax over channels of [1, K, h, w] scores must agree wherever `want`'s top
// two scores are more than `margin` apart; returns how many pixels were compared.
int64_t expect_same_labels(const Tensor& got, const Tensor& want, float margin) {
    const int64_t K = want.shape()[1], plane = want.shape()[2] * want.shape()[3];
    int64_t compared = 0;
    for (int64_t i = 0; i < plane; ++i) {
        int64_t best_got = 0, best_want = 0;
        for (int64_t k = 1; k < K; ++k) {
            if (got.f32()[k * plane + i] > got.f32()[best_got * plane + i]) best_got = k;
            if (want.f32()[k * plane + i] > want.f32()[best_want * plane + i]) best_want = k;
        }
        float second = -INFINITY;
        for (int64_t k = 0; k < K; ++k)
            if (k != best_want) second = std::max(second, want.f32()[k * plane + i]);
        if (want.f32()[best_want * plane + i] - second <= margin) continue;
        ++compared;
        EXPECT_EQ(best_got, best_want) << "pixel " << i;
    }
    return compared;
}

// Patchwise scores against dense ones on a random [1, C, 23, 19] input.
void expect_patchwise_equals_dense(const std::string& path, int64_t batch) {
    Patchwise p = load_patchwise(path);
    const Model dense = load_dense(path);
    std::mt19937 rng(2311);
    const Tensor image = uniform_tensor({1, p.pm.channels, 23, 19}, 1.0f, rng);

    Executor dense_exec(dense, select_backend("cpu", nullptr));
    const Tensor want = dense_exec.run({{dense.graph.inputs[0].name, image}}).at(0);
    Executor patch_exec(p.model, select_backend("cpu", nullptr));
    size_t calls = 0, last_all = 0;
    const Tensor got =
        patchwise_scores(patch_exec, p.pm, image, batch, [&](size_t done, size_t all) {
            EXPECT_EQ(done, ++calls);
            last_all = all;
        });
    const int64_t oh = 23 - p.pm.patch[0] + 1, ow = 19 - p.pm.patch[1] + 1;
    ASSERT_EQ(got.shape(), (Shape{1, p.pm.output_channels, oh, ow}));
    ASSERT_EQ(want.shape(), got.shape());
    EXPECT_EQ(calls, size_t((oh * ow + batch - 1) / batch));
    EXPECT_EQ(last_all, calls);
    EXPECT_LE(relative_error(got, want), 1e-4) << path << ", batch " << batch;
    EXPECT_GT(expect_same_labels(got, want, 1e-4f), oh * ow / 2);
}

TEST_F(PatchwiseTest, RandomNetEqualsDense) {
    const std::string path = write_random_patch_net(dir_, 7);
    for (int64_t batch : {1, 16, 64, 1024}) expect_patchwise_equals_dense(path, batch);
}

TEST_F(PatchwiseTest, GoldenPatchClassifierEqualsDense) {
    // Declared batch 2, batch_norm folded and dropout removed at load.
    for (int64_t batch : {3, 100}) expect_patchwise_equals_dense(kGoldenPatch, batch);
}

TEST_F(PatchwiseTest, BatchSizeDoesNotChangeScores) {
    const std::string path = write_random_patch_net(dir_, 8);
    Patchwise p = load_patchwise(path);
    std::mt19937 rng(5);
    const Tensor image = uniform_tensor({1, 3, 23, 19}, 1.0f, rng);
    Executor exec(p.model, select_backend("cpu", nullptr));
    const Tensor one = patchwise_scores(exec, p.pm, image, 1);
    const Tensor many = patchwise_scores(exec, p.pm, image, 77);  // 195 patches: 77, 77, 41
    EXPECT_LE(relative_error(many, one), 1e-6);
}

// Whole-image segmentation: the patchwise path with its halo gives the dense
// path's labels and probabilities at the image's own size.
TEST_F(PatchwiseTest, SegmentImageEqualsDensePath) {
    const std::string path = write_random_patch_net(dir_, 9);
    Patchwise p = load_patchwise(path);
    const Model dense = load_dense(path);
    std::mt19937 rng(11);
    const int64_t w = 19, h = 23;
    std::vector<uint8_t> px(size_t(w * h * 3));
    for (uint8_t& v : px) v = uint8_t(rng());
    const Image image = decode_image(encode_png(px.data(), w, h, 3), "random.png");

    for (HaloMode mode : {HaloMode::Reflect, HaloMode::Zero}) {
        const SegmentModel sm = analyse_segment_model(dense);
        const HaloPlan dense_halo = plan_halo(dense, sm, h, w);
        const HaloPlan halo = patchwise_halo(p.pm, h, w);
        for (int i = 0; i < 4; ++i) EXPECT_EQ(halo.pad[i], dense_halo.pad[i]) << i;
        const InputTransform transform(parse_preprocess(dense, 3), image.info(), "random.png");
        Executor dense_exec(dense, select_backend("cpu", nullptr));
        const SegmentResult want = segment_image(dense_exec, sm, dense_halo,
                                                 plan_tiles(dense, sm, dense_halo, size_t(1) << 30),
                                                 image, transform, mode, true);

        const PatchwisePlan plan = plan_patchwise(p.model, p.pm, halo, size_t(1) << 30);
        EXPECT_EQ(plan.batch, h * w);  // the whole image in one run: fewer pixels than 1024
        EXPECT_EQ(plan.runs, 1);
        Executor exec(p.model, select_backend("cpu", nullptr));
        const SegmentResult got =
            segment_image_patchwise(exec, p.pm, halo, plan, image, transform, mode, true);
        ASSERT_EQ(got.height, h);
        ASSERT_EQ(got.width, w);
        ASSERT_EQ(got.classes, 4);
        EXPECT_LE(relative_error(got.probs, want.probs), 1e-4);
        int64_t differ = 0;
        for (size_t i = 0; i < got.labels.size(); ++i) differ += got.labels[i] != want.labels[i];
        // Labels may differ only at near-ties; with these weights there are none.
        EXPECT_EQ(differ, 0);
    }
}

TEST_F(PatchwiseTest, BatchShrinksToFitTheBudget) {
    const std::string path = write_random_patch_net(dir_, 10);
    Patchwise p = load_patchwise(path);
    const HaloPlan halo = patchwise_halo(p.pm, 100, 90);
    const PatchwisePlan big = plan_patchwise(p.model, p.pm, halo, size_t(1) << 30);
    EXPECT_EQ(big.batch, 1024);
    EXPECT_EQ(big.runs, (9000 + 1023) / 1024);
    EXPECT_EQ(big.peak_bytes, big.run_bytes + big.image_bytes);
    // A budget between the runs of 128 and 256 patches.
    const size_t budget =
        big.image_bytes +
        (patchwise_run_bytes(p.model, p.pm, 128) + patchwise_run_bytes(p.model, p.pm, 256)) / 2;
    const PatchwisePlan small = plan_patchwise(p.model, p.pm, halo, budget);
    EXPECT_EQ(small.batch, 128);
    EXPECT_LE(small.peak_bytes, budget);
    EXPECT_THROW(plan_patchwise(p.model, p.pm, halo, big.image_bytes), Error);
}

TEST_F(PatchwiseTest, RefusesModelsThatAreNotPatchClassifiers) {
    const std::string path = write_random_patch_net(dir_, 12);
    const Model dense = load_dense(path);
    try {
        analyse_patchwise_model(dense);
        ADD_FAILURE() << "a dense model was accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("metadata \"patch\""), std::string::npos) << e.what();
    }
    // The patch model itself is refused by the dense path, pointing at densify.
    EXPECT_THROW(analyse_segment_model(load_model(path)), Error);
}

}  // namespace
}  // namespace fcnrt
