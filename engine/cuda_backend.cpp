// The CUDA backend. It owns one non-blocking stream on the device that was current
// when it was made; allocations are cudaMalloc (freed by the last holder), copies
// are cudaMemcpyAsync on the stream (host memory is pageable: a host-to-device copy
// returns once the source is staged, a device-to-host copy once it is done), and
// kernels are enqueued on the same stream by the executor. Nothing synchronises
// except synchronize(). Kernels need no handles (dense is a handwritten kernel), so
// the stream is the whole context. Timers are cudaEvents recorded on the stream;
// the peak rates are theoretical, from the device's attributes.
#include "engine/cuda_backend.h"

#include <cuda_runtime_api.h>
#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <vector>

#include "engine/cuda_graph.h"
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

// Events with timing enabled, one per mark, all made here; mark() only records.
class EventTimer final : public StreamTimer {
public:
    EventTimer(size_t marks, cudaStream_t stream) : stream_(stream) {
        events_.reserve(marks);
        for (size_t i = 0; i < marks; ++i) {
            cudaEvent_t e = nullptr;
            const cudaError_t err = cudaEventCreate(&e);
            if (err != cudaSuccess) {
                destroy();
                check(err, "cudaEventCreate for a stream timer");
            }
            events_.push_back(e);
        }
    }
    ~EventTimer() override { destroy(); }
    EventTimer(const EventTimer&) = delete;
    EventTimer& operator=(const EventTimer&) = delete;

    size_t marks() const override { return events_.size(); }
    void mark(size_t i) override {
        check(cudaEventRecord(events_.at(i), stream_), "cudaEventRecord");
    }
    double elapsed_ms(size_t i, size_t j) const override {
        float ms = 0;
        check(cudaEventElapsedTime(&ms, events_.at(i), events_.at(j)), "cudaEventElapsedTime");
        return ms;
    }

private:
    void destroy() {
        for (cudaEvent_t e : events_) cudaEventDestroy(e);  // no throwing from a destructor
        events_.clear();
    }
    cudaStream_t stream_;
    std::vector<cudaEvent_t> events_;
};

// FP32 lanes (CUDA cores) per SM by compute capability, from the CUDA C
// Programming Guide's arithmetic-throughput table: 64 on the HPC parts (6.0, 7.x,
// 8.0), 128 on 5.x, 6.1/6.2, 8.6-8.9, 9.0 and later.
int fp32_lanes_per_sm(int major, int minor) {
    if (major <= 3) return 192;
    if (major == 5) return 128;
    if (major == 6) return minor == 0 ? 64 : 128;
    if (major == 7) return 64;
    if (major == 8) return minor == 0 ? 64 : 128;
    return 128;
}

