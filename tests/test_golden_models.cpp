// Every golden model (single ops with every attribute, and whole random graphs
// in shuffled node order) run through loader, passes, planner and executor on
// each CPU backend, against PyTorch's outputs.
#include <gtest/gtest.h>

#include <string>

#include "tests/golden_cases.h"

namespace fcnrt {
namespace {

class GoldenModels : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenModels, MatchPyTorch) {
    const auto cases = test::golden_cases();
    ASSERT_GE(cases.size(), 100u);
    for (const auto& c : cases) {
        test::run_golden_case(c, GetParam(), true);
        test::run_golden_case(c, GetParam(), false);
    }
}

INSTANTIATE_TEST_SUITE_P(CpuBackends, GoldenModels, ::testing::Values("reference", "cpu"));

}  // namespace
}  // namespace fcnrt
