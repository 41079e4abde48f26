#include "engine/eval/eval_report.h"

#include <sys/stat.h>

#include "engine/error.h"

namespace fcnrt {

namespace {

bool is_dir(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

nlohmann::json score_json(const std::optional<double>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

}  // namespace

std::vector<LabelMapPair> label_maps_to_score(const std::string& pred, const std::string& truth,
                                              std::vector<std::string>* unpaired_truths) {
    if (is_dir(pred) != is_dir(truth))
        throw Error("eval takes two label maps or two directories; " +
                    (is_dir(pred) ? pred : truth) + " is a directory and " +
                    (is_dir(pred) ? truth : pred) + " is not");
    if (!is_dir(pred)) return {{"", pred, truth}};
    PairedLabelMaps paired = pair_label_maps(pred, truth);
    if (paired.pairs.empty())
        throw Error(pred, "",
                    "no label map here has a namesake in " + truth +
                        " (files are paired by name, a trailing _labels left out)");
    if (unpaired_truths) *unpaired_truths = paired.unpaired_truths;
    return paired.pairs;
}

EvalReport evaluate_pairs(const std::vector<LabelMapPair>& pairs, const EvalOptions& options,
                          const std::string& name_on_empty, const EvalProgress& progress) {
    EvalReport report{ConfusionMatrix(options.classes), {}, {}};
    for (size_t i = 0; i < pairs.size(); ++i) {
        if (progress) progress(i, pairs.size(), pairs[i]);
        ConfusionMatrix one(options.classes);
        const uint64_t scored = accumulate_pair(pairs[i].prediction, pairs[i].truth, options, one);
        report.total.merge(one);
        report.images.push_back({&pairs[i], scored, score_confusion(one)});
    }
    if (report.total.total() == 0)
        throw Error(name_on_empty, "", "no pixel to score (every one is --ignore'd)");
    report.scores = score_confusion(report.total);
    return report;
}

nlohmann::json eval_report_json(const EvalReport& report) {
    const SegmentationScores& s = report.scores;
    nlohmann::json j;
    j["classes"] = report.total.classes();
    for (const char* key : {"iou", "dice", "precision", "recall"}) j[key] = nlohmann::json::array();
    for (const ClassScores& cs : s.per_class) {
        j["iou"].push_back(score_json(cs.iou));
        j["dice"].push_back(score_json(cs.dice));
        j["precision"].push_back(score_json(cs.precision));
        j["recall"].push_back(score_json(cs.recall));
    }
    j["mean_iou"] = score_json(s.mean_iou);
    j["pixel_accuracy"] = s.pixel_accuracy;
    j["confusion"] = nlohmann::json::array();
    for (int64_t t = 0; t < report.total.classes(); ++t) {
        nlohmann::json row = nlohmann::json::array();
        for (int64_t p = 0; p < report.total.classes(); ++p) row.push_back(report.total.at(t, p));
        j["confusion"].push_back(row);
    }
    j["pixels"] = s.pixels;
    j["images"] = nlohmann::json::array();
    for (const EvalImage& im : report.images)
        j["images"].push_back({{"prediction", im.pair->prediction},
                               {"truth", im.pair->truth},
                               {"pixels", im.pixels},
                               {"pixel_accuracy", im.scores.pixel_accuracy},
                               {"mean_iou", score_json(im.scores.mean_iou)}});
    return j;
}

}  // namespace fcnrt
