#include "engine/io/pending_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <random>
#include <system_error>

#include "engine/error.h"

namespace fcnrt {

namespace {

std::string errno_text(int err) {
    // std::strerror may share a static buffer between threads; this does not.
    return std::error_code(err, std::generic_category()).message();
}

}  // namespace

// The temporary is an unnamed file in the output directory (O_TMPFILE) where
// the system allows one: the kernel frees it however the process ends (Ctrl-C,
// a kill, the OOM killer in the middle of a huge image), so no hidden file is
// left behind. It gets a name only in rename_into_place(), for the instant
// between linking and renaming. Without O_TMPFILE (file systems that lack it,
// no /proc to link it through) it is a hidden named file from the start, as
// engine/io/file_util.cpp writes, removed on every way out but a signal.
namespace {

// A fresh hidden name beside `path`: DIR/.BASE.tmp-XXXXXXXX.
std::string temp_name(const std::string& dir, const std::string& base,
                      std::random_device& entropy) {
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, "%08x", static_cast<unsigned>(entropy()));
    return dir + "." + base + ".tmp-" + suffix;
}

void split_path(const std::string& path, std::string* dir, std::string* base) {
    const size_t slash = path.rfind('/');
    *dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
    *base = slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

PendingFile::PendingFile(std::string path) : path_(std::move(path)) {
    std::string dir, base;
    split_path(path_, &dir, &base);
    if (base.empty()) throw Error(path_, "", "output path does not name a file");
    // 0666 minus the umask: the permissions a plain create would give.
    if (::access("/proc/self/fd", X_OK) == 0) {
        fd_ = ::open(dir.empty() ? "." : dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0666);
        if (fd_ >= 0) return;  // temp_ stays empty until rename_into_place names it
    }
    // Any failure of O_TMPFILE (unsupported, or the directory is missing or
    // read-only) falls back to the named file, whose error is then the one reported.
    std::random_device entropy;
    for (int attempt = 0; attempt < 100 && fd_ < 0; ++attempt) {
        temp_ = temp_name(dir, base, entropy);
        fd_ = ::open(temp_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd_ < 0 && errno != EEXIST)
            throw Error(path_, "", "cannot create output file: " + errno_text(errno));
    }
    if (fd_ < 0) throw Error(path_, "", "cannot create output file: no free temporary name");
}

PendingFile::~PendingFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!renamed_ && !temp_.empty()) ::unlink(temp_.c_str());
}

void PendingFile::append(const void* data, size_t size) {
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
        const ssize_t n = ::write(fd_, p, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw Error(path_, "", "write failed: " + errno_text(n < 0 ? errno : EIO));
        p += n;
        size -= size_t(n);
    }
}

void PendingFile::write_at(uint64_t offset, const void* data, size_t size) {
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
        const ssize_t n = ::pwrite(fd_, p, size, off_t(offset));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw Error(path_, "", "write failed: " + errno_text(n < 0 ? errno : EIO));
        p += n;
        size -= size_t(n);
        offset += uint64_t(n);
    }
}

void PendingFile::resize(uint64_t size) {
    if (::ftruncate(fd_, off_t(size)) != 0)
        throw Error(path_, "", "cannot size the output file: " + errno_text(errno));
}

void PendingFile::finish() {
    // Flushed before the rename so that a crash cannot leave a renamed but empty file.
    if (::fsync(fd_) != 0) throw Error(path_, "", "fsync failed: " + errno_text(errno));
    if (temp_.empty()) return;  // unnamed: closed once linked, in rename_into_place
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) throw Error(path_, "", "close failed: " + errno_text(errno));
}

void PendingFile::rename_into_place() {
    if (temp_.empty()) {
        // Name the unnamed file (linkat cannot replace path_ itself), then rename as below.
        // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; /proc/self/fd/N works for anyone.
        std::string dir, base;
        split_path(path_, &dir, &base);
        char proc[64];
        std::snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd_);
        std::random_device entropy;
        for (int attempt = 0; attempt < 100 && temp_.empty(); ++attempt) {
            const std::string name = temp_name(dir, base, entropy);
            if (::linkat(fd_, "", AT_FDCWD, name.c_str(), AT_EMPTY_PATH) == 0 ||
                (errno != EEXIST &&
                 ::linkat(AT_FDCWD, proc, AT_FDCWD, name.c_str(), AT_SYMLINK_FOLLOW) == 0)) {
                temp_ = name;
            } else if (errno != EEXIST) {
                throw Error(path_, "", "cannot create output file: " + errno_text(errno));
            }
        }
        if (temp_.empty())
            throw Error(path_, "", "cannot create output file: no free temporary name");
        const int fd = fd_;
        fd_ = -1;
        if (::close(fd) != 0) throw Error(path_, "", "close failed: " + errno_text(errno));
    }
    if (::rename(temp_.c_str(), path_.c_str()) != 0)
        throw Error(path_, "", "cannot replace file: " + errno_text(errno));
    renamed_ = true;
}

}  // namespace fcnrt
