// Memory planning for one set of input shapes: every activation tensor gets a
// byte offset in one arena, reused by liveness so that the peak is far below
// the sum of all tensors. Pass-through ops (identity, dropout, flatten) alias
// their input; a concat's inputs are written by their producers straight into
// their slice of the concat output where that is possible.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "engine/graph.h"

namespace fcnrt {

struct Placement {
    size_t offset = 0;         // bytes from the arena's start
    int64_t batch_stride = 0;  // elements between batch items (>= C*H*W)
};

struct MemoryPlan {
    std::map<std::string, std::vector<int64_t>> input_shapes;  // what the plan is for
    std::map<std::string, TensorInfo> tensors;   // every activation tensor's dtype and shape
    std::map<std::string, Placement> placement;  // every activation tensor's place
    size_t arena_bytes = 0;                      // the planned peak
    size_t unplanned_bytes = 0;  // the sum of all tensors, each in memory of its own
    // Host scratch that the fast CPU kernels take beyond the arena at these
    // shapes: the most any node takes (OpDef::host_scratch). Memory budgets add
    // it on every backend (on a GPU it over-counts the host's share a little).
    size_t host_scratch_bytes = 0;
    std::vector<std::string> in_place_concat_inputs;  // written straight into a concat slice
    std::vector<std::string> aliased;                 // outputs that share their input's memory
};

// Throws fcnrt::Error (naming the node) when the shapes do not fit the graph.
MemoryPlan plan_memory(const Model& model, const std::map<std::string, Shape>& input_shapes);

// The 4-D view of tensor `name` inside an arena starting at `arena`.
View placed_view(const MemoryPlan& plan, const std::string& name, void* arena);

}  // namespace fcnrt
