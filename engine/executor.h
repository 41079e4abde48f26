// Runs a model on a backend. Weights go to the device once, at construction;
// memory is planned once per set of input shapes (one arena); a run copies the
// inputs in, runs every node's kernel in order and copies the outputs out. No
// allocation and no synchronisation happen inside the per-node loop.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/backend.h"
#include "engine/graph.h"
#include "engine/memory_plan.h"

namespace fcnrt {

class Executor {
public:
    // `model` must outlive the executor.
    Executor(const Model& model, std::shared_ptr<Backend> backend);

    // Inputs by graph input name; outputs in the graph's output order. Throws
    // fcnrt::Error on a missing, extra or wrongly shaped input.
    std::vector<Tensor> run(const std::map<std::string, Tensor>& inputs);

    // Plans (or re-plans) for these input shapes without running.
    const MemoryPlan& prepare(const std::map<std::string, Shape>& input_shapes);

    const MemoryPlan* plan() const { return plan_ ? &*plan_ : nullptr; }
    Backend& backend() { return *backend_; }

private:
    void check_inputs(const std::map<std::string, Tensor>& inputs) const;

    const Model& model_;
    std::shared_ptr<Backend> backend_;
    std::shared_ptr<void> weight_memory_;
    std::map<std::string, View> weight_views_;

    std::unique_ptr<MemoryPlan> plan_;
    std::shared_ptr<void> arena_;
    std::vector<KernelArgs> node_args_;  // one per node, resolved against the arena
};

}  // namespace fcnrt
