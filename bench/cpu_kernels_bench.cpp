// Google Benchmark timings of the fast CPU kernels at segmentation-net sizes.
//
// Convolutions report GFLOP/s as the counter "GFLOPS" (2 * multiply-adds per
// second, wall time: the kernels are multithreaded, so CPU time of the calling
// thread would mislead); pools report input GB/s. Inputs are random, fixed seed.
// Run: bench_cpu_kernels --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "kernels/cpu/conv.h"
#include "kernels/cpu/pool.h"

namespace {

using fcnrt::ActivationParams;
using fcnrt::Conv2dParams;
using fcnrt::ConvTranspose2dParams;
using fcnrt::DType;
using fcnrt::make_view;
using fcnrt::Pool2dParams;
using fcnrt::View;

struct Tensor {
    std::vector<float> data;
    View view;
    Tensor(int64_t n, int64_t c, int64_t h, int64_t w) : data(static_cast<size_t>(n * c * h * w)) {
        std::mt19937 rng(12345);
        std::uniform_real_distribution<float> u(-1.0f, 1.0f);
        for (float& v : data) v = u(rng);
        view = make_view(data.data(), DType::F32, n, c, h, w);
    }
};

void set_flops(benchmark::State& state, double macs) {
    state.counters["GFLOPS"] =
        benchmark::Counter(2.0 * macs / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

// conv2d: C -> K channels, k x k kernel, at H x W, with pad, dilation, groups.
void conv2d(benchmark::State& state, int64_t c, int64_t k, int64_t hw, int kernel, int pad,
            int dilation, int groups) {
    const int64_t out = hw + 2 * pad - dilation * (kernel - 1);
    Tensor x(1, c, hw, hw), w(k, c / groups, kernel, kernel), y(1, k, out, out);
    std::vector<float> bias(static_cast<size_t>(k), 0.1f);
    Conv2dParams p;
    for (int i = 0; i < 4; ++i) p.pads[i] = pad;
    p.dilation[0] = p.dilation[1] = dilation;
    p.groups = groups;
    p.act.kind = fcnrt::Activation::Relu;
    for (auto _ : state) {
        fcnrt::cpu::conv2d(x.view, w.view, bias.data(), y.view, p);
        benchmark::ClobberMemory();
    }
    set_flops(state, static_cast<double>(k) * (c / groups) * kernel * kernel * out * out);
}

// conv_transpose2d: C -> K channels, k x k kernel, stride s, pad p, at H x W input.
void conv_transpose2d(benchmark::State& state, int64_t c, int64_t k, int64_t hw, int kernel,
                      int stride, int pad) {
    const int64_t out = (hw - 1) * stride - 2 * pad + kernel;
    Tensor x(1, c, hw, hw), w(c, k, kernel, kernel), y(1, k, out, out);
    ConvTranspose2dParams p;
    p.stride[0] = p.stride[1] = stride;
    for (int i = 0; i < 4; ++i) p.pads[i] = pad;
    for (auto _ : state) {
        fcnrt::cpu::conv_transpose2d(x.view, w.view, nullptr, y.view, p);
        benchmark::ClobberMemory();
    }
    set_flops(state, static_cast<double>(c) * k * kernel * kernel * hw * hw);
}

void max_pool(benchmark::State& state, int64_t c, int64_t hw, int kernel, int stride) {
    const int64_t out = (hw - kernel) / stride + 1;
    Tensor x(1, c, hw, hw), y(1, c, out, out);
    std::vector<int32_t> idx(static_cast<size_t>(c * out * out));
    const View indices = make_view(idx.data(), DType::I32, 1, c, out, out);
    Pool2dParams p;
    p.kernel[0] = p.kernel[1] = kernel;
    p.stride[0] = p.stride[1] = stride;
    for (auto _ : state) {
        fcnrt::cpu::max_pool2d(x.view, y.view, indices, p);
        benchmark::ClobberMemory();
    }
    state.counters["GB/s_in"] = benchmark::Counter(static_cast<double>(c * hw * hw) * 4 / 1e9,
                                                   benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK_CAPTURE(conv2d, 3x3_64to64_256x256_pad1, 64, 64, 256, 3, 1, 1, 1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(conv2d, 3x3_64to64_256x256_dil16_pad16, 64, 64, 256, 3, 16, 16, 1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(conv2d, 1x1_64to64_256x256, 64, 64, 256, 1, 0, 1, 1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(conv2d, 3x3_3to64_256x256_pad1, 3, 64, 256, 3, 1, 1, 1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(conv2d, 3x3_depthwise64_256x256_pad1, 64, 64, 256, 3, 1, 1, 64)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(conv_transpose2d, 2x2_s2_64to64_128to256, 64, 64, 128, 2, 2, 0)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(conv_transpose2d, 4x4_s2_p1_64to64_128to256, 64, 64, 128, 4, 2, 1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(max_pool, 2x2_s2_64x256x256, 64, 256, 2, 2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(max_pool, 3x3_s1_64x256x256, 64, 256, 3, 1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
