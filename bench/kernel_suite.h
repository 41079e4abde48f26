// The fixed kernel suite (bench/kernel_suite.json) as bench_cuda_kernels and
// bench_cpu_kernels read it, and the roofs their "share_of_roof" counters use.
//
// Header-only, shared by the two benchmark binaries: loading and validating the
// suite file (an unknown key or op is an error, as in graph attributes, so a
// misspelt "dilaton" cannot silently run dilation 1), each case's shapes, FLOPs
// and bytes, the --suite=FILE / --suite_all flags, and the counters every
// benchmark reports:
//   GFLOPS        2 * multiply-adds / s (convolutions and dense only)
//   GB/s          (bytes read + bytes written, each tensor once) / s
//   flop, bytes   the same per call, so that intensity = flop / bytes
//   share_of_roof achieved / attainable, attainable = min(P, intensity * B) for ops
//                 with FLOPs and B for the others, where P (SGEMM GFLOP/s) and B
//                 (copy GB/s) are the best roof/ measurements of this process; the
//                 roof/ benchmarks are registered first so they run first. Left out
//                 when a roof it needs was not measured (filtered out).
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/op_params.h"

namespace fcnrt::bench {

enum class SuiteOp { Conv2d, ConvTranspose2d, MaxPool2d, AvgPool2d, Concat, Softmax, Resize };

// One case of the suite: one image (N = 1), float32, square planes (H = W).
struct SuiteCase {
    std::string name;  // registered as "suite/" + name
    SuiteOp op = SuiteOp::Conv2d;
    int64_t c = 0;  // input channels (concat: their sum)
    int64_t k = 0;  // output channels
    int64_t h = 0;  // input H = W
    int kernel = 1, stride = 1, pad = 0, dilation = 1, groups = 1;
    std::vector<int64_t> inputs;  // concat: channels of each input
    bool bilinear = false;        // resize
    int scale = 1;                // resize
    bool cpu = false;             // in the CPU subset

