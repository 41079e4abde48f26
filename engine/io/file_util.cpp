#include "engine/io/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "engine/error.h"
#include "engine/io/pending_file.h"

namespace fcnrt {
namespace {

std::string errno_text(int err) {
    // std::strerror may share a static buffer between threads; this does not.
    return std::error_code(err, std::generic_category()).message();
}

// Closes a descriptor on every path out of a scope.
class FileDescriptor {
public:
    explicit FileDescriptor(int fd) : fd_(fd) {}
    ~FileDescriptor() {
        if (fd_ >= 0) ::close(fd_);
    }
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;

    int get() const { return fd_; }

private:
    int fd_;
};

// Reads until `size` bytes arrived or end of file; returns the count read.
size_t read_up_to(int fd, char* out, size_t size, const std::string& path) {
    size_t done = 0;
    while (done < size) {
        const ssize_t n = ::read(fd, out + done, size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw Error(path, "", "read failed: " + errno_text(errno));
        if (n == 0) break;
        done += static_cast<size_t>(n);
    }
    return done;
}

}  // namespace

std::string read_file_bytes(const std::string& path) {
    FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) throw Error(path, "", "cannot open: " + errno_text(errno));

    struct stat info;
    if (::fstat(fd.get(), &info) != 0) throw Error(path, "", "cannot stat: " + errno_text(errno));
    if (S_ISDIR(info.st_mode)) throw Error(path, "", "is a directory, not a file");

    // Read straight into the result at the size stat reported, then keep going
    // in chunks in case the file is not regular or grew meanwhile.
    std::string bytes(S_ISREG(info.st_mode) ? static_cast<size_t>(info.st_size) : 0, '\0');
    size_t filled = read_up_to(fd.get(), &bytes[0], bytes.size(), path);
    if (filled == bytes.size()) {
        constexpr size_t kChunk = size_t(1) << 16;
        for (;;) {
            bytes.resize(filled + kChunk);
            const size_t n = read_up_to(fd.get(), &bytes[filled], kChunk, path);
            filled += n;
            if (n < kChunk) break;
        }
    }
    bytes.resize(filled);
    return bytes;
}

void write_file_atomically(const std::string& path, const void* data, size_t size) {
    PendingFile file(path);  // removed on any failure below
    if (size > 0) file.append(data, size);
    file.finish();
    file.rename_into_place();
}

float half_to_float(uint16_t bits) {
    const uint32_t sign = uint32_t(bits & 0x8000u) << 16;
    const uint32_t exponent = (bits >> 10) & 0x1fu;
    uint32_t mantissa = bits & 0x3ffu;
    uint32_t out;
    if (exponent == 0x1f) {
        out = sign | 0x7f800000u | (mantissa << 13);  // inf, or NaN with its payload
    } else if (exponent != 0) {
        out = sign | ((exponent + (127 - 15)) << 23) | (mantissa << 13);
    } else if (mantissa == 0) {
        out = sign;  // signed zero
    } else {
        // Subnormal half (mantissa * 2^-24) is a normal float: shift the leading
        // one into the implicit-bit position, lowering the exponent to match.
        uint32_t biased = 127 - 14;
        while ((mantissa & 0x400u) == 0) {
            mantissa <<= 1;
            --biased;
        }
        out = sign | (biased << 23) | ((mantissa & 0x3ffu) << 13);
    }
    float value;
    std::memcpy(&value, &out, sizeof value);
    return value;
}

float bfloat16_to_float(uint16_t bits) {
    const uint32_t out = uint32_t(bits) << 16;
    float value;
    std::memcpy(&value, &out, sizeof value);
    return value;
}

}  // namespace fcnrt
