// The patchwise baseline: a patch classifier (metadata "patch": [ph, pw]) run
// on the patch around every pixel, B patches per Executor::run. It computes
// what the dense conversion (engine/passes/densify.h) computes, patch by
// patch, i.e. with no sharing of features between neighbouring patches: the
// baseline that the dense model's speed is judged against (Li et al. 2014).
//
// Coordinates are the dense model's: on an input [1, C, H, W] (H >= ph,
// W >= pw) the scores are [1, K, H - ph + 1, W - pw + 1], score (y, x) being
// the patch model on input[:, :, y : y + ph, x : x + pw]. For a mask of an
// image's own size the image gets the halo segment gives a densified model:
// ph // 2 rows on top, ph - 1 - ph // 2 below, pw // 2 columns on the left
// and pw - 1 - pw // 2 on the right, so pixel (y, x) is classified by the
// patch centred on it (the patch's centre is row ph // 2, column pw // 2).
//
// The batch: a patch model declares its input [N, C, ph, pw], usually with
// N fixed (1 in the exported models). open_batch_dimension() makes N open
// (the model is unchanged otherwise; every op takes any N), and B is the
// first of min(1024, pixels), its half, its quarter, ... whose run fits the
// memory budget.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "engine/executor.h"
#include "engine/graph.h"
#include "engine/image/image_io.h"
#include "engine/segment/preprocess.h"
#include "engine/segment/tiling.h"

namespace fcnrt {

// What the patchwise baseline reads of a patch model.
struct PatchwiseModel {
    std::string input;             // the graph input, [N, C, ph, pw]
    int64_t channels = 1;          // C
    int64_t patch[2] = {0, 0};     // ph, pw (metadata "patch")
    std::string output;            // the graph output used: [N, K] or [N, K, 1, 1] float32
    size_t output_index = 0;       // its place in the graph's outputs
    int64_t output_channels = 1;   // K
    int64_t classes = 2;           // K, or 2 for a one-channel output
    bool output_is_probs = false;  // produced by softmax over axis 1 (or sigmoid for K = 1)
};

// Throws fcnrt::Error(model.path) for a model that is not a patch classifier
// the baseline can run: no metadata "patch", not one input [N, C, ph, pw]
// matching it, or no float32 output [N, K] / [N, K, 1, 1] (class-index
// outputs are refused: the baseline stitches scores).
PatchwiseModel analyse_patchwise_model(const Model& model);

// Declares the batch dimension of the patch input open (null), so that one
// run takes any number of patches. Throws fcnrt::Error(model.path) when the
// model then does not run on a batch of 2 with outputs of batch 2 (a model
// that mixes patches across the batch).
void open_batch_dimension(Model& model, const PatchwiseModel& pm);

// The halo that makes the scores cover an image of height x width (above).
HaloPlan patchwise_halo(const PatchwiseModel& pm, int64_t height, int64_t width);

struct PatchwisePlan {
    int64_t batch = 0;       // patches per run (the last run of an image may have fewer)
    int64_t runs = 0;        // runs for the image
    size_t run_bytes = 0;    // one run: planned activation arena + weights + host copies
    size_t image_bytes = 0;  // the padded input and the score map of the whole image
    size_t peak_bytes = 0;   // run_bytes + image_bytes
    size_t budget_bytes = 0;
};

// Bytes one run of `batch` patches needs: the planned activation arena, the
// weights, and the host copies of the batch and its outputs.
size_t patchwise_run_bytes(const Model& model, const PatchwiseModel& pm, int64_t batch);

// The batch for `halo`'s image: the first of min(max_batch, pixels), its
// half, its quarter, ... whose peak fits `budget_bytes`. Throws fcnrt::Error(model.path)
// when not even one patch fits ("raise --max-memory").
PatchwisePlan plan_patchwise(const Model& model, const PatchwiseModel& pm, const HaloPlan& halo,
                             size_t budget_bytes, int64_t max_batch = 1024);

// Called after each run with (runs done, runs in all).
using RunProgress = std::function<void(size_t, size_t)>;

// The patch model on every ph x pw window of `input` [1, C, H, W]: scores
// [1, K, H - ph + 1, W - pw + 1] float32 (a [N, K, 1, 1] output read as
// [N, K]), `batch` windows per run in row-major order. Throws fcnrt::Error.
Tensor patchwise_scores(Executor& executor, const PatchwiseModel& pm, const Tensor& input,
                        int64_t batch, const RunProgress& progress = {});

// segment_image (engine/segment/tiling.h) for a patch model: the image with
// its halo, patchwise_scores, then labels (argmax over channels, the first of
// equal maxima) and, with `want_probs`, softmax scores (the model's own where
// its output is a softmax). Throws fcnrt::Error.
SegmentResult segment_image_patchwise(Executor& executor, const PatchwiseModel& pm,
                                      const HaloPlan& halo, const PatchwisePlan& plan,
                                      const Image& image, const InputTransform& transform,
                                      HaloMode halo_mode, bool want_probs,
                                      const RunProgress& progress = {});

}  // namespace fcnrt
