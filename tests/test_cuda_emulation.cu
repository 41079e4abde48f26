// The CUDA emulation (emulation/cuda/README.md) itself: the execution model and
// intrinsics with every lane's result pinned, the runtime API's semantics, and each
// check proven both ways: deliberately broken kernels that it must flag (with the
// kernel's name, block and thread) and correct kernels that it must not.
// Built and run only with -DFCNRT_CUDA_EMULATION=ON (on a GPU these kernels would
// corrupt memory or hang).
#include <gtest/gtest.h>

#include <cuda_runtime.h>

#include <cmath>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "cuda_emu/emulator.h"
#include "engine/cuda_backend.h"
#include "engine/error.h"

namespace {

// ---------------------------------------------------------------- kernels

__global__ void write_index(int* out, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = i;
}

// Broken: thread n writes one element past the end.
__global__ void write_past_end(int* out, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i <= n) out[i] = i;
}

__global__ void read_float4(const float* in, float* out, int offset) {
    const float4 v = *reinterpret_cast<const float4*>(in + offset);
    out[threadIdx.x] = v.x + v.y + v.z + v.w;
}

__global__ void shared_index_past_end(float* out, int extra) {
    __shared__ float s[32];
    s[threadIdx.x] = 1.0f;
    __syncthreads();
    out[threadIdx.x] = s[threadIdx.x + extra];
}

__global__ void shared_pointer_past_end(float* out, int extra) {
    __shared__ float s[32];
    float* p = s;
    p[threadIdx.x] = 1.0f;
    __syncthreads();
    out[threadIdx.x] = p[threadIdx.x + extra];
}

__global__ void copy_in(const float* in, float* out, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = in[i];
}

__global__ void shared_read_unwritten(float* out, int written) {
    __shared__ float s[64];
    if (threadIdx.x < written) s[threadIdx.x] = 2.0f;
    __syncthreads();
    out[threadIdx.x] = s[threadIdx.x];
}

// Neighbour exchange through shared memory, with or without the barrier.
__global__ void rotate_shared(const float* in, float* out, bool barrier) {
    __shared__ float s[64];
    const int t = threadIdx.x;
    s[t] = in[t];
    __syncthreads();
    s[t] += 1.0f;
    if (barrier) __syncthreads();
    out[t] = s[(t + 1) % blockDim.x];
}

// Warp-synchronous tree sum of 32 values: correct only with __syncwarp between
// each step's reads and writes.
__global__ void warp_tree_sum(const float* in, float* out, bool syncwarp) {
    __shared__ float s[32];
    const int lane = threadIdx.x;
    s[lane] = in[lane];
    __syncthreads();
    for (int offset = 16; offset > 0; offset /= 2) {
        float v = s[lane];
        if (lane < offset) v += s[lane + offset];
        if (syncwarp) __syncwarp();
        s[lane] = v;
        if (syncwarp) __syncwarp();
    }
    if (lane == 0) out[0] = s[0];
}

__global__ void every_block_writes_first(float* out) { out[0] = static_cast<float>(blockIdx.x); }

__global__ void every_block_adds_first(float* out) { atomicAdd(out, 1.0f); }

__global__ void ldg_after_write(float* data) {
    data[threadIdx.x] = 1.0f;
    __syncthreads();
    data[blockDim.x + threadIdx.x] = __ldg(data + (threadIdx.x + 1) % blockDim.x);
}

__global__ void divergent_barrier(float* out) {
    if (threadIdx.x < 16) {
        __syncthreads();
        out[threadIdx.x] = 1.0f;
    } else {
        __syncthreads();
        out[threadIdx.x] = 2.0f;
    }
}

// Correct on sm_70+: the threads that leave early count as arrived.
__global__ void barrier_after_exits(float* out) {
    if (threadIdx.x >= 16) return;
    out[threadIdx.x] = 1.0f;
    __syncthreads();
    out[16 + threadIdx.x] = out[threadIdx.x] + out[(threadIdx.x + 1) % 16];
}

__global__ void shuffle_with_exited_lanes(float* out) {
    if (threadIdx.x >= 16) return;
    out[threadIdx.x] = __shfl_sync(0xffffffffu, static_cast<float>(threadIdx.x), 0);
}

__global__ void deadlock(float* out) {
    if (threadIdx.x == 0) {
        __syncthreads();
    } else {
        __syncwarp();
    }
    out[threadIdx.x] = 1.0f;
}

__global__ void shuffles(const int* in, int* out, int delta, int width) {
    const int v = in[threadIdx.x];
    const int n = blockDim.x;
    out[threadIdx.x] = __shfl_down_sync(0xffffffffu, v, delta, width);
    out[n + threadIdx.x] = __shfl_up_sync(0xffffffffu, v, delta, width);
    out[2 * n + threadIdx.x] = __shfl_xor_sync(0xffffffffu, v, delta, width);
    out[3 * n + threadIdx.x] = __shfl_sync(0xffffffffu, v, delta, width);
}

__global__ void shuffle_down_sum(const double* in, double* out) {
    double v = in[threadIdx.x];
    for (int delta = 16; delta > 0; delta /= 2) v += __shfl_down_sync(0xffffffffu, v, delta);
    out[threadIdx.x] = v;
}

