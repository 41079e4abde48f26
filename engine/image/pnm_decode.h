// Binary PGM (P5) and PPM (P6), 8- or 16-bit, read here instead of by
// stb_image, whose header parser overflows a signed int on long numbers
// (found by tests/fuzz, fuzz_image; the input is in the regression corpus).
// Samples are kept as stored (no rescaling by maxval), as stb did.
#pragma once

#include <cstddef>
#include <string>

#include "engine/image/image_io.h"

namespace fcnrt {

// True when the bytes start with "P5" or "P6" and whitespace.
bool looks_like_pnm(const unsigned char* data, size_t size);

// The header: width, height, 1 or 3 channels, depth 8 (maxval < 256) or 16.
// Checks that the data after the header holds every sample. Throws
// fcnrt::Error(name, "", why). `data_offset` receives where samples start.
ImageInfo read_pnm_info(const unsigned char* data, size_t size, const std::string& name,
                        size_t* data_offset = nullptr);

// The whole image (after the same checks; 16-bit samples are big-endian in
// the file, host order in the Image).
Image decode_pnm(const unsigned char* data, size_t size, const std::string& name);

}  // namespace fcnrt
