// libFuzzer target: weights for a valid graph (the golden VALID U-Net's
// tests/golden/graph_unet_valid/model.json): the safetensors reader, then every
// weight's presence, dtype and shape against the graph, then a small CPU run.
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "engine/error.h"
#include "engine/model_loader.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const std::string graph = [] {
        std::ifstream in(fcnrt::fuzz::source_file("tests/golden/graph_unet_valid/model.json"));
        std::stringstream text;
        text << in.rdbuf();
        if (text.str().empty()) __builtin_trap();
        const std::string s = text.str();
        return fcnrt::fuzz::write_input(reinterpret_cast<const uint8_t*>(s.data()), s.size(), "model.json");
    }();
    fcnrt::fuzz::write_input(data, size, "model.safetensors");
    try {
        const fcnrt::Model model = fcnrt::load_model(graph);
        fcnrt::fuzz::run_small(model);
    } catch (const fcnrt::Error&) {
    }
    return 0;
}
