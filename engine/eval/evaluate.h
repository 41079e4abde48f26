// Scoring label maps against ground truth (`fcnrt eval`): one pair of files, or
// two directories whose label maps are paired by name. Rows are streamed
// (engine/eval/label_map.h), so an image of any size costs two rows.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/eval/confusion.h"

namespace fcnrt {

// Columns x0 .. x1-1 and rows y0 .. y1-1 (half-open, as Python slices).
struct EvalRegion {
    int64_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;
};

struct EvalOptions {
    int64_t classes = 0;               // 0: as many as the largest label seen + 1
    std::optional<uint32_t> ignore;    // ground-truth pixels with this value are not scored
    std::optional<EvalRegion> region;  // only these pixels of every image are scored
};

// Without --classes, a label beyond this is taken for a mistake (e.g. a colour
// mask's gray values) rather than grown into a huge matrix.
constexpr int64_t kMaxInferredClasses = 1024;

// Adds the scored pixels of one pair to `confusion` (made with
// ConfusionMatrix(options.classes)); returns how many it added. Throws
// fcnrt::Error naming the file at fault: unreadable, not a label map, a size
// unlike the other's, a region beyond it, a label out of range (with its
// column and row).
uint64_t accumulate_pair(const std::string& prediction, const std::string& truth,
                         const EvalOptions& options, ConfusionMatrix& confusion);

struct LabelMapPair {
    std::string key;  // the shared name
    std::string prediction, truth;
};

struct PairedLabelMaps {
    std::vector<LabelMapPair> pairs;  // sorted by key
    std::vector<std::string> unpaired_predictions, unpaired_truths;
};

// Pairs the image files (.png .pgm .pnm .bmp .tga) of two directories by
// their stem, a trailing "_labels" left out, so that `fcnrt segment`'s
// STEM_labels.png meets a ground truth STEM.png or STEM_labels.png; where a
// directory holds both STEM.png and STEM_labels.png (an image beside its
// labels), the _labels file is the label map. Throws fcnrt::Error(dir) for an
// unreadable directory or two files of one stem (a.png and a.pgm).
PairedLabelMaps pair_label_maps(const std::string& prediction_dir, const std::string& truth_dir);

}  // namespace fcnrt
