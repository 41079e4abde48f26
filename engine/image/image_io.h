// Reading images for `fcnrt segment` (8/16-bit PNG row by row with zlib,
// JPEG with libjpeg-turbo, TIFF with libtiff, binary PGM/PPM our own, other
// PNGs, BMP and TGA with stb_image) and
// encoding PNGs in memory (stb_image_write).
//
// Every input is untrusted: a file must be a regular file, its header's size
// must be possible for the file's size before anything is allocated, and
// samples are allocated as decoded rows arrive.
//
// An image is kept as the file decoded it: interleaved 8- or 16-bit samples
// with 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA) channels. It is not
// widened to float planes up front: a 20000 x 20000 gray image is 400 MB as
// bytes but 1.6 GB as floats, and tiled inference only ever needs one tile's
// region as floats (engine/segment/preprocess.h fills those).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace fcnrt {

// Refused up front, from the header alone, before any pixel is decoded. The
// pixel limit is 2^30 (a gigapixel, e.g. 32768 x 32768) rather than 2^28 so
// that 20000 x 20000 scans, which tiling is for, are accepted; stb_image adds
// its own limit of 2^30 decoded bytes for PNG.
constexpr int64_t kMaxImageSide = int64_t(1) << 20;
constexpr int64_t kMaxImagePixels = int64_t(1) << 30;

struct ImageInfo {
    int64_t width = 0, height = 0;
    int channels = 0;   // as stored: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
    int bit_depth = 8;  // 8 or 16
};

class Image {
public:
    Image() = default;
    // Takes `samples`: height * width * channels interleaved values, uint8_t
    // for bit depth 8 and uint16_t for 16.
    Image(ImageInfo info, std::shared_ptr<const void> samples);
    // Zero-filled, for building images in code (tests, synthetic inputs).
    static Image blank(ImageInfo info);

    const ImageInfo& info() const { return info_; }
    int64_t width() const { return info_.width; }
    int64_t height() const { return info_.height; }
    int channels() const { return info_.channels; }
    int bit_depth() const { return info_.bit_depth; }
    bool has_alpha() const { return info_.channels == 2 || info_.channels == 4; }
    int colour_channels() const { return info_.channels <= 2 ? 1 : 3; }  // alpha dropped

    // Raw sample value (0..255 or 0..65535) at row y, column x, channel c.
    uint32_t at(int64_t y, int64_t x, int c) const {
        const size_t i = (size_t(y) * size_t(info_.width) + size_t(x)) * size_t(info_.channels) + c;
        return info_.bit_depth == 16 ? static_cast<const uint16_t*>(samples_.get())[i]
                                     : static_cast<const uint8_t*>(samples_.get())[i];
    }
    // Writable samples; only for images made by blank().
    void* mutable_samples() { return const_cast<void*>(samples_.get()); }
    const void* samples() const { return samples_.get(); }

private:
    ImageInfo info_;
    std::shared_ptr<const void> samples_;
};

// Size, channels and bit depth from the header, checked against
// kMaxImageSide / kMaxImagePixels and against the file's size. Throws
// fcnrt::Error(path, "", reason) for a missing file, something not a regular
// file, an unknown format, a 0-pixel or an absurdly large image. `page` picks
// a page of a multi-page TIFF; other files have only page 0.
ImageInfo read_image_info(const std::string& path, int64_t page = 0);

// The number of pages: a TIFF's image directories, 1 for every other format.
int64_t read_image_pages(const std::string& path);

// Decodes the whole image (or TIFF page), keeping 16-bit samples 16-bit. The
// same checks as read_image_info first; a truncated or corrupt file throws
// with the decoder's reason. 8/16-bit non-interlaced gray/RGB(A) PNGs are
// inflated row by row (engine/image/png_stream.h), JPEGs decoded row by row
// by libjpeg-turbo and TIFFs by libtiff (engine/image/tiff_io.h), so they cost
// their samples and little more; other files are read whole and decoded by
// stb_image, which must not read past the data's end.
Image read_image(const std::string& path, int64_t page = 0);

// The same from bytes already in memory (a TIFF's first page); `name` is the
// file named in errors.
Image decode_image(const std::string& bytes, const std::string& name);
ImageInfo probe_image(const std::string& bytes, const std::string& name);

// Always through stb_image (not JPEG): for tests that check our PNG encoder
// against an independent decoder.
Image decode_with_stb(const std::string& bytes, const std::string& name);

// 8-bit PNG files in memory: `pixels` holds height rows of width * channels
// bytes (channels 1 = gray, 3 = RGB; 2 and 4 add alpha). 16-bit PNGs
// (`encode_png16`, samples as host uint16_t) are for tests and tools that
// make inputs. Throws fcnrt::Error when stb_image_write fails.
std::string encode_png(const uint8_t* pixels, int64_t width, int64_t height, int channels);
std::string encode_png16(const uint16_t* pixels, int64_t width, int64_t height, int channels);

}  // namespace fcnrt
