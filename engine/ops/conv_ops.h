// Parameter types of the ops defined in conv_ops.cpp, for passes that rewrite them.
#pragma once

#include "engine/op_registry.h"
#include "kernels/op_params.h"

namespace fcnrt::ops {

struct ConvOp : OpParams {
    Conv2dParams k;
};
struct ConvTransposeOp : OpParams {
    ConvTranspose2dParams k;
};
struct DenseOp : OpParams {
    ActivationParams act;
};

}  // namespace fcnrt::ops
