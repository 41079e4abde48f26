// fcnrt::Network (include/fcnrt/fcnrt.h): a loaded model, its backend and
// executor, and what segmentation reads of it, doing what `fcnrt run` and
// `fcnrt segment` do through the same engine functions.
#include <memory>
#include <mutex>
#include <optional>

#include "api/api_storage.h"
#include "engine/device.h"
#include "engine/error.h"
#include "engine/executor.h"
#include "engine/model_loader.h"
#include "engine/process_memory.h"
#include "engine/segment/memory_budget.h"
#include "engine/segment/palette.h"
#include "engine/segment/preprocess.h"
#include "engine/segment/segment_file.h"
#include "kernels/precision.h"
#include "engine/segment/tiling.h"

namespace fcnrt {

namespace {

// What every segmentation with one model shares, read once.
struct SegmentSetup {
    SegmentModel sm;
    Preprocess pre;
    std::vector<Rgb> palette;
};

HaloMode halo_mode(Halo h) {
    return h == Halo::Zero ? HaloMode::Zero : HaloMode::Reflect;
}

Segmentation segmentation_of(SegmentResult&& r, size_t tiles) {
    Segmentation s;
    s.height = r.height;
    s.width = r.width;
    s.classes = r.classes;
    s.tiles = tiles;
    s.labels = std::move(r.labels);
    if (r.probs.numel() > 0) s.probs = array_of(std::move(r.probs));
    return s;
}

}  // namespace

struct Network::Impl {
    Model model;
    std::shared_ptr<Backend> backend;
    std::string device;
    std::unique_ptr<Executor> executor;
    size_t resident_before_runs = 0;  // for the segmentation budget (memory_budget.h)
    std::optional<SegmentSetup> setup;
    std::mutex running;  // one run at a time: the executor's arena is shared

    // Throws fcnrt::Error(model.path) for a model segment cannot use, or
    // scores asked of a model whose output holds class indices.
    const SegmentSetup& segment_setup(bool want_probs) {
        if (!setup) {
            SegmentSetup s;
            s.sm = analyse_segment_model(model);
            s.pre = parse_preprocess(model, s.sm.channels);
            s.palette = class_palette(model.graph.metadata, int(s.sm.classes), model.path);
            setup = std::move(s);
        }
        if (want_probs && setup->sm.output_is_labels)
            throw Error(
                model.path, "",
                "--probs needs scores, but output '" + setup->sm.output + "' holds class indices");
        return *setup;
    }
};

Network::Network(const std::string& path, const NetworkOptions& options)
    : impl_(std::make_unique<Impl>()) {
    // "" is the backend's default, as the CLI's: tf32 on CUDA (PyTorch's cuDNN
    // default), fp32 on the CPU; "float32" is fp32's long name.
    Precision precision = Precision::Fp32;
    const std::string& asked = options.precision == "float32" ? "fp32" : options.precision;
    if (!asked.empty() && !parse_precision(asked, &precision))
        throw Error(path, "",
                    "unknown precision '" + options.precision + "' (use fp32, tf32, bf16 or fp16)");
    impl_->model = load_model(path);
    impl_->backend = select_backend(options.device, &impl_->device);
    const bool cuda = impl_->backend->kind() == BackendKind::Cuda;
    if (asked.empty()) precision = cuda ? Precision::Tf32 : Precision::Fp32;
    if (!cuda && precision != Precision::Fp32)
        throw Error(path, "",
                    "precision " + asked + " needs a CUDA device (the CPU computes in fp32 only)");
    impl_->executor = std::make_unique<Executor>(impl_->model, impl_->backend, precision);
    impl_->resident_before_runs = resident_bytes();
}

Network::~Network() = default;
Network::Network(Network&&) noexcept = default;
Network& Network::operator=(Network&&) noexcept = default;

const std::string& Network::path() const {
    return impl_->model.path;
}
const std::string& Network::device() const {
    return impl_->device;
}

std::vector<std::string> Network::input_names() const {
    std::vector<std::string> names;
    for (const GraphInput& in : impl_->model.graph.inputs) names.push_back(in.name);
    return names;
}

std::vector<std::string> Network::output_names() const {
    return impl_->model.graph.outputs;
}

std::map<std::string, Array> Network::run(const std::map<std::string, ArrayView>& inputs) {
    std::map<std::string, HostInput> arrays;
    for (const auto& [name, a] : inputs) {
        if (!a.data && checked_numel(a.shape) > 0)
            throw Error(impl_->model.path, "", "input '" + name + "' has no data");
        arrays[name] = {a.data, a.shape};
    }
    std::lock_guard<std::mutex> lock(impl_->running);
    std::vector<Tensor> outputs = impl_->executor->run_arrays(arrays);
    std::map<std::string, Array> named;
    for (size_t i = 0; i < outputs.size(); ++i)
        named[impl_->model.graph.outputs[i]] = array_of(std::move(outputs[i]));
    return named;
}

Segmentation Network::segment(const ImageView& view, const SegmentOptions& options) {
    std::lock_guard<std::mutex> lock(impl_->running);
    const SegmentSetup& s = impl_->segment_setup(options.probs);
    const SegmentBudget budget =
        plan_segment_budget(impl_->model, *impl_->executor, options.max_memory,
                            impl_->resident_before_runs);
    const Image image = borrowed_image(view);
    const std::string name = "the image";
    const size_t run_budget = tile_budget(budget.images, image.info(), name);
    const InputTransform transform(s.pre, image.info(), name);
    const HaloPlan halo = plan_halo(impl_->model, s.sm, image.height(), image.width());
    const TilePlan plan = plan_tiles(impl_->model, s.sm, halo, run_budget);
    return segmentation_of(segment_image(*impl_->executor, s.sm, halo, plan, image, transform,
                                         halo_mode(options.halo), options.probs),
                           plan.tiles.size());
}

Segmentation Network::segment_file(const ImageInput& input, const std::string& outdir,
                                   const FileSegmentOptions& options) {
    std::lock_guard<std::mutex> lock(impl_->running);
    const SegmentSetup& s = impl_->segment_setup(options.segment.probs);
    const SegmentBudget budget =
        plan_segment_budget(impl_->model, *impl_->executor, options.segment.max_memory,
                            impl_->resident_before_runs);
    if (!(options.opacity >= 0.0 && options.opacity <= 1.0))
        throw Error("opacity: expected a number in 0..1, got " + std::to_string(options.opacity));
    SegmentFileSettings settings;
    settings.budget = budget.images;
    settings.halo = halo_mode(options.segment.halo);
    settings.probs = options.segment.probs;
    settings.outputs.overlay = options.overlay;
    settings.outputs.opacity = options.opacity;
    const DenseSegmenter dense{impl_->model, *impl_->executor, s.sm, s.pre, s.palette};
    const SegmentInput in{input.path, input.page, input.pages, input.stem};
    size_t tiles = 0;
    try {
        SegmentResult r =
            fcnrt::segment_file(dense, in, outdir + "/" + input.stem, settings,
                                [&](const TilePlan& plan, size_t) { tiles = plan.tiles.size(); });
        return segmentation_of(std::move(r), tiles);
    } catch (const Error& e) {
        // An error not already naming a file belongs to this image, as segment says.
        if (e.file().empty()) throw e.with_file(input.path);
        throw;
    }
}

}  // namespace fcnrt
