// Real segmentation nets exported by tools/export_onnx_models.py (torchvision's
// fcn_resnet50, deeplabv3_resnet50, lraspp_mobilenet_v3_large with random
// weights, and a small U-Net) run from their .onnx files on the fast CPU
// backend and compared with onnxruntime's outputs: relative max-norm error
// max|fcnrt - ort| / max|ort| at most 1e-4 (float32 through ~50 layers of
// different summation orders). Skips when the models are absent.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "engine/device.h"
#include "engine/executor.h"
#include "engine/io/npy.h"
#include "engine/model_loader.h"

namespace fcnrt {
namespace {

namespace fs = std::filesystem;

fs::path models_dir() {
    const char* env = std::getenv("FCNRT_ONNX_MODELS_DIR");
    return env ? fs::path(env) : fs::path(FCNRT_ONNX_MODELS_DIR);
}

class OnnxModels : public ::testing::TestWithParam<const char*> {};

TEST_P(OnnxModels, MatchesOnnxRuntime) {
    const fs::path dir = models_dir();
    const std::string name = GetParam();
    const fs::path onnx = dir / (name + ".onnx"), input = dir / (name + ".input.npy"),
                   expected = dir / (name + ".ort.npy");
    if (!fs::exists(onnx) || !fs::exists(input) || !fs::exists(expected))
        GTEST_SKIP() << "no exported " << name << " in " << dir
                     << " (run tools/export_onnx_models.py export DIR, then reference DIR)";
    const Model model = load_model(onnx.string());
    Executor ex(model, select_backend("cpu", nullptr));
    const std::vector<Tensor> got = ex.run({{model.graph.inputs[0].name, read_npy(input.string())}});
    const Tensor want = read_npy(expected.string());
    ASSERT_EQ(got.size(), 1u);
    ASSERT_EQ(got[0].shape(), want.shape());
    double err = 0, scale = 0;
    for (int64_t i = 0; i < want.numel(); ++i) {
        err = std::max(err, std::fabs(double(got[0].f32()[i]) - double(want.f32()[i])));
        scale = std::max(scale, std::fabs(double(want.f32()[i])));
    }
    const double rel = err / std::max(scale, 1e-30);
    std::cout << name << ": max-norm relative error vs onnxruntime " << rel << "\n";
    EXPECT_LE(rel, 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Exported, OnnxModels,
                         ::testing::Values("fcn_resnet50", "deeplabv3_resnet50",
                                           "lraspp_mobilenet_v3_large", "unet_small"));

}  // namespace
}  // namespace fcnrt
