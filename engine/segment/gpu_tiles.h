// segment_image's tile loop on a CUDA executor (engine/segment/tiling.h calls
// it; declared only when fcnrt is built with FCNRT_WITH_CUDA).
//
// Per tile: the host fills the tile's input into a pinned staging buffer, a copy
// stream uploads it into a device staging buffer, the compute stream (the
// backend's) copies it into the executor's arena, runs the nodes (a CUDA graph
// replay), and the segmentation head (kernels/cuda/segment_head.cu) turns the
// output window into uint8 labels and, only when asked, float probabilities;
// the copy stream brings those back into pinned buffers. Every buffer is doubled
// (two slots, tiles alternate) and events order the two streams, so tile i+1's
// fill and upload overlap tile i's compute, and tile i-1's download and
// stitching overlap it too. Buffers are made once per call, sized for the
// plan's largest tile, not per tile.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

#include "engine/executor.h"
#include "engine/segment/preprocess.h"
#include "engine/segment/tiling.h"

namespace fcnrt {

// Called once per finished tile, in the order the tiles were taken, with the
// tile's index in plan.tiles, its labels [out_h, out_w] and, when want_probs,
// its probabilities [classes, out_h, out_w] (else null). The pointers are valid
// only during the call.
using GpuTileDone = std::function<void(size_t tile, const uint8_t* labels, const float* probs)>;

// Runs the tiles that `next_tile` hands out (indices into plan.tiles; SIZE_MAX
// when there are no more) on `executor`, whose backend must be a CUDA backend
// (the calling thread's current device is set to its device). `sm` must have a
// score output (not class indices). Throws fcnrt::Error; nothing is delivered
// for a tile after an error.
void run_tiles_on_cuda(Executor& executor, const SegmentModel& sm, const HaloPlan& halo,
                       const TilePlan& plan, const Image& image, const InputTransform& transform,
                       HaloMode halo_mode, bool want_probs,
                       const std::function<size_t()>& next_tile, const GpuTileDone& done);

}  // namespace fcnrt
