// Every golden model (tests/golden_cases.h) run through loader, passes, planner and
// executor on the CUDA backend, against PyTorch's outputs, with and without the
// load-time passes; a second run on the same plan must repeat the first bit for bit.
// Without a usable CUDA device the test is SKIPPED, saying why.
#include <gtest/gtest.h>

#include <string>

#include "engine/device.h"
#include "tests/golden_cases.h"

namespace fcnrt {
namespace {

TEST(GoldenModelsCuda, MatchPyTorch) {
    std::string why;
    if (!cuda_usable(&why)) GTEST_SKIP() << "no usable CUDA device: " << why;
    const auto cases = test::golden_cases();
    ASSERT_GE(cases.size(), 100u);
    for (const auto& c : cases) {
        test::run_golden_case(c, "cuda", true);
        test::run_golden_case(c, "cuda", false);
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
