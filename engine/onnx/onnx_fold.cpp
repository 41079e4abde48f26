// Constant folding at import. Exporters compute Resize sizes, Reshape targets and
// the like from Shape(x) through Gather, Unsqueeze, Concat, Cast and arithmetic;
// with the graph's static input shapes all of it is known before anything runs,
// so it is evaluated here (on small host arrays, numpy broadcasting) and never
// becomes an fcnrt node.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "engine/onnx/onnx_importer.h"

namespace fcnrt::onnx_import {

namespace {

constexpr int64_t kMaxFoldElements = int64_t(1) << 26;

int64_t normalize_axis(int64_t axis, int64_t rank, const char* what) {
    if (axis < -rank || axis >= rank)
        throw Error(std::string(what) + " " + std::to_string(axis) + " is out of range for rank " +
                    std::to_string(rank));
    return axis < 0 ? axis + rank : axis;
}

ConstValue make_ints(Shape dims, std::vector<int64_t> values) {
    ConstValue v;
    v.is_float = false;
    v.dims = std::move(dims);
    v.i = std::move(values);
    return v;
}

ConstValue empty_like(bool is_float, Shape dims) {
    ConstValue v;
    v.is_float = is_float;
    v.dims = std::move(dims);
    const int64_t n = checked_numel(v.dims, 1);
    if (n > kMaxFoldElements) throw Error("folded constant would be too large");
    (is_float ? v.f.resize(n) : v.i.resize(n));
    return v;
}

std::vector<int64_t> strides_of(const Shape& dims) {
    std::vector<int64_t> s(dims.size(), 1);
    for (int k = int(dims.size()) - 2; k >= 0; --k) s[k] = s[k + 1] * dims[k + 1];
    return s;
}

// Numpy broadcasting of two shapes.
Shape broadcast_shape(const Shape& a, const Shape& b) {
    const size_t r = std::max(a.size(), b.size());
    Shape out(r);
    for (size_t k = 0; k < r; ++k) {
        const int64_t da = k + a.size() >= r ? a[k + a.size() - r] : 1;
        const int64_t db = k + b.size() >= r ? b[k + b.size() - r] : 1;
        if (da != db && da != 1 && db != 1)
            throw Error("shapes " + shape_to_string(a) + " and " + shape_to_string(b) + " do not broadcast");
        out[k] = da == 1 ? db : da;
    }
    return out;
}

// Flat index into `src` (right-aligned, broadcast) of the output element at `idx`.
int64_t broadcast_index(const Shape& out, const std::vector<int64_t>& idx, const Shape& src) {
    int64_t flat = 0, stride = 1;
    for (int k = int(src.size()) - 1; k >= 0; --k) {
        const size_t o = k + out.size() - src.size();
        const int64_t i = src[k] == 1 ? 0 : idx[o];
        flat += i * stride;
        stride *= src[k];
    }
    return flat;
}

template <typename F>
void for_each_index(const Shape& dims, F fn) {
    const int64_t n = checked_numel(dims, 1);
    std::vector<int64_t> idx(dims.size(), 0);
    for (int64_t flat = 0; flat < n; ++flat) {
        fn(flat, idx);
        for (int k = int(dims.size()) - 1; k >= 0; --k) {
            if (++idx[k] < dims[k]) break;
            idx[k] = 0;
        }
    }
}

ConstValue binary(const ConstValue& a, const ConstValue& b, const std::string& op) {
    const bool is_float = a.is_float || b.is_float;
    ConstValue out = empty_like(is_float, broadcast_shape(a.dims, b.dims));
    for_each_index(out.dims, [&](int64_t flat, const std::vector<int64_t>& idx) {
        const int64_t ia = broadcast_index(out.dims, idx, a.dims);
        const int64_t ib = broadcast_index(out.dims, idx, b.dims);
        if (is_float) {
            const double x = a.as_double(ia), y = b.as_double(ib);
            out.f[flat] = op == "Add" ? x + y : op == "Sub" ? x - y : op == "Mul" ? x * y : x / y;
        } else {
            const int64_t x = a.i[ia], y = b.i[ib];
            if (op == "Div" && y == 0) throw Error("integer division by zero");
            out.i[flat] = op == "Add" ? x + y : op == "Sub" ? x - y : op == "Mul" ? x * y : x / y;
        }
    });
    if (!is_float) return out;
    return out;
}

// Transpose: output dim k is input dim perm[k] (default: reversed).
ConstValue transpose(const ConstValue& x, std::vector<int64_t> perm) {
    const int64_t r = int64_t(x.dims.size());
    if (perm.empty())
        for (int64_t k = r - 1; k >= 0; --k) perm.push_back(k);
    if (int64_t(perm.size()) != r) throw Error("Transpose perm has the wrong length");
    std::vector<int> seen(size_t(r), 0);
    Shape dims(static_cast<size_t>(r), 0);
    for (int64_t k = 0; k < r; ++k) {
        if (perm[k] < 0 || perm[k] >= r || seen[size_t(perm[k])]++)
            throw Error("Transpose perm is not a permutation");
        dims[k] = x.dims[size_t(perm[k])];
    }
    ConstValue out = empty_like(x.is_float, dims);
    const std::vector<int64_t> in_strides = strides_of(x.dims);
    for_each_index(dims, [&](int64_t flat, const std::vector<int64_t>& idx) {
        int64_t src = 0;
        for (int64_t k = 0; k < r; ++k) src += idx[k] * in_strides[size_t(perm[k])];
        if (x.is_float)
            out.f[flat] = x.f[src];
        else
            out.i[flat] = x.i[src];
    });
    return out;
}

// Where(cond, a, b) and Expand(x, shape), numpy broadcasting.
ConstValue where(const ConstValue& cond, const ConstValue& a, const ConstValue& b) {
    const bool is_float = a.is_float || b.is_float;
    ConstValue out =
        empty_like(is_float, broadcast_shape(cond.dims, broadcast_shape(a.dims, b.dims)));
    for_each_index(out.dims, [&](int64_t flat, const std::vector<int64_t>& idx) {
        const bool c = cond.as_double(broadcast_index(out.dims, idx, cond.dims)) != 0.0;
        const ConstValue& from = c ? a : b;
        const int64_t at = broadcast_index(out.dims, idx, from.dims);
        if (is_float)
            out.f[flat] = from.as_double(at);
        else
            out.i[flat] = from.i[at];
    });
    return out;
}

ConstValue expand(const ConstValue& x, const std::vector<int64_t>& shape) {
    ConstValue out =
        empty_like(x.is_float, broadcast_shape(x.dims, Shape(shape.begin(), shape.end())));
    for_each_index(out.dims, [&](int64_t flat, const std::vector<int64_t>& idx) {
        const int64_t at = broadcast_index(out.dims, idx, x.dims);
        if (x.is_float)
            out.f[flat] = x.f[at];
        else
            out.i[flat] = x.i[at];
    });
    return out;
}

// Equal / Less / Greater as 0/1 integers (ONNX bool).
ConstValue compare(const ConstValue& a, const ConstValue& b, const std::string& op) {
    ConstValue out = empty_like(false, broadcast_shape(a.dims, b.dims));
    for_each_index(out.dims, [&](int64_t flat, const std::vector<int64_t>& idx) {
        const double x = a.as_double(broadcast_index(out.dims, idx, a.dims));
        const double y = b.as_double(broadcast_index(out.dims, idx, b.dims));
        out.i[flat] = op == "Equal" ? x == y : op == "Less" ? x < y : x > y;
    });
    return out;
}

ConstValue gather(const ConstValue& data, const ConstValue& indices, int64_t axis) {
    const int64_t r = int64_t(data.dims.size());
    if (r == 0) throw Error("Gather on a scalar");
    axis = normalize_axis(axis, r, "axis");
    Shape dims(data.dims.begin(), data.dims.begin() + axis);
    dims.insert(dims.end(), indices.dims.begin(), indices.dims.end());
    dims.insert(dims.end(), data.dims.begin() + axis + 1, data.dims.end());
    ConstValue out = empty_like(data.is_float, dims);
    const int64_t outer = std::accumulate(data.dims.begin(), data.dims.begin() + axis, int64_t(1),
                                          std::multiplies<int64_t>());
    const int64_t inner = std::accumulate(data.dims.begin() + axis + 1, data.dims.end(), int64_t(1),
                                          std::multiplies<int64_t>());
    const int64_t n_axis = data.dims[axis], n_idx = indices.numel();
    int64_t at = 0;
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t j = 0; j < n_idx; ++j) {
            int64_t i = indices.as_int(j);
            if (i < -n_axis || i >= n_axis) throw Error("Gather index " + std::to_string(i) + " out of range");
            if (i < 0) i += n_axis;
            for (int64_t k = 0; k < inner; ++k, ++at) {
                const int64_t src = (o * n_axis + i) * inner + k;
                if (data.is_float) out.f[at] = data.f[src]; else out.i[at] = data.i[src];
            }
        }
    return out;
}

// ONNX Slice on any rank: starts/ends clamped per axis, any non-zero step.
ConstValue slice(const ConstValue& data, const std::vector<int64_t>& starts,
                 const std::vector<int64_t>& ends, std::vector<int64_t> axes, std::vector<int64_t> steps) {
    const int64_t r = int64_t(data.dims.size());
    if (axes.empty())
        for (size_t k = 0; k < starts.size(); ++k) axes.push_back(int64_t(k));
    if (steps.empty()) steps.assign(starts.size(), 1);
    if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
        throw Error("Slice starts, ends, axes and steps differ in length");
    std::vector<int64_t> begin(r, 0), step(r, 1), count(data.dims.begin(), data.dims.end());
    for (size_t k = 0; k < starts.size(); ++k) {
        const int64_t a = normalize_axis(axes[k], r, "Slice axis");
        const int64_t dim = data.dims[a], s = steps[k];
        if (s == 0) throw Error("Slice step 0");
        int64_t b = starts[k] < 0 ? starts[k] + dim : starts[k];
        int64_t e = ends[k] < 0 ? ends[k] + dim : ends[k];
        if (s > 0) {
            b = std::clamp<int64_t>(b, 0, dim);
            e = std::clamp<int64_t>(e, 0, dim);
            count[a] = e > b ? (e - b + s - 1) / s : 0;
        } else {
            b = std::clamp<int64_t>(b, 0, dim - 1);
            e = std::clamp<int64_t>(e, -1, dim - 1);
            count[a] = b > e ? (b - e - s - 1) / -s : 0;
        }
        begin[a] = b;
        step[a] = s;
    }
    ConstValue out = empty_like(data.is_float, Shape(count.begin(), count.end()));
    const std::vector<int64_t> src_strides = strides_of(data.dims);
    for_each_index(out.dims, [&](int64_t flat, const std::vector<int64_t>& idx) {
        int64_t src = 0;
        for (int64_t k = 0; k < r; ++k) src += (begin[k] + idx[k] * step[k]) * src_strides[k];
        if (data.is_float) out.f[flat] = data.f[src]; else out.i[flat] = data.i[src];
    });
    return out;
}

Shape reshape_target(const Shape& in, const std::vector<int64_t>& spec, bool allowzero) {
    Shape out;
    int infer = -1;
    int64_t known = 1;
    for (size_t k = 0; k < spec.size(); ++k) {
        int64_t d = spec[k];
        if (d == 0 && !allowzero) {
            if (k >= in.size()) throw Error("Reshape copies dim " + std::to_string(k) + " that the input lacks");
            d = in[k];
        }
        if (d == -1) {
            if (infer >= 0) throw Error("Reshape with two -1 dims");
            infer = int(k);
            out.push_back(-1);
            continue;
        }
        if (d < 0) throw Error("Reshape dim " + std::to_string(d));
        out.push_back(d);
        known *= d;
    }
    const int64_t total = std::accumulate(in.begin(), in.end(), int64_t(1), std::multiplies<int64_t>());
    if (infer >= 0) {
        if (known == 0 || total % known) throw Error("Reshape cannot infer the -1 dim");
        out[infer] = total / known;
    } else if (known != total) {
        throw Error("Reshape from " + shape_to_string(in) + " to " + shape_to_string(out) +
                    " changes the element count");
    }
    return out;
}

// Axes from the `axes` attribute (older opsets) or input 1 (opset 13+).
std::vector<int64_t> axes_of(Importer& im, const onnx::NodeProto& n, const Attrs& a) {
    if (a.has("axes")) return a.ints("axes", {});
    const std::string in = input_or_empty(n, 1);
    if (in.empty()) return {};
    return im.constant(in).ints();
}

bool all_inputs_const(const Importer& im, const onnx::NodeProto& n) {
    for (const std::string& in : n.input())
        if (!in.empty() && !im.is_const(in)) return false;
    return true;
}

ConstValue constant_node(const Attrs& a, const std::string& base_dir) {
    if (const onnx::TensorProto* t = a.tensor("value")) return const_from_tensor(*t, base_dir);
    ConstValue v;
    if (a.has("value_float")) {
        v.f = {a.number("value_float", 0)};
    } else if (a.has("value_floats")) {
        v.f = a.numbers("value_floats");
        v.dims = {int64_t(v.f.size())};
    } else if (a.has("value_int")) {
        v = make_ints({}, {a.integer("value_int", 0)});
    } else if (a.has("value_ints")) {
        auto i = a.ints("value_ints", {});
        v = make_ints({int64_t(i.size())}, i);
    } else {
        throw Error("Constant without a supported value attribute (sparse and string values are not)");
    }
    return v;
}

}  // namespace

