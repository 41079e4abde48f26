// The `fcnrt` command: dispatches to a subcommand and turns every error into
// one `fcnrt: error:` line and a non-zero exit code.
#include <iostream>
#include <new>
#include <string>
#include <vector>

#include "engine/error.h"
#include "tools/fcnrt/cli_args.h"
#include "tools/fcnrt/commands.h"

namespace {

const char* const kVersion = "0.1.0";

const char* const kHelp =
    "usage: fcnrt COMMAND [ARGS...]\n"
    "\n"
    "fcnrt runs fully convolutional segmentation networks (fcnrt-graph JSON +\n"
    "safetensors weights) on the GPU, or on the CPU when no GPU is usable.\n"
    "\n"
    "commands:\n"
    "  run     run a model on .npy tensors\n"
    "  info    layers, parameters, FLOPs, receptive field and memory plan of a model\n"
    "  densify convert a patchwise classifier into an equivalent dense network\n"
    "  segment segment image files into class masks (tiled when large)\n"
    "  bench   time whole-model runs: latency percentiles, throughput, TFLOP/s, memory\n"
    "  eval    score label maps against ground truth: IoU, Dice, precision, recall\n"
    "  zoo     write the zoo's full-size models (U-Net, FCN-8s, ...) with random weights\n"
#ifdef FCNRT_WITH_ONNX
    "  import  convert an ONNX model to fcnrt JSON + safetensors (run/info/segment\n"
    "          also read MODEL.onnx directly)\n"
#endif
    "\n"
    "fcnrt COMMAND --help describes a command. fcnrt --version prints the version.\n";

struct Command {
    const char* name;
    int (*run)(const std::vector<std::string>&);
    const char* help;
};

const Command kCommands[] = {
    {"run", fcnrt::cli::run_command, fcnrt::cli::kRunHelp},
    {"info", fcnrt::cli::info_command, fcnrt::cli::kInfoHelp},
    {"densify", fcnrt::cli::densify_command, fcnrt::cli::kDensifyHelp},
    {"segment", fcnrt::cli::segment_command, fcnrt::cli::kSegmentHelp},
    {"bench", fcnrt::cli::bench_command, fcnrt::cli::kBenchHelp},
    {"eval", fcnrt::cli::eval_command, fcnrt::cli::kEvalHelp},
    {"zoo", fcnrt::cli::zoo_command, fcnrt::cli::kZooHelp},
#ifdef FCNRT_WITH_ONNX
    {"import", fcnrt::cli::import_command, fcnrt::cli::kImportHelp},
#endif
};

int fail(const std::string& message, int code) {
    std::cerr << "fcnrt: error: " << message << "\n";
    return code;
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> all(argv + 1, argv + argc);
    if (all.empty()) {
        std::cerr << kHelp;
        return 2;
    }
    if (all[0] == "--help" || all[0] == "-h" || all[0] == "help") {
        std::cout << kHelp;
        return 0;
    }
    if (all[0] == "--version") {
        std::cout << "fcnrt " << kVersion << "\n";
        return 0;
    }
    for (const Command& c : kCommands) {
        if (all[0] != c.name) continue;
        const std::vector<std::string> rest(all.begin() + 1, all.end());
        for (const std::string& a : rest)
            if (a == "--help" || a == "-h") {
                std::cout << c.help;
                return 0;
            }
        try {
            return c.run(rest);
        } catch (const fcnrt::cli::UsageError& e) {
            return fail(e.message, 2);
        } catch (const fcnrt::Error& e) {
            return fail(e.what(), 1);
        } catch (const std::bad_alloc&) {
            return fail("out of memory", 1);
        } catch (const std::exception& e) {
            return fail(std::string("internal error: ") + e.what(), 1);
        }
    }
    return fail("unknown command '" + all[0] + "' (see fcnrt --help)", 2);
}
