// libFuzzer target: every image decoder, probing (read_image_info) and
// decoding from a file (read_image: streamed PNG, libjpeg-turbo, stb_image for
// the rest, libtiff for every page of a TIFF, at most 4) and from memory
// (probe_image, decode_image).
#include <algorithm>

#include "engine/error.h"
#include "engine/image/image_io.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = fcnrt::fuzz::write_input(data, size, "image");
    int64_t pages = 1;
    try {
        pages = std::min<int64_t>(fcnrt::read_image_pages(path), 4);
    } catch (const fcnrt::Error&) {
    }
    for (int64_t page = 0; page < pages; ++page) {
        try {
            fcnrt::read_image_info(path, page);
        } catch (const fcnrt::Error&) {
        }
        try {
            fcnrt::read_image(path, page);
        } catch (const fcnrt::Error&) {
        }
    }
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    try {
        fcnrt::probe_image(bytes, "memory");
    } catch (const fcnrt::Error&) {
    }
    try {
        fcnrt::decode_image(bytes, "memory");
    } catch (const fcnrt::Error&) {
    }
    return 0;
}
