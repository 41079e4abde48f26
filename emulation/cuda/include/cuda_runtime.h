// The CUDA emulation's cuda_runtime.h: the runtime API plus everything device code
// sees (built-in variables, intrinsics, warp collectives, atomics, launches).
// See emulation/cuda/README.md.
#pragma once

#include "cuda_runtime_api.h"
#include "cuda_emu/device.h"
#include "cuda_emu/launch.h"
