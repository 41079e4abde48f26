// Parameter types of the ops defined in pool_ops.cpp, for passes that rewrite them.
#pragma once

#include "engine/op_registry.h"
#include "kernels/op_params.h"

namespace fcnrt::ops {

struct PoolOp : OpParams {
    Pool2dParams k;
};

}  // namespace fcnrt::ops
