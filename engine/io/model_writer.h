// Writing a model as ../shared/spec/model-format.md defines it: the graph JSON
// and, beside it, the safetensors file with the weights its nodes name.
#pragma once

#include <string>

#include "engine/graph.h"

namespace fcnrt {

// The weights file written beside `json_path`: its name without ".json", plus
// ".safetensors" (DENSE.json -> DENSE.safetensors).
std::string weights_path_for(const std::string& json_path);

// Writes the graph (each node as its Node::json, one node a line) to
// `json_path` and the weights its nodes name to weights_path_for(json_path);
// the graph's "weights" names that file relative to the JSON. Both files are
// written all-or-nothing; when the graph cannot be written after the weights
// were, a weights file that did not exist before is removed again. Throws
// fcnrt::Error naming the file.
void write_model(const Model& model, const std::string& json_path);

}  // namespace fcnrt
