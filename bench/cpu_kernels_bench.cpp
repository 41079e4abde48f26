// Google Benchmark timings of the fast CPU kernels (kernels/cpu/*.h): the CPU subset
// of the fixed kernel suite (bench/kernel_suite.json, "suite/<name>"), the two CPU
// roofs it is measured against ("roof/..."), and a few older single benchmarks.
//
// Method: every benchmark allocates S sets of all its tensors (inputs, weights,
// outputs), S chosen so that the sets together exceed kRotationL3Multiple times the
// last-level cache (at least kMinRotationBytes; 2 <= S <= kMaxSets), and call i runs
// on set i mod S, so each call reads its inputs from memory rather than from a cache
// the previous call warmed (as in a network, where each layer's input was written
// by the layer before and its weights are used once). Warm-up: one untimed pass over
// the sets (page faults, first-call set-up). Wall time (UseRealTime): the
// kernels are multithreaded, so the calling thread's CPU time would mislead. Inputs
// are uniform random in [-1, 1), fixed seed; never zeros.
//
// Counters (bench/kernel_suite.h): "GFLOPS" = 2 * multiply-adds / s (convolutions),
// "GB/s" = (bytes read + bytes written, each tensor once) / s, per call "flop" and
// "bytes", and "share_of_roof" against the roofs below, measured first in this process:
//   roof/copy           memcpy of 512 MiB (10x a 48 MiB L3; glibc uses non-temporal
//                       stores at that size) split into one contiguous chunk per OpenMP
//                       thread; GB/s = bytes read + written.
//   roof/sgemm          2048^3 through fcnrt::cpu::sgemm: the active ISA's GEMM
//                       micro-kernel (kernels/cpu/gemm.h), column tiles spread over the
//                       OpenMP threads, the micro-kernel every conv runs on.
//                       GFLOPS = 2 * 2048^3 / s.
//   roof/fma            the machine's FMA peak measured (bench/fma_peak.h): independent
//                       FMA chains of the active ISA on every thread, at the clock the
//                       cores really run (the "share_of_fma_peak" counters divide by the
//                       theoretical peak at the nominal clock instead; see main).
// Threads: OMP_NUM_THREADS (default: all cores) for the kernels and the roofs.
//
// The suite file: --suite=FILE, else $FCNRT_SOURCE_DIR/bench/kernel_suite.json when it
// exists, else the source tree's. Only the cases marked "cpu": true are registered
// unless --suite_all is given. Convolutions there have a bias and no activation.
// Run: bench_cpu_kernels --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
// The suite with the PyTorch peer and the roofline: bench/run_kernel_suite.sh BUILD_DIR cpu OUT.
#include <benchmark/benchmark.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "bench/fma_peak.h"
#include "bench/kernel_suite.h"
#include "kernels/cpu/concat.h"
#include "kernels/cpu/conv.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/pool.h"
#include "kernels/cpu/resize.h"
#include "kernels/cpu/softmax.h"

