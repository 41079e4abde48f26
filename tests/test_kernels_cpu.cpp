// The fast CPU kernels against the float64 reference kernels, over every case of
// the op catalogue (tests/op_cases.h).
//
// For each case both backends get identical inputs (same seed). Every output
// element is poisoned with NaN before the run, and the elements a view does not
// cover (the gaps between batch items of strided views and a guard region after
// and before the buffer) hold a sentinel that must survive: a kernel that writes outside
// its output fails even when its values are right. Inputs must come back
// unchanged (except those an in-place case computes into). Float32 outputs must
// agree within the case's relative max-norm tolerance, int32 outputs exactly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/cpu/concat.h"
#include "kernels/cpu/conv.h"
#include "kernels/cpu/dense.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/layout.h"
#include "kernels/cpu/pool.h"
#include "kernels/cpu/resize.h"
#include "kernels/cpu/softmax.h"
#include "kernels/reference/concat.h"
#include "kernels/reference/conv.h"
#include "kernels/reference/dense.h"
#include "kernels/reference/elementwise.h"
#include "kernels/reference/layout.h"
#include "kernels/reference/pool.h"
#include "kernels/reference/resize.h"
#include "kernels/reference/softmax.h"
#include "tests/op_cases.h"

namespace fcnrt::test {
namespace {

constexpr int64_t kGuard = 67;               // sentinel elements before and after every buffer
constexpr uint32_t kSentinel = 0x7f8c0de5u;  // a signalling-NaN pattern no kernel computes
constexpr uint32_t kPoison = 0x7fc00000u;    // quiet NaN (as int32: an impossible index)

#define FCNRT_KERNEL_SET(ns)                       \
    [] {                                           \
        KernelSet k;                               \
        k.name = #ns;                              \
        k.conv2d = ns::conv2d;                     \
        k.conv_transpose2d = ns::conv_transpose2d; \
        k.max_pool2d = ns::max_pool2d;             \
        k.avg_pool2d = ns::avg_pool2d;             \
        k.global_avg_pool = ns::global_avg_pool;   \
        k.max_unpool2d = ns::max_unpool2d;         \
        k.activation = ns::activation;             \
        k.binary = ns::binary;                     \
        k.batch_norm = ns::batch_norm;             \
        k.copy = ns::copy;                         \
        k.concat_copy = ns::concat_copy;           \
        k.softmax = ns::softmax;                   \
        k.argmax = ns::argmax;                     \
        k.resize = ns::resize;                     \
        k.crop = ns::crop;                         \
        k.pad = ns::pad;                           \
        k.dense = ns::dense;                       \
        return k;                                  \
    }()

const KernelSet& reference_kernels() {
    static const KernelSet k = FCNRT_KERNEL_SET(fcnrt::reference);
    return k;
}

const KernelSet& cpu_kernels() {
    static const KernelSet k = FCNRT_KERNEL_SET(fcnrt::cpu);
    return k;
}

struct CaseRun {
    std::vector<HostTensor> inputs, outputs;
    std::vector<View> output_views;
};

// Runs one case on one backend, checking guards, gaps and inputs afterwards.
CaseRun run_case(const OpCase& c, const KernelSet& kernels) {
    CaseRun r;
    r.inputs = make_inputs(c, kGuard);
    const std::vector<HostTensor> inputs_before = r.inputs;
    std::vector<View> in_views;
    for (HostTensor& t : r.inputs) in_views.push_back(t.view());
    for (const TensorSpec& s : c.outputs) {
        HostTensor t;
        t.spec = s;
        t.guard = kGuard;
        if (s.alias_input < 0) {
            t.bits.assign(static_cast<size_t>(s.span() + 2 * kGuard), kSentinel);
            for (int64_t at : view_elements(s)) t.bits[kGuard + at] = kPoison;
        }
        r.outputs.push_back(std::move(t));
    }
    for (size_t i = 0; i < r.outputs.size(); ++i) {
        const int alias = r.outputs[i].spec.alias_input;
        r.output_views.push_back(alias >= 0 ? in_views[alias] : r.outputs[i].view());
    }

    c.run(kernels, in_views, r.output_views);

    auto check_untouched = [&](const std::vector<uint32_t>& bits, const TensorSpec& s,
                               const char* what, size_t index) {
        std::vector<char> covered(bits.size(), 0);
        for (int64_t at : view_elements(s)) covered[kGuard + at] = 1;
        for (size_t at = 0; at < bits.size(); ++at) {
            if (!covered[at] && bits[at] != kSentinel && bits[at] != 0x7fa5a5a5u) {
                ADD_FAILURE() << kernels.name << " wrote outside " << what << " " << index
                              << " at element " << static_cast<int64_t>(at) - kGuard
                              << " of the view (span " << s.span() << ", batch stride "
                              << s.batch_stride() << ")";
                return;
            }
        }
    };
    for (size_t i = 0; i < r.outputs.size(); ++i) {
        if (r.outputs[i].spec.alias_input < 0) {
            check_untouched(r.outputs[i].bits, r.outputs[i].spec, "output", i);
        }
    }
    for (size_t i = 0; i < r.inputs.size(); ++i) {
        bool aliased = false;
        for (const TensorSpec& s : c.outputs) aliased = aliased || s.alias_input == int(i);
        if (aliased) {
            check_untouched(r.inputs[i].bits, r.inputs[i].spec, "in-place input", i);
        } else if (r.inputs[i].bits != inputs_before[i].bits) {
            ADD_FAILURE() << kernels.name << " modified input " << i;
        }
    }
    return r;
}

// The bits of output i's view elements, in NCHW order.
std::vector<uint32_t> output_bits(const CaseRun& r, const OpCase& c, size_t i) {
    const TensorSpec& s = c.outputs[i];
    const int alias = s.alias_input;
    const std::vector<uint32_t>& bits = alias >= 0 ? r.inputs[alias].bits : r.outputs[i].bits;
    std::vector<uint32_t> out;
    for (int64_t at : view_elements(s)) out.push_back(bits[kGuard + at]);
    return out;
}

float as_float(uint32_t b) {
    float f;
    std::memcpy(&f, &b, 4);
    return f;
}

// Compares `fast` with `ref`: NaN must meet NaN, infinities must match exactly, and
// the finite values must satisfy max|a - b| / max(max|b|, tiny) <= tolerance.
void expect_close(const std::vector<uint32_t>& fast, const std::vector<uint32_t>& ref,
                  const TensorSpec& s, double tolerance, size_t output) {
    ASSERT_EQ(fast.size(), ref.size());
    if (s.dtype == DType::I32) {
        size_t bad = 0, first = 0;
        for (size_t i = 0; i < ref.size(); ++i) {
            if (fast[i] != ref[i] && bad++ == 0) first = i;
        }
        EXPECT_EQ(bad, 0u) << "output " << output << ": " << bad << " int32 mismatches, first at "
                           << first << ": " << static_cast<int32_t>(fast[first]) << " vs "
                           << static_cast<int32_t>(ref[first]);
        return;
    }
    double max_diff = 0.0, max_ref = 0.0;
    size_t worst = 0, special_bad = 0, first_special = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        const double a = as_float(fast[i]), b = as_float(ref[i]);
        if (!std::isfinite(a) || !std::isfinite(b)) {
            const bool same = (std::isnan(a) && std::isnan(b)) || a == b;
            if (!same && special_bad++ == 0) first_special = i;
            continue;
        }
        max_ref = std::max(max_ref, std::fabs(b));
        if (std::fabs(a - b) > max_diff) {
            max_diff = std::fabs(a - b);
            worst = i;
        }
    }
    EXPECT_EQ(special_bad, 0u) << "output " << output << ": " << special_bad
                               << " NaN/inf mismatches, first at element " << first_special << ": "
                               << as_float(fast[first_special]) << " vs reference "
                               << as_float(ref[first_special]);
    const double rel = max_diff / std::max(max_ref, 1e-30);
    EXPECT_LE(rel, tolerance) << "output " << output << ": relative max-norm error " << rel
                              << " (max |diff| " << max_diff << " at element " << worst << ": "
                              << as_float(fast[worst]) << " vs reference " << as_float(ref[worst])
                              << ", max |reference| " << max_ref << ")";
}

void check_family(const std::string& family) {
    const std::vector<const OpCase*> cases = op_cases(family);
    ASSERT_FALSE(cases.empty()) << "no cases for " << family;
    for (const OpCase* c : cases) {
        std::ostringstream trace;
        trace << family << "/" << c->name << " (seed " << c->seed << ")";
        SCOPED_TRACE(trace.str());
        const CaseRun ref = run_case(*c, reference_kernels());
        const CaseRun fast = run_case(*c, cpu_kernels());
        for (size_t i = 0; i < c->outputs.size(); ++i) {
            expect_close(output_bits(fast, *c, i), output_bits(ref, *c, i), c->outputs[i],
                         c->tolerance, i);
        }
    }
}

const char* const kFamilies[] = {"conv2d",
                                 "conv_transpose2d",
                                 "max_pool2d",
                                 "avg_pool2d",
                                 "global_avg_pool",
                                 "max_unpool2d",
                                 "activation",
                                 "binary",
                                 "batch_norm",
                                 "copy",
                                 "concat_copy",
                                 "softmax",
                                 "argmax",
                                 "resize",
                                 "crop",
                                 "pad",
                                 "dense"};

TEST(CpuKernels, Conv2d) {
    check_family("conv2d");
}
TEST(CpuKernels, ConvTranspose2d) {
    check_family("conv_transpose2d");
}
TEST(CpuKernels, MaxPool2d) {
    check_family("max_pool2d");
}
TEST(CpuKernels, AvgPool2d) {
    check_family("avg_pool2d");
}
TEST(CpuKernels, GlobalAvgPool) {
    check_family("global_avg_pool");
}
TEST(CpuKernels, MaxUnpool2d) {
    check_family("max_unpool2d");
}
TEST(CpuKernels, Activation) {
    check_family("activation");
}
TEST(CpuKernels, Binary) {
    check_family("binary");
}
TEST(CpuKernels, BatchNorm) {
    check_family("batch_norm");
}
TEST(CpuKernels, Copy) {
    check_family("copy");
}
TEST(CpuKernels, ConcatCopy) {
    check_family("concat_copy");
}
TEST(CpuKernels, Softmax) {
    check_family("softmax");
}
TEST(CpuKernels, Argmax) {
    check_family("argmax");
}
TEST(CpuKernels, Resize) {
    check_family("resize");
}
TEST(CpuKernels, Crop) {
    check_family("crop");
}
TEST(CpuKernels, Pad) {
    check_family("pad");
}
TEST(CpuKernels, Dense) {
    check_family("dense");
}

// Every family in the catalogue has a test above, and case names are unique.
TEST(CpuKernels, CatalogueIsCovered) {
    const std::set<std::string> tested(std::begin(kFamilies), std::end(kFamilies));
    std::set<std::string> names;
    for (const OpCase& c : all_op_cases()) {
        EXPECT_TRUE(tested.count(c.family)) << "family " << c.family << " has no TEST";
        EXPECT_TRUE(names.insert(c.family + "/" + c.name).second) << "duplicate " << c.name;
    }
}

// The GEMM-based kernels must be deterministic run to run (no atomics, fixed
// summation order whatever the thread schedule).
TEST(CpuKernels, ConvolutionsAreDeterministic) {
    for (const char* family : {"conv2d", "conv_transpose2d"}) {
        for (const OpCase* c : op_cases(family)) {
            SCOPED_TRACE(std::string(family) + "/" + c->name);
            const CaseRun a = run_case(*c, cpu_kernels());
            const CaseRun b = run_case(*c, cpu_kernels());
            EXPECT_TRUE(output_bits(a, *c, 0) == output_bits(b, *c, 0));
        }
    }
}

}  // namespace
}  // namespace fcnrt::test
