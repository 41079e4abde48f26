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
// interlacing), which stb_image then reads.
bool png_stream_header(const unsigned char* head, size_t n, ImageInfo* info);

// The same for the file at `path`. Throws fcnrt::Error(path) when it cannot
// be opened or is not a regular file.
bool png_stream_header(const std::string& path, ImageInfo* info);

// Reads up to `n` bytes into `out`, fewer only at the end of the data.
using ByteReader = std::function<size_t(void* out, size_t n)>;

// Decodes such a PNG (after png_stream_header said yes and `info`'s size was
// checked) chunk by chunk, inflating straight into the samples, which grow as
// rows arrive. `read` continues right after the kPngHeaderBytes header.
// Throws fcnrt::Error(name, "", "cannot decode the image (truncated or corrupt?): ...").
Image read_png_stream(const ByteReader& read, const ImageInfo& info, const std::string& name);

}  // namespace fcnrt
