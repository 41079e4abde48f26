// Input sizes that leave a strided window's trailing input unused
// (engine/strided_coverage.h), on the golden VALID U-Net (one 2x2 pooling
// after two 3x3 VALID convolutions: its input fits when H - 4 is even).
#include <gtest/gtest.h>

#include "engine/model_loader.h"
#include "engine/strided_coverage.h"

namespace fcnrt {
namespace {

Model unet() {
    return load_model(std::string(FCNRT_SOURCE_DIR) + "/tests/golden/graph_unet_valid/model.json");
}

std::map<std::string, Shape> at(int64_t h, int64_t w) {
    return {{"x", Shape{1, 1, h, w}}};
}

TEST(StridedCoverage, FittingSizeHasNoUnusedInput) {
    const Model m = unet();
    EXPECT_TRUE(unused_strided_inputs(m, infer_shapes(m, at(64, 66))).empty());
}

TEST(StridedCoverage, OddPoolInputLeavesOneRow) {
    const Model m = unet();
    const auto unused = unused_strided_inputs(m, infer_shapes(m, at(65, 64)));
    ASSERT_EQ(unused.size(), 1u);
    EXPECT_EQ(unused[0].node, "pool1");
    EXPECT_EQ(unused[0].axis, 0);
    EXPECT_EQ(unused[0].input, 61);  // 65 - 2 - 2
    EXPECT_EQ(unused[0].unused, 1);
    EXPECT_EQ(next_fitting_size(m, at(65, 64), "x", 0, 65), 66);
    EXPECT_EQ(next_fitting_size(m, at(65, 64), "x", 1, 64), 64);
}

}  // namespace
}  // namespace fcnrt
