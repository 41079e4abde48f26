// Several CUDA devices for one command: `--device cuda:0,cuda:1` or `cuda:all`
// (fcnrt segment spreads its tiles over them, engine/segment/tiling.h
// segment_image_on). One backend per device, each bound to its device.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/backend.h"

namespace fcnrt {

// Whether `device` names a list of CUDA devices ("cuda:all", "cuda:N" or
// "cuda:N,cuda:M,..."), as opposed to auto, cpu, cuda or reference.
bool is_cuda_device_list(const std::string& device);

// The devices of such a list, in the order given: "cuda:all" is every device
// the runtime sees. Throws fcnrt::Error for a malformed list, a repeated or
// missing device, or no usable CUDA device. `chosen` gets one line naming them.
std::vector<std::shared_ptr<Backend>> select_cuda_backends(const std::string& device,
                                                           std::string* chosen);

}  // namespace fcnrt