class CudaBackend final : public Backend {
public:
    // device < 0: the current device. Otherwise it becomes the calling thread's
    // current device, for this constructor and whatever the caller does next.
    explicit CudaBackend(int device) {
        if (device >= 0) check(cudaSetDevice(device), "cudaSetDevice");
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
    int threads() const override { return 1; }  // one host thread enqueues everything
    // The CUDA kernels keep no scratch of their own: everything is in the plan.
    size_t kernel_scratch_bytes(const Model&) const override { return 0; }

    std::shared_ptr<void> allocate(size_t bytes, const std::string& what) override {
        bind();
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
        return track(p, std::max<size_t>(bytes, 1), [](void* q) { cudaFree(q); });
    }

    void copy_to_device(void* device_dst, const void* host_src, size_t bytes) override {
        if (bytes == 0) return;
        bind();
        check(cudaMemcpyAsync(device_dst, host_src, bytes, cudaMemcpyHostToDevice, stream_),
              "cudaMemcpyAsync to the device");
    }

    void copy_to_host(void* host_dst, const void* device_src, size_t bytes) override {
        if (bytes == 0) return;
        bind();
        check(cudaMemcpyAsync(host_dst, device_src, bytes, cudaMemcpyDeviceToHost, stream_),
              "cudaMemcpyAsync to the host");
    }

    void synchronize() override {
        bind();
        check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize: a kernel or copy failed");
        // A failed launch that its kernel's check_launch did not see (there is none
        // between launches) would still be pending here.
        check(cudaGetLastError(), "after cudaStreamSynchronize");
    }

    void* stream() override { return stream_; }

    size_t free_device_bytes() override {
        bind();
        size_t free = 0, total = 0;
        check(cudaMemGetInfo(&free, &total), "cudaMemGetInfo");
        return free;
    }

    std::unique_ptr<CapturedWork> capture(const std::function<void()>& enqueue) override {
        return capture_cuda_graph(stream_, enqueue);
    }

    int device() const { return device_; }

    std::unique_ptr<StreamTimer> make_timer(size_t marks) override {
        return std::make_unique<EventTimer>(marks, stream_);
    }

    // Theoretical: SMs x FP32 lanes x 2 (a fused multiply-add) x the peak (boost)
    // clock; memory: 2 transfers per clock (DDR) x the peak memory clock x the bus
    // width. cudaDeviceProp's clock fields are gone in CUDA 13: attributes instead.
    DevicePeak peak() override {
        auto attribute = [&](cudaDeviceAttr attr, const char* name) {
            int v = 0;
            check(cudaDeviceGetAttribute(&v, attr, device_), name);
            return v;
        };
        const int sms = attribute(cudaDevAttrMultiProcessorCount, "cudaDevAttrMultiProcessorCount");
        const int clock_khz = attribute(cudaDevAttrClockRate, "cudaDevAttrClockRate");
        const int major =
            attribute(cudaDevAttrComputeCapabilityMajor, "cudaDevAttrComputeCapabilityMajor");
        const int minor =
            attribute(cudaDevAttrComputeCapabilityMinor, "cudaDevAttrComputeCapabilityMinor");
        const int memory_khz = attribute(cudaDevAttrMemoryClockRate, "cudaDevAttrMemoryClockRate");
        const int bus_bits =
            attribute(cudaDevAttrGlobalMemoryBusWidth, "cudaDevAttrGlobalMemoryBusWidth");
        const int lanes = fp32_lanes_per_sm(major, minor);

        DevicePeak p;
        char text[200];
        p.fp32_tflops = double(sms) * lanes * 2.0 * double(clock_khz) * 1e3 / 1e12;
        std::snprintf(
            text, sizeof text,
            "theoretical: SMs x lanes x 2 x boost clock = %d x %d x 2 x %.3f GHz (sm_%d%d)", sms,
            lanes, clock_khz / 1e6, major, minor);
        p.fp32_source = text;
        if (memory_khz > 0 && bus_bits > 0) {
            p.memory_gbs = 2.0 * double(memory_khz) * 1e3 * (bus_bits / 8.0) / 1e9;
            std::snprintf(text, sizeof text,
                          "theoretical: 2 x memory clock x bus width = 2 x %.3f GHz x %d bit",
                          memory_khz / 1e6, bus_bits);
            p.memory_source = text;
        } else {
            p.memory_source = "unknown: the device reports no memory clock or bus width";
        }
        return p;
    }

private:
    // Makes this backend's device the calling thread's current one, so that one
    // thread may drive several backends (fcnrt segment --device cuda:0,cuda:1 makes
    // them all on the main thread) and kernels the executor launches after an
    // upload go to the right device. Cheap: a thread-local setting once the
    // device's context exists.
    void bind() const { check(cudaSetDevice(device_), "cudaSetDevice"); }

    int device_ = 0;
    cudaStream_t stream_ = nullptr;
    std::string description_;
};

}  // namespace

namespace {

std::string cuda_version_text(int v) {
    return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
}

// Why cudaGetDeviceCount failed, in the user's terms. The runtime reports a
// missing driver and an old one alike ("CUDA driver version is insufficient
// for CUDA runtime version"), so the driver library and its version are looked
// at directly.
std::string explain_no_device(cudaError_t err) {
    const std::string code = std::string(" (the CUDA runtime says: ") + cudaGetErrorString(err) + ")";
    void* driver = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
    if (!driver)
        return "no NVIDIA driver on this machine (libcuda.so.1 not found)" + code;
    dlclose(driver);
    int driver_version = 0, runtime_version = 0;
    cudaDriverGetVersion(&driver_version);
    cudaRuntimeGetVersion(&runtime_version);
    if (err == cudaErrorInsufficientDriver || (driver_version > 0 && driver_version < runtime_version))
        return "the NVIDIA driver is too old: it supports CUDA " +
               cuda_version_text(driver_version) + ", this fcnrt was built with CUDA " +
               cuda_version_text(runtime_version) + " (update the driver, or build with an "
               "older CUDA toolkit)" + code;
    if (err == cudaErrorNoDevice)
        return "the NVIDIA driver (CUDA " + cuda_version_text(driver_version) +
               ") is installed but sees no GPU (is one present, and are /dev/nvidia* "
               "visible, e.g. in a container?)" + code;
    return "the CUDA driver cannot be used" + code;
}

}  // namespace

bool cuda_device_usable(std::string* why_not) {
    auto fail = [&](cudaError_t err, const std::string& context) {
        cudaGetLastError();  // leave no error behind for later launch checks
        if (why_not) *why_not = context + cudaGetErrorString(err);
        return false;
    };
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
        cudaGetLastError();
        if (why_not) *why_not = explain_no_device(err);
        return false;
    }
    if (count <= 0) {
        if (why_not) *why_not = "the NVIDIA driver is installed but sees no GPU";
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
        return fail(err, name + " has no code in this build (built for CMAKE_CUDA_ARCHITECTURES; "
                         "rebuild with its architecture): ");
    }
    return true;
}

std::shared_ptr<Backend> make_cuda_backend(int device) {
    return std::make_shared<CudaBackend>(device);
}

int cuda_backend_device(const Backend& backend) {
    const auto* cuda = dynamic_cast<const CudaBackend*>(&backend);
    return cuda ? cuda->device() : -1;
}

int cuda_device_count() {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
        cudaGetLastError();
        return 0;
    }
    return count;
}


}  // namespace fcnrt
