#include "tests/golden_cases.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>

#include "engine/attributes.h"
#include "engine/device.h"
#include "engine/executor.h"
#include "engine/io/file_util.h"
#include "engine/io/npy.h"
#include "engine/model_loader.h"

namespace fcnrt::test {

// FCNRT_SOURCE_DIR in the environment overrides the compiled-in checkout, so
// binaries built here can run from a copy of the repository elsewhere (the GPU machine).
std::string golden_dir() {
    const char* env = std::getenv("FCNRT_SOURCE_DIR");
    return std::string(env && *env ? env : FCNRT_SOURCE_DIR) + "/tests/golden";
}

std::vector<GoldenCase> golden_cases() {
    const Json manifest = Json::parse(read_file_bytes(golden_dir() + "/MANIFEST.json"));
    std::vector<GoldenCase> cases;
    for (const Json& c : manifest.at("cases")) {
        GoldenCase g;
        g.name = c.at("name").get<std::string>();
        g.description = c.value("description", "");
        g.dir = golden_dir() + "/" + g.name;
        g.inputs = c.at("inputs").get<std::vector<std::string>>();
        g.outputs = c.at("outputs").get<std::vector<std::string>>();
        g.tolerance = c.value("tolerance", 1e-4);
        cases.push_back(g);
    }
    return cases;
}

void run_golden_case(const GoldenCase& c, const std::string& device, bool optimize) {
    SCOPED_TRACE(c.name + " (" + c.description + ") on " + device +
                 (optimize ? "" : " without load-time passes"));
    LoadOptions options;
    options.optimize = optimize;
    const Model model = load_model(c.dir + "/model.json", options);
    std::map<std::string, Tensor> inputs;
    for (const std::string& in : c.inputs) inputs[in] = read_npy(c.dir + "/input_" + in + ".npy");
    std::string chosen;
    Executor executor(model, select_backend(device, &chosen));
    const std::vector<Tensor> outputs = executor.run(inputs);
    ASSERT_EQ(outputs.size(), c.outputs.size());
    for (size_t i = 0; i < outputs.size(); ++i) {
        ASSERT_EQ(model.graph.outputs[i], c.outputs[i]);
        const Tensor expected = read_npy(c.dir + "/output_" + c.outputs[i] + ".npy");
        const double err = relative_max_error(outputs[i], expected);
        EXPECT_LE(err, c.tolerance)
            << "output " << c.outputs[i] << " " << shape_to_string(outputs[i].shape())
            << " vs expected " << shape_to_string(expected.shape()) << " (" << chosen << ")";
    }
    const std::vector<Tensor> again = executor.run(inputs);
    for (size_t i = 0; i < outputs.size(); ++i)
        EXPECT_EQ(relative_max_error(again[i], outputs[i]), 0.0) << "rerun differs";
}

double relative_max_error(const Tensor& actual, const Tensor& expected) {
    const double inf = std::numeric_limits<double>::infinity();
    if (actual.shape() != expected.shape() || actual.dtype() != expected.dtype()) return inf;
    if (expected.dtype() == DType::I32) {
        for (int64_t i = 0; i < expected.numel(); ++i)
            if (actual.i32()[i] != expected.i32()[i]) return inf;
        return 0.0;
    }
    double diff = 0.0, scale = 0.0;
    for (int64_t i = 0; i < expected.numel(); ++i) {
        const double a = actual.f32()[i], b = expected.f32()[i];
        if (std::isnan(a) != std::isnan(b)) return inf;
        if (std::isnan(b)) continue;
        diff = std::max(diff, std::fabs(a - b));
        scale = std::max(scale, std::fabs(b));
    }
    return diff / std::max(scale, 1e-30);
}

}  // namespace fcnrt::test
