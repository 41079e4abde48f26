// `fcnrt zoo`'s library (engine/zoo/random_model.h): the committed architecture
// files become models whose stored weight counts are make_zoo.py's (the zoo
// README's "stored" column), with weights drawn as documented and the same for
// the same seed; malformed architecture files are refused naming the file.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>

#include "engine/error.h"
#include "engine/zoo/random_model.h"
#include "tests/test_util.h"

namespace fcnrt {
namespace {

std::string arch(const std::string& name) {
    return std::string(FCNRT_SOURCE_DIR) + "/models/zoo/" + name + ".arch.json";
}

int64_t stored(const Model& m) {
    int64_t n = 0;
    for (const auto& [name, t] : m.weights) n += t.numel();
    return n;
}

TEST(ZooRandom, StoredCountsAreMakeZoos) {
    EXPECT_EQ(stored(random_model_from_architecture(arch("cellpatch"))), 626423);
    EXPECT_EQ(stored(random_model_from_architecture(arch("tiramisu"))), 9425163);
    EXPECT_EQ(stored(random_model_from_architecture(arch("unet"))), 31030658);
}

TEST(ZooRandom, SeededAndDistributedAsDocumented) {
    const Model a = random_model_from_architecture(arch("tiramisu"), 7);
    const Model b = random_model_from_architecture(arch("tiramisu"), 7);
    const Model c = random_model_from_architecture(arch("tiramisu"), 8);
    int checked_bn = 0;
    for (const auto& [name, t] : a.weights) {
        const Tensor& u = b.weights.at(name);
        ASSERT_EQ(std::memcmp(t.data(), u.data(), t.bytes()), 0) << name;
        EXPECT_NE(std::memcmp(t.data(), c.weights.at(name).data(), t.bytes()), 0) << name;
        // Batch-norm scales and variances (slots "scale", "var"), PyTorch-named.
        auto ends = [&](const std::string& suffix) {
            return name.size() > suffix.size() &&
                   name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
        };
        const bool scale_or_var = ends("bn.weight") || ends("running_var");
        if (!scale_or_var) continue;
        for (int64_t i = 0; i < t.numel(); ++i) {
            ASSERT_GE(t.f32()[i], 0.5f) << name;
            ASSERT_LE(t.f32()[i], 1.5f) << name;
        }
        ++checked_bn;
    }
    EXPECT_GT(checked_bn, 0);
    const Model u = random_model_from_architecture(arch("unet"));
    const Tensor& w = u.weights.at("dec.0.conv1.weight");  // 512 x 1024 x 3 x 3, fan_in 9216
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < w.numel(); ++i)
        sum += w.f32()[i], sq += double(w.f32()[i]) * w.f32()[i];
    const double mean = sum / double(w.numel()),
                 sd = std::sqrt(sq / double(w.numel()) - mean * mean);
    EXPECT_NEAR(mean, 0.0, 1e-3);
    EXPECT_NEAR(sd, std::sqrt(2.0 / 9216), 0.01 * std::sqrt(2.0 / 9216));  // 4.7 M draws
}

using ZooRandomFiles = test::TempDirTest;

TEST_F(ZooRandomFiles, RefusesWhatIsNoArchitecture) {
    auto refused = [&](const std::string& text, const std::string& fault) {
        test::write_bytes(path("a.arch.json"), text);
        try {
            random_model_from_architecture(path("a.arch.json"));
            ADD_FAILURE() << "accepted: " << text;
        } catch (const Error& e) {
            EXPECT_EQ(e.file(), path("a.arch.json"));
            EXPECT_NE(std::string(e.what()).find(fault), std::string::npos) << e.what();
        }
    };
    refused("{", "not valid JSON");
    refused(R"({"format": "fcnrt-graph", "version": 1})", "not a zoo architecture file");
    const std::string graph =
        R"("graph": {"format": "fcnrt-graph", "version": 1, "inputs": [{"name": "x", "shape": [1, 2, 8, 8]}],)"
        R"( "outputs": ["y"], "nodes": [{"op": "conv", "name": "c", "inputs": ["x"], "outputs": ["y"], "weight": "w"}]})";
    refused(R"({"format": "fcnrt-zoo-architecture", "version": 1, )" + graph +
                R"(, "weight_shapes": {"w": [3, 2, 3, 3], "stray": [4]}})",
            "weight 'stray' is named by no node");
    refused(R"({"format": "fcnrt-zoo-architecture", "version": 1, )" + graph +
                R"(, "weight_shapes": {"w": [3, 5, 3, 3]}})",
            "w");
    test::write_bytes(path("ok.arch.json"),
                      R"({"format": "fcnrt-zoo-architecture", "version": 1, )" + graph +
                          R"(, "weight_shapes": {"w": [3, 2, 3, 3]}})");
    EXPECT_EQ(stored(random_model_from_architecture(path("ok.arch.json"))), 54);
}

}  // namespace
}  // namespace fcnrt
