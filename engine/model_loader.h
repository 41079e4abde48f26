// Loading a model (graph JSON + safetensors weights) as ../shared/spec/model-format.md
// defines it, validating everything before anything runs.
#pragma once

#include <map>
#include <string>

#include "engine/graph.h"

namespace fcnrt {

struct LoadOptions {
    // Run the load-time passes (batch_norm folding, activation fusion, dead-node
    // removal). Tools that rewrite models (densify) load without them.
    bool optimize = true;
};

// Throws fcnrt::Error naming the file and, where one is at fault, the node.
// A path ending in ".onnx" is imported from ONNX (engine/onnx/onnx_loader.h)
// when fcnrt is built with FCNRT_WITH_ONNX.
Model load_model(const std::string& json_path, const LoadOptions& options = {});

// The same from an already parsed document; `weights_dir` resolves the
// document's "weights" path.
Model load_model_from_json(const Json& doc, const std::string& json_path,
                           const LoadOptions& options = {});

// The same with the weights already in memory (the document's "weights" key is
// ignored): for importers that build both, such as the ONNX loader. `path`
// names the source file in messages.
Model load_model_from_json(const Json& doc, const std::string& path,
                           std::map<std::string, Tensor> weights, const LoadOptions& options = {});

}  // namespace fcnrt
