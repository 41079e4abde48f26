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

// A backend on the current CUDA device. Throws fcnrt::Error when CUDA fails.
std::shared_ptr<Backend> make_cuda_backend();

}  // namespace fcnrt
