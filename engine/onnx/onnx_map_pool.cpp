// ONNX MaxPool, AveragePool, GlobalAveragePool and MaxUnpool onto fcnrt's pools.
//
// Indices: ONNX's MaxPool Indices are int64 offsets flattened over the whole
// N*C*H*W input (storage_order 0); fcnrt's max_pool indices are int32, by default
// (`indices` "plane") offsets h * W + w within each (n, c) plane, the only form its
// max_unpool reads, or with `indices` "flat" ONNX's flattened offsets. Indices read
// only by MaxUnpools in the same graph use "plane" (fcnrt's convention end to end);
// as a graph output, or feeding any other op, "flat" (ONNX's values, as int32;
// max_pool refuses an input over 2^31 - 1 elements). Refused: Indices that feed a
// MaxUnpool and are also a graph output or feed another op, storage_order 1, and a
// MaxUnpool whose indices come from outside the graph.
#include "engine/onnx/onnx_importer.h"

namespace fcnrt::onnx_import {

namespace {

void map_pool(Importer& im, const onnx::NodeProto& n, bool is_max) {
    const Attrs a(n);
    const TensorInfo& x = value_input(im, n, 0);
    if (x.shape.size() != 4) throw Error("only 2-D pooling (NCHW input) is supported");
    if (!a.has("kernel_shape")) throw Error("missing kernel_shape");
    const auto kernel = pair_attr(a, "kernel_shape", {});
    const auto stride = pair_attr(a, "strides", {1, 1});
    const auto dilation = pair_attr(a, "dilations", {1, 1});
    auto pads = pads_attr(a);
    const int64_t k[2] = {kernel[0], kernel[1]}, s[2] = {stride[0], stride[1]}, d[2] = {dilation[0], dilation[1]};
    apply_auto_pad(a.text("auto_pad", "NOTSET"), x.shape, k, s, d, pads);
    const bool ceil_mode = a.integer("ceil_mode", 0) != 0;
    std::vector<std::string> outputs = {n.output(0)};
    bool flat_indices = false;
    if (is_max) {
        require_outputs_at_most(n, 2);
        const std::string idx = output_or_empty(n, 1);
        if (!idx.empty()) {
            if (a.integer("storage_order", 0) != 0)
                throw Error("Indices with storage_order 1 (column-major) are not supported");
            // "flat" for a graph output or any reader but MaxUnpool, "plane" for MaxUnpool.
            bool unpooled = false;
            std::string other = im.graph_outputs.count(idx) ? "is a graph output" : "";
            auto it = im.consumers.find(idx);
            if (it != im.consumers.end())
                for (const std::string& reader : it->second) {
                    if (reader == "MaxUnpool")
                        unpooled = true;
                    else if (other.empty())
                        other = "feeds " + reader;
                }
            if (unpooled && !other.empty())
                throw Error("Indices output '" + idx + "' feeds MaxUnpool and " + other +
                            ": fcnrt's max_unpool reads only per (n, c) plane indices (h * W + w), "
                            "which differ from ONNX's offsets flattened over N*C*H*W");
            flat_indices = !other.empty();
            outputs.push_back(idx);
            if (!flat_indices) im.plane_indices.insert(idx);
        }
    } else {
        require_outputs_at_most(n, 1);
    }
    Json j = make_node(is_max ? "max_pool" : "avg_pool", im.node_name(n), {n.input(0)}, outputs);
    j["kernel"] = kernel;
    j["stride"] = stride;
    j["pads"] = pads;
    j["dilation"] = dilation;
    j["ceil_mode"] = ceil_mode;
    if (flat_indices) j["indices"] = "flat";
    if (!is_max) j["count_include_pad"] = a.integer("count_include_pad", 0) != 0;
    im.emit(std::move(j));
}

void map_global_avg_pool(Importer& im, const onnx::NodeProto& n) {
    const TensorInfo& x = value_input(im, n, 0);
    if (x.shape.size() != 4) throw Error("only NCHW input is supported");
    im.emit(make_node("global_avg_pool", im.node_name(n), {n.input(0)}, {n.output(0)}));
}

void map_max_unpool(Importer& im, const onnx::NodeProto& n) {
    const Attrs a(n);
    value_input(im, n, 0);
    const std::string idx = input_or_empty(n, 1);
    if (!im.plane_indices.count(idx))
        throw Error("MaxUnpool's indices '" + idx +
                    "' do not come from a MaxPool in this graph; fcnrt reads only its own per-plane "
                    "indices, not ONNX's flattened N*C*H*W offsets");
    Json j = make_node("max_unpool", im.node_name(n), {n.input(0), idx}, {n.output(0)});
    if (!input_or_empty(n, 2).empty()) {
        const std::vector<int64_t> shape = const_input(im, n, 2, "output_shape").ints();
        if (shape.size() != 4) throw Error("output_shape must have 4 elements");
        j["output_size"] = {shape[2], shape[3]};
    } else {
        const auto kernel = pair_attr(a, "kernel_shape", {});
        j["kernel"] = kernel;
        j["stride"] = pair_attr(a, "strides", {1, 1});
        j["pads"] = pads_attr(a);
    }
    im.emit(std::move(j));
}

}  // namespace

void register_pool_mappers(std::map<std::string, OpMapper>& m) {
    m["MaxPool"] = [](Importer& im, const onnx::NodeProto& n) { map_pool(im, n, true); };
    m["AveragePool"] = [](Importer& im, const onnx::NodeProto& n) { map_pool(im, n, false); };
    m["GlobalAveragePool"] = map_global_avg_pool;
    m["MaxUnpool"] = map_max_unpool;
}

}  // namespace fcnrt::onnx_import
