#include "engine/attributes.h"
#include "engine/segment/preprocess.h"

#include "engine/error.h"

namespace fcnrt {

namespace {

std::vector<double> per_channel(const Json& block, const char* key, double fallback, int64_t channels,
                                const std::string& model_path) {
    if (!block.contains(key)) return std::vector<double>(size_t(channels), fallback);
    const Json& v = block[key];
    std::vector<double> out;
    if (v.is_number()) out.assign(size_t(channels), v.get<double>());
    else if (v.is_array() && (v.size() == 1 || int64_t(v.size()) == channels)) {
        for (const Json& x : v) {
            if (!x.is_number())
                throw Error(model_path, "", std::string("metadata preprocess.") + key +
                                                " must hold numbers, got " + json_text(v));
            out.push_back(x.get<double>());
        }
        if (out.size() == 1) out.assign(size_t(channels), out[0]);
    } else {
        throw Error(model_path, "", std::string("metadata preprocess.") + key + " must be a number or " +
                                        std::to_string(channels) + " numbers (one per input channel), got " +
                                        json_text(v));
    }
    return out;
}

}  // namespace

Preprocess parse_preprocess(const Model& model, int64_t model_channels) {
    if (model_channels != 1 && model_channels != 3)
        throw Error(model.path, "", "the model's input has " + std::to_string(model_channels) +
                                        " channels; segment feeds images as 1 (gray) or 3 (RGB)");
    Preprocess p;
    p.model_channels = int(model_channels);
    const Json& m = model.graph.metadata;
    const Json empty = Json::object();
    const Json& block = m.is_object() && m.contains("preprocess") ? m["preprocess"] : empty;
    if (!block.is_object())
        throw Error(model.path, "", "metadata \"preprocess\" must be an object");
    if (block.contains("scale")) {
        if (!block["scale"].is_number() || !(block["scale"].get<double>() > 0))
            throw Error(model.path, "", "metadata preprocess.scale must be a positive number, got " +
                                            json_text(block["scale"]));
        p.has_scale = true;
        p.scale = block["scale"].get<double>();
    }
    p.mean = per_channel(block, "mean", 0.0, model_channels, model.path);
    p.std = per_channel(block, "std", 1.0, model_channels, model.path);
    for (double s : p.std)
        if (!(s != 0.0))
            throw Error(model.path, "", "metadata preprocess.std must not be 0");
    if (block.contains("channels")) {
        const Json& c = block["channels"];
        const bool gray = c == "gray", rgb = c == "rgb";
        if (!gray && !rgb)
            throw Error(model.path, "", "metadata preprocess.channels must be \"gray\" or \"rgb\", got " +
                                            json_text(c));
        if ((gray && model_channels != 1) || (rgb && model_channels != 3))
            throw Error(model.path, "", "metadata preprocess.channels is " + json_text(c) +
                                            " but the model's input has " +
                                            std::to_string(model_channels) + " channels");
    }
    return p;
}

int64_t reflect_index(int64_t i, int64_t n) {
    if (n <= 1) return 0;
    const int64_t period = 2 * (n - 1);
    int64_t r = i % period;
    if (r < 0) r += period;
    return r < n ? r : period - r;
}

InputTransform::InputTransform(const Preprocess& pre, const ImageInfo& image,
                               const std::string& image_name)
    : channels_(pre.model_channels), mean_(pre.mean), std_(pre.std) {
    if (image.channels < 1 || image.channels > 4)
        throw Error(image_name, "", "unexpected channel count " + std::to_string(image.channels));
    if (image.bit_depth != 8 && image.bit_depth != 16)
        throw Error(image_name, "", "unexpected bit depth " + std::to_string(image.bit_depth));
    const int colour = image.channels <= 2 ? 1 : 3;
    if (colour == 3 && channels_ == 1) convert_ = Convert::RgbToGray;
    else if (colour == 1 && channels_ == 3) convert_ = Convert::GrayToRgb;
    levels_ = image.bit_depth == 16 ? 65536 : 256;
    scale_ = pre.has_scale ? pre.scale : 1.0 / double(levels_ - 1);
    if (convert_ != Convert::RgbToGray) {
        table_.resize(size_t(channels_) * size_t(levels_));
        for (int c = 0; c < channels_; ++c)
            for (int v = 0; v < levels_; ++v)
                table_[size_t(c) * levels_ + v] = float((v * scale_ - mean_[c]) / std_[c]);
    }
}

void InputTransform::fill(const Image& image, int64_t y0, int64_t x0, int64_t h, int64_t w,
                          HaloMode halo, float* dst) const {
    const int64_t H = image.height(), W = image.width();
    // Source column per region column (-1: zero halo).
    std::vector<int64_t> cols(static_cast<size_t>(w));
    for (int64_t j = 0; j < w; ++j) {
        const int64_t x = x0 + j;
        cols[j] = x >= 0 && x < W ? x : halo == HaloMode::Reflect ? reflect_index(x, W) : -1;
    }
    const size_t plane = size_t(h) * size_t(w);
    for (int64_t i = 0; i < h; ++i) {
        const int64_t y = y0 + i;
        const int64_t sy = y >= 0 && y < H ? y : halo == HaloMode::Reflect ? reflect_index(y, H) : -1;
        for (int c = 0; c < channels_; ++c) {
            float* row = dst + size_t(c) * plane + size_t(i) * size_t(w);
            if (sy < 0) {
                std::fill(row, row + w, 0.0f);
                continue;
            }
            const int src_c = convert_ == Convert::None ? c : 0;
            for (int64_t j = 0; j < w; ++j) {
                const int64_t sx = cols[j];
                if (sx < 0) {
                    row[j] = 0.0f;
                } else if (convert_ == Convert::RgbToGray) {
                    const double luma = 0.299 * image.at(sy, sx, 0) + 0.587 * image.at(sy, sx, 1) +
                                        0.114 * image.at(sy, sx, 2);
                    row[j] = float((luma * scale_ - mean_[0]) / std_[0]);
                } else {
                    row[j] = table_[size_t(c) * levels_ + image.at(sy, sx, src_c)];
                }
            }
        }
    }
}

}  // namespace fcnrt
