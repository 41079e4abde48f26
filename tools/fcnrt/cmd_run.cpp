// `fcnrt run MODEL.json --input NAME=IN.npy ... --output NAME=OUT.npy ...`
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>

#include "engine/device.h"
#include "engine/error.h"
#include "engine/executor.h"
#include "engine/io/npy.h"
#include "engine/model_loader.h"
#include "tools/fcnrt/cli_args.h"
#include "tools/fcnrt/commands.h"
#include "tools/fcnrt/progress.h"

namespace fcnrt::cli {

const char* const kRunHelp =
    "usage: fcnrt run MODEL.json --input NAME=IN.npy ... [--output NAME=OUT.npy ...]\n"
    "                 [--device auto|cpu|cuda] [--precision fp32|tf32|bf16|fp16] [--quiet]\n"
    "\n"
    "Runs the graph on NumPy .npy tensors (float32; other numeric types are converted\n"
    "with a note). With a single graph input or output, NAME= may be left out. Without\n"
    "--output, prints each output's shape and value range. Outputs are written only\n"
    "when the whole run succeeded.\n"
    "\n"
    "  --input NAME=FILE    a graph input (repeat for several)\n"
    "  --output NAME=FILE   where to write a graph output (repeat for several)\n"
    "  --device DEVICE      auto (default: the GPU when usable), cpu or cuda\n"
    "  --precision P        convolutions' multiply-adds: fp32 (exact), or on CUDA the\n"
    "                       tensor cores' tf32 (default on CUDA), bf16 or fp16, with\n"
    "                       fp32 accumulation; the CPU computes in fp32 only\n"
    "  --quiet              nothing on stderr but errors (no device line, notes or\n"
    "                       progress lines)\n";

namespace {

// "NAME=PATH", or "PATH" when the graph has exactly one candidate name.
std::pair<std::string, std::string> named_path(const std::string& arg, const std::string& option,
                                               const std::vector<std::string>& names) {
    const size_t eq = arg.find('=');
    if (eq != std::string::npos && eq > 0) return {arg.substr(0, eq), arg.substr(eq + 1)};
    if (names.size() == 1) return {names[0], arg};
    throw UsageError{option + " " + arg + ": the graph has " + std::to_string(names.size()) +
                     " candidates; write NAME=FILE"};
}

void print_summary(const std::string& name, const Tensor& t) {
    double lo = INFINITY, hi = -INFINITY, sum = 0;
    for (int64_t i = 0; i < t.numel(); ++i) {
        const double v = t.dtype() == DType::F32 ? t.f32()[i] : t.i32()[i];
        lo = std::min(lo, v);
        hi = std::max(hi, v);
        sum += v;
    }
    std::printf("%s: %s %s  min %.6g  max %.6g  mean %.6g\n", name.c_str(), dtype_name(t.dtype()),
                shape_to_string(t.shape()).c_str(), lo, hi, t.numel() ? sum / t.numel() : 0.0);
}

}  // namespace

int run_command(const std::vector<std::string>& argv) {
    Args args("run", argv, {"--input", "--output", "--device", "--precision"}, {"--quiet"});
    const std::string precision = precision_option(args);
    const bool quiet = args.flag("--quiet");
    if (args.positional().size() != 1) throw UsageError{"run takes one MODEL.json (see fcnrt run --help)"};
    const Model model = load_model(args.positional()[0]);

    std::vector<std::string> input_names, output_names = model.graph.outputs;
    for (const GraphInput& in : model.graph.inputs) input_names.push_back(in.name);

    std::map<std::string, Tensor> inputs;
    for (const std::string& a : args.values("--input")) {
        auto [name, path] = named_path(a, "--input", input_names);
        if (std::find(input_names.begin(), input_names.end(), name) == input_names.end())
            throw Error(model.path, "", "--input " + a + ": the graph has no input named '" + name + "'");
        std::string note;
        Tensor t = read_npy(path, &note);
        if (!note.empty() && !quiet) std::cerr << "fcnrt: note: " << path << ": " << note << "\n";
        if (t.dtype() != DType::F32)
            throw Error(path, "", "graph inputs are float32; this file holds " +
                                      std::string(dtype_name(t.dtype())));
        inputs[name] = std::move(t);
    }
    std::vector<std::pair<size_t, std::string>> writes;  // (output index, path)
    for (const std::string& a : args.values("--output")) {
        auto [name, path] = named_path(a, "--output", output_names);
        auto it = std::find(output_names.begin(), output_names.end(), name);
        if (it == output_names.end())
            throw Error(model.path, "", "--output " + a + ": the graph has no output named '" + name + "'");
        writes.push_back({size_t(it - output_names.begin()), path});
    }

    std::string chosen;
    auto backend = select_backend(device_option(args), &chosen);
    if (!quiet) std::cerr << "fcnrt: " << chosen << "\n";
    Executor executor(model, backend, resolve_precision(precision, backend->kind()));
    std::vector<Tensor> outputs;
    {
        Progress progress("run", !quiet);
        progress.update("running " + model.path);
        outputs = executor.run(inputs);
    }

    if (writes.empty()) {
        for (size_t i = 0; i < outputs.size(); ++i) print_summary(output_names[i], outputs[i]);
        return 0;
    }
    // All or nothing: every output goes to a temporary file first; only when all
    // are written are they renamed into place.
    std::vector<std::string> temps;
    try {
        for (const auto& [index, path] : writes) {
            temps.push_back(path + ".fcnrt-partial");
            try {
                write_npy(temps.back(), outputs[index]);
            } catch (const Error& e) {
                // The error names the file the user asked for, not our temporary.
                throw Error(path, e.node(), e.reason());
            }
        }
    } catch (...) {
        for (const std::string& t : temps) std::remove(t.c_str());
        throw;
    }
    for (size_t i = 0; i < writes.size(); ++i)
        if (std::rename(temps[i].c_str(), writes[i].second.c_str()) != 0) {
            const std::string why = std::strerror(errno);
            // Nothing, then: take back the outputs already renamed into place too.
            for (size_t j = 0; j < i; ++j) std::remove(writes[j].second.c_str());
            for (size_t j = i; j < temps.size(); ++j) std::remove(temps[j].c_str());
            throw Error(writes[i].second, "", "cannot write the output file: " + why);
        }
    return 0;
}

}  // namespace fcnrt::cli
