// libFuzzer target: a graph JSON beside valid weights (the golden VALID U-Net's,
// tests/golden/graph_unet_valid/model.safetensors): parsing, validation, the
// load-time passes, then planning and a small CPU run when the graph loads.
#include <unistd.h>

#include "engine/error.h"
#include "engine/model_loader.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const bool linked = [] {
        const std::string weights = fcnrt::fuzz::source_file("tests/golden/graph_unet_valid/model.safetensors");
        return ::symlink(weights.c_str(), (fcnrt::fuzz::scratch_dir() + "model.safetensors").c_str()) == 0;
    }();
    if (!linked) __builtin_trap();
    const std::string path = fcnrt::fuzz::write_input(data, size, "model.json");
    try {
        const fcnrt::Model model = fcnrt::load_model(path);
        fcnrt::fuzz::run_small(model);
    } catch (const fcnrt::Error&) {
    }
    return 0;
}
