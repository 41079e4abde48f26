// PNG encoding and decoding one row at a time, so that whole-image outputs
// (a 20000 x 20000 colour mask is 1.2 GB as RGB) never exist in memory and a
// decoded PNG costs its samples and two rows, not also the file and the whole
// inflated stream as stb_image needs.
//
// Deflate is zlib's (Debian zlib1g-dev), not our own: it is the reference
// implementation of the format, streams with bounded memory, is faster and
// compresses better than stb_image_write's small encoder, and is present on
// every system that has a PNG library at all.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "engine/image/image_io.h"

namespace fcnrt {

// Fills `row` (width * channels bytes, 8-bit samples) with image row y. Rows
// are asked for in order, 0 to height - 1, each once.
using PngRowSource = std::function<void(int64_t y, uint8_t* row)>;
// Receives the encoded file, in order, in pieces.
using ByteSink = std::function<void(const void* data, size_t size)>;

// Encodes an 8-bit PNG (channels 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA) row by
// row: memory is two rows, the filter candidates and zlib's state (about 300
// KB at the default level), whatever the image size. Each row gets the filter
// (none, sub, up, average, Paeth) with the smallest sum of absolute values,
// libpng's heuristic. `level` is zlib's 0..9. Throws fcnrt::Error for a bad
// size or a zlib failure; exceptions from `rows` or `sink` pass through.
void encode_png_rows(int64_t width, int64_t height, int channels, const PngRowSource& rows,
                     const ByteSink& sink, int level = 6);

// The same into a string (tests, small images).
std::string encode_png_rows(int64_t width, int64_t height, int channels, const PngRowSource& rows,
                            int level = 6);

// Bytes of the PNG header that png_stream_header reads: the signature and
// the IHDR chunk with its CRC.
constexpr size_t kPngHeaderBytes = 33;

// From the first `n` bytes of a file (at least kPngHeaderBytes for a yes):
// true, with `info` filled, when it is a PNG that read_png_stream decodes: bit
// depth 8 or 16, gray, gray + alpha, RGB or RGBA, not interlaced. False for
// anything else (another format, a palette or 1/2/4-bit PNG, Adam7
// interlacing), which stb_image then reads. With `palette_indices` (label
// maps), palette PNGs are also accepted, as one channel of palette indices
// (stb_image would expand them to RGB), and so are 1-, 2- and 4-bit gray and
// palette PNGs (bit_depth 1, 2 or 4; stb_image would scale such gray to 0..255).
bool png_stream_header(const unsigned char* head, size_t n, ImageInfo* info,
                       bool palette_indices = false);

// The same for the file at `path`. Throws fcnrt::Error(path) when it cannot
// be opened or is not a regular file.
bool png_stream_header(const std::string& path, ImageInfo* info, bool palette_indices = false);

// Reads up to `n` bytes into `out`, fewer only at the end of the data.
using ByteReader = std::function<size_t(void* out, size_t n)>;

// Decodes such a PNG one row at a time: memory is two rows and zlib's state,
// whatever the image size. Rows come in order; each is width * channels
// samples of 1 byte, of 2 bytes big-endian (as stored) for bit depth 16, or
// packed most significant bits first for bit depths 1, 2 and 4.
// Throws fcnrt::Error(name, "", "cannot decode the image (truncated or
// corrupt?): ...").
class PngRowReader {
public:
    // `info` from png_stream_header, its size already checked; `read` continues
    // right after the kPngHeaderBytes header; `name` is what errors name.
    PngRowReader(ByteReader read, const ImageInfo& info, const std::string& name);
    // The PNG file at `path` (a regular file: InputFile), from its start.
    PngRowReader(const std::string& path, const ImageInfo& info);
    ~PngRowReader();
    PngRowReader(const PngRowReader&) = delete;
    PngRowReader& operator=(const PngRowReader&) = delete;

    const ImageInfo& info() const;
    // The next row, valid until the next call; at most info().height calls.
    const uint8_t* next_row();
    // Reads on to IEND (after the last row), so a file cut after its image data
    // is still reported.
    void finish();

private:
    struct State;
    std::unique_ptr<State> s_;
};

// Decodes such a PNG (after png_stream_header said yes and `info`'s size was
// checked) row by row through a PngRowReader into samples that grow as rows
// arrive. `read` continues right after the kPngHeaderBytes header.
// Throws fcnrt::Error(name, "", "cannot decode the image (truncated or corrupt?): ...").
Image read_png_stream(const ByteReader& read, const ImageInfo& info, const std::string& name);

}  // namespace fcnrt
