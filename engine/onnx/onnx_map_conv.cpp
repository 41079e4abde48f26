// ONNX Conv, ConvTranspose, Gemm and MatMul onto fcnrt conv, conv_transpose and
// dense. Weights must be initializers (or folded constants).
#include "engine/onnx/onnx_importer.h"

namespace fcnrt::onnx_import {

namespace {

Shape dims_of(const ConstValue& v) { return v.dims; }

void map_conv(Importer& im, const onnx::NodeProto& n) {
    const Attrs a(n);
    const TensorInfo& x = value_input(im, n, 0);
    const ConstValue& w = const_input(im, n, 1, "weight");
    if (w.dims.size() != 4 || x.shape.size() != 4)
        throw Error("only 2-D convolution (NCHW input, 4-D weight) is supported");
    const auto stride = pair_attr(a, "strides", {1, 1});
    const auto dilation = pair_attr(a, "dilations", {1, 1});
    const auto kshape = pair_attr(a, "kernel_shape", {w.dims[2], w.dims[3]});
    auto pads = pads_attr(a);
    const int64_t k[2] = {kshape[0], kshape[1]}, s[2] = {stride[0], stride[1]}, d[2] = {dilation[0], dilation[1]};
    apply_auto_pad(a.text("auto_pad", "NOTSET"), x.shape, k, s, d, pads);
    const std::string name = im.node_name(n);
    Json j = make_node("conv", name, {n.input(0)}, {n.output(0)});
    j["stride"] = stride;
    j["pads"] = pads;
    j["dilation"] = dilation;
    j["groups"] = a.integer("group", 1);
    j["weight"] = im.add_weight(n.input(1), w, dims_of(w));
    if (!input_or_empty(n, 2).empty()) {
        const ConstValue& b = const_input(im, n, 2, "bias");
        j["bias"] = im.add_weight(n.input(2), b, {b.numel()});
    }
    im.emit(std::move(j));
}

void map_conv_transpose(Importer& im, const onnx::NodeProto& n) {
    const Attrs a(n);
    const TensorInfo& x = value_input(im, n, 0);
    const ConstValue& w = const_input(im, n, 1, "weight");
    if (w.dims.size() != 4 || x.shape.size() != 4)
        throw Error("only 2-D transposed convolution (NCHW input, 4-D weight) is supported");
    const auto stride = pair_attr(a, "strides", {1, 1});
    const auto dilation = pair_attr(a, "dilations", {1, 1});
    const auto kshape = pair_attr(a, "kernel_shape", {w.dims[2], w.dims[3]});
    auto out_pad = pair_attr(a, "output_padding", {0, 0});
    auto pads = pads_attr(a);
    const std::string auto_pad = a.text("auto_pad", "NOTSET");
    std::vector<int64_t> out_shape = a.ints("output_shape", {});
    if (out_shape.size() > 2) out_shape.erase(out_shape.begin(), out_shape.end() - 2);
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
        if (out_shape.empty()) {
            if (x.shape[2] == kUnknownDim || x.shape[3] == kUnknownDim)
                throw Error("auto_pad " + auto_pad + " needs the input's static height and width");
            out_shape = {x.shape[2] * stride[0], x.shape[3] * stride[1]};
        }
    } else if (auto_pad == "VALID") {
        pads = {0, 0, 0, 0};
    } else if (auto_pad != "NOTSET") {
        throw Error("unknown auto_pad '" + auto_pad + "'");
    }
    if (!out_shape.empty()) {
        // ONNX: total padding from the requested output size, split by auto_pad.
        if (out_shape.size() != 2) throw Error("output_shape must give H and W");
        for (int ax = 0; ax < 2; ++ax) {
            const int64_t in = x.shape[2 + ax];
            if (in == kUnknownDim) throw Error("output_shape needs the input's static height and width");
            const int64_t total = stride[ax] * (in - 1) + out_pad[ax] +
                                  (kshape[ax] - 1) * dilation[ax] + 1 - out_shape[ax];
            if (total < 0) {
                // A larger output than the window covers: the extra rows are output padding.
                pads[ax] = pads[ax + 2] = 0;
                out_pad[ax] += -total;
                continue;
            }
            const int64_t small = total / 2, large = total - total / 2;
            pads[ax] = auto_pad == "SAME_UPPER" ? small : large;
            pads[ax + 2] = auto_pad == "SAME_UPPER" ? large : small;
        }
    }
    Json j = make_node("conv_transpose", im.node_name(n), {n.input(0)}, {n.output(0)});
    j["stride"] = stride;
    j["pads"] = pads;
    j["output_padding"] = out_pad;
    j["dilation"] = dilation;
    j["groups"] = a.integer("group", 1);
    j["weight"] = im.add_weight(n.input(1), w, w.dims);
    if (!input_or_empty(n, 2).empty()) {
        const ConstValue& b = const_input(im, n, 2, "bias");
        j["bias"] = im.add_weight(n.input(2), b, {b.numel()});
    }
    im.emit(std::move(j));
}

// dense: y = x W^T + b with W [out, F]. `b_rows_are_out` says whether B is
// already [out, F] (Gemm transB=1) or [F, out].
void emit_dense(Importer& im, const onnx::NodeProto& n, const ConstValue& bmat, bool b_rows_are_out,
                double alpha, const ConstValue* c, double beta) {
    if (bmat.dims.size() != 2) throw Error("the weight operand must be 2-D");
    const int64_t out = b_rows_are_out ? bmat.dims[0] : bmat.dims[1];
    const int64_t f = b_rows_are_out ? bmat.dims[1] : bmat.dims[0];
    Tensor w(DType::F32, {out, f});
    for (int64_t o = 0; o < out; ++o)
        for (int64_t k = 0; k < f; ++k)
            w.f32()[o * f + k] =
                float(alpha * bmat.as_double(b_rows_are_out ? o * f + k : k * out + o));
    Json j = make_node("dense", im.node_name(n), {n.input(0)}, {n.output(0)});
    j["weight"] = im.add_weight(n.input(1), std::move(w));
    if (c) {
        // C broadcasts to [N, out]: fcnrt's bias is per output feature.
        Tensor b(DType::F32, {out});
        const int64_t cn = c->numel();
        if (!(cn == 1 || (cn == out && (c->dims.size() == 1 || c->dims[0] == 1))))
            throw Error("Gemm's C has shape " + shape_to_string(c->dims) +
                        "; fcnrt takes a bias of one value per output feature");
        for (int64_t o = 0; o < out; ++o) b.f32()[o] = float(beta * c->as_double(cn == 1 ? 0 : o));
        j["bias"] = im.add_weight(input_or_empty(n, 2), std::move(b));
    }
    im.emit(std::move(j));
}

void map_gemm(Importer& im, const onnx::NodeProto& n) {
    const Attrs a(n);
    const TensorInfo& x = value_input(im, n, 0);
    if (x.shape.size() != 2) throw Error("Gemm's A must be 2-D");
    if (a.integer("transA", 0) != 0) throw Error("Gemm with transA=1 is not supported (A is the run-time input)");
    const ConstValue& b = const_input(im, n, 1, "B");
    const ConstValue* c = input_or_empty(n, 2).empty() ? nullptr : &const_input(im, n, 2, "C");
    emit_dense(im, n, b, a.integer("transB", 0) != 0, a.number("alpha", 1.0), c, a.number("beta", 1.0));
}

void map_matmul(Importer& im, const onnx::NodeProto& n) {
    const TensorInfo& x = value_input(im, n, 0);
    if (x.shape.size() != 2) throw Error("MatMul is supported as dense: A must be 2-D [N, F]");
    emit_dense(im, n, const_input(im, n, 1, "B"), false, 1.0, nullptr, 1.0);
}

}  // namespace

void register_conv_mappers(std::map<std::string, OpMapper>& m) {
    m["Conv"] = map_conv;
    m["ConvTranspose"] = map_conv_transpose;
    m["Gemm"] = map_gemm;
    m["MatMul"] = map_matmul;
}

}  // namespace fcnrt::onnx_import