    int64_t out_h = 0;  // output H = W
    double macs = 0;    // multiply-adds per call
    double bytes = 0;   // bytes read + written per call, each tensor once
};

// Output size of a conv / pool window along one axis (floor mode).
inline int64_t window_out(int64_t in, int kernel, int stride, int pad, int dilation) {
    return (in + 2 * pad - static_cast<int64_t>(dilation) * (kernel - 1) - 1) / stride + 1;
}

namespace detail {

inline std::runtime_error suite_error(const std::string& file, const std::string& where,
                                      const std::string& what) {
    return std::runtime_error(file + ": " + where + ": " + what);
}

inline int64_t positive(const nlohmann::json& j, const char* key, const std::string& file,
                        const std::string& where, int64_t min = 1) {
    if (!j.contains(key)) throw suite_error(file, where, std::string("missing \"") + key + "\"");
    const nlohmann::json& v = j.at(key);
    if (!v.is_number_integer() || v.get<int64_t>() < min) {
        throw suite_error(
            file, where,
            std::string("\"") + key + "\" must be an integer >= " + std::to_string(min));
    }
    return v.get<int64_t>();
}

}  // namespace detail

// Reads and validates the suite; throws std::runtime_error naming the file and case.
inline std::vector<SuiteCase> load_suite(const std::string& path) {
    using detail::positive;
    using detail::suite_error;
    std::ifstream in(path);
    if (!in) throw std::runtime_error(path + ": cannot open the kernel suite");
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        throw std::runtime_error(path + ": not valid JSON: " + e.what());
    }
    if (!doc.is_object() || doc.value("format", "") != "fcnrt-kernel-suite/1" ||
        !doc.contains("cases") || !doc.at("cases").is_array()) {
        throw std::runtime_error(
            path +
            ": not a kernel suite (want {\"format\": \"fcnrt-kernel-suite/1\", "
            "\"cases\": [...]})");
    }
    std::vector<SuiteCase> cases;
    std::set<std::string> names;
    int index = 0;
    for (const nlohmann::json& j : doc.at("cases")) {
        std::string where = "case " + std::to_string(index++);
        if (!j.is_object() || !j.contains("name") || !j.at("name").is_string()) {
            throw suite_error(path, where, "every case is an object with a string \"name\"");
        }
        SuiteCase s;
        s.name = j.at("name").get<std::string>();
        where = "case " + s.name;
        if (s.name.empty() || s.name.find_first_of(" /\"") != std::string::npos) {
            throw suite_error(path, where, "names are non-empty, without spaces, '/' or quotes");
        }
        if (!names.insert(s.name).second) throw suite_error(path, where, "duplicate name");
        const std::string op = j.value("op", "");
        std::set<std::string> allowed = {"name", "op", "cpu", "C", "H"};
        if (op == "conv2d" || op == "conv_transpose2d") {
            s.op = op == "conv2d" ? SuiteOp::Conv2d : SuiteOp::ConvTranspose2d;
            allowed.insert({"K", "kernel", "stride", "pad", "dilation", "groups"});
        } else if (op == "max_pool2d" || op == "avg_pool2d") {
            s.op = op == "max_pool2d" ? SuiteOp::MaxPool2d : SuiteOp::AvgPool2d;
            allowed.insert({"kernel", "stride", "pad", "dilation"});
        } else if (op == "concat") {
            s.op = SuiteOp::Concat;
            allowed = {"name", "op", "cpu", "inputs", "H"};
        } else if (op == "softmax") {
            s.op = SuiteOp::Softmax;
        } else if (op == "resize") {
            s.op = SuiteOp::Resize;
            allowed.insert({"mode", "scale"});
        } else {
            throw suite_error(path, where,
                              "unknown op \"" + op +
                                  "\" (conv2d, conv_transpose2d, max_pool2d, avg_pool2d, concat, "
                                  "softmax, resize)");
        }
        for (const auto& item : j.items()) {
            if (!allowed.count(item.key())) {
                throw suite_error(path, where, "unknown key \"" + item.key() + "\" for " + op);
            }
        }
        if (!j.contains("cpu") || !j.at("cpu").is_boolean()) {
            throw suite_error(path, where, "\"cpu\" (true or false) is required");
        }
        s.cpu = j.at("cpu").get<bool>();
        s.h = positive(j, "H", path, where);
        const double in_plane = static_cast<double>(s.h) * static_cast<double>(s.h);
        switch (s.op) {
            case SuiteOp::Conv2d:
            case SuiteOp::ConvTranspose2d: {
                s.c = positive(j, "C", path, where);
                s.k = positive(j, "K", path, where);
                s.kernel = static_cast<int>(positive(j, "kernel", path, where));
                s.stride = static_cast<int>(positive(j, "stride", path, where));
                s.pad = static_cast<int>(positive(j, "pad", path, where, 0));
                s.dilation = static_cast<int>(positive(j, "dilation", path, where));
                s.groups = static_cast<int>(positive(j, "groups", path, where));
                if (s.c % s.groups != 0 || s.k % s.groups != 0) {
                    throw suite_error(path, where, "C and K must be multiples of groups");
                }
                const double taps = static_cast<double>(s.kernel) * s.kernel;
                double weights = 0;
                if (s.op == SuiteOp::Conv2d) {
                    s.out_h = window_out(s.h, s.kernel, s.stride, s.pad, s.dilation);
                    s.macs = static_cast<double>(s.k) * static_cast<double>(s.c / s.groups) * taps *
                             static_cast<double>(s.out_h) * static_cast<double>(s.out_h);
                    weights = static_cast<double>(s.k) * static_cast<double>(s.c / s.groups) * taps;
                } else {
                    s.out_h = (s.h - 1) * s.stride - 2 * s.pad +
                              static_cast<int64_t>(s.dilation) * (s.kernel - 1) + 1;
                    s.macs = static_cast<double>(s.c) * static_cast<double>(s.k / s.groups) * taps *
                             in_plane;
                    weights = static_cast<double>(s.c) * static_cast<double>(s.k / s.groups) * taps;
                }
                const double out_plane =
                    static_cast<double>(s.out_h) * static_cast<double>(s.out_h);
                s.bytes = 4.0 * (static_cast<double>(s.c) * in_plane + weights +
                                 static_cast<double>(s.k) + static_cast<double>(s.k) * out_plane);
                break;
            }
            case SuiteOp::MaxPool2d:
            case SuiteOp::AvgPool2d: {
                s.c = s.k = positive(j, "C", path, where);
                s.kernel = static_cast<int>(positive(j, "kernel", path, where));
                s.stride = static_cast<int>(positive(j, "stride", path, where));
                s.pad = static_cast<int>(positive(j, "pad", path, where, 0));
                s.dilation = static_cast<int>(positive(j, "dilation", path, where));
                if (2 * s.pad > s.kernel) {
                    // PyTorch's bound (also with dilation), so that the peer can run the case.
                    throw suite_error(path, where, "pad must be at most kernel / 2");
                }
                s.out_h = window_out(s.h, s.kernel, s.stride, s.pad, s.dilation);
                s.bytes = 4.0 * static_cast<double>(s.c) *
                          (in_plane + static_cast<double>(s.out_h) * static_cast<double>(s.out_h));
                break;
            }
            case SuiteOp::Concat: {
                if (!j.contains("inputs") || !j.at("inputs").is_array() ||
                    j.at("inputs").size() < 2) {
                    throw suite_error(path, where,
                                      "\"inputs\" must list at least 2 channel counts");
                }
                for (const nlohmann::json& v : j.at("inputs")) {
                    if (!v.is_number_integer() || v.get<int64_t>() < 1) {
                        throw suite_error(path, where, "\"inputs\" holds positive integers");
                    }
                    s.inputs.push_back(v.get<int64_t>());
                    s.c += s.inputs.back();
                }
                s.k = s.c;
                s.out_h = s.h;
                s.bytes = 2.0 * 4.0 * static_cast<double>(s.c) * in_plane;
                break;
            }
            case SuiteOp::Softmax:
                s.c = s.k = positive(j, "C", path, where);
                s.out_h = s.h;
                s.bytes = 2.0 * 4.0 * static_cast<double>(s.c) * in_plane;
                break;
            case SuiteOp::Resize: {
                s.c = s.k = positive(j, "C", path, where);
                const std::string mode = j.value("mode", "");
                if (mode != "nearest" && mode != "bilinear") {
                    throw suite_error(path, where, "\"mode\" is nearest or bilinear");
                }
                s.bilinear = mode == "bilinear";
                s.scale = static_cast<int>(positive(j, "scale", path, where));
                s.out_h = s.h * s.scale;
                s.bytes = 4.0 * static_cast<double>(s.c) *
                          (in_plane + static_cast<double>(s.out_h) * static_cast<double>(s.out_h));
                break;
            }
        }
        if (s.out_h < 1) throw suite_error(path, where, "the output would be empty");
        cases.push_back(std::move(s));
    }
    if (cases.empty()) throw std::runtime_error(path + ": the suite has no cases");
    return cases;
}

