#include "engine/segment/outputs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>

#include "engine/error.h"
#include "engine/image/png_stream.h"
#include "engine/io/npy.h"

namespace fcnrt {

namespace {

std::string errno_text(int e) {
    return std::strerror(e);
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
        fd_ = ::open(dir.empty() ? "." : dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
        if (fd_ >= 0) return;  // temp_ stays empty until rename_into_place names it
    }
    // Any failure of O_TMPFILE (unsupported, or the directory is missing or
    // read-only) falls back to the named file, whose error is then the one reported.
    std::random_device entropy;
    for (int attempt = 0; attempt < 100 && fd_ < 0; ++attempt) {
        temp_ = temp_name(dir, base, entropy);
        fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
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

NpyPlanesFile::NpyPlanesFile(const std::string& path, int64_t classes, int64_t height,
                             int64_t width)
    : file_(path), classes_(classes), height_(height), width_(width) {
    // The header write_npy writes for a [classes, height, width] float32 tensor.
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" +
                         std::to_string(classes) + ", " + std::to_string(height) + ", " +
                         std::to_string(width) + "), }";
    const size_t prefix = 6 + 2 + 2;  // magic, version, header length
    header.append((64 - (prefix + header.size() + 1) % 64) % 64, ' ');
    header += '\n';
    std::string out("\x93NUMPY\x01\x00", 8);
    out += char(header.size() & 0xff);
    out += char(header.size() >> 8);
    out += header;
    file_.append(out.data(), out.size());
    data_offset_ = out.size();
    file_.resize(data_offset_ + uint64_t(classes) * uint64_t(height) * uint64_t(width) * 4);
}

void NpyPlanesFile::write_tile(const Tile& t, const float* probs) {
    for (int64_t k = 0; k < classes_; ++k)
        for (int64_t y = 0; y < t.out_h; ++y) {
            const uint64_t at =
                data_offset_ +
                ((uint64_t(k) * uint64_t(height_) + uint64_t(t.out_y + y)) * uint64_t(width_) +
                 uint64_t(t.out_x)) *
                    4;
            file_.write_at(at, probs + (size_t(k) * size_t(t.out_h) + size_t(y)) * size_t(t.out_w),
                           size_t(t.out_w) * 4);
        }
}

void write_segment_outputs(const std::string& base, const Image& image, const SegmentResult& r,
                           const std::vector<Rgb>& palette, const OutputOptions& opt,
                           NpyPlanesFile* probs_file) {
    const int64_t H = r.height, W = r.width;
    if (image.height() != H || image.width() != W || r.labels.size() != size_t(H) * size_t(W))
        throw Error("internal error: labels " + std::to_string(H) + "x" + std::to_string(W) +
                    " for a " + std::to_string(image.height()) + "x" +
                    std::to_string(image.width()) + " image");
    const uint8_t* labels = r.labels.data();  // (H, W)
    std::vector<std::unique_ptr<PendingFile>> files;
    auto png = [&](const std::string& path, int channels, const PngRowSource& rows) {
        files.push_back(std::make_unique<PendingFile>(path));
        PendingFile& f = *files.back();
        encode_png_rows(W, H, channels, rows, [&](const void* d, size_t n) { f.append(d, n); });
        f.finish();
    };
    auto mask_row = [&](int64_t y, uint8_t* row) {
        const uint8_t* l = labels + size_t(y) * size_t(W);
        for (int64_t x = 0; x < W; ++x) std::memcpy(row + 3 * x, palette[l[x]].data(), 3);
    };
    png(base + "_mask.png", 3, mask_row);
    png(base + "_labels.png", 1, [&](int64_t y, uint8_t* row) {
        std::memcpy(row, labels + size_t(y) * size_t(W), size_t(W));
    });
    if (opt.overlay) {
        const int cc = image.colour_channels();
        double lo = 0, scale = 1;
        if (image.bit_depth() == 16) {
            uint32_t mn = 65535, mx = 0;
            for (int64_t y = 0; y < H; ++y)
                for (int64_t x = 0; x < W; ++x)
                    for (int c = 0; c < cc; ++c) {
                        const uint32_t v = image.at(y, x, c);
                        mn = std::min(mn, v);
                        mx = std::max(mx, v);
                    }
            lo = mn;
            scale = mx > mn ? 255.0 / double(mx - mn) : 0.0;
        }
        std::vector<uint8_t> mask(size_t(W) * 3);
        png(base + "_overlay.png", 3, [&](int64_t y, uint8_t* row) {
            mask_row(y, mask.data());
            for (int64_t x = 0; x < W; ++x)
                for (int c = 0; c < 3; ++c) {
                    const uint32_t v = image.at(y, x, cc == 1 ? 0 : c);
                    const double shown = double(
                        uint8_t(std::lround(std::clamp((double(v) - lo) * scale, 0.0, 255.0))));
                    const size_t i = size_t(x) * 3 + size_t(c);
                    row[i] =
                        uint8_t(std::lround((1.0 - opt.opacity) * shown + opt.opacity * mask[i]));
                }
        });
    }
    if (probs_file) probs_file->file().finish();

    // Everything is complete: rename into place, taking back what was renamed if one fails.
    std::vector<std::string> placed;
    try {
        for (auto& f : files) {
            f->rename_into_place();
            placed.push_back(f->path());
        }
        if (probs_file) {
            probs_file->file().rename_into_place();
            placed.push_back(probs_file->file().path());
        } else if (r.probs.numel() > 0) {
            write_npy(base + "_probs.npy", r.probs);
        }
    } catch (...) {
        for (const std::string& p : placed) std::remove(p.c_str());
        throw;
    }
}

}  // namespace fcnrt
