// Whole-image segmentation with a dense model: where the image sits in the
// model's input (the halo that gives a VALID net a mask of the image's own
// size), and exact tiled inference under a memory budget.
//
// Coordinates. The model's input is the image with `HaloPlan::pad` pixels of
// halo around it ("padded coordinates"). Output pixel (y, x) of the whole
// padded input is the image's pixel (y, x): the halo is chosen so.
//
// Exact tiling. The model is translation-equivariant on the grid of its
// largest stride: an input region starting at padded row a, with a a multiple
// of the alignment (the lcm of every tensor's stride), gives at its output row
// j what the whole input gives at row a + j (output stride 1), as long as
// everything that row depends on lies inside the region. So a tile delivering
// output rows [o0, o1) runs on input rows [a, b) with
//   a = the receptive field start of row o0, less one alignment step of margin,
//       rounded down to the alignment (and not below 0),
//   b = the receptive field end of row o1 - 1, plus the margin, clipped to the
//       padded input, then lengthened so that b - a is congruent to the whole
//       padded input's length modulo the alignment (so every floor in a
//       pooling size, and every centre crop's offset, rounds as it does for
//       the whole input),
// and the same for columns. At the true image border a region ends where the
// whole input does, so padded convs see the same zeros there; at an inner
// border the wrong values a padded conv makes at the region's edge reach only
// as far as the receptive field, i.e. into the margin that is cut away. On
// the CPU the same pixels then see the same arithmetic and the stitched result
// is bitwise the untiled one (tests/test_segment.cpp checks VALID, converted
// patch and padded nets with pooling).
//
// Models whose output at a pixel depends on the whole image (global pooling,
// dense layers, resizes to a fixed size or with align_corners) cannot be
// tiled; they run untiled when they fit and are refused when they do not.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "engine/executor.h"
#include "engine/graph.h"
#include "engine/image/image_io.h"
#include "engine/segment/preprocess.h"

