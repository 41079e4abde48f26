// Parameter types of the ops in shape_ops.cpp that other code inspects.
#pragma once

#include "engine/op_registry.h"
#include "kernels/op_params.h"

namespace fcnrt::ops {

struct ConcatOp : OpParams {
    int axis = 1;  // as written; normalise with the input rank
};

// Axis in [0, rank) from an attribute in [-rank, rank).
int normalize_axis(int axis, size_t rank);

}  // namespace fcnrt::ops
