// Parameter types of the ops defined in elementwise_ops.cpp, for passes.
#pragma once

#include "engine/op_registry.h"
#include "kernels/op_params.h"

namespace fcnrt::ops {

struct ActivationOp : OpParams {
    ActivationParams act;
};
struct BinaryOpParams : OpParams {
    BinaryParams k;
};
struct HardSigmoidOp : OpParams {
    float alpha = 0.2f, beta = 0.5f;
};
struct EluOp : OpParams {
    float alpha = 1.0f;
};
struct GeluOp : OpParams {
    bool tanh_form = false;  // approximate "tanh"
};
struct BatchNormOp : OpParams {
    float epsilon = 1e-5f;
    ActivationParams act;  // an fcnrt extension (fuse_activation sets it)
};

}  // namespace fcnrt::ops
