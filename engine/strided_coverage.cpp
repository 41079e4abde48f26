#include "engine/strided_coverage.h"

#include "engine/error.h"
#include "engine/op_registry.h"

namespace fcnrt {

std::vector<UnusedInput> unused_strided_inputs(const Model& model,
                                               const std::map<std::string, TensorInfo>& shapes) {
    std::vector<UnusedInput> found;
    for (const Node& n : model.graph.nodes) {
        if (!n.op->spatial || n.inputs.empty() || n.outputs.empty()) continue;
        const SpatialMap m = n.op->spatial(*n.params, node_weights(model, n));
        if (m.kind != SpatialMap::Kind::Window) continue;
        const Shape& in = shapes.at(n.inputs[0]).shape;
        const Shape& out = shapes.at(n.outputs[0]).shape;
        if (in.size() != 4 || out.size() != 4) continue;
        for (int axis = 0; axis < 2; ++axis) {
            if (m.stride[axis] <= 1) continue;
            // Padding taken as symmetric (PyTorch's; ONNX's asymmetric pads are rare here).
            const int64_t padded = in[2 + axis] + 2 * int64_t(m.pad_before[axis]);
            const int64_t reached = (out[2 + axis] - 1) * m.stride[axis] + m.extent[axis];
            if (reached < padded) found.push_back({n.name, axis, in[2 + axis], padded - reached});
        }
    }
    return found;
}

int64_t next_fitting_size(const Model& model, std::map<std::string, Shape> input_shapes,
                          const std::string& input, int axis, int64_t from, int tries) {
    Shape& shape = input_shapes.at(input);
    for (int64_t size = from; size < from + tries; ++size) {
        shape[2 + axis] = size;
        try {
            bool fits = true;
            for (const UnusedInput& u :
                 unused_strided_inputs(model, infer_shapes(model, input_shapes)))
                if (u.axis == axis) fits = false;
            if (fits) return size;
        } catch (const Error&) {
            // a size the graph refuses (a crop larger than its input, ...): try the next
        }
    }
    return 0;
}

}  // namespace fcnrt
