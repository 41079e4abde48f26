// The double-buffered CUDA tile pipeline (engine/segment/gpu_tiles.h).
//
// Streams and events, for tile j in slot s = j % 2 (the slot last held tile j-2):
//   host:    wait s.uploaded (tile j-2's upload has read s.host_in), fill s.host_in
//   copy:    wait s.consumed (tile j-2's staging copy left s.dev_in), upload
//            s.host_in -> s.dev_in, record s.uploaded
//   compute: wait s.uploaded, copy s.dev_in -> arena input, record s.consumed,
//            run the nodes, wait s.downloaded (tile j-2's results left s.dev_*),
//            segment head -> s.dev_labels / s.dev_probs, record s.computed
//   copy:    wait s.computed, download into s.host_labels / s.host_probs,
//            record s.downloaded
//   host:    wait the other slot's downloaded, hand tile j-1 to `done`
// The arena is one per executor, so tiles run one after another on the compute
// stream; what overlaps is the host's fill and stitching and the copies. A
// re-plan (a tile of another shape) frees the arena, so the compute stream is
// drained first.
#include "engine/segment/gpu_tiles.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <memory>
#include <string>

#include "engine/cuda_backend.h"
#include "engine/error.h"
#include "kernels/cuda/segment_head.h"

namespace fcnrt {

namespace {

void check(cudaError_t err, const char* what) {
    if (err != cudaSuccess)
        throw Error(std::string("CUDA error: ") + cudaGetErrorString(err) + " (" + what + ")");
}

// Page-locked host memory: copies from and to it are truly asynchronous.
std::shared_ptr<void> pinned(size_t bytes, const char* what) {
    void* p = nullptr;
    check(cudaMallocHost(&p, std::max<size_t>(bytes, 1)), what);
    return std::shared_ptr<void>(p, [](void* q) { cudaFreeHost(q); });
}

cudaEvent_t make_event() {
    cudaEvent_t e = nullptr;
    // Ordering only: no timing, which makes them cheaper to record and wait for.
    check(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), "cudaEventCreateWithFlags");
    return e;
}

struct Slot {
    std::shared_ptr<void> host_in, host_labels, host_probs;  // pinned
    std::shared_ptr<void> dev_in, dev_labels, dev_probs;     // device (Backend::allocate)
    cudaEvent_t uploaded = nullptr, consumed = nullptr, computed = nullptr, downloaded = nullptr;
    size_t tile = SIZE_MAX;  // the tile whose results are on their way; SIZE_MAX: none
};

class Pipeline {
public:
    Pipeline(Executor& ex, size_t in_bytes, size_t pixels, int64_t classes, bool want_probs)
        : compute_(static_cast<cudaStream_t>(ex.backend().stream())) {
        Backend& b = ex.backend();
        check(cudaStreamCreateWithFlags(&copy_, cudaStreamNonBlocking),
              "cudaStreamCreateWithFlags");
        const size_t probs_bytes = want_probs ? size_t(classes) * pixels * sizeof(float) : 0;
        for (Slot& s : slots_) {
            s.host_in = pinned(in_bytes, "cudaMallocHost for a tile's input");
            s.host_labels = pinned(pixels, "cudaMallocHost for a tile's labels");
            s.dev_in = b.allocate(in_bytes, "a tile's input staging buffer");
            s.dev_labels = b.allocate(pixels, "a tile's labels");
            if (want_probs) {
                s.host_probs = pinned(probs_bytes, "cudaMallocHost for a tile's probabilities");
                s.dev_probs = b.allocate(probs_bytes, "a tile's probabilities");
            }
            for (cudaEvent_t* e : {&s.uploaded, &s.consumed, &s.computed, &s.downloaded})
                *e = make_event();
        }
    }
    ~Pipeline() {
        // Pinned and device buffers must outlive the copies that use them: drain
        // both streams (errors were reported, or are being, by the caller).
        cudaStreamSynchronize(copy_);
        cudaStreamSynchronize(compute_);
        for (Slot& s : slots_)
            for (cudaEvent_t e : {s.uploaded, s.consumed, s.computed, s.downloaded})
                if (e) cudaEventDestroy(e);
        cudaStreamDestroy(copy_);
        cudaGetLastError();
    }
    Pipeline(const Pipeline&) = delete;
    Pipeline& operator=(const Pipeline&) = delete;

    Slot& slot(size_t j) { return slots_[j % 2]; }
    cudaStream_t copy() const { return copy_; }
    cudaStream_t compute() const { return compute_; }

private:
    cudaStream_t compute_;
    cudaStream_t copy_ = nullptr;
    Slot slots_[2];
};

}  // namespace

