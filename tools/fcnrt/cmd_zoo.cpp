// `fcnrt zoo ARCH.arch.json... -o OUTDIR [--seed S] [--quiet]`
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "engine/error.h"
#include "engine/io/model_writer.h"
#include "engine/zoo/random_model.h"
#include "tools/fcnrt/cli_args.h"
#include "tools/fcnrt/commands.h"
#include "tools/fcnrt/progress.h"

namespace fcnrt::cli {

const char* const kZooHelp =
    "usage: fcnrt zoo ARCH.arch.json... -o OUTDIR [--seed S] [--quiet]\n"
    "\n"
    "Writes full-size models of the zoo (models/zoo/: unet, fcn8s, tiramisu, dilation,\n"
    "segnet, cellpatch) with seeded RANDOM weights: an architecture file holds the graph\n"
    "and every weight's shape, and fcnrt draws the weights (convolution and dense weights\n"
    "He-normal, biases N(0, 0.1), batch-norm scales and variances U(0.5, 1.5)). Not\n"
    "trained: for info, bench and segment timings and parameter counts, no PyTorch\n"
    "needed. Each ARCH/NAME.arch.json becomes OUTDIR/NAME.json and NAME.safetensors\n"
    "(U-Net 124 MB, FCN-8s and dilation 538 MB each, all six 1.4 GB).\n"
    "\n"
    "  -o, --output OUTDIR   where to write the models (made if missing; required)\n"
    "  --seed S              the random seed (default 0)\n"
    "  --quiet               nothing on stderr but errors\n";

namespace {

std::string model_name(const std::string& path) {
    const size_t slash = path.rfind('/');
    std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
    for (const char* suffix : {".arch.json", ".json"}) {
        const size_t n = std::strlen(suffix);
        if (name.size() > n && name.compare(name.size() - n, n, suffix) == 0)
            return name.substr(0, name.size() - n);
    }
    return name;
}

}  // namespace

int zoo_command(const std::vector<std::string>& argv) {
    Args args("zoo", argv, {"-o", "--output", "--seed"}, {"--quiet"});
    if (args.positional().empty())
        throw UsageError{"zoo takes one or more ARCH.arch.json (see fcnrt zoo --help)"};
    if (!args.values("-o").empty() && !args.values("--output").empty())
        throw UsageError{"give the output once, with -o or --output"};
    const std::string outdir = args.value("-o", args.value("--output"));
    if (outdir.empty()) throw UsageError{"zoo needs -o OUTDIR"};
    uint64_t seed = 0;
    if (!args.values("--seed").empty()) {
        const std::string text = args.value("--seed");
        char* end = nullptr;
        errno = 0;
        seed = std::strtoull(text.c_str(), &end, 10);
        if (text.empty() || *end != '\0' || errno != 0 || text[0] == '-')
            throw UsageError{"--seed: expected a non-negative integer, got '" + text + "'"};
    }
    const bool quiet = args.flag("--quiet");

    struct stat st;
    if (::stat(outdir.c_str(), &st) != 0 && ::mkdir(outdir.c_str(), 0777) != 0)
        throw Error(outdir, "",
                    std::string("cannot create the output directory: ") + std::strerror(errno));

    Progress progress("zoo", !quiet);
    const auto& archs = args.positional();
    for (size_t i = 0; i < archs.size(); ++i) {
        const std::string out = outdir + "/" + model_name(archs[i]) + ".json";
        progress.update(
            "model " + std::to_string(i + 1) + "/" + std::to_string(archs.size()) + ": " + out,
            double(i) / double(archs.size()));
        const Model model = random_model_from_architecture(archs[i], seed);
        write_model(model, out);
        int64_t stored = 0;
        for (const auto& [name, t] : model.weights) stored += t.numel();
        progress.clear();
        if (!quiet)
            std::cerr << "fcnrt: wrote " << out << " and " << weights_path_for(out) << " ("
                      << model.graph.nodes.size() << " nodes, " << stored
                      << " stored weights, random, seed " << seed << ")\n";
    }
    return 0;
}

}  // namespace fcnrt::cli
