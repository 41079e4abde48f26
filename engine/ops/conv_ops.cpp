// conv, conv_transpose and dense: the ops with weights and multiply-add work.
#include "engine/ops/conv_ops.h"

#include "engine/ops/op_helpers.h"
#include "kernels/cpu/conv.h"
#include "kernels/cpu/dense.h"
#include "kernels/reference/conv.h"
#include "kernels/reference/dense.h"
#ifdef FCNRT_WITH_CUDA
#include "kernels/cuda/conv.h"
#include "kernels/cuda/conv_tensor_core.h"
#include "kernels/cuda/dense.h"
#endif

namespace fcnrt {
namespace ops {
namespace {

constexpr int64_t kMaxWindow = 1 << 16;

// Input 1, when given, is the residual added in the kernel's epilogue.
template <auto Fn>
void run_conv(const KernelArgs& a) {
    Conv2dParams k = params_as<ConvOp>(*a.params).k;
    if (a.inputs.size() == 2) k.residual = a.inputs[1];
    invoke_kernel(Fn, a.stream, a.inputs[0], a.weights[0], optional_f32(a.weights[1]), a.outputs[0], k);
}

template <auto Fn>
void run_conv_transpose(const KernelArgs& a) {
    invoke_kernel(Fn, a.stream, a.inputs[0], a.weights[0], optional_f32(a.weights[1]), a.outputs[0],
       params_as<ConvTransposeOp>(*a.params).k);
}

template <auto Fn>
void run_dense(const KernelArgs& a) {
    invoke_kernel(Fn, a.stream, a.inputs[0], a.weights[0], optional_f32(a.weights[1]), a.outputs[0],
       params_as<DenseOp>(*a.params).act);
}

// The fast CPU kernels read weights packed once at load (KernelArgs::prepared)
// into their GEMM micro-kernel's panels.
std::shared_ptr<const void> prepare_cpu_conv(const OpParams& p, const std::vector<View>& w, Precision) {
    return cpu::pack_conv2d_weights(w[0], params_as<ConvOp>(p).k);
}

std::shared_ptr<const void> prepare_cpu_conv_transpose(const OpParams& p, const std::vector<View>& w, Precision) {
    return cpu::pack_conv_transpose2d_weights(w[0], params_as<ConvTransposeOp>(p).k.groups);
}

std::shared_ptr<const void> prepare_cpu_dense(const OpParams&, const std::vector<View>& w, Precision) {
    return cpu::pack_dense_weights(w[0]);
}

void run_cpu_conv(const KernelArgs& a) {
    Conv2dParams k = params_as<ConvOp>(*a.params).k;
    if (a.inputs.size() == 2) k.residual = a.inputs[1];
    cpu::conv2d_packed(a.inputs[0], a.weights[0], *static_cast<const cpu::PackedConvWeights*>(a.prepared),
                       optional_f32(a.weights[1]), a.outputs[0], k);
}

void run_cpu_conv_transpose(const KernelArgs& a) {
    cpu::conv_transpose2d_packed(a.inputs[0], a.weights[0],
                                 *static_cast<const cpu::PackedConvWeights*>(a.prepared),
                                 optional_f32(a.weights[1]), a.outputs[0],
                                 params_as<ConvTransposeOp>(*a.params).k);
}

void run_cpu_dense(const KernelArgs& a) {
    cpu::dense_packed(a.inputs[0], *static_cast<const cpu::PackedDenseWeights*>(a.prepared),
                      optional_f32(a.weights[1]), a.outputs[0], params_as<DenseOp>(*a.params).act);
}

#ifdef FCNRT_WITH_CUDA
// CUDA conv at tf32, bf16 or fp16: the weights rounded and packed once for the
// tensor-core kernel (kernels/cuda/conv_tensor_core.h). At fp32, and for depthwise
// convolutions at any precision, nothing is prepared and cuda::conv2d runs.
// conv_transpose likewise (cuda::conv_transpose2d at fp32 and when depthwise);
// dense runs the same kernel as a GEMM over the batch (cuda::dense at fp32).
std::shared_ptr<const void> prepare_cuda_conv(const OpParams& p, const std::vector<View>& w,
                                              Precision precision) {
    const int groups = params_as<ConvOp>(p).k.groups;
    if (precision == Precision::Fp32 || !cuda::conv2d_tensor_core_applies(w[0], groups)) return nullptr;
    return cuda::pack_conv2d_weights_tensor_core(w[0], groups, precision);
}

void run_cuda_conv(const KernelArgs& a) {
    if (!a.prepared) return run_conv<cuda::conv2d>(a);
    Conv2dParams k = params_as<ConvOp>(*a.params).k;
    if (a.inputs.size() == 2) k.residual = a.inputs[1];
    cuda::conv2d_tensor_core(a.inputs[0], a.weights[0],
                             *static_cast<const cuda::TensorCoreConvWeights*>(a.prepared),
                             optional_f32(a.weights[1]), a.outputs[0], k,
                             static_cast<cudaStream_t>(a.stream));
}

std::shared_ptr<const void> prepare_cuda_conv_transpose(const OpParams& p, const std::vector<View>& w,
                                                        Precision precision) {
    const int groups = params_as<ConvTransposeOp>(p).k.groups;
    if (precision == Precision::Fp32 || !cuda::conv_transpose2d_tensor_core_applies(w[0], groups))
        return nullptr;
    return cuda::pack_conv_transpose2d_weights_tensor_core(w[0], groups, precision);
}

void run_cuda_conv_transpose(const KernelArgs& a) {
    if (!a.prepared) return run_conv_transpose<cuda::conv_transpose2d>(a);
    cuda::conv_transpose2d_tensor_core(a.inputs[0], a.weights[0],
                                       *static_cast<const cuda::TensorCoreConvWeights*>(a.prepared),
                                       optional_f32(a.weights[1]), a.outputs[0],
                                       params_as<ConvTransposeOp>(*a.params).k,
                                       static_cast<cudaStream_t>(a.stream));
}

std::shared_ptr<const void> prepare_cuda_dense(const OpParams&, const std::vector<View>& w,
                                               Precision precision) {
    if (precision == Precision::Fp32) return nullptr;
    return cuda::pack_dense_weights_tensor_core(w[0], precision);
}

void run_cuda_dense(const KernelArgs& a) {
    if (!a.prepared) return run_dense<cuda::dense>(a);
    cuda::dense_tensor_core(a.inputs[0], *static_cast<const cuda::TensorCoreConvWeights*>(a.prepared),
                            optional_f32(a.weights[1]), a.outputs[0], params_as<DenseOp>(*a.params).act,
                            static_cast<cudaStream_t>(a.stream));
}
#endif

// The kernels read the weight as float32; an int32 tensor must not reach them.
void weight_f32(const InferContext& c) {
    const Tensor* w = c.weights.at(0);
    if (w->dtype() != DType::F32)
        throw Error(std::string("weight 'weight' must be float32, got ") + dtype_name(w->dtype()));
}

// Kernel height and width of a weight [.., .., kh, kw], checked to be rank 4.
void weight_rank4(const InferContext& c) {
    weight_f32(c);
    const Tensor* w = c.weights.at(0);
    if (w->shape().size() != 4)
        throw Error("weight 'weight' must have rank 4, got shape " + shape_to_string(w->shape()));
    for (int64_t d : w->shape())
        if (d < 1) throw Error("weight 'weight' has an empty dim: shape " + shape_to_string(w->shape()));
}

// conv takes an optional second input (an fcnrt extension, which fuse_residual
// produces from add(conv_out, r)): a residual r of the output's shape, added
// after the bias and before the activation (see Conv2dParams::residual).
OpDef conv_def() {
    OpDef d;
    d.name = "conv";
    d.max_inputs = 2;
    d.weights = {{"weight", false}, {"bias", true}};
    d.parse = [](const AttrReader& r) {
        auto p = std::make_shared<ConvOp>();
        copy_ints(r.ints("stride", 2, {1, 1}, 1, kMaxWindow), p->k.stride);
        copy_ints(r.ints("pads", 4, {0, 0, 0, 0}, 0, kMaxWindow), p->k.pads);
        copy_ints(r.ints("dilation", 2, {1, 1}, 1, kMaxWindow), p->k.dilation);
        p->k.groups = static_cast<int>(r.integer("groups", 1, 1, kMaxWindow));
        p->k.act = r.activation();
        return std::shared_ptr<const OpParams>(p);
    };
    d.infer = [](const InferContext& c) {
        const auto& p = params_as<ConvOp>(c.params).k;
        const Shape& x = input_shape(c, 0, 4, "x");
        require_f32(c, 0);
        weight_rank4(c);
        const Shape& w = c.weights[0]->shape();
        const int64_t g = p.groups;
        if (w[0] % g != 0)
            throw Error("weight has " + std::to_string(w[0]) + " output channels, not divisible by groups " +
                        std::to_string(g));
        if (known(x[1]) && x[1] != w[1] * g)
            throw Error("input has " + std::to_string(x[1]) + " channels but weight " +
                        shape_to_string(w) + " with groups " + std::to_string(g) + " expects " +
                        std::to_string(w[1] * g));
        require_weight_shape(c, 1, "bias", {w[0]});
        const int64_t eh = int64_t(p.dilation[0]) * (w[2] - 1) + 1;
        const int64_t ew = int64_t(p.dilation[1]) * (w[3] - 1) + 1;
        Shape y = {x[0], w[0], window_output(x[2], eh, p.stride[0], p.pads[0], p.pads[2], false, "height"),
                   window_output(x[3], ew, p.stride[1], p.pads[1], p.pads[3], false, "width")};
        if (c.inputs.size() == 2) {
            require_f32(c, 1);
            const Shape& r = c.inputs[1].shape;
            bool same = r.size() == 4;
            for (size_t i = 0; same && i < 4; ++i) same = r[i] == y[i] || !known(r[i]) || !known(y[i]);
            if (!same)
                throw Error("residual (input 1) has shape " + shape_to_string(r) +
                            "; it must equal the conv output's shape " + shape_to_string(y));
        }
        return std::vector<TensorInfo>{{DType::F32, y}};
    };
    d.flops = [](const InferContext& c, const std::vector<TensorInfo>& out) {
        const Shape& w = c.weights[0]->shape();
        return 2.0 * count(out[0].shape) * double(w[1] * w[2] * w[3]);
    };
    d.host_scratch = [](const InferContext& c, const std::vector<TensorInfo>& out) -> size_t {
        const Shape &x = c.inputs[0].shape, &w = c.weights[0]->shape(), &y = out[0].shape;
        if (x.size() != 4 || w.size() != 4 || y.size() != 4) return 0;
        return cpu::conv2d_call_scratch_bytes(make_view(nullptr, DType::F32, x[0], x[1], x[2], x[3]),
                                              make_view(nullptr, DType::F32, w[0], w[1], w[2], w[3]),
                                              make_view(nullptr, DType::F32, y[0], y[1], y[2], y[3]),
                                              params_as<ConvOp>(c.params).k);
    };
    d.spatial = [](const OpParams& op, const std::vector<const Tensor*>& w) {
        const auto& p = params_as<ConvOp>(op).k;
        SpatialMap m;
        m.kind = SpatialMap::Kind::Window;
        for (int a = 0; a < 2; ++a) {
            m.extent[a] = int(p.dilation[a] * (w[0]->shape()[2 + a] - 1) + 1);
            m.stride[a] = p.stride[a];
            m.pad_before[a] = p.pads[a];
        }
        return m;
    };
    set_kernels(d, run_conv<reference::conv2d>, run_cpu_conv, FCNRT_CUDA_KERNEL(run_cuda_conv));
    d.prepare[int(BackendKind::Cpu)] = prepare_cpu_conv;
#ifdef FCNRT_WITH_CUDA
    d.prepare[int(BackendKind::Cuda)] = prepare_cuda_conv;
#endif
    return d;
}

OpDef conv_transpose_def() {
    OpDef d;
    d.name = "conv_transpose";
    d.weights = {{"weight", false}, {"bias", true}};
    d.parse = [](const AttrReader& r) {
        auto p = std::make_shared<ConvTransposeOp>();
        copy_ints(r.ints("stride", 2, {1, 1}, 1, kMaxWindow), p->k.stride);
        copy_ints(r.ints("pads", 4, {0, 0, 0, 0}, 0, kMaxWindow), p->k.pads);
        copy_ints(r.ints("output_padding", 2, {0, 0}, 0, kMaxWindow), p->k.output_padding);
        copy_ints(r.ints("dilation", 2, {1, 1}, 1, kMaxWindow), p->k.dilation);
        p->k.groups = static_cast<int>(r.integer("groups", 1, 1, kMaxWindow));
        p->k.act = r.activation();
        for (int a = 0; a < 2; ++a)
            if (p->k.output_padding[a] >= std::max(p->k.stride[a], p->k.dilation[a]))
                throw Error("output_padding must be smaller than stride or dilation (as in PyTorch)");
        return std::shared_ptr<const OpParams>(p);
    };
    d.infer = [](const InferContext& c) {
        const auto& p = params_as<ConvTransposeOp>(c.params).k;
        const Shape& x = input_shape(c, 0, 4, "x");
        require_f32(c, 0);
        weight_rank4(c);
        const Shape& w = c.weights[0]->shape();
        const int64_t g = p.groups;
        if (w[0] % g != 0)
            throw Error("weight has " + std::to_string(w[0]) + " input channels, not divisible by groups " +
                        std::to_string(g));
        if (known(x[1]) && x[1] != w[0])
            throw Error("input has " + std::to_string(x[1]) + " channels but weight " +
                        shape_to_string(w) + " expects " + std::to_string(w[0]));
        const int64_t k_out = w[1] * g;
        require_weight_shape(c, 1, "bias", {k_out});
        Shape y = {x[0], k_out, kUnknownDim, kUnknownDim};
        for (int a = 0; a < 2; ++a) {
            const int64_t in = x[2 + a];
            if (!known(in)) continue;
            const int64_t out = (in - 1) * p.stride[a] - p.pads[a] - p.pads[a + 2] +
                                int64_t(p.dilation[a]) * (w[2 + a] - 1) + p.output_padding[a] + 1;
            if (out < 1)
                throw Error(std::string("output ") + (a ? "width" : "height") + " would be " +
                            std::to_string(out) + ": pads too large for the input");
            y[2 + a] = out;
        }
        return std::vector<TensorInfo>{{DType::F32, y}};
    };
    d.flops = [](const InferContext& c, const std::vector<TensorInfo>&) {
        const Shape& w = c.weights[0]->shape();
        return 2.0 * count(c.inputs[0].shape) * double(w[1] * w[2] * w[3]);
    };
    d.spatial = [](const OpParams& op, const std::vector<const Tensor*>& w) {
        const auto& p = params_as<ConvTransposeOp>(op).k;
        SpatialMap m;
        m.kind = SpatialMap::Kind::Upsample;
        for (int a = 0; a < 2; ++a) {
            m.extent[a] = int(p.dilation[a] * (w[0]->shape()[2 + a] - 1) + 1);
            m.stride[a] = p.stride[a];
            m.pad_before[a] = p.pads[a];
        }
        return m;
    };
    set_kernels(d, run_conv_transpose<reference::conv_transpose2d>, run_cpu_conv_transpose,
                FCNRT_CUDA_KERNEL(run_cuda_conv_transpose));
    d.prepare[int(BackendKind::Cpu)] = prepare_cpu_conv_transpose;
#ifdef FCNRT_WITH_CUDA
    d.prepare[int(BackendKind::Cuda)] = prepare_cuda_conv_transpose;
#endif
    return d;
}

OpDef dense_def() {
    OpDef d;
    d.name = "dense";
    d.weights = {{"weight", false}, {"bias", true}};
    d.parse = [](const AttrReader& r) {
        auto p = std::make_shared<DenseOp>();
        p->act = r.activation();
        return std::shared_ptr<const OpParams>(p);
    };
    d.infer = [](const InferContext& c) {
        const Shape& x = c.inputs.at(0).shape;
        require_f32(c, 0);
        if (x.size() != 2 && x.size() != 4)
            throw Error("input must be [N, F] or [N, C, H, W], got shape " + shape_to_string(x));
        weight_f32(c);
        const Tensor* w = c.weights.at(0);
        if (w->shape().size() != 2)
            throw Error("weight 'weight' must be [out, F], got shape " + shape_to_string(w->shape()));
        const int64_t f = numel_known(Shape(x.begin() + 1, x.end()));
        if (known(f) && f != w->shape()[1])
            throw Error("input has " + std::to_string(f) + " features per item (shape " +
                        shape_to_string(x) + ") but weight " + shape_to_string(w->shape()) +
                        " expects " + std::to_string(w->shape()[1]));
        require_weight_shape(c, 1, "bias", {w->shape()[0]});
        return std::vector<TensorInfo>{{DType::F32, {x[0], w->shape()[0]}}};
    };
    d.flops = [](const InferContext& c, const std::vector<TensorInfo>& out) {
        return 2.0 * count(out[0].shape) * double(c.weights[0]->shape()[1]);
    };
    d.spatial = [](const OpParams&, const std::vector<const Tensor*>&) {
        SpatialMap m;
        m.kind = SpatialMap::Kind::Global;
        return m;
    };
    set_kernels(d, run_dense<reference::dense>, run_cpu_dense, FCNRT_CUDA_KERNEL(run_cuda_dense));
    d.prepare[int(BackendKind::Cpu)] = prepare_cpu_dense;
#ifdef FCNRT_WITH_CUDA
    d.prepare[int(BackendKind::Cuda)] = prepare_cuda_dense;
#endif
    return d;
}

}  // namespace
}  // namespace ops

void register_conv_ops(std::map<std::string, OpDef>& ops) {
    for (OpDef d : {ops::conv_def(), ops::conv_transpose_def(), ops::dense_def()})
        ops.emplace(d.name, std::move(d));
}

}  // namespace fcnrt
