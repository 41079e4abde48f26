// Every golden model (tests/golden_cases.h) run through loader, passes, planner and
// executor on the CUDA backend, against PyTorch's outputs, with and without the
// load-time passes; a second run on the same plan must repeat the first bit for bit.
// Without a usable CUDA device the test is SKIPPED, saying why.
#include <gtest/gtest.h>

#include "engine/device.h"
#include "engine/executor.h"
#include "engine/io/npy.h"
#include "engine/model_loader.h"
#include "tests/golden_cases.h"

namespace fcnrt {
namespace {

void run_case(const test::GoldenCase& c, bool optimize) {
    SCOPED_TRACE(c.name + " (" + c.description + ") on cuda" +
                 (optimize ? "" : " without load-time passes"));
    LoadOptions options;
    options.optimize = optimize;
    const Model model = load_model(c.dir + "/model.json", options);
    std::map<std::string, Tensor> inputs;
    for (const std::string& in : c.inputs) inputs[in] = read_npy(c.dir + "/input_" + in + ".npy");
    std::string chosen;
    Executor executor(model, select_backend("cuda", &chosen));
    const std::vector<Tensor> outputs = executor.run(inputs);
    ASSERT_EQ(outputs.size(), c.outputs.size());
    for (size_t i = 0; i < outputs.size(); ++i) {
        ASSERT_EQ(model.graph.outputs[i], c.outputs[i]);
        const Tensor expected = read_npy(c.dir + "/output_" + c.outputs[i] + ".npy");
        const double err = test::relative_max_error(outputs[i], expected);
        EXPECT_LE(err, c.tolerance) << "output " << c.outputs[i] << " "
                                    << shape_to_string(outputs[i].shape()) << " vs expected "
                                    << shape_to_string(expected.shape()) << " (" << chosen << ")";
    }
    const std::vector<Tensor> again = executor.run(inputs);
    for (size_t i = 0; i < outputs.size(); ++i)
        EXPECT_EQ(test::relative_max_error(again[i], outputs[i]), 0.0) << "rerun differs";
}

TEST(GoldenModelsCuda, MatchPyTorch) {
    std::string why;
    if (!cuda_usable(&why)) GTEST_SKIP() << "no usable CUDA device: " << why;
    const auto cases = test::golden_cases();
    ASSERT_GE(cases.size(), 100u);
    for (const auto& c : cases) {
        run_case(c, true);
        run_case(c, false);
    }
}

TEST(GoldenModelsCuda, BackendDescribesDevice) {
    std::string why;
    if (!cuda_usable(&why)) GTEST_SKIP() << "no usable CUDA device: " << why;
    std::string chosen;
    const auto backend = select_backend("cuda", &chosen);
    EXPECT_EQ(backend->kind(), BackendKind::Cuda);
    EXPECT_EQ(backend->description().rfind("cuda: ", 0), 0u) << backend->description();
    EXPECT_NE(backend->stream(), nullptr);
}

}  // namespace
}  // namespace fcnrt
