// Whole-file reads, all-or-nothing writes, and the exact half-precision
// widenings shared by the safetensors and .npy readers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace fcnrt {

// An input file opened for reading, after the checks every untrusted input
// gets: opened without blocking (a FIFO or a device never stalls open()),
// fstat'ed, and refused unless it is a regular file (a symlink to one is
// fine), so that /dev/zero, a FIFO or a directory is one error line instead of
// endless reading or a hang. `size()` is what fstat reported: readers take at
// most that many bytes. Closes the descriptor when destroyed.
class InputFile {
public:
    // Throws fcnrt::Error(path, "", reason) naming the real cause.
    explicit InputFile(const std::string& path);
    ~InputFile();
    InputFile(const InputFile&) = delete;
    InputFile& operator=(const InputFile&) = delete;

    int fd() const { return fd_; }
    int64_t size() const { return size_; }
    const std::string& path() const { return path_; }

    // Up to `n` bytes at the current position, stopping early only at end of
    // file; returns the count. Throws fcnrt::Error naming the file on a read error.
    size_t read(void* out, size_t n);

private:
    std::string path_;
    int fd_ = -1;
    int64_t size_ = 0;
};

// The whole file as bytes (an InputFile, read up to its fstat size). Throws
// fcnrt::Error naming `path` when it is missing, unreadable or not a regular file.
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
