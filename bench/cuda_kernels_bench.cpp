// Google Benchmark timings of every CUDA kernel entry point (kernels/cuda/*.h) at
// segmentation-net sizes, the fixed kernel suite (bench/kernel_suite.json,
// "suite/<name>") and the two roofs it is measured against ("roof/...").
//
// Method (.library/device/METHOD.md): every benchmark allocates S sets of all its
// tensors (inputs, weights and outputs), S chosen so that the sets together exceed
// kRotationL2Multiple times the device's L2 (at least kMinRotationBytes), so each call
// reads its inputs from device memory, not from the cache. One timed iteration is one
// pass over the S sets (S calls, one per set), captured once into a CUDA graph when the
// entry point allows it (shrinks the launch gaps of microsecond kernels; falls back to
// plain launches, counter "graph" = 0) and bracketed by cudaEvents; the iteration time
// reported (UseManualTime) is that elapsed time / S, the mean time of one call. Warm-up:
// two untimed passes. Counters, per call: "GFLOPS" = 2 * multiply-adds / s for the
// convolutions and dense, "GB/s" = (bytes read + bytes written, each tensor once) / s
// for all, plus per call "flop" and "bytes" and "share_of_roof" (bench/kernel_suite.h).
// Inputs are uniform random in [-1, 1), fixed seed; never zeros.
//
// Roofs, registered first so that they run first and every later benchmark's
// share_of_roof uses them (the best of their repetitions):
//   roof/copy_d2d     cudaMemcpyAsync device to device of 512 MiB (10x the L2 of an
//                     H100/H200), through the same rotation; GB/s = bytes read + written.
//   roof/sgemm_cublas cublasSgemm 8192^3 in CUBLAS_DEFAULT_MATH: strict float32 on the
//                     CUDA cores (no TF32, which needs CUBLAS_TF32_TENSOR_OP_MATH), the
//                     arithmetic fcnrt's kernels do; GFLOPS = 2 * 8192^3 / s.
//
// Suite: the cases of bench/kernel_suite.json (--suite=FILE, else
// $FCNRT_SOURCE_DIR/bench/kernel_suite.json, else the source tree's), all of them.
// Convolutions there have a bias and no activation, like PyTorch's conv2d.
//
// Dilation: conv2d_3x3_*_dil16_pad16 has the same shapes as its _dil1_pad1 twin; their
// GFLOPS ratio is the dilation penalty (the implicit GEMM aims at >= 0.7).
//
// Precisions: --precisions=LIST (comma-separated of fp32, tf32, bf16, fp16; default all
// four). fp32 is the suite as above ("suite/<name>", cuda::conv2d and
// cuda::conv_transpose2d). Each tensor-core format adds, for every conv and
// conv_transpose case of the suite, "suite-<precision>/<name>": the tensor-core kernel
// (kernels/cuda/conv_tensor_core.h), its weights rounded and packed once per set in the
// untimed warm-up, as the executor packs them at load. Depthwise cases have no
// tensor-core kernel (the executor runs them in fp32) and are not repeated. The
// "suite-" prefix keeps them out of bench/run_kernel_suite.sh's "^suite/" runs and its
// PyTorch comparison; tools/gpu-check.sh runs them in its every-kernel step. Their
// "bytes" counter counts the float32 tensors (a packed bf16/fp16 weight is half that).
//
// Without a usable device the binary prints "no usable CUDA device: <reason>" and exits 0.
// Run: bench_cuda_kernels --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// The suite alone: bench/run_kernel_suite.sh BUILD_DIR cuda OUT_DIR.
#include <benchmark/benchmark.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "bench/kernel_suite.h"
#include "kernels/cuda/concat.h"
#include "kernels/cuda/conv.h"
#include "kernels/cuda/conv_tensor_core.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/dense.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/layout.h"
#include "kernels/cuda/pool.h"
#include "kernels/cuda/resize.h"
#include "kernels/cuda/softmax.h"

namespace {

using fcnrt::Activation;
using fcnrt::ActivationParams;
using fcnrt::DType;
using fcnrt::View;

constexpr int64_t kMinRotationBytes = int64_t{256} << 20;
constexpr int64_t kRotationL2Multiple = 4;
constexpr int64_t kMaxSets = 512;
constexpr int kWarmupPasses = 2;

int64_t g_rotation_bytes = kMinRotationBytes;  // set in main from the device's L2 size
fcnrt::bench::Roofs g_roofs;                   // raised by the roof/ benchmarks

// One tensor of a benchmark: its shape, type and initial contents.
struct TensorSpec {
    int64_t n = 1, c = 1, h = 1, w = 1;
    DType dtype = DType::F32;
    std::vector<int32_t> i32_init;  // I32 contents; empty: zeros
    bool random = true;             // F32: uniform [-1, 1) (false: zeros, for outputs)
    int64_t numel() const { return n * c * h * w; }
    int64_t bytes() const { return numel() * 4; }
};

TensorSpec spec(int64_t n, int64_t c, int64_t h, int64_t w, DType dtype, bool random) {
    TensorSpec t;
    t.n = n;
    t.c = c;
    t.h = h;
    t.w = w;
    t.dtype = dtype;
    t.random = random;
    return t;
}
TensorSpec f32(int64_t n, int64_t c, int64_t h, int64_t w) {
    return spec(n, c, h, w, DType::F32, true);
}
TensorSpec out_f32(int64_t n, int64_t c, int64_t h, int64_t w) {
    return spec(n, c, h, w, DType::F32, false);
}
TensorSpec i32(int64_t n, int64_t c, int64_t h, int64_t w, std::vector<int32_t> init = {}) {
    TensorSpec t = spec(n, c, h, w, DType::I32, false);
    t.i32_init = std::move(init);
    return t;
}

struct DeviceMemory {
    void* ptr = nullptr;
    explicit DeviceMemory(size_t bytes) {
        CUDA_CHECK(cudaMalloc(&ptr, std::max<size_t>(bytes, 4)));
    }
    ~DeviceMemory() { cudaFree(ptr); }
    DeviceMemory(const DeviceMemory&) = delete;
    DeviceMemory& operator=(const DeviceMemory&) = delete;
};

struct Stream {
    cudaStream_t s = nullptr;
    Stream() { CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking)); }
    ~Stream() { cudaStreamDestroy(s); }
};

