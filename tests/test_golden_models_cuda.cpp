// Every golden model (tests/golden_cases.h) run through loader, passes, planner and
// executor on the CUDA backend, against PyTorch's outputs, with and without the
// load-time passes; a second run on the same plan must repeat the first bit for bit.
// Without a usable CUDA device the test is SKIPPED, saying why.
//
// The executor's --precision: the host backends refuse the tensor-core formats, and
// on CUDA zoo goldens run at tf32, bf16 and fp16 (their convolutions and transposed
// convolutions on the tensor cores, kernels/cuda/conv_tensor_core.cu, whose error
// bounds per element are derived and tested in test_conv_tensor_core_cuda): SegNet,
// Dilation and the cell-patch classifier (its dense head too) here, FCN-8s (three
// conv_transpose layers) in ConvTransposeTakesTensorCorePath. Here the whole models are held to
// 16 unit roundoffs of the format (relative max-norm): not a derived bound (errors
// compound through layers) but a sanity bound with a margin (the measured errors,
// README's table, are within about 5 unit roundoffs); they must differ from the fp32 run
// (the tensor-core path was taken) and repeat bit for bit.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "engine/device.h"
#include "engine/error.h"
#include "engine/executor.h"
#include "engine/graph.h"
#include "engine/op_registry.h"
#include "engine/io/npy.h"
#include "engine/model_loader.h"
#include "kernels/precision.h"
#include "tests/golden_cases.h"

namespace fcnrt {
namespace {

TEST(GoldenModelsCuda, MatchPyTorch) {
    std::string why;
    if (!cuda_usable(&why)) GTEST_SKIP() << "no usable CUDA device: " << why;
    const auto cases = test::golden_cases();
    ASSERT_GE(cases.size(), 100u);
    for (const auto& c : cases) {
        test::run_golden_case(c, "cuda", true);
        test::run_golden_case(c, "cuda", false);
    }
}

TEST(GoldenModelsCuda, HostBackendsRefuseTensorCorePrecisions) {
    const Model model = load_model(test::golden_dir() + "/zoo_segnet/model.json");
    for (const char* device : {"cpu", "reference"}) {
        EXPECT_THROW(Executor(model, select_backend(device, nullptr), Precision::Tf32), Error) << device;
        EXPECT_NO_THROW(Executor(model, select_backend(device, nullptr), Precision::Fp32)) << device;
    }
}

TEST(GoldenModelsCuda, TensorCorePrecisions) {
    std::string why;
    if (!cuda_usable(&why)) GTEST_SKIP() << "no usable CUDA device: " << why;
    for (const auto& c : test::golden_cases()) {
        if (c.name != "zoo_segnet" && c.name != "zoo_dilation" && c.name != "zoo_cellpatch") continue;
        const Model model = load_model(c.dir + "/model.json");
        std::map<std::string, Tensor> inputs;
        for (const std::string& in : c.inputs) inputs[in] = read_npy(c.dir + "/input_" + in + ".npy");
        const Tensor expected = read_npy(c.dir + "/output_" + c.outputs[0] + ".npy");
        const Tensor fp32 = Executor(model, select_backend("cuda", nullptr)).run(inputs)[0];
        for (Precision p : {Precision::Tf32, Precision::Bf16, Precision::Fp16}) {
            SCOPED_TRACE(c.name + " at " + precision_name(p));
            Executor executor(model, select_backend("cuda", nullptr), p);
            const Tensor got = executor.run(inputs)[0];
            EXPECT_LE(test::relative_max_error(got, expected), 16 * precision_unit_roundoff(p));
            EXPECT_GT(test::relative_max_error(got, fp32), 0.0) << "the fp32 path ran";
            EXPECT_EQ(test::relative_max_error(executor.run(inputs)[0], got), 0.0) << "rerun differs";
        }
    }
}

// FCN-8s's three conv_transpose layers (strides 2, 2 and 8) take the tensor-core
// path: at each format the model stays within the golden's sanity bound, and at
// tf32 (prepare packs alike for every format; one run each, the emulation being
// slow) the same model with their CUDA prepare removed, so that they run
// cuda::conv_transpose2d in fp32, gives a different result.
TEST(GoldenModelsCuda, ConvTransposeTakesTensorCorePath) {
    std::string why;
    if (!cuda_usable(&why)) GTEST_SKIP() << "no usable CUDA device: " << why;
    const std::string dir = test::golden_dir() + "/zoo_fcn8s";
    const Model model = load_model(dir + "/model.json");
    Model fp32_transposed = load_model(dir + "/model.json");
    std::unique_ptr<OpDef> plain;
    int transposed = 0;
    for (Node& n : fp32_transposed.graph.nodes) {
        if (n.op->name != "conv_transpose") continue;
        if (!plain) {
            plain = std::make_unique<OpDef>(*n.op);
            plain->prepare[int(BackendKind::Cuda)] = nullptr;
        }
        n.op = plain.get();
        ++transposed;
    }
    ASSERT_EQ(transposed, 3);
    const std::map<std::string, Tensor> inputs = {{model.graph.inputs[0].name, read_npy(dir + "/input_" + model.graph.inputs[0].name + ".npy")}};
    const Tensor expected = read_npy(dir + "/output_" + model.graph.outputs[0] + ".npy");
    for (Precision p : {Precision::Tf32, Precision::Bf16, Precision::Fp16}) {
        SCOPED_TRACE(precision_name(p));
        const Tensor tc = Executor(model, select_backend("cuda", nullptr), p).run(inputs)[0];
        EXPECT_LE(test::relative_max_error(tc, expected), 16 * precision_unit_roundoff(p));
        if (p != Precision::Tf32) continue;
        const Tensor mixed = Executor(fp32_transposed, select_backend("cuda", nullptr), p).run(inputs)[0];
        EXPECT_GT(test::relative_max_error(tc, mixed), 0.0) << "conv_transpose ran in fp32";
        EXPECT_LE(test::relative_max_error(mixed, expected), 16 * precision_unit_roundoff(p));
    }
}

TEST(GoldenModelsCuda, BackendDescribesDevice) {
    std::string why;
    if (!cuda_usable(&why)) GTEST_SKIP() << "no usable CUDA device: " << why;
    std::string chosen;
    const auto backend = select_backend("cuda", &chosen);
    EXPECT_EQ(backend->kind(), BackendKind::Cuda);
    EXPECT_EQ(backend->description().rfind("cuda: ", 0), 0u) << backend->description();
    EXPECT_NE(backend->stream(), nullptr);
}

}  // namespace
}  // namespace fcnrt