namespace {

using fcnrt::DType;
using fcnrt::View;

constexpr int64_t kMinRotationBytes = int64_t{64} << 20;
constexpr int64_t kRotationL3Multiple = 4;
constexpr int64_t kMaxSets = 64;

// What main learns about the machine and what the roof benchmarks measure.
struct BenchEnv {
    int64_t rotation_bytes = kMinRotationBytes;
    fcnrt::bench::Roofs roofs;
    double fma_peak_gflops = 0;  // theoretical, see fma_peak_gflops()
};
BenchEnv g_env;

// One float32 tensor of a benchmark: its shape and whether it starts random (inputs,
// weights) or zero (outputs).
struct TensorSpec {
    int64_t n = 1, c = 1, h = 1, w = 1;
    bool random = true;
    int64_t numel() const { return n * c * h * w; }
    int64_t bytes() const { return numel() * 4; }
};

TensorSpec f32(int64_t n, int64_t c, int64_t h, int64_t w) {
    return {n, c, h, w, true};
}
TensorSpec out_f32(int64_t n, int64_t c, int64_t h, int64_t w) {
    return {n, c, h, w, false};
}

// (A named temporary: assigning a braced list to an empty vector trips GCC 12's -Wnonnull.)
using Specs = std::vector<TensorSpec>;
using Views = std::vector<View>;
using Call = std::function<void(const Views&)>;

// The harness described at the top. Returns the mean seconds of one call (< 0 after
// an error). `bytes` < 0: every tensor counted once. `is_roof`: no share_of_roof.
double run_cpu_benchmark(benchmark::State& state, const std::vector<TensorSpec>& specs, double macs,
                         const Call& call, double bytes = -1.0, bool is_roof = false) {
    try {
        int64_t set_bytes = 0;
        for (const TensorSpec& t : specs) set_bytes += t.bytes();
        const int64_t num_sets =
            std::clamp<int64_t>((g_env.rotation_bytes + set_bytes - 1) / set_bytes, 2, kMaxSets);

        std::mt19937 rng(12345);
        std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
        std::vector<std::vector<float>> first(specs.size());
        for (size_t i = 0; i < specs.size(); ++i) {
            first[i].assign(static_cast<size_t>(specs[i].numel()), 0.0f);
            if (specs[i].random) {
                for (float& v : first[i]) v = uniform(rng);
            }
        }
        // Set 0 owns the generated contents; the others are copies at other addresses.
        std::vector<std::vector<std::vector<float>>> memory(static_cast<size_t>(num_sets));
        std::vector<Views> sets(static_cast<size_t>(num_sets));
        for (int64_t s = 0; s < num_sets; ++s) {
            auto& mem = memory[static_cast<size_t>(s)];
            mem = s == 0 ? std::move(first) : memory[0];
            for (size_t i = 0; i < specs.size(); ++i) {
                const TensorSpec& t = specs[i];
                sets[static_cast<size_t>(s)].push_back(
                    fcnrt::make_view(mem[i].data(), DType::F32, t.n, t.c, t.h, t.w));
            }
        }

        for (const Views& v : sets) call(v);  // warm-up pass

        size_t next = 0;
        const auto start = std::chrono::steady_clock::now();
        for (auto _ : state) {
            call(sets[next]);
            benchmark::ClobberMemory();
            next = next + 1 == sets.size() ? 0 : next + 1;
        }
        const double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const double per_call = elapsed / static_cast<double>(std::max<benchmark::IterationCount>(
                                              state.iterations(), 1));

        if (bytes < 0) bytes = static_cast<double>(set_bytes);
        fcnrt::bench::set_counters(state, macs, bytes, per_call, g_env.roofs, !is_roof);
        if (macs > 0 && g_env.fma_peak_gflops > 0)
            state.counters["share_of_fma_peak"] = 2.0 * macs / per_call / 1e9 / g_env.fma_peak_gflops;
        state.counters["sets"] = static_cast<double>(num_sets);
        return per_call;
    } catch (const std::exception& e) {
        state.SkipWithError(e.what());
        return -1.0;
    }
}

// ---- roofs ----

void bm_roof_copy(benchmark::State& state) {
    constexpr int64_t kFloats = int64_t{128} << 20;  // 512 MiB
    const double bytes = 2.0 * kFloats * 4;          // read + written
    // One set of src/dst only: the buffer is already 10x the L3.
    std::vector<float> src(static_cast<size_t>(kFloats), 1.0f), dst(static_cast<size_t>(kFloats));
    auto copy = [&] {
#pragma omp parallel
        {
            const int64_t threads = omp_get_num_threads(), t = omp_get_thread_num();
            const int64_t lo = kFloats * t / threads, hi = kFloats * (t + 1) / threads;
            std::memcpy(dst.data() + lo, src.data() + lo, static_cast<size_t>(hi - lo) * 4);
        }
    };
    copy();  // page faults
    const auto start = std::chrono::steady_clock::now();
    for (auto _ : state) {
        copy();
        benchmark::ClobberMemory();
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
        static_cast<double>(std::max<benchmark::IterationCount>(state.iterations(), 1));
    fcnrt::bench::set_counters(state, 0, bytes, seconds, g_env.roofs, false);
    g_env.roofs.note_bandwidth(bytes / seconds / 1e9);
}

void bm_roof_sgemm(benchmark::State& state) {
    constexpr int64_t kN = 2048;
    // A (N, N); B (N, N); C (N, N), row-major
    const double macs = static_cast<double>(kN) * kN * kN;
    const double seconds = run_cpu_benchmark(
        state, {f32(1, 1, kN, kN), f32(1, 1, kN, kN), out_f32(1, 1, kN, kN)}, macs,
        [](const Views& v) {
            fcnrt::cpu::sgemm(kN, kN, kN, v[0].f32(), kN, v[1].f32(), kN, v[2].f32(), kN);
        },
        -1.0, true);
    if (seconds > 0) g_env.roofs.note_compute(2.0 * macs / seconds / 1e9);
}

void bm_roof_fma(benchmark::State& state) {
    constexpr int64_t kIterations = int64_t{1} << 24;
    fcnrt::bench::measure_fma_peak_gflops(kIterations >> 4);  // clocks up, threads started
    double best = 0;
    for (auto _ : state) best = std::max(best, fcnrt::bench::measure_fma_peak_gflops(kIterations));
    // The measured counterpart of the theoretical fma_peak_gflops context line
    // (nominal clock): bench/compare_kernels.py's "FMA share" column divides by it.
    state.counters["GFLOPS"] = best;
}

// ---- the kernel suite ----

void bm_suite(benchmark::State& state, const fcnrt::bench::SuiteCase& sc) {
    using fcnrt::bench::SuiteOp;
    const int64_t c = sc.c, k = sc.k, h = sc.h, o = sc.out_h;
    std::vector<TensorSpec> specs;
    Call call;
    switch (sc.op) {
        case SuiteOp::Conv2d: {
            const fcnrt::Conv2dParams p = fcnrt::bench::suite_conv2d_params(sc);
            // x (1, C, H, W); weight (K, C/groups, k, k); bias (K); y (1, K, OH, OW)
            specs = Specs{f32(1, c, h, h), f32(k, c / sc.groups, sc.kernel, sc.kernel),
                          f32(1, k, 1, 1), out_f32(1, k, o, o)};
            call = [p](const Views& v) { fcnrt::cpu::conv2d(v[0], v[1], v[2].f32(), v[3], p); };
            break;
        }
        case SuiteOp::ConvTranspose2d: {
            const fcnrt::ConvTranspose2dParams p = fcnrt::bench::suite_conv_transpose2d_params(sc);
            // x (1, C, H, W); weight (C, K/groups, k, k); bias (K); y (1, K, OH, OW)
            specs = Specs{f32(1, c, h, h), f32(c, k / sc.groups, sc.kernel, sc.kernel),
                          f32(1, k, 1, 1), out_f32(1, k, o, o)};
            call = [p](const Views& v) {
                fcnrt::cpu::conv_transpose2d(v[0], v[1], v[2].f32(), v[3], p);
            };
            break;
        }
        case SuiteOp::MaxPool2d:
        case SuiteOp::AvgPool2d: {
            const fcnrt::Pool2dParams p =
                fcnrt::bench::pool_params(sc.kernel, sc.stride, sc.pad, sc.dilation);
            specs = Specs{f32(1, c, h, h), out_f32(1, c, o, o)};
            if (sc.op == SuiteOp::MaxPool2d) {
                call = [p](const Views& v) { fcnrt::cpu::max_pool2d(v[0], v[1], View{}, p); };
            } else {
                call = [p](const Views& v) { fcnrt::cpu::avg_pool2d(v[0], v[1], p); };
            }
            break;
        }
        case SuiteOp::Concat: {
            // inputs (1, C_i, H, W) ...; y (1, sum C_i, H, W)
            for (int64_t ci : sc.inputs) specs.push_back(f32(1, ci, h, h));
            specs.push_back(out_f32(1, c, h, h));
            call = [inputs = sc.inputs](const Views& v) {
                int64_t offset = 0;
                for (size_t i = 0; i < inputs.size(); ++i) {
                    fcnrt::cpu::concat_copy(v[i], v.back(), 1, offset);
                    offset += inputs[i];
                }
            };
            break;
        }
        case SuiteOp::Softmax:
            specs = Specs{f32(1, c, h, h), out_f32(1, c, h, h)};
            call = [](const Views& v) { fcnrt::cpu::softmax(v[0], v[1], 1); };
            break;
        case SuiteOp::Resize: {
            const fcnrt::ResizeParams p = fcnrt::bench::suite_resize_params(sc);
            specs = Specs{f32(1, c, h, h), out_f32(1, c, o, o)};
            call = [p](const Views& v) { fcnrt::cpu::resize(v[0], v[1], p); };
            break;
        }
    }
    run_cpu_benchmark(state, specs, sc.macs, call, sc.bytes);
}

// ---- older single benchmarks (bias + ReLU fused, as the engine runs them) ----

// conv2d: C -> K channels, k x k kernel, at H x W, with pad, dilation, groups.
void bm_conv2d(benchmark::State& state, int64_t c, int64_t k, int64_t hw, int kernel, int pad,
               int dilation, int groups) {
    const int64_t out = hw + 2 * pad - dilation * (kernel - 1);
    fcnrt::Conv2dParams p;
    for (int& v : p.pads) v = pad;
    p.dilation[0] = p.dilation[1] = dilation;
    p.groups = groups;
    p.act.kind = fcnrt::Activation::Relu;
    run_cpu_benchmark(state,
                      {f32(1, c, hw, hw), f32(k, c / groups, kernel, kernel), f32(1, k, 1, 1),
                       out_f32(1, k, out, out)},
                      static_cast<double>(k) * (c / groups) * kernel * kernel * out * out,
                      [p](const Views& v) { fcnrt::cpu::conv2d(v[0], v[1], v[2].f32(), v[3], p); });
}

// conv_transpose2d: C -> K channels, k x k kernel, stride s, pad p, at H x W input; no bias.
void bm_conv_transpose2d(benchmark::State& state, int64_t c, int64_t k, int64_t hw, int kernel,
                         int stride, int pad) {
    const int64_t out = (hw - 1) * stride - 2 * pad + kernel;
    fcnrt::ConvTranspose2dParams p;
    p.stride[0] = p.stride[1] = stride;
    for (int& v : p.pads) v = pad;
    run_cpu_benchmark(
        state, {f32(1, c, hw, hw), f32(c, k, kernel, kernel), out_f32(1, k, out, out)},
        static_cast<double>(c) * k * kernel * kernel * hw * hw,
        [p](const Views& v) { fcnrt::cpu::conv_transpose2d(v[0], v[1], nullptr, v[2], p); });
}

// max_pool with int32 indices (written through a float32 tensor of the same size:
// the kernel only needs the memory; the view passed is I32).
void bm_max_pool(benchmark::State& state, int64_t c, int64_t hw, int kernel, int stride) {
    const int64_t out = (hw - kernel) / stride + 1;
    const fcnrt::Pool2dParams p = fcnrt::bench::pool_params(kernel, stride, 0, 1);
    run_cpu_benchmark(state, {f32(1, c, hw, hw), out_f32(1, c, out, out), out_f32(1, c, out, out)},
                      0, [p](const Views& v) {
                          View indices = v[2];
                          indices.dtype = DType::I32;
                          fcnrt::cpu::max_pool2d(v[0], v[1], indices, p);
                      });
}

// argmax over C channels at every pixel (fcnrt segment's last step), int32
// labels written through a float32 tensor of the same size.
void bm_argmax(benchmark::State& state, int64_t c, int64_t hw) {
    run_cpu_benchmark(state, {f32(1, c, hw, hw), out_f32(1, 1, hw, hw)}, 0, [](const Views& v) {
        View labels = v[1];
        labels.dtype = DType::I32;
        fcnrt::cpu::argmax(v[0], labels, 1);
    });
}

// /proc/cpuinfo's first "model name" (Linux), else "unknown".
// The machine's theoretical FP32 FMA peak, GFLOP/s: threads x clock x FMA
// lanes x 2, the lanes being the active ISA's vector width times two FMA
// units (every AVX2 and AVX-512 core the project runs on, Haswell/Zen 2 and
// later, issues two FMAs per cycle; a one-unit AVX-512 part is counted at
// twice its real peak). The clock is cpufreq's maximum when the kernel exposes
// it, else /proc/cpuinfo's current "cpu MHz" (a VM's nominal clock).
double fma_peak_gflops(int threads, double* ghz_out) {
    double mhz = 0;
    std::ifstream freq("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq");
    double khz = 0;
    if (freq >> khz && khz > 0) mhz = khz / 1000.0;
    if (mhz <= 0) {
        std::ifstream in("/proc/cpuinfo");
        std::string line;
        while (std::getline(in, line)) {
            if (line.rfind("cpu MHz", 0) == 0) {
                const size_t colon = line.find(':');
                if (colon != std::string::npos) mhz = std::atof(line.c_str() + colon + 1);
                break;
            }
        }
    }
    const std::string isa = fcnrt::cpu::active_micro_kernel().isa;
    const int lanes = isa == "avx512" ? 16 : isa == "avx2" ? 8 : 1;
    *ghz_out = mhz / 1000.0;
    return double(threads) * (mhz / 1000.0) * lanes * 2 /* FMA units */ * 2 /* flops per FMA */;
}

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("model name", 0) == 0) {
            const size_t colon = line.find(':');
            if (colon != std::string::npos)
                return line.substr(line.find_first_not_of(" \t", colon + 1));
        }
    }
    return "unknown";
}

