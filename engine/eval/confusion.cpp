#include "engine/eval/confusion.h"

#include <algorithm>

namespace fcnrt {

ConfusionMatrix::ConfusionMatrix(int64_t classes)
    : classes_(std::max<int64_t>(classes, 0)),
      fixed_(classes > 0),
      counts_(size_t(classes_) * size_t(classes_), 0) {}

void ConfusionMatrix::grow(int64_t classes) {
    if (classes <= classes_) return;
    std::vector<uint64_t> counts(size_t(classes) * size_t(classes), 0);
    for (int64_t t = 0; t < classes_; ++t)
        std::copy_n(counts_.begin() + t * classes_, classes_, counts.begin() + t * classes);
    counts_ = std::move(counts);
    classes_ = classes;
}

void ConfusionMatrix::merge(const ConfusionMatrix& other) {
    grow(other.classes_);
    for (int64_t t = 0; t < other.classes_; ++t)
        for (int64_t p = 0; p < other.classes_; ++p)
            counts_[size_t(t * classes_ + p)] += other.at(t, p);
}

uint64_t ConfusionMatrix::total() const {
    uint64_t sum = 0;
    for (uint64_t c : counts_) sum += c;
    return sum;
}

SegmentationScores score_confusion(const ConfusionMatrix& m) {
    SegmentationScores s;
    const int64_t k = m.classes();
    s.per_class.resize(size_t(k));
    uint64_t correct = 0;
    for (int64_t c = 0; c < k; ++c) {
        ClassScores& cs = s.per_class[size_t(c)];
        for (int64_t o = 0; o < k; ++o) {
            cs.truth_pixels += m.at(c, o);
            cs.predicted_pixels += m.at(o, c);
        }
        const uint64_t tp = m.at(c, c);
        correct += tp;
        const uint64_t fn = cs.truth_pixels - tp, fp = cs.predicted_pixels - tp;
        if (tp + fn + fp > 0) {
            cs.iou = double(tp) / double(tp + fn + fp);
            cs.dice = 2.0 * double(tp) / double(2 * tp + fn + fp);
        }
        if (cs.predicted_pixels > 0) cs.precision = double(tp) / double(cs.predicted_pixels);
        if (cs.truth_pixels > 0) cs.recall = double(tp) / double(cs.truth_pixels);
        s.pixels += cs.truth_pixels;
    }
    if (s.pixels > 0) s.pixel_accuracy = double(correct) / double(s.pixels);
    double sum = 0;
    int64_t defined = 0;
    for (const ClassScores& cs : s.per_class)
        if (cs.iou) sum += *cs.iou, ++defined;
    if (defined > 0) s.mean_iou = sum / double(defined);
    return s;
}

}  // namespace fcnrt
