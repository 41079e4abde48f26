// Tap windows (conv.h, conv2d_gemm_tap_windows): a conv on a map small against
// its dilation (DeepLabV3's ASPP) cut into rectangles of output pixels whose
// taps inside the input are the same window of the kernel; each rectangle runs
// as a 1x1 conv2d_gemm over its im2col columns with that window's weights
// (packed on first use, kept with the conv's packed weights), so the padding
// taps are never multiplied. Threads: the column gather and the epilogue copy
// are OpenMP loops over (batch item, column row) and (batch item, output
// channel); the GEMM threads as conv2d_gemm does.
#include <omp.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "kernels/cpu/conv.h"

namespace fcnrt::cpu {

// The windows packed so far of one conv's weights.
struct ConvTapWindows {
    struct Window {
        std::vector<float> weight;  // [K, Cg, ky1 - ky0, kx1 - kx0]
        std::shared_ptr<const PackedConvWeights> packed;
    };

    std::mutex mutex;
    std::map<std::array<int64_t, 5>, Window> made;  // by (ky0, ky1, kx0, kx1, mr)
};

std::shared_ptr<ConvTapWindows> make_conv_tap_windows() { return std::make_shared<ConvTapWindows>(); }

namespace {

// Outputs [o0, o1) of one dimension whose taps inside the input are [k0, k1).
struct TapBand {
    int64_t o0, o1, k0, k1;
};

// The bands of one dimension: runs of outputs o whose input positions
// o*stride - pad + k*dilation lie inside [0, in) for the same interval of k
// (positions grow with k, so the taps inside always form an interval). An
// output with no tap inside has the empty interval [0, 0): its sum is 0.
std::vector<TapBand> tap_bands(int64_t out, int64_t in, int64_t taps, int64_t stride,
                               int64_t dilation, int64_t pad) {
    std::vector<TapBand> bands;
    for (int64_t o = 0; o < out; ++o) {
        const int64_t base = o * stride - pad;
        int64_t k0 = 0;
        while (k0 < taps && base + k0 * dilation < 0) ++k0;
        int64_t k1 = k0;
        while (k1 < taps && base + k1 * dilation < in) ++k1;
        if (k0 == k1) k0 = k1 = 0;
        if (!bands.empty() && bands.back().k0 == k0 && bands.back().k1 == k1) {
            bands.back().o1 = o + 1;
        } else {
            bands.push_back({o, o + 1, k0, k1});
        }
    }
    return bands;
}

int64_t band_taps(const std::vector<TapBand>& bands) {
    int64_t taps = 0;
    for (const TapBand& b : bands) taps += (b.o1 - b.o0) * (b.k1 - b.k0);
    return taps;
}

// The window [ky0, ky1) x [kx0, kx1) of weight [K, Cg, kh, kw], packed for mk:
// from the cache when there is one (made on first use, kept with the weights),
// else into `local`.
const ConvTapWindows::Window& tap_window(const GemmMicroKernel& mk, const View& weight,
                                         const PackedConvWeights& packed, int groups,
                                         const TapBand& r, const TapBand& c,
                                         ConvTapWindows::Window& local) {
    auto make = [&](ConvTapWindows::Window& win) {
        const int64_t kh = weight.h, kw = weight.w, wh = r.k1 - r.k0, ww = c.k1 - c.k0;
        const int64_t planes = weight.n * weight.c;
        win.weight.resize(size_t(planes * wh * ww));
        for (int64_t q = 0; q < planes; ++q)  // q = (k, c)
            for (int64_t j = 0; j < wh; ++j)
                for (int64_t i = 0; i < ww; ++i)
                    win.weight[(q * wh + j) * ww + i] =
                        weight.f32()[(q * kh + r.k0 + j) * kw + c.k0 + i];
        win.packed = pack_conv2d_weights_for_gemm(
            mk, make_view(win.weight.data(), DType::F32, weight.n, weight.c, wh, ww), groups);
    };
    if (!packed.windows) {
        make(local);
        return local;
    }
    ConvTapWindows& cache = *packed.windows;
    const std::lock_guard<std::mutex> lock(cache.mutex);
    ConvTapWindows::Window& win = cache.made[{r.k0, r.k1, c.k0, c.k1, mk.mr}];
    if (!win.packed) make(win);
    return win;
}

// Floats of one sub-conv's columns at most (4 MiB, within the executor's
// runtime allowance; ASPP's largest rectangle needs about 2.8 MiB): a band's
// rows are cut to fit. The rectangle's raw sums take at most y's size again.
constexpr int64_t kWindowColumns = int64_t{1} << 20;

// The calling thread's scratch `which` (0: a rectangle's columns, 1: its raw sums).
float* window_scratch(int which, int64_t count) {
    thread_local std::vector<float> buffers[2];
    std::vector<float>& buffer = buffers[which];
    if (static_cast<int64_t>(buffer.size()) < count) buffer.resize(count);
    return buffer.data();
}

// d[0, n) = s[0, n) for short runs, inline (a memmove call per row of a few
// pixels costs more than the copy).
inline void copy_floats(float* d, const float* s, int64_t n) {
    int64_t b = 0;
    for (; b + 8 <= n; b += 8) std::memcpy(d + b, s + b, 8 * sizeof(float));
    if (b + 4 <= n) {
        std::memcpy(d + b, s + b, 4 * sizeof(float));
        b += 4;
    }
    switch (n - b) {
        case 3: d[b + 2] = s[b + 2]; [[fallthrough]];
        case 2: d[b + 1] = s[b + 1]; [[fallthrough]];
        case 1: d[b] = s[b]; break;
        default: break;
    }
}

}  // namespace

bool conv2d_tap_windows_pay(const View& x, const View& weight, const View& y,
                            const Conv2dParams& p) {
    if (weight.h * weight.w == 1 || y.numel() == 0) return false;
    const int64_t rows = band_taps(tap_bands(y.h, x.h, weight.h, p.stride[0], p.dilation[0], p.pads[0]));
    const int64_t cols = band_taps(tap_bands(y.w, x.w, weight.w, p.stride[1], p.dilation[1], p.pads[1]));
    return rows * cols * 4 <= y.h * weight.h * y.w * weight.w * 3;
}

size_t conv2d_tap_windows_scratch_bytes(const View& x, const View& weight, const View& y,
                                        const Conv2dParams& p) {
    (void)p;
    // Columns: kWindowColumns floats, or one output row's when that is more;
    // raw sums: a rectangle of y at most.
    const int64_t columns = std::max(kWindowColumns, y.n * x.c * weight.h * weight.w * y.w);
    return size_t(columns + y.numel()) * sizeof(float);
}

void conv2d_gemm_tap_windows(const GemmMicroKernel& mk, const View& x, const View& weight,
                             const PackedConvWeights& packed, const float* bias, const View& y,
                             const Conv2dParams& p) {
    if (y.numel() == 0) return;
    const std::vector<TapBand> rows =
        tap_bands(y.h, x.h, weight.h, p.stride[0], p.dilation[0], p.pads[0]);
    const std::vector<TapBand> cols =
        tap_bands(y.w, x.w, weight.w, p.stride[1], p.dilation[1], p.pads[1]);
    const bool residual = p.residual.data != nullptr;
    const int64_t sh = p.stride[0], sw = p.stride[1], dh = p.dilation[0], dw = p.dilation[1];
    for (const TapBand& r : rows) {
        for (const TapBand& c : cols) {
            const int64_t wh = r.k1 - r.k0, ww = c.k1 - c.k0, taps = wh * ww, rw = c.o1 - c.o0;
            const bool whole = wh == weight.h && ww == weight.w;
            ConvTapWindows::Window local;
            const ConvTapWindows::Window* win =
                whole || taps == 0 ? nullptr : &tap_window(mk, weight, packed, p.groups, r, c, local);
            // The window's weights as a 1x1 conv over depth = C*taps input rows
            // (c, ky, kx): the same matrix, packed the same way.
            const int64_t depth = x.c * taps;
            const View wv = make_view(win ? const_cast<float*>(win->weight.data()) : weight.f32(),
                                      DType::F32, weight.n, weight.c * taps, 1, 1);
            const PackedConvWeights& wp = win ? *win->packed : packed;
            const int64_t step = std::clamp<int64_t>(kWindowColumns / std::max<int64_t>(1, y.n * depth * rw),
                                                     1, r.o1 - r.o0);
            for (int64_t oy0 = r.o0; oy0 < r.o1; oy0 += step) {
                const int64_t rh = std::min(step, r.o1 - oy0);
                float* columns = window_scratch(0, y.n * depth * rh * rw);  // (N, depth, rh, rw)
                float* part = window_scratch(1, y.n * y.c * rh * rw);       // (N, K, rh, rw)
                // The rectangle's columns: every tap of every pixel lies inside x.
#pragma omp parallel for collapse(2) schedule(static) if (y.n * depth * rh * rw > 32768)
                for (int64_t n = 0; n < y.n; ++n) {
                    for (int64_t d = 0; d < depth; ++d) {  // d = (channel, j, i)
                        const int64_t ci = d / taps, j = d % taps / ww, i = d % ww;
                        const float* plane = x.f32() + x.offset(n, ci, 0, 0);
                        const int64_t ix0 = c.o0 * sw - p.pads[1] + (c.k0 + i) * dw;
                        float* dst = columns + (n * depth + d) * rh * rw;
                        for (int64_t a = 0; a < rh; ++a) {
                            const int64_t iy = (oy0 + a) * sh - p.pads[0] + (r.k0 + j) * dh;
                            const float* src = plane + iy * x.w + ix0;
                            if (sw == 1) {
                                copy_floats(dst + a * rw, src, rw);
                            } else {
                                for (int64_t b = 0; b < rw; ++b) dst[a * rw + b] = src[b * sw];
                            }
                        }
                    }
                }
                Conv2dParams q;  // 1x1, stride 1, unpadded: conv2d_gemm's in-place path
                q.groups = p.groups;
                if (taps == 0) {  // every tap in the padding: the sums are 0, as the zeros' chain gives
                    std::fill(part, part + y.n * y.c * rh * rw, 0.0f);
                } else {
                    conv2d_gemm(mk, make_view(columns, DType::F32, y.n, depth, rh, rw), wv, wp, nullptr,
                                make_view(part, DType::F32, y.n, y.c, rh, rw), q);
                }
                // Into y's rectangle, with the epilogue conv2d_gemm would have run.
#pragma omp parallel for collapse(2) schedule(static) if (y.n * y.c * rh * rw > 32768)
                for (int64_t n = 0; n < y.n; ++n) {
                    for (int64_t k = 0; k < y.c; ++k) {
                        for (int64_t a = 0; a < rh; ++a) {
                            float* out = y.f32() + y.offset(n, k, oy0 + a, c.o0);
                            copy_floats(out, part + ((n * y.c + k) * rh + a) * rw, rw);
                            epilogue_run(out, rw, bias ? bias[k] : 0.0f,
                                         residual ? p.residual.f32() + p.residual.offset(n, k, oy0 + a, c.o0)
                                                  : nullptr,
                                         p.act);
                        }
                    }
                }
            }
        }
    }
}

}  // namespace fcnrt::cpu
