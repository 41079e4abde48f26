#include "engine/io/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <system_error>

#include "engine/error.h"

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
    // Closes now and reports the result: a failed close can mean lost data.
    int close() {
        const int rc = ::close(fd_);
        fd_ = -1;
        return rc;
    }

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

void write_all(int fd, const void* data, size_t size, const std::string& path) {
    const char* bytes = static_cast<const char*>(data);
    size_t done = 0;
    while (done < size) {
        const ssize_t n = ::write(fd, bytes + done, size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw Error(path, "", "write failed: " + errno_text(n < 0 ? errno : EIO));
        done += static_cast<size_t>(n);
    }
}

// Creates an empty, uniquely named hidden file beside `path` (same directory,
// so the final rename stays within one file system and is atomic).
int create_temp_beside(const std::string& path, std::string* temp_path) {
    const size_t slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
    const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    if (base.empty()) throw Error(path, "", "output path does not name a file");

    std::random_device entropy;
    for (int attempt = 0; attempt < 100; ++attempt) {
        char suffix[16];
        std::snprintf(suffix, sizeof suffix, "%08x", static_cast<unsigned>(entropy()));
        *temp_path = dir + "." + base + ".tmp-" + suffix;
        // 0666 minus the umask: the same permissions a plain create would give.
        const int fd = ::open(temp_path->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) return fd;
        if (errno != EEXIST)
            throw Error(path, "", "cannot create output file: " + errno_text(errno));
    }
    throw Error(path, "", "cannot create output file: no free temporary name");
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
    std::string temp_path;
    FileDescriptor fd(create_temp_beside(path, &temp_path));
    try {
        if (size > 0) write_all(fd.get(), data, size, path);
        // Flush before the rename so a crash cannot leave a renamed but empty file.
        if (::fsync(fd.get()) != 0) throw Error(path, "", "fsync failed: " + errno_text(errno));
        if (fd.close() != 0) throw Error(path, "", "close failed: " + errno_text(errno));
        if (::rename(temp_path.c_str(), path.c_str()) != 0)
            throw Error(path, "", "cannot replace file: " + errno_text(errno));
    } catch (...) {
        if (fd.get() >= 0) fd.close();
        ::unlink(temp_path.c_str());
        throw;
    }
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
