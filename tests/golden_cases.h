// Reading the golden models that tests/make_golden.py writes with PyTorch:
// tests/golden/MANIFEST.json lists the cases; each folder holds model.json,
// model.safetensors, input_<name>.npy and output_<name>.npy.
#pragma once

#include <string>
#include <vector>

#include "engine/tensor.h"

namespace fcnrt::test {

struct GoldenCase {
    std::string name, description, dir;
    std::vector<std::string> inputs, outputs;
    double tolerance = 1e-4;
};

std::string golden_dir();
std::vector<GoldenCase> golden_cases();

// max |a - b| / max(max |b|, 1e-30) over all elements; int32 compares exactly
// (any difference gives infinity). Shape or dtype mismatch gives infinity too.
double relative_max_error(const Tensor& actual, const Tensor& expected);

}  // namespace fcnrt::test
