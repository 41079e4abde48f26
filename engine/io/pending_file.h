// An output file written all or nothing: a temporary in the directory of its
// final path, renamed into place once complete. Shared by every writer of
// fcnrt's outputs (safetensors, .npy, segment's PNGs and scores).
#pragma once

#include <cstdint>
#include <string>

namespace fcnrt {

// A file under construction: a hidden temporary beside `path`, removed by the
// destructor unless rename_into_place() ran.
class PendingFile {
public:
    explicit PendingFile(std::string path);  // creates the temporary; throws fcnrt::Error(path)
    ~PendingFile();
    PendingFile(const PendingFile&) = delete;
    PendingFile& operator=(const PendingFile&) = delete;

    const std::string& path() const { return path_; }
    void append(const void* data, size_t size);  // at the end of what was appended
    void write_at(uint64_t offset, const void* data, size_t size);  // anywhere (pwrite)
    void resize(uint64_t size);  // ftruncate: a sparse file to fill
    // The open temporary (read-write), for writers that read back what they
    // wrote (libtiff links each page's directory to the last); -1 after finish().
    int fd() const { return fd_; }
    void finish();               // fsync and close; throws on failure
    void rename_into_place();    // after finish()

private:
    std::string path_, temp_;
    int fd_ = -1;
    bool renamed_ = false;
};

}  // namespace fcnrt
