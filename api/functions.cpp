// The public API's free functions (include/fcnrt/fcnrt.h): the image list,
// densify and eval, through the engine functions the command line uses.
#include "engine/error.h"
#include "engine/eval/eval_report.h"
#include "engine/io/model_writer.h"
#include "engine/model_loader.h"
#include "engine/passes/densify.h"
#include "engine/segment/image_list.h"
#include "fcnrt/fcnrt.h"

#ifndef FCNRT_VERSION_STRING
#error "FCNRT_VERSION_STRING (the CMake project's version) must be defined"
#endif

namespace fcnrt {

const char* version() {
    return FCNRT_VERSION_STRING;
}

std::vector<ImageInput> list_images(const std::vector<std::string>& paths) {
    std::vector<ImageInput> out;
    for (const SegmentInput& in : list_segment_inputs(paths))
        out.push_back({in.path, in.page, in.pages, in.stem});
    return out;
}

void densify_file(const std::string& patch_json, const std::string& dense_json,
                  const DensifySettings& settings) {
    DensifyOptions options;
    options.same_size = settings.same_size;
    options.halo =
        settings.halo == Halo::Zero ? DensifyOptions::Halo::Zero : DensifyOptions::Halo::Reflect;
    // Unoptimised, as `fcnrt densify` loads it: the dense model keeps the patch
    // model's nodes one for one; it is optimised when it is loaded to run.
    LoadOptions load;
    load.optimize = false;
    write_model(densify(load_model(patch_json, load), options), dense_json);
}

std::string evaluate_json(const std::string& prediction, const std::string& truth,
                          const EvalSettings& settings) {
    EvalOptions options;
    options.classes = settings.classes;
    options.ignore = settings.ignore;
    if (settings.region) {
        const auto& r = *settings.region;
        if (r[0] < 0 || r[1] < 0 || r[0] >= r[2] || r[1] >= r[3])
            throw Error("region: X0 < X1 and Y0 < Y1 are needed (columns X0..X1-1, rows Y0..Y1-1)");
        options.region = EvalRegion{r[0], r[1], r[2], r[3]};
    }
    if (settings.classes < 0) throw Error("classes: expected 0 (inferred) or a positive count");
    const std::vector<LabelMapPair> pairs = label_maps_to_score(prediction, truth, nullptr);
    const EvalReport report =
        evaluate_pairs(pairs, options, pairs.size() == 1 ? truth : prediction);
    return eval_report_json(report).dump();
}

}  // namespace fcnrt
