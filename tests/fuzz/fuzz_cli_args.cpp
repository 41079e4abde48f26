// libFuzzer target: the command-line parser (tools/fcnrt/cli_args.h). The
// input is NUL-separated arguments; its first byte picks one command's
// declared options and flags (copied from tools/fcnrt/cmd_*.cpp), and every
// value is then read back and parsed as the commands parse them.
#include <string>
#include <vector>

#include "tools/fcnrt/cli_args.h"

namespace {

struct Declared {
    const char* command;
    std::set<std::string> options, flags;
};

const Declared kCommands[] = {
    {"run", {"--input", "--output", "--device"}, {}},
    {"info", {"--size", "--batch"}, {}},
    {"densify", {"-o", "--output", "--halo"}, {"--same-size"}},
    {"import", {"-o", "--output"}, {"--no-optimize"}},
    {"segment", {"--output", "--opacity", "--device", "--max-memory", "--halo"},
     {"--overlay", "--probs", "--patchwise", "--quiet"}},
    {"bench",
     {"--size", "--batch", "--device", "--warmup", "--iterations", "--duration", "--input"},
     {"--profile", "--json"}},
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const Declared& d = kCommands[data[0] % (sizeof kCommands / sizeof kCommands[0])];
    std::vector<std::string> argv;
    std::string current;
    for (size_t i = 1; i < size; ++i) {
        if (data[i] == 0) {
            argv.push_back(current);
            current.clear();
        } else {
            current += char(data[i]);
        }
    }
    argv.push_back(current);
    using fcnrt::cli::UsageError;
    try {
        const fcnrt::cli::Args args(d.command, argv, d.options, d.flags);
        for (const std::string& o : d.options) {
            for (const std::string& v : args.values(o)) {
                try {
                    fcnrt::cli::parse_size(v, o);
                } catch (const UsageError&) {
                }
                try {
                    fcnrt::cli::parse_positive(v, o);
                } catch (const UsageError&) {
                }
            }
            (void)args.value(o, "fallback");
        }
        for (const std::string& f : d.flags) (void)args.flag(f);
        (void)args.positional();
        fcnrt::cli::device_option(args);
    } catch (const UsageError&) {
    }
    return 0;
}
