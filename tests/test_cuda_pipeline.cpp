// The CUDA pipeline around the kernels (a GPU, or the CUDA emulation in CI, where
// device work is deferred until the host waits, so a missing stream or event
// dependency fails every time):
//  - CUDA graphs: the executor's per-node loop captured once per planned shape
//    and replayed; results equal the graph-off run bit for bit, a new shape
//    recaptures, per-node timers run graph-off, the CPU backends never capture.
// Without a usable CUDA device every test is SKIPPED, saying why.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <string>

#include "engine/backend.h"
#include "engine/device.h"
#include "engine/executor.h"
#include "engine/model_loader.h"

namespace fcnrt {
namespace {

const std::string kGolden = std::string(FCNRT_SOURCE_DIR) + "/tests/golden/";

#define SKIP_WITHOUT_CUDA()                                                           \
    do {                                                                              \
        std::string why_;                                                             \
        if (!cuda_usable(&why_)) GTEST_SKIP() << "no usable CUDA device: " << why_;   \
    } while (0)

Tensor random_input(const Shape& shape, uint32_t seed) {
    Tensor t(DType::F32, shape);
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = u(rng);
    return t;
}

bool same_bits(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (a[i].shape() != b[i].shape() || a[i].dtype() != b[i].dtype() ||
            std::memcmp(a[i].data(), b[i].data(), a[i].bytes()) != 0)
            return false;
    return true;
}

// graph_unet_padded: convs, pools, upsampling and concats, open spatial dims.
TEST(CudaGraphs, ReplayEqualsNodeByNodeAndRecapturesPerShape) {
    SKIP_WITHOUT_CUDA();
    const Model m = load_model(kGolden + "graph_unet_padded/model.json");
    const std::string in = m.graph.inputs[0].name;
    const int64_t c = m.graph.inputs[0].shape[1];
    const Tensor a = random_input({1, c, 12, 20}, 1), b = random_input({1, c, 16, 8}, 2);

    Executor off(m, select_backend("cuda", nullptr));
    off.set_graphs(false);
    const auto off_a = off.run({{in, a}}), off_b = off.run({{in, b}});
    EXPECT_EQ(off.graph_captures(), 0u);
    EXPECT_EQ(off.graph_replays(), 0u);

    Executor on(m, select_backend("cuda", nullptr));
    EXPECT_TRUE(on.graphs());  // the default
    const auto on_a1 = on.run({{in, a}});
    const auto on_a2 = on.run({{in, a}});
    EXPECT_EQ(on.graph_captures(), 1u);  // captured once for the shape, replayed twice
    EXPECT_EQ(on.graph_replays(), 2u);
    EXPECT_TRUE(same_bits(on_a1, off_a));
    EXPECT_TRUE(same_bits(on_a2, off_a));

    // A new shape re-plans: the old graph points into the freed arena, so it is
    // captured again; back to the first shape, again.
    const auto on_b = on.run({{in, b}});
    EXPECT_EQ(on.graph_captures(), 2u);
    EXPECT_TRUE(same_bits(on_b, off_b));
    const auto on_a3 = on.run({{in, a}});
    EXPECT_EQ(on.graph_captures(), 3u);
    EXPECT_TRUE(same_bits(on_a3, off_a));

    // Different inputs at the same shape through the same graph: the graph reads
    // the arena, not a copy of the first input.
    const Tensor a2 = random_input({1, c, 12, 20}, 3);
    const auto on_a4 = on.run({{in, a2}});
    EXPECT_EQ(on.graph_captures(), 3u);
    EXPECT_FALSE(same_bits(on_a4, off_a));
    EXPECT_TRUE(same_bits(on_a4, off.run({{in, a2}})));
}

// Per-node timers need marks between the nodes: execute(timer) launches node by
// node even with graphs on, and the timings are there after synchronize().
TEST(CudaGraphs, NodeTimersRunGraphOff) {
    SKIP_WITHOUT_CUDA();
    const Model m = load_model(kGolden + "graph_unet_padded/model.json");
    const std::string in = m.graph.inputs[0].name;
    const Tensor a = random_input({1, m.graph.inputs[0].shape[1], 12, 20}, 1);
    Executor ex(m, select_backend("cuda", nullptr));
    const auto expected = ex.run({{in, a}});
    ASSERT_EQ(ex.graph_captures(), 1u);
    auto timer = ex.backend().make_timer(m.graph.nodes.size() + 1);
    ex.upload_inputs({{in, a}});
    ex.execute(timer.get());
    std::vector<Tensor> got;
    ex.download_outputs(got);
    ex.backend().synchronize();
    EXPECT_EQ(ex.graph_replays(), 1u);  // the timed run did not replay
    for (size_t i = 0; i < m.graph.nodes.size(); ++i) {
        const double ms = timer->elapsed_ms(i, i + 1);
        EXPECT_TRUE(std::isfinite(ms) && ms >= 0) << i << ": " << ms;
    }
    EXPECT_TRUE(same_bits(got, expected));
}

// The host backends record nothing: graphs on or off, they run node by node.
TEST(CudaGraphs, CpuBackendsNeverCapture) {
    const Model m = load_model(kGolden + "graph_unet_padded/model.json");
    const std::string in = m.graph.inputs[0].name;
    const Tensor a = random_input({1, m.graph.inputs[0].shape[1], 12, 20}, 1);
    Executor ex(m, select_backend("cpu", nullptr));
    const auto r1 = ex.run({{in, a}});
    const auto r2 = ex.run({{in, a}});
    EXPECT_EQ(ex.graph_captures(), 0u);
    EXPECT_EQ(ex.graph_replays(), 0u);
    EXPECT_TRUE(same_bits(r1, r2));
}

}  // namespace
}  // namespace fcnrt