void run_tiles_on_cuda(Executor& executor, const SegmentModel& sm, const HaloPlan& halo,
                       const TilePlan& plan, const Image& image, const InputTransform& transform,
                       HaloMode halo_mode, bool want_probs,
                       const std::function<size_t()>& next_tile, const GpuTileDone& done) {
    const int device = cuda_backend_device(executor.backend());
    if (device < 0) throw Error("internal error: the GPU tile pipeline needs a CUDA backend");
    if (sm.output_is_labels)
        throw Error("internal error: the GPU tile pipeline needs a score output");
    check(cudaSetDevice(device), "cudaSetDevice");

    size_t in_elems = 0, pixels = 0;
    for (const Tile& t : plan.tiles) {
        in_elems = std::max(in_elems, size_t(sm.channels * t.in_h * t.in_w));
        pixels = std::max(pixels, size_t(t.out_h * t.out_w));
    }
    Pipeline p(executor, in_elems * sizeof(float), pixels, sm.classes, want_probs);

    // Hands the tile in slot s to `done` once its download has finished.
    auto deliver = [&](Slot& s) {
        if (s.tile == SIZE_MAX) return;
        check(cudaEventSynchronize(s.downloaded), "cudaEventSynchronize: a tile failed");
        const size_t tile = s.tile;
        s.tile = SIZE_MAX;
        done(tile, static_cast<const uint8_t*>(s.host_labels.get()),
             want_probs ? static_cast<const float*>(s.host_probs.get()) : nullptr);
    };

    for (size_t j = 0;; ++j) {
        const size_t index = next_tile();
        if (index == SIZE_MAX) break;
        const Tile& t = plan.tiles.at(index);
        Slot& s = p.slot(j);

        // The host's part: the input, straight into pinned memory.
        check(cudaEventSynchronize(s.uploaded), "cudaEventSynchronize before refilling a tile");
        transform.fill(image, t.in_y - halo.pad[0], t.in_x - halo.pad[1], t.in_h, t.in_w, halo_mode,
                       static_cast<float*>(s.host_in.get()));
        const size_t in_bytes = size_t(sm.channels * t.in_h * t.in_w) * sizeof(float);

        // Plan for the tile's shape. A re-plan frees the arena that the previous
        // tile may still be reading: drain the compute stream first.
        const std::map<std::string, Shape> shapes = {{sm.input, {1, sm.channels, t.in_h, t.in_w}}};
        if (!executor.plan() || executor.plan()->input_shapes != shapes)
            check(cudaStreamSynchronize(p.compute()), "cudaStreamSynchronize before a re-plan");
        executor.prepare(shapes);
        const View in = executor.input_view(sm.input);
        const View out = executor.output_view(sm.output_index);  // (1, K, oh, ow)
        const int64_t dy = t.out_y - t.in_y, dx = t.out_x - t.in_x;
        if (dy < 0 || dx < 0 || dy + t.out_h > out.h || dx + t.out_w > out.w || out.n != 1)
            throw Error(
                "internal error: a tile's output does not cover the pixels it should deliver");

        // Upload on the copy stream, once the slot's staging buffer is free.
        check(cudaStreamWaitEvent(p.copy(), s.consumed, 0), "cudaStreamWaitEvent");
        check(cudaMemcpyAsync(s.dev_in.get(), s.host_in.get(), in_bytes, cudaMemcpyHostToDevice,
                              p.copy()),
              "cudaMemcpyAsync of a tile's input");
        check(cudaEventRecord(s.uploaded, p.copy()), "cudaEventRecord");

        // Compute: into the arena, the nodes, the head.
        check(cudaStreamWaitEvent(p.compute(), s.uploaded, 0), "cudaStreamWaitEvent");
        check(cudaMemcpyAsync(in.data, s.dev_in.get(), in_bytes, cudaMemcpyDeviceToDevice,
                              p.compute()),
              "cudaMemcpyAsync of a tile's input into the arena");
        check(cudaEventRecord(s.consumed, p.compute()), "cudaEventRecord");
        executor.execute();
        check(cudaStreamWaitEvent(p.compute(), s.downloaded, 0), "cudaStreamWaitEvent");
        cuda::SegmentHeadArgs head;
        head.scores = out.f32();
        head.k = out.c;
        head.height = out.h;
        head.width = out.w;
        head.y0 = dy;
        head.x0 = dx;
        head.rows = t.out_h;
        head.cols = t.out_w;
        head.scores_are_probs = sm.output_is_probs;
        head.labels = static_cast<uint8_t*>(s.dev_labels.get());
        head.probs = want_probs ? static_cast<float*>(s.dev_probs.get()) : nullptr;
        try {
            cuda::segment_head(head, p.compute());
        } catch (const std::runtime_error& e) {
            throw Error(e.what());
        }
        check(cudaEventRecord(s.computed, p.compute()), "cudaEventRecord");

        // Download on the copy stream.
        const size_t tile_pixels = size_t(t.out_h * t.out_w);
        check(cudaStreamWaitEvent(p.copy(), s.computed, 0), "cudaStreamWaitEvent");
        check(cudaMemcpyAsync(s.host_labels.get(), s.dev_labels.get(), tile_pixels,
                              cudaMemcpyDeviceToHost, p.copy()),
              "cudaMemcpyAsync of a tile's labels");
        if (want_probs)
            check(cudaMemcpyAsync(s.host_probs.get(), s.dev_probs.get(),
                                  size_t(sm.classes) * tile_pixels * sizeof(float),
                                  cudaMemcpyDeviceToHost, p.copy()),
                  "cudaMemcpyAsync of a tile's probabilities");
        check(cudaEventRecord(s.downloaded, p.copy()), "cudaEventRecord");
        s.tile = index;

        // While this tile computes, the previous one is stitched.
        deliver(p.slot(j + 1));
    }
    // Only the last tile taken is still pending (the loop delivered the one before).
    deliver(p.slot(0));
    deliver(p.slot(1));
}

}  // namespace fcnrt
