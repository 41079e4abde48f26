// One image file (or TIFF page) segmented with a dense model into its output
// files, as `fcnrt segment` does for each image: the image's own buffers are
// counted against the budget from its header, the halo and tiles planned in
// what is left, the tiles run, and BASE_mask.png, BASE_labels.png (unless
// off), BASE_overlay.png and BASE_probs.npy written all or none
// (engine/segment/outputs.h). Shared by the CLI, the C++ API and the Python
// module (and so fcnrt.ray), so that all of them write the same files.
#pragma once

#include <functional>
#include <memory>
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
    // Several GPUs (fcnrt segment --device cuda:0,cuda:1): one executor per
    // device, `executor` among them, sharing out each image's tiles. Empty: `executor` alone.
    std::vector<Executor*> devices = {};

    std::vector<Executor*> executors() const {
        return devices.empty() ? std::vector<Executor*>{&executor} : devices;
    }
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

// segment_file in three steps, so that a caller may overlap them across
// images (the CLI on a GPU decodes the next image and writes the last one's
// files on host threads while an image segments).
struct DecodedInput {
    size_t run_budget = 0;  // what the image's own buffers leave of the budget
    Image image;
};
// The header checked against the budget, then the samples decoded.
DecodedInput decode_segment_input(const SegmentInput& input, size_t budget);

// An image segmented, its files not yet written; owns what writing needs.
struct SegmentedImage {
    Image image;
    SegmentResult result;
    std::unique_ptr<NpyPlanesFile> probs;  // filled tile by tile, with settings.probs
};
SegmentedImage segment_decoded(const DenseSegmenter& seg, const SegmentInput& input,
                               DecodedInput decoded, const std::string& base,
                               const SegmentFileSettings& settings, const TilePlanNote& on_plan = {},
                               const TileProgress& progress = {});
// BASE_* all or none (engine/segment/outputs.h).
void write_segmented(const DenseSegmenter& seg, const std::string& base, SegmentedImage& done,
                     const SegmentFileSettings& settings);

// Throws fcnrt::Error (not always naming the file: callers attribute such
// errors to input.path) and std::bad_alloc; nothing is left under BASE_*
// then. Returns the labels (the scores went to the .npy).
SegmentResult segment_file(const DenseSegmenter& seg, const SegmentInput& input,
                           const std::string& base, const SegmentFileSettings& settings,
                           const TilePlanNote& on_plan = {}, const TileProgress& progress = {});

}  // namespace fcnrt
