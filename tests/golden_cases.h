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

// Runs one case on `device` (a select_backend name) through loader, passes (unless
// !optimize), planner and executor, and checks every output against PyTorch's within
// the case's tolerance, then runs it again on the same plan, which must repeat the
// first run bit for bit (no stale state). Reports with gtest assertions.
void run_golden_case(const GoldenCase& c, const std::string& device, bool optimize);

// max |a - b| / max(max |b|, 1e-30) over all elements; int32 compares exactly
// (any difference gives infinity). Shape or dtype mismatch gives infinity too.
double relative_max_error(const Tensor& actual, const Tensor& expected);

}  // namespace fcnrt::test
