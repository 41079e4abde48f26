#include "engine/device.h"

#include "engine/error.h"
#include "engine/multi_device.h"

#ifdef FCNRT_WITH_CUDA
#include "engine/cuda_backend.h"
#endif

namespace fcnrt {

bool cuda_usable(std::string* why_not) {
#ifdef FCNRT_WITH_CUDA
    return cuda_device_usable(why_not);
#else
    if (why_not) *why_not = "this fcnrt was built without CUDA (configure with -DFCNRT_WITH_CUDA=ON, nvcc on PATH)";
    return false;
#endif
}

bool cuda_emulated() {
#ifdef FCNRT_CUDA_EMULATION
    return true;
#else
    return false;
#endif
}

std::shared_ptr<Backend> select_backend(const std::string& device, std::string* chosen) {
    std::shared_ptr<Backend> backend;
    std::string note;
    if (is_cuda_device_list(device)) {  // cuda:N: one device of several
        std::vector<std::shared_ptr<Backend>> list = select_cuda_backends(device, chosen);
        if (list.size() != 1)
            throw Error("--device " + device + ": this command runs on one device (cuda:N)");
        return list[0];
    }
    if (device == "cpu") {
        backend = make_cpu_backend(BackendKind::Cpu);
    } else if (device == "reference") {
        backend = make_cpu_backend(BackendKind::Reference);
    } else if (device == "auto" && cuda_emulated()) {
        // The emulated device is for tests: never chosen unasked.
        backend = make_cpu_backend(BackendKind::Cpu);
        note = " (the CUDA device is emulated on the CPU; --device cuda uses it)";
    } else if (device == "cuda" || device == "auto") {
        std::string why_not;
        if (cuda_usable(&why_not)) {
#ifdef FCNRT_WITH_CUDA
            backend = make_cuda_backend();
#endif
        } else if (device == "cuda") {
            throw Error("--device cuda: no usable CUDA device: " + why_not);
        } else {
            backend = make_cpu_backend(BackendKind::Cpu);
            note = " (no usable CUDA device: " + why_not + ")";
        }
    } else {
        throw Error("--device: unknown device '" + device + "' (use auto, cpu or cuda)");
    }
    if (chosen) *chosen = "device: " + backend->description() + note;
    return backend;
}

}  // namespace fcnrt