// The suite flags, taken out of argv before Google Benchmark sees it.
struct SuiteOptions {
    std::string path;        // --suite=FILE; empty: the default lookup
    bool all_cases = false;  // --suite_all: the CPU bench registers every case, not the subset
};

inline SuiteOptions take_suite_flags(int* argc, char** argv) {
    SuiteOptions o;
    int kept = 1;
    for (int i = 1; i < *argc; ++i) {
        if (std::strncmp(argv[i], "--suite=", 8) == 0) {
            o.path = argv[i] + 8;
        } else if (std::strcmp(argv[i], "--suite_all") == 0) {
            o.all_cases = true;
        } else {
            argv[kept++] = argv[i];
        }
    }
    *argc = kept;
    argv[kept] = nullptr;
    return o;
}

// The suite file to read: --suite=FILE when given; else
// $FCNRT_SOURCE_DIR/bench/kernel_suite.json when it exists (on a lent GPU machine
// the repository copy is not where it was built); else the path compiled in.
inline std::string suite_path(const SuiteOptions& o, const char* compiled_in) {
    if (!o.path.empty()) return o.path;
    if (const char* src = std::getenv("FCNRT_SOURCE_DIR")) {
        const std::string p = std::string(src) + "/bench/kernel_suite.json";
        if (std::ifstream(p).good()) return p;
    }
    return compiled_in;
}

