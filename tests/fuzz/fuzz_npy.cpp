// libFuzzer target: a NumPy .npy file, as `fcnrt run` reads its inputs
// (engine/io/npy.h), with the conversion note asked for.
#include "engine/error.h"
#include "engine/io/npy.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = fcnrt::fuzz::write_input(data, size, "x.npy");
    try {
        std::string note;
        fcnrt::read_npy(path, &note);
    } catch (const fcnrt::Error&) {
    }
    return 0;
}
