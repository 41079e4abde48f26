#include "engine/segment/segment_file.h"

#include <memory>

#include "engine/backend.h"
#include "engine/image/image_io.h"

namespace fcnrt {

DecodedInput decode_segment_input(const SegmentInput& input, size_t budget) {
    // The decoded samples and the labels exist for the whole image: counted
    // against the budget (from the header, before decoding), the rest is the tiles'.
    DecodedInput d;
    d.run_budget = tile_budget(budget, read_image_info(input.path, input.page), input.path);
    d.image = read_image(input.path, input.page);
    return d;
}

SegmentedImage segment_decoded(const DenseSegmenter& seg, const SegmentInput& input,
                               DecodedInput decoded, const std::string& base,
                               const SegmentFileSettings& settings, const TilePlanNote& on_plan,
                               const TileProgress& progress) {
    SegmentedImage done;
    done.image = std::move(decoded.image);
    const Image& image = done.image;
    const InputTransform transform(seg.pre, image.info(), input.path);
    const HaloPlan halo = plan_halo(seg.model, seg.sm, image.height(), image.width());
    const std::vector<Executor*> executors = seg.executors();
    // On CUDA the double-buffered pipeline's staging buffers are device memory
    // too; several GPUs get at least one tile each where the model can be tiled.
    const bool on_device = seg.executor.backend().kind() == BackendKind::Cuda;
    const TilePlan plan = plan_tiles_for_devices(
        seg.model, seg.sm, halo, decoded.run_budget,
        on_device && !seg.sm.output_is_labels ? gpu_staging_bytes_per_pixel(seg.sm, settings.probs)
                                              : 0,
        executors.size());
    if (on_plan) on_plan(plan, decoded.run_budget);
    if (progress) progress(0, plan.tiles.size());
    // Scores stream into the .npy tile by tile: [classes, H, W] float32 may be
    // far larger than the budget (20000 x 20000 x 3 classes: 4.5 GiB).
    if (settings.probs)
        done.probs = std::make_unique<NpyPlanesFile>(base + "_probs.npy", seg.sm.classes,
                                                     image.height(), image.width());
    NpyPlanesFile* probs = done.probs.get();
    done.result = segment_image_on(
        executors, seg.sm, halo, plan, image, transform, settings.halo, settings.probs, progress,
        probs ? TileScoresSink([probs](const Tile& t, const float* p) { probs->write_tile(t, p); })
              : TileScoresSink());
    return done;
}

void write_segmented(const DenseSegmenter& seg, const std::string& base, SegmentedImage& done,
                     const SegmentFileSettings& settings) {
    write_segment_outputs(base, done.image, done.result, seg.palette, settings.outputs,
                          done.probs.get());
}

SegmentResult segment_file(const DenseSegmenter& seg, const SegmentInput& input,
                           const std::string& base, const SegmentFileSettings& settings,
                           const TilePlanNote& on_plan, const TileProgress& progress) {
    SegmentedImage done = segment_decoded(seg, input, decode_segment_input(input, settings.budget),
                                          base, settings, on_plan, progress);
    write_segmented(seg, base, done, settings);
    return std::move(done.result);
}

}  // namespace fcnrt
