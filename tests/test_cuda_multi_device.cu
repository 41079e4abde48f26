// Two CUDA devices from one host thread: cudaSetDevice, allocations, memory accounting
// and streams per device, a kernel on each, peer copies, peer access from kernels,
// and the errors for bad device indices. Under the CUDA emulation the test asks for
// two emulated devices (FCNRT_CUDA_EMU_DEVICES=2, set before the first CUDA call);
// on GPUs it needs two and is SKIPPED with fewer.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#if FCNRT_CUDA_EMULATION
#include "cuda_emu/emulator.h"

namespace {
// Runs during static initialisation, before any CUDA call reads the variable.
const bool kTwoEmulatedDevices = setenv("FCNRT_CUDA_EMU_DEVICES", "2", 1) == 0;
}  // namespace
#endif

namespace {

__global__ void fill(float* out, float value, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = value + static_cast<float>(i);
}

// out[i] += in[i], where `in` may be another device's memory.
__global__ void add_from(const float* in, float* out, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] += in[i];
}

constexpr int kN = 1000;
constexpr size_t kBytes = kN * sizeof(float);

class MultiDevice : public ::testing::Test {
protected:
    void SetUp() override {
        int count = 0;
        if (cudaGetDeviceCount(&count) != cudaSuccess) count = 0;
        cudaGetLastError();
#if FCNRT_CUDA_EMULATION
        ASSERT_TRUE(kTwoEmulatedDevices);
        ASSERT_EQ(count, 2) << "FCNRT_CUDA_EMU_DEVICES=2 did not take";
        cuda_emu::set_checks(cuda_emu::kAllChecks);
        cuda_emu::set_print_reports(false);
        cuda_emu::clear_reports();
#else
        if (count < 2) GTEST_SKIP() << "needs two CUDA devices, found " << count;
#endif
        count_ = count;
    }
    void TearDown() override {
        for (int d = 0; d < 2 && d < count_; ++d) {
            cudaSetDevice(d);
            cudaDeviceReset();
        }
        cudaSetDevice(0);
#if FCNRT_CUDA_EMULATION
        cuda_emu::set_print_reports(true);
        cuda_emu::clear_reports();
#endif
    }
    std::vector<float> read(const float* d) {
        std::vector<float> h(kN);
        EXPECT_EQ(cudaMemcpy(h.data(), d, kBytes, cudaMemcpyDeviceToHost), cudaSuccess);
        return h;
    }
    int count_ = 0;
};

TEST_F(MultiDevice, EachDeviceHasItsMemoryStreamsAndKernels) {
    float* d[2] = {};
    cudaStream_t s[2] = {};
    size_t free_before[2] = {}, free_after[2] = {}, total = 0;
    for (int dev = 0; dev < 2; ++dev) {
        ASSERT_EQ(cudaSetDevice(dev), cudaSuccess);
        ASSERT_EQ(cudaMemGetInfo(&free_before[dev], &total), cudaSuccess);
    }
    for (int dev = 0; dev < 2; ++dev) {
        ASSERT_EQ(cudaSetDevice(dev), cudaSuccess);
        int current = -1;
        ASSERT_EQ(cudaGetDevice(&current), cudaSuccess);
        EXPECT_EQ(current, dev);
        ASSERT_EQ(cudaMalloc(&d[dev], kBytes), cudaSuccess);
        ASSERT_EQ(cudaStreamCreateWithFlags(&s[dev], cudaStreamNonBlocking), cudaSuccess);
        fill<<<(kN + 127) / 128, 128, 0, s[dev]>>>(d[dev], 1000.0f * (dev + 1), kN);
        ASSERT_EQ(cudaGetLastError(), cudaSuccess);
    }
    // Each allocation counts against its own device only (the emulation rounds an
    // allocation up to whole pages; a GPU to its own granularity).
    for (int dev = 0; dev < 2; ++dev) {
        ASSERT_EQ(cudaSetDevice(dev), cudaSuccess);
        ASSERT_EQ(cudaMemGetInfo(&free_after[dev], &total), cudaSuccess);
        EXPECT_GE(free_before[dev] - free_after[dev], kBytes) << "device " << dev;
        EXPECT_LT(free_before[dev] - free_after[dev], kBytes + (size_t(4) << 20))
            << "device " << dev;
    }
    // A stream may be synchronised from any current device.
    ASSERT_EQ(cudaSetDevice(1), cudaSuccess);
    ASSERT_EQ(cudaStreamSynchronize(s[0]), cudaSuccess);
    ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
    ASSERT_EQ(cudaStreamSynchronize(s[1]), cudaSuccess);
    for (int dev = 0; dev < 2; ++dev) {
        ASSERT_EQ(cudaSetDevice(dev), cudaSuccess);
        const auto h = read(d[dev]);
        for (int i = 0; i < kN; i += 111)
            EXPECT_EQ(h[i], 1000.0f * (dev + 1) + i) << dev << " " << i;
        ASSERT_EQ(cudaStreamDestroy(s[dev]), cudaSuccess);
        ASSERT_EQ(cudaFree(d[dev]), cudaSuccess);
    }
}

