// The model zoo without PyTorch: an architecture file (models/zoo/NAME.arch.json,
// written by tools/zoo_architectures.py from tools/make_zoo.py's models) holds a
// graph document and the shape of every weight it names; this fills the weights
// with seeded random values, as make_zoo.py draws them, so that `fcnrt zoo`
// writes the full-size U-Net, FCN-8s, ... (up to 538 MB each) from a few
// kilobytes in the repository. Random weights: not trained, they segment nothing;
// the zoo is for loading, planning, speed and parameter counts.
#pragma once

#include <cstdint>
#include <string>

#include "engine/graph.h"

namespace fcnrt {

// Reads the architecture at `path` and returns its model (unoptimised, nodes
// as stored) with random float32 weights from `seed`: convolution, transposed
// convolution and dense weights He-normal (std sqrt(2 / fan_in), fan_in the
// product of all dims but the first), biases and batch-norm shifts and means
// N(0, 0.1), batch-norm scales and variances U(0.5, 1.5). The same seed gives
// the same weights with the same C++ standard library. Throws fcnrt::Error
// naming the file: not an architecture file, a weight no node names, or one
// whose shape the graph refuses.
Model random_model_from_architecture(const std::string& path, uint64_t seed = 0);

}  // namespace fcnrt
