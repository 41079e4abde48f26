// The CUDA backend. It owns one non-blocking stream on the device that was current
// when it was made; allocations are cudaMalloc (freed by the last holder), copies
// are cudaMemcpyAsync on the stream (host memory is pageable: a host-to-device copy
// returns once the source is staged, a device-to-host copy once it is done), and
// kernels are enqueued on the same stream by the executor. Nothing synchronises
// except synchronize(). Kernels need no handles (dense is a handwritten kernel), so
// the stream is the whole context.
#include "engine/cuda_backend.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "engine/error.h"
#include "kernels/cuda/cuda_check.h"

namespace fcnrt {

namespace {

// Throws fcnrt::Error for a failed runtime call, naming what was being done.
void check(cudaError_t err, const char* what) {
    if (err != cudaSuccess) {
        throw Error(std::string("CUDA error: ") + cudaGetErrorString(err) + " (" + what + ")");
    }
}

class CudaBackend final : public Backend {
public:
    CudaBackend() {
        check(cudaGetDevice(&device_), "cudaGetDevice");
        cudaDeviceProp prop{};
        check(cudaGetDeviceProperties(&prop, device_), "cudaGetDeviceProperties");
        const double gib = static_cast<double>(prop.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0);
        char memory[32];
        std::snprintf(memory, sizeof memory, "%.0f GiB", gib);
        description_ = std::string("cuda: ") + prop.name + " (sm_" + std::to_string(prop.major) +
                       std::to_string(prop.minor) + ", " + memory + ")";
        check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking),
              "cudaStreamCreateWithFlags");
    }

    ~CudaBackend() override {
        // Destructors must not throw: pending work is waited for and errors dropped
        // (a failed kernel has already been reported by synchronize()).
        if (stream_) {
            cudaStreamSynchronize(stream_);
            cudaStreamDestroy(stream_);
            cudaGetLastError();
        }
    }

    CudaBackend(const CudaBackend&) = delete;
    CudaBackend& operator=(const CudaBackend&) = delete;

    BackendKind kind() const override { return BackendKind::Cuda; }
    std::string description() const override { return description_; }

    std::shared_ptr<void> allocate(size_t bytes, const std::string& what) override {
        void* p = nullptr;
        const cudaError_t err = cudaMalloc(&p, std::max<size_t>(bytes, 1));
        if (err == cudaErrorMemoryAllocation) {
            cudaGetLastError();  // not sticky: clear it so later launch checks stay clean
            size_t free_bytes = 0, total_bytes = 0;
            const std::string free_text =
                cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess
                    ? std::to_string(free_bytes) + " free"
                    : "free memory unknown";
            throw Error("out of GPU memory: " + what + " needs " + std::to_string(bytes) +
                        " bytes (" + free_text + ")");
        }
        check(err, ("cudaMalloc for " + what).c_str());
        return std::shared_ptr<void>(p, [](void* q) { cudaFree(q); });
    }

    void copy_to_device(void* device_dst, const void* host_src, size_t bytes) override {
        if (bytes == 0) return;
        check(cudaMemcpyAsync(device_dst, host_src, bytes, cudaMemcpyHostToDevice, stream_),
              "cudaMemcpyAsync to the device");
    }

    void copy_to_host(void* host_dst, const void* device_src, size_t bytes) override {
        if (bytes == 0) return;
        check(cudaMemcpyAsync(host_dst, device_src, bytes, cudaMemcpyDeviceToHost, stream_),
              "cudaMemcpyAsync to the host");
    }

    void synchronize() override {
        check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize: a kernel or copy failed");
        // A failed launch that its kernel's check_launch did not see (there is none
        // between launches) would still be pending here.
        check(cudaGetLastError(), "after cudaStreamSynchronize");
    }

    void* stream() override { return stream_; }

private:
    int device_ = 0;
    cudaStream_t stream_ = nullptr;
    std::string description_;
};

}  // namespace

bool cuda_device_usable(std::string* why_not) {
    auto fail = [&](cudaError_t err, const std::string& context) {
        cudaGetLastError();  // leave no error behind for later launch checks
        if (why_not) *why_not = context + cudaGetErrorString(err);
        return false;
    };
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) return fail(err, "");
    if (count <= 0) {
        if (why_not) *why_not = "no CUDA device found";
        return false;
    }
    int device = 0;
    err = cudaGetDevice(&device);
    if (err != cudaSuccess) return fail(err, "");
    // cudaErrorNoKernelImageForDevice when this build has no code for the device
    // (it was compiled for a newer architecture than the device's).
    err = cuda::kernel_image_status();
    if (err != cudaSuccess) {
        cudaDeviceProp prop{};
        std::string name = "device " + std::to_string(device);
        if (cudaGetDeviceProperties(&prop, device) == cudaSuccess) {
            name += " (" + std::string(prop.name) + ", sm_" + std::to_string(prop.major) +
                    std::to_string(prop.minor) + ")";
        }
        return fail(err, name + ": ");
    }
    return true;
}

std::shared_ptr<Backend> make_cuda_backend() { return std::make_shared<CudaBackend>(); }


}  // namespace fcnrt
