#include "engine/multi_device.h"

#include <algorithm>
#include <cstdlib>

#include "engine/device.h"
#include "engine/error.h"

#ifdef FCNRT_WITH_CUDA
#include "engine/cuda_backend.h"
#endif

namespace fcnrt {

bool is_cuda_device_list(const std::string& device) {
    return device.rfind("cuda:", 0) == 0;
}

std::vector<std::shared_ptr<Backend>> select_cuda_backends(const std::string& device,
                                                           std::string* chosen) {
    const std::string form = " (use cuda:all or cuda:N[,cuda:M...])";
    if (!is_cuda_device_list(device))
        throw Error("--device: '" + device + "' is not a list of CUDA devices" + form);
    std::string why_not;
    if (!cuda_usable(&why_not))
        throw Error("--device " + device + ": no usable CUDA device: " + why_not);
#ifdef FCNRT_WITH_CUDA
    const int count = cuda_device_count();
    std::vector<int> ids;
    if (device == "cuda:all") {
        for (int d = 0; d < count; ++d) ids.push_back(d);
    } else {
        size_t at = 0;
        while (at <= device.size()) {
            const size_t comma = std::min(device.find(',', at), device.size());
            const std::string item = device.substr(at, comma - at);
            const std::string digits = item.rfind("cuda:", 0) == 0 ? item.substr(5) : "";
            if (digits.empty() || digits.size() > 4 ||
                digits.find_first_not_of("0123456789") != std::string::npos)
                throw Error("--device: '" + item + "' in '" + device + "' is not cuda:N" + form);
            const int id = std::atoi(digits.c_str());
            if (id >= count)
                throw Error("--device: " + item + ": there " +
                            (count == 1 ? std::string("is 1 CUDA device")
                                        : "are " + std::to_string(count) + " CUDA devices") +
                            " (cuda:0 to cuda:" + std::to_string(count - 1) + ")");
            if (std::find(ids.begin(), ids.end(), id) != ids.end())
                throw Error("--device: " + item + " is given twice in '" + device + "'");
            ids.push_back(id);
            at = comma + 1;
        }
    }
    std::vector<std::shared_ptr<Backend>> backends;
    std::string names;
    for (int id : ids) {
        backends.push_back(make_cuda_backend(id));
        names += (names.empty() ? "" : "; ") + std::string("cuda:") + std::to_string(id) + " " +
                 backends.back()->description();
    }
    if (chosen)
        *chosen = "device: " + std::to_string(ids.size()) + " CUDA device" +
                  (ids.size() == 1 ? "" : "s") + ": " + names;
    return backends;
#else
    (void)chosen;
    throw Error("--device " + device + ": this fcnrt was built without CUDA");
#endif
}

}  // namespace fcnrt