struct Event {
    cudaEvent_t e = nullptr;
    Event() { CUDA_CHECK(cudaEventCreate(&e)); }
    ~Event() { cudaEventDestroy(e); }
};

struct Graph {
    cudaGraph_t graph = nullptr;
    cudaGraphExec_t exec = nullptr;
    ~Graph() {
        if (exec) cudaGraphExecDestroy(exec);
        if (graph) cudaGraphDestroy(graph);
    }
};

// The views of one set, in TensorSpec order.
using Views = std::vector<View>;
// Enqueues one call of the kernel under test on `stream`.
using Call = std::function<void(const Views&, cudaStream_t)>;

// Records one pass (one call per set) into `g`; false if the entry point cannot be
// captured (it synchronises, allocates, ...), with the stream left usable.
bool capture_pass(const std::vector<Views>& sets, const Call& call, cudaStream_t stream, Graph* g) {
    if (cudaStreamBeginCapture(stream, cudaStreamCaptureModeRelaxed) != cudaSuccess) {
        cudaGetLastError();
        return false;
    }
    bool ok = true;
    try {
        for (const Views& v : sets) call(v, stream);
    } catch (const std::exception&) {
        ok = false;
    }
    const cudaError_t end = cudaStreamEndCapture(stream, &g->graph);
    if (!ok || end != cudaSuccess ||
        cudaGraphInstantiate(&g->exec, g->graph, nullptr, nullptr, 0) != cudaSuccess) {
        cudaGetLastError();  // clear the capture error; the stream is usable again
        return false;
    }
    return true;
}

// The harness described at the top of the file. Returns the mean seconds of one
// call (< 0 after an error). `bytes` < 0: every tensor of a set counted once.
// `is_roof`: no share_of_roof (the caller raises the roof with the result).
double run_cuda_benchmark(benchmark::State& state, const std::vector<TensorSpec>& specs,
                          double macs, const Call& call, double bytes = -1.0,
                          bool is_roof = false) {
    try {
        int64_t set_bytes = 0;
        for (const TensorSpec& t : specs) set_bytes += t.bytes();
        const int64_t num_sets =
            std::clamp<int64_t>((g_rotation_bytes + set_bytes - 1) / set_bytes, 2, kMaxSets);

        // Host contents, shared by every set (they differ in address, which is what defeats L2).
        std::mt19937 rng(12345);
        std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
        std::vector<std::vector<uint8_t>> host(specs.size());
        for (size_t i = 0; i < specs.size(); ++i) {
            const TensorSpec& t = specs[i];
            host[i].assign(static_cast<size_t>(t.bytes()), 0);
            if (t.dtype == DType::F32 && t.random) {
                auto* f = reinterpret_cast<float*>(host[i].data());
                for (int64_t k = 0; k < t.numel(); ++k) f[k] = uniform(rng);
            } else if (t.dtype == DType::I32 && !t.i32_init.empty()) {
                std::copy(t.i32_init.begin(), t.i32_init.end(),
                          reinterpret_cast<int32_t*>(host[i].data()));
            }
        }

        std::vector<std::unique_ptr<DeviceMemory>> memory;
        std::vector<Views> sets(static_cast<size_t>(num_sets));
        for (Views& views : sets) {
            for (size_t i = 0; i < specs.size(); ++i) {
                const TensorSpec& t = specs[i];
                memory.push_back(std::make_unique<DeviceMemory>(static_cast<size_t>(t.bytes())));
                CUDA_CHECK(cudaMemcpy(memory.back()->ptr, host[i].data(), host[i].size(),
                                      cudaMemcpyHostToDevice));
                views.push_back(fcnrt::make_view(memory.back()->ptr, t.dtype, t.n, t.c, t.h, t.w));
            }
        }

        Stream stream;
        for (int pass = 0; pass < kWarmupPasses; ++pass) {
            for (const Views& v : sets) call(v, stream.s);
        }
        CUDA_CHECK(cudaStreamSynchronize(stream.s));

        Graph graph;
        const bool use_graph = capture_pass(sets, call, stream.s, &graph);
        if (use_graph) CUDA_CHECK(cudaGraphLaunch(graph.exec, stream.s));  // warm the graph
        CUDA_CHECK(cudaStreamSynchronize(stream.s));

        Event start, stop;
        double total_seconds = 0;
        for (auto _ : state) {
            CUDA_CHECK(cudaEventRecord(start.e, stream.s));
            if (use_graph) {
                CUDA_CHECK(cudaGraphLaunch(graph.exec, stream.s));
            } else {
                for (const Views& v : sets) call(v, stream.s);
            }
            CUDA_CHECK(cudaEventRecord(stop.e, stream.s));
            CUDA_CHECK(cudaEventSynchronize(stop.e));
            float ms = 0.0f;
            CUDA_CHECK(cudaEventElapsedTime(&ms, start.e, stop.e));
            const double seconds = ms / 1e3 / static_cast<double>(num_sets);
            state.SetIterationTime(seconds);
            total_seconds += seconds;
        }
        CUDA_CHECK(cudaGetLastError());

        const double per_call =
            total_seconds /
            static_cast<double>(std::max<benchmark::IterationCount>(state.iterations(), 1));
        if (bytes < 0) bytes = static_cast<double>(set_bytes);
        fcnrt::bench::set_counters(state, macs, bytes, per_call, g_roofs, !is_roof);
        state.counters["sets"] = static_cast<double>(num_sets);
        state.counters["graph"] = use_graph ? 1.0 : 0.0;
        return per_call;
    } catch (const std::exception& e) {
        state.SkipWithError(e.what());
        return -1.0;
    }
}