void register_all(const std::vector<fcnrt::bench::SuiteCase>& suite, bool all_cases) {
    auto reg = [](const std::string& name, auto fn) {
        benchmark::RegisterBenchmark(name.c_str(), fn)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
    };
    using S = benchmark::State;
    // Roofs first: the share_of_roof of everything after uses them.
    reg("roof/copy", bm_roof_copy);
    reg("roof/sgemm", bm_roof_sgemm);
    reg("roof/fma", bm_roof_fma);
    for (const fcnrt::bench::SuiteCase& sc : suite) {
        if (sc.cpu || all_cases) reg("suite/" + sc.name, [sc](S& s) { bm_suite(s, sc); });
    }
    reg("conv2d/3x3_64to64_256x256_pad1", [](S& s) { bm_conv2d(s, 64, 64, 256, 3, 1, 1, 1); });
    reg("conv2d/3x3_64to64_256x256_dil16_pad16",
        [](S& s) { bm_conv2d(s, 64, 64, 256, 3, 16, 16, 1); });
    reg("conv2d/1x1_64to64_256x256", [](S& s) { bm_conv2d(s, 64, 64, 256, 1, 0, 1, 1); });
    reg("conv2d/3x3_3to64_256x256_pad1", [](S& s) { bm_conv2d(s, 3, 64, 256, 3, 1, 1, 1); });
    reg("conv2d/3x3_depthwise64_256x256_pad1",
        [](S& s) { bm_conv2d(s, 64, 64, 256, 3, 1, 1, 64); });
    reg("conv_transpose2d/2x2_s2_64to64_128to256",
        [](S& s) { bm_conv_transpose2d(s, 64, 64, 128, 2, 2, 0); });
    reg("conv_transpose2d/4x4_s2_p1_64to64_128to256",
        [](S& s) { bm_conv_transpose2d(s, 64, 64, 128, 4, 2, 1); });
    reg("max_pool/2x2_s2_64x256x256", [](S& s) { bm_max_pool(s, 64, 256, 2, 2); });
    reg("max_pool/3x3_s1_64x256x256", [](S& s) { bm_max_pool(s, 64, 256, 3, 1); });
    reg("max_pool/2x2_s2_64x1024x1024", [](S& s) { bm_max_pool(s, 64, 1024, 2, 2); });
    reg("argmax/c21_512x512", [](S& s) { bm_argmax(s, 21, 512); });
    reg("argmax/c21_1024x1024", [](S& s) { bm_argmax(s, 21, 1024); });
}

}  // namespace

