// TIFF, the format microscopes write, through libtiff (Debian libtiff-dev):
// 8- and 16-bit unsigned greyscale (with optional alpha) and RGB(A), in strips
// or tiles, with any compression this libtiff decodes (none, LZW, deflate,
// PackBits, ...), classic and BigTIFF, and multi-page stacks (a time-lapse),
// each page an image of its own.
//
// Pages are decoded row by row (strips, through TIFFReadScanline) or tile row
// by tile row into samples that grow as rows arrive, so a page costs its
// samples plus one strip's compressed bytes or one row of tiles; a header
// whose size the file cannot hold (LZW, the most expansive codec, inflates at
// most about 2730:1) is refused before anything is allocated, and libtiff's
// own allocations are capped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "engine/image/image_io.h"

namespace fcnrt {

// True when the bytes start with a TIFF or BigTIFF signature (II/MM, 42/43).
bool looks_like_tiff(const unsigned char* data, size_t size);

// One open TIFF file or buffer. Every method throws fcnrt::Error(name, "",
// reason), the reason being libtiff's first error message when it has one.
class TiffReader {
public:
    // The file at `path`, opened as an InputFile (a regular file; read with
    // pread, never past its fstat size).
    explicit TiffReader(const std::string& path);
    // Bytes in memory (which must outlive the reader); `name` for messages.
    TiffReader(const unsigned char* data, size_t size, const std::string& name);
    ~TiffReader();
    TiffReader(const TiffReader&) = delete;
    TiffReader& operator=(const TiffReader&) = delete;

    // The number of pages (image directories), at least 1.
    int64_t pages();
    // A page's size, channels and depth, after checking its layout is one
    // this reader decodes and its size is possible for the file's size.
    ImageInfo info(int64_t page);
    // The page's samples, as Image holds them (interleaved, host-order uint16
    // for 16-bit; MinIsWhite inverted to MinIsBlack).
    Image read(int64_t page);

    struct State;

private:
    std::unique_ptr<State> state_;
};

// Writes a multi-page 8-bit greyscale TIFF (deflate, in strips) page by page
// and row by row, for segment's --tiff-out labels. The file appears under
// `path` only after finish() (a PendingFile), else not at all.
class TiffLabelWriter {
public:
    explicit TiffLabelWriter(const std::string& path);
    ~TiffLabelWriter();
    TiffLabelWriter(const TiffLabelWriter&) = delete;
    TiffLabelWriter& operator=(const TiffLabelWriter&) = delete;

    // Starts the next page of width x height; then `height` calls of write_row.
    void begin_page(int64_t width, int64_t height);
    void write_row(const uint8_t* row);
    // Completes the last page, flushes and renames the file into place.
    void finish();

    struct State;

private:
    std::unique_ptr<State> state_;
};

}  // namespace fcnrt
