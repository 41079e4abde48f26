// The generic driver of the op case catalogue (tests/op_cases.h): runs a case on a
// backend's KernelSet with poisoned outputs and sentinel guards, and compares two
// backends' outputs. Shared by the kernel tests of every backend.
//
// A backend whose kernels cannot touch host memory (CUDA) passes a CaseMemory: the
// driver then hands the kernels views of backend copies of each host buffer (the
// whole buffer, guards included) and copies every buffer back after the run, so
// the poison, guard and input checks below see exactly what the kernels wrote.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tests/op_cases.h"

namespace fcnrt::test {

constexpr int64_t kGuard = 67;               // sentinel elements before and after every buffer
constexpr uint32_t kSentinel = 0x7f8c0de5u;  // a signalling-NaN pattern no kernel computes
constexpr uint32_t kPoison = 0x7fc00000u;    // quiet NaN (as int32: an impossible index)

// The KernelSet of a namespace whose entry points have the signatures of
// kernels/cpu/*.h (fcnrt::reference, fcnrt::cpu). A macro because a namespace
// cannot be a template argument.
#define FCNRT_KERNEL_SET(ns)                       \
    [] {                                           \
        ::fcnrt::test::KernelSet k;                \
        k.name = #ns;                              \
        k.conv2d = ns::conv2d;                     \
        k.conv_transpose2d = ns::conv_transpose2d; \
        k.max_pool2d = ns::max_pool2d;             \
        k.avg_pool2d = ns::avg_pool2d;             \
        k.global_avg_pool = ns::global_avg_pool;   \
        k.max_unpool2d = ns::max_unpool2d;         \
        k.activation = ns::activation;             \
        k.hard_sigmoid = ns::hard_sigmoid;         \
        k.hard_swish = ns::hard_swish;             \
        k.prelu = ns::prelu;                       \
        k.elu = ns::elu;                           \
        k.gelu = ns::gelu;                         \
        k.binary = ns::binary;                     \
        k.batch_norm = ns::batch_norm;             \
        k.copy = ns::copy;                         \
        k.concat_copy = ns::concat_copy;           \
        k.softmax = ns::softmax;                   \
        k.argmax = ns::argmax;                     \
        k.resize = ns::resize;                     \
        k.crop = ns::crop;                         \
        k.pad = ns::pad;                           \
        k.depth_to_space = ns::depth_to_space;     \
        k.space_to_depth = ns::space_to_depth;     \
        k.dense = ns::dense;                       \
        k.group_norm = ns::group_norm;             \
        return k;                                  \
    }()

// The float64 reference kernels (kernels/reference), which every backend is held to.
const KernelSet& reference_kernels();

// Backend memory for one case run.
class CaseMemory {
public:
    virtual ~CaseMemory() = default;
    // A backend copy of `bits` (copied now); `bits` must stay alive until finish().
    virtual void* mirror(std::vector<uint32_t>& bits) = 0;
    // Waits for the kernels, then copies every mirrored buffer back into its vector.
    virtual void finish() = 0;
    // Drops every mirrored buffer without copying back (the run threw).
    virtual void discard() = 0;
};

struct CaseRun {
    std::vector<HostTensor> inputs, outputs;
    std::vector<View> output_views;
};

// Runs one case, checking guards, gaps and inputs afterwards (ADD_FAILURE on a
// violation). `memory` is nullptr for kernels that run on host memory.
CaseRun run_case(const OpCase& c, const KernelSet& kernels, CaseMemory* memory = nullptr);

// The bits of output i's view elements, in NCHW order.
std::vector<uint32_t> output_bits(const CaseRun& r, const OpCase& c, size_t i);

// NaN must meet NaN, infinities must match exactly, and the finite values must
// satisfy max|a - b| / max(max|b|, tiny) <= tolerance; int32 compares exactly.
void expect_close(const std::vector<uint32_t>& fast, const std::vector<uint32_t>& ref,
                  const TensorSpec& s, double tolerance, size_t output);

// Every case of `family` on `fast` against `reference`, output by output.
void check_family(const std::string& family, const KernelSet& reference, const KernelSet& fast,
                  CaseMemory* fast_memory = nullptr);

// The families of the catalogue. Every backend's kernel test instantiates one
// test per family from this list:
//   INSTANTIATE_TEST_SUITE_P(Catalogue, Suite, ::testing::ValuesIn(op_case_families()),
//                            family_test_name);
const std::vector<std::string>& op_case_families();

// The gtest name of a family test: the family itself (e.g. ".../conv2d").
std::string family_test_name(const ::testing::TestParamInfo<std::string>& info);

// Every family of the catalogue is in op_case_families() (so it has a test), and
// every family/name pair is unique.
void expect_catalogue_covered();

// Every case of the catalogue, run twice on `kernels`, gives the same bits in
// every output (no float atomics, no schedule-dependent summation order).
void expect_deterministic(const KernelSet& kernels, CaseMemory* memory = nullptr);

}  // namespace fcnrt::test
