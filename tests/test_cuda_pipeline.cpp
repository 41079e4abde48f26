// The CUDA pipeline around the kernels (a GPU, or the CUDA emulation in CI, where
// device work is deferred until the host waits, so a missing stream or event
// dependency fails every time):
//  - CUDA graphs: the executor's per-node loop captured once per planned shape
//    and replayed; results equal the graph-off run bit for bit, a new shape
//    recaptures, per-node timers run graph-off, the CPU backends never capture.
//  - The segmentation head kernel (kernels/cuda/segment_head.cu) against its CPU
//    reference classify_pixel: odd windows, ties, NaN, poisoned outputs, guards.
//  - fcnrt segment on CUDA (engine/segment/gpu_tiles.cpp): labels are the CPU
//    rule on the device's own scores, probabilities within rounding, tiled equals
//    untiled through the double-buffered pipeline, labels equal the CPU
//    backend's, no scores brought back unless asked.
// Without a usable CUDA device every test is SKIPPED, saying why.
#include <cuda_runtime_api.h>
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
#include "engine/segment/classify_pixel.h"
#include "engine/segment/tiling.h"
#include "kernels/cuda/segment_head.h"

namespace fcnrt {
namespace {

const std::string kGolden = std::string(FCNRT_SOURCE_DIR) + "/tests/golden/";

#define SKIP_WITHOUT_CUDA()                                                         \
    do {                                                                            \
        std::string why_;                                                           \
        if (!cuda_usable(&why_)) GTEST_SKIP() << "no usable CUDA device: " << why_; \
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

// ---- the segmentation head kernel ----

// Scores in [-2, 2] in steps of 1/2 (many exact ties), a NaN now and then.
std::vector<float> tie_scores(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<float> v(n);
    for (float& x : v) x = rng() % 37 == 0 ? NAN : float(int(rng() % 9) - 4) / 2.0f;
    return v;
}

bool same_float(float a, float b) {
    return (std::isnan(a) && std::isnan(b)) || a == b;
}

void expect_head_matches_reference(int64_t K, int64_t H, int64_t W, int64_t y0, int64_t x0,
                                   int64_t rows, int64_t cols, bool scores_are_probs,
                                   bool want_probs, uint32_t seed) {
    SCOPED_TRACE("K " + std::to_string(K) + ", " + std::to_string(rows) + "x" +
                 std::to_string(cols) + " at " + std::to_string(y0) + "," + std::to_string(x0) +
                 (scores_are_probs ? ", probabilities in" : ", logits in") +
                 (want_probs ? ", probabilities out" : ""));
    const std::vector<float> scores = tie_scores(size_t(K * H * W), seed);
    const int64_t classes = K == 1 ? 2 : K, pixels = rows * cols;
    constexpr size_t kGuard = 64;
    float* d_scores = nullptr;
    uint8_t* d_labels = nullptr;
    float* d_probs = nullptr;
    ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&d_scores), scores.size() * 4), cudaSuccess);
    ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&d_labels), size_t(pixels) + kGuard),
              cudaSuccess);
    ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&d_probs), size_t(classes * pixels) * 4 + kGuard),
              cudaSuccess);
    ASSERT_EQ(cudaMemcpy(d_scores, scores.data(), scores.size() * 4, cudaMemcpyHostToDevice),
              cudaSuccess);
    // Poison: labels 0xab (171, no class here), probabilities 0x7f7f7f7f (3.4e38).
    ASSERT_EQ(cudaMemset(d_labels, 0xab, size_t(pixels) + kGuard), cudaSuccess);
    ASSERT_EQ(cudaMemset(d_probs, 0x7f, size_t(classes * pixels) * 4 + kGuard), cudaSuccess);

    cuda::SegmentHeadArgs a;
    a.scores = d_scores;
    a.k = K;
    a.height = H;
    a.width = W;
    a.y0 = y0;
    a.x0 = x0;
    a.rows = rows;
    a.cols = cols;
    a.scores_are_probs = scores_are_probs;
    a.labels = d_labels;
    a.probs = want_probs ? d_probs : nullptr;
    cuda::segment_head(a, nullptr);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);

    std::vector<uint8_t> labels(size_t(pixels) + kGuard);
    std::vector<float> probs(size_t(classes * pixels) + kGuard / 4);
    ASSERT_EQ(cudaMemcpy(labels.data(), d_labels, labels.size(), cudaMemcpyDeviceToHost),
              cudaSuccess);
    ASSERT_EQ(cudaMemcpy(probs.data(), d_probs, probs.size() * 4, cudaMemcpyDeviceToHost),
              cudaSuccess);
    cudaFree(d_scores);
    cudaFree(d_labels);
    cudaFree(d_probs);

    std::vector<float> scratch(static_cast<size_t>(K)), want(static_cast<size_t>(classes));
    size_t label_errors = 0, prob_errors = 0;
    for (int64_t y = 0; y < rows; ++y)
        for (int64_t x = 0; x < cols; ++x) {
            const size_t i = size_t(y * cols + x);
            const float* s = scores.data() + (y0 + y) * W + (x0 + x);
            const uint8_t expected =
                classify_pixel(s, H * W, K, scores_are_probs, want.data(), 1, scratch.data());
            label_errors += labels[i] != expected;
            if (!want_probs) continue;
            for (int64_t k = 0; k < classes; ++k) {
                const float got = probs[size_t(k * pixels) + i];
                const float w = want[size_t(k)];
                const bool ok = std::isnan(w)
                                    ? std::isnan(got)
                                    : std::fabs(got - w) <= 1e-5f * std::max(1.0f, std::fabs(w));
                prob_errors += !ok;
            }
        }
    EXPECT_EQ(label_errors, 0u);
    EXPECT_EQ(prob_errors, 0u);
    for (size_t g = 0; g < kGuard; ++g)
        EXPECT_EQ(labels[size_t(pixels) + g], 0xab) << "guard " << g;
    const size_t written = want_probs ? size_t(classes * pixels) : 0;
    for (size_t i = written; i < probs.size(); ++i) EXPECT_TRUE(same_float(probs[i], probs.back()));
    uint32_t bits = 0;
    std::memcpy(&bits, &probs.back(), 4);
    EXPECT_EQ(bits, 0x7f7f7f7fu);  // untouched
}

