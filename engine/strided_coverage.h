// Input sizes that do not fit a net's strided windows. A pooling or strided
// convolution whose last window stops short of the end of its input leaves
// the rows or columns past it unused: no output depends on them. In a U-Net
// (VALID convolutions, 2x2 pooling, skip connections cropped to the decoder's
// size) that also shifts the crops off-centre, so the net runs but is not the
// one it was trained as; its valid sizes are 16k + 124 for the classic four
// poolings. `fcnrt info` and `bench` warn with the nearest sizes that fit.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/graph.h"

namespace fcnrt {

struct UnusedInput {
    std::string node;
    int axis = 0;        // 0: rows, 1: columns
    int64_t input = 0;   // the node's input size along the axis
    int64_t unused = 0;  // trailing pixels no window reaches
};

// Every strided window (stride > 1) with unused trailing input at `shapes`
// (from infer_shapes), in node order.
std::vector<UnusedInput> unused_strided_inputs(const Model& model,
                                               const std::map<std::string, TensorInfo>& shapes);

// The smallest size >= `from` of graph input `input`'s spatial axis `axis`
// (0: height, 1: width; the other dims as in `input_shapes`) at which no
// strided window leaves input unused; sizes the graph refuses are skipped.
// 0 when none is found within `tries` sizes.
int64_t next_fitting_size(const Model& model, std::map<std::string, Shape> input_shapes,
                          const std::string& input, int axis, int64_t from, int tries = 256);

}  // namespace fcnrt
