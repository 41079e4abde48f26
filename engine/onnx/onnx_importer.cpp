// The ONNX import driver: reads the ModelProto, turns initializers into
// constants, walks the nodes in file order (ONNX requires topological order)
// folding what is known at import time and mapping the rest onto fcnrt ops, and
// produces an fcnrt graph document with its weights.
#include "engine/onnx/onnx_loader.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>

#include <unistd.h>
#include <limits>

#include "engine/io/file_util.h"
#include "engine/onnx/onnx_importer.h"

namespace fcnrt {
namespace onnx_import {

namespace {

// Constants are held as double or int64 (8 bytes a value) while importing;
// the limit counts those bytes, not elements.
constexpr int64_t kMaxConstBytes = int64_t(1) << 31;

std::string directory_of(const std::string& path) {
    const size_t slash = path.find_last_of('/');
    return slash == std::string::npos ? "" : path.substr(0, slash + 1);
}

size_t element_size(int data_type) {
    switch (data_type) {
        case onnx::TensorProto::FLOAT: case onnx::TensorProto::INT32: case onnx::TensorProto::UINT32: return 4;
        case onnx::TensorProto::DOUBLE: case onnx::TensorProto::INT64: case onnx::TensorProto::UINT64: return 8;
        case onnx::TensorProto::INT16: case onnx::TensorProto::UINT16: case onnx::TensorProto::FLOAT16: return 2;
        case onnx::TensorProto::INT8: case onnx::TensorProto::UINT8: case onnx::TensorProto::BOOL: return 1;
        default: return 0;
    }
}

// Bytes of an external-data tensor: `location` relative to the model's folder
// (no absolute paths, no "..": the model may not read files outside it).
std::string read_external(const onnx::TensorProto& t, const std::string& base_dir, size_t want) {
    std::string location;
    int64_t offset = 0, length = -1;
    for (const auto& kv : t.external_data()) {
        try {
            if (kv.key() == "location") location = kv.value();
            if (kv.key() == "offset") offset = std::stoll(kv.value());
            if (kv.key() == "length") length = std::stoll(kv.value());
        } catch (const std::exception&) {
            throw Error("tensor '" + t.name() + "': external data " + kv.key() + " '" + kv.value() +
                        "' is not a number");
        }
    }
    if (location.empty()) throw Error("tensor '" + t.name() + "': external data without a location");
    if (location[0] == '/' || location.find("..") != std::string::npos)
        throw Error("tensor '" + t.name() + "': external data location '" + location +
                    "' must be a relative path inside the model's folder");
    if (offset < 0) throw Error("tensor '" + t.name() + "': negative external data offset");
    if (length >= 0 && size_t(length) != want)
        throw Error("tensor '" + t.name() + "': external data length " + std::to_string(length) +
                    " does not match its " + std::to_string(want) + " bytes of elements");
    const std::string path = base_dir + location;
    std::unique_ptr<InputFile> in;
    try {
        in = std::make_unique<InputFile>(path);
    } catch (const Error& e) {
        throw Error("tensor '" + t.name() + "': external data file '" + path + "': " + e.reason());
    }
    const int64_t size = in->size();
    if (offset > size || int64_t(want) > size - offset)
        throw Error("tensor '" + t.name() + "': external data [" + std::to_string(offset) + ", " +
                    std::to_string(offset + int64_t(want)) + ") lies outside '" + path + "' (" +
                    std::to_string(size) + " bytes)");
    std::string bytes(want, '\0');
    if (::lseek(in->fd(), off_t(offset), SEEK_SET) != off_t(offset) || in->read(&bytes[0], want) != want)
        throw Error("tensor '" + t.name() + "': cannot read external data from '" + path + "'");
    return bytes;
}

template <typename T>
T load_le(const char* p) {
    T v;
    std::memcpy(&v, p, sizeof(T));  // little-endian hosts only, as the rest of fcnrt
    return v;
}

}  // namespace

int64_t ConstValue::numel() const { return is_float ? int64_t(f.size()) : int64_t(i.size()); }

std::vector<int64_t> ConstValue::ints() const {
    std::vector<int64_t> out(numel());
    for (int64_t k = 0; k < numel(); ++k) out[k] = as_int(k);
    return out;
}

std::vector<double> ConstValue::doubles() const {
    std::vector<double> out(numel());
    for (int64_t k = 0; k < numel(); ++k) out[k] = as_double(k);
    return out;
}

ConstValue const_from_tensor(const onnx::TensorProto& t, const std::string& base_dir) {
    ConstValue v;
    for (int64_t d : t.dims()) {
        if (d < 0) throw Error("tensor '" + t.name() + "' has a negative dim");
        v.dims.push_back(d);
    }
    const int64_t n = checked_numel(v.dims, 1);
    if (n > kMaxConstBytes / 8)
        throw Error("tensor '" + t.name() + "' has " + std::to_string(n) +
                    " elements, more than the 2 GiB fcnrt holds for one constant");
    const int type = t.data_type();
    const size_t esize = element_size(type);
    if (esize == 0 || type == onnx::TensorProto::FLOAT16)
        throw Error("tensor '" + t.name() + "' has ONNX data type " + std::to_string(type) +
                    ", which fcnrt does not import (float, double and integer types only)");
    v.is_float = type == onnx::TensorProto::FLOAT || type == onnx::TensorProto::DOUBLE;

    // The data present is checked against the shape before anything the
    // shape sizes is allocated: a 71-byte file may claim 2^31 elements.
    std::string raw;
    const bool external = t.data_location() == onnx::TensorProto::EXTERNAL;
    if (external) {
        raw = read_external(t, base_dir, size_t(n) * esize);
    } else if (t.has_raw_data()) {
        raw = t.raw_data();
    }
    if (external || t.has_raw_data()) {
        if (raw.size() != size_t(n) * esize)
            throw Error("tensor '" + t.name() + "' holds " + std::to_string(raw.size()) +
                        " bytes of raw data for " + std::to_string(n) + " elements of " +
                        std::to_string(esize) + " bytes");
        (v.is_float ? v.f.resize(n) : v.i.resize(n));
        for (int64_t k = 0; k < n; ++k) {
            const char* p = raw.data() + k * esize;
            switch (type) {
                case onnx::TensorProto::FLOAT: v.f[k] = load_le<float>(p); break;
                case onnx::TensorProto::DOUBLE: v.f[k] = load_le<double>(p); break;
                case onnx::TensorProto::INT64: v.i[k] = load_le<int64_t>(p); break;
                case onnx::TensorProto::UINT64: v.i[k] = int64_t(load_le<uint64_t>(p)); break;
                case onnx::TensorProto::INT32: v.i[k] = load_le<int32_t>(p); break;
                case onnx::TensorProto::UINT32: v.i[k] = load_le<uint32_t>(p); break;
                case onnx::TensorProto::INT16: v.i[k] = load_le<int16_t>(p); break;
                case onnx::TensorProto::UINT16: v.i[k] = load_le<uint16_t>(p); break;
                case onnx::TensorProto::INT8: v.i[k] = load_le<int8_t>(p); break;
                default: v.i[k] = load_le<uint8_t>(p); break;  // UINT8, BOOL
            }
        }
        return v;
    }
    // The typed fields.
    auto check_count = [&](int64_t have) {
        if (have != n)
            throw Error("tensor '" + t.name() + "' holds " + std::to_string(have) +
                        " elements for its shape " + shape_to_string(v.dims));
        (v.is_float ? v.f.resize(n) : v.i.resize(n));
    };
    switch (type) {
        case onnx::TensorProto::FLOAT:
            check_count(t.float_data_size());
            for (int64_t k = 0; k < n; ++k) v.f[k] = t.float_data(int(k));
            break;
        case onnx::TensorProto::DOUBLE:
            check_count(t.double_data_size());
            for (int64_t k = 0; k < n; ++k) v.f[k] = t.double_data(int(k));
            break;
        case onnx::TensorProto::INT64:
            check_count(t.int64_data_size());
            for (int64_t k = 0; k < n; ++k) v.i[k] = t.int64_data(int(k));
            break;
        case onnx::TensorProto::UINT64: case onnx::TensorProto::UINT32:
            check_count(t.uint64_data_size());
            for (int64_t k = 0; k < n; ++k) v.i[k] = int64_t(t.uint64_data(int(k)));
            break;
        default:  // INT32, INT16, INT8, UINT16, UINT8, BOOL live in int32_data
            check_count(t.int32_data_size());
            for (int64_t k = 0; k < n; ++k) v.i[k] = t.int32_data(int(k));
            break;
    }
    return v;
}

// ---- attributes ----

Attrs::Attrs(const onnx::NodeProto& node) {
    for (const auto& a : node.attribute()) by_name_[a.name()] = &a;
}

const onnx::AttributeProto& Attrs::get(const std::string& name,
                                       onnx::AttributeProto::AttributeType type) const {
    const onnx::AttributeProto& a = *by_name_.at(name);
    // Old exporters leave `type` unset; accept that when the field is present.
    if (a.type() != type && a.type() != onnx::AttributeProto::UNDEFINED)
        throw Error("attribute '" + name + "' has ONNX type " + std::to_string(int(a.type())) +
                    ", expected " + std::to_string(int(type)));
    return a;
}

int64_t Attrs::integer(const std::string& name, int64_t fallback) const {
    return has(name) ? get(name, onnx::AttributeProto::INT).i() : fallback;
}

double Attrs::number(const std::string& name, double fallback) const {
    return has(name) ? double(get(name, onnx::AttributeProto::FLOAT).f()) : fallback;
}

std::string Attrs::text(const std::string& name, const std::string& fallback) const {
    return has(name) ? get(name, onnx::AttributeProto::STRING).s() : fallback;
}

std::vector<int64_t> Attrs::ints(const std::string& name, std::vector<int64_t> fallback) const {
    if (!has(name)) return fallback;
    const auto& a = get(name, onnx::AttributeProto::INTS);
    return std::vector<int64_t>(a.ints().begin(), a.ints().end());
}

std::vector<double> Attrs::numbers(const std::string& name) const {
    if (!has(name)) return {};
    const auto& a = get(name, onnx::AttributeProto::FLOATS);
    return std::vector<double>(a.floats().begin(), a.floats().end());
}

const onnx::TensorProto* Attrs::tensor(const std::string& name) const {
    return has(name) ? &get(name, onnx::AttributeProto::TENSOR).t() : nullptr;
}

// ---- importer state ----

namespace {
// Symbol codes: kSymbolBase - id, for at most kMaxSymbols ids.
constexpr int64_t kSymbolBase = -(int64_t(1) << 62);
constexpr int64_t kMaxSymbols = int64_t(1) << 20;
}  // namespace

const ConstValue& Importer::constant_or_symbolic(const std::string& name) const {
    auto it = consts_.find(name);
    if (it == consts_.end()) throw Error("tensor '" + name + "' is not a constant");
    return it->second;
}

const ConstValue& Importer::constant(const std::string& name) const {
    const ConstValue& v = constant_or_symbolic(name);
    if (v.symbolic) {
        std::string dims;
        for (int64_t e : v.i)
            if (is_symbol(e)) dims += (dims.empty() ? "" : ", ") + describe_symbol(e);
        throw Error("tensor '" + name + "' depends on run-time sizes (" + dims +
                    "), where fcnrt needs a value known at import; fcnrt follows dynamic sizes "
                    "only into Resize sizes and Reshapes that keep dims (engine/onnx/README.md), "
                    "otherwise give the ONNX graph input fixed dims");
    }
    return v;
}

int64_t Importer::symbol(const std::string& tensor, int dim) {
    for (size_t k = 0; k < symbols_.size(); ++k)
        if (symbols_[k].first == tensor && symbols_[k].second == dim) return kSymbolBase - int64_t(k);
    if (int64_t(symbols_.size()) >= kMaxSymbols) throw Error("too many dynamic dims");
    symbols_.emplace_back(tensor, dim);
    return kSymbolBase - int64_t(symbols_.size() - 1);
}

bool Importer::is_symbol(int64_t v) const {
    return v <= kSymbolBase && v > kSymbolBase - int64_t(symbols_.size());
}

const std::pair<std::string, int>& Importer::symbol_dim(int64_t v) const {
    if (!is_symbol(v)) throw Error("internal: not a symbol code");
    return symbols_[size_t(kSymbolBase - v)];
}

std::string Importer::describe_symbol(int64_t v) const {
    const auto& s = symbol_dim(v);
    return "dim " + std::to_string(s.second) + " of '" + s.first + "'";
}

const TensorInfo& Importer::value(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end()) throw Error("tensor '" + name + "' is not produced before it is read");
    return it->second;
}

std::string Importer::fresh_tensor(const std::string& hint) {
    std::string name;
    do name = hint + "/fcnrt_" + std::to_string(counter_++);
    while (values_.count(name) || consts_.count(name) || used_tensor_names_.count(name));
    used_tensor_names_.insert(name);
    return name;
}

std::string Importer::node_name(const onnx::NodeProto& node) {
    std::string base = node.name().empty() ? node.op_type() : node.name();
    std::string name = base;
    for (int k = 1; used_node_names_.count(name); ++k) name = base + "_" + std::to_string(k);
    used_node_names_.insert(name);
    return name;
}

std::string Importer::add_weight(const std::string& hint, Tensor t) {
    std::string name = hint;
    for (int k = 1; weights.count(name); ++k) name = hint + "_" + std::to_string(k);
    weights.emplace(name, std::move(t));
    return name;
}

std::string Importer::add_weight(const std::string& hint, const ConstValue& v, const Shape& shape) {
    Tensor t(DType::F32, shape);
    if (t.numel() != v.numel())
        throw Error("constant '" + hint + "' has " + std::to_string(v.numel()) +
                    " elements, expected " + std::to_string(t.numel()) + " for shape " +
                    shape_to_string(shape));
    for (int64_t k = 0; k < t.numel(); ++k) t.f32()[k] = float(v.as_double(k));
    return add_weight(hint, std::move(t));
}

void Importer::emit(Json node) {
    const std::string name = node.at("name").get<std::string>();
    try {
        const std::string op = node.at("op").get<std::string>();
        const OpDef* d = find_op(op);
        if (!d) throw Error("internal: no fcnrt op '" + op + "'");
        AttrReader reader(node);
        auto params = d->parse(reader);
        std::vector<TensorInfo> ins;
        for (const Json& in : node.at("inputs")) ins.push_back(value(in.get<std::string>()));
        std::vector<const Tensor*> ws;
        for (const WeightSlot& slot : d->weights) {
            const std::string w = reader.weight_name(slot.key, slot.optional);
            ws.push_back(w.empty() ? nullptr : &weights.at(w));
        }
        const InferContext ctx{*params, ins, ws};
        const std::vector<TensorInfo> outs = d->infer(ctx);
        const Json& out_names = node.at("outputs");
        for (size_t k = 0; k < out_names.size(); ++k) set_value(out_names[k].get<std::string>(), outs.at(k));
    } catch (const Error& e) {
        throw e.with_node(name);
    }
    nodes.push_back(std::move(node));
}

// ---- helpers ----

std::string input_or_empty(const onnx::NodeProto& node, int k) {
    return k < node.input_size() ? node.input(k) : std::string();
}

std::string output_or_empty(const onnx::NodeProto& node, int k) {
    return k < node.output_size() ? node.output(k) : std::string();
}

const ConstValue& const_input(Importer& im, const onnx::NodeProto& node, int k, const char* what) {
    const std::string name = input_or_empty(node, k);
    if (name.empty()) throw Error(std::string("needs input ") + std::to_string(k) + " (" + what + ")");
    if (!im.is_const(name))
        throw Error(std::string("input '") + name + "' (" + what +
                    ") must be known at import time (an initializer or a foldable constant "
                    "subgraph); fcnrt takes it as a weight or attribute");
    return im.constant(name);
}

const TensorInfo& value_input(Importer& im, const onnx::NodeProto& node, int k) {
    const std::string name = input_or_empty(node, k);
    if (name.empty()) throw Error("needs input " + std::to_string(k));
    if (im.is_const(name))
        throw Error("input '" + name + "' is a constant; fcnrt needs a run-time tensor there");
    return im.value(name);
}

Json make_node(const std::string& op, const std::string& name, std::vector<std::string> inputs,
               std::vector<std::string> outputs) {
    Json j = Json::object();
    j["op"] = op;
    j["name"] = name;
    j["inputs"] = inputs;
    j["outputs"] = outputs;
    return j;
}

void require_outputs_at_most(const onnx::NodeProto& node, int n) {
    for (int k = n; k < node.output_size(); ++k)
        if (!node.output(k).empty())
            throw Error("output " + std::to_string(k) + " ('" + node.output(k) +
                        "') of " + node.op_type() + " is not supported by fcnrt");
}

void apply_auto_pad(const std::string& auto_pad, const Shape& x, const int64_t kernel[2],
                    const int64_t stride[2], const int64_t dilation[2], std::vector<int64_t>& pads) {
    if (auto_pad.empty() || auto_pad == "NOTSET") return;
    if (auto_pad == "VALID") {
        pads = {0, 0, 0, 0};
        return;
    }
    if (auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER")
        throw Error("unknown auto_pad '" + auto_pad + "'");
    for (int a = 0; a < 2; ++a) {
        const int64_t in = x.size() == 4 ? x[2 + a] : kUnknownDim;
        if (in == kUnknownDim)
            throw Error("auto_pad " + auto_pad +
                        " needs the input's static height and width; declare them in the ONNX "
                        "graph input (or pass explicit pads)");
        const int64_t out = (in + stride[a] - 1) / stride[a];
        const int64_t total =
            std::max<int64_t>(0, (out - 1) * stride[a] + (kernel[a] - 1) * dilation[a] + 1 - in);
        const int64_t small = total / 2, large = total - total / 2;
        pads[a] = auto_pad == "SAME_UPPER" ? small : large;
        pads[a + 2] = auto_pad == "SAME_UPPER" ? large : small;
    }
}

std::vector<int64_t> pair_attr(const Attrs& a, const char* name, std::vector<int64_t> fallback) {
    std::vector<int64_t> v = a.ints(name, fallback);
    if (v.size() != 2)
        throw Error(std::string("attribute '") + name + "' has " + std::to_string(v.size()) +
                    " elements; fcnrt supports 2-D (NCHW) windows only");
    return v;
}

std::vector<int64_t> pads_attr(const Attrs& a) {
    std::vector<int64_t> p = a.ints("pads", {0, 0, 0, 0});
    if (p.size() != 4)
        throw Error("attribute 'pads' has " + std::to_string(p.size()) +
                    " elements; fcnrt supports 2-D (NCHW) windows only");
    for (int64_t v : p)
        if (v < 0) throw Error("negative pads are not supported");
    return p;
}

namespace {

const std::map<std::string, OpMapper>& mappers() {
    static const std::map<std::string, OpMapper> m = [] {
        std::map<std::string, OpMapper> t;
        register_conv_mappers(t);
        register_pool_mappers(t);
        register_elementwise_mappers(t);
        register_shape_mappers(t);
        return t;
    }();
    return m;
}

std::string node_label(const onnx::NodeProto& n, int index) {
    return n.name().empty() ? "#" + std::to_string(index) : "'" + n.name() + "'";
}

GraphInput graph_input(const onnx::ValueInfoProto& vi) {
    GraphInput g;
    g.name = vi.name();
    const auto& type = vi.type();
    if (!type.has_tensor_type())
        throw Error("graph input '" + vi.name() + "' is not a tensor");
    const auto elem = type.tensor_type().elem_type();
    if (elem != onnx::TensorProto::FLOAT)
        throw Error("graph input '" + vi.name() + "' has ONNX element type " + std::to_string(elem) +
                    "; fcnrt graph inputs are float32");
    if (!type.tensor_type().has_shape())
        throw Error("graph input '" + vi.name() + "' has no shape; fcnrt needs its rank");
    for (const auto& d : type.tensor_type().shape().dim())
        g.shape.push_back(d.has_dim_value() && d.dim_value() > 0 ? d.dim_value() : kUnknownDim);
    if (g.shape.empty() || g.shape.size() > 4)
        throw Error("graph input '" + vi.name() + "' has rank " + std::to_string(g.shape.size()) +
                    "; fcnrt takes rank 1 to 4 (NCHW)");
    return g;
}

}  // namespace

OnnxImport import_graph(const onnx::ModelProto& model, const std::string& path) {
    int64_t opset = 0;
    for (const auto& o : model.opset_import())
        if (o.domain().empty() || o.domain() == "ai.onnx") opset = o.version();
    if (opset == 0) throw Error("the model imports no ai.onnx opset");
    const onnx::GraphProto& g = model.graph();
    Importer im(directory_of(path), opset);

    for (const auto& t : g.initializer()) {
        try {
            im.set_const(t.name(), const_from_tensor(t, im.base_dir()));
        } catch (const Error& e) {
            throw Error("initializer '" + t.name() + "': " + e.reason());
        }
    }
    if (g.sparse_initializer_size() > 0) throw Error("sparse initializers are not supported");

    Json inputs = Json::array();
    for (const auto& vi : g.input()) {
        if (im.is_const(vi.name())) continue;  // IR < 4 lists initializers as inputs too
        const GraphInput gi = graph_input(vi);
        Json shape = Json::array();
        for (int64_t d : gi.shape) shape.push_back(d == kUnknownDim ? Json(nullptr) : Json(d));
        inputs.push_back({{"name", gi.name}, {"shape", shape}});
        im.set_value(gi.name, {DType::F32, gi.shape});
    }
    if (inputs.empty()) throw Error("the graph has no run-time inputs");

    const GeluPatterns gelu = find_gelu_patterns(im, g);

    // Every op type fcnrt cannot map, with its nodes, in one message.
    std::map<std::string, std::vector<std::string>> unsupported;
    for (int k = 0; k < g.node_size(); ++k) {
        const auto& n = g.node(k);
        if (gelu.skip.count(k)) continue;
        const bool ours = n.domain().empty() || n.domain() == "ai.onnx";
        const std::string type = ours ? n.op_type() : n.domain() + "." + n.op_type();
        if (!ours || (!mappers().count(type) && !foldable_op_types().count(type)))
            unsupported[type].push_back(node_label(n, k));
        for (const std::string& in : n.input())
            if (!in.empty()) im.consumers[in].push_back(n.op_type());
    }
    if (!unsupported.empty()) {
        std::string msg = "unsupported ONNX op types (opset " + std::to_string(opset) + "):";
        for (const auto& [type, nodes] : unsupported) {
            msg += " " + type + " (";
            for (size_t k = 0; k < nodes.size() && k < 5; ++k) msg += (k ? ", " : "") + nodes[k];
            if (nodes.size() > 5) msg += ", and " + std::to_string(nodes.size() - 5) + " more";
            msg += ")";
        }
        throw Error(msg);
    }
    for (const auto& o : g.output()) im.graph_outputs.insert(o.name());

    for (int k = 0; k < g.node_size(); ++k) {
        const auto& n = g.node(k);
        const std::string label = n.name().empty() ? n.op_type() + " " + node_label(n, k) : n.name();
        try {
            if (gelu.skip.count(k)) continue;
            if (auto chain = gelu.emit_at.find(k); chain != gelu.emit_at.end()) {
                if (!im.is_value(chain->second.x))
                    throw Error("GELU (erf or tanh arithmetic) of '" + chain->second.x +
                                "', which is not a run-time tensor");
                Json j = make_node("gelu", im.node_name(g.node(chain->second.erf_node)),
                                   {chain->second.x}, {chain->second.y});
                j["approximate"] = chain->second.tanh_form ? "tanh" : "none";
                im.emit(std::move(j));
                continue;
            }
            if (fold_node(im, n)) continue;
            auto it = mappers().find(n.op_type());
            if (it == mappers().end())
                throw Error(n.op_type() + " is supported only on values known at import time "
                            "(constant subgraphs); here it reads a run-time tensor");
            // Every mapper reads input 0 and output 0 (protobuf does not check
            // the index: a node without them crashed the import, found by fuzz_onnx).
            if (input_or_empty(n, 0).empty()) throw Error("has no input");
            if (output_or_empty(n, 0).empty()) throw Error("has no output");
            it->second(im, n);
        } catch (const Error& e) {
            throw e.with_node(label);
        } catch (const std::out_of_range& e) {
            throw Error("", label, std::string("malformed ") + n.op_type() + " node");
        }
    }

    Json outputs = Json::array();
    for (const auto& o : g.output()) {
        if (!im.is_value(o.name()))
            throw Error("graph output '" + o.name() +
                        "' is a constant or not produced; fcnrt outputs run-time tensors");
        outputs.push_back(o.name());
    }

    OnnxImport result;
    result.doc = {{"format", "fcnrt-graph"},
                  {"version", 1},
                  {"name", g.name()},
                  {"inputs", inputs},
                  {"outputs", outputs},
                  {"nodes", im.nodes},
                  {"metadata",
                   {{"source", "onnx"},
                    {"onnx_opset", opset},
                    {"onnx_producer", model.producer_name() + " " + model.producer_version()}}}};
    // Only the weights the nodes name (constants used by folding stay behind).
    result.weights = std::move(im.weights);
    return result;
}

}  // namespace onnx_import

bool has_onnx_extension(const std::string& path) {
    if (path.size() < 5) return false;
    std::string ext = path.substr(path.size() - 5);
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    return ext == ".onnx";
}

OnnxImport import_onnx(const std::string& onnx_path) {
    const std::string bytes = read_file_bytes(onnx_path);
    onnx::ModelProto model;
    if (bytes.size() > size_t(std::numeric_limits<int>::max()) || !model.ParseFromString(bytes))
        throw Error(onnx_path, "", "not a valid ONNX model (the protobuf does not parse)");
    try {
        return onnx_import::import_graph(model, onnx_path);
    } catch (const Error& e) {
        throw e.with_file(onnx_path);
    }
}

Model load_onnx_model(const std::string& onnx_path, const LoadOptions& options) {
    OnnxImport im = import_onnx(onnx_path);
    return load_model_from_json(im.doc, onnx_path, std::move(im.weights), options);
}

Tensor read_onnx_tensor_file(const std::string& pb_path, std::string* name) {
    const std::string bytes = read_file_bytes(pb_path);
    onnx::TensorProto t;
    if (!t.ParseFromString(bytes)) throw Error(pb_path, "", "not a serialised ONNX TensorProto");
    onnx_import::ConstValue v;
    try {
        v = onnx_import::const_from_tensor(t, "");
    } catch (const Error& e) {
        throw e.with_file(pb_path);
    }
    if (name) *name = t.name();
    Shape shape = v.dims.empty() ? Shape{1} : v.dims;
    Tensor out(v.is_float ? DType::F32 : DType::I32, shape);
    for (int64_t k = 0; k < out.numel(); ++k) {
        if (v.is_float) {
            out.f32()[k] = float(v.f[k]);
        } else {
            if (v.i[k] < std::numeric_limits<int32_t>::min() || v.i[k] > std::numeric_limits<int32_t>::max())
                throw Error(pb_path, "", "integer element out of int32 range");
            out.i32()[k] = int32_t(v.i[k]);
        }
    }
    return out;
}

}  // namespace fcnrt
