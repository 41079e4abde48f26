// A small command-line parser: positional arguments, `--name value` (or
// `--name=value`) options that may repeat, and flags. Anything not declared is
// a usage error naming the option.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/op_registry.h"
#include "kernels/precision.h"

namespace fcnrt::cli {

// A usage mistake: printed as `fcnrt: error:` with exit code 2.
struct UsageError {
    std::string message;
};

class Args {
public:
    // `options` take a value; `flags` do not. Names include the leading "--".
    Args(const std::string& command, const std::vector<std::string>& argv,
         std::set<std::string> options, std::set<std::string> flags);

    const std::vector<std::string>& positional() const { return positional_; }
    bool flag(const std::string& name) const { return flags_given_.count(name) > 0; }
    // The last value given, or `fallback`.
    std::string value(const std::string& name, const std::string& fallback = "") const;
    const std::vector<std::string>& values(const std::string& name) const;

private:
    std::vector<std::string> positional_;
    std::set<std::string> flags_given_;
    std::map<std::string, std::vector<std::string>> values_;
};

// "HxW" -> {H, W}; throws UsageError naming `option`.
std::pair<int64_t, int64_t> parse_size(const std::string& text, const std::string& option);
int64_t parse_positive(const std::string& text, const std::string& option);
// The --device value (default "auto"), checked to be one select_backend knows:
// auto, cpu, cuda or reference; anything else is a UsageError.
std::string device_option(const Args& args);
// The --precision value: "" when not given, else fp32, tf32, bf16 or fp16;
// anything else is a UsageError.
std::string precision_option(const Args& args);
// The precision to run at on `backend`: `given` (from precision_option), or by
// default tf32 on CUDA (PyTorch's cuDNN default) and fp32 on the CPU backends,
// which compute in fp32 only: a tensor-core format there is a UsageError.
Precision resolve_precision(const std::string& given, BackendKind backend);

}  // namespace fcnrt::cli
