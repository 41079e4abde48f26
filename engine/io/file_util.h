// Whole-file reads, all-or-nothing writes, and the exact half-precision
// widenings shared by the safetensors and .npy readers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace fcnrt {

// The whole file as bytes. Throws fcnrt::Error naming `path` when it is
// missing, unreadable or a directory.
std::string read_file_bytes(const std::string& path);

// Writes `size` bytes to a temporary file in the directory of `path`, then
// renames it over `path` (a PendingFile). On any failure the temporary file is
// removed and fcnrt::Error (naming `path`) is thrown, so a partial output file
// never appears under `path`.
void write_file_atomically(const std::string& path, const void* data, size_t size);

// IEEE binary16 bits to float32: exact for every value, including
// subnormals, signed zeros, infinities and NaN payloads.
float half_to_float(uint16_t bits);

// bfloat16 bits (the top half of a float32) to float32: exact.
float bfloat16_to_float(uint16_t bits);

}  // namespace fcnrt
