// `fcnrt eval`'s whole computation, shared by the CLI, the C++ API and the
// Python module: which label maps are scored (one pair, or two directories
// paired by name), their confusion matrices and scores, and the `--json`
// object every one of them reports.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/eval/confusion.h"
#include "engine/eval/evaluate.h"

namespace fcnrt {

// PRED and GT: two label map files, or two directories (pair_label_maps).
// Throws fcnrt::Error for one file and one directory, or two directories with
// no pair. `unpaired_truths` receives the ground truths without a prediction.
std::vector<LabelMapPair> label_maps_to_score(const std::string& prediction,
                                              const std::string& truth,
                                              std::vector<std::string>* unpaired_truths);

struct EvalImage {
    const LabelMapPair* pair = nullptr;
    uint64_t pixels = 0;
    SegmentationScores scores;
};

struct EvalReport {
    ConfusionMatrix total;
    SegmentationScores scores;  // of `total`
    std::vector<EvalImage> images;
};

// Called before pair i of n is read.
using EvalProgress = std::function<void(size_t i, size_t n, const LabelMapPair& pair)>;

// Scores every pair (accumulate_pair). Throws fcnrt::Error as accumulate_pair
// does, and naming `name_on_empty` when no pixel is left to score.
EvalReport evaluate_pairs(const std::vector<LabelMapPair>& pairs, const EvalOptions& options,
                          const std::string& name_on_empty, const EvalProgress& progress = {});

// `fcnrt eval --json`: classes, iou, dice, precision, recall, mean_iou,
// pixel_accuracy, confusion, pixels, images (null where a score is undefined).
nlohmann::json eval_report_json(const EvalReport& report);

}  // namespace fcnrt
