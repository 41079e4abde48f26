// softmax and argmax: reductions along one axis (the class axis, by default).
#include "engine/ops/op_helpers.h"
#include "engine/ops/shape_ops.h"
#include "kernels/cpu/softmax.h"
#include "kernels/reference/softmax.h"
#ifdef FCNRT_WITH_CUDA
#include "kernels/cuda/softmax.h"
#endif

namespace fcnrt {
namespace ops {
namespace {

struct AxisOp : OpParams {
    int axis = 1;
};

// Rank-2 and rank-4 axes coincide with view axes; a negative axis is allowed
// on rank 4 only (checked at inference), where it counts from the view's end.
template <auto Fn>
void run_axis_op(const KernelArgs& a) {
    const int axis = params_as<AxisOp>(*a.params).axis;
    invoke_kernel(Fn, a.stream, a.inputs[0], a.outputs[0], axis < 0 ? axis + 4 : axis);
}

std::shared_ptr<const OpParams> parse_axis(const AttrReader& r) {
    auto p = std::make_shared<AxisOp>();
    p->axis = static_cast<int>(r.integer("axis", 1, -4, 3));
    return p;
}

const Shape& checked_input(const InferContext& c) {
    require_f32(c, 0);
    const Shape& x = c.inputs[0].shape;
    if (x.size() != 2 && x.size() != 4)
        throw Error("input must have rank 2 or 4, got shape " + shape_to_string(x));
    const int axis = params_as<AxisOp>(c.params).axis;
    normalize_axis(axis, x.size());
    if (axis < 0 && x.size() == 2)
        throw Error("give a non-negative axis for a rank-2 input: " + std::to_string(axis + 2));
    return x;
}

OpDef softmax_def() {
    OpDef d;
    d.name = "softmax";
    d.parse = parse_axis;
    d.infer = [](const InferContext& c) {
        return std::vector<TensorInfo>{{DType::F32, checked_input(c)}};
    };
    d.flops = [](const InferContext& c, const std::vector<TensorInfo>&) {
        return 5.0 * count(c.inputs[0].shape);
    };
    set_kernels(d, run_axis_op<reference::softmax>, run_axis_op<cpu::softmax>,
                FCNRT_CUDA_KERNEL(run_axis_op<cuda::softmax>));
    return d;
}

OpDef argmax_def() {
    OpDef d;
    d.name = "argmax";
    d.parse = parse_axis;
    d.infer = [](const InferContext& c) {
        Shape y = checked_input(c);
        y[normalize_axis(params_as<AxisOp>(c.params).axis, y.size())] = 1;
        return std::vector<TensorInfo>{{DType::I32, y}};
    };
    d.flops = [](const InferContext& c, const std::vector<TensorInfo>&) {
        return count(c.inputs[0].shape);
    };
    set_kernels(d, run_axis_op<reference::argmax>, run_axis_op<cpu::argmax>,
                FCNRT_CUDA_KERNEL(run_axis_op<cuda::argmax>));
    return d;
}

}  // namespace
}  // namespace ops

void register_channel_ops(std::map<std::string, OpDef>& ops) {
    for (OpDef d : {ops::softmax_def(), ops::argmax_def()}) ops.emplace(d.name, std::move(d));
}

}  // namespace fcnrt
