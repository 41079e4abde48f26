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
    if (opt.labels_png)
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