ActivationParams relu() {
    ActivationParams a;
    a.kind = Activation::Relu;
    return a;
}

// ---- convolutions ----

// conv2d on one image: C -> K channels, k x k kernel, stride, symmetric pad, dilation,
// groups; bias and ReLU fused as the engine runs them.
void bm_conv2d(benchmark::State& state, int64_t c, int64_t k, int64_t hw, int kernel, int stride,
               int pad, int dilation, int groups) {
    const int64_t out = (hw + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1;
    fcnrt::Conv2dParams p;
    p.stride[0] = p.stride[1] = stride;
    for (int& v : p.pads) v = pad;
    p.dilation[0] = p.dilation[1] = dilation;
    p.groups = groups;
    p.act = relu();
    // x (1, C, H, W); weight (K, C/groups, k, k); bias (K); y (1, K, OH, OW)
    const std::vector<TensorSpec> specs = {f32(1, c, hw, hw), f32(k, c / groups, kernel, kernel),
                                           f32(1, k, 1, 1), out_f32(1, k, out, out)};
    const double macs = static_cast<double>(k) * (c / groups) * kernel * kernel * out * out;
    run_cuda_benchmark(state, specs, macs, [p](const Views& v, cudaStream_t s) {
        fcnrt::cuda::conv2d(v[0], v[1], v[2].f32(), v[3], p, s);
    });
}

// conv_transpose2d: C -> K channels, k x k kernel, stride, pad, at H x W input.
void bm_conv_transpose2d(benchmark::State& state, int64_t c, int64_t k, int64_t hw, int kernel,
                         int stride, int pad) {
    const int64_t out = (hw - 1) * stride - 2 * pad + kernel;
    fcnrt::ConvTranspose2dParams p;
    p.stride[0] = p.stride[1] = stride;
    for (int& v : p.pads) v = pad;
    p.act = relu();
    // x (1, C, H, W); weight (C, K, k, k); bias (K); y (1, K, OH, OW)
    const std::vector<TensorSpec> specs = {f32(1, c, hw, hw), f32(c, k, kernel, kernel),
                                           f32(1, k, 1, 1), out_f32(1, k, out, out)};
    const double macs = static_cast<double>(c) * k * kernel * kernel * hw * hw;
    run_cuda_benchmark(state, specs, macs, [p](const Views& v, cudaStream_t s) {
        fcnrt::cuda::conv_transpose2d(v[0], v[1], v[2].f32(), v[3], p, s);
    });
}

// dense: x (N, F) -> y (N, out), weight (out, F).
void bm_dense(benchmark::State& state, int64_t batch, int64_t in, int64_t out) {
    const std::vector<TensorSpec> specs = {f32(batch, in, 1, 1), f32(out, in, 1, 1),
                                           f32(1, out, 1, 1), out_f32(batch, out, 1, 1)};
    run_cuda_benchmark(state, specs, static_cast<double>(batch) * in * out,
                       [](const Views& v, cudaStream_t s) {
                           fcnrt::cuda::dense(v[0], v[1], v[2].f32(), v[3], relu(), s);
                       });
}

// ---- pooling ----

int64_t pool_out(int64_t hw, const fcnrt::Pool2dParams& p) {
    return (hw + 2 * p.pads[0] - p.dilation[0] * (p.kernel[0] - 1) - 1) / p.stride[0] + 1;
}

void bm_max_pool2d(benchmark::State& state, int64_t c, int64_t hw, int kernel, int stride, int pad,
                   int dilation, bool with_indices) {
    const fcnrt::Pool2dParams p = fcnrt::bench::pool_params(kernel, stride, pad, dilation);
    const int64_t out = pool_out(hw, p);
    std::vector<TensorSpec> specs = {f32(1, c, hw, hw), out_f32(1, c, out, out)};
    if (with_indices) specs.push_back(i32(1, c, out, out));
    run_cuda_benchmark(state, specs, 0, [p, with_indices](const Views& v, cudaStream_t s) {
        fcnrt::cuda::max_pool2d(v[0], v[1], with_indices ? v[2] : View{}, p, s);
    });
}

void bm_avg_pool2d(benchmark::State& state, int64_t c, int64_t hw, int kernel, int stride,
                   int pad) {
    const fcnrt::Pool2dParams p = fcnrt::bench::pool_params(kernel, stride, pad, 1);
    const int64_t out = pool_out(hw, p);
    run_cuda_benchmark(
        state, {f32(1, c, hw, hw), out_f32(1, c, out, out)}, 0,
        [p](const Views& v, cudaStream_t s) { fcnrt::cuda::avg_pool2d(v[0], v[1], p, s); });
}

void bm_global_avg_pool(benchmark::State& state, int64_t c, int64_t hw) {
    run_cuda_benchmark(
        state, {f32(1, c, hw, hw), out_f32(1, c, 1, 1)}, 0,
        [](const Views& v, cudaStream_t s) { fcnrt::cuda::global_avg_pool(v[0], v[1], s); });
}

// max_unpool2d 2x2 of a (C, hw, hw) input into (C, 2hw, 2hw), with indices a 2x2 max
// pool could have produced (one position per window, varying inside the window).
void bm_max_unpool2d(benchmark::State& state, int64_t c, int64_t hw) {
    const int64_t out = 2 * hw;
    std::vector<int32_t> indices(static_cast<size_t>(c * hw * hw));
    for (int64_t ch = 0; ch < c; ++ch) {
        for (int64_t y = 0; y < hw; ++y) {
            for (int64_t x = 0; x < hw; ++x) {
                const int64_t iy = 2 * y + (x + y + ch) % 2, ix = 2 * x + (x + ch) % 2;
                indices[static_cast<size_t>((ch * hw + y) * hw + x)] =
                    static_cast<int32_t>(iy * out + ix);
            }
        }
    }
    run_cuda_benchmark(
        state, {f32(1, c, hw, hw), i32(1, c, hw, hw, std::move(indices)), out_f32(1, c, out, out)},
        0, [](const Views& v, cudaStream_t s) { fcnrt::cuda::max_unpool2d(v[0], v[1], v[2], s); });
}

// ---- elementwise, copies, layout ----

void bm_activation(benchmark::State& state, int64_t c, int64_t hw) {
    run_cuda_benchmark(
        state, {f32(1, c, hw, hw), out_f32(1, c, hw, hw)}, 0,
        [](const Views& v, cudaStream_t s) { fcnrt::cuda::activation(v[0], v[1], relu(), s); });
}

void bm_binary_add(benchmark::State& state, int64_t c, int64_t hw) {
    fcnrt::BinaryParams p;
    p.op = fcnrt::BinaryOp::Add;
    p.act = relu();
    run_cuda_benchmark(
        state, {f32(1, c, hw, hw), f32(1, c, hw, hw), out_f32(1, c, hw, hw)}, 0,
        [p](const Views& v, cudaStream_t s) { fcnrt::cuda::binary(v[0], v[1], v[2], p, s); });
}

void bm_batch_norm(benchmark::State& state, int64_t c, int64_t hw) {
    // x, scale, bias, mean, var, y; var is uniform [-1, 1) like the rest, so epsilon 2
    // keeps var + epsilon positive (the timing does not depend on the values).
    std::vector<TensorSpec> specs = {f32(1, c, hw, hw), f32(1, c, 1, 1), f32(1, c, 1, 1),
                                     f32(1, c, 1, 1),   f32(1, c, 1, 1), out_f32(1, c, hw, hw)};
    run_cuda_benchmark(state, specs, 0, [](const Views& v, cudaStream_t s) {
        fcnrt::cuda::batch_norm(v[0], v[1].f32(), v[2].f32(), v[3].f32(), v[4].f32(), 2.0f, fcnrt::ActivationParams{}, v[5],
                                s);
    });
}

void bm_copy(benchmark::State& state, int64_t c, int64_t hw) {
    run_cuda_benchmark(state, {f32(1, c, hw, hw), out_f32(1, c, hw, hw)}, 0,
                       [](const Views& v, cudaStream_t s) { fcnrt::cuda::copy(v[0], v[1], s); });
}

// concat_copy of x (1, C, hw, hw) into channels [C, 2C) of y (1, 2C, hw, hw).
// Bytes counted: x read + its slice of y written (the other half is not touched).
void bm_concat_copy(benchmark::State& state, int64_t c, int64_t hw) {
    run_cuda_benchmark(
        state, {f32(1, c, hw, hw), out_f32(1, 2 * c, hw, hw)}, 0,
        [c](const Views& v, cudaStream_t s) { fcnrt::cuda::concat_copy(v[0], v[1], 1, c, s); },
        2.0 * static_cast<double>(c * hw * hw) * 4);
}

void bm_crop(benchmark::State& state, int64_t c, int64_t hw, int64_t border) {
    const int64_t out = hw - 2 * border;
    run_cuda_benchmark(state, {f32(1, c, hw, hw), out_f32(1, c, out, out)}, 0,
                       [border](const Views& v, cudaStream_t s) {
                           fcnrt::cuda::crop(v[0], v[1], border, border, s);
                       });
}

void bm_pad(benchmark::State& state, int64_t c, int64_t hw, int border, fcnrt::PadMode mode) {
    fcnrt::PadParams p;
    for (int& v : p.pads) v = border;
    p.mode = mode;
    const int64_t out = hw + 2 * border;
    run_cuda_benchmark(state, {f32(1, c, hw, hw), out_f32(1, c, out, out)}, 0,
                       [p](const Views& v, cudaStream_t s) { fcnrt::cuda::pad(v[0], v[1], p, s); });
}

// ---- softmax, argmax, resize ----

void bm_softmax(benchmark::State& state, int64_t c, int64_t hw) {
    run_cuda_benchmark(
        state, {f32(1, c, hw, hw), out_f32(1, c, hw, hw)}, 0,
        [](const Views& v, cudaStream_t s) { fcnrt::cuda::softmax(v[0], v[1], 1, s); });
}

void bm_argmax(benchmark::State& state, int64_t c, int64_t hw) {
    run_cuda_benchmark(
        state, {f32(1, c, hw, hw), i32(1, 1, hw, hw)}, 0,
        [](const Views& v, cudaStream_t s) { fcnrt::cuda::argmax(v[0], v[1], 1, s); });
}

// resize x2 of (C, hw, hw) with scale 2 (coord_scale 1/2, as PyTorch's scale_factor=2).
void bm_resize_x2(benchmark::State& state, int64_t c, int64_t hw, fcnrt::ResizeMode mode) {
    fcnrt::ResizeParams p;
    p.mode = mode;
    p.align_corners = false;
    p.coord_scale[0] = p.coord_scale[1] = 0.5;
    run_cuda_benchmark(
        state, {f32(1, c, hw, hw), out_f32(1, c, 2 * hw, 2 * hw)}, 0,
        [p](const Views& v, cudaStream_t s) { fcnrt::cuda::resize(v[0], v[1], p, s); });
}

// ---- roofs ----

// 512 MiB copied device to device: 10x the L2 of an H100 or H200.
void bm_roof_copy_d2d(benchmark::State& state) {
    constexpr int64_t kFloats = int64_t{128} << 20;
    const double bytes = 2.0 * kFloats * 4;  // read + written
    const double seconds = run_cuda_benchmark(
        state, {f32(1, 1, 1, kFloats), out_f32(1, 1, 1, kFloats)}, 0,
        [](const Views& v, cudaStream_t s) {
            CUDA_CHECK(cudaMemcpyAsync(v[1].data, v[0].data, static_cast<size_t>(kFloats) * 4,
                                       cudaMemcpyDeviceToDevice, s));
        },
        bytes, true);
    if (seconds > 0) g_roofs.note_bandwidth(bytes / seconds / 1e9);
}

void cublas_check(cublasStatus_t status, const char* what) {
    if (status != CUBLAS_STATUS_SUCCESS) {
        throw std::runtime_error(std::string("cuBLAS error ") +
                                 std::to_string(static_cast<int>(status)) + " in " + what);
    }
}

struct CublasHandle {
    cublasHandle_t h = nullptr;
    CublasHandle() { cublas_check(cublasCreate(&h), "cublasCreate"); }
    ~CublasHandle() { cublasDestroy(h); }
    CublasHandle(const CublasHandle&) = delete;
    CublasHandle& operator=(const CublasHandle&) = delete;
};

// C = A B, 8192 x 8192 float32, strict FP32 (see the top of the file).
void bm_roof_sgemm_cublas(benchmark::State& state) {
    constexpr int kN = 8192;
    std::unique_ptr<CublasHandle> handle;
    try {
        handle = std::make_unique<CublasHandle>();
        cublas_check(cublasSetMathMode(handle->h, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
    } catch (const std::exception& e) {
        state.SkipWithError(e.what());
        return;
    }
    cublasHandle_t h = handle->h;
    const double macs = static_cast<double>(kN) * kN * kN;
    // A (N, N); B (N, N); C (N, N), column-major as cuBLAS reads them (square: no matter)
    const double seconds = run_cuda_benchmark(
        state, {f32(1, 1, kN, kN), f32(1, 1, kN, kN), out_f32(1, 1, kN, kN)}, macs,
        [h](const Views& v, cudaStream_t s) {
            const float one = 1.0f, zero = 0.0f;
            cublas_check(cublasSetStream(h, s), "cublasSetStream");
            cublas_check(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, kN, kN, kN, &one, v[0].f32(), kN,
                                     v[1].f32(), kN, &zero, v[2].f32(), kN),
                         "cublasSgemm");
        },
        -1.0, true);
    if (seconds > 0) g_roofs.note_compute(2.0 * macs / seconds / 1e9);
}

// ---- the kernel suite (bench/kernel_suite.json) ----

std::vector<fcnrt::Precision> g_precisions = {fcnrt::Precision::Fp32, fcnrt::Precision::Tf32,
                                              fcnrt::Precision::Bf16, fcnrt::Precision::Fp16};

// The packed weights of each set's weight tensor (by its device address), packed on
// the first call, which is in the untimed warm-up, outside any graph capture.
using PackedCache = std::map<void*, std::shared_ptr<const fcnrt::cuda::TensorCoreConvWeights>>;

// A suite conv or conv_transpose on the tensor cores at `precision`.
void bm_suite_tensor_core(benchmark::State& state, const fcnrt::bench::SuiteCase& sc,
                          fcnrt::Precision precision) {
    using fcnrt::bench::SuiteOp;
    const int64_t c = sc.c, k = sc.k, h = sc.h, o = sc.out_h;
    auto cache = std::make_shared<PackedCache>();
    std::vector<TensorSpec> specs;
    Call call;
    if (sc.op == SuiteOp::Conv2d) {
        const fcnrt::Conv2dParams p = fcnrt::bench::suite_conv2d_params(sc);
        specs = {f32(1, c, h, h), f32(k, c / sc.groups, sc.kernel, sc.kernel), f32(1, k, 1, 1),
                 out_f32(1, k, o, o)};
        call = [p, precision, cache](const Views& v, cudaStream_t s) {
            auto& packed = (*cache)[v[1].data];
            if (!packed) packed = fcnrt::cuda::pack_conv2d_weights_tensor_core(v[1], p.groups, precision);
            fcnrt::cuda::conv2d_tensor_core(v[0], v[1], *packed, v[2].f32(), v[3], p, s);
        };
    } else {
        const fcnrt::ConvTranspose2dParams p = fcnrt::bench::suite_conv_transpose2d_params(sc);
        specs = {f32(1, c, h, h), f32(c, k / sc.groups, sc.kernel, sc.kernel), f32(1, k, 1, 1),
                 out_f32(1, k, o, o)};
        call = [p, precision, cache](const Views& v, cudaStream_t s) {
            auto& packed = (*cache)[v[1].data];
            if (!packed)
                packed = fcnrt::cuda::pack_conv_transpose2d_weights_tensor_core(v[1], p.groups, precision);
            fcnrt::cuda::conv_transpose2d_tensor_core(v[0], v[1], *packed, v[2].f32(), v[3], p, s);
        };
    }
    run_cuda_benchmark(state, specs, sc.macs, call, sc.bytes);
}

// Whether a suite case has a tensor-core variant: conv and conv_transpose, not depthwise.
bool suite_has_tensor_core(const fcnrt::bench::SuiteCase& sc) {
    using fcnrt::bench::SuiteOp;
    if (sc.op != SuiteOp::Conv2d && sc.op != SuiteOp::ConvTranspose2d) return false;
    return !(sc.groups > 1 && sc.c == sc.groups && sc.k == sc.groups);
}

// Takes --precisions=LIST out of argv; false (with a message) on a bad list.
bool take_precisions_flag(int* argc, char** argv) {
    const std::string flag = "--precisions=";
    int out = 1;
    for (int i = 1; i < *argc; ++i) {
        const std::string a = argv[i];
        if (a.compare(0, flag.size(), flag) != 0) {
            argv[out++] = argv[i];
            continue;
        }
        g_precisions.clear();
        std::string list = a.substr(flag.size());
        size_t start = 0;
        while (start <= list.size()) {
            const size_t comma = std::min(list.find(',', start), list.size());
            fcnrt::Precision p;
            if (!fcnrt::parse_precision(list.substr(start, comma - start), &p)) {
                std::fprintf(stderr, "bench_cuda_kernels: error: bad precision in %s\n", a.c_str());
                return false;
            }
            g_precisions.push_back(p);
            start = comma + 1;
        }
    }
    *argc = out;
    return true;
}

void bm_suite(benchmark::State& state, const fcnrt::bench::SuiteCase& sc) {
    using fcnrt::bench::SuiteOp;
    const int64_t c = sc.c, k = sc.k, h = sc.h, o = sc.out_h;
    std::vector<TensorSpec> specs;
    Call call;
    switch (sc.op) {
        case SuiteOp::Conv2d: {
            const fcnrt::Conv2dParams p = fcnrt::bench::suite_conv2d_params(sc);
            // x (1, C, H, W); weight (K, C/groups, k, k); bias (K); y (1, K, OH, OW)
            specs = {f32(1, c, h, h), f32(k, c / sc.groups, sc.kernel, sc.kernel), f32(1, k, 1, 1),
                     out_f32(1, k, o, o)};
            call = [p](const Views& v, cudaStream_t s) {
                fcnrt::cuda::conv2d(v[0], v[1], v[2].f32(), v[3], p, s);
            };
            break;
        }
        case SuiteOp::ConvTranspose2d: {
            const fcnrt::ConvTranspose2dParams p = fcnrt::bench::suite_conv_transpose2d_params(sc);
            // x (1, C, H, W); weight (C, K/groups, k, k); bias (K); y (1, K, OH, OW)
            specs = {f32(1, c, h, h), f32(c, k / sc.groups, sc.kernel, sc.kernel), f32(1, k, 1, 1),
                     out_f32(1, k, o, o)};
            call = [p](const Views& v, cudaStream_t s) {
                fcnrt::cuda::conv_transpose2d(v[0], v[1], v[2].f32(), v[3], p, s);
            };
            break;
        }
        case SuiteOp::MaxPool2d:
        case SuiteOp::AvgPool2d: {
            const fcnrt::Pool2dParams p =
                fcnrt::bench::pool_params(sc.kernel, sc.stride, sc.pad, sc.dilation);
            specs = {f32(1, c, h, h), out_f32(1, c, o, o)};
            if (sc.op == SuiteOp::MaxPool2d) {
                call = [p](const Views& v, cudaStream_t s) {
                    fcnrt::cuda::max_pool2d(v[0], v[1], View{}, p, s);
                };
            } else {
                call = [p](const Views& v, cudaStream_t s) {
                    fcnrt::cuda::avg_pool2d(v[0], v[1], p, s);
                };
            }
            break;
        }
        case SuiteOp::Concat: {
            // inputs (1, C_i, H, W) ...; y (1, sum C_i, H, W)
            for (int64_t ci : sc.inputs) specs.push_back(f32(1, ci, h, h));
            specs.push_back(out_f32(1, c, h, h));
            call = [inputs = sc.inputs](const Views& v, cudaStream_t s) {
                int64_t offset = 0;
                for (size_t i = 0; i < inputs.size(); ++i) {
                    fcnrt::cuda::concat_copy(v[i], v.back(), 1, offset, s);
                    offset += inputs[i];
                }
            };
            break;
        }
        case SuiteOp::Softmax:
            specs = {f32(1, c, h, h), out_f32(1, c, h, h)};
            call = [](const Views& v, cudaStream_t s) { fcnrt::cuda::softmax(v[0], v[1], 1, s); };
            break;
        case SuiteOp::Resize: {
            const fcnrt::ResizeParams p = fcnrt::bench::suite_resize_params(sc);
            specs = {f32(1, c, h, h), out_f32(1, c, o, o)};
            call = [p](const Views& v, cudaStream_t s) { fcnrt::cuda::resize(v[0], v[1], p, s); };
            break;
        }
    }
    run_cuda_benchmark(state, specs, sc.macs, call, sc.bytes);
}

void register_all(const std::vector<fcnrt::bench::SuiteCase>& suite) {
    auto reg = [](const std::string& name, auto fn) {
        benchmark::RegisterBenchmark(name.c_str(), fn)
            ->UseManualTime()
            ->Unit(benchmark::kMicrosecond);
    };
    using S = benchmark::State;
    // Roofs first: the share_of_roof of everything after uses them.
    reg("roof/copy_d2d", bm_roof_copy_d2d);
    reg("roof/sgemm_cublas", bm_roof_sgemm_cublas);
    for (fcnrt::Precision precision : g_precisions) {
        for (const fcnrt::bench::SuiteCase& sc : suite) {
            if (precision == fcnrt::Precision::Fp32) {
                reg("suite/" + sc.name, [sc](S& s) { bm_suite(s, sc); });
            } else if (suite_has_tensor_core(sc)) {
                reg(std::string("suite-") + fcnrt::precision_name(precision) + "/" + sc.name,
                    [sc, precision](S& s) { bm_suite_tensor_core(s, sc, precision); });
            }
        }
    }

    // conv2d: name, C, K, HxW, kernel, stride, pad, dilation, groups
    struct ConvCase {
        const char* name;
        int64_t c, k, hw;
        int kernel, stride, pad, dilation, groups;
    };
    const ConvCase convs[] = {
        {"conv2d_3x3_64to64_256x256_dil1_pad1", 64, 64, 256, 3, 1, 1, 1, 1},
        {"conv2d_3x3_64to64_256x256_dil16_pad16", 64, 64, 256, 3, 1, 16, 16, 1},
        {"conv2d_3x3_512to512_64x64_dil1_pad1", 512, 512, 64, 3, 1, 1, 1, 1},
        {"conv2d_3x3_512to512_64x64_dil16_pad16", 512, 512, 64, 3, 1, 16, 16, 1},
        {"conv2d_3x3_s2_64to128_256x256_pad1", 64, 128, 256, 3, 2, 1, 1, 1},
        {"conv2d_1x1_64to64_256x256", 64, 64, 256, 1, 1, 0, 1, 1},
        {"conv2d_3x3_3to64_512x512_pad1", 3, 64, 512, 3, 1, 1, 1, 1},
        {"conv2d_3x3_depthwise64_256x256_pad1", 64, 64, 256, 3, 1, 1, 1, 64},
        {"conv2d_3x3_depthwise512_64x64_pad1", 512, 512, 64, 3, 1, 1, 1, 512},
    };
    for (const ConvCase& cc : convs) {
        reg(cc.name, [cc](S& s) {
            bm_conv2d(s, cc.c, cc.k, cc.hw, cc.kernel, cc.stride, cc.pad, cc.dilation, cc.groups);
        });
    }
    reg("conv_transpose2d_2x2_s2_64to32_128to256",
        [](S& s) { bm_conv_transpose2d(s, 64, 32, 128, 2, 2, 0); });
    reg("conv_transpose2d_4x4_s2_p1_64to64_128to256",
        [](S& s) { bm_conv_transpose2d(s, 64, 64, 128, 4, 2, 1); });
    reg("dense_1024to1024_batch1", [](S& s) { bm_dense(s, 1, 1024, 1024); });
    reg("dense_1024to1024_batch256", [](S& s) { bm_dense(s, 256, 1024, 1024); });

    reg("max_pool2d_2x2_s2_64x256x256", [](S& s) { bm_max_pool2d(s, 64, 256, 2, 2, 0, 1, false); });
    reg("max_pool2d_2x2_s2_64x256x256_indices",
        [](S& s) { bm_max_pool2d(s, 64, 256, 2, 2, 0, 1, true); });
    reg("max_pool2d_3x3_s1_dil2_pad2_64x256x256",
        [](S& s) { bm_max_pool2d(s, 64, 256, 3, 1, 2, 2, false); });
    reg("avg_pool2d_3x3_s1_pad1_64x256x256", [](S& s) { bm_avg_pool2d(s, 64, 256, 3, 1, 1); });
    reg("global_avg_pool_512x64x64", [](S& s) { bm_global_avg_pool(s, 512, 64); });
    reg("max_unpool2d_2x2_64x128to256", [](S& s) { bm_max_unpool2d(s, 64, 128); });

    reg("activation_relu_64x256x256", [](S& s) { bm_activation(s, 64, 256); });
    reg("binary_add_relu_64x256x256", [](S& s) { bm_binary_add(s, 64, 256); });
    reg("batch_norm_64x256x256", [](S& s) { bm_batch_norm(s, 64, 256); });
    reg("copy_64x256x256", [](S& s) { bm_copy(s, 64, 256); });
    reg("concat_copy_64into128x256x256", [](S& s) { bm_concat_copy(s, 64, 256); });
    reg("crop_64x256x256_by8", [](S& s) { bm_crop(s, 64, 256, 8); });
    reg("pad_reflect_64x256x256_by8", [](S& s) { bm_pad(s, 64, 256, 8, fcnrt::PadMode::Reflect); });
    reg("pad_constant_64x256x256_by8",
        [](S& s) { bm_pad(s, 64, 256, 8, fcnrt::PadMode::Constant); });

    reg("softmax_21x512x512", [](S& s) { bm_softmax(s, 21, 512); });
    reg("argmax_21x512x512", [](S& s) { bm_argmax(s, 21, 512); });
    reg("resize_bilinear_x2_64x128to256",
        [](S& s) { bm_resize_x2(s, 64, 128, fcnrt::ResizeMode::Bilinear); });
    reg("resize_nearest_x2_64x128to256",
        [](S& s) { bm_resize_x2(s, 64, 128, fcnrt::ResizeMode::Nearest); });
}

// Empty when a device can run kernels; otherwise why not.
std::string device_problem(cudaDeviceProp* prop) {
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) return cudaGetErrorString(err);
    if (count == 0) return "no CUDA device found";
    if ((err = cudaSetDevice(0)) != cudaSuccess) return cudaGetErrorString(err);
    if ((err = cudaFree(nullptr)) != cudaSuccess)
        return cudaGetErrorString(err);  // creates the context
    if ((err = cudaGetDeviceProperties(prop, 0)) != cudaSuccess) return cudaGetErrorString(err);
    return "";
}

}  // namespace