namespace fcnrt {

// What segment reads of a model.
struct SegmentModel {
    std::string input;          // the graph input the image feeds, [1 or ?, C, ?, ?]
    int64_t channels = 1;       // C
    std::string output;         // the graph output used
    size_t output_index = 0;    // its place in the graph's outputs
    bool output_is_labels = false;  // int32 class indices (an argmax output)
    bool output_is_probs = false;   // produced by softmax over channels (or sigmoid for 1 channel)
    int64_t output_channels = 1;    // K of [1, K, h, w]
    int64_t classes = 2;            // classes in the mask: K, 2 for a one-channel output
    int64_t dense_from_patch[2] = {0, 0};  // metadata "dense_from_patch", 0 when absent
    int64_t fixed_size[2] = {0, 0};  // an input declared with a fixed H, W (an ONNX export
                                     // at one size): images of exactly that size, untiled
};

// Throws fcnrt::Error(model.path) for a model segment cannot use: not one
// 4-D image input (open or fixed size), a patch classifier (densify it first),
// no 4-D output, or more than 256 classes.
SegmentModel analyse_segment_model(const Model& model);

struct HaloPlan {
    int64_t image[2] = {0, 0};           // image height, width
    int64_t pad[4] = {0, 0, 0, 0};       // halo: top, left, bottom, right
    int64_t input[2] = {0, 0};           // padded input height, width
    int64_t output[2] = {0, 0};          // model output at that size (>= the image)
};

// The halo for an image of height x width. None for a model whose output has
// the input's size. For a converted patch net ("dense_from_patch" [ph, pw]),
// ph // 2 rows on top and ph - 1 - ph // 2 below (the patch's centre pixel
// convention), likewise for columns. For any other net with a smaller output,
// the receptive field's start plus half its size on top / left, and at the
// bottom / right what it takes for the output to cover the image. Throws
// fcnrt::Error(model.path) when no halo gives output stride 1 and an output
// at least the image's size.
HaloPlan plan_halo(const Model& model, const SegmentModel& sm, int64_t height, int64_t width);

struct Tile {
    int64_t in_y = 0, in_x = 0, in_h = 0, in_w = 0;      // input region, padded coordinates
    int64_t out_y = 0, out_x = 0, out_h = 0, out_w = 0;  // output pixels it delivers (image coordinates)
};

struct TilePlan {
    // Sorted by input region shape: one executor re-plans its memory once per
    // distinct shape (at most 9: first, inner and last tiles on each axis)
    // instead of keeping an arena for each.
    std::vector<Tile> tiles;
    int64_t tile[2] = {0, 0};   // output tile size (the image size when untiled)
    int64_t align[2] = {1, 1};  // region origins are multiples of these
    size_t peak_bytes = 0;      // the largest region's arena + weights + host copies
    size_t budget_bytes = 0;
    bool tiled() const { return tiles.size() > 1; }
};

// Bytes one run at input size h x w needs: the planned activation arena, the
// weights, and the host copies of the input and the outputs.
size_t run_bytes(const Model& model, const SegmentModel& sm, int64_t h, int64_t w);

// Device bytes per input-region pixel that the CUDA tile pipeline
// (engine/segment/gpu_tiles.h) adds to a run: two slots, each with the input's
// staging buffer (C floats), the labels (1 byte) and, with `want_probs`, the
// probabilities (classes floats), counted per input pixel since a tile never
// delivers more pixels than its region holds.
size_t gpu_staging_bytes_per_pixel(const SegmentModel& sm, bool want_probs);

// One tile for the whole image when its run fits `budget_bytes`; otherwise
// the largest square output tiles (a multiple of the alignment, searched
// downward) whose every region fits. A region's run costs run_bytes plus
// `staging_bytes_per_pixel` per region pixel (gpu_staging_bytes_per_pixel on
// CUDA, 0 on the CPU). Throws fcnrt::Error(model.path) when the
// model cannot be tiled ("this model's receptive field is the whole image; it
// cannot be tiled: raise --max-memory") or when not even the smallest tile fits.
TilePlan plan_tiles(const Model& model, const SegmentModel& sm, const HaloPlan& halo,
                    size_t budget_bytes, size_t staging_bytes_per_pixel = 0);

// plan_tiles for `devices` executors sharing an image's tiles: when the plan has
// fewer tiles than devices and the model can be tiled, smaller tiles (tiling is
// exact, so the result does not change) until every device gets one or no
// smaller tile exists; budget_bytes stays the budget given. One device: plan_tiles.
TilePlan plan_tiles_for_devices(const Model& model, const SegmentModel& sm, const HaloPlan& halo,
                                size_t budget_bytes, size_t staging_bytes_per_pixel,
                                size_t devices);

struct SegmentResult {
    int64_t height = 0, width = 0, classes = 0;
    std::vector<uint8_t> labels;  // [height, width] class indices
    Tensor probs;                 // [classes, height, width] float32, when asked for
};

// Bytes that exist for the whole image while its tiles run, outside any
// tile's run: the decoded samples (Image, as stored: 1 or 2 bytes per sample)
// and the labels (SegmentResult::labels, one byte per pixel: segment refuses
// models with more than 256 classes, so no wider labels are ever needed).
// Outputs are written row by row and scores tile by tile, so they add nothing
// that grows with the image (streamed scores take one buffer of a tile's
// scores, no larger than the output copy that run_bytes counts: not counted).
size_t image_buffer_bytes(const ImageInfo& image);

// What `budget_bytes` leaves for the tiles' runs once `image`'s whole-image
// buffers are counted. Throws fcnrt::Error(image_name) when nothing is left
// ("the image's own buffers need X of the Y budget: raise --max-memory").
size_t tile_budget(size_t budget_bytes, const ImageInfo& image, const std::string& image_name);

// Called after each tile with (tiles done, tiles in all).
using TileProgress = std::function<void(size_t, size_t)>;

// Receives one tile's probabilities, [classes, t.out_h, t.out_w] float32
// (C-order), for the image pixels t.out_y.., t.out_x.. .
using TileScoresSink = std::function<void(const Tile& t, const float* probs)>;

// Runs every tile of `plan` and stitches labels (argmax over channels, the
// first of equal maxima) and, with `want_probs`, softmax scores (the model's
// own where its output is a softmax): into SegmentResult::probs, or, when
// `scores_sink` is given, to it tile by tile (probs then stays empty, and
// memory stays one tile's). Throws fcnrt::Error.
//
// On a CUDA executor with a score output, the softmax and argmax run on the
// device and tiles are double-buffered (engine/segment/gpu_tiles.h): a tile
// brings back uint8 labels, and float scores only with `want_probs`. Labels are
// then the CPU rule's on the device's scores; probabilities agree to rounding.
SegmentResult segment_image(Executor& executor, const SegmentModel& sm, const HaloPlan& halo,
                            const TilePlan& plan, const Image& image,
                            const InputTransform& transform, HaloMode halo_mode, bool want_probs,
                            const TileProgress& progress = {},
                            const TileScoresSink& scores_sink = {});

// segment_image on several executors of the same model, one per CUDA device
// (fcnrt segment --device cuda:0,cuda:1): one host thread per executor, which
// runs every n-th tile of the plan, so the tiles spread over the devices and
// the result is the one executor's. Progress and the sink are called from those
// threads, one call at a time. One executor: segment_image. Several need CUDA
// backends and a score output (else fcnrt::Error).
SegmentResult segment_image_on(const std::vector<Executor*>& executors, const SegmentModel& sm,
                               const HaloPlan& halo, const TilePlan& plan, const Image& image,
                               const InputTransform& transform, HaloMode halo_mode,
                               bool want_probs, const TileProgress& progress = {},
                               const TileScoresSink& scores_sink = {});

}  // namespace fcnrt