__global__ void votes(const int* in, unsigned* out) {
    const int lane = threadIdx.x;
    const int p = in[lane];
    out[lane] = __ballot_sync(0xffffffffu, p);
    out[32 + lane] = static_cast<unsigned>(__any_sync(0xffffffffu, p));
    out[64 + lane] = static_cast<unsigned>(__all_sync(0xffffffffu, p));
    unsigned partial = 0;
    if (lane < 8) partial = __ballot_sync(0xffu, p);
    out[96 + lane] = partial;
    unsigned active = 0;
    if (lane % 3 == 0) active = __activemask();
    out[128 + lane] = active;
    out[160 + lane] = static_cast<unsigned>(__syncthreads_count(p));
}

__global__ void atomics(float* fsum, int* imax, unsigned* cas, unsigned long long* count) {
    atomicAdd(fsum, 0.5f);
    atomicMax(imax, static_cast<int>(threadIdx.x) * 3 - 100);
    atomicCAS(cas, 0u, threadIdx.x + 1);
    atomicAdd(count, 1ull);
}

__global__ void dynamic_shared_sum(const float* in, float* out) {
    extern __shared__ float dyn[];
    dyn[threadIdx.x] = in[threadIdx.x];
    __syncthreads();
    if (threadIdx.x == 0) {
        float s = 0.0f;
        for (unsigned i = 0; i < blockDim.x; ++i) s += dyn[i];
        out[0] = s;
    }
}

__global__ void arithmetic(const float* in, float* out) {
    const float a = in[0], b = in[1], c = in[2];
    out[0] = a * b + c;  // two roundings: the emulation does not contract
    out[1] = fmaf(a, b, c);
    out[2] = __fadd_rn(__fmul_rn(a, b), c);
}

__global__ void add_one(float* data, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) data[i] += 1.0f;
}

// y = 2x + 1.
__global__ void affine(const float* x, float* y, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = 2.0f * x[i] + 1.0f;
}

// acc[blockIdx.x] += the sum of y over the block's elements (a warp shuffle
// reduction per warp, then one atomic per warp).
__global__ void block_sums(const float* y, float* acc, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    float v = i < n ? y[i] : 0.0f;
    for (int d = 16; d > 0; d /= 2) v += __shfl_down_sync(0xffffffffu, v, d);
    if (threadIdx.x % 32 == 0) atomicAdd(acc + blockIdx.x, v);
}

// ---------------------------------------------------------------- helpers

template <class T>
T* device_copy(const std::vector<T>& host) {
    T* d = nullptr;
    EXPECT_EQ(cudaMalloc(&d, host.size() * sizeof(T)), cudaSuccess);
    EXPECT_EQ(cudaMemcpy(d, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice),
              cudaSuccess);
    return d;
}

