// The one translation unit that compiles stb_image and stb_image_write (Debian
// libstb-dev). Their warnings are silenced here only: the code is upstream's.
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wtype-limits"
#endif

// Only the formats segment documents; no stdio (files are read by
// read_file_bytes, so errors name the file our way) and no HDR/PIC/PSD/GIF.
// No JPEG either: stb's decoder writes out of bounds on corrupt Huffman
// tables; libjpeg-turbo decodes JPEG (engine/image/jpeg_decode.cpp).
#define STBI_NO_STDIO
#define STBI_NO_HDR
#define STBI_NO_LINEAR
#define STBI_NO_PIC
#define STBI_NO_PSD
#define STBI_NO_GIF
#define STBI_NO_JPEG
// PNM neither: its header parser overflows an int (engine/image/pnm_decode.cpp reads PGM/PPM).
#define STBI_NO_PNM
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>

#define STBI_WRITE_NO_STDIO
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
