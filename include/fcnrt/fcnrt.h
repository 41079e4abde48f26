// fcnrt's C++ API: load a model (fcnrt graph JSON or ONNX), run it on arrays,
// segment images with the tiling and memory budget of `fcnrt segment`, write
// segment's output files, densify patch classifiers and score label maps.
// Installed with `cmake --install` beside fcnrtConfig.cmake:
//
//   find_package(fcnrt REQUIRED)
//   target_link_libraries(app PRIVATE fcnrt::fcnrt)
//
// Every function throws fcnrt::Error (fcnrt/error.h) with the same one-line
// message the command line prints after "fcnrt: error: ". The header hides the
// engine: nothing here depends on its internal types. A Network is not safe to
// use from two threads at once (one run at a time); separate Networks are.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fcnrt/error.h"

namespace fcnrt {

// The library's version, "MAJOR.MINOR.PATCH" (the CMake project's).
const char* version();

enum class ElementType { Float32, Int32 };

// An array the caller owns: dense, C order, read in place (run() copies it
// straight to the device, with no host copy before).
struct ArrayView {
    std::vector<int64_t> shape;
    const float* data = nullptr;  // float32, the only input type models take
};

// An array the library made (run()'s outputs, segmentation scores): dense, C
// order. Copies share the same elements.
class Array {
public:
    Array();
    ElementType type() const;
    const std::vector<int64_t>& shape() const;
    int64_t size() const;  // elements
    size_t bytes() const;
    const void* data() const;
    void* data();
    bool empty() const { return size() == 0; }

    struct Storage;  // the implementation's
    explicit Array(std::shared_ptr<Storage> storage);
    const std::shared_ptr<Storage>& storage() const { return storage_; }

private:
    std::shared_ptr<Storage> storage_;
};

// Interleaved image samples, [height, width, channels]: uint8_t for bit depth 8,
// uint16_t for 16; channels 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA. Read in place.
struct ImageView {
    int64_t height = 0, width = 0;
    int channels = 1;
    int bit_depth = 8;
    const void* samples = nullptr;
};

// A decoded image file (PNG, JPEG, TIFF page, BMP, TGA, PNM), kept as stored:
// 8- or 16-bit samples, nothing widened.
class DecodedImage {
public:
    ImageView view() const;
    struct Storage;  // the implementation's
    explicit DecodedImage(std::shared_ptr<Storage> storage);
    const std::shared_ptr<Storage>& storage() const { return storage_; }

private:
    std::shared_ptr<Storage> storage_;
};

DecodedImage decode_image(const std::string& path, int64_t page = 0);

// One image `fcnrt segment` segments: a file, or one page of a multi-page TIFF.
struct ImageInput {
    std::string path;
    int64_t page = 0, pages = 1;
    std::string stem;  // of its outputs: STEM_mask.png, ... (_pNNNN for a page of several)
};

// The images of files and directories as `fcnrt segment` lists them:
// directories' image files sorted, TIFF pages expanded; refuses two inputs
// whose outputs would share a stem.
std::vector<ImageInput> list_images(const std::vector<std::string>& paths);

struct NetworkOptions {
    std::string device = "auto";  // auto (the GPU when usable), cpu or cuda
    // The convolutions' multiply-adds (`fcnrt run --precision`): "fp32" (also
    // "float32"; exact float32), or on CUDA the tensor cores' "tf32", "bf16" or
    // "fp16" with float32 accumulation. "" is the backend's default: tf32 on CUDA,
    // as PyTorch's cuDNN default, fp32 on the CPU (its only precision).
    std::string precision;
};

enum class Halo { Reflect, Zero };

struct SegmentOptions {
    // `fcnrt segment --max-memory`: on the CPU a budget for the whole process
    // (the program, the model and the kernels' scratch first, then the image's
    // buffers, then each run); on a GPU for the device. 0: the CLI's default.
    size_t max_memory = 0;
    bool probs = false;  // also the softmax scores
    Halo halo = Halo::Reflect;
};

struct Segmentation {
    int64_t height = 0, width = 0, classes = 0;
    size_t tiles = 1;             // runs it took; more than one when cut to fit the budget
    std::vector<uint8_t> labels;  // [height, width] class indices
    Array probs;                  // [classes, height, width] float32, with probs; empty otherwise
};

struct FileSegmentOptions {
    SegmentOptions segment;  // probs: also write STEM_probs.npy
    bool overlay = false;    // also STEM_overlay.png
    double opacity = 0.5;    // the mask's weight in the overlay, 0..1
};

// A model loaded on a device, ready to run.
class Network {
public:
    // Throws fcnrt::Error naming the file for a missing or malformed model, an
    // unknown device or precision, or `cuda` without a usable GPU.
    explicit Network(const std::string& path, const NetworkOptions& options = {});
    ~Network();
    Network(Network&&) noexcept;
    Network& operator=(Network&&) noexcept;

    const std::string& path() const;
    // Which device runs, e.g. "device: cpu (2 threads)" (and for auto, why).
    const std::string& device() const;
    std::vector<std::string> input_names() const;
    std::vector<std::string> output_names() const;

    // `fcnrt run`: inputs by graph input name, outputs by graph output name.
    std::map<std::string, Array> run(const std::map<std::string, ArrayView>& inputs);

    // `fcnrt segment` on an image in memory: the model's preprocessing, halo,
    // tiles planned within options.max_memory, labels (and scores).
    Segmentation segment(const ImageView& image, const SegmentOptions& options = {});

    // `fcnrt segment` on one input, writing OUTDIR/STEM_mask.png,
    // STEM_labels.png (and STEM_overlay.png, STEM_probs.npy) all or none, the
    // same files the command line writes. Returns the labels (not the scores,
    // which went to the file). OUTDIR must exist.
    Segmentation segment_file(const ImageInput& input, const std::string& outdir,
                              const FileSegmentOptions& options = {});

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

// `fcnrt densify PATCH.json -o DENSE.json [--same-size [--halo MODE]]`: writes
// the dense model and its .safetensors beside it.
struct DensifySettings {
    bool same_size = false;
    Halo halo = Halo::Reflect;  // with same_size
};
void densify_file(const std::string& patch_json, const std::string& dense_json,
                  const DensifySettings& settings = {});

// `fcnrt eval PRED GT [--classes N] [--ignore V] [--region X0,Y0,X1,Y1] --json`:
// the JSON object it prints (one line), for two label maps or two directories.
struct EvalSettings {
    int64_t classes = 0;                           // 0: the largest label seen + 1
    std::optional<uint32_t> ignore;                // ground-truth value not scored
    std::optional<std::array<int64_t, 4>> region;  // x0, y0, x1, y1 (half-open)
};
std::string evaluate_json(const std::string& prediction, const std::string& truth,
                          const EvalSettings& settings = {});

}  // namespace fcnrt
