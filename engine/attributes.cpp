#include "engine/attributes.h"

#include <cmath>

#include "engine/error.h"

namespace fcnrt {

std::string json_text(const Json& v) {
    return v.dump(-1, ' ', false, Json::error_handler_t::replace);
}

namespace {

// Attribute values stay far below this; it keeps every size computation in range.
constexpr int64_t kMaxAttrMagnitude = int64_t(1) << 30;

int64_t to_integer(const Json& v, const std::string& key) {
    if (v.is_number_integer()) return v.get<int64_t>();
    if (v.is_number_float()) {
        const double d = v.get<double>();
        if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15)
            return static_cast<int64_t>(d);
    }
    throw Error("attribute '" + key + "' must be an integer, got " + json_text(v));
}

void check_range(int64_t value, int64_t lo, int64_t hi, const std::string& key) {
    lo = std::max(lo, -kMaxAttrMagnitude);
    hi = std::min(hi, kMaxAttrMagnitude);
    if (value < lo || value > hi)
        throw Error("attribute '" + key + "' = " + std::to_string(value) + " is out of range [" +
                    std::to_string(lo) + ", " + std::to_string(hi) + "]");
}

}  // namespace

bool AttrReader::has(const std::string& key) const {
    known_.insert(key);
    return node_.contains(key) && !node_.at(key).is_null();
}

const Json& AttrReader::get(const std::string& key) const {
    known_.insert(key);
    return node_.at(key);
}

int64_t AttrReader::integer(const std::string& key, int64_t fallback, int64_t min_value,
                            int64_t max_value) const {
    if (!has(key)) return fallback;
    const int64_t v = to_integer(get(key), key);
    check_range(v, min_value, max_value, key);
    return v;
}

double AttrReader::number(const std::string& key, double fallback) const {
    if (!has(key)) return fallback;
    const Json& v = get(key);
    if (!v.is_number()) throw Error("attribute '" + key + "' must be a number, got " + json_text(v));
    const double d = v.get<double>();
    if (!std::isfinite(d)) throw Error("attribute '" + key + "' must be finite");
    return d;
}

bool AttrReader::boolean(const std::string& key, bool fallback) const {
    if (!has(key)) return fallback;
    const Json& v = get(key);
    if (v.is_boolean()) return v.get<bool>();
    if (v.is_number_integer() && (v.get<int64_t>() == 0 || v.get<int64_t>() == 1))
        return v.get<int64_t>() == 1;
    throw Error("attribute '" + key + "' must be true or false, got " + json_text(v));
}

std::string AttrReader::choice(const std::string& key, std::initializer_list<const char*> allowed,
                               const std::string& fallback) const {
    if (!has(key)) return fallback;
    const Json& v = get(key);
    std::string list;
    for (const char* a : allowed) {
        if (v.is_string() && v.get<std::string>() == a) return a;
        list += list.empty() ? std::string("'") + a + "'" : std::string(", '") + a + "'";
    }
    throw Error("attribute '" + key + "' = " + json_text(v) + " is not one of " + list);
}

std::vector<int64_t> AttrReader::ints(const std::string& key, size_t count,
                                      std::vector<int64_t> fallback, int64_t min_value,
                                      int64_t max_value) const {
    if (!has(key)) return fallback;
    const Json& v = get(key);
    std::vector<int64_t> out;
    if (v.is_number()) {
        out.assign(count, to_integer(v, key));
    } else if (v.is_array()) {
        if (v.size() != count)
            throw Error("attribute '" + key + "' must have " + std::to_string(count) +
                        " elements, got " + std::to_string(v.size()));
        for (const Json& e : v) out.push_back(to_integer(e, key));
    } else {
        throw Error("attribute '" + key + "' must be a list of " + std::to_string(count) +
                    " integers, got " + json_text(v));
    }
    for (int64_t e : out) check_range(e, min_value, max_value, key);
    return out;
}

std::vector<double> AttrReader::numbers(const std::string& key, size_t count) const {
    const Json& v = get(key);
    std::vector<double> out;
    if (v.is_number()) {
        out.assign(count, v.get<double>());
    } else if (v.is_array() && v.size() == count) {
        for (const Json& e : v) {
            if (!e.is_number()) throw Error("attribute '" + key + "' must hold numbers");
            out.push_back(e.get<double>());
        }
    } else {
        throw Error("attribute '" + key + "' must be a list of " + std::to_string(count) +
                    " numbers, got " + json_text(v));
    }
    for (double d : out)
        if (!std::isfinite(d)) throw Error("attribute '" + key + "' must be finite");
    return out;
}

ActivationParams AttrReader::activation() const {
    ActivationParams a;
    const std::string kind = choice(
        "activation", {"none", "relu", "leaky_relu", "sigmoid", "tanh", "hard_sigmoid", "hard_swish"},
        "none");
    if (kind == "relu") a.kind = Activation::Relu;
    if (kind == "leaky_relu") a.kind = Activation::LeakyRelu;
    if (kind == "sigmoid") a.kind = Activation::Sigmoid;
    if (kind == "tanh") a.kind = Activation::Tanh;
    if (kind == "hard_sigmoid") a.kind = Activation::HardSigmoid;
    if (kind == "hard_swish") a.kind = Activation::HardSwish;
    a.alpha = static_cast<float>(number("activation_alpha", a.kind == Activation::HardSigmoid ? 0.2 : 0.01));
    a.beta = static_cast<float>(number("activation_beta", 0.5));
    return a;
}

void write_activation(Json& node, ActivationParams a) {
    node.erase("activation");
    node.erase("activation_alpha");
    node.erase("activation_beta");
    switch (a.kind) {
        case Activation::None: return;
        case Activation::Relu: node["activation"] = "relu"; return;
        case Activation::LeakyRelu:
            node["activation"] = "leaky_relu";
            node["activation_alpha"] = a.alpha;
            return;
        case Activation::Sigmoid: node["activation"] = "sigmoid"; return;
        case Activation::Tanh: node["activation"] = "tanh"; return;
        case Activation::HardSigmoid:
            node["activation"] = "hard_sigmoid";
            node["activation_alpha"] = a.alpha;
            node["activation_beta"] = a.beta;
            return;
        case Activation::HardSwish: node["activation"] = "hard_swish"; return;
    }
}

std::string AttrReader::weight_name(const std::string& key, bool optional) const {
    if (!has(key)) {
        if (optional) return "";
        throw Error("missing weight attribute '" + key + "'");
    }
    const Json& v = get(key);
    if (!v.is_string() || v.get<std::string>().empty())
        throw Error("weight attribute '" + key + "' must name a tensor, got " + json_text(v));
    return v.get<std::string>();
}

}  // namespace fcnrt
