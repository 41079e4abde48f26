// The memory budget of whole-image segmentation (`fcnrt segment --max-memory`,
// the C++ API's and the Python module's max_memory): what one budget for the
// whole process leaves for the images once the program, the model and the
// kernels' scratch are set aside (host), or the device budget (GPU).
#pragma once

#include <cstddef>
#include <string>

#include "engine/executor.h"
#include "engine/graph.h"

namespace fcnrt {

// What the process's resident memory grows by once kernels run, beyond the
// planned buffers and the kernels' own scratch: OpenMP thread stacks, allocator
// arenas. Measured 17 to 21 MiB (1 and 2 threads) by the peak RSS of `segment`
// on 8000x8000 and 20000x20000 images when the CPU convs still ran on OpenBLAS,
// whose own buffers were part of that figure; kept, rounded up, as an upper bound.
constexpr size_t kRuntimeAllowance = size_t(24) << 20;

// The default budget on the CPU: min(4 GiB, half the physical RAM).
size_t default_host_budget();

// "1.50 GiB" or "12.3 MiB", for notes and messages.
std::string bytes_text(size_t bytes);

struct SegmentBudget {
    size_t total = 0;    // the whole budget (given, or the default)
    size_t reserve = 0;  // set aside before any image (0 on a device)
    size_t images = 0;   // total - reserve: what image buffers and tile runs share
    bool on_device = false;
};

// The budget for segmenting with `executor` (weights already uploaded).
// `requested` 0 means the default: on a GPU 80% of its free memory plus the
// weights, on the CPU default_host_budget(). On the CPU the budget is for the
// whole process: `resident` (resident_bytes() measured once the executor was
// made, before any run: the runs' arenas are in their planned bytes), less the
// executor's weights (likewise), the kernels' per-thread scratch and
// kRuntimeAllowance are set aside first. Throws fcnrt::Error(model.path) when
// nothing is left for images.
SegmentBudget plan_segment_budget(const Model& model, Executor& executor, size_t requested,
                                  size_t resident);

// The note's words for it: "2.00 GiB budget, 35.1 MiB of it set aside for the
// program, model and kernel scratch", or "10.00 GiB device budget".
std::string budget_text(const SegmentBudget& budget);

}  // namespace fcnrt
