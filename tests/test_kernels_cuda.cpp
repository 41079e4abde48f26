// The CUDA kernels against the float64 reference kernels, over every case of the
// op catalogue (tests/op_cases.h), with the generic driver (tests/op_case_driver.h).
//
// Each case's host buffers (guards, gaps, poisoned outputs) are copied whole to the
// device, the kernel is launched on a stream, and after synchronising every buffer
// comes back, so a CUDA kernel is held to the same checks as the CPU ones: every
// output element written, nothing outside the views touched, inputs unchanged.
// Tolerance: each case's own (1e-5 relative max-norm for float32, exact for int32
// and integer data). Without a usable CUDA device every test is SKIPPED, saying why.
#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <algorithm>
#include <string>
#include <vector>

#include "engine/cuda_backend.h"
#include "kernels/cuda/concat.h"
#include "kernels/cuda/conv.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/dense.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/layout.h"
#include "kernels/cuda/norm.h"
#include "kernels/cuda/pool.h"
#include "kernels/cuda/resize.h"
#include "kernels/cuda/softmax.h"
#include "tests/op_case_driver.h"

namespace fcnrt::test {
namespace {

// Whether CUDA is usable, asked once; `why` says why not.
bool cuda_available(std::string* why) {
    static std::string why_not;
    static const bool usable = cuda_device_usable(&why_not);
    *why = why_not;
    return usable;
}

// Device copies of a case's host buffers; one stream for the kernels.
class CudaCaseMemory final : public CaseMemory {
public:
    CudaCaseMemory() { CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)); }
    ~CudaCaseMemory() override {
        release();
        cudaStreamDestroy(stream_);
    }

    void* mirror(std::vector<uint32_t>& bits) override {
        void* device = nullptr;
        const size_t bytes = bits.size() * sizeof(uint32_t);
        CUDA_CHECK(cudaMalloc(&device, std::max<size_t>(bytes, 4)));
        buffers_.push_back({&bits, device});
        // On the kernels' stream: a plain cudaMemcpy from pageable memory may return
        // before its DMA lands, and a non-blocking stream would not wait for it.
        CUDA_CHECK(cudaMemcpyAsync(device, bits.data(), bytes, cudaMemcpyHostToDevice, stream_));
        return device;
    }

    void finish() override {
        CUDA_CHECK(cudaStreamSynchronize(stream_));
        CUDA_CHECK(cudaGetLastError());
        for (const Buffer& b : buffers_) {
            CUDA_CHECK(cudaMemcpyAsync(b.host->data(), b.device,
                                       b.host->size() * sizeof(uint32_t), cudaMemcpyDeviceToHost,
                                       stream_));
        }
        CUDA_CHECK(cudaStreamSynchronize(stream_));
        release();
    }

    void discard() override {
        cudaStreamSynchronize(stream_);
        cudaGetLastError();
        release();
    }

    cudaStream_t stream() const { return stream_; }

private:
    struct Buffer {
        std::vector<uint32_t>* host;
        void* device;
    };
    void release() {
        for (const Buffer& b : buffers_) cudaFree(b.device);
        buffers_.clear();
    }

    cudaStream_t stream_ = nullptr;
    std::vector<Buffer> buffers_;
};