template <class T>
std::vector<T> host_copy(const T* d, size_t n) {
    std::vector<T> h(n);
    EXPECT_EQ(cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
    return h;
}

// Every check on, reports kept quiet; after each test the device is reset (a check
// failure is sticky, as an illegal address is on a GPU).
class Emulation : public ::testing::Test {
protected:
    void SetUp() override {
        cuda_emu::set_checks(cuda_emu::kAllChecks);
        cuda_emu::set_print_reports(false);
        cuda_emu::clear_reports();
    }
    void TearDown() override {
        cudaDeviceReset();
        cuda_emu::set_print_reports(true);
        cuda_emu::clear_reports();
    }
    // The launch must fail with `error`, and the first report must be `check`'s, for
    // `kernel`, mentioning `text`.
    void expect_flagged(cudaError_t error, const std::string& check, const std::string& kernel,
                        const std::string& text = "") {
        EXPECT_EQ(cudaDeviceSynchronize(), error);
        const auto r = cuda_emu::reports();
        ASSERT_FALSE(r.empty()) << "no report";
        EXPECT_EQ(r[0].check, check) << r[0].message;
        EXPECT_EQ(r[0].kernel, kernel) << r[0].message;
        EXPECT_NE(r[0].message.find(text), std::string::npos) << r[0].message;
        EXPECT_NE(r[0].message.find("block ("), std::string::npos) << r[0].message;
    }
    void expect_clean() {
        EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
        const auto r = cuda_emu::reports();
        EXPECT_TRUE(r.empty()) << r[0].message;
    }
};

// ---------------------------------------------------------------- memcheck

TEST_F(Emulation, MemcheckFlagsWritePastTheEnd) {
    int* d = nullptr;
    ASSERT_EQ(cudaMalloc(&d, 100 * sizeof(int)), cudaSuccess);
    write_past_end<<<1, 128>>>(d, 100);
    expect_flagged(cudaErrorIllegalAddress, "memcheck", "write_past_end",
                   "0 bytes after the end of a 400-byte allocation");
    const auto r = cuda_emu::reports();
    ASSERT_FALSE(r.empty());
    EXPECT_EQ(r[0].thread.x, 100u);
    EXPECT_NE(r[0].message.find("thread (100,0,0)"), std::string::npos) << r[0].message;
    // A device error is sticky until the device is reset.
    EXPECT_EQ(cudaMalloc(&d, 4), cudaErrorIllegalAddress);
}

TEST_F(Emulation, MemcheckPassesInBoundsKernel) {
    int* d = nullptr;
    ASSERT_EQ(cudaMalloc(&d, 100 * sizeof(int)), cudaSuccess);
    write_index<<<1, 128>>>(d, 100);
    expect_clean();
    const auto h = host_copy(d, 100);
    for (int i = 0; i < 100; ++i) EXPECT_EQ(h[i], i);
}

TEST_F(Emulation, MemcheckFlagsMisalignedVectorLoad) {
    float* in = device_copy(std::vector<float>(64, 1.0f));
    float* out = nullptr;
    ASSERT_EQ(cudaMalloc(&out, 32 * sizeof(float)), cudaSuccess);
    read_float4<<<1, 32>>>(in, out, 4);
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    EXPECT_TRUE(cuda_emu::reports().empty());
    read_float4<<<1, 32>>>(in, out, 1);
    expect_flagged(cudaErrorMisalignedAddress, "memcheck", "read_float4", "16-byte alignment");
}

TEST_F(Emulation, MemcheckFlagsSharedIndexPastTheEnd) {
    float* out = nullptr;
    ASSERT_EQ(cudaMalloc(&out, 32 * sizeof(float)), cudaSuccess);
    shared_index_past_end<<<1, 32>>>(out, 0);
    expect_clean();
    shared_index_past_end<<<1, 32>>>(out, 1);
    expect_flagged(cudaErrorIllegalAddress, "memcheck", "shared_index_past_end",
                   "out of bounds for 'float [32]'");
}

TEST_F(Emulation, MemcheckFlagsSharedPointerPastTheVariable) {
    float* out = nullptr;
    ASSERT_EQ(cudaMalloc(&out, 32 * sizeof(float)), cudaSuccess);
    shared_pointer_past_end<<<1, 32>>>(out, 40);
    expect_flagged(cudaErrorIllegalAddress, "memcheck", "shared_pointer_past_end",
                   "outside every __shared__ variable");
}

TEST_F(Emulation, MemcheckFlagsUseAfterFree) {
    float* in = device_copy(std::vector<float>(32, 1.0f));
    float* out = nullptr;
    ASSERT_EQ(cudaMalloc(&out, 32 * sizeof(float)), cudaSuccess);
    ASSERT_EQ(cudaFree(in), cudaSuccess);
    copy_in<<<1, 32>>>(in, out, 32);
    expect_flagged(cudaErrorIllegalAddress, "memcheck", "copy_in", "use after free");
}

TEST_F(Emulation, MemcheckFlagsHostPointer) {
    std::vector<float> host(32, 1.0f);
    float* out = nullptr;
    ASSERT_EQ(cudaMalloc(&out, 32 * sizeof(float)), cudaSuccess);
    copy_in<<<1, 32>>>(host.data(), out, 32);
    expect_flagged(cudaErrorIllegalAddress, "memcheck", "copy_in", "not device memory");
}

// ---------------------------------------------------------------- initcheck

TEST_F(Emulation, InitcheckFlagsNeverWrittenGlobalMemory) {
    float* in = nullptr;
    float* out = nullptr;
    ASSERT_EQ(cudaMalloc(&in, 32 * sizeof(float)), cudaSuccess);
    ASSERT_EQ(cudaMalloc(&out, 32 * sizeof(float)), cudaSuccess);
    ASSERT_EQ(cudaMemset(in, 0, 16 * sizeof(float)), cudaSuccess);
    copy_in<<<1, 32>>>(in, out, 16);
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    EXPECT_TRUE(cuda_emu::reports().empty());
    copy_in<<<1, 32>>>(in, out, 32);
    expect_flagged(cudaErrorLaunchFailure, "initcheck", "copy_in", "byte 64 of a 128-byte allocation");
}

TEST_F(Emulation, InitcheckFlagsUnwrittenSharedMemory) {
    float* out = nullptr;
    ASSERT_EQ(cudaMalloc(&out, 64 * sizeof(float)), cudaSuccess);
    shared_read_unwritten<<<1, 64>>>(out, 64);
    expect_clean();
    shared_read_unwritten<<<1, 64>>>(out, 60);
    expect_flagged(cudaErrorLaunchFailure, "initcheck", "shared_read_unwritten", "'s' byte 240");
}

// ---------------------------------------------------------------- racecheck

TEST_F(Emulation, RacecheckFlagsMissingSyncthreads) {
    std::vector<float> h(64);
    std::iota(h.begin(), h.end(), 0.0f);
    float* in = device_copy(h);
    float* out = nullptr;
    ASSERT_EQ(cudaMalloc(&out, 64 * sizeof(float)), cudaSuccess);
    rotate_shared<<<1, 64>>>(in, out, true);
    expect_clean();
    const auto r = host_copy(out, 64);
    for (int t = 0; t < 64; ++t) EXPECT_EQ(r[t], static_cast<float>((t + 1) % 64 + 1));
    rotate_shared<<<1, 64>>>(in, out, false);
    expect_flagged(cudaErrorLaunchFailure, "racecheck", "rotate_shared", "__shared__");
}

TEST_F(Emulation, RacecheckFlagsWarpCodeWithoutSyncwarp) {
    std::vector<float> h(32);
    std::iota(h.begin(), h.end(), 1.0f);
    float* in = device_copy(h);
    float* out = nullptr;
    ASSERT_EQ(cudaMalloc(&out, sizeof(float)), cudaSuccess);
    warp_tree_sum<<<1, 32>>>(in, out, true);
    expect_clean();
    EXPECT_EQ(host_copy(out, 1)[0], 528.0f);
    warp_tree_sum<<<1, 32>>>(in, out, false);
    expect_flagged(cudaErrorLaunchFailure, "racecheck", "warp_tree_sum", "data race");
}

TEST_F(Emulation, RacecheckFlagsBlocksWritingOneAddress) {
    float* out = device_copy(std::vector<float>(1, 0.0f));
    every_block_adds_first<<<8, 32>>>(out);
    expect_clean();
    EXPECT_EQ(host_copy(out, 1)[0], 256.0f);
    every_block_writes_first<<<8, 1>>>(out);
    expect_flagged(cudaErrorLaunchFailure, "racecheck", "every_block_writes_first",
                   "Write-after-write data race on __global__");
}

TEST_F(Emulation, RacecheckFlagsLdgOfDataTheKernelWrites) {
    float* data = nullptr;
    ASSERT_EQ(cudaMalloc(&data, 64 * sizeof(float)), cudaSuccess);
    ldg_after_write<<<1, 32>>>(data);
    expect_flagged(cudaErrorLaunchFailure, "racecheck", "ldg_after_write", "__ldg");
}

// ---------------------------------------------------------------- synccheck

TEST_F(Emulation, SynccheckFlagsDivergentBarrier) {
    float* out = nullptr;
    ASSERT_EQ(cudaMalloc(&out, 64 * sizeof(float)), cudaSuccess);
    divergent_barrier<<<1, 64>>>(out);
    expect_flagged(cudaErrorLaunchFailure, "synccheck", "divergent_barrier", "divergent barrier");
}

TEST_F(Emulation, SynccheckCountsExitedThreadsAsArrived) {
    float* out = nullptr;
    ASSERT_EQ(cudaMalloc(&out, 64 * sizeof(float)), cudaSuccess);
    barrier_after_exits<<<1, 64>>>(out);
    expect_clean();
    const auto h = host_copy(out, 32);
    for (int i = 16; i < 32; ++i) EXPECT_EQ(h[i], 2.0f);
}

TEST_F(Emulation, SynccheckFlagsShuffleNamingExitedLanes) {
    float* out = nullptr;
    ASSERT_EQ(cudaMalloc(&out, 32 * sizeof(float)), cudaSuccess);
    shuffle_with_exited_lanes<<<1, 32>>>(out);
    expect_flagged(cudaErrorLaunchFailure, "synccheck", "shuffle_with_exited_lanes", "has exited");
}

TEST_F(Emulation, SynccheckReportsDeadlockInsteadOfHanging) {
    float* out = nullptr;
    ASSERT_EQ(cudaMalloc(&out, 64 * sizeof(float)), cudaSuccess);
    deadlock<<<1, 64>>>(out);
    expect_flagged(cudaErrorLaunchFailure, "synccheck", "deadlock", "deadlock");
}

// ---------------------------------------------------------------- execution model

// Every lane's result of each shuffle, for deltas and widths, by the rules of the
// CUDA Programming Guide.
TEST_F(Emulation, ShufflesGiveEveryLaneItsValue) {
    std::vector<int> h(64);
    for (int i = 0; i < 64; ++i) h[i] = 1000 + i;
    int* in = device_copy(h);
    int* out = nullptr;
    ASSERT_EQ(cudaMalloc(&out, 4 * 64 * sizeof(int)), cudaSuccess);
    for (int width : {32, 16, 8, 4, 2, 1}) {
        for (int delta : {0, 1, 2, 3, 5, 8, 16, 31, 40}) {
            shuffles<<<1, 64>>>(in, out, delta, width);
            ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
            const auto r = host_copy(out, 4 * 64);
            for (int t = 0; t < 64; ++t) {
                const int lane = t % 32, warp = t / 32 * 32;
                const int seg = lane / width * width;
                const int d = delta & 31;  // PTX uses the low five bits
                const int down = lane % width + d < width ? lane + d : lane;
                const int up = lane % width >= d ? lane - d : lane;
                const int x = lane ^ d;
                const int xor_src = x < seg + width ? x : lane;
                const int idx_src = seg + delta % width;
                SCOPED_TRACE("width " + std::to_string(width) + " delta " + std::to_string(delta) +
                             " thread " + std::to_string(t));
                EXPECT_EQ(r[t], h[warp + down]);
                EXPECT_EQ(r[64 + t], h[warp + up]);
                EXPECT_EQ(r[128 + t], h[warp + xor_src]);
                EXPECT_EQ(r[192 + t], h[warp + idx_src]);
            }
        }
    }
}

// The dense and global_avg_pool reductions: every lane holds its partial sum.
TEST_F(Emulation, ShuffleDownReductionRightOnEveryLane) {
    std::vector<double> h(32);
    for (int i = 0; i < 32; ++i) h[i] = i * 1.5 + 0.25;
    double* in = device_copy(h);
    double* out = nullptr;
    ASSERT_EQ(cudaMalloc(&out, 32 * sizeof(double)), cudaSuccess);
    shuffle_down_sum<<<1, 32>>>(in, out);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    const auto r = host_copy(out, 32);
    // Emulate the five rounds on the host.
    std::vector<double> v = h;
    for (int delta = 16; delta > 0; delta /= 2) {
        std::vector<double> next = v;
        for (int l = 0; l < 32; ++l) next[l] = v[l] + (l + delta < 32 ? v[l + delta] : v[l]);
        v = next;
    }
    for (int l = 0; l < 32; ++l) EXPECT_EQ(r[l], v[l]) << "lane " << l;
}

TEST_F(Emulation, VotesAndActiveMask) {
    std::vector<int> h(32);
    for (int i = 0; i < 32; ++i) h[i] = (i % 5 == 0) ? 1 : 0;
    int* in = device_copy(h);
    unsigned* out = nullptr;
    ASSERT_EQ(cudaMalloc(&out, 192 * sizeof(unsigned)), cudaSuccess);
    votes<<<1, 32>>>(in, out);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    const auto r = host_copy(out, 192);
    unsigned ballot = 0, every3 = 0;
    for (int i = 0; i < 32; ++i) {
        if (h[i]) ballot |= 1u << i;
        if (i % 3 == 0) every3 |= 1u << i;
    }
    for (int l = 0; l < 32; ++l) {
        EXPECT_EQ(r[l], ballot);
        EXPECT_EQ(r[32 + l], 1u);
        EXPECT_EQ(r[64 + l], 0u);
        EXPECT_EQ(r[96 + l], l < 8 ? (ballot & 0xffu) : 0u);
        EXPECT_EQ(r[128 + l], l % 3 == 0 ? every3 : 0u);
        EXPECT_EQ(r[160 + l], static_cast<unsigned>(__builtin_popcount(ballot)));
    }
}

TEST_F(Emulation, Atomics) {
    float* f = device_copy(std::vector<float>{0.0f});
    int* m = device_copy(std::vector<int>{-1000});
    unsigned* c = device_copy(std::vector<unsigned>{0u});
    unsigned long long* n = device_copy(std::vector<unsigned long long>{0ull});
    atomics<<<4, 64>>>(f, m, c, n);
    expect_clean();
    EXPECT_EQ(host_copy(f, 1)[0], 128.0f);
    EXPECT_EQ(host_copy(m, 1)[0], 63 * 3 - 100);
    EXPECT_EQ(host_copy(c, 1)[0], 1u);  // the first thread to run wins
    EXPECT_EQ(host_copy(n, 1)[0], 256ull);
}

TEST_F(Emulation, DynamicSharedMemory) {
    float* in = device_copy(std::vector<float>(96, 0.5f));
    float* out = nullptr;
    ASSERT_EQ(cudaMalloc(&out, sizeof(float)), cudaSuccess);
    dynamic_shared_sum<<<1, 96, 96 * sizeof(float)>>>(in, out);
    expect_clean();
    EXPECT_EQ(host_copy(out, 1)[0], 48.0f);
    // Too little dynamic shared memory for the kernel: memcheck.
    dynamic_shared_sum<<<1, 96, 64 * sizeof(float)>>>(in, out);
    expect_flagged(cudaErrorIllegalAddress, "memcheck", "dynamic_shared_sum", "__shared__");
}

// The emulation rounds a*b+c twice (no contraction), fmaf once; nvcc's default
// -fmad=true would fuse the first. Tolerances of tests that compare CUDA results
// with a reference must therefore allow for either (see the layer's README).
TEST_F(Emulation, NoContractionFmafFused) {
    const float a = 1.0f + 0x1p-12f, b = a, c = -1.0f;
    float* in = device_copy(std::vector<float>{a, b, c});
    float* out = nullptr;
    ASSERT_EQ(cudaMalloc(&out, 3 * sizeof(float)), cudaSuccess);
    arithmetic<<<1, 1>>>(in, out);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    const auto r = host_copy(out, 3);
    volatile float prod = a * b;
    EXPECT_EQ(r[0], prod + c);
    EXPECT_EQ(r[1], std::fma(a, b, c));
    EXPECT_EQ(r[2], r[0]);
    EXPECT_NE(r[0], r[1]);  // the case distinguishes the two
}

// ---------------------------------------------------------------- runtime API

TEST_F(Emulation, AsyncCopyFromPageableMemoryReadsItsSourceBeforeReturning) {
    cudaStream_t s;
    ASSERT_EQ(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), cudaSuccess);
    float* d = nullptr;
    ASSERT_EQ(cudaMalloc(&d, 4 * sizeof(float)), cudaSuccess);
    std::vector<float> pageable(4, 1.0f);
    ASSERT_EQ(cudaMemcpyAsync(d, pageable.data(), 16, cudaMemcpyHostToDevice, s), cudaSuccess);
    std::fill(pageable.begin(), pageable.end(), 2.0f);
    // Pinned memory is read when the copy runs: as late as CUDA allows.
    float* pinned = nullptr;
    ASSERT_EQ(cudaMallocHost(&pinned, 16), cudaSuccess);
    float* d2 = nullptr;
    ASSERT_EQ(cudaMalloc(&d2, 4 * sizeof(float)), cudaSuccess);
    std::fill(pinned, pinned + 4, 3.0f);
    ASSERT_EQ(cudaMemcpyAsync(d2, pinned, 16, cudaMemcpyHostToDevice, s), cudaSuccess);
    std::fill(pinned, pinned + 4, 4.0f);
    // A copy to pageable memory is complete when it returns.
    std::vector<float> back(4, 0.0f);
    ASSERT_EQ(cudaMemcpyAsync(back.data(), d, 16, cudaMemcpyDeviceToHost, s), cudaSuccess);
    EXPECT_EQ(back[0], 1.0f);
    ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
    EXPECT_EQ(host_copy(d2, 4)[0], 4.0f);
    ASSERT_EQ(cudaFreeHost(pinned), cudaSuccess);
    ASSERT_EQ(cudaStreamDestroy(s), cudaSuccess);
}

