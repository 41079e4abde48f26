// The CUDA backend: device memory from cudaMalloc, one non-blocking stream on which
// every copy and kernel is enqueued, errors turned into fcnrt::Error. Declared only
// when fcnrt is built with FCNRT_WITH_CUDA.
#pragma once

#include <memory>
#include <string>

#include "engine/backend.h"

namespace fcnrt {

// Whether the current CUDA device can run this build's kernels: a device exists and
// the binary holds code for its architecture (CMAKE_CUDA_ARCHITECTURES). `why_not`
// receives the reason (the CUDA error string) when not.
bool cuda_device_usable(std::string* why_not);

// A backend on CUDA device `device` (which becomes the calling thread's current
// device), or on the current device when `device` < 0. Its calls must come from a
// thread whose current device is its device (cudaSetDevice(cuda_backend_device(b))
// in a worker thread). Throws fcnrt::Error when CUDA fails.
std::shared_ptr<Backend> make_cuda_backend(int device = -1);

// The device index of a backend made by make_cuda_backend; -1 for any other backend.
int cuda_backend_device(const Backend& backend);

// CUDA devices visible (0 when the runtime reports none or fails).
int cuda_device_count();

}  // namespace fcnrt
