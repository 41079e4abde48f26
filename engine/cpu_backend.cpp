// The host backends: plain host memory, copies are memcpy, kernels run
// synchronously (the fast ones on OpenMP threads), so a stream timestamp is the
// clock read at once.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "engine/backend.h"
#include "engine/error.h"
#include "engine/graph.h"
#include "engine/ops/conv_ops.h"
#include "kernels/cpu/conv.h"
#include "kernels/cpu/gemm.h"

namespace fcnrt {

namespace {

using Clock = std::chrono::steady_clock;


class HostTimer final : public StreamTimer {
public:
    explicit HostTimer(size_t marks) : times_(marks) {}
    size_t marks() const override { return times_.size(); }
    void mark(size_t i) override { times_.at(i) = Clock::now(); }
    double elapsed_ms(size_t i, size_t j) const override {
        return std::chrono::duration<double, std::milli>(times_.at(j) - times_.at(i)).count();
    }

private:
    std::vector<Clock::time_point> times_;
};

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The FP32 rate of the fast path's own SGEMM (the active ISA's micro-kernel,
// column tiles spread over the OpenMP threads) on a 1024^3 product, best of 5. A measured rate, not a theoretical
// peak: the clock under load, the vector width and the cores' sharing make a
// formula unreliable on a (virtual) host.
double measure_sgemm_tflops() {
    const int64_t n = 1024;
    std::vector<float> a(size_t(n * n)), b(size_t(n * n)), c(size_t(n * n));
    for (size_t i = 0; i < a.size(); ++i) {
        a[i] = float(int(i % 7) - 3) * 0.25f;
        b[i] = float(int(i % 5) - 2) * 0.5f;
    }
    cpu::sgemm(n, n, n, a.data(), n, b.data(), n, c.data(), n);  // warm-up
    double best = 1e30;
    for (int rep = 0; rep < 5; ++rep) {
        const auto t0 = Clock::now();
        cpu::sgemm(n, n, n, a.data(), n, b.data(), n, c.data(), n);
        best = std::min(best, seconds_since(t0));
    }
    return 2.0 * double(n) * double(n) * double(n) / best / 1e12;
}

// Copy bandwidth of 256 MiB on all OpenMP threads, best of 3, counting the bytes
// read and the bytes written (as STREAM's copy does).
double measure_copy_gbs() {
    const size_t bytes = size_t(256) << 20;
    const size_t chunk = size_t(1) << 20;
    const int64_t chunks = int64_t(bytes / chunk);
    std::vector<char> src(bytes, 1), dst(bytes, 0);  // touched: no page faults while timed
    double best = 1e30;
    for (int rep = 0; rep < 3; ++rep) {
        const auto t0 = Clock::now();
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < chunks; ++i)
            std::memcpy(dst.data() + size_t(i) * chunk, src.data() + size_t(i) * chunk, chunk);
        best = std::min(best, seconds_since(t0));
    }
    return 2.0 * double(bytes) / best / 1e9;
}

class CpuBackend final : public Backend {
public:
    explicit CpuBackend(BackendKind kind) : kind_(kind) {}

    BackendKind kind() const override { return kind_; }
    std::string description() const override {
        if (kind_ == BackendKind::Reference) return "cpu reference (naive float64 kernels)";
        return "cpu (" + std::to_string(omp_get_max_threads()) + " threads)";
    }
    // The reference kernels are serial loops.
    int threads() const override {
        return kind_ == BackendKind::Reference ? 1 : omp_get_max_threads();
    }

    std::shared_ptr<void> allocate(size_t bytes, const std::string& what) override {
        const size_t rounded = (std::max<size_t>(bytes, 1) + 63) / 64 * 64;
        void* p = std::aligned_alloc(64, rounded);
        if (!p)
            throw Error("out of host memory: " + what + " needs " + std::to_string(bytes) + " bytes");
        return track(p, rounded, [](void* q) { std::free(q); });
    }
    void copy_to_device(void* dst, const void* src, size_t bytes) override {
        if (bytes) std::memcpy(dst, src, bytes);
    }
    void copy_to_host(void* dst, const void* src, size_t bytes) override {
        if (bytes) std::memcpy(dst, src, bytes);
    }
    void synchronize() override {}
    void* stream() override { return nullptr; }

    std::unique_ptr<StreamTimer> make_timer(size_t marks) override {
        return std::make_unique<HostTimer>(marks);
    }

    // Measured once per backend, on first use: both backends run on the same
    // cores, so the reference kernels are measured against the same host rates.
    DevicePeak peak() override {
        if (peak_.fp32_tflops > 0) return peak_;
        const int threads = omp_get_max_threads();
        char text[160];
        peak_.fp32_tflops = measure_sgemm_tflops();
        std::snprintf(text, sizeof text,
                      "measured: fcnrt SGEMM (%s micro-kernel) 1024^3 on %d thread%s, best of 5; "
                      "not a theoretical peak",
                      cpu::active_micro_kernel().isa, threads, threads == 1 ? "" : "s");
        peak_.fp32_source = text;
        peak_.memory_gbs = measure_copy_gbs();
        std::snprintf(text, sizeof text,
                      "measured: memcpy of 256 MiB on %d thread%s, read + written bytes, best of 3",
                      threads, threads == 1 ? "" : "s");
        peak_.memory_source = text;
        return peak_;
    }

    // The fast GEMM kernels' packing / C-block / col2im scratch (the largest any
    // node needs), per thread; the reference kernels keep none.
    size_t kernel_scratch_bytes(const Model& model) const override {
        if (kind_ == BackendKind::Reference) return 0;
        size_t per_thread = 0;
        for (const Node& n : model.graph.nodes) {
            const bool conv = n.op->name == "conv", transposed = n.op->name == "conv_transpose";
            const std::vector<const Tensor*> w = node_weights(model, n);
            if (n.op->name == "dense" && !w.empty() && w[0] != nullptr && !w[0]->shape().empty())
                per_thread = std::max(
                    per_thread, cpu::gemm_scratch_bytes(cpu::active_micro_kernel(), w[0]->shape()[0]));
            if (!conv && !transposed) continue;
            if (w.empty() || w[0] == nullptr || w[0]->shape().size() != 4) continue;
            const Shape& s = w[0]->shape();
            const int64_t groups = conv ? params_as<ops::ConvOp>(*n.params).k.groups
                                        : params_as<ops::ConvTransposeOp>(*n.params).k.groups;
            // conv: [K, C/g, kh, kw]; conv_transpose: [C, K/g, kh, kw]
            per_thread = std::max(
                per_thread, conv ? cpu::conv2d_scratch_bytes(s[1], s[0] / groups, s[2], s[3])
                                 : cpu::conv_transpose2d_scratch_bytes(s[0] / groups, s[1], s[2], s[3]));
        }
        return size_t(threads()) * per_thread;
    }

private:
    BackendKind kind_;
    DevicePeak peak_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(BackendKind kind) {
    return std::make_unique<CpuBackend>(kind);
}

}  // namespace fcnrt
