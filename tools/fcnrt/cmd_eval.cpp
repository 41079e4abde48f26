// `fcnrt eval PRED GT [--classes N] [--ignore V] [--region X0,Y0,X1,Y1] [--json]`
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/error.h"
#include "engine/eval/eval_report.h"
#include "engine/eval/evaluate.h"
#include "tools/fcnrt/cli_args.h"
#include "tools/fcnrt/commands.h"
#include "tools/fcnrt/progress.h"

namespace fcnrt::cli {

const char* const kEvalHelp =
    "usage: fcnrt eval PRED GT [--classes N] [--ignore V] [--region X0,Y0,X1,Y1] [--json] "
    "[--quiet]\n"
    "\n"
    "Scores a predicted label map against its ground truth: per class IoU, Dice,\n"
    "precision and recall, then mean IoU, pixel accuracy and the confusion matrix\n"
    "(rows: ground truth, columns: prediction). PRED and GT are label maps (one class\n"
    "index per pixel: 1- to 16-bit gray or palette PNG, e.g. segment's STEM_labels.png;\n"
    "also PGM, 8-bit BMP/TGA), or two directories whose files are paired by name, a\n"
    "trailing \"_labels\" left out (segment's STEM_labels.png meets STEM.png; where a\n"
    "directory holds STEM.png and STEM_labels.png, the _labels file is the label map).\n"
    "Over directories the counts of all pairs are added up; each pair gets a line too.\n"
    "Images are read row by row, so any size is fine.\n"
    "\n"
    "A class absent from both maps has no IoU or Dice (\"-\", JSON null), a class never\n"
    "predicted no precision, a class absent from the ground truth no recall; mean IoU\n"
    "averages the classes that have an IoU.\n"
    "\n"
    "  --classes N               the labels are 0..N-1; any other (not --ignore'd) is an\n"
    "                            error. Default: the largest label seen + 1 (at most 1024)\n"
    "  --ignore V                ground-truth pixels of value V are not scored (e.g. 255)\n"
    "  --region X0,Y0,X1,Y1      score only columns X0..X1-1 and rows Y0..Y1-1\n"
    "  --json                    print one JSON object: classes, iou, dice, precision,\n"
    "                            recall (lists by class, null where undefined), mean_iou,\n"
    "                            pixel_accuracy, confusion, pixels and images\n"
    "  --quiet                   nothing on stderr but errors\n";

namespace {

bool is_dir(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

int64_t parse_count(const std::string& text, const std::string& option, int64_t max) {
    char* end = nullptr;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || v < 0 || v > max)
        throw UsageError{option + ": expected an integer from 0 to " + std::to_string(max) +
                         ", got '" + text + "'"};
    return v;
}

EvalRegion parse_region(const std::string& text) {
    int64_t v[4];
    size_t start = 0;
    for (int i = 0; i < 4; ++i) {
        const size_t comma = text.find(',', start);
        if ((i < 3) == (comma == std::string::npos))
            throw UsageError{"--region: expected X0,Y0,X1,Y1, got '" + text + "'"};
        v[i] = parse_count(text.substr(start, comma - start), "--region", int64_t(1) << 30);
        start = comma + 1;
    }
    if (v[0] >= v[2] || v[1] >= v[3])
        throw UsageError{
            "--region: X0 < X1 and Y0 < Y1 are needed (columns X0..X1-1, rows "
            "Y0..Y1-1), got '" +
            text + "'"};
    return {v[0], v[1], v[2], v[3]};
}

std::string fixed4(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4f", v);
    return buf;
}

std::string score_text(const std::optional<double>& v) {
    return v ? fixed4(*v) : "-";
}

std::string padded(const std::string& s, size_t width) {
    return s.size() >= width ? s : std::string(width - s.size(), ' ') + s;
}

// Classes absent from both maps are shown with "-", unless there are more than
// kMaxAbsentShown of them (a 0/255 mask has 254): then they are left out of the
// table and the confusion matrix, and named in one line.
constexpr size_t kMaxAbsentShown = 8;

std::string ranges_text(const std::vector<int64_t>& v) {
    std::string out;
    for (size_t i = 0; i < v.size();) {
        size_t j = i;
        while (j + 1 < v.size() && v[j + 1] == v[j] + 1) ++j;
        out += (out.empty() ? "" : ", ") + std::to_string(v[i]) +
               (j > i ? "-" + std::to_string(v[j]) : "");
        i = j + 1;
    }
    return out;
}

void print_table(const ConfusionMatrix& m, const SegmentationScores& s, std::ostream& out) {
    std::vector<int64_t> shown, absent;
    for (size_t c = 0; c < s.per_class.size(); ++c)
        (s.per_class[c].iou ? shown : absent).push_back(int64_t(c));
    if (absent.size() <= kMaxAbsentShown) {
        shown.clear();
        for (size_t c = 0; c < s.per_class.size(); ++c) shown.push_back(int64_t(c));
    }
    out << "class  truth px  predicted px     IoU    Dice  precision  recall\n";
    for (int64_t c : shown) {
        const ClassScores& cs = s.per_class[size_t(c)];
        out << padded(std::to_string(c), 5) << padded(std::to_string(cs.truth_pixels), 10)
            << padded(std::to_string(cs.predicted_pixels), 14) << padded(score_text(cs.iou), 8)
            << padded(score_text(cs.dice), 8) << padded(score_text(cs.precision), 11)
            << padded(score_text(cs.recall), 8) << "\n";
    }
    if (absent.size() > kMaxAbsentShown)
        out << "absent from both maps, left out here: classes " << ranges_text(absent) << "\n";
    out << "mean IoU        " << score_text(s.mean_iou) << "\n";
    out << "pixel accuracy  " << fixed4(s.pixel_accuracy) << "\n";
    out << "\nconfusion (rows: ground truth, columns: prediction)\n";
    size_t width = 6;
    for (int64_t t : shown)
        for (int64_t p : shown) width = std::max(width, std::to_string(m.at(t, p)).size() + 2);
    out << "truth\\pred";
    for (int64_t p : shown) out << padded(std::to_string(p), width);
    out << "\n";
    for (int64_t t : shown) {
        out << padded(std::to_string(t), 10);
        for (int64_t p : shown) out << padded(std::to_string(m.at(t, p)), width);
        out << "\n";
    }
}

}  // namespace

int eval_command(const std::vector<std::string>& argv) {
    Args args("eval", argv, {"--classes", "--ignore", "--region"}, {"--json", "--quiet"});
    const bool quiet = args.flag("--quiet");
    if (args.positional().size() != 2)
        throw UsageError{"eval takes PRED and GT (see fcnrt eval --help)"};
    const std::string& pred = args.positional()[0];
    const std::string& truth = args.positional()[1];
    EvalOptions options;
    if (!args.values("--classes").empty())
        options.classes = parse_count(args.value("--classes"), "--classes", 65536);
    if (!args.values("--classes").empty() && options.classes == 0)
        throw UsageError{"--classes: expected a positive integer, got '0'"};
    if (!args.values("--ignore").empty())
        options.ignore = uint32_t(parse_count(args.value("--ignore"), "--ignore", 65535));
    if (!args.values("--region").empty()) options.region = parse_region(args.value("--region"));
    const bool json = args.flag("--json");

    if (is_dir(pred) != is_dir(truth))
        throw UsageError{"eval takes two label maps or two directories; " +
                         (is_dir(pred) ? pred : truth) + " is a directory and " +
                         (is_dir(pred) ? truth : pred) + " is not"};
    std::vector<std::string> unpaired_truths;
    const std::vector<LabelMapPair> pairs = label_maps_to_score(pred, truth, &unpaired_truths);
    if (!unpaired_truths.empty() && !quiet)
        std::cerr << "fcnrt: note: " << unpaired_truths.size() << " file(s) in " << truth
                  << " have no prediction and are not scored (first: "
                  << unpaired_truths.front() << ")\n";

    Progress progress("eval", !quiet);
    const EvalReport report = evaluate_pairs(
        pairs, options, pairs.size() == 1 ? truth : pred,
        [&](size_t i, size_t n, const LabelMapPair& p) {
            progress.update("image " + std::to_string(i + 1) + "/" + std::to_string(n) + " " +
                                p.prediction,
                            double(i) / double(n));
        });
    progress.stop();
    const ConfusionMatrix& total = report.total;
    const SegmentationScores& s = report.scores;

    if (json) {
        std::cout << eval_report_json(report).dump() << "\n";
        return 0;
    }
    std::ostringstream per_image;
    if (pairs.size() > 1)
        for (const EvalImage& im : report.images)
            per_image << im.pair->key << ": " << im.pixels << " pixels, pixel accuracy "
                      << fixed4(im.scores.pixel_accuracy) << ", mean IoU "
                      << score_text(im.scores.mean_iou) << "\n";
    std::cout << per_image.str();
    std::cout << s.pixels << " pixels scored in " << pairs.size()
              << (pairs.size() == 1 ? " image" : " images");
    if (options.region) {
        const EvalRegion& r = *options.region;
        std::cout << " (columns " << r.x0 << ".." << r.x1 - 1 << ", rows " << r.y0 << ".."
                  << r.y1 - 1 << ")";
    }
    std::cout << ", " << total.classes() << " classes\n";
    print_table(total, s, std::cout);
    return 0;
}

}  // namespace fcnrt::cli