TEST(SegmentHead, MatchesClassifyPixelOnOddWindows) {
    SKIP_WITHOUT_CUDA();
    for (int64_t K : {1, 2, 5, 21})
        for (bool probs_in : {false, true}) {
            expect_head_matches_reference(K, 11, 13, 2, 3, 7, 9, probs_in, true, uint32_t(K));
            expect_head_matches_reference(K, 11, 13, 0, 0, 11, 13, probs_in, false,
                                          uint32_t(K + 7));
            expect_head_matches_reference(K, 5, 300, 1, 17, 3, 283, probs_in, true,
                                          uint32_t(K + 9));
        }
}

// ---- segment on CUDA ----

Image random_image(int64_t h, int64_t w, int channels, uint32_t seed) {
    Image im = Image::blank({w, h, channels, 8});
    auto* s = static_cast<uint8_t*>(im.mutable_samples());
    std::mt19937 rng(seed);
    for (int64_t i = 0; i < w * h * channels; ++i) s[i] = uint8_t(rng());
    return im;
}

struct Case {
    Model model;
    SegmentModel sm;
    Image image;
    HaloPlan halo;
    InputTransform transform;
    Case(const std::string& model_path, int64_t h, int64_t w)
        : model(load_model(model_path)),
          sm(analyse_segment_model(model)),
          image(random_image(h, w, int(sm.channels), uint32_t(h * 100 + w))),
          halo(plan_halo(model, sm, h, w)),
          transform(parse_preprocess(model, sm.channels), image.info(), "im.png") {}
    SegmentResult segment(Executor& ex, size_t budget, bool probs) const {
        return segment_image(ex, sm, halo, plan_tiles(model, sm, halo, budget), image, transform,
                             HaloMode::Reflect, probs);
    }
};

// The device's labels are classify_pixel's on the device's own scores (the
// model run untiled on the same CUDA backend, scores brought back): identical;
// probabilities within rounding (expf on the device).
TEST(SegmentCuda, LabelsAreTheCpuRuleOnTheDeviceScores) {
    SKIP_WITHOUT_CUDA();
    for (const char* name : {"graph_unet_valid", "graph_unet_padded"}) {
        SCOPED_TRACE(name);
        const Case c(kGolden + name + "/model.json", 45, 37);
        Executor ex(c.model, select_backend("cuda", nullptr));
        const SegmentResult r = c.segment(ex, SIZE_MAX, true);
        ASSERT_EQ(ex.graph_captures(), 1u);  // segment replays the graph too

        Tensor in(DType::F32, {1, c.sm.channels, c.halo.input[0], c.halo.input[1]});
        c.transform.fill(c.image, -c.halo.pad[0], -c.halo.pad[1], c.halo.input[0], c.halo.input[1],
                         HaloMode::Reflect, in.f32());
        const std::vector<Tensor> outs = ex.run({{c.sm.input, in}});
        const Tensor& o = outs.at(c.sm.output_index);
        const int64_t K = o.shape()[1], oh = o.shape()[2], ow = o.shape()[3];
        std::vector<float> scratch(static_cast<size_t>(K)), p(static_cast<size_t>(c.sm.classes));
        size_t label_errors = 0, prob_errors = 0;
        const size_t plane = size_t(r.height * r.width);
        for (int64_t y = 0; y < r.height; ++y)
            for (int64_t x = 0; x < r.width; ++x) {
                const uint8_t want =
                    classify_pixel(o.f32() + y * ow + x, oh * ow, K, c.sm.output_is_probs, p.data(),
                                   1, scratch.data());
                const size_t i = size_t(y * r.width + x);
                label_errors += r.labels[i] != want;
                for (int64_t k = 0; k < c.sm.classes; ++k)
                    prob_errors +=
                        std::fabs(r.probs.f32()[size_t(k) * plane + i] - p[size_t(k)]) > 1e-5f;
            }
        EXPECT_EQ(label_errors, 0u);
        EXPECT_EQ(prob_errors, 0u);
    }
}

