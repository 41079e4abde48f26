// libFuzzer target: every image decoder, probing (read_image_info) and
// decoding from a file (read_image: streamed PNG, libjpeg-turbo, stb_image for
// the rest, libtiff) and from memory (decode_image).
#include "engine/error.h"
#include "engine/image/image_io.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = fcnrt::fuzz::write_input(data, size, "image");
    try {
        fcnrt::read_image_info(path);
    } catch (const fcnrt::Error&) {
    }
    try {
        fcnrt::read_image(path);
    } catch (const fcnrt::Error&) {
    }
    try {
        fcnrt::decode_image(std::string(reinterpret_cast<const char*>(data), size), "memory");
    } catch (const fcnrt::Error&) {
    }
    return 0;
}