TEST_F(Emulation, KernelsRunOnlyWhenTheHostWaits) {
    std::vector<float> h(256, 0.0f);
    float* d = device_copy(h);
    float* pinned = nullptr;
    ASSERT_EQ(cudaMallocHost(&pinned, 256 * sizeof(float)), cudaSuccess);
    cudaStream_t s;
    ASSERT_EQ(cudaStreamCreate(&s), cudaSuccess);
    add_one<<<2, 128, 0, s>>>(d, 256);
    ASSERT_EQ(cudaMemcpyAsync(pinned, d, 256 * sizeof(float), cudaMemcpyDeviceToHost, s),
              cudaSuccess);
    pinned[0] = -1.0f;  // the copy has not run: no synchronisation yet
    ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
    EXPECT_EQ(pinned[0], 1.0f);
    EXPECT_EQ(pinned[255], 1.0f);
    ASSERT_EQ(cudaFreeHost(pinned), cudaSuccess);
    ASSERT_EQ(cudaStreamDestroy(s), cudaSuccess);
}

TEST_F(Emulation, EventsTimeTheirStream) {
    cudaEvent_t a, b;
    ASSERT_EQ(cudaEventCreate(&a), cudaSuccess);
    ASSERT_EQ(cudaEventCreate(&b), cudaSuccess);
    float* d = device_copy(std::vector<float>(1 << 12, 0.0f));
    ASSERT_EQ(cudaEventRecord(a, nullptr), cudaSuccess);
    add_one<<<16, 256>>>(d, 1 << 12);
    ASSERT_EQ(cudaEventRecord(b, nullptr), cudaSuccess);
    float ms = -1;
    EXPECT_EQ(cudaEventElapsedTime(&ms, a, b), cudaErrorNotReady);
    cudaGetLastError();
    ASSERT_EQ(cudaEventSynchronize(b), cudaSuccess);
    ASSERT_EQ(cudaEventElapsedTime(&ms, a, b), cudaSuccess);
    EXPECT_GT(ms, 0.0f);
    cudaEventDestroy(a);
    cudaEventDestroy(b);
}

