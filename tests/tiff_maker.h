// TIFFs made in the tests with libtiff itself (nothing large is committed):
// every layout engine/image/tiff_io.h reads, with known sample values.
#pragma once

#include <cstdint>
#include <string>

namespace fcnrt::test {

struct TiffSpec {
    int64_t width = 37, height = 29, pages = 1;
    int bits = 8;                  // 8 or 16
    int channels = 1;              // 1 grey, 3 RGB (2 and 4 add alpha)
    std::string compression = "none";  // none, lzw, deflate, packbits
    bool tiled = false;            // 16 x 16 tiles, else strips
    int64_t rows_per_strip = 5;
    bool bigtiff = false;
};

// The sample every page of a TiffSpec file holds at (page, y, x, c).
uint32_t tiff_sample(const TiffSpec& spec, int64_t page, int64_t y, int64_t x, int c);

// Writes `spec` to `path`; false (with libtiff's message on stderr) on failure.
bool write_test_tiff(const std::string& path, const TiffSpec& spec);

}  // namespace fcnrt::test
