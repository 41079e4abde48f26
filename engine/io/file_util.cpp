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

}  // namespace

InputFile::InputFile(const std::string& path) : path_(path) {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd_ < 0) {
        const int err = errno;  // before anything else can change it
        throw Error(path, "", "cannot open: " + errno_text(err));
    }
    struct stat info;
    if (::fstat(fd_, &info) != 0) {
        const int err = errno;
        ::close(fd_);
        throw Error(path, "", "cannot stat: " + errno_text(err));
    }
    if (!S_ISREG(info.st_mode)) {
        ::close(fd_);
        const char* what = S_ISDIR(info.st_mode)    ? "a directory"
                           : S_ISFIFO(info.st_mode) ? "a FIFO"
                           : S_ISCHR(info.st_mode)  ? "a character device"
                           : S_ISBLK(info.st_mode)  ? "a block device"
                           : S_ISSOCK(info.st_mode) ? "a socket"
                                                    : "not a regular file";
        throw Error(path, "", std::string("is ") + what + ", not a regular file");
    }
    // Regular files never block; clear the flag so reads behave as usual.
    const int flags = ::fcntl(fd_, F_GETFL);
    if (flags >= 0) ::fcntl(fd_, F_SETFL, flags & ~O_NONBLOCK);
    size_ = int64_t(info.st_size);
}

InputFile::~InputFile() {
    if (fd_ >= 0) ::close(fd_);
}

size_t InputFile::read(void* out, size_t n) {
    char* p = static_cast<char*>(out);
    size_t done = 0;
    while (done < n) {
        const ssize_t got = ::read(fd_, p + done, n - done);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            const int err = errno;
            throw Error(path_, "", "read failed: " + errno_text(err));
        }
        if (got == 0) break;
        done += static_cast<size_t>(got);
    }
    return done;
}

std::string read_file_bytes(const std::string& path) {
    InputFile file(path);
    // At most the size fstat reported: a file that grows meanwhile is read as it was.
    std::string bytes(static_cast<size_t>(file.size()), '\0');
    bytes.resize(file.read(&bytes[0], bytes.size()));
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
