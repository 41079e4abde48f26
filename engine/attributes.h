// Typed, validated reading of a node's attributes from its JSON object. Every
// accessor records the key it read, so the loader can reject attributes the op
// does not know (a misspelt "strides" must not be silently ignored).
#pragma once

#include <array>
#include <initializer_list>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernels/op_params.h"

namespace fcnrt {

using Json = nlohmann::json;

// v as JSON text for an error message. Strings read from an ONNX file may hold
// bytes that are not UTF-8, which Json::dump refuses with an exception of its
// own; here they are shown as U+FFFD, so the message is the error, not a crash.
std::string json_text(const Json& v);

// Writes `a` as a node's activation attributes, AttrReader::activation's inverse:
// `activation` (removed for none) and `activation_alpha` / `activation_beta` for
// the kinds that have them (the load passes that fuse an activation into a node).
void write_activation(Json& node, ActivationParams a);

class AttrReader {
public:
    explicit AttrReader(const Json& node) : node_(node) {}

    bool has(const std::string& key) const;
    int64_t integer(const std::string& key, int64_t fallback, int64_t min_value,
                    int64_t max_value) const;
    double number(const std::string& key, double fallback) const;
    bool boolean(const std::string& key, bool fallback) const;
    // One of `allowed`; `fallback` when absent.
    std::string choice(const std::string& key, std::initializer_list<const char*> allowed,
                       const std::string& fallback) const;
    // A list of exactly `count` integers in [min_value, max_value]; a single
    // integer is accepted for every element. `fallback` when absent.
    std::vector<int64_t> ints(const std::string& key, size_t count, std::vector<int64_t> fallback,
                              int64_t min_value, int64_t max_value) const;
    std::vector<double> numbers(const std::string& key, size_t count) const;
    // `activation`, `activation_alpha` (leaky_relu's slope, default 0.01;
    // hard_sigmoid's alpha, default 0.2) and `activation_beta` (hard_sigmoid's, 0.5).
    ActivationParams activation() const;
    // A weight attribute: the tensor name, or "" when absent and optional.
    std::string weight_name(const std::string& key, bool optional) const;

    // Keys this reader was asked about (present or not).
    const std::set<std::string>& known_keys() const { return known_; }

private:
    const Json& get(const std::string& key) const;
    const Json& node_;
    mutable std::set<std::string> known_;
};

// Copies a fixed number of int64 values into an int array.
template <size_t N>
void copy_ints(const std::vector<int64_t>& from, int (&to)[N]) {
    for (size_t i = 0; i < N; ++i) to[i] = static_cast<int>(from[i]);
}

}  // namespace fcnrt