TEST_F(MultiDevice, PeerCopiesAndPeerAccess) {
    int can = -1;
    ASSERT_EQ(cudaDeviceCanAccessPeer(&can, 0, 1), cudaSuccess);
    const bool peer_ok = can == 1;
#if FCNRT_CUDA_EMULATION
    EXPECT_TRUE(peer_ok);
    ASSERT_EQ(cudaDeviceCanAccessPeer(&can, 0, 0), cudaSuccess);
    EXPECT_EQ(can, 0);
#endif
    float *d0 = nullptr, *d1 = nullptr;
    ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
    ASSERT_EQ(cudaMalloc(&d0, kBytes), cudaSuccess);
    fill<<<(kN + 127) / 128, 128>>>(d0, 5.0f, kN);
    ASSERT_EQ(cudaSetDevice(1), cudaSuccess);
    ASSERT_EQ(cudaMalloc(&d1, kBytes), cudaSuccess);
    ASSERT_EQ(cudaMemset(d1, 0, kBytes), cudaSuccess);
    // A peer copy is ordered after the work of both devices (the fill on device 0).
    ASSERT_EQ(cudaMemcpyPeer(d1, 1, d0, 0, kBytes), cudaSuccess);
    auto h = read(d1);
    for (int i = 0; i < kN; i += 97) EXPECT_EQ(h[i], 5.0f + i) << i;
    // Asynchronous, on a stream of device 1, back into device 0 after doubling.
    cudaStream_t s1;
    ASSERT_EQ(cudaStreamCreate(&s1), cudaSuccess);
    add_from<<<(kN + 127) / 128, 128, 0, s1>>>(d1, d1, kN);
    ASSERT_EQ(cudaMemcpyPeerAsync(d0, 0, d1, 1, kBytes, s1), cudaSuccess);
    ASSERT_EQ(cudaStreamSynchronize(s1), cudaSuccess);
    ASSERT_EQ(cudaStreamDestroy(s1), cudaSuccess);
    ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
    h = read(d0);
    for (int i = 0; i < kN; i += 97) EXPECT_EQ(h[i], 2 * (5.0f + i)) << i;

    if (!peer_ok) return;
#if FCNRT_CUDA_EMULATION
    // A kernel on device 0 reading device 1's memory without peer access: memcheck.
    add_from<<<(kN + 127) / 128, 128>>>(d1, d0, kN);
    EXPECT_EQ(cudaDeviceSynchronize(), cudaErrorIllegalAddress);
    const auto r = cuda_emu::reports();
    ASSERT_FALSE(r.empty());
    EXPECT_EQ(r[0].check, "memcheck");
    EXPECT_NE(r[0].message.find("memory of device 1, and device 0 has no peer access"),
              std::string::npos)
        << r[0].message;
    cuda_emu::clear_reports();
    ASSERT_EQ(cudaDeviceReset(), cudaSuccess);  // device 0's sticky error; d0 is gone
    ASSERT_EQ(cudaMalloc(&d0, kBytes), cudaSuccess);
    ASSERT_EQ(cudaMemset(d0, 0, kBytes), cudaSuccess);
#else
    ASSERT_EQ(cudaMemset(d0, 0, kBytes), cudaSuccess);
#endif
    ASSERT_EQ(cudaDeviceEnablePeerAccess(1, 0), cudaSuccess);
    EXPECT_EQ(cudaDeviceEnablePeerAccess(1, 0), cudaErrorPeerAccessAlreadyEnabled);
    EXPECT_EQ(cudaGetLastError(), cudaErrorPeerAccessAlreadyEnabled);
    add_from<<<(kN + 127) / 128, 128>>>(d1, d0, kN);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    h = read(d0);
    for (int i = 0; i < kN; i += 97) EXPECT_EQ(h[i], 2 * (5.0f + i)) << i;
    ASSERT_EQ(cudaDeviceDisablePeerAccess(1), cudaSuccess);
    EXPECT_EQ(cudaDeviceDisablePeerAccess(1), cudaErrorPeerAccessNotEnabled);
    EXPECT_EQ(cudaGetLastError(), cudaErrorPeerAccessNotEnabled);
}

TEST_F(MultiDevice, BadDeviceIndicesAreErrors) {
    const int bad = count_;
    ASSERT_EQ(cudaSetDevice(1), cudaSuccess);
    EXPECT_EQ(cudaSetDevice(bad), cudaErrorInvalidDevice);
    EXPECT_EQ(cudaSetDevice(-1), cudaErrorInvalidDevice);
    int current = -1;
    ASSERT_EQ(cudaGetDevice(&current), cudaSuccess);
    EXPECT_EQ(current, 1);  // unchanged by the failed calls
    EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidDevice);
    EXPECT_EQ(cudaGetLastError(), cudaSuccess);
    cudaDeviceProp prop{};
    EXPECT_EQ(cudaGetDeviceProperties(&prop, bad), cudaErrorInvalidDevice);
    int value = 0;
    EXPECT_EQ(cudaDeviceGetAttribute(&value, cudaDevAttrComputeCapabilityMajor, bad),
              cudaErrorInvalidDevice);
    int can = 0;
    EXPECT_EQ(cudaDeviceCanAccessPeer(&can, 0, bad), cudaErrorInvalidDevice);
    EXPECT_EQ(cudaDeviceEnablePeerAccess(1, 0), cudaErrorInvalidDevice);  // itself
    EXPECT_EQ(cudaDeviceEnablePeerAccess(bad, 0), cudaErrorInvalidDevice);
    float* d = nullptr;
    ASSERT_EQ(cudaMalloc(&d, kBytes), cudaSuccess);
    EXPECT_EQ(cudaMemcpyPeer(d, bad, d, 1, kBytes), cudaErrorInvalidDevice);
    cudaGetLastError();
#if FCNRT_CUDA_EMULATION
    // Device 1's memory named as device 0's.
    EXPECT_EQ(cudaMemcpyPeer(d, 0, d, 1, kBytes), cudaErrorInvalidValue);
    ASSERT_FALSE(cuda_emu::reports().empty());
    EXPECT_NE(cuda_emu::reports()[0].message.find("cudaMemcpyPeer"), std::string::npos);
#endif
    ASSERT_EQ(cudaFree(d), cudaSuccess);
}

}  // namespace