// The CUDA entry points, each given `stream` as its last argument. The views they
// receive already point at device memory (CudaCaseMemory).
KernelSet cuda_kernels(cudaStream_t s) {
    KernelSet k;
    k.name = "fcnrt::cuda";
    k.conv2d = [s](const View& x, const View& w, const float* b, const View& y,
                   const Conv2dParams& p) { cuda::conv2d(x, w, b, y, p, s); };
    k.conv_transpose2d = [s](const View& x, const View& w, const float* b, const View& y,
                             const ConvTranspose2dParams& p) {
        cuda::conv_transpose2d(x, w, b, y, p, s);
    };
    k.max_pool2d = [s](const View& x, const View& y, const View& i, const Pool2dParams& p) {
        cuda::max_pool2d(x, y, i, p, s);
    };
    k.avg_pool2d = [s](const View& x, const View& y, const Pool2dParams& p) {
        cuda::avg_pool2d(x, y, p, s);
    };
    k.global_avg_pool = [s](const View& x, const View& y) { cuda::global_avg_pool(x, y, s); };
    k.max_unpool2d = [s](const View& x, const View& i, const View& y) {
        cuda::max_unpool2d(x, i, y, s);
    };
    k.activation = [s](const View& x, const View& y, ActivationParams a) {
        cuda::activation(x, y, a, s);
    };
    k.hard_sigmoid = [s](const View& x, const View& y, float alpha, float beta) {
        cuda::hard_sigmoid(x, y, alpha, beta, s);
    };
    k.hard_swish = [s](const View& x, const View& y) { cuda::hard_swish(x, y, s); };
    k.prelu = [s](const View& x, const float* slope, int64_t count, const View& y) {
        cuda::prelu(x, slope, count, y, s);
    };
    k.elu = [s](const View& x, const View& y, float alpha) { cuda::elu(x, y, alpha, s); };
    k.gelu = [s](const View& x, const View& y, bool tanh_form) { cuda::gelu(x, y, tanh_form, s); };
    k.binary = [s](const View& a, const View& b, const View& y, const BinaryParams& p) {
        cuda::binary(a, b, y, p, s);
    };
    k.batch_norm = [s](const View& x, const float* scale, const float* bias, const float* mean,
                       const float* var, float eps, ActivationParams act, const View& y) {
        cuda::batch_norm(x, scale, bias, mean, var, eps, act, y, s);
    };
    k.copy = [s](const View& x, const View& y) { cuda::copy(x, y, s); };
    k.concat_copy = [s](const View& x, const View& y, int axis, int64_t offset) {
        cuda::concat_copy(x, y, axis, offset, s);
    };
    k.softmax = [s](const View& x, const View& y, int axis) { cuda::softmax(x, y, axis, s); };
    k.argmax = [s](const View& x, const View& y, int axis) { cuda::argmax(x, y, axis, s); };
    k.resize = [s](const View& x, const View& y, const ResizeParams& p) {
        cuda::resize(x, y, p, s);
    };
    k.crop = [s](const View& x, const View& y, int64_t top, int64_t left) {
        cuda::crop(x, y, top, left, s);
    };
    k.pad = [s](const View& x, const View& y, const PadParams& p) { cuda::pad(x, y, p, s); };
    k.depth_to_space = [s](const View& x, const View& y, const SpaceDepthParams& p) {
        cuda::depth_to_space(x, y, p, s);
    };
    k.space_to_depth = [s](const View& x, const View& y, const SpaceDepthParams& p) {
        cuda::space_to_depth(x, y, p, s);
    };
    k.dense = [s](const View& x, const View& w, const float* b, const View& y, ActivationParams a) {
        cuda::dense(x, w, b, y, a, s);
    };
    k.group_norm = [s](const View& x, const float* scale, const float* bias, const View& y,
                       int64_t groups, float eps) { cuda::group_norm(x, scale, bias, y, groups, eps, s); };
    return k;
}

// Skips every test without a usable CUDA device, saying why.
class CudaKernels : public ::testing::Test {
protected:
    void SetUp() override {
        std::string why;
        if (!cuda_available(&why)) GTEST_SKIP() << "no usable CUDA device: " << why;
    }
};

// One test per family of the catalogue (op_case_families()).
class CudaKernelFamilies : public CudaKernels, public ::testing::WithParamInterface<std::string> {};

TEST_P(CudaKernelFamilies, MatchReference) {
    CudaCaseMemory memory;
    check_family(GetParam(), reference_kernels(), cuda_kernels(memory.stream()), &memory);
}

INSTANTIATE_TEST_SUITE_P(Catalogue, CudaKernelFamilies, ::testing::ValuesIn(op_case_families()),
                         family_test_name);

// Every family of the catalogue has a test above, and case names are unique.
TEST_F(CudaKernels, CatalogueIsCovered) {
    expect_catalogue_covered();
}

// Every CUDA kernel is deterministic: the same case twice gives the same bits
// (no float atomics, fixed reduction orders; max_unpool's atomicMax picks one
// winner whatever the schedule).
TEST_F(CudaKernels, Deterministic) {
    CudaCaseMemory memory;
    expect_deterministic(cuda_kernels(memory.stream()), &memory);
}

// A device that is present but cannot run this build must be reported, not used.
TEST(CudaDevice, UsabilityIsExplained) {
    std::string why;
    if (!cuda_available(&why)) {
        EXPECT_FALSE(why.empty());
        GTEST_SKIP() << "no usable CUDA device: " << why;
    }
    EXPECT_EQ(cuda::kernel_image_status(), cudaSuccess);
}

}  // namespace
}  // namespace fcnrt::test
