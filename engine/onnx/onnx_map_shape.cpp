// ONNX Concat, Softmax, ArgMax, Resize/Upsample, Pad, Slice, Flatten and
// Reshape onto fcnrt's concat, softmax, argmax, resize, pad, crop, flatten and
// identity. Sizes, scales, pads and slice bounds must be known at import.
//
// Resize: PyTorch's export (nearest: asymmetric + floor; linear:
// pytorch_half_pixel or align_corners) maps onto fcnrt's default resize, which
// also has a CUDA kernel; the other ONNX modes use resize's `coordinate_mode`
// and `nearest_mode` attributes (CPU only). cubic, tf_crop_and_resize,
// antialias and keep_aspect_ratio_policy other than stretch are refused.
#include <algorithm>
#include <cmath>

#include "engine/onnx/onnx_importer.h"

namespace fcnrt::onnx_import {

namespace {

void map_concat(Importer& im, const onnx::NodeProto& n) {
    const Attrs a(n);
    std::vector<std::string> ins;
    for (int k = 0; k < n.input_size(); ++k) {
        value_input(im, n, k);
        ins.push_back(n.input(k));
    }
    Json j = make_node("concat", im.node_name(n), ins, {n.output(0)});
    j["axis"] = a.integer("axis", 1);
    im.emit(std::move(j));
}

void map_softmax(Importer& im, const onnx::NodeProto& n) {
    const Attrs a(n);
    const TensorInfo& x = value_input(im, n, 0);
    const int64_t r = int64_t(x.shape.size());
    int64_t axis = a.integer("axis", im.opset() < 13 ? 1 : -1);
    if (axis < 0) axis += r;
    if (im.opset() < 13) {
        // Before opset 13 Softmax normalises over all dims from `axis` on (as a 2-D
        // matrix): the same as per-axis only when the later dims are 1.
        for (int64_t k = axis + 1; k < r; ++k)
            if (x.shape[k] != 1)
                throw Error("Softmax (opset " + std::to_string(im.opset()) + ") over the flattened dims " +
                            std::to_string(axis) + ".. of " + shape_to_string(x.shape) +
                            " is not fcnrt's per-axis softmax");
    }
    Json j = make_node("softmax", im.node_name(n), {n.input(0)}, {n.output(0)});
    j["axis"] = axis;
    im.emit(std::move(j));
}

void map_argmax(Importer& im, const onnx::NodeProto& n) {
    const Attrs a(n);
    const TensorInfo& x = value_input(im, n, 0);
    if (a.integer("keepdims", 1) != 1) throw Error("ArgMax with keepdims=0 is not supported");
    if (a.integer("select_last_index", 0) != 0)
        throw Error("ArgMax with select_last_index=1 is not supported");
    int64_t axis = a.integer("axis", 0);
    if (axis < 0) axis += int64_t(x.shape.size());
    Json j = make_node("argmax", im.node_name(n), {n.input(0)}, {n.output(0)});
    j["axis"] = axis;  // fcnrt's indices are int32 (ONNX: int64)
    im.emit(std::move(j));
}

// Resize sizes that depend on run-time dims: [N, C, H, W] where H and W are dims 2
// and 3 of one run-time tensor T (PyTorch's interpolate(x, size=t.shape[-2:]) with
// dynamic axes) and N, C keep x's (known and equal; a dynamic C must be x's own
// dim 1, a dynamic N any tensor's dim 0).
// Returns T, which fcnrt's resize reads the size from (`size_from_input`).
std::string dynamic_size_source(const Importer& im, const onnx::NodeProto& n, const Shape& x,
                                const ConstValue& sizes) {
    const std::vector<int64_t>& s = sizes.i;
    std::string source;
    bool ok = s.size() == 4;
    for (size_t k = 0; ok && k < 4; ++k) {
        if (!im.is_symbol(s[k])) {
            ok = k < 2 && x[k] != kUnknownDim && s[k] == x[k];
            continue;
        }
        const auto& d = im.symbol_dim(s[k]);
        if (d.second != int(k)) ok = false;
        // C must be x's own (dynamic) C; N may be any tensor's dynamic batch, which
        // every tensor of a dynamic-batch graph shares with the input.
        if (k == 1 && d.first != n.input(0)) ok = false;
        if (k >= 2) {
            if (source.empty()) source = d.first;
            ok = ok && d.first == source;
        }
    }
    if (!ok || source.empty() || !im.is_value(source) || im.value(source).shape.size() != 4) {
        std::string what;
        for (int64_t v : s) what += (what.empty() ? "" : ", ") + (im.is_symbol(v) ? im.describe_symbol(v) : std::to_string(v));
        throw Error("Resize sizes [" + what + "] (input '" + n.input(3) +
                    "') depend on run-time sizes; fcnrt follows them only when they are [N, C, "
                    "H, W] of x with H and W those of one NCHW tensor (resize to its size)");
    }
    return source;
}

// Resize (opset 10: X, scales; 11+: X, roi, scales, sizes) and Upsample (opset
// 7: scales attribute; 9: scales input).
void map_resize(Importer& im, const onnx::NodeProto& n) {
    const Attrs a(n);
    const TensorInfo& x = value_input(im, n, 0);
    if (x.shape.size() != 4) throw Error("only NCHW (rank-4) resizing is supported");
    const bool upsample = n.op_type() == "Upsample";
    const bool legacy = upsample || im.opset() < 11;  // asymmetric, floor (Resize-10 / Upsample)
    std::string mode = a.text("mode", "nearest");
    if (mode == "bilinear") mode = "linear";  // Upsample-7's spelling
    if (mode != "nearest" && mode != "linear")
        throw Error("mode '" + mode + "' is not supported (nearest and linear only)");
    std::string coord = legacy ? "asymmetric" : a.text("coordinate_transformation_mode", "half_pixel");
    std::string nearest = legacy ? "floor" : a.text("nearest_mode", "round_prefer_floor");
    if (coord == "tf_crop_and_resize" || coord == "tf_half_pixel_for_nn")
        throw Error("coordinate_transformation_mode '" + coord + "' is not supported");
    if (a.integer("antialias", 0) != 0) throw Error("antialias is not supported");
    if (a.text("keep_aspect_ratio_policy", "stretch") != "stretch")
        throw Error("keep_aspect_ratio_policy other than stretch is not supported");
    if (a.has("axes")) {
        const auto axes = a.ints("axes", {});
        if (!(axes == std::vector<int64_t>{2, 3} || axes == std::vector<int64_t>{-2, -1}))
            throw Error("Resize axes other than [2, 3] are not supported");
    }

    std::vector<double> scales;
    std::vector<int64_t> sizes;
    std::string size_source;  // sizes = another tensor's H and W, known at run time
    if (upsample && im.opset() < 9) {
        scales = a.numbers("scales");
    } else if (upsample || im.opset() < 11) {
        scales = const_input(im, n, 1, "scales").doubles();
    } else {
        const std::string s = input_or_empty(n, 2), z = input_or_empty(n, 3);
        if (!s.empty() && !const_input(im, n, 2, "scales").dims.empty() &&
            const_input(im, n, 2, "scales").numel() > 0)
            scales = const_input(im, n, 2, "scales").doubles();
        if (!z.empty()) {
            if (im.is_const(z) && im.constant_or_symbolic(z).symbolic) {
                size_source = dynamic_size_source(im, n, x.shape, im.constant_or_symbolic(z));
                sizes = {x.shape[0], x.shape[1], kUnknownDim, kUnknownDim};
            } else {
                sizes = const_input(im, n, 3, "sizes").ints();
            }
        }
    }
    if (scales.empty() == sizes.empty()) throw Error("needs exactly one of scales and sizes");
    if (!scales.empty()) {
        if (scales.size() == 2 && a.has("axes")) scales.insert(scales.begin(), {1.0, 1.0});
        if (scales.size() != 4 || scales[0] != 1.0 || scales[1] != 1.0)
            throw Error("scales must be [1, 1, sh, sw]: fcnrt resizes H and W only");
    } else {
        if (sizes.size() == 2 && a.has("axes")) sizes.insert(sizes.begin(), {x.shape[0], x.shape[1]});
        if (sizes.size() != 4 || (x.shape[0] != kUnknownDim && sizes[0] != x.shape[0]) ||
            (x.shape[1] != kUnknownDim && sizes[1] != x.shape[1]))
            throw Error("sizes must keep N and C: fcnrt resizes H and W only");
    }
    if (legacy && mode == "nearest" && !scales.empty() && (scales[2] < 1.0 || scales[3] < 1.0))
        nearest = "ceil";  // onnxruntime's Resize-10 / Upsample rounding when shrinking

    // Output and input sizes per axis, where static, decide whether PyTorch's
    // coordinates (fcnrt's default resize) are exactly ONNX's.
    int64_t out[2], in[2] = {x.shape[2], x.shape[3]};
    for (int ax = 0; ax < 2; ++ax)
        out[ax] = !sizes.empty() ? sizes[2 + ax]
                  : in[ax] == kUnknownDim ? kUnknownDim
                                          : int64_t(std::floor(double(in[ax]) * scales[2 + ax]));
    bool pytorch_default = false;
    bool align = false;
    if (mode == "nearest") {
        pytorch_default = coord == "asymmetric" && nearest == "floor";
    } else if (coord == "align_corners") {
        // ONNX divides by in * scale - 1 before flooring; PyTorch by out - 1.
        pytorch_default = align = true;
        for (int ax = 0; ax < 2 && !scales.empty(); ++ax)
            if (in[ax] == kUnknownDim || double(in[ax]) * scales[2 + ax] != double(out[ax]))
                pytorch_default = align = false;
    } else if (coord == "pytorch_half_pixel" || coord == "half_pixel") {
        // Equal (the source clamped at 0) when every output axis is longer than 1 and no
        // axis keeps its size under a scale other than 1 (PyTorch copies such an axis).
        pytorch_default = true;
        for (int ax = 0; ax < 2; ++ax) {
            if (out[ax] == kUnknownDim || out[ax] <= 1) pytorch_default = false;
            if (!scales.empty() && out[ax] == in[ax] && scales[2 + ax] != 1.0) pytorch_default = false;
        }
    }
    std::vector<std::string> inputs = {n.input(0)};
    if (!size_source.empty()) inputs.push_back(size_source);
    Json j = make_node("resize", im.node_name(n), inputs, {n.output(0)});
    j["mode"] = mode == "linear" ? "bilinear" : "nearest";
    if (!scales.empty()) j["scale"] = {scales[2], scales[3]};
    else if (!size_source.empty()) j["size_from_input"] = true;
    else j["size"] = {sizes[2], sizes[3]};
    if (align) j["align_corners"] = true;
    if (!pytorch_default) {
        j["coordinate_mode"] = coord;
        if (mode == "nearest") j["nearest_mode"] = nearest;
    }
    im.emit(std::move(j));
}

void map_pad(Importer& im, const onnx::NodeProto& n) {
    const Attrs a(n);
    const TensorInfo& x = value_input(im, n, 0);
    const int64_t r = int64_t(x.shape.size());
    if (r != 4) throw Error("only NCHW (rank-4) padding is supported");
    std::vector<int64_t> pads;
    double value = 0.0;
    if (im.opset() < 11) {
        pads = a.ints("pads", {});
        value = a.number("value", 0.0);
    } else {
        pads = const_input(im, n, 1, "pads").ints();
        if (!input_or_empty(n, 2).empty()) {
            const ConstValue& v = const_input(im, n, 2, "constant_value");
            if (v.numel() > 0) value = v.as_double(0);
        }
    }
    std::vector<int64_t> axes;
    if (!input_or_empty(n, 3).empty()) axes = const_input(im, n, 3, "axes").ints();
    if (axes.empty())
        for (int64_t k = 0; k < r; ++k) axes.push_back(k);
    if (pads.size() != 2 * axes.size()) throw Error("pads must have 2 * (number of axes) elements");
    std::vector<int64_t> full(2 * r, 0);
    for (size_t k = 0; k < axes.size(); ++k) {
        const int64_t ax = axes[k] < 0 ? axes[k] + r : axes[k];
        if (ax < 0 || ax >= r) throw Error("pad axis out of range");
        full[ax] = pads[k];
        full[ax + r] = pads[k + axes.size()];
    }
    if (full[0] || full[1] || full[4] || full[5]) throw Error("padding N or C is not supported");
    const std::string mode = a.text("mode", "constant");
    if (mode != "constant" && mode != "reflect" && mode != "edge")
        throw Error("Pad mode '" + mode + "' is not supported (constant, reflect, edge)");
    Json j = make_node("pad", im.node_name(n), {n.input(0)}, {n.output(0)});
    j["pads"] = {full[2], full[3], full[6], full[7]};
    j["mode"] = mode;
    j["value"] = value;
    im.emit(std::move(j));
}

// Slice of a run-time tensor: a crop on H and W (step 1; N and C untouched).
void map_slice(Importer& im, const onnx::NodeProto& n) {
    const Attrs a(n);
    const TensorInfo& x = value_input(im, n, 0);
    const int64_t r = int64_t(x.shape.size());
    if (r != 4) throw Error("Slice of a run-time tensor is supported on NCHW tensors only (as a crop)");
    std::vector<int64_t> starts, ends, axes, steps;
    if (im.opset() < 10) {
        starts = a.ints("starts", {});
        ends = a.ints("ends", {});
        axes = a.ints("axes", {});
    } else {
        starts = const_input(im, n, 1, "starts").ints();
        ends = const_input(im, n, 2, "ends").ints();
        if (!input_or_empty(n, 3).empty()) axes = const_input(im, n, 3, "axes").ints();
        if (!input_or_empty(n, 4).empty()) steps = const_input(im, n, 4, "steps").ints();
    }
    if (axes.empty())
        for (size_t k = 0; k < starts.size(); ++k) axes.push_back(int64_t(k));
    int64_t begin[4] = {0, 0, 0, 0}, end[4];
    for (int k = 0; k < 4; ++k) end[k] = x.shape[k];
    for (size_t k = 0; k < starts.size(); ++k) {
        const int64_t ax = axes.at(k) < 0 ? axes[k] + r : axes.at(k);
        if (ax < 0 || ax >= r) throw Error("Slice axis out of range");
        if (!steps.empty() && steps.at(k) != 1) throw Error("Slice with a step other than 1 is not supported");
        const int64_t dim = x.shape[ax];
        if (dim == kUnknownDim) throw Error("Slice needs the static size of axis " + std::to_string(ax));
        int64_t b = starts[k] < 0 ? starts[k] + dim : starts[k];
        int64_t e = ends.at(k) < 0 ? ends[k] + dim : ends[k];
        b = std::clamp<int64_t>(b, 0, dim);
        e = std::clamp<int64_t>(e, 0, dim);
        begin[ax] = b;
        end[ax] = e;
    }
    for (int ax = 0; ax < 2; ++ax)
        if (begin[ax] != 0 || (x.shape[ax] != kUnknownDim && end[ax] != x.shape[ax]))
            throw Error("Slice along N or C is not supported (fcnrt crops H and W)");
    Json j = make_node("crop", im.node_name(n), {n.input(0)}, {n.output(0)});
    j["offset"] = {begin[2], begin[3]};
    j["size"] = {end[2] - begin[2], end[3] - begin[3]};
    im.emit(std::move(j));
}

void map_flatten(Importer& im, const onnx::NodeProto& n) {
    const Attrs a(n);
    const TensorInfo& x = value_input(im, n, 0);
    int64_t axis = a.integer("axis", 1);
    if (axis < 0) axis += int64_t(x.shape.size());
    if (axis != 1) throw Error("Flatten with axis " + std::to_string(axis) + " is not supported (axis 1 only)");
    im.emit(make_node("flatten", im.node_name(n), {n.input(0)}, {n.output(0)}));
}

// ---- PyTorch's PixelShuffle / PixelUnshuffle export: Reshape to rank 6,
// Transpose, Reshape back to rank 4 ----

// A Reshape target with 0 (copy, unless allowzero) and -1 (inferred) resolved
// against `from`; unknown where it cannot be.
Shape resolve_reshape(const Shape& from, const std::vector<int64_t>& spec, bool allowzero) {
    Shape out(spec.size());
    int64_t total = 1, known_product = 1;
    bool total_known = true;
    for (int64_t d : from) {
        if (d == kUnknownDim)
            total_known = false;
        else
            total *= d;
    }
    int infer_at = -1;
    for (size_t k = 0; k < spec.size(); ++k) {
        if (spec[k] == 0 && !allowzero)
            out[k] = k < from.size() ? from[k] : kUnknownDim;
        else if (spec[k] == -1) {
            out[k] = kUnknownDim;
            infer_at = int(k);
            continue;
        } else
            out[k] = spec[k];
        if (out[k] == kUnknownDim)
            total_known = false;
        else
            known_product *= out[k];
    }
    if (infer_at >= 0 && total_known && known_product > 0) out[infer_at] = total / known_product;
    return out;
}

void open_pixel_shuffle(Importer& im, const onnx::NodeProto& n, const Shape& x,
                        const std::vector<int64_t>& spec, bool allowzero) {
    im.pending_6d[n.output(0)] = {n.input(0), resolve_reshape(x, spec, allowzero), {}};
}

// ---- PixelUnshuffle with dynamic H/W (Importer::PendingUnshuffle) ----

// The axes of an Unsqueeze or Squeeze (attribute before opset 13, input after).
std::vector<int64_t> squeeze_axes(Importer& im, const onnx::NodeProto& n) {
    const Attrs a(n);
    if (a.has("axes")) return a.ints("axes", {});
    return input_or_empty(n, 1).empty() ? std::vector<int64_t>{} : const_input(im, n, 1, "axes").ints();
}

// Moves the pattern one step on, from n's input to its output; the input must be
// at `stage` and read by this node only.
void advance_unshuffle(Importer& im, const onnx::NodeProto& n, int stage, bool ok, int64_t block = 0) {
    Importer::PendingUnshuffle p = im.pending_unshuffle.at(n.input(0));
    if (!ok || p.stage != stage || im.consumers[n.input(0)].size() != 1 ||
        im.graph_outputs.count(n.input(0)) || (block && p.block && block != p.block))
        throw Error(n.op_type() + " of '" + n.input(0) +
                    "', an Unsqueeze of a run-time tensor that is not PyTorch's PixelUnshuffle "
                    "export (Unsqueeze, Reshape, Reshape, Transpose, Reshape, Squeeze)");
    p.stage = stage + 1;
    if (block) p.block = block;
    im.pending_unshuffle[n.output(0)] = p;
}

void map_unsqueeze(Importer& im, const onnx::NodeProto& n) {
    const Shape& x = value_input(im, n, 0).shape;
    if (x.size() != 4 || squeeze_axes(im, n) != std::vector<int64_t>{3})
        throw Error("Unsqueeze of a run-time tensor is supported only as the first step of "
                    "PyTorch's PixelUnshuffle export (axes [3] of an NCHW tensor); fcnrt "
                    "tensors have rank 4 at most");
    Importer::PendingUnshuffle p;
    p.x = n.input(0);
    p.stage = 1;
    im.pending_unshuffle[n.output(0)] = p;
}

void map_squeeze(Importer& im, const onnx::NodeProto& n) {
    auto it = im.pending_unshuffle.find(n.input(0));
    if (it == im.pending_unshuffle.end())
        throw Error("Squeeze of a run-time tensor is supported only as the last step of "
                    "PyTorch's PixelUnshuffle export");
    advance_unshuffle(im, n, 5, squeeze_axes(im, n) == std::vector<int64_t>{2, 3});
    const Importer::PendingUnshuffle p = im.pending_unshuffle.at(n.output(0));
    im.pending_unshuffle.erase(n.output(0));
    Json j = make_node("space_to_depth", im.node_name(n), {p.x}, {n.output(0)});
    j["block_size"] = p.block;
    j["mode"] = "CRD";
    im.emit(std::move(j));
}

void map_transpose(Importer& im, const onnx::NodeProto& n) {
    if (im.pending_unshuffle.count(n.input(0))) {
        advance_unshuffle(im, n, 3, Attrs(n).ints("perm", {}) == std::vector<int64_t>{0, 1, 3, 5, 2, 4});
        return;
    }
    auto it = im.pending_6d.find(n.input(0));
    if (it == im.pending_6d.end() || !it->second.perm.empty())
        throw Error(
            "Transpose of a run-time tensor is supported only as PixelShuffle / PixelUnshuffle "
            "(Reshape to rank 6, Transpose, Reshape to rank 4)");
    Importer::Pending6d t = it->second;
    t.perm = Attrs(n).ints("perm", {});
    if (t.perm.size() != 6) throw Error("Transpose of a rank-6 view needs a perm of 6 axes");
    im.pending_6d[n.output(0)] = std::move(t);
}

void close_pixel_shuffle(Importer& im, const onnx::NodeProto& n, const std::vector<int64_t>& spec,
                         bool allowzero) {
    const Importer::Pending6d p = im.pending_6d.at(n.input(0));
    const Shape& x = im.value(p.x).shape;  // [N, C0, H0, W0]
    const Shape& d = p.dims;
    auto eq = [](int64_t u, int64_t v) { return u == v && u != kUnknownDim; };
    auto times = [](int64_t u, int64_t v) {
        return u == kUnknownDim || v == kUnknownDim ? kUnknownDim : u * v;
    };
    using P = std::vector<int64_t>;
    std::string op, mode;
    int64_t b = 0;
    Shape out;
    if (p.perm == P{0, 1, 4, 2, 5, 3} || p.perm == P{0, 3, 4, 1, 5, 2}) {
        // depth_to_space: CRD views depth as [C, b, b], DCR as [b, b, C]
        const bool crd = p.perm[1] == 1;
        b = crd ? d[2] : d[1];
        const int64_t c = crd ? d[1] : d[3];
        if (eq(d[crd ? 3 : 2], b) && eq(times(c, b * b), x[1]) && d[4] == x[2] && d[5] == x[3]) {
            op = "depth_to_space";
            mode = crd ? "CRD" : "DCR";
            out = {x[0], c, times(x[2], b), times(x[3], b)};
        }
    } else if (p.perm == P{0, 1, 3, 5, 2, 4} || p.perm == P{0, 3, 5, 1, 2, 4}) {
        // space_to_depth: the view is [N, C, H, b, W, b]
        b = d[3];
        if (eq(d[5], b) && d[1] == x[1] && times(d[2], b) == x[2] && times(d[4], b) == x[3]) {
            op = "space_to_depth";
            mode = p.perm[1] == 1 ? "CRD" : "DCR";
            out = {x[0], times(x[1], b * b), d[2], d[4]};
        }
    }
    Shape transposed(6);
    for (int k = 0; k < 6; ++k) transposed[k] = d[size_t(p.perm[k])];
    const Shape want = resolve_reshape(transposed, spec, allowzero);
    bool matches = !op.empty() && want.size() == 4;
    for (size_t k = 0; matches && k < 4; ++k)
        matches = want[k] == out[k] || want[k] == kUnknownDim || out[k] == kUnknownDim;
    if (!matches)
        throw Error(
            "Reshape to rank 6, Transpose and Reshape that is not PixelShuffle or PixelUnshuffle "
            "(DepthToSpace / SpaceToDepth in DCR or CRD order); fcnrt has no general transpose");
    Json j = make_node(op, im.node_name(n), {p.x}, {n.output(0)});
    j["block_size"] = b;
    j["mode"] = mode;
    im.emit(std::move(j));
}

// Reshape of a run-time tensor: [N, C, H, W] -> [N, C*H*W] is fcnrt's flatten; a
// reshape to the same shape is an identity; a reshape to rank 6 opens the
// PixelShuffle pattern above. Anything else is refused.
// Closes GroupNorm's pattern: `spec` must give back the shape of the pending
// group norm's input x (dims equal where known, dim k of x itself, 0 for N, or
// one -1).
void close_group_norm(Importer& im, const onnx::NodeProto& n, const ConstValue& spec) {
    const Importer::PendingGroupNorm p = im.pending_group_norm.at(n.input(0));
    if (!p.normalised)
        throw Error("Reshape of GroupNorm's [N, G, -1] view before its InstanceNormalization");
    const Shape& x = im.value(p.x).shape;
    const std::vector<int64_t>& s = spec.i;
    bool restores = spec.dims.size() == 1 && s.size() == 4 && !spec.is_float;
    int inferred = 0;
    for (size_t k = 0; restores && k < 4; ++k) {
        if (im.is_symbol(s[k])) {
            const auto& d = im.symbol_dim(s[k]);
            restores = d.first == p.x && d.second == int(k);
        } else if (s[k] == -1) {
            restores = ++inferred == 1;
        } else {
            restores = (k == 0 && s[k] == 0) || (x[k] != kUnknownDim && s[k] == x[k]);
        }
    }
    if (!restores)
        throw Error("GroupNorm's pattern (Reshape to [N, G, -1], InstanceNormalization, Reshape) "
                    "must reshape back to the shape of '" + p.x + "'");
    Json j = make_node("group_norm", p.name, {p.x}, {n.output(0)});
    j["groups"] = p.groups;
    j["epsilon"] = p.epsilon;
    j["scale"] = p.scale;
    j["bias"] = p.bias;
    im.emit(std::move(j));
}

// Opens GroupNorm's pattern when `spec` views rank-4 x as [N, G, -1] for the one
// InstanceNormalization that reads it; returns false for any other reshape.
bool open_group_norm(Importer& im, const onnx::NodeProto& n, const Shape& x, const ConstValue& spec) {
    const auto& readers = im.consumers[n.output(0)];
    if (x.size() != 4 || spec.i.size() != 3 || readers.size() != 1 ||
        readers[0] != "InstanceNormalization" || im.graph_outputs.count(n.output(0)))
        return false;
    const int64_t n0 = spec.i[0], groups = spec.i[1];
    const bool keeps_n = n0 == 0 || (x[0] != kUnknownDim && n0 == x[0]) ||
                         (im.is_symbol(n0) && im.symbol_dim(n0) == std::make_pair(n.input(0), 0));
    if (!keeps_n || im.is_symbol(groups) || groups < 1 || x[1] == kUnknownDim || x[1] % groups != 0)
        return false;
    const int64_t rest = spec.i[2];
    const bool fits = rest == -1 || (x[2] != kUnknownDim && x[3] != kUnknownDim &&
                                     rest == x[1] / groups * x[2] * x[3]);
    if (!fits) return false;
    Importer::PendingGroupNorm p;
    p.x = n.input(0);
    p.groups = groups;
    im.pending_group_norm[n.output(0)] = p;
    return true;
}

void map_reshape(Importer& im, const onnx::NodeProto& n) {
    const Attrs a(n);
    const bool allowzero = a.integer("allowzero", 0) != 0;
    ConstValue spec_value;
    if (im.opset() < 5) {
        const std::vector<int64_t> s = a.ints("shape", {});
        spec_value.is_float = false;
        spec_value.dims = {int64_t(s.size())};
        spec_value.i = s;
    } else {
        if (input_or_empty(n, 1).empty()) throw Error("needs input 1 (shape)");
        if (!im.is_const(n.input(1))) const_input(im, n, 1, "shape");  // throws the usual message
        spec_value = im.constant_or_symbolic(n.input(1));
    }
    if (im.pending_group_norm.count(n.input(0))) {
        close_group_norm(im, n, spec_value);
        return;
    }
    if (im.pending_unshuffle.count(n.input(0))) {
        const std::vector<int64_t> s = im.constant(n.input(1)).ints();
        const int stage = im.pending_unshuffle.at(n.input(0)).stage;
        const int64_t b = stage == 1 && s.size() == 5 ? s[3] : stage == 2 && s.size() == 6 ? s[5] : 0;
        const bool ok = allowzero ? false
                        : stage == 1 ? s == std::vector<int64_t>{0, 0, -1, b, 0} && b >= 1
                        : stage == 2 ? s == std::vector<int64_t>{0, 0, 0, 0, -1, b} && b >= 1
                                     : s == std::vector<int64_t>{0, -1, 1, 1, 0, 0};
        advance_unshuffle(im, n, stage, ok && stage != 3, b);
        return;
    }
    if (im.pending_6d.count(n.input(0))) {
        close_pixel_shuffle(im, n, spec_value.symbolic ? im.constant(n.input(1)).ints() : spec_value.ints(),
                            allowzero);
        return;
    }
    const TensorInfo& x0 = value_input(im, n, 0);
    if (spec_value.symbolic && open_group_norm(im, n, x0.shape, spec_value)) return;
    // A dynamic dim k of x itself at position k keeps that dim: ONNX's 0.
    for (size_t k = 0; k < spec_value.i.size() && spec_value.symbolic; ++k) {
        if (!im.is_symbol(spec_value.i[k])) continue;
        if (allowzero || im.symbol_dim(spec_value.i[k]) != std::make_pair(n.input(0), int(k)))
            im.constant(n.input(1));  // throws, naming the dims
        spec_value.i[k] = 0;
    }
    spec_value.symbolic = false;
    const std::vector<int64_t> spec = spec_value.ints();
    if (!spec_value.is_float && open_group_norm(im, n, x0.shape, spec_value)) return;
    const TensorInfo& x = x0;
    if (x.shape.size() == 4 && spec.size() == 6) {
        open_pixel_shuffle(im, n, x.shape, spec, a.integer("allowzero", 0) != 0);
        return;
    }
    const Shape& s = x.shape;
    int64_t rest = 1;
    bool rest_known = true;
    for (size_t k = 1; k < s.size(); ++k) {
        if (s[k] == kUnknownDim) rest_known = false;
        else rest *= s[k];
    }
    const bool keeps_batch = !spec.empty() && (spec[0] == 0 || spec[0] == s[0] || (spec[0] == -1 && s.size() >= 2 && rest_known && spec.size() == 2 && spec[1] == rest));
    if (spec.size() == 2 && keeps_batch && s.size() >= 2 &&
        (spec[1] == -1 || (rest_known && spec[1] == rest))) {
        im.emit(make_node("flatten", im.node_name(n), {n.input(0)}, {n.output(0)}));
        return;
    }
    bool same = spec.size() == s.size();
    for (size_t k = 0; same && k < s.size(); ++k)
        same = spec[k] == s[k] || (spec[k] == 0 && !a.integer("allowzero", 0));
    if (same) {
        im.emit(make_node("identity", im.node_name(n), {n.input(0)}, {n.output(0)}));
        return;
    }
    std::string want = "[";
    for (size_t k = 0; k < spec.size(); ++k) want += (k ? ", " : "") + std::to_string(spec[k]);
    throw Error("Reshape of " + shape_to_string(s) + " to " + want +
                "] is not supported (only a flatten to [N, C*H*W] or a no-op)");
}

// DepthToSpace and SpaceToDepth (mode DCR or CRD) onto fcnrt's
// depth_to_space / space_to_depth.
void map_space_depth(Importer& im, const onnx::NodeProto& n, bool to_space) {
    const Attrs a(n);
    const TensorInfo& x = value_input(im, n, 0);
    if (x.shape.size() != 4) throw Error(n.op_type() + " needs an NCHW (rank-4) input");
    const int64_t block = a.integer("blocksize", 0);
    if (block < 1) throw Error("blocksize must be at least 1");
    const std::string mode = a.text("mode", "DCR");  // SpaceToDepth has one in recent opsets too
    if (mode != "DCR" && mode != "CRD")
        throw Error(n.op_type() + " mode '" + mode + "' (DCR or CRD)");
    Json j = make_node(to_space ? "depth_to_space" : "space_to_depth", im.node_name(n),
                       {n.input(0)}, {n.output(0)});
    j["block_size"] = block;
    j["mode"] = mode;
    im.emit(std::move(j));
}

}  // namespace

void register_shape_mappers(std::map<std::string, OpMapper>& m) {
    m["Concat"] = map_concat;
    m["Softmax"] = map_softmax;
    m["ArgMax"] = map_argmax;
    m["Resize"] = map_resize;
    m["Upsample"] = map_resize;
    m["Pad"] = map_pad;
    m["Slice"] = map_slice;
    m["Flatten"] = map_flatten;
    m["Reshape"] = map_reshape;
    m["Transpose"] = map_transpose;
    m["Unsqueeze"] = map_unsqueeze;
    m["Squeeze"] = map_squeeze;
    m["DepthToSpace"] = [](Importer& im, const onnx::NodeProto& n) {
        map_space_depth(im, n, true);
    };
    m["SpaceToDepth"] = [](Importer& im, const onnx::NodeProto& n) {
        map_space_depth(im, n, false);
    };
}

}  // namespace fcnrt::onnx_import
