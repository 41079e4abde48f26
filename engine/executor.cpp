#include "engine/executor.h"

#include "engine/error.h"

namespace fcnrt {

namespace {

std::string expected_shape(const Shape& s) {
    std::string out = "[";
    for (size_t i = 0; i < s.size(); ++i)
        out += (i ? ", " : "") + (s[i] == kUnknownDim ? std::string("?") : std::to_string(s[i]));
    return out + "]";
}

}  // namespace

Executor::Executor(const Model& model, std::shared_ptr<Backend> backend, Precision precision)
    : model_(model), backend_(std::move(backend)), precision_(precision) {
    if (precision_ != Precision::Fp32 && backend_->kind() != BackendKind::Cuda)
        throw Error(model_.path, "", std::string("precision ") + precision_name(precision_) +
                                         " needs the CUDA backend; " + backend_->description() +
                                         " computes in fp32 only");
    for (const Node& n : model_.graph.nodes)
        if (!n.op->output_aliases_input && !backend_->kernel(*n.op))
            throw Error(model_.path, n.name,
                        "op " + n.op->name + " has no kernel on " + backend_->description());

    // All weights in one device buffer, each 256-byte aligned.
    std::map<std::string, size_t> offsets;
    size_t total = 0;
    for (const auto& [name, t] : model_.weights) {
        offsets[name] = total;
        total += (t.bytes() + 255) / 256 * 256;
    }
    weight_bytes_ = total;
    weight_memory_ = backend_->allocate(total, "the weights of " + model_.path);
    for (const auto& [name, t] : model_.weights) {
        char* dst = static_cast<char*>(weight_memory_.get()) + offsets[name];
        backend_->copy_to_device(dst, t.data(), t.bytes());
        weight_views_[name] = view_of(dst, t.dtype(), t.shape());
    }
    backend_->synchronize();

    // Weights rearranged for this backend's kernels, once (e.g. packed GEMM panels).
    for (const Node& n : model_.graph.nodes) {
        PrepareFn prepare = n.op->prepare[int(backend_->kind())];
        std::shared_ptr<const void> prepared;
        if (prepare) {
            try {
                prepared = prepare(*n.params, node_weight_views(n), precision_);
            } catch (const std::runtime_error& e) {
                throw Error(model_.path, n.name, e.what());
            }
        }
        prepared_.push_back(std::move(prepared));
    }
}

std::vector<View> Executor::node_weight_views(const Node& n) const {
    std::vector<View> views;
    for (const std::string& w : n.weights) {
        View v;
        v.data = nullptr;
        views.push_back(w.empty() ? v : weight_views_.at(w));
    }
    return views;
}

void Executor::check_inputs(const std::map<std::string, HostInput>& inputs) const {
    for (const auto& [name, t] : inputs) {
        bool declared = false;
        for (const GraphInput& in : model_.graph.inputs) declared |= in.name == name;
        if (!declared) throw Error(model_.path, "", "the graph has no input named '" + name + "'");
    }
    for (const GraphInput& in : model_.graph.inputs) {
        auto it = inputs.find(in.name);
        if (it == inputs.end()) throw Error(model_.path, "", "input '" + in.name + "' is missing");
        const HostInput& t = it->second;
        bool ok = t.shape.size() == in.shape.size();
        for (size_t i = 0; ok && i < in.shape.size(); ++i)
            ok = t.shape[i] >= 1 && (in.shape[i] == kUnknownDim || in.shape[i] == t.shape[i]);
        if (!ok)
            throw Error(model_.path, "", "input '" + in.name + "' has shape " +
                                             shape_to_string(t.shape) + ", the graph expects " +
                                             expected_shape(in.shape));
    }
}

const MemoryPlan& Executor::prepare(const std::map<std::string, Shape>& input_shapes) {
    if (plan_ && plan_->input_shapes == input_shapes) return *plan_;
    graph_.reset();  // its kernels point into the old arena
    plan_.reset();
    node_args_.clear();
    arena_.reset();  // free the old arena before asking for the new one

    auto plan = std::make_unique<MemoryPlan>(plan_memory(model_, input_shapes));
    // An out-of-memory error names the largest tensor: the one to shrink.
    std::string largest;
    size_t largest_bytes = 0;
    for (const auto& [name, info] : plan->tensors) {
        const size_t b = size_t(checked_numel(info.shape, dtype_size(info.dtype))) * dtype_size(info.dtype);
        if (b > largest_bytes) {
            largest_bytes = b;
            largest = name;
        }
    }
    arena_ = backend_->allocate(plan->arena_bytes,
                                "the activations of " + model_.path + " (largest: tensor '" +
                                    largest + "', " + std::to_string(largest_bytes) + " bytes)");
    void* arena = arena_.get();
    for (size_t i = 0; i < model_.graph.nodes.size(); ++i) {
        const Node& n = model_.graph.nodes[i];
        KernelArgs a;
        a.params = n.params.get();
        a.stream = backend_->stream();
        a.prepared = prepared_[i].get();
        for (const std::string& t : n.inputs) a.inputs.push_back(placed_view(*plan, t, arena));
        a.weights = node_weight_views(n);
        for (const std::string& t : n.outputs) a.outputs.push_back(placed_view(*plan, t, arena));
        node_args_.push_back(std::move(a));
    }
    plan_ = std::move(plan);
    return *plan_;
}

const MemoryPlan& Executor::planned(const char* phase) const {
    if (!plan_) throw Error(model_.path, "", std::string(phase) + " before upload_inputs");
    return *plan_;
}

void Executor::upload_inputs(const std::map<std::string, Tensor>& inputs) {
    std::map<std::string, HostInput> arrays;
    for (const auto& [name, t] : inputs) {
        if (t.dtype() != DType::F32)
            throw Error(model_.path, "", "input '" + name + "' must be float32, got " +
                                             dtype_name(t.dtype()));
        arrays[name] = {t.f32(), t.shape()};
    }
    upload_input_arrays(arrays);
}

void Executor::upload_input_arrays(const std::map<std::string, HostInput>& inputs) {
    check_inputs(inputs);
    std::map<std::string, Shape> shapes;
    for (const auto& [name, t] : inputs) shapes[name] = t.shape;
    const MemoryPlan& plan = prepare(shapes);
    char* arena = static_cast<char*>(arena_.get());
    for (const GraphInput& in : model_.graph.inputs) {
        const HostInput& t = inputs.at(in.name);
        backend_->copy_to_device(arena + plan.placement.at(in.name).offset, t.data,
                                 size_t(checked_numel(t.shape)) * sizeof(float));
    }
}

View Executor::input_view(const std::string& name) const {
    const MemoryPlan& plan = planned("input_view");
    if (!plan.placement.count(name))
        throw Error(model_.path, "", "the graph has no input named '" + name + "'");
    return placed_view(plan, name, arena_.get());
}

View Executor::output_view(size_t index) const {
    const MemoryPlan& plan = planned("output_view");
    if (index >= model_.graph.outputs.size())
        throw Error(model_.path, "", "the graph has no output " + std::to_string(index));
    return placed_view(plan, model_.graph.outputs[index], arena_.get());
}

void Executor::set_graphs(bool on) {
    graphs_ = on;
    if (!on) graph_.reset();
}

void Executor::execute(StreamTimer* node_timer) {
    planned("execute");
    const auto& nodes = model_.graph.nodes;
    if (node_timer && node_timer->marks() < nodes.size() + 1)
        throw Error(model_.path, "",
                    "a per-node timer needs " + std::to_string(nodes.size() + 1) +
                        " marks, it has " + std::to_string(node_timer->marks()));
    if (node_timer || !graphs_ || graphs_unsupported_) {
        enqueue_nodes(node_timer);
        return;
    }
    if (!graph_) {
        graph_ = backend_->capture([&] { enqueue_nodes(nullptr); });
        if (!graph_) {  // a host backend: nothing was recorded, so run the loop now
            graphs_unsupported_ = true;
            enqueue_nodes(nullptr);
            return;
        }
        ++graph_captures_;
    }
    graph_->replay();
    ++graph_replays_;
}

void Executor::enqueue_nodes(StreamTimer* node_timer) {
    const auto& nodes = model_.graph.nodes;
    for (size_t i = 0; i < nodes.size(); ++i) {
        if (node_timer) node_timer->mark(i);
        if (nodes[i].op->output_aliases_input) continue;
        try {
            backend_->kernel(*nodes[i].op)(node_args_[i]);
        } catch (const std::runtime_error& e) {  // a kernel launch failed: name the node
            throw Error(model_.path, nodes[i].name, e.what());
        }
    }
    if (node_timer) node_timer->mark(nodes.size());
}

void Executor::download_outputs(std::vector<Tensor>& outputs) {
    const MemoryPlan& plan = planned("download_outputs");
    outputs.resize(model_.graph.outputs.size());
    char* arena = static_cast<char*>(arena_.get());
    for (size_t o = 0; o < outputs.size(); ++o) {
        const std::string& name = model_.graph.outputs[o];
        const TensorInfo& info = plan.tensors.at(name);
        Tensor& out = outputs[o];
        if (out.dtype() != info.dtype || out.shape() != info.shape)
            out = Tensor(info.dtype, info.shape);
        const View v = placed_view(plan, name, arena);
        const size_t item_bytes = size_t(v.chw()) * dtype_size(info.dtype);
        for (int64_t b = 0; b < v.n; ++b)  // per batch item: a concat slice is strided
            backend_->copy_to_host(
                static_cast<char*>(out.data()) + b * item_bytes,
                static_cast<char*>(v.data) + b * v.batch_stride * dtype_size(info.dtype),
                item_bytes);
    }
}

std::vector<Tensor> Executor::run(const std::map<std::string, Tensor>& inputs) {
    upload_inputs(inputs);
    return finish_run();
}

std::vector<Tensor> Executor::run_arrays(const std::map<std::string, HostInput>& inputs) {
    upload_input_arrays(inputs);
    return finish_run();
}

std::vector<Tensor> Executor::finish_run() {
    execute();
    backend_->synchronize();  // a failed kernel is reported as such, not by the copy after it
    std::vector<Tensor> outputs;
    download_outputs(outputs);
    backend_->synchronize();
    return outputs;
}

}  // namespace fcnrt