// Best roofs measured so far in this process (the maximum over repetitions: a roof
// is what the machine can do, and noise only ever slows a run down).
struct Roofs {
    double bandwidth_gbs = 0;   // copy, bytes read + written
    double compute_gflops = 0;  // SGEMM, strict float32

    void note_bandwidth(double gbs) { bandwidth_gbs = std::max(bandwidth_gbs, gbs); }
    void note_compute(double gflops) { compute_gflops = std::max(compute_gflops, gflops); }

    // achieved / attainable for one call of `seconds`; < 0 when a roof it needs is missing.
    double share(double flop, double bytes, double seconds) const {
        if (seconds <= 0 || bytes <= 0 || bandwidth_gbs <= 0) return -1;
        if (flop > 0) {
            if (compute_gflops <= 0) return -1;
            const double attainable = std::min(compute_gflops, flop / bytes * bandwidth_gbs);
            return flop / seconds / 1e9 / attainable;
        }
        return bytes / seconds / 1e9 / bandwidth_gbs;
    }
};

// The counters described at the top, for one call of `seconds` (the mean over the
// timed iterations). `with_share` false for the roof benchmarks themselves.
inline void set_counters(benchmark::State& state, double macs, double bytes, double seconds,
                         const Roofs& roofs, bool with_share = true) {
    using benchmark::Counter;
    const double flop = 2.0 * macs;
    if (macs > 0)
        state.counters["GFLOPS"] = Counter(flop / 1e9, Counter::kIsIterationInvariantRate);
    state.counters["GB/s"] = Counter(bytes / 1e9, Counter::kIsIterationInvariantRate);
    state.counters["flop"] = flop;
    state.counters["bytes"] = bytes;
    if (with_share) {
        const double share = roofs.share(flop, bytes, seconds);
        if (share >= 0) state.counters["share_of_roof"] = share;
    }
}

// The kernel parameters of a suite case (square kernels, equal pads), the same
// for every backend's benchmark.
inline Conv2dParams suite_conv2d_params(const SuiteCase& sc) {
    Conv2dParams p;
    p.stride[0] = p.stride[1] = sc.stride;
    for (int& v : p.pads) v = sc.pad;
    p.dilation[0] = p.dilation[1] = sc.dilation;
    p.groups = sc.groups;
    return p;
}

inline ConvTranspose2dParams suite_conv_transpose2d_params(const SuiteCase& sc) {
    ConvTranspose2dParams p;
    p.stride[0] = p.stride[1] = sc.stride;
    for (int& v : p.pads) v = sc.pad;
    p.dilation[0] = p.dilation[1] = sc.dilation;
    p.groups = sc.groups;
    return p;
}

inline Pool2dParams pool_params(int kernel, int stride, int pad, int dilation) {
    Pool2dParams p;
    p.kernel[0] = p.kernel[1] = kernel;
    p.stride[0] = p.stride[1] = stride;
    for (int& v : p.pads) v = pad;
    p.dilation[0] = p.dilation[1] = dilation;
    return p;
}

// Resize by the case's integer scale, as PyTorch's scale_factor (half-pixel centres).
inline ResizeParams suite_resize_params(const SuiteCase& sc) {
    ResizeParams p;
    p.mode = sc.bilinear ? ResizeMode::Bilinear : ResizeMode::Nearest;
    p.align_corners = false;
    p.coord_scale[0] = p.coord_scale[1] = 1.0 / sc.scale;
    return p;
}

}  // namespace fcnrt::bench
