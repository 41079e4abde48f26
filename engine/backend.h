// What the executor needs of a device: memory, copies, a stream, timestamps on
// that stream, and which of an op's kernels to run. The CPU backends (reference
// and fast) and the CUDA backend implement it; the executor never changes for a
// new backend.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "engine/op_registry.h"

namespace fcnrt {

struct Model;

// Timestamps taken in stream order: mark(i) records when the work enqueued before
// it has finished (CUDA: an event recorded on the stream; host backends run
// kernels synchronously, so the clock is read at once). Made once, outside any
// timed loop, and reusable: marking a slot again overwrites it. Read
// elapsed_ms(i, j) only after the backend's synchronize().
class StreamTimer {
public:
    virtual ~StreamTimer() = default;
    virtual size_t marks() const = 0;
    virtual void mark(size_t i) = 0;
    // Milliseconds from mark i to mark j.
    virtual double elapsed_ms(size_t i, size_t j) const = 0;
};

// The device's peak rates, for "share of peak" figures; 0 when unknown. The
// sources say how each number was obtained (theoretical from the device's
// attributes, or measured).
struct DevicePeak {
    double fp32_tflops = 0;
    std::string fp32_source;
    double memory_gbs = 0;  // GB/s, 1e9 bytes per second
    std::string memory_source;
};

// Device work recorded once and replayed as a whole (a CUDA graph): one launch
// instead of one per kernel. Replaying enqueues exactly the recorded work, with the
// same pointers and parameters, on the backend's stream.
class CapturedWork {
public:
    virtual ~CapturedWork() = default;
    virtual void replay() = 0;
};

class Backend {
public:
    virtual ~Backend() = default;

    virtual BackendKind kind() const = 0;
    // One line for humans: "cpu (2 threads)", "cuda: NVIDIA H100 80GB HBM3".
    virtual std::string description() const = 0;
    // Threads the host kernels use (OpenMP's pool); 1 for a device backend's host side.
    virtual int threads() const = 0;

    // Device memory freed when the last holder goes. Throws fcnrt::Error naming
    // `what` and the bytes when the device has not enough.
    virtual std::shared_ptr<void> allocate(size_t bytes, const std::string& what) = 0;
    virtual void copy_to_device(void* device_dst, const void* host_src, size_t bytes) = 0;
    virtual void copy_to_host(void* host_dst, const void* device_src, size_t bytes) = 0;
    // Enqueued work done; errors from it surface here.
    virtual void synchronize() = 0;
    virtual void* stream() = 0;

    // A timer with `marks` slots on this backend's stream (all resources it needs
    // are made here, none in mark()).
    virtual std::unique_ptr<StreamTimer> make_timer(size_t marks) = 0;
    // Peak FP32 and memory rates. May take a moment (the host backends measure
    // them on first use), so only benchmarks ask.
    virtual DevicePeak peak() = 0;

    // Records what `enqueue` puts on stream() without running it, for replay
    // (CUDA: stream capture into a graph). The host backends run kernels as they
    // are called, so there is nothing to record: they return nullptr and the
    // caller enqueues directly. Throws what `enqueue` throws (the capture ends).
    virtual std::unique_ptr<CapturedWork> capture(const std::function<void()>& enqueue) {
        (void)enqueue;
        return nullptr;
    }

    // Free device memory now, for default memory budgets; 0 for the host
    // backends (whose budget comes from the host's RAM).
    virtual size_t free_device_bytes() { return 0; }

    // Host memory the kernels keep for themselves while running `model`, beyond
    // what allocate() hands out: per-thread scratch, kept between calls, whatever
    // the input size. Memory budgets (fcnrt segment --max-memory) set it aside.
    // Scratch that grows with the input is counted per shape instead
    // (MemoryPlan::host_scratch_bytes).
    virtual size_t kernel_scratch_bytes(const Model& model) const = 0;

    // Bytes currently held through allocate(), and the most held at once since
    // the backend was made.
    size_t allocated_bytes() const { return memory_->current.load(); }
    size_t peak_allocated_bytes() const { return memory_->peak.load(); }

    KernelFn kernel(const OpDef& op) const { return op.kernels[int(kind())]; }

protected:
    // Wraps a fresh allocation of `bytes` so that it counts towards
    // allocated_bytes() until `free_fn` releases it. The count outlives the
    // backend, as memory handed out may.
    std::shared_ptr<void> track(void* p, size_t bytes, void (*free_fn)(void*)) {
        std::shared_ptr<MemoryCount> count = memory_;
        const size_t now = count->current += bytes;
        for (size_t peak = count->peak.load();
             now > peak && !count->peak.compare_exchange_weak(peak, now);) {
        }
        return std::shared_ptr<void>(p, [count, bytes, free_fn](void* q) {
            free_fn(q);
            count->current -= bytes;
        });
    }

private:
    struct MemoryCount {
        std::atomic<size_t> current{0}, peak{0};
    };
    std::shared_ptr<MemoryCount> memory_ = std::make_shared<MemoryCount>();
};

// "reference": naive float64 kernels; "cpu": the fast CPU path.
std::unique_ptr<Backend> make_cpu_backend(BackendKind kind);

}  // namespace fcnrt