int main(int argc, char** argv) {
    const fcnrt::bench::SuiteOptions suite_options = fcnrt::bench::take_suite_flags(&argc, argv);
    const std::string suite_file = fcnrt::bench::suite_path(suite_options, FCNRT_KERNEL_SUITE);
    std::vector<fcnrt::bench::SuiteCase> suite;
    try {
        suite = fcnrt::bench::load_suite(suite_file);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_cpu_kernels: error: %s\n", e.what());
        return 1;
    }
    long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
    if (l3 <= 0) l3 = 32L << 20;  // unknown: assume a server-sized L3
    g_env.rotation_bytes = std::max<int64_t>(kMinRotationBytes, kRotationL3Multiple * l3);
    const int64_t subset = std::count_if(suite.begin(), suite.end(),
                                         [](const fcnrt::bench::SuiteCase& s) { return s.cpu; });
    benchmark::AddCustomContext("kernel_suite", suite_file);
    benchmark::AddCustomContext(
        "kernel_suite_cases",
        std::to_string(suite_options.all_cases ? static_cast<int64_t>(suite.size()) : subset) +
            (suite_options.all_cases ? " (all)" : " (cpu subset)"));
    benchmark::AddCustomContext("cpu_model", cpu_model());
    double ghz = 0;
    g_env.fma_peak_gflops = fma_peak_gflops(omp_get_max_threads(), &ghz);
    benchmark::AddCustomContext(
        "fma_peak_gflops",
        std::to_string(g_env.fma_peak_gflops) + " (threads x " + std::to_string(ghz) +
            " GHz x " + fcnrt::cpu::active_micro_kernel().isa +
            " lanes x 2 FMA units x 2; share_of_fma_peak = GFLOPS / this)");
    benchmark::AddCustomContext("omp_threads", std::to_string(omp_get_max_threads()));
    benchmark::AddCustomContext("l3_bytes", std::to_string(l3));
    benchmark::AddCustomContext("rotation_bytes", std::to_string(g_env.rotation_bytes));
    benchmark::AddCustomContext("sgemm_roof",
                                std::string("fcnrt::cpu::sgemm 2048^3: the ") +
                                    fcnrt::cpu::active_micro_kernel().isa +
                                    " micro-kernel, column tiles over the OpenMP threads, as conv uses it");
    benchmark::AddCustomContext(
        "copy_roof", "memcpy 512 MiB, one chunk per OpenMP thread, bytes read + written");

    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    register_all(suite, suite_options.all_cases);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
