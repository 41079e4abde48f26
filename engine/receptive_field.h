// Receptive field and output stride of every tensor relative to the graph's
// first input, from each op's SpatialMap and the inferred shapes.
#pragma once

#include <map>
#include <string>

#include "engine/graph.h"

namespace fcnrt {

struct ReceptiveField {
    bool global = false;            // depends on the whole input (global pooling, dense)
    double size[2] = {1.0, 1.0};    // input pixels one output pixel sees, {height, width}
    double stride[2] = {1.0, 1.0};  // input pixels between neighbouring output pixels
    double start[2] = {0.0, 0.0};   // input coordinate where output pixel 0's field begins
};

// `shapes` from infer_shapes at concrete sizes (resize and centre crops need them).
std::map<std::string, ReceptiveField> receptive_fields(
    const Model& model, const std::map<std::string, TensorInfo>& shapes);

}  // namespace fcnrt
