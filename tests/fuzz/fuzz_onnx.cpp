// libFuzzer target: an ONNX model read directly (protobuf parse, import with
// folding and op mapping, the fcnrt loader), then planning and a small CPU run.
#include "engine/error.h"
#include "engine/model_loader.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = fcnrt::fuzz::write_input(data, size, "model.onnx");
    try {
        const fcnrt::Model model = fcnrt::load_model(path);
        fcnrt::fuzz::run_small(model);
    } catch (const fcnrt::Error&) {
    }
    return 0;
}
