// The memory-bound CPU kernels (max/avg pool, softmax, argmax, resize) on every
// ISA path this CPU supports (membound_kernels.h), bit for bit against the
// portable path, in one process: odd sizes that leave remainders in every
// vector and chunk, NaN, +-inf, -0.0 and ties in the inputs, outputs poisoned
// before each run (a value never written stays poisoned and fails) and guard
// words around every output that must survive. The MatchReference tests check
// the values against the float64 reference; these check that the paths agree.
// Also bilinear resize against the one-line formula of the previous kernel
// (each output ky * (kx * r0[a] + lx * r0[b]) + ly * (kx * r1[a] + lx * r1[b])),
// bit for bit on the active path.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "kernels/cpu/cpu_isa.h"
#include "kernels/cpu/membound_kernels.h"
#include "kernels/cpu/pool.h"
#include "kernels/cpu/resize.h"
#include "kernels/cpu/softmax.h"

namespace fcnrt::test {
namespace {

using cpu::CpuIsa;
using cpu::MemboundKernels;

constexpr uint32_t kPoison = 0x7fc0dea1u;  // a quiet NaN payload no kernel produces
constexpr uint32_t kGuard = 0x5a5a5a5au;
constexpr int64_t kGuardWords = 17;

// Inputs with the awkward values: mostly [-4, 4), some small integers (ties),
// +-0.0, NaN, +-inf and large magnitudes (softmax's exp clamps).
std::vector<float> awkward_inputs(size_t count, uint32_t seed) {
    uint32_t s = seed * 2654435761u + 12345u;
    std::vector<float> v(count);
    for (float& x : v) {
        s = s * 1664525u + 1013904223u;
        const uint32_t r = s >> 8;
        if (r % 61 == 0) x = std::numeric_limits<float>::quiet_NaN();
        else if (r % 67 == 0) x = (r & 512) ? std::numeric_limits<float>::infinity()
                                            : -std::numeric_limits<float>::infinity();
        else if (r % 71 == 0) x = (r & 512) ? 95.0f : -120.0f;
        else if (r % 7 == 0) x = (r & 256) ? -0.0f : 0.0f;
        else if (r % 5 == 0) x = float(int(r % 9) - 4);
        else x = float(r % 65536) / 8192.0f - 4.0f;
    }
    return v;
}

// An output buffer of `count` 32-bit words, poisoned, with guard words on both sides.
struct Out {
    explicit Out(int64_t count) : words(size_t(count + 2 * kGuardWords), kGuard), n(count) {
        std::fill(words.begin() + kGuardWords, words.begin() + kGuardWords + n, kPoison);
    }
    void* data() { return words.data() + kGuardWords; }
    // The written words; fails the test on a poisoned word or a broken guard.
    std::vector<uint32_t> checked(const std::string& what) const {
        for (int64_t i = 0; i < kGuardWords; ++i) {
            EXPECT_EQ(words[size_t(i)], kGuard) << what << ": wrote before the output";
            EXPECT_EQ(words[size_t(kGuardWords + n + i)], kGuard) << what << ": wrote past the output";
        }
        const std::vector<uint32_t> out(words.begin() + kGuardWords, words.begin() + kGuardWords + n);
        const auto poisoned = std::find(out.begin(), out.end(), kPoison);
        EXPECT_EQ(poisoned, out.end()) << what << ": output word " << (poisoned - out.begin())
                                       << " of " << n << " never written";
        return out;
    }
    std::vector<uint32_t> words;
    int64_t n;
};

View view_of(void* data, DType dtype, int64_t n, int64_t c, int64_t h, int64_t w) {
    return make_view(data, dtype, n, c, h, w);
}

bool is_nan_bits(uint32_t w) { return (w & 0x7f800000u) == 0x7f800000u && (w & 0x007fffffu) != 0; }

// Runs `run` (the output words of one kernel call on the given table) on every
// supported path and expects each to equal the portable path's bits. One
// exception: where both words are NaNs, their sign and payload may differ.
// x86 propagates the first operand's NaN, and the compiler may order the
// operands of a commutative add or multiply differently for SSE2's two-operand
// and AVX's three-operand forms (softmax of a line holding an input NaN and an
// inf - inf NaN gives -nan on one path and +nan on the other). Which NaN is
// not defined by C++ or by IEEE 754; every other value, and each index, must
// match bit for bit.
void expect_paths_agree(const std::string& what,
                        const std::function<std::vector<uint32_t>(const MemboundKernels&)>& run) {
    SCOPED_TRACE(what);
    const std::vector<uint32_t> portable = run(cpu::membound_kernels(CpuIsa::Portable));
    for (CpuIsa isa : {CpuIsa::Avx2, CpuIsa::Avx512, CpuIsa::Avx512Sim}) {
        if (!cpu::cpu_isa_supported(isa)) continue;
        const std::vector<uint32_t> got = run(cpu::membound_kernels(isa));
        ASSERT_EQ(got.size(), portable.size());
        for (size_t i = 0; i < got.size(); ++i) {
            if (is_nan_bits(got[i]) && is_nan_bits(portable[i])) continue;
            ASSERT_EQ(got[i], portable[i]) << cpu::cpu_isa_name(isa) << " differs from portable at word "
                                           << i << " of " << got.size();
        }
    }
}

int supported_vector_paths() {
    int count = 0;
    for (CpuIsa isa : {CpuIsa::Avx2, CpuIsa::Avx512, CpuIsa::Avx512Sim}) {
        if (cpu::cpu_isa_supported(isa)) {
            ++count;
        } else {
            std::printf("[   INFO   ] %s: not supported by this CPU, not compared here\n",
                        cpu::cpu_isa_name(isa));
        }
    }
    return count;
}

// A table is built by code of its own ISA: only a supported path's may be touched.
TEST(MemboundIsa, TablesNameTheirPath) {
    for (CpuIsa isa : {CpuIsa::Portable, CpuIsa::Avx2, CpuIsa::Avx512, CpuIsa::Avx512Sim}) {
        if (cpu::cpu_isa_supported(isa)) {
            EXPECT_STREQ(cpu::membound_kernels(isa).isa, cpu::cpu_isa_name(isa));
        }
    }
    EXPECT_STREQ(cpu::active_membound_kernels().isa, cpu::cpu_isa_name(cpu::active_cpu_isa()));
}

TEST(MemboundIsa, PoolsAgreeBitForBit) {
    struct Window {
        int k, s, d, pt, pl, pb, pr;
        bool ceil_mode;
    };
    const Window windows[] = {{2, 2, 1, 0, 0, 0, 0, false}, {2, 2, 1, 0, 0, 0, 0, true},
                              {2, 2, 1, 1, 1, 0, 0, true},  {3, 1, 1, 1, 1, 1, 1, false},
                              {3, 2, 1, 1, 1, 1, 1, true},  {3, 1, 2, 1, 1, 1, 1, false},
                              {2, 3, 1, 0, 0, 0, 0, false}, {3, 1, 1, 0, 2, 0, 1, false}};
    // {28, 28}, {10, 10}, {9, 17}, {6, 12}: the whole-plane 2x2 s2 kernel's 8- and 4-lane rows.
    const int64_t sizes[][2] = {{33, 67}, {7, 5}, {2, 41}, {16, 16}, {6, 130}, {1, 2},
                                {28, 28}, {10, 10}, {9, 17}, {6, 12}};
    for (const Window& wd : windows) {
        for (const auto& hw : sizes) {
            const int64_t n = 2, c = 3, h = hw[0], w = hw[1];
            Pool2dParams p;
            p.kernel[0] = p.kernel[1] = wd.k;
            p.stride[0] = p.stride[1] = wd.s;
            p.dilation[0] = p.dilation[1] = wd.d;
            p.pads[0] = wd.pt;
            p.pads[1] = wd.pl;
            p.pads[2] = wd.pb;
            p.pads[3] = wd.pr;
            p.ceil_mode = wd.ceil_mode;
            auto out_size = [&](int64_t in, int pa, int pb) {
                const int64_t num = in + pa + pb - int64_t{wd.d} * (wd.k - 1) - 1;
                if (num < 0) return int64_t{0};
                int64_t o = (wd.ceil_mode ? (num + wd.s - 1) / wd.s : num / wd.s) + 1;
                if (wd.ceil_mode && (o - 1) * wd.s >= in + pa) --o;
                return o;
            };
            const int64_t oh = out_size(h, wd.pt, wd.pb), ow = out_size(w, wd.pl, wd.pr);
            if (oh <= 0 || ow <= 0) continue;
            std::vector<float> x = awkward_inputs(size_t(n * c * h * w), uint32_t(h * 131 + w + wd.k));
            const View xv = view_of(x.data(), DType::F32, n, c, h, w);
            const std::string shape = "k" + std::to_string(wd.k) + " s" + std::to_string(wd.s) + " d" +
                                      std::to_string(wd.d) + " pads " + std::to_string(wd.pt) +
                                      std::to_string(wd.pl) + std::to_string(wd.pb) +
                                      std::to_string(wd.pr) + (wd.ceil_mode ? " ceil" : "") + " " +
                                      std::to_string(h) + "x" + std::to_string(w);
            for (bool with_indices : {false, true}) {
                for (bool flat : {false, true}) {
                    if (flat && !with_indices) continue;
                    p.flat_indices = flat;
                    expect_paths_agree("max_pool " + shape + (with_indices ? " indices" : "") +
                                           (flat ? " flat" : ""),
                                       [&](const MemboundKernels& k) {
                                           Out y(n * c * oh * ow), idx(n * c * oh * ow);
                                           const View iv = with_indices
                                                               ? view_of(idx.data(), DType::I32, n, c, oh, ow)
                                                               : View{};
                                           cpu::max_pool2d_with(k, xv, view_of(y.data(), DType::F32, n, c, oh, ow),
                                                                iv, p);
                                           std::vector<uint32_t> bits = y.checked("max_pool values");
                                           if (with_indices) {
                                               const std::vector<uint32_t> ib = idx.checked("max_pool indices");
                                               bits.insert(bits.end(), ib.begin(), ib.end());
                                           }
                                           return bits;
                                       });
                }
            }
            for (bool include_pad : {false, true}) {
                p.count_include_pad = include_pad;
                expect_paths_agree("avg_pool " + shape + (include_pad ? " include_pad" : ""),
                                   [&](const MemboundKernels& k) {
                                       Out y(n * c * oh * ow);
                                       cpu::avg_pool2d_with(k, xv, view_of(y.data(), DType::F32, n, c, oh, ow), p);
                                       return y.checked("avg_pool");
                                   });
            }
            p.count_include_pad = false;
        }
    }
    EXPECT_GE(supported_vector_paths(), 1);  // AVX2 at least on the project's machines
}

TEST(MemboundIsa, SoftmaxAndArgmaxAgreeBitForBit) {
    // [n, c, h, w]: channel lanes h*w = 259 (a full 256-lane chunk and 3 more),
    // 1 (a single lane), 35; lines of 37, 1 and 300 for the last axis.
    const int64_t shapes[][4] = {{2, 21, 7, 37}, {1, 2, 1, 1}, {3, 5, 5, 7}, {1, 4, 2, 300}, {1, 1, 1, 1}};
    for (const auto& s : shapes) {
        const int64_t n = s[0], c = s[1], h = s[2], w = s[3], count = n * c * h * w;
        std::vector<float> x = awkward_inputs(size_t(count), uint32_t(count + c));
        const View xv = view_of(x.data(), DType::F32, n, c, h, w);
        for (int axis = 0; axis < 4; ++axis) {
            const std::string shape = std::to_string(n) + "x" + std::to_string(c) + "x" +
                                      std::to_string(h) + "x" + std::to_string(w) + " axis " +
                                      std::to_string(axis);
            expect_paths_agree("softmax " + shape, [&](const MemboundKernels& k) {
                Out y(count);
                cpu::softmax_with(k, xv, view_of(y.data(), DType::F32, n, c, h, w), axis);
                return y.checked("softmax");
            });
            int64_t dims[4] = {n, c, h, w};
            dims[axis] = 1;
            const int64_t out_count = dims[0] * dims[1] * dims[2] * dims[3];
            expect_paths_agree("argmax " + shape, [&](const MemboundKernels& k) {
                Out y(out_count);
                cpu::argmax_with(k, xv, view_of(y.data(), DType::I32, dims[0], dims[1], dims[2], dims[3]),
                                 axis);
                return y.checked("argmax");
            });
        }
    }
    EXPECT_GE(supported_vector_paths(), 1);
}

struct ResizeCase {
    int64_t h, w, oh, ow;
    ResizeMode mode;
    bool align_corners;
    ResizeCoordMode coord_mode;
};

ResizeParams resize_params(const ResizeCase& t) {
    ResizeParams p;
    p.mode = t.mode;
    p.align_corners = t.align_corners;
    p.coord_mode = t.coord_mode;
    p.coord_scale[0] = double(t.h) / double(t.oh);
    p.coord_scale[1] = double(t.w) / double(t.ow);
    return p;
}

const ResizeCase kResizeCases[] = {
    {7, 13, 14, 26, ResizeMode::Bilinear, false, ResizeCoordMode::Pytorch},
    {40, 9, 80, 18, ResizeMode::Bilinear, false, ResizeCoordMode::Pytorch},  // rows cross a block
    {40, 9, 80, 18, ResizeMode::Bilinear, true, ResizeCoordMode::Pytorch},
    {5, 11, 41, 89, ResizeMode::Bilinear, false, ResizeCoordMode::Pytorch},  // x8 and more
    {33, 70, 16, 35, ResizeMode::Bilinear, false, ResizeCoordMode::Pytorch},  // down
    {9, 17, 9, 40, ResizeMode::Bilinear, false, ResizeCoordMode::Pytorch},   // one axis unchanged
    {1, 5, 3, 10, ResizeMode::Bilinear, true, ResizeCoordMode::Pytorch},
    {7, 13, 20, 29, ResizeMode::Bilinear, false, ResizeCoordMode::HalfPixel},
    {7, 13, 20, 29, ResizeMode::Bilinear, false, ResizeCoordMode::Asymmetric},
    {7, 13, 14, 26, ResizeMode::Nearest, false, ResizeCoordMode::Pytorch},
    {40, 9, 120, 27, ResizeMode::Nearest, false, ResizeCoordMode::Pytorch},
    {33, 70, 16, 35, ResizeMode::Nearest, false, ResizeCoordMode::Pytorch},
    {7, 13, 20, 29, ResizeMode::Nearest, false, ResizeCoordMode::HalfPixel},
};

std::string resize_name(const ResizeCase& t) {
    return std::string(t.mode == ResizeMode::Bilinear ? "bilinear " : "nearest ") + std::to_string(t.h) +
           "x" + std::to_string(t.w) + " -> " + std::to_string(t.oh) + "x" + std::to_string(t.ow) +
           (t.align_corners ? " align_corners" : "") + " mode " + std::to_string(int(t.coord_mode));
}

TEST(MemboundIsa, ResizeAgreesBitForBit) {
    for (const ResizeCase& t : kResizeCases) {
        const int64_t n = 2, c = 3;
        std::vector<float> x = awkward_inputs(size_t(n * c * t.h * t.w), uint32_t(t.h * 7 + t.ow));
        const View xv = view_of(x.data(), DType::F32, n, c, t.h, t.w);
        const ResizeParams p = resize_params(t);
        expect_paths_agree(resize_name(t), [&](const MemboundKernels& k) {
            Out y(n * c * t.oh * t.ow);
            cpu::resize_with(k, xv, view_of(y.data(), DType::F32, n, c, t.oh, t.ow), p);
            return y.checked("resize");
        });
    }
    EXPECT_GE(supported_vector_paths(), 1);
}

// PyTorch-mode bilinear taps of one axis, as ATen computes them (float64
// source, the unchanged-axis copy): the previous kernel's tables.
void pytorch_linear_taps(int64_t in, int64_t out, bool align_corners, double coord_scale, int64_t d,
                         int64_t* i0, int64_t* i1, float* lambda) {
    if (out == in) {
        *i0 = *i1 = d;
        *lambda = 0.0f;
        return;
    }
    double src;
    if (align_corners) {
        src = out > 1 ? double(d) * double(in - 1) / double(out - 1) : 0.0;
    } else {
        src = std::max((double(d) + 0.5) * coord_scale - 0.5, 0.0);
    }
    *i0 = std::min(static_cast<int64_t>(std::floor(src)), in - 1);
    *i1 = std::min(*i0 + 1, in - 1);
    *lambda = static_cast<float>(src - double(*i0));
}

TEST(MemboundIsa, BilinearIsThePreviousOneLineFormula) {
    for (const ResizeCase& t : kResizeCases) {
        if (t.mode != ResizeMode::Bilinear || t.coord_mode != ResizeCoordMode::Pytorch) continue;
        SCOPED_TRACE(resize_name(t));
        const int64_t n = 1, c = 2;
        std::vector<float> x = awkward_inputs(size_t(n * c * t.h * t.w), uint32_t(t.w * 5 + t.oh));
        const ResizeParams p = resize_params(t);
        Out y(n * c * t.oh * t.ow);
        cpu::resize(view_of(x.data(), DType::F32, n, c, t.h, t.w), view_of(y.data(), DType::F32, n, c, t.oh, t.ow),
                    p);
        const std::vector<uint32_t> got = y.checked("resize");
        for (int64_t pl = 0; pl < n * c; ++pl) {
            const float* plane = x.data() + pl * t.h * t.w;
            for (int64_t oy = 0; oy < t.oh; ++oy) {
                int64_t y0, y1;
                float ly;
                pytorch_linear_taps(t.h, t.oh, t.align_corners, p.coord_scale[0], oy, &y0, &y1, &ly);
                const float ky = 1.0f - ly;
                const float* r0 = plane + y0 * t.w;
                const float* r1 = plane + y1 * t.w;
                for (int64_t ox = 0; ox < t.ow; ++ox) {
                    int64_t a, b;
                    float lx;
                    pytorch_linear_taps(t.w, t.ow, t.align_corners, p.coord_scale[1], ox, &a, &b, &lx);
                    const float kx = 1.0f - lx;
                    const float want = ky * (kx * r0[a] + lx * r0[b]) + ly * (kx * r1[a] + lx * r1[b]);
                    uint32_t want_bits;
                    std::memcpy(&want_bits, &want, sizeof want_bits);
                    ASSERT_EQ(got[size_t((pl * t.oh + oy) * t.ow + ox)], want_bits)
                        << "plane " << pl << " (" << oy << ", " << ox << ")";
                }
            }
        }
    }
}

}  // namespace
}  // namespace fcnrt::test
