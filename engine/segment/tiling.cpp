#include "engine/attributes.h"
#include "engine/segment/tiling.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <map>
#include <mutex>
#include <numeric>
#include <set>
#include <thread>

#include "engine/error.h"
#include "engine/memory_plan.h"
#include "engine/receptive_field.h"
#include "engine/segment/classify_pixel.h"

#ifdef FCNRT_WITH_CUDA
#include "engine/segment/gpu_tiles.h"
#endif

namespace fcnrt {

namespace {

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
int64_t pos_mod(int64_t a, int64_t b) { return ((a % b) + b) % b; }

std::string size_text(int64_t h, int64_t w) { return std::to_string(h) + "x" + std::to_string(w); }

std::string bytes_text(size_t b) {
    char buf[64];
    if (b >= (size_t(1) << 30)) std::snprintf(buf, sizeof buf, "%.2f GiB", double(b) / double(1 << 30));
    else if (b >= (size_t(1) << 20)) std::snprintf(buf, sizeof buf, "%.1f MiB", double(b) / double(1 << 20));
    else std::snprintf(buf, sizeof buf, "%.1f KiB", double(b) / 1024.0);
    return buf;
}

std::map<std::string, TensorInfo> shapes_at(const Model& model, const SegmentModel& sm, int64_t h,
                                            int64_t w) {
    return infer_shapes(model, {{sm.input, {1, sm.channels, h, w}}});
}

std::pair<int64_t, int64_t> output_hw(const std::map<std::string, TensorInfo>& shapes,
                                      const SegmentModel& sm) {
    const Shape& s = shapes.at(sm.output).shape;
    return {s[2], s[3]};
}

size_t weight_bytes(const Model& model) {
    size_t total = 0;
    for (const auto& [name, t] : model.weights) total += (t.bytes() + 255) / 256 * 256;
    return total;
}

// One axis of a tiling: the output range a tile delivers and the input range it reads.
struct AxisTile {
    int64_t a = 0, b = 0;    // input [a, b), padded coordinates
    int64_t o0 = 0, o1 = 0;  // output [o0, o1), image coordinates
};

struct AxisGeometry {
    int64_t image = 0, input = 0;  // image length, padded input length
    int64_t align = 1, margin = 1;
    double rf_start = 0, rf_size = 1;
};

std::vector<AxisTile> axis_tiles(const AxisGeometry& g, int64_t tile) {
    std::vector<AxisTile> out;
    for (int64_t o0 = 0; o0 < g.image; o0 += tile) {
        AxisTile t;
        t.o0 = o0;
        t.o1 = std::min(o0 + tile, g.image);
        const int64_t lo = int64_t(std::floor(g.rf_start + double(t.o0))) - g.margin;
        const int64_t hi = int64_t(std::ceil(g.rf_start + double(t.o1 - 1) + g.rf_size)) + g.margin;
        t.a = std::max<int64_t>(0, floor_div(lo, g.align) * g.align);
        t.b = std::min(g.input, std::max(hi, t.a + 1));
        t.b = std::min(g.input, t.b + pos_mod(g.input - (t.b - t.a), g.align));
        out.push_back(t);
    }
    return out;
}

std::vector<int64_t> distinct_lengths(const std::vector<AxisTile>& tiles) {
    std::set<int64_t> s;
    for (const AxisTile& t : tiles) s.insert(t.b - t.a);
    return {s.begin(), s.end()};
}

}  // namespace

SegmentModel analyse_segment_model(const Model& model) {
    const Graph& g = model.graph;
    SegmentModel sm;
    if (g.metadata.is_object() && g.metadata.contains("patch"))
        throw Error(model.path, "",
                    "this is a patch classifier (metadata \"patch\"): convert it with "
                    "`fcnrt densify PATCH.json -o DENSE.json --same-size` and segment with that, "
                    "or run it patch by patch with `fcnrt segment --patchwise` (far slower)");
    if (g.inputs.size() != 1)
        throw Error(model.path, "", "segment needs a model with one image input; this one has " +
                                        std::to_string(g.inputs.size()));
    const GraphInput& in = g.inputs[0];
    const Shape& s = in.shape;
    if (s.size() != 4 || (s[0] != kUnknownDim && s[0] != 1) || s[1] == kUnknownDim)
        throw Error(model.path, "", "segment needs an image input [1, C, H, W]; '" + in.name +
                                        "' is " + shape_to_string(s));
    if ((s[2] == kUnknownDim) != (s[3] == kUnknownDim))
        throw Error(model.path, "", "input '" + in.name + "' " + shape_to_string(s) +
                                        " fixes one of height and width; segment needs both open "
                                        "(null) or both fixed");
    if (s[2] != kUnknownDim) {
        sm.fixed_size[0] = s[2];
        sm.fixed_size[1] = s[3];
    }
    sm.input = in.name;
    sm.channels = s[1];

    const auto shapes = infer_shapes(model, declared_input_shapes(g));
    bool found = false;
    for (size_t i = 0; i < g.outputs.size() && !found; ++i) {
        const TensorInfo& t = shapes.at(g.outputs[i]);
        if (t.shape.size() == 4 && t.dtype == DType::F32 && t.shape[1] >= 1) {
            found = true;
            sm.output = g.outputs[i];
            sm.output_index = i;
            sm.output_channels = t.shape[1];
        }
    }
    for (size_t i = 0; i < g.outputs.size() && !found; ++i) {
        const TensorInfo& t = shapes.at(g.outputs[i]);
        if (t.shape.size() == 4 && t.dtype == DType::I32 && t.shape[1] == 1) {
            found = true;
            sm.output = g.outputs[i];
            sm.output_index = i;
            sm.output_is_labels = true;
        }
    }
    if (!found)
        throw Error(model.path, "", "segment needs a 4-D output [1, classes, H, W] (float32 scores "
                                    "or int32 class indices); the model has none");

    // Is the output already a probability? Look at the node that produces it.
    for (const Node& n : g.nodes) {
        if (std::find(n.outputs.begin(), n.outputs.end(), sm.output) == n.outputs.end()) continue;
        if (n.op->name == "softmax")
            sm.output_is_probs = !n.json.contains("axis") || n.json["axis"] == 1;
        const bool sigmoid = n.op->name == "sigmoid" ||
                             (n.json.contains("activation") && n.json["activation"] == "sigmoid");
        if (sm.output_channels == 1 && sigmoid) sm.output_is_probs = true;
    }
    if (sm.output_is_labels) {
        const Json& m = g.metadata;
        sm.classes = m.is_object() && m.contains("classes") && m["classes"].is_array() &&
                             !m["classes"].empty()
                         ? int64_t(m["classes"].size())
                         : 256;
    } else {
        sm.classes = sm.output_channels == 1 ? 2 : sm.output_channels;
    }
    if (sm.classes > 256)
        throw Error(model.path, "", "the model has " + std::to_string(sm.classes) +
                                        " classes; segment's 8-bit label PNGs hold at most 256");
    if (g.metadata.is_object() && g.metadata.contains("dense_from_patch")) {
        const Json& p = g.metadata["dense_from_patch"];
        if (!p.is_array() || p.size() != 2 || !p[0].is_number_integer() ||
            !p[1].is_number_integer() || p[0].get<int64_t>() < 1 || p[1].get<int64_t>() < 1)
            throw Error(model.path, "", "metadata \"dense_from_patch\" must be [ph, pw], got " + json_text(p));
        sm.dense_from_patch[0] = p[0].get<int64_t>();
        sm.dense_from_patch[1] = p[1].get<int64_t>();
    }
    return sm;
}

HaloPlan plan_halo(const Model& model, const SegmentModel& sm, int64_t height, int64_t width) {
    HaloPlan hp;
    hp.image[0] = height;
    hp.image[1] = width;
    if (sm.fixed_size[0] > 0) {
        // A model exported at one size takes images of that size as they are.
        if (height != sm.fixed_size[0] || width != sm.fixed_size[1])
            throw Error(model.path, "",
                        "the model's input is fixed at " +
                            size_text(sm.fixed_size[0], sm.fixed_size[1]) + " but the image is " +
                            size_text(height, width) +
                            "; export the model with dynamic height and width to segment other sizes");
        const auto [oh, ow] = output_hw(shapes_at(model, sm, height, width), sm);
        if (oh != height || ow != width)
            throw Error(model.path, "", "the model's input is fixed at " + size_text(height, width) +
                                            " and its output is " + size_text(oh, ow) +
                                            ": a fixed-size model must keep the image's size");
        hp.input[0] = hp.output[0] = height;
        hp.input[1] = hp.output[1] = width;
        return hp;
    }

    // Probe the geometry at the image size, or larger when a VALID net cannot
    // take an image this small (the halo will make it large enough).
    std::map<std::string, TensorInfo> shapes;
    int64_t probe[2] = {height, width};
    for (int attempt = 0;; ++attempt) {
        try {
            shapes = shapes_at(model, sm, probe[0], probe[1]);
            break;
        } catch (const Error& e) {
            if (attempt == 8)
                throw Error(model.path, e.node(),
                            "the model does not run at " + size_text(height, width) +
                                " nor at any larger size tried: " + e.reason());
            for (int64_t& p : probe) p = std::max<int64_t>(2 * p, 64);
        }
    }
    const auto rfs = receptive_fields(model, shapes);
    const ReceptiveField& rf = rfs.at(sm.output);
    const auto [oh, ow] = output_hw(shapes, sm);
    const int64_t out[2] = {oh, ow};
    for (int a = 0; a < 2; ++a) {
        if (!rf.global && std::fabs(rf.stride[a] - 1.0) > 1e-9)
            throw Error(model.path, "",
                        "the output '" + sm.output + "' has output stride " +
                            std::to_string(rf.stride[a]) +
                            "; segment needs one output pixel per input pixel");
        if (out[a] > probe[a])
            throw Error(model.path, "", "the output '" + sm.output + "' (" + size_text(oh, ow) +
                                            ") is larger than the input (" +
                                            size_text(probe[0], probe[1]) + ")");
    }

    for (int a = 0; a < 2; ++a) {
        const int64_t shrink = probe[a] - out[a];
        if (shrink == 0) continue;  // a same-size net: no halo
        int64_t before;
        if (sm.dense_from_patch[a] > 0) {
            before = sm.dense_from_patch[a] / 2;
        } else {
            before = int64_t(std::floor(rf.start[a])) + int64_t(std::floor(rf.size[a] / 2));
            before = std::clamp<int64_t>(before, 0, shrink);
        }
        hp.pad[a] = before;
        hp.pad[a + 2] = std::max<int64_t>(0, shrink - before);
    }
    // The far side grows until the output covers the image (VALID nets with
    // pooling lose a row or two more at some sizes).
    for (int attempt = 0;; ++attempt) {
        hp.input[0] = height + hp.pad[0] + hp.pad[2];
        hp.input[1] = width + hp.pad[1] + hp.pad[3];
        std::string why;
        try {
            const auto [h, w] = output_hw(shapes_at(model, sm, hp.input[0], hp.input[1]), sm);
            hp.output[0] = h;
            hp.output[1] = w;
        } catch (const Error& e) {
            why = e.reason();
            hp.output[0] = hp.output[1] = 0;
        }
        if (hp.output[0] >= height && hp.output[1] >= width) break;
        if (attempt == 64)
            throw Error(model.path, "",
                        "no halo makes the output cover a " + size_text(height, width) + " image" +
                            (why.empty() ? std::string() : ": " + why));
        if (hp.output[0] < height) ++hp.pad[2];
        if (hp.output[1] < width) ++hp.pad[3];
    }
    return hp;
}

size_t run_bytes(const Model& model, const SegmentModel& sm, int64_t h, int64_t w) {
    const MemoryPlan plan = plan_memory(model, {{sm.input, {1, sm.channels, h, w}}});
    size_t bytes =
        plan.arena_bytes + plan.host_scratch_bytes + weight_bytes(model) + size_t(sm.channels * h * w) * 4;
    for (const std::string& o : model.graph.outputs) {
        const TensorInfo& t = plan.tensors.at(o);
        bytes += size_t(checked_numel(t.shape, dtype_size(t.dtype))) * dtype_size(t.dtype);
    }
    return bytes;
}

size_t gpu_staging_bytes_per_pixel(const SegmentModel& sm, bool want_probs) {
    return 2 * (size_t(sm.channels) * sizeof(float) + 1 +
                (want_probs ? size_t(sm.classes) * sizeof(float) : 0));
}

TilePlan plan_tiles(const Model& model, const SegmentModel& sm, const HaloPlan& halo,
                    size_t budget_bytes, size_t staging_bytes_per_pixel) {
    TilePlan plan;
    plan.budget_bytes = budget_bytes;
    const int64_t H = halo.image[0], W = halo.image[1];
    // A region's run, with the CUDA pipeline's staging buffers when asked.
    auto region_bytes = [&](int64_t h, int64_t w) {
        return run_bytes(model, sm, h, w) + size_t(h) * size_t(w) * staging_bytes_per_pixel;
    };
    const size_t whole = region_bytes(halo.input[0], halo.input[1]);
    if (whole <= budget_bytes) {
        Tile t;
        t.in_h = halo.input[0];
        t.in_w = halo.input[1];
        t.out_h = H;
        t.out_w = W;
        plan.tiles.push_back(t);
        plan.tile[0] = H;
        plan.tile[1] = W;
        plan.peak_bytes = whole;
        return plan;
    }

    // Can it be tiled at all?
    if (sm.fixed_size[0] > 0)
        throw Error(model.path, "",
                    "a model with a fixed input size cannot be tiled: raise --max-memory (the image "
                    "needs " + bytes_text(whole) + ", the budget is " + bytes_text(budget_bytes) + ")");
    const auto shapes = shapes_at(model, sm, halo.input[0], halo.input[1]);
    const auto rfs = receptive_fields(model, shapes);
    const std::string raise = "raise --max-memory (the whole image needs " + bytes_text(whole) +
                              ", the budget is " + bytes_text(budget_bytes) + ")";
    if (rfs.at(sm.output).global)
        throw Error(model.path, "",
                    "this model's receptive field is the whole image; it cannot be tiled: " + raise);
    for (const Node& n : model.graph.nodes)
        if (n.op->name == "resize" &&
            (n.json.contains("size") || (n.json.contains("align_corners") && n.json["align_corners"] == true)))
            throw Error(model.path, n.name,
                        "a resize to a fixed size or with align_corners depends on the whole "
                        "image, so this model cannot be tiled: " + raise);
    AxisGeometry geo[2];
    for (int a = 0; a < 2; ++a) {
        int64_t align = 1;
        for (const auto& [name, r] : rfs) {
            const double s = r.stride[a];
            if (s <= 1.0 + 1e-9) continue;
            const double rounded = std::round(s);
            if (std::fabs(s - rounded) > 1e-6)
                throw Error(model.path, "",
                            "tensor '" + name + "' has a fractional stride " + std::to_string(s) +
                                " relative to the input, so tiles cannot be aligned: " + raise);
            align = std::lcm(align, int64_t(rounded));
        }
        geo[a].image = halo.image[a];
        geo[a].input = halo.input[a];
        geo[a].align = align;
        geo[a].margin = align;  // covers rounding in the receptive field analysis
        geo[a].rf_start = rfs.at(sm.output).start[a];
        geo[a].rf_size = rfs.at(sm.output).size[a];
        plan.align[a] = align;
    }

    // The largest square tile whose every distinct region fits.
    const int64_t unit = std::lcm(geo[0].align, geo[1].align);
    auto tile_sides = [&](int64_t t) {
        return std::pair<int64_t, int64_t>{std::min(t, H), std::min(t, W)};
    };
    auto peak_for = [&](int64_t t) -> size_t {
        const auto [th, tw] = tile_sides(t);
        size_t peak = 0, largest_region = 0;
        for (int64_t lh : distinct_lengths(axis_tiles(geo[0], th)))
            for (int64_t lw : distinct_lengths(axis_tiles(geo[1], tw))) {
                try {
                    peak = std::max(peak, run_bytes(model, sm, lh, lw));
                } catch (const Error&) {
                    return SIZE_MAX;  // a region too small for the net
                }
                largest_region = std::max(largest_region, size_t(lh) * size_t(lw));
            }
        // The staging buffers are sized once for the largest region and held
        // while every region runs.
        return peak + largest_region * staging_bytes_per_pixel;
    };
    int64_t lo = 0, hi = (std::max(H, W) + unit - 1) / unit;  // in units
    // Invariant: lo fits (0 = nothing known to fit), hi + 1 does not.
    while (lo < hi) {
        const int64_t mid = (lo + hi + 1) / 2;
        if (peak_for(mid * unit) <= budget_bytes) lo = mid;
        else hi = mid - 1;
    }
    if (lo == 0) {
        const size_t smallest = peak_for(unit);
        throw Error(model.path, "",
                    "--max-memory " + bytes_text(budget_bytes) + " is too small for this model: " +
                        "even a tile of " + size_text(unit, unit) + " output pixels needs " +
                        (smallest == SIZE_MAX ? std::string("a larger input") : bytes_text(smallest)));
    }
    const auto [th, tw] = tile_sides(lo * unit);
    plan.tile[0] = th;
    plan.tile[1] = tw;
    plan.peak_bytes = peak_for(lo * unit);

    const std::vector<AxisTile> rows = axis_tiles(geo[0], th), cols = axis_tiles(geo[1], tw);
    // Every region's output must reach the rows and columns its tile delivers.
    for (int64_t lh : distinct_lengths(rows))
        for (int64_t lw : distinct_lengths(cols)) {
            const auto [oh, ow] = output_hw(shapes_at(model, sm, lh, lw), sm);
            for (const AxisTile& r : rows)
                if (r.b - r.a == lh && r.o1 - r.a > oh)
                    throw Error(model.path, "", "internal error: a tile of input height " +
                                                    std::to_string(lh) + " does not cover its output rows");
            for (const AxisTile& c : cols)
                if (c.b - c.a == lw && c.o1 - c.a > ow)
                    throw Error(model.path, "", "internal error: a tile of input width " +
                                                    std::to_string(lw) + " does not cover its output columns");
        }
    for (const AxisTile& r : rows)
        for (const AxisTile& c : cols) {
            Tile t;
            t.in_y = r.a;
            t.in_h = r.b - r.a;
            t.in_x = c.a;
            t.in_w = c.b - c.a;
            t.out_y = r.o0;
            t.out_h = r.o1 - r.o0;
            t.out_x = c.o0;
            t.out_w = c.o1 - c.o0;
            plan.tiles.push_back(t);
        }
    std::stable_sort(plan.tiles.begin(), plan.tiles.end(), [](const Tile& p, const Tile& q) {
        return std::make_pair(p.in_h, p.in_w) < std::make_pair(q.in_h, q.in_w);
    });
    return plan;
}

TilePlan plan_tiles_for_devices(const Model& model, const SegmentModel& sm, const HaloPlan& halo,
                                size_t budget_bytes, size_t staging_bytes_per_pixel,
                                size_t devices) {
    TilePlan plan = plan_tiles(model, sm, halo, budget_bytes, staging_bytes_per_pixel);
    while (plan.tiles.size() < devices && plan.peak_bytes > 1) {
        TilePlan smaller;
        try {  // a budget just below this plan's peak: the next smaller tile
            smaller = plan_tiles(model, sm, halo, plan.peak_bytes - 1, staging_bytes_per_pixel);
        } catch (const Error&) {
            break;  // not tileable, or no smaller tile: the devices share what there is
        }
        if (smaller.tiles.size() <= plan.tiles.size()) break;
        plan = std::move(smaller);
    }
    plan.budget_bytes = budget_bytes;
    return plan;
}

size_t image_buffer_bytes(const ImageInfo& image) {
    const size_t pixels = size_t(image.width) * size_t(image.height);
    const size_t samples = pixels * size_t(image.channels) * (image.bit_depth == 16 ? 2 : 1);
    return samples + pixels;  // + uint8 labels
}

size_t tile_budget(size_t budget_bytes, const ImageInfo& image, const std::string& image_name) {
    const size_t held = image_buffer_bytes(image);
    if (held >= budget_bytes)
        throw Error(image_name, "",
                    "the " + size_text(image.height, image.width) + " image's own buffers (" +
                        std::to_string(image.bit_depth) + "-bit samples and labels) need " +
                        bytes_text(held) + ", leaving nothing of the " + bytes_text(budget_bytes) +
                        " budget for inference: raise --max-memory");
    return budget_bytes - held;
}

namespace {

SegmentResult empty_result(const SegmentModel& sm, const HaloPlan& halo, bool want_probs,
                           const TileScoresSink& scores_sink) {
    SegmentResult r;
    r.height = halo.image[0];
    r.width = halo.image[1];
    r.classes = sm.classes;
    r.labels.assign(size_t(r.height) * size_t(r.width), 0);
    if (want_probs) {
        if (sm.output_is_labels)
            throw Error("--probs needs a model that outputs scores; output '" + sm.output +
                        "' holds class indices");
        if (!scores_sink) r.probs = Tensor(DType::F32, {sm.classes, r.height, r.width});
    }
    return r;
}

#ifdef FCNRT_WITH_CUDA
// The tiles on CUDA executors, the head on the device: executor k of n runs
// tiles k, k + n, k + 2n, ... (plan order keeps equal shapes together, so each
// executor re-plans as rarely as one would; taking the next free tile instead
// would let the first thread, whose pipeline holds two tiles at once, take a
// small image's tiles before the others start). Finished tiles are stitched
// under one lock.
void segment_on_cuda(const std::vector<Executor*>& executors, const SegmentModel& sm,
                     const HaloPlan& halo, const TilePlan& plan, const Image& image,
                     const InputTransform& transform, HaloMode halo_mode, bool want_probs,
                     const TileProgress& progress, const TileScoresSink& scores_sink,
                     SegmentResult& r) {
    std::atomic<bool> failed{false};
    std::mutex mutex;
    size_t finished = 0;
    auto stitch = [&](size_t index, const uint8_t* labels, const float* probs) {
        const Tile& t = plan.tiles[index];
        const size_t pixels = size_t(t.out_h) * size_t(t.out_w);
        std::lock_guard<std::mutex> lock(mutex);
        for (int64_t y = 0; y < t.out_h; ++y)
            std::copy_n(labels + size_t(y) * size_t(t.out_w), t.out_w,
                        r.labels.begin() + ptrdiff_t((t.out_y + y) * r.width + t.out_x));
        if (probs && scores_sink) {
            scores_sink(t, probs);
        } else if (probs) {
            const size_t plane = size_t(r.height) * size_t(r.width);
            for (int64_t k = 0; k < sm.classes; ++k)
                for (int64_t y = 0; y < t.out_h; ++y)
                    std::copy_n(probs + size_t(k) * pixels + size_t(y) * size_t(t.out_w), t.out_w,
                                r.probs.f32() + size_t(k) * plane +
                                    size_t(t.out_y + y) * size_t(r.width) + size_t(t.out_x));
        }
        ++finished;
        if (progress) progress(finished, plan.tiles.size());
    };
    auto run = [&](size_t k) {
        size_t next = k;
        auto next_tile = [&]() -> size_t {
            if (failed || next >= plan.tiles.size()) return SIZE_MAX;
            const size_t i = next;
            next += executors.size();
            return i;
        };
        run_tiles_on_cuda(*executors[k], sm, halo, plan, image, transform, halo_mode, want_probs,
                          next_tile, stitch);
    };
    if (executors.size() == 1) {
        run(0);
        return;
    }
    std::exception_ptr first_error;
    std::vector<std::thread> threads;
    for (size_t k = 0; k < executors.size(); ++k)
        threads.emplace_back([&, k] {
            try {
                run(k);
            } catch (...) {
                failed = true;
                std::lock_guard<std::mutex> lock(mutex);
                if (!first_error) first_error = std::current_exception();
            }
        });
    for (std::thread& t : threads) t.join();
    if (first_error) std::rethrow_exception(first_error);
    if (finished != plan.tiles.size())
        throw Error("internal error: " + std::to_string(finished) + " of " +
                    std::to_string(plan.tiles.size()) + " tiles were segmented");
}
#endif

}  // namespace

SegmentResult segment_image_on(const std::vector<Executor*>& executors, const SegmentModel& sm,
                               const HaloPlan& halo, const TilePlan& plan, const Image& image,
                               const InputTransform& transform, HaloMode halo_mode,
                               bool want_probs, const TileProgress& progress,
                               const TileScoresSink& scores_sink) {
    if (executors.empty()) throw Error("internal error: segment_image_on without an executor");
    bool all_cuda = true;
    for (Executor* ex : executors) all_cuda &= ex->backend().kind() == BackendKind::Cuda;
#ifdef FCNRT_WITH_CUDA
    if (all_cuda && !sm.output_is_labels) {
        SegmentResult r = empty_result(sm, halo, want_probs, scores_sink);
        segment_on_cuda(executors, sm, halo, plan, image, transform, halo_mode, want_probs,
                        progress, scores_sink, r);
        return r;
    }
#endif
    if (executors.size() > 1)
        throw Error(std::string("several devices need CUDA devices and a model that outputs "
                                "scores") + (all_cuda ? "; output '" + sm.output +
                                                            "' holds class indices" : ""));
    return segment_image(*executors[0], sm, halo, plan, image, transform, halo_mode, want_probs,
                         progress, scores_sink);
}

SegmentResult segment_image(Executor& executor, const SegmentModel& sm, const HaloPlan& halo,
                            const TilePlan& plan, const Image& image,
                            const InputTransform& transform, HaloMode halo_mode, bool want_probs,
                            const TileProgress& progress, const TileScoresSink& scores_sink) {
#ifdef FCNRT_WITH_CUDA
    if (executor.backend().kind() == BackendKind::Cuda && !sm.output_is_labels) {
        SegmentResult r = empty_result(sm, halo, want_probs, scores_sink);
        segment_on_cuda({&executor}, sm, halo, plan, image, transform, halo_mode, want_probs,
                        progress, scores_sink, r);
        return r;
    }
#endif
    SegmentResult r = empty_result(sm, halo, want_probs, scores_sink);
    const size_t whole_plane = size_t(r.height) * size_t(r.width);
    std::vector<float> tile_probs;  // (classes, out_h, out_w) for scores_sink
    const int64_t K = sm.output_channels;
    std::vector<float> e(size_t(std::max<int64_t>(K, 1)));

    for (size_t i = 0; i < plan.tiles.size(); ++i) {
        const Tile& t = plan.tiles[i];
        Tensor in(DType::F32, {1, sm.channels, t.in_h, t.in_w});  // (1, C, h, w)
        transform.fill(image, t.in_y - halo.pad[0], t.in_x - halo.pad[1], t.in_h, t.in_w, halo_mode,
                       in.f32());
        const std::vector<Tensor> outs = executor.run({{sm.input, in}});
        const Tensor& o = outs.at(sm.output_index);  // (1, K, oh, ow)
        const int64_t oh = o.shape()[2], ow = o.shape()[3];
        const int64_t dy = t.out_y - t.in_y, dx = t.out_x - t.in_x;  // tile row of output row out_y
        if (dy < 0 || dx < 0 || dy + t.out_h > oh || dx + t.out_w > ow)
            throw Error("internal error: tile output " + shape_to_string(o.shape()) +
                        " does not cover the pixels it should deliver");
        const size_t tplane = size_t(oh) * size_t(ow);
        // Scores go to the whole-image tensor, or to this tile's buffer for the sink.
        float* probs = nullptr;
        size_t plane = 0;
        if (want_probs && scores_sink) {
            plane = size_t(t.out_h) * size_t(t.out_w);
            tile_probs.resize(size_t(sm.classes) * plane);
            probs = tile_probs.data();
        } else if (want_probs) {
            plane = whole_plane;
            probs = r.probs.f32();
        }
        for (int64_t y = 0; y < t.out_h; ++y)
            for (int64_t x = 0; x < t.out_w; ++x) {
                const size_t src = size_t(dy + y) * size_t(ow) + size_t(dx + x);
                const size_t dst = size_t(t.out_y + y) * size_t(r.width) + size_t(t.out_x + x);
                const size_t pdst = scores_sink ? size_t(y) * size_t(t.out_w) + size_t(x) : dst;
                if (sm.output_is_labels) {
                    const int32_t v = o.i32()[src];
                    if (v < 0 || v >= sm.classes)
                        throw Error("the model's output '" + sm.output + "' holds class index " +
                                    std::to_string(v) + ", outside 0.." +
                                    std::to_string(sm.classes - 1));
                    r.labels[dst] = uint8_t(v);
                    continue;
                }
                r.labels[dst] = classify_pixel(o.f32() + src, tplane, K, sm.output_is_probs,
                                               probs ? probs + pdst : nullptr, int64_t(plane),
                                               e.data());
            }
        if (probs && scores_sink) scores_sink(t, probs);
        if (progress) progress(i + 1, plan.tiles.size());
    }
    return r;
}

}  // namespace fcnrt
