#include "engine/segment/memory_budget.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "engine/error.h"

namespace fcnrt {

size_t default_host_budget() {
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
    const size_t four_gib = size_t(4) << 30;
    if (pages <= 0 || page <= 0) return four_gib;
    return std::min(four_gib, size_t(pages) * size_t(page) / 2);
}

std::string bytes_text(size_t b) {
    char buf[64];
    if (b >= (size_t(1) << 30))
        std::snprintf(buf, sizeof buf, "%.2f GiB", double(b) / double(1 << 30));
    else
        std::snprintf(buf, sizeof buf, "%.1f MiB", double(b) / double(1 << 20));
    return buf;
}

SegmentBudget plan_segment_budget(const Model& model, Executor& executor, size_t requested,
                                  size_t resident_before_runs) {
    Backend& backend = executor.backend();
    SegmentBudget b;
    b.on_device = backend.kind() == BackendKind::Cuda;
    // On a GPU the runs live in device memory: the default budget is 80% of what
    // is free there now (weights already uploaded), and the host process is not
    // counted against it.
    b.total = requested     ? requested
              : b.on_device ? backend.free_device_bytes() / 5 * 4 + executor.weight_bytes()
                            : default_host_budget();
    const size_t resident = b.on_device ? 0 : resident_before_runs;
    const size_t counted = b.on_device ? 0 : executor.weight_bytes();
    b.reserve = b.on_device ? 0
                            : (resident > counted ? resident - counted : 0) +
                                  backend.kernel_scratch_bytes(model) + kRuntimeAllowance;
    if (b.reserve >= b.total)
        throw Error(model.path, "",
                    "--max-memory " + bytes_text(b.total) +
                        " leaves nothing for images: the program, this model and "
                        "the kernels' scratch already take " +
                        bytes_text(b.reserve));
    b.images = b.total - b.reserve;
    return b;
}

std::string budget_text(const SegmentBudget& b) {
    return b.on_device ? bytes_text(b.total) + " device budget"
                       : bytes_text(b.total) + " budget, " + bytes_text(b.reserve) +
                             " of it set aside for the program, model and kernel scratch";
}

}  // namespace fcnrt
