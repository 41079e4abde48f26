#include "engine/memory_plan.h"

#include <algorithm>
#include <map>
#include <set>

#include "engine/error.h"
#include "engine/ops/shape_ops.h"

namespace fcnrt {

namespace {

constexpr size_t kAlignment = 256;  // cudaMalloc's alignment; keeps vector loads aligned

size_t align_up(size_t v) { return (v + kAlignment - 1) / kAlignment * kAlignment; }

struct Interval {
    int first = 0, last = 0;
    void extend(int step) {
        first = std::min(first, step);
        last = std::max(last, step);
    }
};

// Where a tensor lives relative to another tensor's memory.
struct Parent {
    std::string tensor;
    int64_t element_offset = 0;  // from the parent's first element, within one batch item
};

}  // namespace

MemoryPlan plan_memory(const Model& model, const std::map<std::string, Shape>& input_shapes) {
    const Graph& g = model.graph;
    MemoryPlan plan;
    plan.input_shapes = input_shapes;
    plan.tensors = infer_shapes(model, input_shapes);
    for (const auto& [name, info] : plan.tensors)
        for (int64_t d : info.shape)
            if (d == kUnknownDim) throw Error(model.path, "", "tensor '" + name + "' has an unknown dim");

    // Steps: graph inputs are written at 0, node i runs at i + 1, outputs are read at n + 1.
    const int last_step = int(g.nodes.size()) + 1;
    std::map<std::string, int> def_step;
    std::map<std::string, Interval> live;
    for (const GraphInput& in : g.inputs) def_step[in.name] = 0;
    for (size_t i = 0; i < g.nodes.size(); ++i)
        for (const std::string& t : g.nodes[i].outputs) def_step[t] = int(i) + 1;
    for (const auto& [t, step] : def_step) live[t] = {step, step};
    for (size_t i = 0; i < g.nodes.size(); ++i)
        for (const std::string& t : g.nodes[i].inputs) live[t].extend(int(i) + 1);
    for (const std::string& t : g.outputs) live[t].extend(last_step);

    // Aliases: an output of a pass-through op is its input under another shape.
    std::map<std::string, Parent> parent;
    std::set<std::string> aliased_tensor;
    for (const Node& n : g.nodes)
        if (n.op->output_aliases_input) {
            parent[n.outputs[0]] = {n.inputs[0], 0};
            plan.aliased.push_back(n.outputs[0]);
            aliased_tensor.insert(n.outputs[0]);
        }

    // In-place concat along channels: producer writes into the output's slice.
    std::map<std::string, int> producer_index;
    for (size_t i = 0; i < g.nodes.size(); ++i)
        for (const std::string& t : g.nodes[i].outputs) producer_index[t] = int(i);
    for (const Node& n : g.nodes) {
        if (n.op->name != "concat") continue;
        const TensorInfo& y = plan.tensors.at(n.outputs[0]);
        if (ops::normalize_axis(params_as<ops::ConcatOp>(*n.params).axis, y.shape.size()) != 1) continue;
        const int64_t plane = y.shape.size() == 4 ? y.shape[2] * y.shape[3] : 1;
        int64_t channel = 0;
        for (const std::string& x : n.inputs) {
            const TensorInfo& xi = plan.tensors.at(x);
            const bool once = std::count(n.inputs.begin(), n.inputs.end(), x) == 1;
            const bool produced = producer_index.count(x) > 0;
            if (once && produced && !parent.count(x) && xi.dtype == y.dtype) {
                parent[x] = {n.outputs[0], channel * plane};
                plan.in_place_concat_inputs.push_back(x);
            } else if (once && parent.count(x) && aliased_tensor.count(x)) {
                // x aliases its input (FC-DenseNet's dropout after each conv): the
                // tensor at the end of the alias chain goes into the slice instead,
                // when it is produced, in no other slice or alias, of x's shape and
                // dtype, and not itself an input of this concat.
                std::string t = x;
                while (aliased_tensor.count(t) && parent.count(t)) t = parent.at(t).tensor;
                const TensorInfo& ti = plan.tensors.at(t);
                if (!parent.count(t) && producer_index.count(t) && ti.shape == xi.shape &&
                    ti.dtype == y.dtype && std::count(n.inputs.begin(), n.inputs.end(), t) == 0) {
                    parent[t] = {n.outputs[0], channel * plane};
                    plan.in_place_concat_inputs.push_back(x);
                }
            }
            channel += xi.shape[1];
        }
    }

    // Each tensor's storage root, and the root's lifetime covering all its members.
    auto root_of = [&](std::string t) {
        for (auto it = parent.find(t); it != parent.end(); it = parent.find(t)) t = it->second.tensor;
        return t;
    };
    std::map<std::string, Interval> root_live;
    for (const auto& [t, interval] : live) {
        const std::string r = root_of(t);
        auto [it, fresh] = root_live.emplace(r, interval);
        if (!fresh) {
            it->second.extend(interval.first);
            it->second.extend(interval.last);
        }
    }

    // Greedy by size: the largest buffers first, each at the lowest offset that
    // overlaps no placed buffer whose lifetime intersects its own.
    struct Buffer {
        std::string name;
        size_t bytes;
        Interval life;
        size_t offset = 0;
    };
    std::vector<Buffer> buffers;
    for (const auto& [r, interval] : root_live) {
        const TensorInfo& info = plan.tensors.at(r);
        const size_t bytes = align_up(size_t(checked_numel(info.shape, dtype_size(info.dtype))) *
                                      dtype_size(info.dtype));
        buffers.push_back({r, bytes, interval});
    }
    // What a naive allocator would hold: every tensor but the aliases, each alone.
    for (const auto& [t, info] : plan.tensors)
        if (std::find(plan.aliased.begin(), plan.aliased.end(), t) == plan.aliased.end())
            plan.unplanned_bytes +=
                size_t(checked_numel(info.shape, dtype_size(info.dtype))) * dtype_size(info.dtype);
    std::stable_sort(buffers.begin(), buffers.end(), [](const Buffer& a, const Buffer& b) {
        return a.bytes != b.bytes ? a.bytes > b.bytes : a.life.first < b.life.first;
    });
    std::vector<const Buffer*> placed;
    for (Buffer& b : buffers) {
        std::vector<std::pair<size_t, size_t>> busy;  // [begin, end) of conflicting buffers
        for (const Buffer* p : placed)
            if (p->life.first <= b.life.last && b.life.first <= p->life.last)
                busy.push_back({p->offset, p->offset + p->bytes});
        std::sort(busy.begin(), busy.end());
        size_t offset = 0;
        for (const auto& [begin, end] : busy) {
            if (offset + b.bytes <= begin) break;
            offset = std::max(offset, end);
        }
        b.offset = offset;
        plan.arena_bytes = std::max(plan.arena_bytes, offset + b.bytes);
        placed.push_back(&b);
    }

    // Final places: a root's own offset; members at their offset within it.
    std::map<std::string, size_t> root_offset;
    for (const Buffer& b : buffers) root_offset[b.name] = b.offset;
    // Aliases and concat slices keep the per-item layout of their storage root,
    // so the root's C*H*W is every member's batch stride.
    for (const auto& [t, info] : plan.tensors) {
        size_t offset_elems = 0;
        std::string cur = t;
        for (auto it = parent.find(cur); it != parent.end(); it = parent.find(cur)) {
            offset_elems += size_t(it->second.element_offset);
            cur = it->second.tensor;
        }
        const TensorInfo& root = plan.tensors.at(cur);
        Placement p;
        p.batch_stride = view_of(nullptr, root.dtype, root.shape).chw();
        p.offset = root_offset.at(cur) + offset_elems * dtype_size(info.dtype);
        plan.placement[t] = p;
    }

    for (const Node& n : g.nodes) {
        if (!n.op->host_scratch) continue;
        std::vector<TensorInfo> ins, outs;
        for (const std::string& t : n.inputs) ins.push_back(plan.tensors.at(t));
        for (const std::string& t : n.outputs) outs.push_back(plan.tensors.at(t));
        const std::vector<const Tensor*> weights = node_weights(model, n);
        plan.host_scratch_bytes =
            std::max(plan.host_scratch_bytes, n.op->host_scratch(InferContext{*n.params, ins, weights}, outs));
    }
    return plan;
}

View placed_view(const MemoryPlan& plan, const std::string& name, void* arena) {
    const TensorInfo& info = plan.tensors.at(name);
    const Placement& p = plan.placement.at(name);
    View v = view_of(static_cast<char*>(arena) + p.offset, info.dtype, info.shape);
    v.batch_stride = p.batch_stride;
    return v;
}

}  // namespace fcnrt