int main(int argc, char** argv) {
    // The suite is read before the device is looked at, so that a bad suite file is
    // reported on any machine.
    const fcnrt::bench::SuiteOptions suite_options = fcnrt::bench::take_suite_flags(&argc, argv);
    const std::string suite_file = fcnrt::bench::suite_path(suite_options, FCNRT_KERNEL_SUITE);
    if (!take_precisions_flag(&argc, argv)) return 1;
    std::vector<fcnrt::bench::SuiteCase> suite;
    try {
        suite = fcnrt::bench::load_suite(suite_file);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_cuda_kernels: error: %s\n", e.what());
        return 1;
    }
    bool list_only = false;  // --benchmark_list_tests registers and prints names: no device needed
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--benchmark_list_tests" || a == "--benchmark_list_tests=true") list_only = true;
    }

    cudaDeviceProp prop{};
    const std::string problem = device_problem(&prop);
    if (!problem.empty() && !list_only) {
        std::printf("no usable CUDA device: %s\n", problem.c_str());
        return 0;
    }
    if (problem.empty()) {
        g_rotation_bytes =
            std::max<int64_t>(kMinRotationBytes, kRotationL2Multiple * prop.l2CacheSize);
        benchmark::AddCustomContext("cuda_device", prop.name);
        benchmark::AddCustomContext("cuda_sm_count", std::to_string(prop.multiProcessorCount));
        benchmark::AddCustomContext("cuda_l2_bytes", std::to_string(prop.l2CacheSize));
        benchmark::AddCustomContext("rotation_bytes", std::to_string(g_rotation_bytes));
    }
    benchmark::AddCustomContext("kernel_suite", suite_file);
    benchmark::AddCustomContext("kernel_suite_cases", std::to_string(suite.size()));
    benchmark::AddCustomContext("sgemm_roof",
                                "cublasSgemm 8192^3, CUBLAS_DEFAULT_MATH (strict FP32, no TF32)");
    benchmark::AddCustomContext("copy_roof",
                                "cudaMemcpyAsync device to device, 512 MiB, bytes read + written");

    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    register_all(suite);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
