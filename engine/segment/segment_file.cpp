#include "engine/segment/segment_file.h"

#include <memory>

#include "engine/image/image_io.h"

namespace fcnrt {

SegmentResult segment_file(const DenseSegmenter& seg, const SegmentInput& input,
                           const std::string& base, const SegmentFileSettings& settings,
                           const TilePlanNote& on_plan, const TileProgress& progress) {
    // The decoded samples and the labels exist for the whole image: counted
    // against the budget (from the header, before decoding), the rest is the tiles'.
    const size_t run_budget =
        tile_budget(settings.budget, read_image_info(input.path, input.page), input.path);
    const Image image = read_image(input.path, input.page);
    const InputTransform transform(seg.pre, image.info(), input.path);
    const HaloPlan halo = plan_halo(seg.model, seg.sm, image.height(), image.width());
    const TilePlan plan = plan_tiles(seg.model, seg.sm, halo, run_budget);
    if (on_plan) on_plan(plan, run_budget);
    if (progress) progress(0, plan.tiles.size());
    // Scores stream into the .npy tile by tile: [classes, H, W] float32 may be
    // far larger than the budget (20000 x 20000 x 3 classes: 4.5 GiB).
    std::unique_ptr<NpyPlanesFile> probs;
    if (settings.probs)
        probs = std::make_unique<NpyPlanesFile>(base + "_probs.npy", seg.sm.classes, image.height(),
                                                image.width());
    const SegmentResult r = segment_image(
        seg.executor, seg.sm, halo, plan, image, transform, settings.halo, settings.probs, progress,
        probs ? TileScoresSink([&](const Tile& t, const float* p) { probs->write_tile(t, p); })
              : TileScoresSink());
    write_segment_outputs(base, image, r, seg.palette, settings.outputs, probs.get());
    return r;
}

}  // namespace fcnrt
