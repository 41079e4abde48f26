// Ops that move elements without arithmetic on them: concat, crop, pad,
// flatten, and resize (which interpolates, but is shaped like the rest).
#include "engine/ops/shape_ops.h"

#include <cmath>

#include "engine/ops/op_helpers.h"
#include "kernels/cpu/concat.h"
#include "kernels/cpu/layout.h"
#include "kernels/cpu/resize.h"
#include "kernels/reference/concat.h"
#include "kernels/reference/layout.h"
#include "kernels/reference/resize.h"
#ifdef FCNRT_WITH_CUDA
#include "kernels/cuda/concat.h"
#include "kernels/cuda/layout.h"
#include "kernels/cuda/resize.h"
#endif

namespace fcnrt {
namespace ops {

int normalize_axis(int axis, size_t rank) {
    const int r = static_cast<int>(rank);
    if (axis < -r || axis >= r)
        throw Error("axis " + std::to_string(axis) + " is out of range for rank " +
                    std::to_string(rank));
    return axis < 0 ? axis + r : axis;
}

namespace {

constexpr int64_t kMaxDim = int64_t(1) << 30;

// ---- concat ----

// View-axis stride in elements (the view is NCHW with batch_stride).
int64_t axis_stride(const View& v, int axis) {
    switch (axis) {
        case 0: return v.batch_stride;
        case 1: return v.h * v.w;
        case 2: return v.w;
        default: return 1;
    }
}
int64_t axis_size(const View& v, int axis) {
    const int64_t dims[4] = {v.n, v.c, v.h, v.w};
    return dims[axis];
}

template <auto Copy>
void run_concat(const KernelArgs& a) {
    const View& y = a.outputs[0];
    // Rank-2 and rank-4 axes are view axes; negative ones occur on rank 4 only.
    const int raw_axis = params_as<ConcatOp>(*a.params).axis;
    const int axis = raw_axis < 0 ? raw_axis + 4 : raw_axis;
    int64_t offset = 0;
    for (const View& x : a.inputs) {
        // An input whose producer already wrote it into its slice needs no copy.
        const char* slice = static_cast<const char*>(y.data) +
                            offset * axis_stride(y, axis) * dtype_size(y.dtype);
        const bool in_place = x.data == slice && x.batch_stride == y.batch_stride && axis == 1;
        if (!in_place) invoke_kernel(Copy, a.stream, x, y, axis, offset);
        offset += axis_size(x, axis);
    }
}

OpDef concat_def() {
    OpDef d;
    d.name = "concat";
    d.max_inputs = 1 << 16;
    d.parse = [](const AttrReader& r) {
        auto p = std::make_shared<ConcatOp>();
        p->axis = static_cast<int>(r.integer("axis", 1, -4, 3));
        return std::shared_ptr<const OpParams>(p);
    };
    d.infer = [](const InferContext& c) {
        const Shape& first = c.inputs[0].shape;
        if (first.size() != 2 && first.size() != 4)
            throw Error("inputs must have rank 2 or 4, got shape " + shape_to_string(first));
        const int axis = normalize_axis(params_as<ConcatOp>(c.params).axis, first.size());
        if (params_as<ConcatOp>(c.params).axis < 0 && first.size() == 2)
            throw Error("give a non-negative axis for rank-2 inputs: " + std::to_string(axis));
        Shape y = first;
        for (size_t i = 1; i < c.inputs.size(); ++i) {
            const TensorInfo& t = c.inputs[i];
            if (t.dtype != c.inputs[0].dtype)
                throw Error("input " + std::to_string(i) + " is " + dtype_name(t.dtype) +
                            " but input 0 is " + dtype_name(c.inputs[0].dtype));
            bool ok = t.shape.size() == first.size();
            for (size_t k = 0; ok && k < first.size(); ++k)
                ok = int(k) == axis || t.shape[k] == first[k] || !known(t.shape[k]) || !known(first[k]);
            if (!ok)
                throw Error("input " + std::to_string(i) + " has shape " + shape_to_string(t.shape) +
                            ", which does not match input 0 " + shape_to_string(first) +
                            " outside axis " + std::to_string(axis));
            y[axis] = known(y[axis]) && known(t.shape[axis]) ? y[axis] + t.shape[axis]
                                                             : kUnknownDim;
        }
        return std::vector<TensorInfo>{{c.inputs[0].dtype, y}};
    };
    d.flops = [](const InferContext&, const std::vector<TensorInfo>&) { return 0.0; };
    set_kernels(d, run_concat<reference::concat_copy>, run_concat<cpu::concat_copy>,
                FCNRT_CUDA_KERNEL(run_concat<cuda::concat_copy>));
    return d;
}

// ---- crop ----

struct CropOp : OpParams {
    enum class Form { OffsetSize, Margins, CentreToRef } form = Form::OffsetSize;
    int64_t offset[2] = {0, 0};
    int64_t size[2] = {0, 0};  // 0: from ref
    int64_t margins[4] = {0, 0, 0, 0};
};

// Top-left corner of the crop for an input of x's size and an output of y's.
void crop_origin(const CropOp& p, const View& x, const View& y, int64_t* top, int64_t* left) {
    switch (p.form) {
        case CropOp::Form::OffsetSize: *top = p.offset[0]; *left = p.offset[1]; break;
        case CropOp::Form::Margins: *top = p.margins[0]; *left = p.margins[1]; break;
        case CropOp::Form::CentreToRef:
            *top = (x.h - y.h) / 2;
            *left = (x.w - y.w) / 2;
            break;
    }
}

template <auto Fn>
void run_crop(const KernelArgs& a) {
    int64_t top = 0, left = 0;
    crop_origin(params_as<CropOp>(*a.params), a.inputs[0], a.outputs[0], &top, &left);
    invoke_kernel(Fn, a.stream, a.inputs[0], a.outputs[0], top, left);
}

// Forms: offset [top, left] with size [H, W] (or with a ref giving the size);
// margins [top, left, bottom, right]; a ref alone: centre crop, the odd row or
// column going to the bottom/right (top = floor((H - h) / 2), as ONNX CenterCropPad).
OpDef crop_def() {
    OpDef d;
    d.name = "crop";
    d.max_inputs = 2;
    d.parse = [](const AttrReader& r) {
        auto p = std::make_shared<CropOp>();
        const auto offset = r.ints("offset", 2, {}, 0, kMaxDim);
        const auto size = r.ints("size", 2, {}, 1, kMaxDim);
        const auto margins = r.ints("margins", 4, {}, 0, kMaxDim);
        if (!margins.empty() && (!offset.empty() || !size.empty()))
            throw Error("give either 'margins' or 'offset' with 'size', not both");
        if (!margins.empty()) {
            p->form = CropOp::Form::Margins;
            for (int i = 0; i < 4; ++i) p->margins[i] = margins[i];
        } else if (!offset.empty()) {
            p->form = CropOp::Form::OffsetSize;
            p->offset[0] = offset[0];
            p->offset[1] = offset[1];
            if (!size.empty()) {
                p->size[0] = size[0];
                p->size[1] = size[1];
            }
        } else if (!size.empty()) {
            throw Error("attribute 'size' needs 'offset'");
        } else {
            p->form = CropOp::Form::CentreToRef;
        }
        return std::shared_ptr<const OpParams>(p);
    };
    d.infer = [](const InferContext& c) {
        const auto& p = params_as<CropOp>(c.params);
        const Shape& x = input_shape(c, 0, 4, "x");
        const bool has_ref = c.inputs.size() > 1;
        Shape ref_hw = {kUnknownDim, kUnknownDim};
        if (has_ref) {
            const Shape& r = input_shape(c, 1, 4, "ref");
            ref_hw = {r[2], r[3]};
        }
        Shape y = x;
        for (int a = 0; a < 2; ++a) {
            const int64_t in = x[2 + a];
            int64_t begin = 0, out = kUnknownDim;
            switch (p.form) {
                case CropOp::Form::Margins:
                    begin = p.margins[a];
                    out = known(in) ? in - p.margins[a] - p.margins[a + 2] : kUnknownDim;
                    break;
                case CropOp::Form::OffsetSize:
                    if (p.size[a] == 0 && !has_ref)
                        throw Error("attribute 'offset' needs 'size' or a ref input");
                    begin = p.offset[a];
                    out = p.size[a] ? p.size[a] : ref_hw[a];
                    break;
                case CropOp::Form::CentreToRef:
                    if (!has_ref)
                        throw Error("needs 'offset' with 'size', 'margins', or a ref input");
                    out = ref_hw[a];
                    break;
            }
            if (known(out) && out < 1)
                throw Error("crop leaves nothing of input " + shape_to_string(x));
            if (known(in) && known(out) && begin + out > in)
                throw Error(std::string("crop of ") + (a ? "width " : "height ") +
                            std::to_string(out) + " at " + std::to_string(begin) +
                            " exceeds the input's " + std::to_string(in));
            y[2 + a] = out;
        }
        return std::vector<TensorInfo>{{c.inputs[0].dtype, y}};
    };
    d.flops = [](const InferContext&, const std::vector<TensorInfo>&) { return 0.0; };
    d.spatial = [](const OpParams& op, const std::vector<const Tensor*>&) {
        const auto& p = params_as<CropOp>(op);
        SpatialMap m;
        m.kind = SpatialMap::Kind::Shift;
        for (int a = 0; a < 2; ++a)
            m.pad_before[a] = int(p.form == CropOp::Form::Margins ? p.margins[a] : p.offset[a]);
        m.centred = p.form == CropOp::Form::CentreToRef;
        return m;
    };
    set_kernels(d, run_crop<reference::crop>, run_crop<cpu::crop>,
                FCNRT_CUDA_KERNEL(run_crop<cuda::crop>));
    return d;
}

// ---- pad ----

struct PadOp : OpParams {
    PadParams k;
};

template <auto Fn>
void run_pad(const KernelArgs& a) {
    invoke_kernel(Fn, a.stream, a.inputs[0], a.outputs[0], params_as<PadOp>(*a.params).k);
}

OpDef pad_def() {
    OpDef d;
    d.name = "pad";
    d.parse = [](const AttrReader& r) {
        auto p = std::make_shared<PadOp>();
        copy_ints(r.ints("pads", 4, {0, 0, 0, 0}, -kMaxDim, kMaxDim), p->k.pads);
        const std::string mode = r.choice("mode", {"constant", "reflect", "edge"}, "constant");
        p->k.mode = mode == "reflect" ? PadMode::Reflect
                    : mode == "edge"  ? PadMode::Edge
                                      : PadMode::Constant;
        p->k.value = float(r.number("value", 0.0));
        return std::shared_ptr<const OpParams>(p);
    };
    d.infer = [](const InferContext& c) {
        const auto& p = params_as<PadOp>(c.params).k;
        const Shape& x = input_shape(c, 0, 4, "x");
        require_f32(c, 0);
        Shape y = x;
        for (int a = 0; a < 2; ++a) {
            if (!known(x[2 + a])) continue;
            y[2 + a] = x[2 + a] + p.pads[a] + p.pads[a + 2];
            if (y[2 + a] < 1) throw Error("pads leave nothing of input " + shape_to_string(x));
            if (p.mode == PadMode::Reflect &&
                (p.pads[a] >= x[2 + a] || p.pads[a + 2] >= x[2 + a]))
                throw Error("reflect padding must be smaller than the input (" +
                            shape_to_string(x) + "), as in PyTorch");
        }
        return std::vector<TensorInfo>{{DType::F32, y}};
    };
    d.flops = [](const InferContext&, const std::vector<TensorInfo>&) { return 0.0; };
    d.spatial = [](const OpParams& op, const std::vector<const Tensor*>&) {
        const auto& p = params_as<PadOp>(op).k;
        SpatialMap m;
        m.kind = SpatialMap::Kind::Shift;
        m.pad_before[0] = -p.pads[0];
        m.pad_before[1] = -p.pads[1];
        return m;
    };
    set_kernels(d, run_pad<reference::pad>, run_pad<cpu::pad>,
                FCNRT_CUDA_KERNEL(run_pad<cuda::pad>));
    return d;
}

// ---- depth_to_space / space_to_depth (fcnrt extensions: ONNX DepthToSpace,
// SpaceToDepth; PyTorch pixel_shuffle, pixel_unshuffle) ----

struct SpaceDepthOp : OpParams {
    SpaceDepthParams k;
};

template <auto Fn>
void run_space_depth(const KernelArgs& a) {
    invoke_kernel(Fn, a.stream, a.inputs[0], a.outputs[0], params_as<SpaceDepthOp>(*a.params).k);
}

OpDef space_depth_def(bool to_space) {
    OpDef d;
    d.name = to_space ? "depth_to_space" : "space_to_depth";
    d.parse = [](const AttrReader& r) {
        auto p = std::make_shared<SpaceDepthOp>();
        p->k.block = int(r.integer("block_size", 2, 1, 1 << 12));
        p->k.crd = r.choice("mode", {"DCR", "CRD"}, "DCR") == "CRD";
        return std::shared_ptr<const OpParams>(p);
    };
    d.infer = [to_space](const InferContext& c) {
        const int64_t b = params_as<SpaceDepthOp>(c.params).k.block;
        const Shape& x = input_shape(c, 0, 4, "x");
        require_f32(c, 0);
        Shape y = x;
        if (to_space) {
            if (known(x[1]) && x[1] % (b * b) != 0)
                throw Error("input " + shape_to_string(x) + " has " + std::to_string(x[1]) +
                            " channels, not a multiple of block_size^2 = " + std::to_string(b * b));
            if (known(x[1])) y[1] = x[1] / (b * b);
            for (int a = 2; a < 4; ++a)
                if (known(x[a])) y[a] = x[a] * b;
        } else {
            for (int a = 2; a < 4; ++a)
                if (known(x[a]) && x[a] % b != 0)
                    throw Error("input " + shape_to_string(x) +
                                ": H and W must be multiples of block_size " + std::to_string(b));
            if (known(x[1])) y[1] = x[1] * b * b;
            for (int a = 2; a < 4; ++a)
                if (known(x[a])) y[a] = x[a] / b;
        }
        return std::vector<TensorInfo>{{DType::F32, y}};
    };
    d.flops = [](const InferContext&, const std::vector<TensorInfo>&) { return 0.0; };
    // As geometry: depth_to_space spreads each pixel over a b x b block (max_unpool's
    // map with kernel = stride = b); space_to_depth gathers one (a b x b window, stride b).
    d.spatial = [to_space](const OpParams& op, const std::vector<const Tensor*>&) {
        const int b = params_as<SpaceDepthOp>(op).k.block;
        SpatialMap m;
        m.kind = to_space ? SpatialMap::Kind::Upsample : SpatialMap::Kind::Window;
        for (int a = 0; a < 2; ++a) {
            m.extent[a] = b;
            m.stride[a] = b;
        }
        return m;
    };
    if (to_space) {
        set_kernels(d, run_space_depth<reference::depth_to_space>,
                    run_space_depth<cpu::depth_to_space>,
                    FCNRT_CUDA_KERNEL(run_space_depth<cuda::depth_to_space>));
    } else {
        set_kernels(d, run_space_depth<reference::space_to_depth>,
                    run_space_depth<cpu::space_to_depth>,
                    FCNRT_CUDA_KERNEL(run_space_depth<cuda::space_to_depth>));
    }
    return d;
}

// ---- flatten ----

OpDef flatten_def() {
    OpDef d;
    d.name = "flatten";
    d.parse = [](const AttrReader&) { return std::make_shared<const OpParams>(); };
    d.infer = [](const InferContext& c) {
        const Shape& x = c.inputs.at(0).shape;
        if (x.size() < 2 || x.size() > 4)
            throw Error("input must have rank 2 to 4, got shape " + shape_to_string(x));
        return std::vector<TensorInfo>{
            {c.inputs[0].dtype, {x[0], numel_known(Shape(x.begin() + 1, x.end()))}}};
    };
    d.flops = [](const InferContext&, const std::vector<TensorInfo>&) { return 0.0; };
    d.spatial = [](const OpParams&, const std::vector<const Tensor*>&) {
        SpatialMap m;
        m.kind = SpatialMap::Kind::Global;
        return m;
    };
    // NCHW with a contiguous C*H*W per item is already [N, C*H*W].
    d.output_aliases_input = true;
    return d;
}

// ---- resize ----

struct ResizeOp : OpParams {
    ResizeMode mode = ResizeMode::Nearest;
    bool align_corners = false;
    ResizeCoordMode coord_mode = ResizeCoordMode::Pytorch;
    NearestRounding nearest = NearestRounding::Floor;
    bool has_scale = false;
    bool size_from_input = false;  // output H, W = input 1's (an fcnrt extension)
    double scale[2] = {1.0, 1.0};
    int64_t size[2] = {0, 0};
};

// The per-call kernel params: the source-coordinate factor as PyTorch computes
// it, in float (1/scale when a scale was given, in/out otherwise), so that
// nearest's floor() lands on the same source pixel as PyTorch's.
ResizeParams resize_params(const ResizeOp& p, const View& x, const View& y) {
    ResizeParams k;
    k.mode = p.mode;
    k.align_corners = p.align_corners;
    k.coord_mode = p.coord_mode;
    k.nearest = p.nearest;
    const int64_t in[2] = {x.h, x.w}, out[2] = {y.h, y.w};
    for (int a = 0; a < 2; ++a)
        k.coord_scale[a] = p.has_scale ? double(float(1.0 / p.scale[a]))
                                       : double(float(in[a]) / float(out[a]));
    // An output size given (not a scale) and longer than 1 on both axes: ONNX's
    // half_pixel and pytorch_half_pixel are PyTorch's rule (what the importer
    // writes as the default resize when it knows the sizes). Decided here, per
    // call, for sizes known only at run time (size_from_input).
    if (!p.has_scale && p.mode == ResizeMode::Bilinear && out[0] > 1 && out[1] > 1 &&
        (p.coord_mode == ResizeCoordMode::HalfPixel || p.coord_mode == ResizeCoordMode::PytorchHalfPixel))
        k.coord_mode = ResizeCoordMode::Pytorch;
    return k;
}

template <auto Fn>
void run_resize(const KernelArgs& a) {
    invoke_kernel(Fn, a.stream, a.inputs[0], a.outputs[0],
       resize_params(params_as<ResizeOp>(*a.params), a.inputs[0], a.outputs[0]));
}

OpDef resize_def() {
    OpDef d;
    d.name = "resize";
    d.max_inputs = 2;
    d.parse = [](const AttrReader& r) {
        auto p = std::make_shared<ResizeOp>();
        p->mode = r.choice("mode", {"nearest", "bilinear"}, "nearest") == "bilinear"
                      ? ResizeMode::Bilinear
                      : ResizeMode::Nearest;
        p->align_corners = r.boolean("align_corners", false);
        if (p->align_corners && p->mode == ResizeMode::Nearest)
            throw Error("align_corners applies to bilinear only (as in PyTorch)");
        // ONNX Resize's coordinate_transformation_mode and nearest_mode (an fcnrt
        // extension for imported graphs); absent, resize is PyTorch's interpolate.
        if (r.has("coordinate_mode")) {
            const std::string m = r.choice(
                "coordinate_mode",
                {"half_pixel", "pytorch_half_pixel", "asymmetric", "align_corners"}, "");
            if (p->align_corners) throw Error("give 'align_corners' or 'coordinate_mode', not both");
            p->coord_mode = m == "half_pixel"           ? ResizeCoordMode::HalfPixel
                            : m == "pytorch_half_pixel" ? ResizeCoordMode::PytorchHalfPixel
                            : m == "asymmetric"         ? ResizeCoordMode::Asymmetric
                                                        : ResizeCoordMode::AlignCorners;
        }
        if (r.has("nearest_mode")) {
            if (p->coord_mode == ResizeCoordMode::Pytorch || p->mode != ResizeMode::Nearest)
                throw Error("'nearest_mode' needs mode nearest and a 'coordinate_mode'");
            const std::string m = r.choice(
                "nearest_mode", {"floor", "round_prefer_floor", "round_prefer_ceil", "ceil"}, "");
            p->nearest = m == "round_prefer_floor"  ? NearestRounding::RoundPreferFloor
                         : m == "round_prefer_ceil" ? NearestRounding::RoundPreferCeil
                         : m == "ceil"              ? NearestRounding::Ceil
                                                    : NearestRounding::Floor;
        }
        const bool has_scale = r.has("scale"), has_size = r.has("size");
        // `size_from_input`: the output's H and W are those of input 1 (resize to
        // another tensor's size, whatever the input size: dynamic-size imports).
        p->size_from_input = r.boolean("size_from_input", false);
        if (p->size_from_input) {
            if (has_scale || has_size)
                throw Error("give 'size_from_input' or one of 'scale' and 'size', not both");
            return std::shared_ptr<const OpParams>(p);
        }
        if (has_scale == has_size) throw Error("give exactly one of 'scale' and 'size'");
        if (has_scale) {
            p->has_scale = true;
            const auto s = r.numbers("scale", 2);
            for (int a = 0; a < 2; ++a) {
                if (!(s[a] > 0) || s[a] > 1e4)
                    throw Error("attribute 'scale' must be positive (and at most 10000)");
                p->scale[a] = s[a];
            }
        } else {
            const auto s = r.ints("size", 2, {}, 1, kMaxDim);
            p->size[0] = s[0];
            p->size[1] = s[1];
        }
        return std::shared_ptr<const OpParams>(p);
    };
    d.infer = [](const InferContext& c) {
        const auto& p = params_as<ResizeOp>(c.params);
        const Shape& x = input_shape(c, 0, 4, "x");
        require_f32(c, 0);
        Shape y = x;
        if (p.size_from_input != (c.inputs.size() == 2))
            throw Error(p.size_from_input ? "'size_from_input' needs a second input (the size's source)"
                                          : "a second input needs 'size_from_input'");
        if (p.size_from_input) {
            const Shape& like = input_shape(c, 1, 4, "size source");
            y[2] = like[2];
            y[3] = like[3];
            return std::vector<TensorInfo>{{DType::F32, y}};
        }
        for (int a = 0; a < 2; ++a) {
            if (!p.has_scale) {
                y[2 + a] = p.size[a];
            } else if (known(x[2 + a])) {
                // PyTorch: floor(in * scale) in double precision.
                const double out = std::floor(double(x[2 + a]) * p.scale[a]);
                if (out < 1 || out > double(kMaxDim))
                    throw Error("scale gives an output size of " + std::to_string(out) +
                                " for input " + shape_to_string(x));
                y[2 + a] = int64_t(out);
            }
        }
        return std::vector<TensorInfo>{{DType::F32, y}};
    };
    d.flops = [](const InferContext& c, const std::vector<TensorInfo>& out) {
        return (params_as<ResizeOp>(c.params).mode == ResizeMode::Bilinear ? 8.0 : 0.0) *
               count(out[0].shape);
    };
    d.spatial = [](const OpParams& p, const std::vector<const Tensor*>&) {
        SpatialMap m;
        m.kind = SpatialMap::Kind::Resize;  // the analysis reads the factor off the shapes
        // Resizing to another tensor's size samples at a ratio that depends on the
        // whole image's size (45 -> 22 -> 45 is not 20 -> 10 -> 20): a tile would not
        // reproduce the untiled result, so such a resize counts as global.
        if (params_as<ResizeOp>(p).size_from_input) m.kind = SpatialMap::Kind::Global;
        return m;
    };
    set_kernels(d, run_resize<reference::resize>, run_resize<cpu::resize>,
                FCNRT_CUDA_KERNEL(run_resize<cuda::resize>));
    return d;
}

}  // namespace
}  // namespace ops

void register_shape_ops(std::map<std::string, OpDef>& ops) {
    for (OpDef d : {ops::concat_def(), ops::crop_def(), ops::pad_def(), ops::space_depth_def(true),
                    ops::space_depth_def(false), ops::flatten_def(), ops::resize_def()})
        ops.emplace(d.name, std::move(d));
}

}  // namespace fcnrt
