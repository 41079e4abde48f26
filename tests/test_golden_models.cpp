// Every golden model (single ops with every attribute, and whole random graphs
// in shuffled node order) run through loader, passes, planner and executor on
// each CPU backend, against PyTorch's outputs.
#include <gtest/gtest.h>

#include "engine/device.h"
#include "engine/executor.h"
#include "engine/io/npy.h"
#include "engine/model_loader.h"
#include "tests/golden_cases.h"

namespace fcnrt {
namespace {

void run_case(const test::GoldenCase& c, const std::string& device, bool optimize) {
    SCOPED_TRACE(c.name + " (" + c.description + ") on " + device +
                 (optimize ? "" : " without load-time passes"));
    LoadOptions options;
    options.optimize = optimize;
    const Model model = load_model(c.dir + "/model.json", options);
    std::map<std::string, Tensor> inputs;
    for (const std::string& in : c.inputs) inputs[in] = read_npy(c.dir + "/input_" + in + ".npy");
    Executor executor(model, select_backend(device, nullptr));
    const std::vector<Tensor> outputs = executor.run(inputs);
    ASSERT_EQ(outputs.size(), c.outputs.size());
    for (size_t i = 0; i < outputs.size(); ++i) {
        ASSERT_EQ(model.graph.outputs[i], c.outputs[i]);
        const Tensor expected = read_npy(c.dir + "/output_" + c.outputs[i] + ".npy");
        const double err = test::relative_max_error(outputs[i], expected);
        EXPECT_LE(err, c.tolerance) << "output " << c.outputs[i] << " "
                                    << shape_to_string(outputs[i].shape()) << " vs expected "
                                    << shape_to_string(expected.shape());
    }
    // A second run on the same plan must give the same result (no stale state).
    const std::vector<Tensor> again = executor.run(inputs);
    for (size_t i = 0; i < outputs.size(); ++i)
        EXPECT_EQ(test::relative_max_error(again[i], outputs[i]), 0.0) << "rerun differs";
}

class GoldenModels : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenModels, MatchPyTorch) {
    const auto cases = test::golden_cases();
    ASSERT_GE(cases.size(), 100u);
    for (const auto& c : cases) {
        run_case(c, GetParam(), true);
        run_case(c, GetParam(), false);
    }
}

INSTANTIATE_TEST_SUITE_P(CpuBackends, GoldenModels, ::testing::Values("reference", "cpu"));

}  // namespace
}  // namespace fcnrt
