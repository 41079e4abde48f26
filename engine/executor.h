// Runs a model on a backend. Weights go to the device once, at construction;
// memory is planned once per set of input shapes (one arena); a run copies the
// inputs in, runs every node's kernel in order and copies the outputs out. No
// allocation and no synchronisation happen inside the per-node loop.
//
// run() is three phases that a benchmark may call (and time) one by one:
// upload_inputs(), execute() and download_outputs(), then backend().synchronize().
//
// Graphs. On a backend that can record work (CUDA: Backend::capture), execute()
// captures the per-node loop once per planned shape and afterwards replays it
// with one launch; a re-plan (new input shapes) drops the graph, and the next
// execute() captures again. A per-node timer needs marks between the nodes, so
// execute(timer) always runs the loop directly (graph-off). set_graphs(false)
// turns graphs off; the host backends never have them.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/backend.h"
#include "engine/graph.h"
#include "engine/memory_plan.h"

namespace fcnrt {

// An input array the caller owns, read in place (float32, dense C order): the
// C++ API and the Python module hand theirs over without a copy.
struct HostInput {
    const float* data = nullptr;
    Shape shape;
};

class Executor {
public:
    // `model` must outlive the executor. `precision` is that of the convolutions'
    // multiply-adds (kernels/precision.h): fp32, or on the CUDA backend a
    // tensor-core format; the host backends throw fcnrt::Error for anything but fp32.
    Executor(const Model& model, std::shared_ptr<Backend> backend,
             Precision precision = Precision::Fp32);

    // Inputs by graph input name; outputs in the graph's output order. Throws
    // fcnrt::Error on a missing, extra or wrongly shaped input.
    std::vector<Tensor> run(const std::map<std::string, Tensor>& inputs);
    // The same for arrays the caller owns.
    std::vector<Tensor> run_arrays(const std::map<std::string, HostInput>& inputs);

    // Checks the inputs, plans for their shapes (only when they changed) and
    // enqueues their copy to the device. `inputs` must stay alive and unchanged
    // until the next synchronize().
    void upload_inputs(const std::map<std::string, Tensor>& inputs);
    void upload_input_arrays(const std::map<std::string, HostInput>& inputs);
    // Enqueues every node's kernel on the uploaded inputs. With `node_timer`
    // (at least nodes + 1 marks) mark i is taken before node i and mark `nodes`
    // after the last, so elapsed_ms(i, i + 1) is node i's time once synchronized;
    // nothing synchronises per node.
    void execute(StreamTimer* node_timer = nullptr);
    // Enqueues the copy of every graph output into `outputs` (in the graph's
    // output order), reusing its tensors when their shapes fit; the values are
    // there after backend().synchronize().
    void download_outputs(std::vector<Tensor>& outputs);

    // Plans (or re-plans) for these input shapes without running.
    const MemoryPlan& prepare(const std::map<std::string, Shape>& input_shapes);

    // Device views of a graph input and of graph output `index`, in the planned
    // arena (valid until the next re-plan), for callers that move data
    // themselves (engine/segment/gpu_tiles.cpp). Throw before any plan.
    View input_view(const std::string& name) const;
    View output_view(size_t index) const;

    // On by default; only backends with Backend::capture use it.
    void set_graphs(bool on);
    // Drops the captured graph, so the next execute() captures again: for a
    // caller that changed something kernels read at launch (a graph keeps the
    // launch parameters it was captured with, e.g. a precision setting).
    void recapture() { graph_.reset(); }
    bool graphs() const { return graphs_; }
    // Times the per-node loop was captured into a graph (once per planned shape
    // while graphs are on), and replays of such graphs: for tests and bench.
    size_t graph_captures() const { return graph_captures_; }
    size_t graph_replays() const { return graph_replays_; }

    const MemoryPlan* plan() const { return plan_ ? &*plan_ : nullptr; }
    Backend& backend() { return *backend_; }
    // Bytes of the device buffer holding every weight (each 256-byte aligned).
    size_t weight_bytes() const { return weight_bytes_; }
    Precision precision() const { return precision_; }

private:
    void check_inputs(const std::map<std::string, HostInput>& inputs) const;
    std::vector<View> node_weight_views(const Node& n) const;
    const MemoryPlan& planned(const char* phase) const;
    void enqueue_nodes(StreamTimer* node_timer);
    std::vector<Tensor> finish_run();  // execute, synchronize, download

    const Model& model_;
    std::shared_ptr<Backend> backend_;
    Precision precision_;
    std::shared_ptr<void> weight_memory_;
    size_t weight_bytes_ = 0;
    std::map<std::string, View> weight_views_;
    std::vector<std::shared_ptr<const void>> prepared_;  // per node: its op's prepared weights

    std::unique_ptr<MemoryPlan> plan_;
    std::shared_ptr<void> arena_;
    std::vector<KernelArgs> node_args_;  // one per node, resolved against the arena

    bool graphs_ = true;
    bool graphs_unsupported_ = false;      // the backend returned no capture: stop asking
    std::unique_ptr<CapturedWork> graph_;  // the per-node loop for the current plan
    size_t graph_captures_ = 0, graph_replays_ = 0;
};

}  // namespace fcnrt
