// Shared by the libFuzzer targets in this folder (see README.md): each target
// hands its input to fcnrt's real file readers through a file in a private
// temporary folder (so the InputFile checks and the path in messages are
// exercised too), expects fcnrt::Error for anything it refuses, and lets any
// other exception, crash or sanitizer report end the run as a finding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/graph.h"

namespace fcnrt::fuzz {

// Writes `size` bytes to NAME in this process's temporary folder (made once,
// removed at exit) and returns its path.
std::string write_input(const uint8_t* data, size_t size, const std::string& name);

// The temporary folder, with a trailing '/'.
const std::string& scratch_dir();

// A file of the repository (FCNRT_SOURCE_DIR/relative).
std::string source_file(const std::string& relative);

// Plans `model` for small inputs (open dims: batch 1, 13 x 11 spatial) and
// runs it once on the CPU with a ramp as input, when the run is small enough
// to be quick (inputs, arena and FLOPs under fixed caps); returns whether it
// ran. Errors other than fcnrt::Error pass through as findings.
bool run_small(const Model& model);

}  // namespace fcnrt::fuzz
