// fcnrt segment on two CUDA devices (--device cuda:0,cuda:1 / cuda:all): the
// device list, one backend per device, and segment_image_on sharing the tiles
// of an image between the two executors: the same labels and scores as one
// device, bit for bit, with both devices running tiles. Under the CUDA
// emulation the binary asks for two emulated devices (FCNRT_CUDA_EMU_DEVICES=2,
// set before the first CUDA call); on GPUs it needs two and is SKIPPED with fewer.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <random>
#include <string>

#include "engine/cuda_backend.h"
#include "engine/device.h"
#include "engine/error.h"
#include "engine/executor.h"
#include "engine/model_loader.h"
#include "engine/multi_device.h"
#include "engine/segment/tiling.h"

#if FCNRT_CUDA_EMULATION
namespace {
// Runs during static initialisation, before any CUDA call reads the variable.
const bool kTwoEmulatedDevices = setenv("FCNRT_CUDA_EMU_DEVICES", "2", 1) == 0;
}  // namespace
#endif

namespace fcnrt {
namespace {

const std::string kGolden = std::string(FCNRT_SOURCE_DIR) + "/tests/golden/";

#define SKIP_WITHOUT_TWO_GPUS()                                                      \
    do {                                                                             \
        std::string why_;                                                            \
        if (!cuda_usable(&why_)) GTEST_SKIP() << "no usable CUDA device: " << why_;  \
        if (cuda_device_count() < 2)                                                 \
            GTEST_SKIP() << "needs two CUDA devices, found " << cuda_device_count(); \
    } while (0)

TEST(MultiGpu, DeviceLists) {
#if FCNRT_CUDA_EMULATION
    ASSERT_TRUE(kTwoEmulatedDevices);
#endif
    SKIP_WITHOUT_TWO_GPUS();
    EXPECT_TRUE(is_cuda_device_list("cuda:all"));
    EXPECT_TRUE(is_cuda_device_list("cuda:1"));
    EXPECT_FALSE(is_cuda_device_list("cuda"));
    EXPECT_FALSE(is_cuda_device_list("cpu"));
    std::string chosen;
    const auto all = select_cuda_backends("cuda:all", &chosen);
    ASSERT_EQ(all.size(), size_t(cuda_device_count()));
    for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(cuda_backend_device(*all[i]), int(i));
    EXPECT_NE(chosen.find("CUDA devices"), std::string::npos) << chosen;
    const auto reversed = select_cuda_backends("cuda:1,cuda:0", nullptr);
    ASSERT_EQ(reversed.size(), 2u);
    EXPECT_EQ(cuda_backend_device(*reversed[0]), 1);
    EXPECT_EQ(cuda_backend_device(*reversed[1]), 0);
    EXPECT_EQ(cuda_backend_device(*select_backend("cuda:1", nullptr)), 1);
    for (const char* bad :
         {"cuda:0,cuda:0", "cuda:99", "cuda:", "cuda:x", "cuda:0,", "cuda:0,gpu:1"})
        EXPECT_THROW(select_cuda_backends(bad, nullptr), Error) << bad;
    EXPECT_THROW(select_backend("cuda:0,cuda:1", nullptr), Error);  // one-device commands
}

Image random_image(int64_t h, int64_t w, int channels, uint32_t seed) {
    Image im = Image::blank({w, h, channels, 8});
    auto* s = static_cast<uint8_t*>(im.mutable_samples());
    std::mt19937 rng(seed);
    for (int64_t i = 0; i < w * h * channels; ++i) s[i] = uint8_t(rng());
    return im;
}

// Each executor allocates and runs on its own device (memcheck would flag a
// kernel touching the other device's memory without peer access).
TEST(MultiGpu, TilesSpreadOverTwoDevicesGiveOneDevicesResult) {
    SKIP_WITHOUT_TWO_GPUS();
    const Model m = load_model(kGolden + "graph_unet_valid/model.json");
    const SegmentModel sm = analyse_segment_model(m);
    const Image im = random_image(45, 37, int(sm.channels), 4537);
    const InputTransform t(parse_preprocess(m, sm.channels), im.info(), "im.png");
    const HaloPlan halo = plan_halo(m, sm, 45, 37);
    const TilePlan plan = plan_tiles(m, sm, halo, run_bytes(m, sm, 28, 28));
    ASSERT_GE(plan.tiles.size(), 4u);

    Executor one(m, select_backend("cuda:0", nullptr));
    const SegmentResult expected =
        segment_image(one, sm, halo, plan, im, t, HaloMode::Reflect, true);

    const auto backends = select_cuda_backends("cuda:0,cuda:1", nullptr);
    Executor a(m, backends[0]), b(m, backends[1]);
    const size_t on_b_before = backends[1]->allocated_bytes();
    size_t calls = 0;
    const SegmentResult got = segment_image_on(
        {&a, &b}, sm, halo, plan, im, t, HaloMode::Reflect, true, [&](size_t done, size_t all) {
            EXPECT_EQ(done, ++calls);  // one call at a time, counting up
            EXPECT_EQ(all, plan.tiles.size());
        });
    EXPECT_EQ(calls, plan.tiles.size());
    EXPECT_EQ(got.labels, expected.labels);
    ASSERT_EQ(got.probs.shape(), expected.probs.shape());
    EXPECT_EQ(std::memcmp(got.probs.data(), expected.probs.data(), expected.probs.bytes()), 0);
    // Both devices ran tiles (one graph replay per tile), every tile once.
    EXPECT_GT(a.graph_replays(), 0u);
    EXPECT_GT(b.graph_replays(), 0u);
    EXPECT_EQ(a.graph_replays() + b.graph_replays(), plan.tiles.size());
    EXPECT_GE(backends[1]->peak_allocated_bytes(), on_b_before);
}

// An image that fits one tile is cut into at least one tile per device (tiling
// is exact), so both devices work on it; the result is the untiled one's.
TEST(MultiGpu, AnUntiledImageIsSharedToo) {
    SKIP_WITHOUT_TWO_GPUS();
    const Model m = load_model(kGolden + "graph_unet_valid/model.json");
    const SegmentModel sm = analyse_segment_model(m);
    const Image im = random_image(41, 33, int(sm.channels), 4133);
    const InputTransform t(parse_preprocess(m, sm.channels), im.info(), "im.png");
    const HaloPlan halo = plan_halo(m, sm, 41, 33);
    const size_t staging = gpu_staging_bytes_per_pixel(sm, true);
    const TilePlan whole = plan_tiles(m, sm, halo, SIZE_MAX, staging);
    ASSERT_EQ(whole.tiles.size(), 1u);
    const TilePlan shared = plan_tiles_for_devices(m, sm, halo, SIZE_MAX, staging, 2);
    EXPECT_GE(shared.tiles.size(), 2u);
    EXPECT_EQ(shared.budget_bytes, SIZE_MAX);
    EXPECT_EQ(plan_tiles_for_devices(m, sm, halo, SIZE_MAX, staging, 1).tiles.size(), 1u);

    Executor one(m, select_backend("cuda:0", nullptr));
    const SegmentResult expected =
        segment_image(one, sm, halo, whole, im, t, HaloMode::Reflect, true);
    const auto backends = select_cuda_backends("cuda:all", nullptr);
    Executor a(m, backends[0]), b(m, backends[1]);
    const SegmentResult got =
        segment_image_on({&a, &b}, sm, halo, shared, im, t, HaloMode::Reflect, true);
    EXPECT_EQ(got.labels, expected.labels);
    EXPECT_EQ(std::memcmp(got.probs.data(), expected.probs.data(), expected.probs.bytes()), 0);
    EXPECT_GT(a.graph_replays(), 0u);
    EXPECT_GT(b.graph_replays(), 0u);
}

}  // namespace
}  // namespace fcnrt
