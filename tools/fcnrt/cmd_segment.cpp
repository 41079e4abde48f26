// `fcnrt segment MODEL.json IMAGE|DIR... -o OUTDIR [...]`: whole-image
// segmentation from image files to mask PNGs, tiled when the image does not
// fit the memory budget (engine/segment/tiling.h).
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <future>
#include <iostream>
#include <map>
#include <memory>

#include "engine/device.h"
#include "engine/error.h"
#include "engine/process_memory.h"
#include "engine/executor.h"
#include "engine/image/image_io.h"
#include "engine/image/tiff_io.h"
#include "engine/io/file_util.h"
#include "engine/io/npy.h"
#include "engine/model_loader.h"
#include "engine/multi_device.h"
#include "engine/segment/outputs.h"
#include "engine/segment/palette.h"
#include "engine/segment/patchwise.h"
#include "engine/segment/preprocess.h"
#include "engine/segment/tiling.h"
#include "engine/segment/image_list.h"
#include "engine/segment/memory_budget.h"
#include "engine/segment/segment_file.h"
#include "tools/fcnrt/cli_args.h"
#include "tools/fcnrt/commands.h"
#include "tools/fcnrt/progress.h"

namespace fcnrt::cli {

const char* const kSegmentHelp =
    "usage: fcnrt segment MODEL.json IMAGE|DIR... -o OUTDIR [--overlay] [--opacity A]\n"
    "                     [--probs] [--device auto|cpu|cuda|cuda:N,...|cuda:all]\n"
    "                     [--precision P] [--max-memory BYTES]\n"
    "                     [--halo reflect|zero] [--patchwise] [--tiff-out] [--quiet]\n"
    "\n"
    "Segments whole images (PNG 8/16-bit, JPEG, TIFF 8/16-bit, BMP, TGA, PNM; a DIR means\n"
    "every image file in it, sorted) with a dense model, writing for each image STEM\n"
    "(each page of a multi-page TIFF is an image of its own, STEM_p0000, STEM_p0001, ...\n"
    "numbered from 0):\n"
    "  OUTDIR/STEM_mask.png     class colours (the model's \"classes\", else the Pascal\n"
    "                           VOC palette), 8-bit RGB\n"
    "  OUTDIR/STEM_labels.png   class indices, 8-bit gray\n"
    "  OUTDIR/STEM_overlay.png  with --overlay: the image blended with the mask\n"
    "  OUTDIR/STEM_probs.npy    with --probs: float32 [classes, H, W] softmax scores\n"
    "The model's metadata \"preprocess\" normalises the pixels. Models whose output is\n"
    "smaller than the input (VALID convolutions, densified patch nets) get a halo around\n"
    "the image so that the mask has the image's size. An image whose run needs more\n"
    "than --max-memory is cut into tiles that give exactly the untiled result. A bad\n"
    "image is reported and skipped (nothing is written for it); the exit code is then 1.\n"
    "\n"
    "  -o, --output OUTDIR  where the files go (created if missing)\n"
    "  --overlay            also write the overlay\n"
    "  --opacity A          the mask's weight in the overlay, 0..1 (default 0.5)\n"
    "  --probs              also write the class scores\n"
    "  --device DEVICE      auto (default: the GPU when usable), cpu or cuda; cuda:N for\n"
    "                       GPU N; cuda:0,cuda:1 or cuda:all: several GPUs, each with\n"
    "                       its own copy of the model, the tiles of each image shared\n"
    "                       out among them, at least one each where the model can be\n"
    "                       tiled (the same outputs as one GPU). On CUDA the\n"
    "                       argmax and softmax run on the GPU and the nodes replay as\n"
    "                       a CUDA graph\n"
    "  --precision P        convolutions' multiply-adds: fp32 (exact), or on CUDA the\n"
    "                       tensor cores' tf32 (default on CUDA), bf16 or fp16, with\n"
    "                       fp32 accumulation; the CPU computes in fp32 only\n"
    "  --max-memory BYTES   memory budget, e.g. 512M or 2G. On the CPU it is for the\n"
    "                       whole process (default min(4 GiB, half the RAM)): the\n"
    "                       program, the model and the kernels' per-thread scratch\n"
    "                       first, then one image's decoded samples and labels, then\n"
    "                       for each run weights + activations + copies. On a GPU it\n"
    "                       is for the device (default 80% of its free memory): the\n"
    "                       image's buffers, then weights + activations + copies.\n"
    "                       Outputs are written row by row and scores tile by tile\n"
    "  --halo MODE          reflect (default) or zero: what lies outside the image\n"
    "  --patchwise          MODEL.json is a patch classifier (metadata \"patch\"): run it\n"
    "                       on the patch centred on every pixel, a batch of patches per\n"
    "                       run (the baseline the densified model is judged against;\n"
    "                       same halo, same scores, far slower)\n"
    "  --tiff-out           labels as one TIFF per input file, OUTDIR/FILESTEM_labels.tif\n"
    "                       (8-bit, one page per input page), instead of STEM_labels.png\n"
    "  --quiet              nothing on stderr but errors. Otherwise: the device, one\n"
    "                       note per image (runs or tiles and the planned peak memory)\n"
    "                       and progress: a bar on a terminal, a plain `fcnrt: progress:`\n"
    "                       line every 10 s when stderr is a file or a pipe\n";

namespace {

// "2G", "512M", "1.5GiB", "1000000": bytes (K, M, G, T are powers of 1024).
size_t parse_bytes(const std::string& text) {
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    std::string unit = end ? end : "";
    for (char& c : unit) c = char(std::toupper(static_cast<unsigned char>(c)));
    double mult = 0;
    if (unit.empty() || unit == "B") mult = 1;
    else if (unit == "K" || unit == "KB" || unit == "KIB") mult = 1024.0;
    else if (unit == "M" || unit == "MB" || unit == "MIB") mult = 1024.0 * 1024;
    else if (unit == "G" || unit == "GB" || unit == "GIB") mult = 1024.0 * 1024 * 1024;
    else if (unit == "T" || unit == "TB" || unit == "TIB") mult = 1024.0 * 1024 * 1024 * 1024;
    if (text.empty() || end == text.c_str() || mult == 0 || !(v > 0) || v * mult > 1e18)
        throw UsageError{"--max-memory: expected a size such as 512M or 2G, got '" + text + "'"};
    return size_t(v * mult);
}

struct Options {
    std::string outdir;
    bool overlay = false, probs = false, quiet = false, tiff_out = false;
    double opacity = 0.5;
    HaloMode halo = HaloMode::Reflect;
    size_t budget = 0;  // 0: the default
};

// The output files `segment`'s options ask for (engine/segment/outputs.h).
OutputOptions output_options(const Options& opt) {
    OutputOptions out;
    out.overlay = opt.overlay;
    out.opacity = opt.opacity;
    out.labels_png = !opt.tiff_out;
    return out;
}

// --tiff-out: the page's labels row by row into the file's labels TIFF, which
// is renamed into place after its last page.
void add_tiff_page(TiffLabelWriter* tiff, const SegmentResult& r, const SegmentInput& ref, size_t) {
    if (!tiff) return;
    tiff->begin_page(r.width, r.height);
    for (int64_t y = 0; y < r.height; ++y) tiff->write_row(r.labels.data() + size_t(y) * size_t(r.width));
    if (ref.page + 1 == ref.pages) tiff->finish();
}

void abandon_tiff(std::unique_ptr<TiffLabelWriter>& tiff, const std::string& tiff_path, const SegmentInput& ref) {
    if (!tiff) return;
    tiff.reset();  // the temporary is removed
    std::cerr << "fcnrt: note: " << tiff_path << ": not written, since page " << ref.page << " of "
              << ref.path << " failed\n";
}

}  // namespace

int segment_command(const std::vector<std::string>& argv_in) {
    // Buffers of 1 MiB and more straight from mmap, and back to the system when
    // freed. glibc otherwise raises this threshold after each large free (up to
    // 32 MiB), after which tile-sized tensors come from the heap and freed ones
    // stay resident: measured 20-30% above the planned budget on huge images.
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    // -o is this command's short form of --output.
    std::vector<std::string> argv = argv_in;
    for (std::string& a : argv)
        if (a == "-o") a = "--output";
    Args args("segment", argv, {"--output", "--opacity", "--device", "--precision", "--max-memory", "--halo"},
              {"--overlay", "--probs", "--quiet", "--patchwise", "--tiff-out"});
    if (args.positional().size() < 2)
        throw UsageError{"segment takes MODEL.json and at least one IMAGE or DIR (see fcnrt segment --help)"};
    Options opt;
    opt.outdir = args.value("--output");
    if (opt.outdir.empty()) throw UsageError{"segment needs -o OUTDIR"};
    opt.overlay = args.flag("--overlay");
    opt.probs = args.flag("--probs");
    opt.quiet = args.flag("--quiet");
    opt.tiff_out = args.flag("--tiff-out");
    if (!args.value("--opacity").empty()) {
        const std::string t = args.value("--opacity");
        char* end = nullptr;
        opt.opacity = std::strtod(t.c_str(), &end);
        if (t.empty() || *end != '\0' || !(opt.opacity >= 0.0 && opt.opacity <= 1.0))
            throw UsageError{"--opacity: expected a number in 0..1, got '" + t + "'"};
    }
    const std::string halo = args.value("--halo", "reflect");
    if (halo != "reflect" && halo != "zero")
        throw UsageError{"--halo: expected reflect or zero, got '" + halo + "'"};
    opt.halo = halo == "zero" ? HaloMode::Zero : HaloMode::Reflect;
    const std::string device = device_option(args);
    const std::string precision = precision_option(args);
    const bool budget_given = !args.value("--max-memory").empty();
    if (budget_given) opt.budget = parse_bytes(args.value("--max-memory"));

    const bool patchwise = args.flag("--patchwise");
    Model model = load_model(args.positional()[0]);
    SegmentModel sm;     // the dense path's view of the model
    PatchwiseModel pm;  // with --patchwise
    if (patchwise) {
        pm = analyse_patchwise_model(model);
        open_batch_dimension(model, pm);
        sm.channels = pm.channels;
        sm.classes = pm.classes;
    } else {
        sm = analyse_segment_model(model);
    }
    const Preprocess pre = parse_preprocess(model, sm.channels);
    const std::vector<Rgb> palette = class_palette(model.graph.metadata, int(sm.classes), model.path);
    if (opt.probs && sm.output_is_labels)
        throw Error(model.path, "", "--probs needs scores, but output '" + sm.output +
                                        "' holds class indices");

    // The images, checked for stems that would overwrite each other's outputs.
    const std::vector<SegmentInput> refs = list_segment_inputs(
        std::vector<std::string>(args.positional().begin() + 1, args.positional().end()));

    std::string chosen;
    // One backend and executor per device; several only for a list of GPUs.
    std::vector<std::shared_ptr<Backend>> backends;
    if (is_cuda_device_list(device)) backends = select_cuda_backends(device, &chosen);
    else backends.push_back(select_backend(device, &chosen));
    if (patchwise && backends.size() > 1)
        throw UsageError{"--patchwise runs on one device; give --device cuda:N"};
    const std::shared_ptr<Backend> backend = backends[0];
    if (!opt.quiet) std::cerr << "fcnrt: " << chosen << "\n";
    std::vector<std::unique_ptr<Executor>> executors;
    std::vector<Executor*> executor_list;
    for (const auto& b : backends) {
        executors.push_back(std::make_unique<Executor>(model, b, resolve_precision(precision, b->kind())));
        executor_list.push_back(executors.back().get());
    }
    Executor& executor = *executors[0];
    DenseSegmenter dense{model, executor, sm, pre, palette};
    if (executor_list.size() > 1) dense.devices = executor_list;

    // The budget is for the whole process on the CPU, for the device on a GPU
    // (engine/segment/memory_budget.h). Several GPUs share one tile plan: by
    // default the budget of the one with least free memory.
    const bool on_device = backend->kind() == BackendKind::Cuda;
    size_t requested = budget_given ? std::max<size_t>(opt.budget, 1) : 0;
    if (!budget_given && backends.size() > 1) {
        requested = SIZE_MAX;
        for (const auto& b : backends)
            requested = std::min(requested, b->free_device_bytes() / 5 * 4 + executor.weight_bytes());
    }
    const SegmentBudget seg_budget = plan_segment_budget(model, executor, requested, resident_bytes());
    const size_t budget = seg_budget.images;
    if (!is_directory(opt.outdir) && ::mkdir(opt.outdir.c_str(), 0777) != 0) {
        const int err = errno;  // is_directory's stat would overwrite it
        if (!is_directory(opt.outdir))
            throw Error(opt.outdir, "", std::string("cannot create the output directory: ") +
                                            std::strerror(err));
    }

    const std::string budget_note = budget_text(seg_budget);

    Progress bar("segment", !opt.quiet);
    // Image i's tile `done` of `all` (runs of patches for --patchwise).
    auto show = [&](size_t i, size_t done, size_t all, const char* unit) {
        const double fraction = (double(i) + double(done) / double(std::max<size_t>(all, 1))) /
                                double(refs.size());
        bar.update("image " + std::to_string(i + 1) + "/" + std::to_string(refs.size()) + " " +
                       refs[i].stem + ", " + unit + " " + std::to_string(done) + "/" +
                       std::to_string(all),
                   fraction);
    };
    int failures = 0;
    // With --tiff-out, the labels TIFF of the file whose pages are running;
    // abandoned (never renamed into place) when one of its pages fails.
    std::unique_ptr<TiffLabelWriter> tiff;
    std::string tiff_path;
    // On a GPU the host's share of an image (decoding it, encoding its PNGs)
    // overlaps the device's: the next image is decoded on a host thread while this
    // one segments, and an image's outputs are written on a host thread while the
    // next one segments. Host memory then holds two images' samples and labels
    // (the device budget does not count host memory). Not on the CPU, whose cores
    // run the kernels and whose budget counts one image; not with --tiff-out,
    // whose pages go into one file in order.
    const bool overlap = on_device && !patchwise && !opt.tiff_out;
    std::future<DecodedInput> prefetched;  // image i, decoding while image i - 1 runs
    // The outputs of the image before, being written; its errors are that image's.
    std::future<void> writing;
    size_t writing_index = 0;
    auto finish_writing = [&] {
        if (!writing.valid()) return;
        const std::string& p = refs[writing_index].path;
        try {
            writing.get();
        } catch (const Error& e) {
            bar.clear();
            std::cerr << "fcnrt: error: " << (e.file().empty() ? e.with_file(p) : e).what() << "\n";
            ++failures;
        } catch (const std::bad_alloc&) {
            bar.clear();
            std::cerr << "fcnrt: error: " << p << ": out of memory\n";
            ++failures;
        }
    };
    for (size_t i = 0; i < refs.size(); ++i) {
        const SegmentInput& ref = refs[i];
        const std::string& path = ref.path;
        // This image's prefetch, if any, is this iteration's whatever happens.
        std::future<DecodedInput> mine = std::move(prefetched);
        // What the notes call it: the file, and the page of a multi-page TIFF.
        const std::string shown = ref.pages > 1 ? path + " page " + std::to_string(ref.page) : path;
        if (opt.tiff_out && ref.page == 0) {
            tiff.reset();
            tiff_path = opt.outdir + "/" + stem_of(path) + "_labels.tif";
        }
        try {
            if (opt.tiff_out && ref.page == 0) tiff = std::make_unique<TiffLabelWriter>(tiff_path);
            if (!patchwise) {
                SegmentFileSettings settings;
                settings.budget = budget;
                settings.halo = opt.halo;
                settings.probs = opt.probs;
                settings.outputs = output_options(opt);
                const std::string base = opt.outdir + "/" + ref.stem;
                auto note = [&](const TilePlan& plan, size_t run_budget) {
                    if (opt.quiet) return;
                    bar.clear();
                    std::cerr << "fcnrt: note: " << shown << ": " << plan.tiles.size()
                              << (plan.tiled() ? " tiles" : " tile") << " of up to " << plan.tile[0]
                              << "x" << plan.tile[1] << " pixels (planned peak "
                              << bytes_text(plan.peak_bytes) << " per run, of the "
                              << bytes_text(run_budget) << " the image's buffers leave of the "
                              << budget_note << ")\n";
                };
                auto progress = [&](size_t done, size_t all) { show(i, done, all, "tile"); };
                if (!overlap) {
                    const SegmentResult r = segment_file(dense, ref, base, settings, note, progress);
                    add_tiff_page(tiff.get(), r, ref, refs.size());
                    continue;
                }
                DecodedInput decoded = mine.valid() ? mine.get() : decode_segment_input(ref, budget);
                if (i + 1 < refs.size())
                    prefetched = std::async(std::launch::async, decode_segment_input,
                                            std::cref(refs[i + 1]), budget);
                auto done = std::make_shared<SegmentedImage>(
                    segment_decoded(dense, ref, std::move(decoded), base, settings, note, progress));
                finish_writing();  // the image before, in order
                // The task owns what it writes: the image, the result and the scores file.
                writing = std::async(std::launch::async, [done, base, settings, &dense] {
                    write_segmented(dense, base, *done, settings);
                });
                writing_index = i;
                continue;
            }
            // The decoded samples and the labels exist for the whole image: counted
            // against the budget (from the header, before decoding), the rest is the tiles'.
            DecodedInput decoded = decode_segment_input(ref, budget);
            const size_t run_budget = decoded.run_budget;
            const Image image = std::move(decoded.image);
            const InputTransform transform(pre, image.info(), path);
            const HaloPlan halo = patchwise_halo(pm, image.height(), image.width());
            const PatchwisePlan plan = plan_patchwise(model, pm, halo, run_budget);
            if (!opt.quiet) {
                bar.clear();
                std::cerr << "fcnrt: note: " << shown << ": patchwise, " << plan.runs
                          << " runs of up to " << plan.batch << " patches (planned peak "
                          << bytes_text(plan.peak_bytes) << ": " << bytes_text(plan.run_bytes)
                          << " per run + " << bytes_text(plan.image_bytes)
                          << " of padded input and scores, of the " << bytes_text(run_budget)
                          << " the image's buffers leave of the " << budget_note << ")\n";
            }
            show(i, 0, size_t(plan.runs), "run");
            const SegmentResult r = segment_image_patchwise(
                executor, pm, halo, plan, image, transform, opt.halo, opt.probs,
                [&](size_t done, size_t all) { show(i, done, all, "run"); });
            write_segment_outputs(opt.outdir + "/" + ref.stem, image, r, palette, output_options(opt));
            add_tiff_page(tiff.get(), r, ref, refs.size());
        } catch (const Error& e) {
            abandon_tiff(tiff, tiff_path, ref);
            bar.clear();
            // An error not already naming a file belongs to this image.
            std::cerr << "fcnrt: error: " << (e.file().empty() ? e.with_file(path) : e).what() << "\n";
            ++failures;
        } catch (const std::bad_alloc&) {
            abandon_tiff(tiff, tiff_path, ref);
            bar.clear();
            std::cerr << "fcnrt: error: " << path << ": out of memory\n";
            ++failures;
        }
    }
    finish_writing();
    bar.stop();
    return failures ? 1 : 0;
}

}  // namespace fcnrt::cli
