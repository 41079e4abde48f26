// `fcnrt info MODEL.json [--size HxW] [--batch N]`: inputs, outputs, a layer
// table, totals, receptive field, and the memory plan.
#include <cstdio>
#include <iostream>

#include "engine/error.h"
#include "engine/memory_plan.h"
#include "engine/model_loader.h"
#include "engine/receptive_field.h"
#include "tools/fcnrt/cli_args.h"
#include "tools/fcnrt/commands.h"
#include "tools/fcnrt/size_warning.h"

namespace fcnrt::cli {

const char* const kInfoHelp =
    "usage: fcnrt info MODEL.json [--size HxW] [--batch N] [--quiet]\n"
    "\n"
    "Prints the model's inputs and outputs, a layer table (op, output shape, parameters,\n"
    "FLOPs; a multiply-add counts 2) at the given input size, totals, the receptive field\n"
    "and output stride relative to the input, and the planned peak activation memory\n"
    "beside the sum of all activations. Load-time rewrites (batch_norm folding,\n"
    "activation fusion) are listed; the table shows the graph as it runs.\n"
    "\n"
    "  --size HxW   spatial size for open (null) input dims (default: the patch size for\n"
    "               patch models, else 512x512)\n"
    "  --batch N    batch size for an open batch dim (default 1)\n"
    "  --quiet      no warning on stderr (e.g. that the size leaves a pooling's last\n"
    "               rows or columns unused), only errors\n";

namespace {

std::string dims(const Shape& s) {
    std::string out = "[";
    for (size_t i = 0; i < s.size(); ++i)
        out += (i ? ", " : "") + (s[i] == kUnknownDim ? std::string("?") : std::to_string(s[i]));
    return out + "]";
}

std::string human_bytes(double b) {
    char buf[64];
    if (b >= 1 << 30) std::snprintf(buf, sizeof buf, "%.2f GiB", b / (1 << 30));
    else if (b >= 1 << 20) std::snprintf(buf, sizeof buf, "%.2f MiB", b / (1 << 20));
    else std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024);
    return buf;
}

std::string human_count(double v) {
    char buf[64];
    if (v >= 1e9) std::snprintf(buf, sizeof buf, "%.3f G", v / 1e9);
    else if (v >= 1e6) std::snprintf(buf, sizeof buf, "%.3f M", v / 1e6);
    else if (v >= 1e3) std::snprintf(buf, sizeof buf, "%.3f k", v / 1e3);
    else std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
}

}  // namespace

int info_command(const std::vector<std::string>& argv) {
    Args args("info", argv, {"--size", "--batch"}, {"--quiet"});
    if (args.positional().size() != 1) throw UsageError{"info takes one MODEL.json (see fcnrt info --help)"};
    const Model model = load_model(args.positional()[0]);
    const Graph& g = model.graph;

    std::pair<int64_t, int64_t> size = {512, 512};
    if (g.metadata.contains("patch")) size = {g.metadata["patch"][0], g.metadata["patch"][1]};
    if (!args.value("--size").empty()) size = parse_size(args.value("--size"), "--size");
    const int64_t batch = args.value("--batch").empty() ? 1 : parse_positive(args.value("--batch"), "--batch");

    std::printf("model: %s (%s)\n", g.name.empty() ? "(unnamed)" : g.name.c_str(), model.path.c_str());
    std::map<std::string, Shape> shapes;
    for (const GraphInput& in : g.inputs) {
        Shape s = in.shape;
        if (s[0] == kUnknownDim) s[0] = batch;
        if (s.size() == 4) {
            if (s[2] == kUnknownDim) s[2] = size.first;
            if (s[3] == kUnknownDim) s[3] = size.second;
        }
        for (int64_t d : s)
            if (d == kUnknownDim)
                throw Error(model.path, "", "input '" + in.name + "' has an open dim that --size and --batch do not fill");
        shapes[in.name] = s;
        // The shape used here, and the declared one when it has open dims.
        if (s == in.shape)
            std::printf("input:  %s %s float32\n", in.name.c_str(), dims(s).c_str());
        else
            std::printf("input:  %s %s float32 (declared %s)\n", in.name.c_str(), dims(s).c_str(),
                        dims(in.shape).c_str());
    }
    const MemoryPlan plan = plan_memory(model, shapes);
    std::fflush(stdout);
    if (!args.flag("--quiet")) warn_unfitting_size(model, shapes, std::cerr);
    for (const std::string& o : g.outputs)
        std::printf("output: %s %s %s\n", o.c_str(), shape_to_string(plan.tensors.at(o).shape).c_str(),
                    dtype_name(plan.tensors.at(o).dtype));
    for (const std::string& note : model.notes) std::printf("load:   %s\n", note.c_str());

    std::printf("\nat input");
    for (const auto& [name, s] : shapes) std::printf(" %s %s", name.c_str(), shape_to_string(s).c_str());
    std::printf(":\n%-4s %-28s %-15s %-22s %12s %14s\n", "#", "node", "op", "output", "params", "FLOPs");
    double total_params = 0, total_flops = 0;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
        const Node& n = g.nodes[i];
        std::vector<TensorInfo> ins, outs;
        for (const std::string& t : n.inputs) ins.push_back(plan.tensors.at(t));
        for (const std::string& t : n.outputs) outs.push_back(plan.tensors.at(t));
        const auto weights = node_weights(model, n);
        double params = 0;
        for (const Tensor* w : weights) params += w ? double(w->numel()) : 0.0;
        const double flops = n.op->flops ? n.op->flops(InferContext{*n.params, ins, weights}, outs) : 0.0;
        total_params += params;
        total_flops += flops;
        std::printf("%-4zu %-28s %-15s %-22s %12.0f %14s\n", i, n.name.c_str(), n.op->name.c_str(),
                    shape_to_string(outs[0].shape).c_str(), params, human_count(flops).c_str());
    }
    double weight_bytes = 0;
    for (const auto& [name, t] : model.weights) weight_bytes += double(t.bytes());
    std::printf("\ntotal: %zu nodes, %.0f parameters (%s of weights), %sFLOPs\n", g.nodes.size(),
                total_params, human_bytes(weight_bytes).c_str(), human_count(total_flops).c_str());

    const auto rf = receptive_fields(model, plan.tensors);
    for (const std::string& o : g.outputs) {
        const ReceptiveField& r = rf.at(o);
        if (r.global)
            std::printf("receptive field of %s: the whole input\n", o.c_str());
        else
            std::printf("receptive field of %s: %g x %g px, output stride %g x %g\n", o.c_str(),
                        r.size[0], r.size[1], r.stride[0], r.stride[1]);
    }
    std::printf("activation memory: planned peak %s, unplanned sum %s (%.1f%%); %zu concat inputs "
                "in place, %zu aliases\n",
                human_bytes(double(plan.arena_bytes)).c_str(),
                human_bytes(double(plan.unplanned_bytes)).c_str(),
                plan.unplanned_bytes ? 100.0 * double(plan.arena_bytes) / double(plan.unplanned_bytes) : 0.0,
                plan.in_place_concat_inputs.size(), plan.aliased.size());
    if (plan.host_scratch_bytes > 0)
        std::printf("kernel scratch beyond the arena (fast CPU kernels, the largest node's): %s\n",
                    human_bytes(double(plan.host_scratch_bytes)).c_str());
    return 0;
}

}  // namespace fcnrt::cli
