// What the executor needs of a device: memory, copies, a stream, and which of
// an op's kernels to run. The CPU backends (reference and fast) and the CUDA
// backend implement it; the executor never changes for a new backend.
#pragma once

#include <memory>
#include <string>

#include "engine/op_registry.h"

namespace fcnrt {

class Backend {
public:
    virtual ~Backend() = default;

    virtual BackendKind kind() const = 0;
    // One line for humans: "cpu (2 threads)", "cuda: NVIDIA H100 80GB HBM3".
    virtual std::string description() const = 0;

    // Device memory freed when the last holder goes. Throws fcnrt::Error naming
    // `what` and the bytes when the device has not enough.
    virtual std::shared_ptr<void> allocate(size_t bytes, const std::string& what) = 0;
    virtual void copy_to_device(void* device_dst, const void* host_src, size_t bytes) = 0;
    virtual void copy_to_host(void* host_dst, const void* device_src, size_t bytes) = 0;
    // Enqueued work done; errors from it surface here.
    virtual void synchronize() = 0;
    virtual void* stream() = 0;

    KernelFn kernel(const OpDef& op) const { return op.kernels[int(kind())]; }
};

// "reference": naive float64 kernels; "cpu": the fast CPU path.
std::unique_ptr<Backend> make_cpu_backend(BackendKind kind);

}  // namespace fcnrt
