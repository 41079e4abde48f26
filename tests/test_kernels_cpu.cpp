// The fast CPU kernels against the float64 reference kernels, over every case of
// the op catalogue (tests/op_cases.h), with the generic driver (tests/op_case_driver.h).
//
// For each case both backends get identical inputs (same seed). Every output
// element is poisoned with NaN before the run, and the elements a view does not
// cover (the gaps between batch items of strided views and a guard region after
// and before the buffer) hold a sentinel that must survive: a kernel that writes outside
// its output fails even when its values are right. Inputs must come back
// unchanged (except those an in-place case computes into). Float32 outputs must
// agree within the case's relative max-norm tolerance, int32 outputs exactly.
#include <gtest/gtest.h>

#include <string>

#include "kernels/cpu/concat.h"
#include "kernels/cpu/conv.h"
#include "kernels/cpu/dense.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/layout.h"
#include "kernels/cpu/norm.h"
#include "kernels/cpu/pool.h"
#include "kernels/cpu/resize.h"
#include "kernels/cpu/softmax.h"
#include "tests/op_case_driver.h"

namespace fcnrt::test {
namespace {

const KernelSet& cpu_kernels() {
    static const KernelSet k = FCNRT_KERNEL_SET(fcnrt::cpu);
    return k;
}

// One test per family of the catalogue (op_case_families()).
class CpuKernelFamilies : public ::testing::TestWithParam<std::string> {};

TEST_P(CpuKernelFamilies, MatchReference) {
    check_family(GetParam(), reference_kernels(), cpu_kernels());
}

INSTANTIATE_TEST_SUITE_P(Catalogue, CpuKernelFamilies, ::testing::ValuesIn(op_case_families()),
                         family_test_name);

// Every family in the catalogue has a test above, and case names are unique.
TEST(CpuKernels, CatalogueIsCovered) {
    expect_catalogue_covered();
}

// Every CPU kernel, the GEMM-based convolutions included, must be deterministic run
// to run (no atomics, fixed summation order whatever the thread schedule).
TEST(CpuKernels, Deterministic) {
    expect_deterministic(cpu_kernels());
}

}  // namespace
}  // namespace fcnrt::test
