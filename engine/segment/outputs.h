// `fcnrt segment`'s output files for one image, written without any
// whole-image buffer beyond the labels: the colour mask, the label map and the
// overlay are generated row by row from labels + palette (+ image) and
// encoded by engine/image/png_stream.h; the scores go into the .npy tile by
// tile. Every file is written as a hidden temporary beside its final name and
// renamed into place only when all of them are complete, so an image gets all
// its outputs or none.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/image/image_io.h"
#include "engine/io/pending_file.h"
#include "engine/segment/palette.h"
#include "engine/segment/tiling.h"

namespace fcnrt {

// STEM_probs.npy, float32 [classes, height, width] in C order (NumPy 1.0
// header, as write_npy writes), filled tile by tile at the pixels' final
// offsets: memory is one tile's scores however large the image.
class NpyPlanesFile {
public:
    NpyPlanesFile(const std::string& path, int64_t classes, int64_t height, int64_t width);
    // `probs` [classes, t.out_h, t.out_w]: the scores of t's output pixels.
    void write_tile(const Tile& t, const float* probs);
    PendingFile& file() { return file_; }

private:
    PendingFile file_;
    int64_t classes_, height_, width_;
    uint64_t data_offset_ = 0;
};

struct OutputOptions {
    bool overlay = false;     // also STEM_overlay.png
    double opacity = 0.5;     // the mask's weight in the overlay
    bool labels_png = true;   // STEM_labels.png (off when the labels go to a TIFF)
};

// Writes BASE_mask.png (palette colours, 8-bit RGB), BASE_labels.png (8-bit
// gray class indices), with opt.overlay BASE_overlay.png (the image for
// display, blended with the mask), and BASE_probs.npy: from `probs_file` when
// given (already filled by segment_image's scores sink), else from r.probs
// when it holds scores. All or none: on any failure nothing new is left under
// these names. For display, 8-bit samples are taken as they are and 16-bit
// ones stretched from the image's own min..max to 0..255; gray is replicated,
// alpha dropped. Throws fcnrt::Error.
void write_segment_outputs(const std::string& base, const Image& image, const SegmentResult& r,
                           const std::vector<Rgb>& palette, const OutputOptions& opt,
                           NpyPlanesFile* probs_file = nullptr);

}  // namespace fcnrt