TEST_F(Emulation, DeviceIsAnEmulatedSm90) {
    int count = 0;
    ASSERT_EQ(cudaGetDeviceCount(&count), cudaSuccess);
    EXPECT_GE(count, 1);
    cudaDeviceProp p{};
    ASSERT_EQ(cudaGetDeviceProperties(&p, 0), cudaSuccess);
    EXPECT_EQ(p.major, 9);
    EXPECT_EQ(p.minor, 0);
    EXPECT_EQ(p.warpSize, 32);
    int v = 0;
    ASSERT_EQ(cudaDeviceGetAttribute(&v, cudaDevAttrComputeCapabilityMajor, 0), cudaSuccess);
    EXPECT_EQ(v, 9);
    EXPECT_EQ(cudaSetDevice(count), cudaErrorInvalidDevice);
    EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidDevice);
    EXPECT_EQ(cudaGetLastError(), cudaSuccess);
}

TEST_F(Emulation, ErrorsHaveTheirRealNames) {
    EXPECT_STREQ(cudaGetErrorName(cudaErrorMemoryAllocation), "cudaErrorMemoryAllocation");
    EXPECT_STREQ(cudaGetErrorString(cudaErrorMemoryAllocation), "out of memory");
    EXPECT_STREQ(cudaGetErrorString(cudaErrorIllegalAddress),
                 "an illegal memory access was encountered");
    EXPECT_STREQ(cudaGetErrorString(cudaErrorInvalidConfiguration),
                 "invalid configuration argument");
}