// Tiles through the double-buffered pipeline (several shapes, so re-plans
// between tiles) stitch to the untiled result bit for bit, with scores streamed
// to a sink or not asked for at all; and the labels equal the CPU backend's.
TEST(SegmentCuda, TiledEqualsUntiledAndTheCpuPath) {
    SKIP_WITHOUT_CUDA();
    const Case c(kGolden + "graph_unet_valid/model.json", 45, 37);
    Executor ex(c.model, select_backend("cuda", nullptr));
    const SegmentResult whole = c.segment(ex, SIZE_MAX, true);
    const TilePlan plan = plan_tiles(c.model, c.sm, c.halo, run_bytes(c.model, c.sm, 28, 28));
    ASSERT_GE(plan.tiles.size(), 4u);
    size_t shapes = 1;
    for (size_t i = 1; i < plan.tiles.size(); ++i)
        shapes += plan.tiles[i].in_h != plan.tiles[i - 1].in_h ||
                  plan.tiles[i].in_w != plan.tiles[i - 1].in_w;
    EXPECT_GE(shapes, 2u);

    const size_t before = ex.graph_captures();
    size_t progress_calls = 0;
    const SegmentResult tiled =
        segment_image(ex, c.sm, c.halo, plan, c.image, c.transform, HaloMode::Reflect, true,
                      [&](size_t done, size_t all) {
                          EXPECT_EQ(done, ++progress_calls);
                          EXPECT_EQ(all, plan.tiles.size());
                      });
    EXPECT_EQ(progress_calls, plan.tiles.size());
    EXPECT_EQ(ex.graph_captures() - before, shapes);  // one capture per shape run
    EXPECT_EQ(tiled.labels, whole.labels);
    ASSERT_EQ(tiled.probs.shape(), whole.probs.shape());
    EXPECT_EQ(std::memcmp(tiled.probs.data(), whole.probs.data(), whole.probs.bytes()), 0);

    // Streamed: each tile's scores once, equal to the whole image's.
    const int64_t K = c.sm.classes;
    std::vector<float> streamed(size_t(K * whole.height * whole.width), NAN);
    const SegmentResult sunk = segment_image(
        ex, c.sm, c.halo, plan, c.image, c.transform, HaloMode::Reflect, true, {},
        [&](const Tile& t, const float* probs) {
            for (int64_t k = 0; k < K; ++k)
                for (int64_t y = 0; y < t.out_h; ++y)
                    for (int64_t x = 0; x < t.out_w; ++x)
                        streamed[size_t((k * whole.height + t.out_y + y) * whole.width + t.out_x +
                                        x)] = probs[(k * t.out_h + y) * t.out_w + x];
        });
    EXPECT_EQ(sunk.probs.numel(), 0);
    EXPECT_EQ(sunk.labels, whole.labels);
    EXPECT_EQ(std::memcmp(streamed.data(), whole.probs.data(), whole.probs.bytes()), 0);

    // No scores asked for: labels only.
    const SegmentResult labels_only =
        segment_image(ex, c.sm, c.halo, plan, c.image, c.transform, HaloMode::Reflect, false);
    EXPECT_EQ(labels_only.probs.numel(), 0);
    EXPECT_EQ(labels_only.labels, whole.labels);

    // The CPU backend's labels (its own arithmetic; random weights keep clear margins).
    Executor cpu(c.model, select_backend("cpu", nullptr));
    const SegmentResult on_cpu = c.segment(cpu, SIZE_MAX, true);
    EXPECT_EQ(on_cpu.labels, whole.labels);
}

// The planned peak with the pipeline's staging buffers counted bounds the device
// memory the backend really holds while segmenting (weights, arena, staging).
TEST(SegmentCuda, DeviceMemoryStaysWithinThePlannedPeak) {
    SKIP_WITHOUT_CUDA();
    const Case c(kGolden + "graph_unet_valid/model.json", 45, 37);
    for (bool probs : {true, false}) {
        SCOPED_TRACE(probs ? "with probabilities" : "labels only");
        const size_t staging = gpu_staging_bytes_per_pixel(c.sm, probs);
        EXPECT_GT(staging, 0u);
        const TilePlan plan = plan_tiles(
            c.model, c.sm, c.halo, run_bytes(c.model, c.sm, 28, 28) + 28 * 28 * staging, staging);
        ASSERT_GE(plan.tiles.size(), 4u);
        auto backend = select_backend("cuda", nullptr);
        Executor ex(c.model, backend);
        segment_image(ex, c.sm, c.halo, plan, c.image, c.transform, HaloMode::Reflect, probs);
        EXPECT_LE(backend->peak_allocated_bytes(), plan.peak_bytes);
        EXPECT_LE(plan.peak_bytes, plan.budget_bytes);
    }
}

}  // namespace
}  // namespace fcnrt
