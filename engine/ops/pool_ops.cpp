// max_pool, avg_pool, global_avg_pool and max_unpool.
#include "engine/ops/pool_ops.h"

#include "engine/ops/op_helpers.h"
#include "kernels/cpu/pool.h"
#include "kernels/op_params.h"
#include "kernels/reference/pool.h"
#ifdef FCNRT_WITH_CUDA
#include "kernels/cuda/pool.h"
#endif

namespace fcnrt {
namespace ops {
namespace {

constexpr int64_t kMaxWindow = 1 << 16;

struct UnpoolOp : OpParams {
    bool has_size = false;
    int64_t size[2] = {0, 0};
    int kernel[2] = {0, 0}, stride[2] = {0, 0}, pads[4] = {0, 0, 0, 0};
};

template <auto Fn>
void run_max_pool(const KernelArgs& a) {
    View none;
    none.data = nullptr;
    invoke_kernel(Fn, a.stream, a.inputs[0], a.outputs[0], a.outputs.size() > 1 ? a.outputs[1] : none,
       params_as<PoolOp>(*a.params).k);
}
template <auto Fn>
void run_avg_pool(const KernelArgs& a) {
    invoke_kernel(Fn, a.stream, a.inputs[0], a.outputs[0], params_as<PoolOp>(*a.params).k);
}
template <auto Fn>
void run_global_avg_pool(const KernelArgs& a) {
    invoke_kernel(Fn, a.stream, a.inputs[0], a.outputs[0]);
}
template <auto Fn>
void run_max_unpool(const KernelArgs& a) {
    invoke_kernel(Fn, a.stream, a.inputs[0], a.inputs[1], a.outputs[0]);
}

std::shared_ptr<const OpParams> parse_pool(const AttrReader& r, bool is_avg) {
    auto p = std::make_shared<PoolOp>();
    auto kernel = r.ints("kernel", 2, {}, 1, kMaxWindow);
    if (kernel.empty()) throw Error("missing attribute 'kernel'");
    copy_ints(kernel, p->k.kernel);
    copy_ints(r.ints("stride", 2, kernel, 1, kMaxWindow), p->k.stride);
    copy_ints(r.ints("pads", 4, {0, 0, 0, 0}, 0, kMaxWindow), p->k.pads);
    copy_ints(r.ints("dilation", 2, {1, 1}, 1, kMaxWindow), p->k.dilation);
    p->k.ceil_mode = r.boolean("ceil_mode", false);
    if (is_avg) p->k.count_include_pad = r.boolean("count_include_pad", false);
    // max_pool's `indices`: "plane" (h * W + w per (n, c) plane, PyTorch's, what
    // max_unpool reads) or "flat" (((n * C + c) * H + h) * W + w, ONNX MaxPool's).
    if (!is_avg) p->k.flat_indices = r.choice("indices", {"plane", "flat"}, "plane") == "flat";
    // PyTorch allows pads up to half the kernel, ONNX any pad below the kernel;
    // we take ONNX's bound, since the spec's asymmetric pads go beyond PyTorch.
    // A window wholly in the padding gives -inf (max) or 0 (average), as ATen.
    for (int i = 0; i < 4; ++i) {
        const int64_t extent = int64_t(p->k.dilation[i % 2]) * (p->k.kernel[i % 2] - 1) + 1;
        if (p->k.pads[i] >= extent)
            throw Error("pads " + std::to_string(p->k.pads[i]) +
                        " must be smaller than the window extent " + std::to_string(extent));
    }
    return p;
}

std::vector<TensorInfo> infer_pool(const InferContext& c, bool with_indices) {
    const auto& p = params_as<PoolOp>(c.params).k;
    const Shape& x = input_shape(c, 0, 4, "x");
    require_f32(c, 0);
    Shape y = {x[0], x[1], kUnknownDim, kUnknownDim};
    const char* axes[2] = {"height", "width"};
    for (int a = 0; a < 2; ++a) {
        const int64_t extent = int64_t(p.dilation[a]) * (p.kernel[a] - 1) + 1;
        y[2 + a] = window_output(x[2 + a], extent, p.stride[a], p.pads[a], p.pads[a + 2],
                                 p.ceil_mode, axes[a]);
    }
    std::vector<TensorInfo> out = {{DType::F32, y}};
    if (with_indices) out.push_back({DType::I32, y});
    // Flat indices reach N*C*H*W - 1 and are int32 (checked again at run time,
    // when every dim is known).
    if (with_indices && p.flat_indices && numel_known(x) > int64_t(INT32_MAX))
        throw Error("indices \"flat\" need N*C*H*W <= 2^31 - 1 (int32 indices); input is " +
                    shape_to_string(x));
    return out;
}

SpatialMap pool_spatial(const OpParams& op, const std::vector<const Tensor*>&) {
    const auto& p = params_as<PoolOp>(op).k;
    SpatialMap m;
    m.kind = SpatialMap::Kind::Window;
    for (int a = 0; a < 2; ++a) {
        m.extent[a] = p.dilation[a] * (p.kernel[a] - 1) + 1;
        m.stride[a] = p.stride[a];
        m.pad_before[a] = p.pads[a];
    }
    return m;
}

double pool_flops(const InferContext& c, const std::vector<TensorInfo>& out) {
    const auto& p = params_as<PoolOp>(c.params).k;
    return count(out[0].shape) * p.kernel[0] * p.kernel[1];
}

OpDef max_pool_def() {
    OpDef d;
    d.name = "max_pool";
    d.max_outputs = 2;
    d.parse = [](const AttrReader& r) { return parse_pool(r, false); };
    d.infer = [](const InferContext& c) { return infer_pool(c, true); };
    d.flops = pool_flops;
    d.spatial = pool_spatial;
    set_kernels(d, run_max_pool<reference::max_pool2d>, run_max_pool<cpu::max_pool2d>,
                FCNRT_CUDA_KERNEL(run_max_pool<cuda::max_pool2d>));
    return d;
}

OpDef avg_pool_def() {
    OpDef d;
    d.name = "avg_pool";
    d.parse = [](const AttrReader& r) { return parse_pool(r, true); };
    d.infer = [](const InferContext& c) { return infer_pool(c, false); };
    d.flops = pool_flops;
    d.spatial = pool_spatial;
    set_kernels(d, run_avg_pool<reference::avg_pool2d>, run_avg_pool<cpu::avg_pool2d>,
                FCNRT_CUDA_KERNEL(run_avg_pool<cuda::avg_pool2d>));
    return d;
}

OpDef global_avg_pool_def() {
    OpDef d;
    d.name = "global_avg_pool";
    d.parse = [](const AttrReader&) { return std::make_shared<const OpParams>(); };
    d.infer = [](const InferContext& c) {
        const Shape& x = input_shape(c, 0, 4, "x");
        require_f32(c, 0);
        return std::vector<TensorInfo>{{DType::F32, {x[0], x[1], 1, 1}}};
    };
    d.flops = [](const InferContext& c, const std::vector<TensorInfo>&) {
        return count(c.inputs[0].shape);
    };
    d.spatial = [](const OpParams&, const std::vector<const Tensor*>&) {
        SpatialMap m;
        m.kind = SpatialMap::Kind::Global;
        return m;
    };
    set_kernels(d, run_global_avg_pool<reference::global_avg_pool>, run_global_avg_pool<cpu::global_avg_pool>,
                FCNRT_CUDA_KERNEL(run_global_avg_pool<cuda::global_avg_pool>));
    return d;
}

// max_unpool takes `output_size`, or (an fcnrt extension, as ONNX's MaxUnpool)
// the pooling's kernel, stride and pads, giving (in - 1) * stride - pads + kernel.
OpDef max_unpool_def() {
    OpDef d;
    d.name = "max_unpool";
    d.min_inputs = d.max_inputs = 2;
    d.parse = [](const AttrReader& r) {
        auto p = std::make_shared<UnpoolOp>();
        auto size = r.ints("output_size", 2, {}, 1, int64_t(1) << 30);
        auto kernel = r.ints("kernel", 2, {}, 1, kMaxWindow);
        if (!size.empty()) {
            p->has_size = true;
            p->size[0] = size[0];
            p->size[1] = size[1];
        } else if (!kernel.empty()) {
            copy_ints(kernel, p->kernel);
            copy_ints(r.ints("stride", 2, kernel, 1, kMaxWindow), p->stride);
            copy_ints(r.ints("pads", 4, {0, 0, 0, 0}, 0, kMaxWindow), p->pads);
        } else {
            throw Error("needs attribute 'output_size' (or 'kernel', with 'stride' and 'pads')");
        }
        return std::shared_ptr<const OpParams>(p);
    };
    d.infer = [](const InferContext& c) {
        const auto& p = params_as<UnpoolOp>(c.params);
        const Shape& x = input_shape(c, 0, 4, "x");
        const Shape& idx = input_shape(c, 1, 4, "indices");
        require_f32(c, 0);
        if (c.inputs[1].dtype != DType::I32)
            throw Error("input 1 (indices) must be int32, as max_pool's indices output");
        for (int i = 0; i < 4; ++i)
            if (known(x[i]) && known(idx[i]) && x[i] != idx[i])
                throw Error("indices shape " + shape_to_string(idx) + " differs from input shape " +
                            shape_to_string(x));
        Shape y = {x[0], x[1], kUnknownDim, kUnknownDim};
        for (int a = 0; a < 2; ++a) {
            if (p.has_size) {
                y[2 + a] = p.size[a];
            } else if (known(x[2 + a])) {
                y[2 + a] = (x[2 + a] - 1) * p.stride[a] - p.pads[a] - p.pads[a + 2] + p.kernel[a];
                if (y[2 + a] < 1) throw Error("output size would be empty");
            }
        }
        return std::vector<TensorInfo>{{DType::F32, y}};
    };
    d.flops = [](const InferContext&, const std::vector<TensorInfo>& out) {
        return count(out[0].shape);
    };
    d.spatial = [](const OpParams& op, const std::vector<const Tensor*>&) {
        const auto& p = params_as<UnpoolOp>(op);
        SpatialMap m;
        m.kind = SpatialMap::Kind::Upsample;
        for (int a = 0; a < 2; ++a) {
            m.extent[a] = p.has_size ? 2 : p.kernel[a];
            m.stride[a] = p.has_size ? 2 : p.stride[a];
            m.pad_before[a] = p.has_size ? 0 : p.pads[a];
        }
        return m;
    };
    set_kernels(d, run_max_unpool<reference::max_unpool2d>, run_max_unpool<cpu::max_unpool2d>,
                FCNRT_CUDA_KERNEL(run_max_unpool<cuda::max_unpool2d>));
    return d;
}

}  // namespace
}  // namespace ops

void register_pool_ops(std::map<std::string, OpDef>& ops) {
    for (OpDef d : {ops::max_pool_def(), ops::avg_pool_def(), ops::global_avg_pool_def(),
                    ops::max_unpool_def()})
        ops.emplace(d.name, std::move(d));
}

}  // namespace fcnrt
