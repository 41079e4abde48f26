// Reading and writing NumPy .npy files, the tensor format of `fcnrt run`.
// Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
#pragma once

#include <string>

#include "engine/tensor.h"

namespace fcnrt {

// Loads a C-order array of any rank. Little-endian float32 and int32 are read
// as they are; other numeric types are converted (floating kinds to float32,
// integer and bool kinds to int32, refusing integers that do not fit) and,
// when `conversion_note` is given, a one-line note such as "converted float64
// to float32" is stored there (an empty string when nothing was converted).
// Any fault throws fcnrt::Error(path, "", reason).
Tensor read_npy(const std::string& path, std::string* conversion_note = nullptr);

// Writes a version 1.0 file ('<f4' or '<i4', C order) whose header is padded
// to a multiple of 64 bytes like NumPy's own. The file appears complete or
// not at all (see write_file_atomically).
void write_npy(const std::string& path, const Tensor& tensor);

}  // namespace fcnrt
