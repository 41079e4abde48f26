#include "tools/fcnrt/size_warning.h"

#include "engine/strided_coverage.h"

namespace fcnrt::cli {

void warn_unfitting_size(const Model& model, const std::map<std::string, Shape>& input_shapes,
                         std::ostream& out) {
    const std::string* input = nullptr;
    for (const GraphInput& in : model.graph.inputs)
        if (in.shape.size() == 4) {
            input = &in.name;
            break;
        }
    if (!input) return;
    const Shape& shape = input_shapes.at(*input);
    const std::vector<UnusedInput> unused =
        unused_strided_inputs(model, infer_shapes(model, input_shapes));
    const char* const kAxis[2] = {"rows", "columns"};
    for (int axis = 0; axis < 2; ++axis) {
        const UnusedInput* first = nullptr;
        int count = 0;
        for (const UnusedInput& u : unused)
            if (u.axis == axis) {
                if (!first) first = &u;
                ++count;
            }
        if (!first) continue;
        const int64_t next =
            next_fitting_size(model, input_shapes, *input, axis, shape[2 + axis] + 1);
        out << "fcnrt: warning: " << model.path << ": " << shape[2 + axis] << " input "
            << kAxis[axis] << " do not fit the net's strided windows: node " << first->node
            << " leaves " << first->unused << " of its " << first->input << " " << kAxis[axis]
            << " unused";
        if (count > 1)
            out << " (and " << count - 1 << " more such node" << (count > 2 ? "s" : "") << ")";
        out << ", so the outputs and receptive field are not the net's own";
        if (next) out << "; the nearest size above that fits is " << next << " " << kAxis[axis];
        out << "\n";
    }
}

}  // namespace fcnrt::cli
