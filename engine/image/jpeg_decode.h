// JPEG through libjpeg-turbo (Debian libjpeg62-turbo-dev, "libjpeg-dev"),
// which is fuzzed continuously upstream (OSS-Fuzz), instead of stb_image,
// whose Huffman table builder writes out of bounds on a 9-byte file.
//
// Decoding is row by row into samples that grow as rows arrive; data that ends
// early (libjpeg's "premature end of data" warning, which it would otherwise
// paper over with grey) is an error, as is a progressive file with an absurd
// number of scans; libjpeg's own whole-image buffers (progressive and
// multi-scan files) are capped in proportion to the file's size.
#pragma once

#include <cstddef>
#include <string>

#include "engine/image/image_io.h"

namespace fcnrt {

// True when the bytes start with a JPEG SOI marker and another marker.
bool looks_like_jpeg(const unsigned char* data, size_t size);

// Width, height and channels (1 for greyscale, 3 for anything else, which is
// decoded to RGB) from the header; bit depth 8. Throws fcnrt::Error(name, "", why).
ImageInfo read_jpeg_info(const unsigned char* data, size_t size, const std::string& name);

// The whole image, as read_jpeg_info describes it. `check` is called with the
// header's info before any sample is decoded (size limits); it throws to refuse.
Image decode_jpeg(const unsigned char* data, size_t size, const std::string& name,
                  void (*check)(const ImageInfo&, size_t file_size, const std::string& name));

}  // namespace fcnrt