TEST_F(Emulation, BadLaunchConfigurationIsTheLastError) {
    float* d = nullptr;
    ASSERT_EQ(cudaMalloc(&d, 4), cudaSuccess);
    add_one<<<1, 2048>>>(d, 1);
    EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
    EXPECT_EQ(cudaGetLastError(), cudaSuccess);
    add_one<<<dim3(1, 70000), 32>>>(d, 1);
    EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
}

TEST_F(Emulation, MemoryCapacityIsConfigurable) {
    const size_t old = cuda_emu::memory_capacity();
    cuda_emu::set_memory_capacity(size_t(1) << 20);
    size_t free_bytes = 0, total = 0;
    ASSERT_EQ(cudaMemGetInfo(&free_bytes, &total), cudaSuccess);
    EXPECT_EQ(total, size_t(1) << 20);
    void* p = nullptr;
    EXPECT_EQ(cudaMalloc(&p, size_t(2) << 20), cudaErrorMemoryAllocation);
    EXPECT_EQ(cudaGetLastError(), cudaErrorMemoryAllocation);
    ASSERT_EQ(cudaMalloc(&p, 1000), cudaSuccess);
    ASSERT_EQ(cudaMemGetInfo(&free_bytes, &total), cudaSuccess);
    EXPECT_EQ(free_bytes, (size_t(1) << 20) - 1000);
    // The CUDA backend's out-of-memory path.
    const auto backend = fcnrt::make_cuda_backend();
    try {
        backend->allocate(size_t(4) << 20, "a test buffer");
        ADD_FAILURE() << "no error";
    } catch (const fcnrt::Error& e) {
        EXPECT_NE(std::string(e.what()).find("out of GPU memory: a test buffer needs 4194304"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_EQ(cudaGetLastError(), cudaSuccess);
    cuda_emu::set_memory_capacity(old);
}

TEST_F(Emulation, FuncAttributesKnowStaticSharedMemory) {
    float* out = nullptr;
    ASSERT_EQ(cudaMalloc(&out, 64 * sizeof(float)), cudaSuccess);
    shared_read_unwritten<<<1, 64>>>(out, 64);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    cudaFuncAttributes attr{};
    ASSERT_EQ(cudaFuncGetAttributes(&attr, shared_read_unwritten), cudaSuccess);
    EXPECT_EQ(attr.sharedSizeBytes, 64 * sizeof(float));
    EXPECT_EQ(attr.maxThreadsPerBlock, 1024);
}

TEST_F(Emulation, StreamCaptureReplaysAGraph) {
    cudaStream_t s;
    ASSERT_EQ(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), cudaSuccess);
    float* d = device_copy(std::vector<float>(64, 0.0f));
    ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    add_one<<<1, 64, 0, s>>>(d, 64);
    add_one<<<1, 64, 0, s>>>(d, 64);
    cudaGraph_t graph;
    ASSERT_EQ(cudaStreamEndCapture(s, &graph), cudaSuccess);
    size_t nodes = 0;
    ASSERT_EQ(cudaGraphGetNodes(graph, nullptr, &nodes), cudaSuccess);
    EXPECT_EQ(nodes, 2u);
    EXPECT_EQ(host_copy(d, 1)[0], 0.0f);  // captured, not run
    cudaGraphExec_t exec;
    ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
    ASSERT_EQ(cudaGraphLaunch(exec, s), cudaSuccess);
    ASSERT_EQ(cudaGraphLaunch(exec, s), cudaSuccess);
    ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
    EXPECT_EQ(host_copy(d, 64)[63], 4.0f);
    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(graph);
    cudaStreamDestroy(s);
}

// One step of a multi-kernel sequence, launched directly or captured: acc = 0
// (memset), y = 2x + 1, acc += per-block sums of y, x += 1 (so each replay sees new
// inputs), out = y (device-to-device copy).
void sequence_step(cudaStream_t s, float* x, float* y, float* acc, float* out, int n) {
    const int blocks = (n + 127) / 128;
    ASSERT_EQ(cudaMemsetAsync(acc, 0, blocks * sizeof(float), s), cudaSuccess);
    affine<<<blocks, 128, 0, s>>>(x, y, n);
    block_sums<<<blocks, 128, 0, s>>>(y, acc, n);
    add_one<<<blocks, 128, 0, s>>>(x, n);
    ASSERT_EQ(cudaMemcpyAsync(out, y, n * sizeof(float), cudaMemcpyDeviceToDevice, s), cudaSuccess);
}

TEST_F(Emulation, CapturedSequenceReplaysLikeDirectLaunches) {
    constexpr int n = 1000, blocks = (n + 127) / 128;
    std::vector<float> h(n);
    for (int i = 0; i < n; ++i) h[i] = 0.25f * static_cast<float>(i % 37) - 3.0f;
    cudaStream_t s, other;
    ASSERT_EQ(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), cudaSuccess);
    ASSERT_EQ(cudaStreamCreateWithFlags(&other, cudaStreamNonBlocking), cudaSuccess);

    // Direct launches, two steps, each step's results kept.
    float* x = device_copy(h);
    float *y, *acc, *out;
    ASSERT_EQ(cudaMalloc(&y, n * sizeof(float)), cudaSuccess);
    ASSERT_EQ(cudaMalloc(&acc, blocks * sizeof(float)), cudaSuccess);
    ASSERT_EQ(cudaMalloc(&out, n * sizeof(float)), cudaSuccess);
    // cudaMemcpy from pageable memory may return before its copy lands (the legacy
    // stream, which the non-blocking `s` does not wait for): the emulation's
    // initcheck catches a missing synchronisation here.
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    std::vector<std::vector<float>> direct_out, direct_acc, direct_x;
    for (int step = 0; step < 2; ++step) {
        sequence_step(s, x, y, acc, out, n);
        ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
        direct_out.push_back(host_copy(out, n));
        direct_acc.push_back(host_copy(acc, blocks));
        direct_x.push_back(host_copy(x, n));
    }
    // Spot check the direct results against the host.
    EXPECT_EQ(direct_out[0][5], 2.0f * h[5] + 1.0f);
    EXPECT_EQ(direct_out[1][5], 2.0f * (h[5] + 1.0f) + 1.0f);
    double block0 = 0;
    for (int i = 0; i < 128; ++i) block0 += 2.0 * h[i] + 1.0;
    EXPECT_EQ(direct_acc[0][0], static_cast<float>(block0));  // quarter-integers: exact

    // The same step captured on `s` into a graph: nothing runs while capturing.
    float* gx = device_copy(h);
    float *gy, *gacc, *gout;
    ASSERT_EQ(cudaMalloc(&gy, n * sizeof(float)), cudaSuccess);
    ASSERT_EQ(cudaMalloc(&gacc, blocks * sizeof(float)), cudaSuccess);
    ASSERT_EQ(cudaMalloc(&gout, n * sizeof(float)), cudaSuccess);
    ASSERT_EQ(cudaMemset(gout, 0, n * sizeof(float)), cudaSuccess);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
    ASSERT_EQ(cudaStreamIsCapturing(s, &status), cudaSuccess);
    EXPECT_EQ(status, cudaStreamCaptureStatusActive);
    sequence_step(s, gx, gy, gacc, gout, n);
    cudaGraph_t graph = nullptr;
    ASSERT_EQ(cudaStreamEndCapture(s, &graph), cudaSuccess);
    ASSERT_EQ(cudaStreamIsCapturing(s, &status), cudaSuccess);
    EXPECT_EQ(status, cudaStreamCaptureStatusNone);
    size_t nodes = 0;
    ASSERT_EQ(cudaGraphGetNodes(graph, nullptr, &nodes), cudaSuccess);
    EXPECT_EQ(nodes, 5u);
    EXPECT_EQ(host_copy(gx, n), h);                        // x += 1 did not run
    EXPECT_EQ(host_copy(gout, n), std::vector<float>(n, 0.0f));  // nor the copy

    // Two replays, on another stream: each equals the direct step bit for bit.
    cudaGraphExec_t exec = nullptr;
    ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
    for (int step = 0; step < 2; ++step) {
        SCOPED_TRACE("replay " + std::to_string(step));
        ASSERT_EQ(cudaGraphLaunch(exec, other), cudaSuccess);
        ASSERT_EQ(cudaStreamSynchronize(other), cudaSuccess);
        EXPECT_EQ(host_copy(gout, n), direct_out[step]);
        EXPECT_EQ(host_copy(gacc, blocks), direct_acc[step]);
        EXPECT_EQ(host_copy(gx, n), direct_x[step]);
    }
    expect_clean();
    ASSERT_EQ(cudaGraphExecDestroy(exec), cudaSuccess);
    ASSERT_EQ(cudaGraphDestroy(graph), cudaSuccess);
    EXPECT_EQ(cudaGraphDestroy(graph), cudaErrorInvalidResourceHandle);
    cudaGetLastError();
    cudaStreamDestroy(s);
    cudaStreamDestroy(other);
}

TEST_F(Emulation, StreamCaptureErrors) {
    cudaStream_t s;
    ASSERT_EQ(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), cudaSuccess);
    float* d = device_copy(std::vector<float>(64, 0.0f));
    // The legacy default stream cannot be captured.
    EXPECT_EQ(cudaStreamBeginCapture(nullptr, cudaStreamCaptureModeGlobal),
              cudaErrorStreamCaptureUnsupported);
    EXPECT_EQ(cudaGetLastError(), cudaErrorStreamCaptureUnsupported);
    // Ending a capture that was never begun.
    cudaGraph_t graph = nullptr;
    EXPECT_EQ(cudaStreamEndCapture(s, &graph), cudaErrorStreamCaptureUnmatched);
    cudaGetLastError();
    // Beginning twice.
    ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    EXPECT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaErrorIllegalState);
    cudaGetLastError();
    // Waiting for a capturing stream is not allowed and invalidates the capture:
    // ending it gives no graph.
    add_one<<<1, 64, 0, s>>>(d, 64);
    EXPECT_EQ(cudaStreamSynchronize(s), cudaErrorStreamCaptureUnsupported);
    cudaGetLastError();
    EXPECT_EQ(cudaStreamEndCapture(s, &graph), cudaErrorStreamCaptureInvalidated);
    EXPECT_EQ(graph, nullptr);
    cudaGetLastError();
    EXPECT_EQ(host_copy(d, 1)[0], 0.0f);  // the captured kernel never ran
    // A graph handle that is not one.
    cudaGraphExec_t exec = nullptr;
    EXPECT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaErrorInvalidValue);
    cudaGetLastError();
    // After all this the stream captures and replays normally.
    ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    add_one<<<1, 64, 0, s>>>(d, 64);
    ASSERT_EQ(cudaStreamEndCapture(s, &graph), cudaSuccess);
    ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
    ASSERT_EQ(cudaGraphLaunch(exec, s), cudaSuccess);
    ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
    EXPECT_EQ(host_copy(d, 64)[63], 1.0f);
    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(graph);
    cudaStreamDestroy(s);
}

}  // namespace
