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

#include <cstring>
#include <limits>
#include <string>
#include <vector>

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

// max_pool2d (values only) and avg_pool2d against a float32 loop over each
// window's in-bounds taps in row-major order (max: `v > b || v != v` from -inf;
// avg: a float32 sum from 0, then / the in-bounds count), the float ops the
// kernels perform: bit for bit (a faster pool loop must keep them), on the
// common windows (2x2 s2, 3x3 s1 and s2) with padding, ceil_mode, NaN, ties and
// -0.0, the outputs poisoned first.
TEST(CpuKernels, PoolWindowOrderBitExact) {
    struct Window {
        int k, s, pt, pl, pb, pr;
        bool ceil_mode;
    };
    const Window windows[] = {{2, 2, 0, 0, 0, 0, false}, {2, 2, 1, 1, 0, 0, true},
                              {3, 3, 1, 1, 1, 1, true}, {3, 1, 1, 1, 1, 1, false},
                              {3, 1, 0, 2, 0, 1, false}};
    const int64_t sizes[][2] = {{33, 67}, {7, 5}, {2, 41}, {16, 16}};
    uint32_t state = 12345;
    auto next = [&state] {
        state = state * 1664525u + 1013904223u;
        return state >> 8;
    };
    for (const Window& wdw : windows) {
        for (const auto& hw : sizes) {
            const int64_t c = 3, h = hw[0], w = hw[1];
            Pool2dParams p;
            p.kernel[0] = p.kernel[1] = wdw.k;
            p.stride[0] = p.stride[1] = wdw.s;
            p.pads[0] = wdw.pt;
            p.pads[1] = wdw.pl;
            p.pads[2] = wdw.pb;
            p.pads[3] = wdw.pr;
            p.ceil_mode = wdw.ceil_mode;
            auto out_size = [&](int64_t in, int pa, int pb) {
                const int64_t num = in + pa + pb - wdw.k;
                int64_t o = (wdw.ceil_mode ? (num + wdw.s - 1) / wdw.s : num / wdw.s) + 1;
                if (wdw.ceil_mode && (o - 1) * wdw.s >= in + pa) --o;
                return o;
            };
            const int64_t oh = out_size(h, wdw.pt, wdw.pb), ow = out_size(w, wdw.pl, wdw.pr);
            if (oh <= 0 || ow <= 0) continue;
            std::vector<float> x(c * h * w);
            for (float& v : x) {
                const uint32_t r = next();
                // Small integers (ties), signed zeros and a few NaNs.
                v = r % 53 == 0 ? std::numeric_limits<float>::quiet_NaN()
                    : r % 7 == 0 ? (r & 256 ? -0.0f : 0.0f)
                                 : float(int(r % 9) - 4) + (r % 3 == 0 ? 0.0f : float(r % 1000) / 997.0f);
            }
            std::vector<float> max_y(c * oh * ow, 1234.5f), avg_y(c * oh * ow, 1234.5f);
            const View xv = make_view(x.data(), DType::F32, 1, c, h, w);
            cpu::max_pool2d(xv, make_view(max_y.data(), DType::F32, 1, c, oh, ow), View{}, p);
            cpu::avg_pool2d(xv, make_view(avg_y.data(), DType::F32, 1, c, oh, ow), p);
            for (int64_t ch = 0; ch < c; ++ch) {
                for (int64_t oy = 0; oy < oh; ++oy) {
                    for (int64_t ox = 0; ox < ow; ++ox) {
                        float best = -std::numeric_limits<float>::infinity(), sum = 0.0f;
                        int64_t count = 0;
                        for (int ky = 0; ky < wdw.k; ++ky) {
                            for (int kx = 0; kx < wdw.k; ++kx) {
                                const int64_t iy = oy * wdw.s - wdw.pt + ky,
                                              ix = ox * wdw.s - wdw.pl + kx;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                const float v = x[(ch * h + iy) * w + ix];
                                best = v > best || v != v ? v : best;
                                sum += v;
                                ++count;
                            }
                        }
                        const float mean = count == 0 ? 0.0f : sum / float(count);
                        const int64_t i = (ch * oh + oy) * ow + ox;
                        ASSERT_EQ(std::memcmp(&best, &max_y[i], 4), 0)
                            << "max k" << wdw.k << " s" << wdw.s << " " << h << "x" << w << " at "
                            << ch << "," << oy << "," << ox << ": " << best << " vs " << max_y[i];
                        ASSERT_EQ(std::memcmp(&mean, &avg_y[i], 4), 0)
                            << "avg k" << wdw.k << " s" << wdw.s << " " << h << "x" << w << " at "
                            << ch << "," << oy << "," << ox << ": " << mean << " vs " << avg_y[i];
                    }
                }
            }
        }
    }
}

}  // namespace
}  // namespace fcnrt::test
