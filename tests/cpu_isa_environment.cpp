// Linked into the test binaries that ctest also runs once per CPU ISA path
// (FCNRT_CPU_ISA=avx512|avx2|portable|avx512sim, see tests/CMakeLists.txt): when the
// variable names a path this CPU lacks, every test of the run is SKIPPED with
// the reason, instead of failing on the kernels' refusal.
#include <gtest/gtest.h>

#include "kernels/cpu/cpu_isa.h"

namespace {

class CpuIsaEnvironment : public ::testing::Environment {
public:
    void SetUp() override {
        const std::string why = fcnrt::cpu::cpu_isa_request_error();
        if (!why.empty()) GTEST_SKIP() << why;
    }
};

[[maybe_unused]] ::testing::Environment* const cpu_isa_environment =
    ::testing::AddGlobalTestEnvironment(new CpuIsaEnvironment);

}  // namespace
