// libFuzzer target: a weights file in the safetensors layout, read and
// validated on its own (engine/io/safetensors.h).
#include "engine/error.h"
#include "engine/io/safetensors.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = fcnrt::fuzz::write_input(data, size, "w.safetensors");
    try {
        fcnrt::read_safetensors(path);
    } catch (const fcnrt::Error&) {
    }
    return 0;
}
