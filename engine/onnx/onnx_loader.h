// Importing ONNX models (ModelProto files, read with libprotobuf from the ONNX
// message definitions) into fcnrt graphs. The importer maps each ONNX node onto
// fcnrt ops (engine/onnx/onnx_map_*.cpp), folds the constant subgraphs exporters
// emit around Resize and Reshape (onnx_fold.cpp) using the graph's static input
// shapes, and turns initializers into weights. What it cannot map it refuses:
// unknown op types all at once in one error, anything else naming the node.
// See engine/onnx/README.md for the mapping and its limits.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/model_loader.h"

namespace fcnrt {

// True when `path` ends in ".onnx" (any case).
bool has_onnx_extension(const std::string& path);

// An imported model: the fcnrt graph document (format-version-1 JSON, without a
// "weights" key) and its weights.
struct OnnxImport {
    Json doc;
    std::map<std::string, Tensor> weights;
};

// Reads and maps an ONNX file. Throws fcnrt::Error naming the file and, where one
// is at fault, the node.
OnnxImport import_onnx(const std::string& onnx_path);

// import_onnx followed by the ordinary validation and load-time passes.
Model load_onnx_model(const std::string& onnx_path, const LoadOptions& options = {});

// One serialised TensorProto (as the ONNX backend test data stores inputs and
// outputs): float and double become F32, integer and bool types I32 (an int64
// outside int32's range is an error). A scalar becomes shape [1]. `name`, when
// given, receives the TensorProto's name.
Tensor read_onnx_tensor_file(const std::string& pb_path, std::string* name = nullptr);

}  // namespace fcnrt
