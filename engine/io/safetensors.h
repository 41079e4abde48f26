// Reading and writing weights in the safetensors layout: an 8-byte
// little-endian header length N, N bytes of JSON describing each tensor, then
// the raw little-endian data (model-format spec, "Files"; reference
// implementation: https://github.com/huggingface/safetensors).
#pragma once

#include <map>
#include <string>

#include "engine/tensor.h"

namespace fcnrt {

struct SafetensorsFile {
    std::map<std::string, Tensor> tensors;
    std::map<std::string, std::string> metadata;  // the "__metadata__" object
};

// Loads and validates a whole file. F32 and I32 tensors are kept; F16 and BF16
// are widened to F32 exactly; I64 is narrowed to I32 when every value fits.
// Any fault (malformed header, unsupported dtype, offsets that do not tile
// the data section exactly, ...) throws fcnrt::Error(path, "", reason).
SafetensorsFile read_safetensors(const std::string& path);

// Writes F32/I32 tensors laid out in name order, with the header padded with
// spaces to a multiple of 8 bytes as the reference implementation does. The
// file appears complete or not at all (see write_file_atomically).
void write_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace fcnrt
