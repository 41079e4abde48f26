// One image file (or TIFF page) segmented with a dense model into its output
// files, as `fcnrt segment` does for each image: the image's own buffers are
// counted against the budget from its header, the halo and tiles planned in
// what is left, the tiles run, and BASE_mask.png, BASE_labels.png (unless
// off), BASE_overlay.png and BASE_probs.npy written all or none
// (engine/segment/outputs.h). Shared by the CLI, the C++ API and the Python
// module (and so fcnrt.ray), so that all of them write the same files.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "engine/executor.h"
#include "engine/graph.h"
#include "engine/segment/image_list.h"
#include "engine/segment/outputs.h"
#include "engine/segment/palette.h"
#include "engine/segment/preprocess.h"
#include "engine/segment/tiling.h"

namespace fcnrt {

// What every image segmented with one model shares; all must outlive it.
struct DenseSegmenter {
    const Model& model;
    Executor& executor;
    const SegmentModel& sm;
    const Preprocess& pre;
    const std::vector<Rgb>& palette;
};

struct SegmentFileSettings {
    size_t budget = 0;  // for the image's buffers and its runs (SegmentBudget::images)
    HaloMode halo = HaloMode::Reflect;
    bool probs = false;  // BASE_probs.npy, streamed tile by tile
    OutputOptions outputs;
};

// Called once the image's tiles are planned, with the budget its own buffers
// left for them (for notes).
using TilePlanNote = std::function<void(const TilePlan& plan, size_t run_budget)>;

// Throws fcnrt::Error (not always naming the file: callers attribute such
// errors to input.path) and std::bad_alloc; nothing is left under BASE_*
// then. Returns the labels (the scores went to the .npy).
SegmentResult segment_file(const DenseSegmenter& seg, const SegmentInput& input,
                           const std::string& base, const SegmentFileSettings& settings,
                           const TilePlanNote& on_plan = {}, const TileProgress& progress = {});

}  // namespace fcnrt
