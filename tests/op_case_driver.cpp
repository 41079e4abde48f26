// The generic op case driver (see op_case_driver.h).
#include "tests/op_case_driver.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>
#include <sstream>

#include "kernels/reference/concat.h"
#include "kernels/reference/conv.h"
#include "kernels/reference/dense.h"
#include "kernels/reference/elementwise.h"
#include "kernels/reference/layout.h"
#include "kernels/reference/norm.h"
#include "kernels/reference/pool.h"
#include "kernels/reference/resize.h"
#include "kernels/reference/softmax.h"

namespace fcnrt::test {

namespace {

// What make_inputs fills input guards and gaps with (tests/op_cases.cpp).
constexpr uint32_t kInputGuardFill = 0x7fa5a5a5u;

float as_float(uint32_t b) {
    float f;
    std::memcpy(&f, &b, 4);
    return f;
}

}  // namespace

const KernelSet& reference_kernels() {
    static const KernelSet k = FCNRT_KERNEL_SET(fcnrt::reference);
    return k;
}

CaseRun run_case(const OpCase& c, const KernelSet& kernels, CaseMemory* memory) {
    CaseRun r;
    r.inputs = make_inputs(c, kGuard);
    const std::vector<HostTensor> inputs_before = r.inputs;
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

    // The views the kernels see: over the host buffers, or over backend copies of them.
    auto kernel_view = [&](HostTensor& t) {
        View v = t.view();
        if (memory) v.data = static_cast<uint32_t*>(memory->mirror(t.bits)) + t.guard;
        return v;
    };
    std::vector<View> in_views;
    for (HostTensor& t : r.inputs) in_views.push_back(kernel_view(t));
    std::vector<View> out_views;
    for (HostTensor& t : r.outputs) {
        const int alias = t.spec.alias_input;
        out_views.push_back(alias >= 0 ? in_views[alias] : kernel_view(t));
    }

    try {
        c.run(kernels, in_views, out_views);
    } catch (...) {
        if (memory) memory->discard();
        throw;
    }
    if (memory) memory->finish();

    // Host views of the outputs, for callers that read them.
    for (size_t i = 0; i < r.outputs.size(); ++i) {
        const int alias = r.outputs[i].spec.alias_input;
        r.output_views.push_back(alias >= 0 ? r.inputs[alias].view() : r.outputs[i].view());
    }

    auto check_untouched = [&](const std::vector<uint32_t>& bits, const TensorSpec& s,
                               const char* what, size_t index) {
        std::vector<char> covered(bits.size(), 0);
        for (int64_t at : view_elements(s)) covered[kGuard + at] = 1;
        for (size_t at = 0; at < bits.size(); ++at) {
            if (!covered[at] && bits[at] != kSentinel && bits[at] != kInputGuardFill) {
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

std::vector<uint32_t> output_bits(const CaseRun& r, const OpCase& c, size_t i) {
    const TensorSpec& s = c.outputs[i];
    const int alias = s.alias_input;
    const std::vector<uint32_t>& bits = alias >= 0 ? r.inputs[alias].bits : r.outputs[i].bits;
    std::vector<uint32_t> out;
    for (int64_t at : view_elements(s)) out.push_back(bits[kGuard + at]);
    return out;
}

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
                               << " NaN/inf mismatches, first at element " << first_special
                               << ": " << as_float(fast[first_special]) << " vs reference "
                               << as_float(ref[first_special]);
    const double rel = max_diff / std::max(max_ref, 1e-30);
    EXPECT_LE(rel, tolerance) << "output " << output << ": relative max-norm error " << rel
                              << " (max |diff| " << max_diff << " at element " << worst << ": "
                              << as_float(fast[worst]) << " vs reference " << as_float(ref[worst])
                              << ", max |reference| " << max_ref << ")";
}

void check_family(const std::string& family, const KernelSet& reference, const KernelSet& fast,
                  CaseMemory* fast_memory) {
    const std::vector<const OpCase*> cases = op_cases(family);
    ASSERT_FALSE(cases.empty()) << "no cases for " << family;
    for (const OpCase* c : cases) {
        std::ostringstream trace;
        trace << family << "/" << c->name << " (seed " << c->seed << ")";
        SCOPED_TRACE(trace.str());
        const CaseRun ref = run_case(*c, reference);
        const CaseRun got = run_case(*c, fast, fast_memory);
        for (size_t i = 0; i < c->outputs.size(); ++i) {
            expect_close(output_bits(got, *c, i), output_bits(ref, *c, i), c->outputs[i],
                         c->tolerance, i);
        }
    }
}

const std::vector<std::string>& op_case_families() {
    static const std::vector<std::string> families = {"conv2d",
                                                      "conv_transpose2d",
                                                      "max_pool2d",
                                                      "avg_pool2d",
                                                      "global_avg_pool",
                                                      "max_unpool2d",
                                                      "activation",
                                                      "hard_sigmoid",
                                                      "hard_swish",
                                                      "prelu",
                                                      "elu",
                                                      "gelu",
                                                      "binary",
                                                      "batch_norm",
                                                      "copy",
                                                      "concat_copy",
                                                      "softmax",
                                                      "argmax",
                                                      "resize",
                                                      "crop",
                                                      "pad",
                                                      "depth_to_space",
                                                      "space_to_depth",
                                                      "dense",
                                                      "group_norm"};
    return families;
}

std::string family_test_name(const ::testing::TestParamInfo<std::string>& info) {
    return info.param;
}

void expect_catalogue_covered() {
    const std::set<std::string> tested(op_case_families().begin(), op_case_families().end());
    std::set<std::string> names;
    for (const OpCase& c : all_op_cases()) {
        EXPECT_TRUE(tested.count(c.family)) << "family " << c.family << " has no TEST";
        EXPECT_TRUE(names.insert(c.family + "/" + c.name).second)
            << "duplicate " << c.family << "/" << c.name;
    }
}

void expect_deterministic(const KernelSet& kernels, CaseMemory* memory) {
    for (const OpCase& c : all_op_cases()) {
        SCOPED_TRACE(c.family + "/" + c.name);
        const CaseRun a = run_case(c, kernels, memory);
        const CaseRun b = run_case(c, kernels, memory);
        for (size_t i = 0; i < c.outputs.size(); ++i)
            EXPECT_TRUE(output_bits(a, c, i) == output_bits(b, c, i))
                << kernels.name << " output " << i << " differs between two runs";
    }
}

}  // namespace fcnrt::test
