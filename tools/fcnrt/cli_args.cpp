#include "tools/fcnrt/cli_args.h"

#include <cstdlib>

namespace fcnrt::cli {

Args::Args(const std::string& command, const std::vector<std::string>& argv,
           std::set<std::string> options, std::set<std::string> flags) {
    bool only_positional = false;
    for (size_t i = 0; i < argv.size(); ++i) {
        const std::string& a = argv[i];
        if (only_positional || a.size() < 2 || a[0] != '-' ) {
            positional_.push_back(a);
            continue;
        }
        if (a == "--") {
            only_positional = true;
            continue;
        }
        std::string name = a, value;
        const size_t eq = a.find('=');
        const bool inline_value = a.rfind("--", 0) == 0 && eq != std::string::npos;
        if (inline_value) {
            name = a.substr(0, eq);
            value = a.substr(eq + 1);
        }
        if (flags.count(name)) {
            if (inline_value) throw UsageError{"option " + name + " takes no value"};
            flags_given_.insert(name);
        } else if (options.count(name)) {
            if (!inline_value) {
                if (i + 1 >= argv.size()) throw UsageError{"option " + name + " needs a value"};
                value = argv[++i];
            }
            values_[name].push_back(value);
        } else {
            throw UsageError{"unknown option '" + name + "' for '" + command + "' (see fcnrt " +
                             command + " --help)"};
        }
    }
}

std::string Args::value(const std::string& name, const std::string& fallback) const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second.back();
}

const std::vector<std::string>& Args::values(const std::string& name) const {
    static const std::vector<std::string> none;
    auto it = values_.find(name);
    return it == values_.end() ? none : it->second;
}

int64_t parse_positive(const std::string& text, const std::string& option) {
    char* end = nullptr;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || v < 1 || v > (1LL << 30))
        throw UsageError{option + ": expected a positive integer, got '" + text + "'"};
    return v;
}

std::pair<int64_t, int64_t> parse_size(const std::string& text, const std::string& option) {
    const size_t x = text.find_first_of("xX");
    if (x == std::string::npos) {
        const int64_t s = parse_positive(text, option);
        return {s, s};
    }
    return {parse_positive(text.substr(0, x), option), parse_positive(text.substr(x + 1), option)};
}

std::string device_option(const Args& args) {
    const std::string d = args.value("--device", "auto");
    // cuda:N and lists (cuda:0,cuda:1, cuda:all) are checked against the devices
    // there are when the backends are made (engine/multi_device.h).
    if (d != "auto" && d != "cpu" && d != "cuda" && d != "reference" && d.rfind("cuda:", 0) != 0)
        throw UsageError{"--device: unknown device '" + d +
                         "' (use auto, cpu, cuda, cuda:N or reference)"};
    return d;
}

std::string precision_option(const Args& args) {
    const std::string p = args.value("--precision");
    Precision ignored;
    if (!p.empty() && !parse_precision(p, &ignored))
        throw UsageError{"--precision: unknown precision '" + p + "' (use fp32, tf32, bf16 or fp16)"};
    return p;
}

Precision resolve_precision(const std::string& given, BackendKind backend) {
    const bool cuda = backend == BackendKind::Cuda;
    Precision p = cuda ? Precision::Tf32 : Precision::Fp32;
    if (!given.empty()) parse_precision(given, &p);
    if (!cuda && p != Precision::Fp32)
        throw UsageError{"--precision " + given + " needs --device cuda (the " +
                         (backend == BackendKind::Reference ? "reference" : "cpu") +
                         " backend computes in fp32 only)"};
    return p;
}

}  // namespace fcnrt::cli
