// The full-size model zoo written by tools/make_zoo.py (U-Net, FCN-8s, FC-DenseNet103,
// the dilated context network, SegNet, the 31x31 patch classifier; random weights):
// each model loads, holds exactly the parameters its architecture has (and agrees with
// the published figure to the digits it gives, where one is published), and plans its memory at its
// canonical input size with the output shape the paper gives. The zoo is about 1.4 GB
// and is generated, not committed: every test SKIPS until it exists in FCNRT_ZOO_DIR
// (default <build dir>/zoo; the environment variable overrides).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <set>

#include "engine/memory_plan.h"
#include "engine/model_loader.h"

namespace fcnrt {
namespace {

namespace fs = std::filesystem;

fs::path zoo_dir() {
    const char* env = std::getenv("FCNRT_ZOO_DIR");
    return env && *env ? fs::path(env) : fs::path(FCNRT_ZOO_DIR);
}

struct ZooModel {
    const char* name;
    int64_t trainable;  // what torch's parameters() counts: weights, biases, BN scale and shift
    int64_t stored;     // everything in the safetensors file: trainable + BN running stats
    double published;   // the published figure in millions (0: none published)
    double published_tolerance;           // in millions: half its last digit, unless noted
    bool published_counts_running_stats;  // the figure matches only with them counted
    Shape input, output;                  // the canonical input size and the output it gives
};

std::ostream& operator<<(std::ostream& os, const ZooModel& m) {
    return os << m.name;
}

const ZooModel kZoo[] = {
    // Ronneberger et al. 2015 (1-channel input, 1x1 head to 2 classes). The often quoted
    // 31,031,685 (31.03 M) is the zhixuhao/unet Keras model, whose head is a 3x3 conv
    // 64->2 plus a 1x1 conv 2->1: 1,027 more than the paper's 1x1 conv 64->2.
    {"unet", 31030658, 31030658, 31.03, 0.005, false, {1, 1, 572, 572}, {1, 2, 388, 388}},
    // Long et al. 2015, Table 1: FCN-VGG16, 134 M.
    {"fcn8s", 134489759, 134489759, 134, 0.5, false, {1, 3, 500, 500}, {1, 21, 500, 500}},
    // Jegou et al. 2017, Table 2: 9.4 M, which is our count with the batch norms'
    // running mean and variance included (9.43 M; without them 9.32 M).
    {"tiramisu", 9322091, 9425163, 9.4, 0.05, true, {1, 3, 224, 224}, {1, 11, 224, 224}},
    // Yu & Koltun 2016 give no count. 900x900 (the image reflection-padded by 186)
    // -> 66x66 scores, upsampled 8x to the 528x528 centre.
    {"dilation", 134380349, 134380349, 0, 0, false, {1, 3, 900, 900}, {1, 21, 528, 528}},
    // Badrinarayanan et al. 2017 give the model's size (117 MB; ours is 117.8 MB of
    // float32). 29.46 M is the count ENet (Paszke et al. 2016) quotes, with no word on
    // classes or running statistics: within 0.02 M of either convention.
    {"segnet", 29449355, 29465227, 29.46, 0.02, false, {1, 3, 360, 480}, {1, 11, 360, 480}},
    // models/bsubtilis-patch31/README.md: 626,423.
    {"cellpatch", 626423, 626423, 0.626423, 5e-7, false, {1, 1, 31, 31}, {1, 3}},
};

class ZooParams : public ::testing::TestWithParam<ZooModel> {};

TEST_P(ZooParams, CountAndPlan) {
    const ZooModel& z = GetParam();
    const fs::path json = zoo_dir() / (std::string(z.name) + ".json");
    if (!fs::exists(json))
        GTEST_SKIP() << "no " << json << ": write the zoo first (fcnrt zoo models/zoo/*.arch.json -o "
                     << zoo_dir().string() << ", or /usr/bin/python3 tools/make_zoo.py "
                     << zoo_dir().string() << ")";

    // Count on the model as written: the load-time passes fold batch norms into convs.
    LoadOptions as_written;
    as_written.optimize = false;
    const Model raw = load_model(json.string(), as_written);
    std::set<std::string> running_stats;
    for (const Node& n : raw.graph.nodes)
        if (n.op->name == "batch_norm") {
            running_stats.insert(n.json.at("mean").get<std::string>());
            running_stats.insert(n.json.at("var").get<std::string>());
        }
    int64_t stored = 0, trainable = 0;
    for (const auto& [name, t] : raw.weights) {
        stored += t.numel();
        if (!running_stats.count(name)) trainable += t.numel();
    }
    EXPECT_EQ(trainable, z.trainable);
    EXPECT_EQ(stored, z.stored);
    if (z.published > 0) {
        const double millions = double(z.published_counts_running_stats ? stored : trainable) / 1e6;
        EXPECT_NEAR(millions, z.published, z.published_tolerance) << "the published figure";
    }

    const Model model = load_model(json.string());
    const MemoryPlan plan = plan_memory(model, {{model.graph.inputs.at(0).name, z.input}});
    ASSERT_EQ(model.graph.outputs.size(), 1u);
    EXPECT_EQ(plan.tensors.at(model.graph.outputs[0]).shape, z.output);
    EXPECT_GT(plan.arena_bytes, 0u);
    EXPECT_LE(plan.arena_bytes, plan.unplanned_bytes);
    std::cout << z.name << ": " << trainable << " parameters (" << stored << " stored), "
              << shape_to_string(z.input) << " -> " << shape_to_string(z.output)
              << ", planned activations " << double(plan.arena_bytes) / (1 << 20) << " MiB of "
              << double(plan.unplanned_bytes) / (1 << 20) << " MiB\n";
}

INSTANTIATE_TEST_SUITE_P(Zoo, ZooParams, ::testing::ValuesIn(kZoo),
                         [](const ::testing::TestParamInfo<ZooModel>& info) {
                             return std::string(info.param.name);
                         });

}  // namespace
}  // namespace fcnrt
