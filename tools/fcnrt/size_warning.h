// The warning of `fcnrt info` and `bench` when the input size does not fit
// the net's strided windows (engine/strided_coverage.h).
#pragma once

#include <map>
#include <ostream>

#include "engine/graph.h"

namespace fcnrt::cli {

// Writes one `fcnrt: warning:` line per axis (rows, columns) of the first
// 4-D graph input whose size leaves input unused somewhere, naming the first
// such node and the nearest size above that fits; nothing when the size fits.
void warn_unfitting_size(const Model& model, const std::map<std::string, Shape>& input_shapes,
                         std::ostream& out);

}  // namespace fcnrt::cli
