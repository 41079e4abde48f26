// Choosing the backend for `--device auto|cpu|cuda` (and `reference`, the
// naive kernels, for debugging and tests).
#pragma once

#include <memory>
#include <string>

#include "engine/backend.h"

namespace fcnrt {

// Throws fcnrt::Error for an unknown name or `cuda` without a usable GPU.
// `chosen` receives a line saying which device runs and, for auto, why.
std::shared_ptr<Backend> select_backend(const std::string& device, std::string* chosen);

// Whether a CUDA device can run our kernels; `why_not` says why not.
bool cuda_usable(std::string* why_not);

// Whether the CUDA device is the CPU emulation (-DFCNRT_CUDA_EMULATION=ON,
// emulation/cuda/): usable with --device cuda, never chosen by auto.
bool cuda_emulated();

}  // namespace fcnrt
