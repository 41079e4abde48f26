#include "engine/eval/label_map.h"

#include <cstdio>
#include <cstring>

#include "engine/error.h"
#include "engine/image/png_stream.h"

namespace fcnrt {

namespace {

// Why a PNG that png_stream does not decode cannot be a label map; empty when
// the file is no PNG at all (another format, left to image_io).
std::string png_refusal(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return "";
    unsigned char h[29];
    const bool whole = std::fread(h, 1, sizeof h, f) == sizeof h;
    std::fclose(f);
    static const unsigned char kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (!whole || std::memcmp(h, kSignature, 8) != 0) return "";
    const int depth = h[24], colour = h[25], interlace = h[28];
    if (colour == 2 || colour == 6 || colour == 4)
        return "a label map has one channel (class indices as gray or palette indices); "
               "this PNG has " +
               std::string(colour == 2   ? "3 (RGB)"
                           : colour == 6 ? "4 (RGBA)"
                                         : "2 (gray + alpha)") +
               " (a colour mask such as segment's STEM_mask.png? score its STEM_labels.png)";
    if (interlace != 0)
        return "an interlaced PNG is not read as a label map; save it without interlacing";
    return "a label PNG must have 1-, 2-, 4-, 8- or 16-bit gray or 1- to 8-bit palette samples, "
           "not " +
           std::to_string(depth) + "-bit";
}

}  // namespace

LabelMapReader::LabelMapReader(const std::string& path) : path_(path) {
    ImageInfo info;
    if (png_stream_header(path, &info, /*palette_indices=*/true)) {
        if (info.width < 1 || info.height < 1 || info.width > kMaxImageSide ||
            info.height > kMaxImageSide || info.width * info.height > kMaxImagePixels)
            throw Error(path, "",
                        "image size " + std::to_string(info.width) + "x" +
                            std::to_string(info.height) + " is empty or too large");
        if (info.channels != 1) throw Error(path, "", png_refusal(path));
        png_ = std::make_unique<PngRowReader>(path, info);
    } else {
        const std::string why = png_refusal(path);
        if (!why.empty()) throw Error(path, "", why);
        whole_ = read_image(path);  // missing file, unknown format: image_io's error
        info = whole_.info();
        if (info.channels != 1)
            throw Error(path, "",
                        "a label map has one channel (class indices); this image has " +
                            std::to_string(info.channels));
    }
    width_ = info.width;
    height_ = info.height;
    bit_depth_ = info.bit_depth;
    row_.resize(size_t(width_));
}

LabelMapReader::~LabelMapReader() = default;

const uint32_t* LabelMapReader::next_row() {
    if (y_ >= height_) throw Error(path_, "", "internal: read past the last row");
    if (png_) {
        const uint8_t* d = png_->next_row();
        if (bit_depth_ < 8) {
            const int per_byte = 8 / bit_depth_;
            const uint32_t mask = (1u << bit_depth_) - 1;
            for (int64_t x = 0; x < width_; ++x)
                row_[size_t(x)] = (d[x / per_byte] >> (8 - bit_depth_ * (1 + x % per_byte))) & mask;
        } else if (bit_depth_ == 16) {
            for (int64_t x = 0; x < width_; ++x)
                row_[size_t(x)] = uint32_t(d[2 * x] << 8 | d[2 * x + 1]);
        } else {
            for (int64_t x = 0; x < width_; ++x) row_[size_t(x)] = d[x];
        }
    } else {
        for (int64_t x = 0; x < width_; ++x) row_[size_t(x)] = whole_.at(y_, x, 0);
    }
    ++y_;
    return row_.data();
}

void LabelMapReader::finish() {
    if (png_) png_->finish();
}

}  // namespace fcnrt
