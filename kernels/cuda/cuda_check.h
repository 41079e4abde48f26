// Error checking for CUDA runtime calls and kernel launches.
//
// CUDA_CHECK(expr) evaluates a cudaError_t-returning runtime call once and throws
// std::runtime_error("CUDA error: <cudaGetErrorString> (<expr>) at file:line")
// when it did not return cudaSuccess. check_launch(name) goes right after every
// kernel launch: it reads (and clears) cudaGetLastError, which is where a bad
// launch configuration or a missing kernel image shows up, and throws likewise.
// Errors raised while a kernel runs surface at the next synchronising call.
// Library code above the kernels (engine/cuda_backend.cpp) turns these into
// fcnrt::Error; kernels themselves throw only std::runtime_error.
#pragma once

#include <stdexcept>
#include <string>

#include <cuda_runtime_api.h>

namespace fcnrt::cuda {

[[noreturn]] inline void throw_cuda_error(cudaError_t err, const char* expr, const char* file,
                                          int line) {
    throw std::runtime_error(std::string("CUDA error: ") + cudaGetErrorString(err) + " (" +
                             expr + ") at " + file + ":" + std::to_string(line));
}

// Blocks for a grid-stride loop over `work` items with `threads` per block: enough
// to cover the work, clamped so that huge tensors loop instead of overflowing the
// grid (65535 * 16 blocks keep every SM of an H100/H200 busy many times over).
// Callers skip the launch when work == 0.
inline unsigned grid_for(long long work, int threads) {
    const long long max_blocks = 65535LL * 16;
    long long blocks = (work + threads - 1) / threads;
    if (blocks < 1) blocks = 1;
    if (blocks > max_blocks) blocks = max_blocks;
    return static_cast<unsigned>(blocks);
}

// Checks the most recent kernel launch on this thread.
inline void check_launch(const char* kernel_name) {
    const cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess) {
        throw std::runtime_error(std::string("CUDA error: ") + cudaGetErrorString(err) +
                                 " (launch of " + kernel_name + ")");
    }
}

// cudaFuncGetAttributes of a trivial kernel of this library (defined in
// elementwise.cu) on the current device: cudaErrorNoKernelImageForDevice when the
// binary holds no code the device can run (CMAKE_CUDA_ARCHITECTURES too new for
// it). Used by engine/cuda_backend.cpp to decide whether CUDA is usable.
cudaError_t kernel_image_status();

}  // namespace fcnrt::cuda

#define CUDA_CHECK(expr)                                                              \
    do {                                                                              \
        const cudaError_t fcnrt_cuda_check_err_ = (expr);                             \
        if (fcnrt_cuda_check_err_ != cudaSuccess) {                                   \
            ::fcnrt::cuda::throw_cuda_error(fcnrt_cuda_check_err_, #expr, __FILE__,   \
                                            __LINE__);                                \
        }                                                                             \
    } while (0)
