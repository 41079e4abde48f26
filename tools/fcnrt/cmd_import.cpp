// `fcnrt import MODEL.onnx -o MODEL.json`
#include <iostream>

#include "engine/error.h"
#include "engine/io/model_writer.h"
#include "engine/onnx/onnx_loader.h"
#include "tools/fcnrt/cli_args.h"
#include "tools/fcnrt/commands.h"
#include "tools/fcnrt/progress.h"

namespace fcnrt::cli {

const char* const kImportHelp =
    "usage: fcnrt import MODEL.onnx -o MODEL.json [--no-optimize] [--quiet]\n"
    "\n"
    "Converts an ONNX model into an fcnrt graph (MODEL.json) and its weights\n"
    "(MODEL.safetensors beside it). Constant subgraphs (shape arithmetic feeding\n"
    "Resize or Reshape) are folded with the graph's static input shapes; every\n"
    "unsupported op type is listed in one error. fcnrt run, info and segment also\n"
    "read MODEL.onnx directly, importing it on each load.\n"
    "\n"
    "  -o, --output MODEL.json   where to write the graph (required)\n"
    "  --no-optimize             keep the nodes one for one (no batch_norm folding or\n"
    "                            activation fusion)\n"
    "  --quiet                   nothing on stderr but errors\n";

int import_command(const std::vector<std::string>& argv) {
    Args args("import", argv, {"-o", "--output"}, {"--no-optimize", "--quiet"});
    const bool quiet = args.flag("--quiet");
    if (args.positional().size() != 1)
        throw UsageError{"import takes one MODEL.onnx (see fcnrt import --help)"};
    if (!args.values("-o").empty() && !args.values("--output").empty())
        throw UsageError{"give the output once, with -o or --output"};
    const std::string output = args.value("-o", args.value("--output"));
    if (output.empty()) throw UsageError{"import needs -o MODEL.json"};

    LoadOptions load;
    load.optimize = !args.flag("--no-optimize");
    Progress progress("import", !quiet);
    progress.update("reading and converting " + args.positional()[0]);
    const Model model = load_onnx_model(args.positional()[0], load);
    progress.update("writing " + output);
    write_model(model, output);
    progress.stop();
    if (!quiet) std::cerr << "fcnrt: wrote " << output << " and " << weights_path_for(output) << " ("
              << model.graph.nodes.size() << " nodes, " << model.weights.size() << " weights)\n";
    return 0;
}

}  // namespace fcnrt::cli
