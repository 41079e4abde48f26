// Receptive fields by exact interval arithmetic: for an output pixel (or a row
// range) every op maps the rows it must produce back to the input rows it reads,
// and walking the graph backwards from one tensor gives the input interval that
// pixel depends on. Strides come forward, as the product of each op's factor.
#include "engine/receptive_field.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace fcnrt {

namespace {

struct Interval {
    int64_t lo = std::numeric_limits<int64_t>::max();
    int64_t hi = std::numeric_limits<int64_t>::min();
    bool empty() const { return lo > hi; }
    void join(const Interval& o) {
        lo = std::min(lo, o.lo);
        hi = std::max(hi, o.hi);
    }
};

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
int64_t ceil_div(int64_t a, int64_t b) { return -floor_div(-a, b); }

// Input rows that output rows `out` of one node read, along axis `a`.
Interval input_rows(const SpatialMap& m, int a, Interval out, const Shape& in_shape,
                    const Shape& out_shape) {
    switch (m.kind) {
        case SpatialMap::Kind::Pointwise:
        case SpatialMap::Kind::Global: return out;
        case SpatialMap::Kind::Window:
            return {out.lo * m.stride[a] - m.pad_before[a],
                    out.hi * m.stride[a] - m.pad_before[a] + m.extent[a] - 1};
        case SpatialMap::Kind::Upsample:
            // Input i reaches outputs i * s - p + k for k < extent.
            return {ceil_div(out.lo + m.pad_before[a] - (m.extent[a] - 1), m.stride[a]),
                    floor_div(out.hi + m.pad_before[a], m.stride[a])};
        case SpatialMap::Kind::Resize: {
            if (in_shape.size() != 4) return out;
            const double r = double(in_shape[2 + a]) / double(out_shape[2 + a]);
            // Nearest reads floor(dst * r); bilinear reads around (dst + 0.5) * r - 0.5.
            return {int64_t(std::floor((out.lo + 0.5) * r - 0.5)) - 1,
                    int64_t(std::floor((out.hi + 0.5) * r)) + 1};
        }
        case SpatialMap::Kind::Shift: {
            int64_t shift = m.pad_before[a];
            if (m.centred && in_shape.size() == 4)
                shift = (in_shape[2 + a] - out_shape[2 + a]) / 2;
            return {out.lo + shift, out.hi + shift};
        }
    }
    return out;
}

// The graph-input rows (of the first input) that rows `rows` of tensor `target`
// depend on, per axis; `global` when some op on the way reads its whole input.
void trace_back(const Model& model, const std::map<std::string, TensorInfo>& shapes,
                const std::string& target, const Interval rows[2], Interval result[2],
                bool* global) {
    std::map<std::string, Interval> need[2];
    std::map<std::string, bool> whole;
    for (int a = 0; a < 2; ++a) need[a][target] = rows[a];
    const auto& nodes = model.graph.nodes;
    for (size_t i = nodes.size(); i-- > 0;) {
        const Node& n = nodes[i];
        Interval out[2];
        bool out_whole = false, used = false;
        for (const std::string& t : n.outputs)
            for (int a = 0; a < 2; ++a) {
                auto it = need[a].find(t);
                if (it == need[a].end()) continue;
                out[a].join(it->second);
                out_whole = out_whole || whole[t];
                used = true;
            }
        if (!used) continue;
        const SpatialMap m =
            n.op->spatial ? n.op->spatial(*n.params, node_weights(model, n)) : SpatialMap{};
        const bool reads_whole = out_whole || m.kind == SpatialMap::Kind::Global;
        const Shape& in_shape = shapes.at(n.inputs[0]).shape;
        const Shape& out_shape = shapes.at(n.outputs[0]).shape;
        for (size_t k = 0; k < n.inputs.size(); ++k) {
            // A crop's ref input, and a resize's size source, lend only their size.
            if ((n.op->name == "crop" || n.op->name == "resize") && k == 1) continue;
            const std::string& t = n.inputs[k];
            whole[t] = whole[t] || reads_whole;
            // A conv's residual input is read pointwise, at the output's pixels.
            if (n.op->name == "conv" && k == 1) {
                for (int a = 0; a < 2; ++a) need[a][t].join(out[a]);
                continue;
            }
            for (int a = 0; a < 2; ++a)
                need[a][t].join(input_rows(m, a, out[a], in_shape, out_shape));
        }
    }
    const std::string& input = model.graph.inputs.at(0).name;
    for (int a = 0; a < 2; ++a) {
        auto it = need[a].find(input);
        result[a] = it == need[a].end() ? Interval{0, -1} : it->second;
    }
    *global = whole[input];
}

}  // namespace

std::map<std::string, ReceptiveField> receptive_fields(
    const Model& model, const std::map<std::string, TensorInfo>& shapes) {
    // Strides forward: input pixels between neighbouring pixels of each tensor.
    std::map<std::string, ReceptiveField> rf;
    for (const GraphInput& in : model.graph.inputs) rf[in.name] = ReceptiveField{};
    for (const Node& n : model.graph.nodes) {
        ReceptiveField r;
        r.stride[0] = rf.at(n.inputs[0]).stride[0];
        r.stride[1] = rf.at(n.inputs[0]).stride[1];
        const SpatialMap m =
            n.op->spatial ? n.op->spatial(*n.params, node_weights(model, n)) : SpatialMap{};
        const Shape& in_shape = shapes.at(n.inputs[0]).shape;
        const Shape& out_shape = shapes.at(n.outputs[0]).shape;
        for (int a = 0; a < 2; ++a) {
            if (m.kind == SpatialMap::Kind::Window) r.stride[a] *= m.stride[a];
            if (m.kind == SpatialMap::Kind::Upsample) r.stride[a] /= m.stride[a];
            if (m.kind == SpatialMap::Kind::Resize && in_shape.size() == 4)
                r.stride[a] *= double(in_shape[2 + a]) / double(out_shape[2 + a]);
        }
        for (const std::string& t : n.outputs) rf[t] = r;
    }

    // Fields backwards, for each tensor: the size around its centre pixel (away
    // from borders, where padding clips nothing), and where pixel 0's field begins.
    for (auto& [name, r] : rf) {
        const Shape& s = shapes.at(name).shape;
        if (s.size() != 4) {  // flattened features read the whole map
            r.global = true;
            continue;
        }
        Interval centre[2] = {{s[2] / 2, s[2] / 2}, {s[3] / 2, s[3] / 2}};
        Interval first[2] = {{0, 0}, {0, 0}};
        Interval in_centre[2], in_first[2];
        bool global = false, global_first = false;
        trace_back(model, shapes, name, centre, in_centre, &global);
        trace_back(model, shapes, name, first, in_first, &global_first);
        r.global = global;
        for (int a = 0; a < 2; ++a) {
            r.size[a] = in_centre[a].empty() ? 0.0 : double(in_centre[a].hi - in_centre[a].lo + 1);
            r.start[a] = in_first[a].empty() ? 0.0 : double(in_first[a].lo);
        }
    }
    return rf;
}

}  // namespace fcnrt
