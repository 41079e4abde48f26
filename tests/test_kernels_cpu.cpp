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

#include <omp.h>

#include <algorithm>
#include <cmath>
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

// Bilinear resize (PyTorch's coordinates, align_corners false and true) against
// the one-pass float32 formula out = ky * (kx * r0[a] + lx * r0[b]) + ly * (kx *
// r1[a] + lx * r1[b]) with the taps computed as op_params.h states: bit for bit,
// on 1 and 2 threads (the kernel interpolates each input row along x once per run
// of output rows; the runs depend on the thread count), up- and downsampling,
// DeepLab's 8x upsampling of a 65x65 map among them, outputs poisoned first.
TEST(CpuKernels, BilinearResizeIsTheOnePassFormulaBitForBit) {
    struct Case {
        int64_t n, c, h, w, oh, ow;
        bool align_corners;
    };
    const Case cases[] = {{1, 3, 65, 65, 520, 520, false}, {2, 5, 9, 13, 70, 101, false},
                          {1, 2, 33, 17, 7, 40, true},     {1, 7, 5, 1, 37, 3, false},
                          {1, 4, 8, 8, 8, 23, true},       {1, 1, 1, 6, 5, 1, false}};
    auto taps = [](int64_t in, int64_t out, bool align, std::vector<int64_t>& s0,
                   std::vector<int64_t>& s1, std::vector<float>& lambda) {
        s0.resize(out);
        s1.resize(out);
        lambda.resize(out);
        for (int64_t d = 0; d < out; ++d) {
            double src = 0.0;
            if (out == in) {
                src = double(d);
            } else if (align) {
                src = out > 1 ? double(d) * double(in - 1) / double(out - 1) : 0.0;
            } else {
                src = std::max((double(d) + 0.5) * (double(in) / double(out)) - 0.5, 0.0);
            }
            const int64_t i0 = std::min(int64_t(std::floor(src)), in - 1);
            s0[d] = i0;
            s1[d] = std::min(i0 + 1, in - 1);
            lambda[d] = float(src - double(i0));
        }
    };
    const int saved_threads = omp_get_max_threads();
    for (const Case& t : cases) {
        SCOPED_TRACE(std::to_string(t.h) + "x" + std::to_string(t.w) + " -> " + std::to_string(t.oh) + "x" +
                     std::to_string(t.ow) + (t.align_corners ? " align_corners" : ""));
        std::vector<float> x(size_t(t.n * t.c * t.h * t.w));
        for (size_t e = 0; e < x.size(); ++e) x[e] = float(int((e * 2654435761u) % 2001) - 1000) / 37.0f;
        std::vector<int64_t> y0, y1, x0, x1;
        std::vector<float> ly, lx;
        taps(t.h, t.oh, t.align_corners, y0, y1, ly);
        taps(t.w, t.ow, t.align_corners, x0, x1, lx);
        ResizeParams p;
        p.mode = ResizeMode::Bilinear;
        p.align_corners = t.align_corners;
        p.coord_scale[0] = double(t.h) / double(t.oh);
        p.coord_scale[1] = double(t.w) / double(t.ow);
        for (int threads : {1, 2}) {
            omp_set_num_threads(threads);
            std::vector<float> y(size_t(t.n * t.c * t.oh * t.ow), std::numeric_limits<float>::quiet_NaN());
            cpu::resize(make_view(x.data(), DType::F32, t.n, t.c, t.h, t.w),
                        make_view(y.data(), DType::F32, t.n, t.c, t.oh, t.ow), p);
            for (int64_t pl = 0; pl < t.n * t.c; ++pl) {
                for (int64_t oy = 0; oy < t.oh; ++oy) {
                    const float* r0 = x.data() + (pl * t.h + y0[oy]) * t.w;
                    const float* r1 = x.data() + (pl * t.h + y1[oy]) * t.w;
                    const float b = ly[oy], a = 1.0f - b;
                    for (int64_t ox = 0; ox < t.ow; ++ox) {
                        const float kx = 1.0f - lx[ox];
                        const float want = a * (kx * r0[x0[ox]] + lx[ox] * r0[x1[ox]]) +
                                           b * (kx * r1[x0[ox]] + lx[ox] * r1[x1[ox]]);
                        const float got = y[size_t((pl * t.oh + oy) * t.ow + ox)];
                        ASSERT_EQ(std::memcmp(&got, &want, sizeof(float)), 0)
                            << "threads " << threads << " plane " << pl << " y " << oy << " x " << ox
                            << ": " << got << " vs " << want;
                    }
                }
            }
        }
    }
    omp_set_num_threads(saved_threads);
}

}  // namespace
}  // namespace fcnrt::test
