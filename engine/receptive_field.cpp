#include "engine/receptive_field.h"

#include <algorithm>
#include <cmath>

namespace fcnrt {

std::map<std::string, ReceptiveField> receptive_fields(
    const Model& model, const std::map<std::string, TensorInfo>& shapes) {
    std::map<std::string, ReceptiveField> rf;
    for (const GraphInput& in : model.graph.inputs) rf[in.name] = ReceptiveField{};
    for (const Node& n : model.graph.nodes) {
        // Pointwise combination of the inputs: the widest field wins.
        ReceptiveField r = rf.at(n.inputs[0]);
        for (const std::string& t : n.inputs) {
            const ReceptiveField& o = rf.at(t);
            r.global = r.global || o.global;
            for (int a = 0; a < 2; ++a) {
                const double end = std::max(r.start[a] + r.size[a], o.start[a] + o.size[a]);
                r.start[a] = std::min(r.start[a], o.start[a]);
                r.size[a] = end - r.start[a];
            }
        }
        const SpatialMap m =
            n.op->spatial ? n.op->spatial(*n.params, node_weights(model, n)) : SpatialMap{};
        const Shape& in_shape = shapes.at(n.inputs[0]).shape;
        const Shape& out_shape = shapes.at(n.outputs[0]).shape;
        for (int a = 0; a < 2; ++a) {
            const double jump = r.stride[a];
            switch (m.kind) {
                case SpatialMap::Kind::Pointwise: break;
                case SpatialMap::Kind::Window:
                    r.size[a] += (m.extent[a] - 1) * jump;
                    r.start[a] -= m.pad_before[a] * jump;
                    r.stride[a] *= m.stride[a];
                    break;
                case SpatialMap::Kind::Upsample: {
                    // Each output pixel gathers ceil(extent / stride) input pixels.
                    const int taps = (m.extent[a] + m.stride[a] - 1) / m.stride[a];
                    r.size[a] += (taps - 1) * jump;
                    r.start[a] -= std::ceil(double(m.extent[a] - 1 - m.pad_before[a]) / m.stride[a]) * jump;
                    r.stride[a] /= m.stride[a];
                    break;
                }
                case SpatialMap::Kind::Resize: {
                    if (in_shape.size() != 4) break;
                    const double factor = double(out_shape[2 + a]) / double(in_shape[2 + a]);
                    r.size[a] += jump;  // bilinear reads two neighbours
                    r.stride[a] /= factor;
                    break;
                }
                case SpatialMap::Kind::Shift: {
                    double shift = m.pad_before[a];
                    if (m.centred && in_shape.size() == 4)
                        shift = double((in_shape[2 + a] - out_shape[2 + a]) / 2);
                    r.start[a] += shift * jump;
                    break;
                }
                case SpatialMap::Kind::Global: r.global = true; break;
            }
        }
        for (const std::string& t : n.outputs) rf[t] = r;
    }
    return rf;
}

}  // namespace fcnrt
