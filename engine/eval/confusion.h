// The confusion matrix of a segmentation against its ground truth, and the
// scores read from it: per-class IoU, Dice, precision and recall, mean IoU and
// pixel accuracy, as `fcnrt eval` reports them.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

namespace fcnrt {

// counts[truth][prediction], over classes 0 .. classes()-1. It grows when a
// label beyond its size is added, unless its size was fixed.
class ConfusionMatrix {
public:
    // `classes` > 0 fixes the size (labels beyond are the caller's to refuse);
    // 0 lets it grow with the labels seen.
    explicit ConfusionMatrix(int64_t classes = 0);

    int64_t classes() const { return classes_; }
    bool fixed() const { return fixed_; }
    // Both labels must be < classes() when the size is fixed.
    void add(uint32_t truth, uint32_t prediction, uint64_t count = 1) {
        if (truth >= uint64_t(classes_) || prediction >= uint64_t(classes_))
            grow(int64_t(std::max(truth, prediction)) + 1);
        counts_[size_t(truth) * size_t(classes_) + prediction] += count;
    }
    uint64_t at(int64_t truth, int64_t prediction) const {
        return counts_[size_t(truth) * size_t(classes_) + size_t(prediction)];
    }
    // Adds another matrix (another image), growing to the larger size.
    void merge(const ConfusionMatrix& other);
    uint64_t total() const;

private:
    void grow(int64_t classes);

    int64_t classes_ = 0;
    bool fixed_ = false;
    std::vector<uint64_t> counts_;  // (classes, classes), row = truth
};

struct ClassScores {
    uint64_t truth_pixels = 0;      // row sum
    uint64_t predicted_pixels = 0;  // column sum
    // Empty where undefined (0 / 0): IoU and Dice for a class absent from both
    // maps, precision for a class never predicted, recall for a class absent
    // from the ground truth.
    std::optional<double> iou, dice, precision, recall;
};

struct SegmentationScores {
    std::vector<ClassScores> per_class;
    uint64_t pixels = 0;
    double pixel_accuracy = 0;       // trace / pixels (0 when there are no pixels)
    std::optional<double> mean_iou;  // over the classes whose IoU is defined
};

SegmentationScores score_confusion(const ConfusionMatrix& confusion);

}  // namespace fcnrt
