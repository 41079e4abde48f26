// From image samples to the model's input: the metadata "preprocess" block
// (../shared/spec/model-format.md, Metadata), colour conversion to the
// model's channel count, and the halo outside the image.
//
// Decisions where the spec is silent:
// - "scale" given: used as is, whatever the bit depth (a model trained on raw
//   16-bit values says so with its own scale). Absent: 1/255 for 8-bit
//   images and 1/65535 for 16-bit, so either comes out in 0..1.
// - "mean" / "std": one value per model channel, or one value for all;
//   defaults 0 and 1.
// - "channels": "gray" or "rgb"; when given it must agree with the model's
//   input channel count (1 or 3). A gray model reading an RGB image gets
//   ITU-R BT.601 luma, 0.299 R + 0.587 G + 0.114 B, of the raw samples; an
//   RGB model reading a gray image gets the gray value in all three channels.
//   Alpha is dropped. Models with another channel count are refused.
// - The halo: HaloMode::Reflect mirrors the image about its edge pixels
//   (PyTorch "reflect": -1 -> 1), repeating the mirror as often as needed
//   when the halo is wider than the image (a 1-pixel-wide image repeats its
//   one pixel); HaloMode::Zero puts 0 in the *preprocessed* domain, i.e. the
//   mean colour, as a zero-padded model input would see.
#pragma once

#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/image/image_io.h"

namespace fcnrt {

enum class HaloMode { Reflect, Zero };

struct Preprocess {
    int model_channels = 1;  // 1 or 3
    bool has_scale = false;  // metadata gave "scale"
    double scale = 1.0;
    std::vector<double> mean, std;  // one per model channel
};

// Reads metadata "preprocess" for a model whose input has `model_channels`
// channels. Throws fcnrt::Error(model.path) for a malformed block, a
// "channels" that contradicts the input, or a channel count other than 1 or 3.
Preprocess parse_preprocess(const Model& model, int64_t model_channels);

// Coordinate i (any integer) of an axis of n pixels, reflected into [0, n).
int64_t reflect_index(int64_t i, int64_t n);

// The conversion of one image's samples to model input values.
class InputTransform {
public:
    // Throws fcnrt::Error(image_name) when the image's channels cannot feed the model.
    InputTransform(const Preprocess& pre, const ImageInfo& image, const std::string& image_name);

    int channels() const { return channels_; }

    // dst [channels, h, w] (C-order): the input values at image rows
    // [y0, y0 + h) and columns [x0, x0 + w); coordinates outside the image are
    // the halo. Every pixel's value depends only on its own samples, so any
    // region gives bitwise the values a larger region gives at the same place.
    void fill(const Image& image, int64_t y0, int64_t x0, int64_t h, int64_t w, HaloMode halo,
              float* dst) const;

private:
    enum class Convert { None, RgbToGray, GrayToRgb };
    Convert convert_ = Convert::None;
    int channels_ = 1;
    double scale_ = 1.0;
    std::vector<double> mean_, std_;
    std::vector<float> table_;  // [channels][2^bit_depth] when convert_ != RgbToGray
    int levels_ = 256;
};

}  // namespace fcnrt
