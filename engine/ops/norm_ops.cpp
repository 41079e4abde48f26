// group_norm: normalisation over groups of channels, per batch item (PyTorch's
// GroupNorm; InstanceNorm2d is groups == C). Each output pixel depends on its
// whole group's planes, so its spatial map is Global: segment does not tile it.
#include "engine/ops/op_helpers.h"
#include "kernels/cpu/norm.h"
#include "kernels/reference/norm.h"
#ifdef FCNRT_WITH_CUDA
#include "kernels/cuda/norm.h"
#endif

namespace fcnrt {

namespace ops {
namespace {

constexpr int64_t kMaxGroups = int64_t(1) << 24;

struct GroupNormOp : OpParams {
    int64_t groups = 1;
    float epsilon = 1e-5f;
};

template <auto Fn>
void run_group_norm(const KernelArgs& a) {
    const auto& p = params_as<GroupNormOp>(*a.params);
    invoke_kernel(Fn, a.stream, a.inputs[0], optional_f32(a.weights[0]), optional_f32(a.weights[1]),
                  a.outputs[0], p.groups, p.epsilon);
}

OpDef group_norm_def() {
    OpDef d;
    d.name = "group_norm";
    d.weights = {{"scale", true}, {"bias", true}};
    d.parse = [](const AttrReader& r) {
        auto p = std::make_shared<GroupNormOp>();
        if (!r.has("groups")) throw Error("missing attribute 'groups'");
        p->groups = r.integer("groups", 1, 1, kMaxGroups);
        const double eps = r.number("epsilon", 1e-5);
        if (!(eps >= 0) || eps > 1e3) throw Error("attribute 'epsilon' must be in [0, 1000]");
        p->epsilon = float(eps);
        return std::shared_ptr<const OpParams>(p);
    };
    d.infer = [](const InferContext& c) {
        const Shape& x = input_shape(c, 0, 4, "x");
        require_f32(c, 0);
        const int64_t groups = params_as<GroupNormOp>(c.params).groups;
        if (known(x[1]) && x[1] % groups != 0)
            throw Error("channels " + std::to_string(x[1]) + " are not divisible by groups " +
                        std::to_string(groups));
        require_weight_shape(c, 0, "scale", {x[1]});
        require_weight_shape(c, 1, "bias", {x[1]});
        return std::vector<TensorInfo>{{DType::F32, x}};
    };
    d.flops = [](const InferContext& c, const std::vector<TensorInfo>&) {
        return 5.0 * count(c.inputs[0].shape);
    };
    d.spatial = [](const OpParams&, const std::vector<const Tensor*>&) {
        SpatialMap m;
        m.kind = SpatialMap::Kind::Global;
        return m;
    };
    set_kernels(d, run_group_norm<reference::group_norm>, run_group_norm<cpu::group_norm>,
                FCNRT_CUDA_KERNEL(run_group_norm<cuda::group_norm>));
    return d;
}

}  // namespace
}  // namespace ops

void register_norm_ops(std::map<std::string, OpDef>& ops) {
    OpDef d = ops::group_norm_def();
    ops.emplace(d.name, std::move(d));
}

}  // namespace fcnrt