const std::set<std::string>& foldable_op_types() {
    static const std::set<std::string> types = {"Constant",
                                                "Shape",
                                                "Gather",
                                                "Unsqueeze",
                                                "Squeeze",
                                                "Concat",
                                                "Cast",
                                                "Slice",
                                                "Div",
                                                "Floor",
                                                "Ceil",
                                                "Mul",
                                                "Add",
                                                "Sub",
                                                "Reshape",
                                                "Identity",
                                                "ConstantOfShape",
                                                "Range",
                                                "Sqrt",
                                                "Transpose",
                                                "Where",
                                                "Expand",
                                                "Equal",
                                                "Less",
                                                "Greater",
                                                "Neg"};
    return types;
}

bool fold_node(Importer& im, const onnx::NodeProto& n) {
    const std::string& op = n.op_type();
    if (!foldable_op_types().count(op)) return false;
    const Attrs a(n);
    const std::string out = output_or_empty(n, 0);
    if (out.empty()) return true;  // nothing to compute

    if (op == "Constant") {
        im.set_const(out, constant_node(a, im.base_dir()));
        return true;
    }
    if (op == "Shape") {
        const std::string in = input_or_empty(n, 0);
        Shape dims;
        if (im.is_const(in)) {
            dims = im.constant_or_symbolic(in).dims;
        } else {
            // A dim left open (null) becomes a symbol: dim k of `in`, followed
            // through Gather, Slice, Concat and the like (below) to a Resize or
            // Reshape that can name it (onnx_map_shape.cpp).
            dims = im.value(in).shape;
            for (size_t k = 0; k < dims.size(); ++k)
                if (dims[k] == kUnknownDim) dims[k] = im.symbol(in, int(k));
        }
        const int64_t r = int64_t(dims.size());
        int64_t start = a.integer("start", 0), end = a.integer("end", r);
        if (start < 0) start += r;
        if (end < 0) end += r;
        start = std::clamp<int64_t>(start, 0, r);
        end = std::clamp<int64_t>(end, start, r);
        ConstValue v = make_ints({end - start}, std::vector<int64_t>(dims.begin() + start, dims.begin() + end));
        for (int64_t d : v.i) v.symbolic = v.symbolic || im.is_symbol(d);
        im.set_const(out, std::move(v));
        return true;
    }
    if (!all_inputs_const(im, n)) return false;

    // Symbolic values (dynamic dims) pass only through ops that move elements
    // without computing on them: the data input of Identity, Gather, Unsqueeze,
    // Squeeze, Slice and Reshape, any input of Concat, an integer Cast. Anything
    // else (arithmetic, a symbolic index or axis) is refused by im.constant().
    const bool moves_elements = op == "Identity" || op == "Gather" || op == "Unsqueeze" ||
                                op == "Squeeze" || op == "Slice" || op == "Reshape" || op == "Concat" ||
                                (op == "Cast" && a.integer("to", 0) == onnx::TensorProto::INT64);
    for (int k = 0; k < n.input_size(); ++k) {
        if (n.input(k).empty() || !im.constant_or_symbolic(n.input(k)).symbolic) continue;
        if (!moves_elements || (k > 0 && op != "Concat")) im.constant(n.input(k));  // throws
    }
    auto in = [&](int k) -> const ConstValue& { return im.constant_or_symbolic(input_or_empty(n, k)); };
    ConstValue result;
    if (op == "Identity") {
        result = in(0);
    } else if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
        result = binary(in(0), in(1), op);
    } else if (op == "Transpose") {
        result = transpose(in(0), a.ints("perm", {}));
    } else if (op == "Where") {
        result = where(in(0), in(1), in(2));
    } else if (op == "Expand") {
        result = expand(in(0), in(1).ints());
    } else if (op == "Equal" || op == "Less" || op == "Greater") {
        result = compare(in(0), in(1), op);
    } else if (op == "Neg") {
        result = in(0);
        for (double& v : result.f) v = -v;
        for (int64_t& v : result.i) v = -v;
    } else if (op == "Floor" || op == "Ceil" || op == "Sqrt") {
        result = in(0);
        if (result.is_float)
            for (double& v : result.f) v = op == "Floor" ? std::floor(v) : op == "Ceil" ? std::ceil(v) : std::sqrt(v);
    } else if (op == "Cast") {
        const int64_t to = a.integer("to", onnx::TensorProto::FLOAT);
        const ConstValue& x = in(0);
        result = empty_like(to == onnx::TensorProto::FLOAT || to == onnx::TensorProto::DOUBLE, x.dims);
        for (int64_t k = 0; k < x.numel(); ++k) {
            if (result.is_float) {
                result.f[k] = to == onnx::TensorProto::FLOAT ? double(float(x.as_double(k))) : x.as_double(k);
            } else if (to == onnx::TensorProto::BOOL) {
                result.i[k] = x.as_double(k) != 0.0;
            } else {
                result.i[k] = x.is_float ? int64_t(std::trunc(x.f[k])) : x.i[k];
            }
        }
    } else if (op == "Gather") {
        result = gather(in(0), in(1), a.integer("axis", 0));
    } else if (op == "Unsqueeze") {
        const ConstValue& x = in(0);
        std::vector<int64_t> axes = axes_of(im, n, a);
        const int64_t r = int64_t(x.dims.size() + axes.size());
        for (int64_t& ax : axes) ax = normalize_axis(ax, r, "Unsqueeze axis");
        std::sort(axes.begin(), axes.end());
        result = x;
        for (int64_t ax : axes) result.dims.insert(result.dims.begin() + ax, 1);
    } else if (op == "Squeeze") {
        const ConstValue& x = in(0);
        std::vector<int64_t> axes = axes_of(im, n, a);
        const int64_t r = int64_t(x.dims.size());
        std::set<int64_t> drop;
        for (int64_t ax : axes) drop.insert(normalize_axis(ax, r, "Squeeze axis"));
        result = x;
        result.dims.clear();
        for (int64_t k = 0; k < r; ++k) {
            const bool squeeze = axes.empty() ? x.dims[k] == 1 : drop.count(k) > 0;
            if (squeeze && x.dims[k] != 1) throw Error("Squeeze of a dim that is not 1");
            if (!squeeze) result.dims.push_back(x.dims[k]);
        }
    } else if (op == "Concat") {
        std::vector<const ConstValue*> parts;
        for (int k = 0; k < n.input_size(); ++k)
            if (!n.input(k).empty()) parts.push_back(&in(k));
        if (parts.empty()) throw Error("Concat without inputs");
        const int64_t r = int64_t(parts[0]->dims.size());
        const int64_t axis = normalize_axis(a.integer("axis", 0), r, "axis");
        Shape dims = parts[0]->dims;
        dims[axis] = 0;
        bool is_float = false;
        for (const ConstValue* p : parts) {
            if (int64_t(p->dims.size()) != r) throw Error("Concat of constants with different ranks");
            dims[axis] += p->dims[axis];
            is_float |= p->is_float;
        }
        result = empty_like(is_float, dims);
        const int64_t outer = std::accumulate(dims.begin(), dims.begin() + axis, int64_t(1), std::multiplies<int64_t>());
        int64_t at = 0;
        for (int64_t o = 0; o < outer; ++o)
            for (const ConstValue* p : parts) {
                const int64_t chunk = outer ? p->numel() / outer : 0;
                for (int64_t k = 0; k < chunk; ++k, ++at) {
                    if (is_float) result.f[at] = p->as_double(o * chunk + k);
                    else result.i[at] = p->i[o * chunk + k];
                }
            }
    } else if (op == "Slice") {
        std::vector<int64_t> starts, ends, axes, steps;
        if (im.opset() < 10) {
            starts = a.ints("starts", {});
            ends = a.ints("ends", {});
            axes = a.ints("axes", {});
        } else {
            starts = in(1).ints();
            ends = in(2).ints();
            if (!input_or_empty(n, 3).empty()) axes = in(3).ints();
            if (!input_or_empty(n, 4).empty()) steps = in(4).ints();
        }
        result = slice(in(0), starts, ends, axes, steps);
    } else if (op == "Reshape") {
        result = in(0);
        std::vector<int64_t> spec = im.opset() < 5 ? a.ints("shape", {}) : in(1).ints();
        result.dims = reshape_target(result.dims, spec, a.integer("allowzero", 0) != 0);
    } else if (op == "ConstantOfShape") {
        ConstValue fill;
        if (const onnx::TensorProto* t = a.tensor("value")) fill = const_from_tensor(*t, im.base_dir());
        else fill.f = {0.0};
        const std::vector<int64_t> dims = in(0).ints();
        result = empty_like(fill.is_float, Shape(dims.begin(), dims.end()));
        for (int64_t k = 0; k < result.numel(); ++k) {
            if (fill.is_float) result.f[k] = fill.f.at(0); else result.i[k] = fill.i.at(0);
        }
    } else if (op == "Range") {
        const ConstValue &s = in(0), &l = in(1), &d = in(2);
        const bool is_float = s.is_float || l.is_float || d.is_float;
        const double start = s.as_double(0), limit = l.as_double(0), delta = d.as_double(0);
        if (delta == 0) throw Error("Range with delta 0");
        const int64_t count = std::max<int64_t>(0, int64_t(std::ceil((limit - start) / delta)));
        result = empty_like(is_float, {count});
        for (int64_t k = 0; k < count; ++k) {
            if (is_float) result.f[k] = start + double(k) * delta;
            else result.i[k] = s.as_int(0) + k * d.as_int(0);
        }
    } else {
        return false;
    }
    if (!result.is_float)
        for (int64_t v : result.i) result.symbolic = result.symbolic || im.is_symbol(v);
    im.set_const(out, std::move(result));
    return true;
}

}  // namespace fcnrt::onnx_import
