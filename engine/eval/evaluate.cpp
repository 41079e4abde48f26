#include "engine/eval/evaluate.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <system_error>

#include "engine/error.h"
#include "engine/eval/label_map.h"

namespace fcnrt {

namespace {

std::string size_text(const LabelMapReader& r) {
    return std::to_string(r.width()) + "x" + std::to_string(r.height());
}

std::string at_text(int64_t x, int64_t y) {
    return " at column " + std::to_string(x) + ", row " + std::to_string(y);
}

}  // namespace

uint64_t accumulate_pair(const std::string& prediction, const std::string& truth,
                         const EvalOptions& options, ConfusionMatrix& confusion) {
    LabelMapReader pred(prediction), gt(truth);
    if (pred.width() != gt.width() || pred.height() != gt.height())
        throw Error(prediction, "",
                    "the prediction is " + size_text(pred) + " but the ground truth " + truth +
                        " is " + size_text(gt));
    EvalRegion r{0, 0, gt.width(), gt.height()};
    if (options.region) {
        r = *options.region;
        if (r.x0 < 0 || r.y0 < 0 || r.x0 >= r.x1 || r.y0 >= r.y1 || r.x1 > gt.width() ||
            r.y1 > gt.height())
            throw Error(truth, "",
                        "--region " + std::to_string(r.x0) + "," + std::to_string(r.y0) + "," +
                            std::to_string(r.x1) + "," + std::to_string(r.y1) +
                            " is not inside the " + size_text(gt) + " image");
    }
    const bool fixed = options.classes > 0;
    const uint32_t limit = uint32_t(fixed ? options.classes : kMaxInferredClasses);
    const bool ignoring = options.ignore.has_value();
    const uint32_t ignore = options.ignore.value_or(0);
    auto out_of_range = [&](const std::string& file, uint32_t v, int64_t x, int64_t y) {
        if (fixed)
            return Error(file, "",
                         "label " + std::to_string(v) + at_text(x, y) + " is not below --classes " +
                             std::to_string(limit));
        return Error(file, "",
                     "label " + std::to_string(v) + at_text(x, y) + " would make more than " +
                         std::to_string(limit) +
                         " classes (a colour mask rather than class indices?); "
                         "give --classes N, or --ignore for a void value");
    };

    uint64_t scored = 0;
    for (int64_t y = 0; y < r.y1; ++y) {
        const uint32_t* p = pred.next_row();
        const uint32_t* t = gt.next_row();
        if (y < r.y0) continue;
        for (int64_t x = r.x0; x < r.x1; ++x) {
            const uint32_t tv = t[x], pv = p[x];
            if (ignoring && tv == ignore) continue;
            if (tv >= limit) throw out_of_range(truth, tv, x, y);
            if (pv >= limit) throw out_of_range(prediction, pv, x, y);
            if (ignoring && !fixed && pv == ignore)
                throw Error(prediction, "",
                            "the --ignore value " + std::to_string(ignore) + at_text(x, y) +
                                " where the ground truth is labelled " + std::to_string(tv) +
                                " (give --classes N to count it as a class)");
            confusion.add(tv, pv);
            ++scored;
        }
    }
    if (r.y1 == gt.height()) {
        pred.finish();
        gt.finish();
    }
    return scored;
}

namespace {

bool is_label_extension(std::string ext) {
    for (char& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
    return ext == ".png" || ext == ".pgm" || ext == ".pnm" || ext == ".bmp" || ext == ".tga";
}

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// key -> path of the label map in `dir`.
std::map<std::string, std::string> label_maps_in(const std::string& dir) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    if (ec) throw Error(dir, "", "cannot read the directory: " + ec.message());
    std::map<std::string, std::string> chosen;
    std::map<std::string, bool> chosen_is_labels;
    for (; it != fs::directory_iterator(); it.increment(ec)) {
        if (ec) throw Error(dir, "", "cannot read the directory: " + ec.message());
        const fs::path& path = it->path();
        const std::string name = path.filename().string();
        if (name.empty() || name[0] == '.' || !is_label_extension(path.extension().string()))
            continue;
        if (fs::is_directory(path, ec)) continue;
        std::string key = path.stem().string();
        const bool labels = ends_with(key, "_labels");
        if (labels) key.resize(key.size() - 7);
        auto found = chosen.find(key);
        if (found == chosen.end() || (labels && !chosen_is_labels[key])) {
            chosen[key] = path.string();
            chosen_is_labels[key] = labels;
        } else if (labels == chosen_is_labels[key]) {
            const std::string a = fs::path(found->second).filename().string();
            const std::string both = a < name ? a + " and " + name : name + " and " + a;
            throw Error(dir, "",
                        both + " are both label maps of '" + key + "'; keep one per image");
        }
    }
    return chosen;
}

}  // namespace

PairedLabelMaps pair_label_maps(const std::string& prediction_dir, const std::string& truth_dir) {
    const auto preds = label_maps_in(prediction_dir);
    const auto truths = label_maps_in(truth_dir);
    PairedLabelMaps out;
    for (const auto& [key, path] : preds) {
        auto t = truths.find(key);
        if (t == truths.end())
            out.unpaired_predictions.push_back(path);
        else
            out.pairs.push_back({key, path, t->second});
    }
    for (const auto& [key, path] : truths)
        if (!preds.count(key)) out.unpaired_truths.push_back(path);
    return out;
}

}  // namespace fcnrt
