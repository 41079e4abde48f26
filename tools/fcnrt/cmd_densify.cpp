// `fcnrt densify PATCH.json -o DENSE.json [--same-size] [--halo reflect|zero]`
#include <iostream>

#include "engine/error.h"
#include "engine/io/model_writer.h"
#include "engine/model_loader.h"
#include "engine/passes/densify.h"
#include "tools/fcnrt/cli_args.h"
#include "tools/fcnrt/commands.h"
#include "tools/fcnrt/progress.h"

namespace fcnrt::cli {

const char* const kDensifyHelp =
    "usage: fcnrt densify PATCH.json -o DENSE.json [--same-size] [--halo reflect|zero] [--quiet]\n"
    "\n"
    "Converts a patchwise classifier (metadata \"patch\": [ph, pw]; input [N, C, ph, pw],\n"
    "output [N, classes] or [N, classes, 1, 1]) into an exactly equivalent dense network\n"
    "(Li et al. 2014): strides are removed and every later kernel is dilated by the\n"
    "product of the strides before it; dense layers become convolutions. The dense model\n"
    "takes [1, C, H, W] for any H >= ph, W >= pw and returns [1, classes, H-ph+1, W-pw+1],\n"
    "where output (y, x) equals the patch model on image[:, :, y:y+ph, x:x+pw] up to\n"
    "float32 rounding. It is written as DENSE.json and DENSE.safetensors; its metadata\n"
    "says \"dense_from_patch\": [ph, pw] instead of \"patch\".\n"
    "\n"
    "Refused, naming the node and why: padded conv or pool, ceil_mode, resize, crop, pad,\n"
    "conv_transpose, max_unpool, global pooling, softmax/argmax/concat over any axis but\n"
    "the channels, and features mixed across positions before a dense layer (batch_norm,\n"
    "softmax or concat of flattened maps): a dense layer must read one whole feature map.\n"
    "\n"
    "  -o, --output DENSE.json   where to write the dense model (required)\n"
    "  --same-size               output the image's own size, H x W: the image is first\n"
    "                            padded by ph//2 rows on top, ph-1-ph//2 below, pw//2\n"
    "                            columns left and pw-1-pw//2 right, so output (y, x) is\n"
    "                            the patch centred on pixel (y, x) (the patch model's\n"
    "                            centre convention: row ph//2, column pw//2)\n"
    "  --halo reflect|zero       how --same-size fills the padding: mirror the image\n"
    "                            without repeating the edge (reflect, default; needs\n"
    "                            H > ph//2 and W > pw//2), or zeros\n"
    "  --quiet                   nothing on stderr but errors\n";

int densify_command(const std::vector<std::string>& argv) {
    Args args("densify", argv, {"-o", "--output", "--halo"}, {"--same-size", "--quiet"});
    const bool quiet = args.flag("--quiet");
    if (args.positional().size() != 1)
        throw UsageError{"densify takes one PATCH.json (see fcnrt densify --help)"};
    std::string output = args.value("-o", args.value("--output"));
    if (!args.values("-o").empty() && !args.values("--output").empty())
        throw UsageError{"give the output once, with -o or --output"};
    if (output.empty()) throw UsageError{"densify needs -o DENSE.json"};

    DensifyOptions options;
    options.same_size = args.flag("--same-size");
    const std::string halo = args.value("--halo", "reflect");
    if (halo == "zero") {
        options.halo = DensifyOptions::Halo::Zero;
    } else if (halo != "reflect") {
        throw UsageError{"--halo: expected reflect or zero, got '" + halo + "'"};
    }
    if (!args.values("--halo").empty() && !options.same_size)
        throw UsageError{"--halo applies only with --same-size"};

    const std::string& input = args.positional()[0];
    // Unoptimised: the dense model keeps the patch model's nodes one for one;
    // it is optimised when it is loaded to run.
    LoadOptions load;
    load.optimize = false;
    Progress progress("densify", !quiet);
    progress.update("loading " + input);
    const Model patch = load_model(input, load);
    progress.update("converting " + std::to_string(patch.graph.nodes.size()) + " nodes");
    const Model dense = densify(patch, options);
    progress.update("writing " + output);
    write_model(dense, output);
    progress.stop();
    if (!quiet) std::cerr << "fcnrt: wrote " << output << " and " << weights_path_for(output)
              << " (dense from patch " << dense.graph.metadata["dense_from_patch"].dump() << ")\n";
    return 0;
}

}  // namespace fcnrt::cli
