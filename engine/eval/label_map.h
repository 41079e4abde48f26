// Reading a label map (one class index per pixel) row by row, so that scoring
// costs two rows per image whatever its size.
//
// Accepted: PNGs with 1-, 2-, 4-, 8- or 16-bit gray samples or 1- to 8-bit
// palette indices (the palette's colours are ignored: the index is the class;
// a 1-bit mask's classes are 0 and 1), streamed by engine/image/png_stream.h;
// other one-channel images that image_io reads (PGM, 8-bit BMP/TGA) are
// decoded whole. Refused, naming the file: more than one channel (an RGB mask
// is not a label map) and interlaced PNGs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/image/image_io.h"

namespace fcnrt {

class PngRowReader;

class LabelMapReader {
public:
    // Reads the header; throws fcnrt::Error(path, "", reason).
    explicit LabelMapReader(const std::string& path);
    ~LabelMapReader();
    LabelMapReader(const LabelMapReader&) = delete;
    LabelMapReader& operator=(const LabelMapReader&) = delete;

    const std::string& path() const { return path_; }
    int64_t width() const { return width_; }
    int64_t height() const { return height_; }
    // The next row's width() labels, valid until the next call; rows in order,
    // at most height() calls.
    const uint32_t* next_row();
    // After the last row: checks that the file ends properly.
    void finish();

private:
    std::string path_;
    int64_t width_ = 0, height_ = 0;
    int bit_depth_ = 8;
    int64_t y_ = 0;
    std::unique_ptr<PngRowReader> png_;  // streamed PNG, or
    Image whole_;                        // another format, decoded whole
    std::vector<uint32_t> row_;
};

}  // namespace fcnrt
