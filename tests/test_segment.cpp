// `fcnrt segment`'s engine parts: image IO (round trips of 8/16-bit gray,
// gray+alpha, RGB, RGBA PNGs; refusal of missing, truncated, corrupt, 0-pixel
// and absurdly large images), preprocessing, the palette, the halo, and exact
// tiling: the stitched tiles are bitwise the untiled run on the CPU, for a
// VALID U-Net, a densified patch classifier and a padded U-Net with pooling,
// at odd image sizes; a global-pool net refuses to be tiled.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <random>

#include "engine/backend.h"
#include "engine/device.h"
#include "engine/error.h"
#include "engine/executor.h"
#include "engine/image/image_io.h"
#include "engine/image/png_stream.h"
#include "engine/io/file_util.h"
#include "engine/io/npy.h"
#include "engine/io/safetensors.h"
#include "engine/model_loader.h"
#include "engine/passes/densify.h"
#include "engine/segment/outputs.h"
#include "engine/segment/palette.h"
#include "engine/segment/preprocess.h"
#include "engine/segment/tiling.h"

namespace fcnrt {
namespace {

const std::string kGolden = std::string(FCNRT_SOURCE_DIR) + "/tests/golden/";

class TempDir {
public:
    TempDir() {
        std::string pattern = ::testing::TempDir() + "fcnrt_segment_XXXXXX";
        if (!mkdtemp(&pattern[0])) throw std::runtime_error("mkdtemp failed");
        path_ = pattern + "/";
    }
    ~TempDir() {
        const std::string cmd = "rm -rf '" + path_ + "'";
        if (std::system(cmd.c_str()) != 0) ADD_FAILURE() << "could not remove " << path_;
    }
    std::string file(const std::string& name) const { return path_ + name; }

private:
    std::string path_;
};

void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream f(path, std::ios::binary);
    f.write(bytes.data(), std::streamsize(bytes.size()));
}

// Expects read_image(path) to throw an Error naming `path` whose text contains `what`.
void expect_refused(const std::string& path, const std::string& what) {
    try {
        read_image(path);
        ADD_FAILURE() << path << " was read";
    } catch (const Error& e) {
        EXPECT_EQ(e.file(), path);
        EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
}

// ---- image IO ----

TEST(ImageIo, RoundTrips8BitPngs) {
    TempDir dir;
    std::mt19937 rng(1);
    for (int channels = 1; channels <= 4; ++channels) {
        const int64_t w = 37, h = 23;
        std::vector<uint8_t> px(size_t(w * h * channels));
        for (uint8_t& v : px) v = uint8_t(rng());
        const std::string path = dir.file("c" + std::to_string(channels) + ".png");
        const std::string png = encode_png(px.data(), w, h, channels);
        write_bytes(path, png);
        const Image im = read_image(path);
        EXPECT_EQ(im.width(), w);
        EXPECT_EQ(im.height(), h);
        EXPECT_EQ(im.channels(), channels);
        EXPECT_EQ(im.bit_depth(), 8);
        EXPECT_EQ(std::memcmp(im.samples(), px.data(), px.size()), 0) << channels << " channels";
        const ImageInfo info = read_image_info(path);
        EXPECT_EQ(info.channels, channels);
        EXPECT_EQ(info.bit_depth, 8);
    }
}

TEST(ImageIo, RoundTrips16BitPngs) {
    TempDir dir;
    std::mt19937 rng(2);
    for (int channels = 1; channels <= 4; ++channels) {
        const int64_t w = 19, h = 31;
        std::vector<uint16_t> px(size_t(w * h * channels));
        for (uint16_t& v : px) v = uint16_t(rng());
        px[0] = 65535;  // the extremes survive
        px[1] = 0;
        const std::string path = dir.file("c" + std::to_string(channels) + ".png");
        write_bytes(path, encode_png16(px.data(), w, h, channels));
        const Image im = read_image(path);
        EXPECT_EQ(im.bit_depth(), 16);
        EXPECT_EQ(im.channels(), channels);
        ASSERT_EQ(im.width(), w);
        ASSERT_EQ(im.height(), h);
        for (int64_t y = 0; y < h; ++y)
            for (int64_t x = 0; x < w; ++x)
                for (int c = 0; c < channels; ++c)
                    ASSERT_EQ(im.at(y, x, c), px[size_t((y * w + x) * channels + c)]);
    }
}

TEST(ImageIo, RefusesBadFiles) {
    TempDir dir;
    std::vector<uint8_t> px(64 * 48 * 3);
    std::mt19937 rng(3);
    for (uint8_t& v : px) v = uint8_t(rng());  // noise: compresses badly, so truncation bites
    const std::string png = encode_png(px.data(), 64, 48, 3);

    expect_refused(dir.file("missing.png"), "");

    write_bytes(dir.file("empty.png"), "");
    expect_refused(dir.file("empty.png"), "empty");

    write_bytes(dir.file("truncated.png"), png.substr(0, png.size() / 2));
    expect_refused(dir.file("truncated.png"), "");

    write_bytes(dir.file("text.png"), "this is not an image at all, just some text\n");
    expect_refused(dir.file("text.png"), "not a readable image");

    std::string corrupt = png;  // a broken zlib header in the first IDAT chunk
    const size_t idat = corrupt.find("IDAT");
    ASSERT_NE(idat, std::string::npos);
    corrupt[idat + 4] = corrupt[idat + 5] = char(0xff);
    write_bytes(dir.file("corrupt.png"), corrupt);
    expect_refused(dir.file("corrupt.png"), "");

    // IHDR width and height are bytes 16..23, big-endian; stb does not check the CRC.
    auto with_size = [&](uint32_t w, uint32_t h) {
        std::string s = png;
        for (int i = 0; i < 4; ++i) {
            s[16 + i] = char((w >> (24 - 8 * i)) & 0xff);
            s[20 + i] = char((h >> (24 - 8 * i)) & 0xff);
        }
        return s;
    };
    write_bytes(dir.file("zero.png"), with_size(0, 0));
    expect_refused(dir.file("zero.png"), "");
    write_bytes(dir.file("wide.png"), with_size(3000000, 1));
    expect_refused(dir.file("wide.png"), "limit");
    write_bytes(dir.file("huge.png"), with_size(40000, 30000));
    expect_refused(dir.file("huge.png"), "limit");
    EXPECT_THROW(read_image_info(dir.file("huge.png")), Error);
}

// ---- preprocess and palette ----

Model model_with_preprocess(const Json& preprocess, int64_t channels) {
    Model m;
    m.path = "m.json";
    m.graph.metadata = Json{{"preprocess", preprocess}};
    (void)channels;
    return m;
}

TEST(Preprocess, EightBitScaleMeanStd) {
    const Preprocess p = parse_preprocess(
        model_with_preprocess({{"scale", 1.0 / 255}, {"mean", {0.5}}, {"std", {0.25}}, {"channels", "gray"}}, 1), 1);
    Image im = Image::blank({3, 2, 1, 8});
    auto* s = static_cast<uint8_t*>(im.mutable_samples());
    for (int i = 0; i < 6; ++i) s[i] = uint8_t(i * 51);
    const InputTransform t(p, im.info(), "im.png");
    std::vector<float> out(6);
    t.fill(im, 0, 0, 2, 3, HaloMode::Reflect, out.data());
    for (int i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(out[i], float((i * 51 / 255.0 - 0.5) / 0.25));
}

TEST(Preprocess, SixteenBitDefaultScaleAndGivenScale) {
    Image im = Image::blank({1, 1, 1, 16});
    static_cast<uint16_t*>(im.mutable_samples())[0] = 65535;
    float v = 0;
    InputTransform(parse_preprocess(model_with_preprocess(Json::object(), 1), 1), im.info(), "x")
        .fill(im, 0, 0, 1, 1, HaloMode::Reflect, &v);
    EXPECT_FLOAT_EQ(v, 1.0f);  // no "scale": 1/65535 for 16-bit
    InputTransform(parse_preprocess(model_with_preprocess({{"scale", 0.5}}, 1), 1), im.info(), "x")
        .fill(im, 0, 0, 1, 1, HaloMode::Reflect, &v);
    EXPECT_FLOAT_EQ(v, 32767.5f);  // a given scale is used as is
}

TEST(Preprocess, ColourConversions) {
    Image rgb = Image::blank({1, 1, 4, 8});  // RGBA: alpha dropped
    auto* s = static_cast<uint8_t*>(rgb.mutable_samples());
    s[0] = 200, s[1] = 100, s[2] = 50, s[3] = 7;
    const Preprocess gray = parse_preprocess(model_with_preprocess({{"scale", 1.0}}, 1), 1);
    float v = 0;
    InputTransform(gray, rgb.info(), "x").fill(rgb, 0, 0, 1, 1, HaloMode::Reflect, &v);
    EXPECT_FLOAT_EQ(v, float(0.299 * 200 + 0.587 * 100 + 0.114 * 50));

    Image g = Image::blank({1, 1, 2, 8});  // gray + alpha
    static_cast<uint8_t*>(g.mutable_samples())[0] = 9;
    const Preprocess three = parse_preprocess(
        model_with_preprocess({{"scale", 1.0}, {"mean", {1, 2, 3}}, {"channels", "rgb"}}, 3), 3);
    float out[3];
    InputTransform(three, g.info(), "x").fill(g, 0, 0, 1, 1, HaloMode::Reflect, out);
    EXPECT_FLOAT_EQ(out[0], 8.0f);
    EXPECT_FLOAT_EQ(out[1], 7.0f);
    EXPECT_FLOAT_EQ(out[2], 6.0f);

    EXPECT_THROW(parse_preprocess(model_with_preprocess({{"channels", "rgb"}}, 1), 1), Error);
    EXPECT_THROW(parse_preprocess(model_with_preprocess({{"mean", {1, 2}}}, 3), 3), Error);
    EXPECT_THROW(parse_preprocess(model_with_preprocess(Json::object(), 4), 4), Error);
}

TEST(Preprocess, HaloReflectAndZero) {
    EXPECT_EQ(reflect_index(-1, 5), 1);
    EXPECT_EQ(reflect_index(5, 5), 3);
    EXPECT_EQ(reflect_index(-9, 5), 1);  // wider than the image: the mirror repeats
    EXPECT_EQ(reflect_index(12, 5), 4);
    EXPECT_EQ(reflect_index(-3, 1), 0);
    Image im = Image::blank({3, 1, 1, 8});
    auto* s = static_cast<uint8_t*>(im.mutable_samples());
    s[0] = 10, s[1] = 20, s[2] = 30;
    const InputTransform t(parse_preprocess(model_with_preprocess({{"scale", 1.0}}, 1), 1), im.info(), "x");
    std::vector<float> out(9);
    t.fill(im, -2, -3, 1, 9, HaloMode::Reflect, out.data());  // the row is the halo too
    EXPECT_EQ(out, (std::vector<float>{20, 30, 20, 10, 20, 30, 20, 10, 20}));
    t.fill(im, 0, -3, 1, 9, HaloMode::Zero, out.data());
    EXPECT_EQ(out, (std::vector<float>{0, 0, 0, 10, 20, 30, 0, 0, 0}));
}

TEST(Palette, ModelColoursThenVoc) {
    EXPECT_EQ(voc_colour(0), (Rgb{0, 0, 0}));
    EXPECT_EQ(voc_colour(1), (Rgb{128, 0, 0}));
    EXPECT_EQ(voc_colour(2), (Rgb{0, 128, 0}));
    EXPECT_EQ(voc_colour(15), (Rgb{192, 128, 128}));
    const Json meta = {{"classes", {{{"name", "a"}, {"color", {1, 2, 3}}}}}};
    const auto p = class_palette(meta, 3, "m.json");
    EXPECT_EQ(p[0], (Rgb{1, 2, 3}));
    EXPECT_EQ(p[2], voc_colour(2));
    EXPECT_THROW(class_palette({{"classes", {{{"color", {1, 2}}}}}}, 2, "m.json"), Error);
}

// ---- halo and tiling ----

Image random_image(int64_t h, int64_t w, int channels, uint32_t seed) {
    Image im = Image::blank({w, h, channels, 8});
    auto* s = static_cast<uint8_t*>(im.mutable_samples());
    std::mt19937 rng(seed);
    for (int64_t i = 0; i < w * h * channels; ++i) s[i] = uint8_t(rng());
    return im;
}

struct Segmented {
    HaloPlan halo;
    TilePlan plan;
    SegmentResult result;
};

Segmented segment_on(const Model& model, const Image& im, size_t budget, HaloMode mode,
                     std::shared_ptr<Backend> backend) {
    const SegmentModel sm = analyse_segment_model(model);
    const InputTransform t(parse_preprocess(model, sm.channels), im.info(), "im.png");
    Segmented s;
    s.halo = plan_halo(model, sm, im.height(), im.width());
    s.plan = plan_tiles(model, sm, s.halo, budget);
    Executor ex(model, std::move(backend));
    s.result = segment_image(ex, sm, s.halo, s.plan, im, t, mode, true);
    return s;
}

Segmented segment(const Model& model, const Image& im, size_t budget, HaloMode mode = HaloMode::Reflect,
                  BackendKind kind = BackendKind::Cpu) {
    const SegmentModel sm = analyse_segment_model(model);
    const InputTransform t(parse_preprocess(model, sm.channels), im.info(), "im.png");
    Segmented s;
    s.halo = plan_halo(model, sm, im.height(), im.width());
    s.plan = plan_tiles(model, sm, s.halo, budget);
    Executor ex(model, make_cpu_backend(kind));
    s.result = segment_image(ex, sm, s.halo, s.plan, im, t, mode, true);
    return s;
}

bool same_bits(const Tensor& a, const Tensor& b) {
    return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.bytes()) == 0;
}

// Tiles forced by a budget that fits about a `side` x `side` input region. On
// both CPU backends the stitched labels and scores must be the untiled ones bit
// for bit. The reference backend's float64 arithmetic per pixel does not depend
// on the tensor's size, so there this checks the tiling geometry (halo,
// alignment, region lengths). The fast backend's GEMM sums every output in a
// fixed order whatever the tile (kernels/cpu/gemm.h), while a tile's width is
// not the image's, so its pixels meet other blockings, borders and partial
// tiles: this checks that too, on every ISA path (ctest runs this binary with
// FCNRT_CPU_ISA set to each path the CPU supports).
void expect_tiling_exact(const Model& model, int64_t h, int64_t w, int64_t side, HaloMode mode) {
    for (BackendKind kind : {BackendKind::Reference, BackendKind::Cpu}) {
        SCOPED_TRACE(kind == BackendKind::Reference ? "reference" : "cpu");
        const SegmentModel sm = analyse_segment_model(model);
        const Image im = random_image(h, w, int(sm.channels), uint32_t(h * 1000 + w));
        const Segmented whole = segment(model, im, SIZE_MAX, mode, kind);
        ASSERT_FALSE(whole.plan.tiled());
        EXPECT_EQ(whole.result.height, h);  // the mask has the image's size
        EXPECT_EQ(whole.result.width, w);
        const size_t budget = run_bytes(model, sm, side, side);
        const Segmented tiled = segment(model, im, budget, mode, kind);
        ASSERT_GE(tiled.plan.tiles.size(), 2u);
        EXPECT_LE(tiled.plan.peak_bytes, budget);
        const std::string what = model.path + " at " + std::to_string(h) + "x" + std::to_string(w) +
                                 ": " + std::to_string(tiled.plan.tiles.size()) + " tiles of " +
                                 std::to_string(tiled.plan.tile[0]) + "x" +
                                 std::to_string(tiled.plan.tile[1]);
        // Every pixel delivered exactly once.
        std::vector<int> hits(size_t(h * w), 0);
        for (const Tile& t : tiled.plan.tiles)
            for (int64_t y = t.out_y; y < t.out_y + t.out_h; ++y)
                for (int64_t x = t.out_x; x < t.out_x + t.out_w; ++x) ++hits[size_t(y * w + x)];
        EXPECT_EQ(std::count(hits.begin(), hits.end(), 1), h * w) << what;
        EXPECT_EQ(tiled.result.labels, whole.result.labels) << what;
        EXPECT_TRUE(same_bits(tiled.result.probs, whole.result.probs)) << what;
    }
}

TEST(Tiling, ValidUnetIsExact) {
    const Model m = load_model(kGolden + "graph_unet_valid/model.json");
    expect_tiling_exact(m, 97, 61, 40, HaloMode::Reflect);
    expect_tiling_exact(m, 61, 97, 36, HaloMode::Zero);
    expect_tiling_exact(m, 50, 203, 44, HaloMode::Reflect);
}

// On CUDA too (a GPU, or the emulation in CI): every kernel sums each output in an
// order fixed by its own geometry, not by the tensor's size, so tiles stitch to the
// untiled scores bit for bit.
TEST(Tiling, ValidUnetIsExactOnCuda) {
    std::string why;
    if (!cuda_usable(&why)) GTEST_SKIP() << "no usable CUDA device: " << why;
    const Model m = load_model(kGolden + "graph_unet_valid/model.json");
    const SegmentModel sm = analyse_segment_model(m);
    const Image im = random_image(45, 37, int(sm.channels), 4537);
    const Segmented whole = segment_on(m, im, SIZE_MAX, HaloMode::Reflect, select_backend("cuda", nullptr));
    ASSERT_FALSE(whole.plan.tiled());
    const Segmented tiled = segment_on(m, im, run_bytes(m, sm, 28, 28), HaloMode::Reflect,
                                       select_backend("cuda", nullptr));
    ASSERT_GE(tiled.plan.tiles.size(), 2u);
    EXPECT_EQ(tiled.result.labels, whole.result.labels);
    EXPECT_TRUE(same_bits(tiled.result.probs, whole.result.probs));
}

TEST(Tiling, DensifiedPatchClassifierIsExact) {
    const Model patch = load_model(kGolden + "graph_patch_classifier/model.json");
    const Model dense = densify(patch);
    const HaloPlan hp = plan_halo(dense, analyse_segment_model(dense), 97, 61);
    EXPECT_EQ(hp.pad[0], 7);  // 14 // 2 on top, 14 - 1 - 7 below
    EXPECT_EQ(hp.pad[2], 6);
    EXPECT_EQ(hp.output[0], 97);
    EXPECT_EQ(hp.output[1], 61);
    expect_tiling_exact(dense, 97, 61, 40, HaloMode::Reflect);
    expect_tiling_exact(dense, 61, 97, 30, HaloMode::Zero);
}

TEST(Tiling, PaddedUnetWithPoolingIsExact) {
    const Model m = load_model(kGolden + "graph_unet_padded/model.json");
    const HaloPlan hp = plan_halo(m, analyse_segment_model(m), 97, 61);
    // A same-size net: no halo before the image; after it, what makes the
    // size a multiple of 4 (two 2x2 pools, then upsampling and concats).
    EXPECT_EQ(hp.pad[0], 0);
    EXPECT_EQ(hp.pad[1], 0);
    EXPECT_EQ(hp.input[0], 100);
    EXPECT_EQ(hp.input[1], 64);
    expect_tiling_exact(m, 97, 61, 72, HaloMode::Reflect);
    expect_tiling_exact(m, 61, 97, 64, HaloMode::Reflect);
    expect_tiling_exact(m, 103, 75, 80, HaloMode::Reflect);
}

TEST(Tiling, ImageSmallerThanTheHalo) {
    const Model m = load_model(kGolden + "graph_unet_valid/model.json");
    for (auto [h, w] : {std::pair<int64_t, int64_t>{3, 2}, {1, 1}, {1, 17}}) {
        const Segmented s = segment(m, random_image(h, w, 1, 5), SIZE_MAX);
        EXPECT_EQ(s.result.height, h);
        EXPECT_EQ(s.result.width, w);
        EXPECT_EQ(s.result.labels.size(), size_t(h * w));
    }
}

TEST(Tiling, BudgetTooSmallIsRefused) {
    const Model m = load_model(kGolden + "graph_unet_valid/model.json");
    const SegmentModel sm = analyse_segment_model(m);
    const HaloPlan hp = plan_halo(m, sm, 97, 61);
    EXPECT_THROW(plan_tiles(m, sm, hp, 1000), Error);
}

// conv 3x3 (pads 1) -> x * global_avg_pool(x): every output pixel sees the whole image.
// Variant "group_norm": conv -> group_norm (InstanceNorm2d) instead, the same;
// "resize": conv -> max_pool 2x2 -> resize to the input's size (size_from_input),
// whose sampling ratio depends on the whole image's size.
Model global_pool_model(const TempDir& dir, const std::string& variant = "global_avg_pool") {
    std::map<std::string, Tensor> w;
    w["c.weight"] = Tensor(DType::F32, {2, 1, 3, 3});
    w["c.bias"] = Tensor(DType::F32, {2});
    for (int i = 0; i < 18; ++i) w["c.weight"].f32()[i] = float(i % 5) * 0.1f - 0.2f;
    write_safetensors(dir.file("g.safetensors"), w);
    Json doc = {
        {"format", "fcnrt-graph"},
        {"version", 1},
        {"weights", "g.safetensors"},
        {"inputs", {{{"name", "x"}, {"shape", {1, 1, nullptr, nullptr}}}}},
        {"outputs", {"y"}},
        {"nodes",
         {{{"op", "conv"}, {"name", "c"}, {"inputs", {"x"}}, {"outputs", {"c"}}, {"pads", {1, 1, 1, 1}},
           {"weight", "c.weight"}, {"bias", "c.bias"}},
          {{"op", "global_avg_pool"}, {"name", "g"}, {"inputs", {"c"}}, {"outputs", {"g"}}},
          {{"op", "mul"}, {"name", "y"}, {"inputs", {"c", "g"}}, {"outputs", {"y"}}}}}};
    if (variant == "group_norm")
        doc["nodes"] = {doc["nodes"][0], {{"op", "group_norm"}, {"name", "y"}, {"inputs", {"c"}},
                                          {"outputs", {"y"}}, {"groups", 2}}};
    if (variant == "resize")
        doc["nodes"] = {doc["nodes"][0],
                        {{"op", "max_pool"}, {"name", "p"}, {"inputs", {"c"}}, {"outputs", {"p"}}, {"kernel", {2, 2}}},
                        {{"op", "resize"}, {"name", "y"}, {"inputs", {"p", "x"}}, {"outputs", {"y"}},
                         {"mode", "bilinear"}, {"size_from_input", true}}};
    const std::string path = dir.file("g.json");
    std::ofstream(path) << doc.dump();
    return load_model(path);
}

// An encoder-decoder whose upsampling is an overlapping transposed conv (4x4,
// stride 2, pad 1: every output pixel sums four input pixels), as in FCN,
// Tiramisu and the dilation net; channel counts give GEMMs of every width.
Model overlapping_upsampling_model(const TempDir& dir) {
    std::map<std::string, Tensor> w;
    auto add = [&](const std::string& name, Shape shape) {
        Tensor t(DType::F32, shape);
        for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = float((i * 7919 + 13) % 101) / 101.0f - 0.5f;
        w[name] = std::move(t);
    };
    add("down.weight", {12, 1, 3, 3});
    add("down.bias", {12});
    add("mid.weight", {24, 12, 3, 3});
    add("up.weight", {24, 10, 4, 4});
    add("up.bias", {10});
    add("head.weight", {3, 10, 3, 3});
    write_safetensors(dir.file("u.safetensors"), w);
    const Json doc = {
        {"format", "fcnrt-graph"},
        {"version", 1},
        {"weights", "u.safetensors"},
        {"inputs", {{{"name", "x"}, {"shape", {1, 1, nullptr, nullptr}}}}},
        {"outputs", {"y"}},
        {"nodes",
         {{{"op", "conv"}, {"name", "down"}, {"inputs", {"x"}}, {"outputs", {"d"}}, {"pads", {1, 1, 1, 1}},
           {"stride", {2, 2}}, {"weight", "down.weight"}, {"bias", "down.bias"}, {"activation", "relu"}},
          {{"op", "conv"}, {"name", "mid"}, {"inputs", {"d"}}, {"outputs", {"m"}}, {"pads", {1, 1, 1, 1}},
           {"weight", "mid.weight"}, {"activation", "relu"}},
          {{"op", "conv_transpose"}, {"name", "up"}, {"inputs", {"m"}}, {"outputs", {"u"}},
           {"stride", {2, 2}}, {"pads", {1, 1, 1, 1}}, {"weight", "up.weight"}, {"bias", "up.bias"}},
          {{"op", "conv"}, {"name", "head"}, {"inputs", {"u"}}, {"outputs", {"y"}}, {"pads", {1, 1, 1, 1}},
           {"weight", "head.weight"}}}}};
    const std::string path = dir.file("u.json");
    std::ofstream(path) << doc.dump();
    return load_model(path);
}

// Each output pixel of the transposed conv sums its input pixels in an order the
// CPU kernel keeps independent of the image's size.
TEST(Tiling, OverlappingTransposedConvIsExact) {
    TempDir dir;
    const Model m = overlapping_upsampling_model(dir);
    expect_tiling_exact(m, 160, 130, 60, HaloMode::Reflect);
    expect_tiling_exact(m, 130, 200, 70, HaloMode::Zero);
}

TEST(Tiling, GlobalPoolNetRefusesTiling) {
    for (const char* variant : {"global_avg_pool", "group_norm", "resize"}) {
        TempDir dir;
        const Model m = global_pool_model(dir, variant);
        const SegmentModel sm = analyse_segment_model(m);
        const HaloPlan hp = plan_halo(m, sm, 97, 61);
        EXPECT_EQ(plan_tiles(m, sm, hp, SIZE_MAX).tiles.size(), 1u);  // untiled is fine
        try {
            plan_tiles(m, sm, hp, run_bytes(m, sm, 20, 20));
            ADD_FAILURE() << "a net with " << variant << " was tiled";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("receptive field is the whole image; it cannot be tiled: "
                                                 "raise --max-memory"),
                      std::string::npos)
                << e.what();
        }
    }
}

// An ONNX export at one size: images of exactly that size run untiled; other
// sizes, and budgets that would need tiles, are refused with the reason.
TEST(SegmentModel, FixedSizeModelTakesOnlyItsOwnSize) {
    const std::string path = kGolden + "graph_unet_padded/model.json";
    Json doc = Json::parse(read_file_bytes(path));
    doc["inputs"][0]["shape"] = {1, 3, 32, 48};
    const Model m = load_model_from_json(doc, path);
    const SegmentModel sm = analyse_segment_model(m);
    EXPECT_EQ(sm.fixed_size[0], 32);
    EXPECT_EQ(sm.fixed_size[1], 48);
    const HaloPlan hp = plan_halo(m, sm, 32, 48);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(hp.pad[i], 0);
    EXPECT_EQ(plan_tiles(m, sm, hp, SIZE_MAX).tiles.size(), 1u);
    auto expect_refusal = [](const std::function<void()>& f, const std::string& phrase) {
        try {
            f();
            ADD_FAILURE() << "not refused: " << phrase;
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(phrase), std::string::npos) << e.what();
        }
    };
    expect_refusal([&] { plan_halo(m, sm, 33, 48); }, "fixed at 32x48 but the image is 33x48");
    expect_refusal([&] { plan_tiles(m, sm, hp, 1024); }, "fixed input size cannot be tiled");
}

TEST(SegmentModel, PatchClassifierNeedsDensify) {
    const Model patch = load_model(kGolden + "graph_patch_classifier/model.json");
    try {
        analyse_segment_model(patch);
        ADD_FAILURE();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("densify"), std::string::npos);
    }
}

TEST(SegmentModel, SoftmaxOutputIsTakenAsProbabilities) {
    const Model padded = load_model(kGolden + "graph_unet_padded/model.json");
    EXPECT_TRUE(analyse_segment_model(padded).output_is_probs);
    const Model valid = load_model(kGolden + "graph_unet_valid/model.json");
    const SegmentModel sm = analyse_segment_model(valid);
    EXPECT_FALSE(sm.output_is_probs);
    EXPECT_EQ(sm.output, "scores");
    EXPECT_EQ(sm.classes, 3);
    // Softmax scores sum to 1 per pixel.
    const Segmented s = segment(valid, random_image(20, 30, 1, 9), SIZE_MAX);
    for (int64_t i = 0; i < 20 * 30; i += 37) {
        float sum = 0;
        for (int k = 0; k < 3; ++k) sum += s.result.probs.f32()[k * 600 + i];
        EXPECT_NEAR(sum, 1.0f, 1e-6);
    }
}

// ---- streaming outputs and the memory budget ----

// encode_png_rows, decoded by stb_image (decode_image reads bytes in memory):
// every pixel back, for gray and RGB at odd sizes (one row, one column, and
// sizes that are no multiple of anything), with content that makes the
// filter heuristic pick every filter type, and at zlib levels 0 and 9.
TEST(PngStream, EncoderRoundTripsThroughStbImage) {
    std::mt19937 rng(11);
    for (int channels : {1, 3}) {
        for (auto [w, h] : {std::pair<int64_t, int64_t>{1, 1}, {1, 37}, {53, 1}, {97, 61}, {257, 13}}) {
            for (int level : {0, 6, 9}) {
                SCOPED_TRACE(std::to_string(channels) + " channels, " + std::to_string(w) + "x" +
                             std::to_string(h) + ", level " + std::to_string(level));
                // Smooth gradients (sub / up / average / Paeth win), flat runs and noise.
                std::vector<uint8_t> px(size_t(w * h * channels));
                for (int64_t y = 0; y < h; ++y)
                    for (int64_t x = 0; x < w; ++x)
                        for (int c = 0; c < channels; ++c) {
                            const size_t i = size_t((y * w + x) * channels + c);
                            px[i] = y % 7 == 3 ? uint8_t(rng())
                                    : x < w / 3 ? uint8_t(40 * c)
                                                : uint8_t(x * 3 + y * 5 + c * 17);
                        }
                int64_t next = 0;
                const std::string png = encode_png_rows(
                    w, h, channels,
                    [&](int64_t y, uint8_t* row) {
                        EXPECT_EQ(y, next++);  // rows in order, once each
                        std::memcpy(row, px.data() + size_t(y * w * channels), size_t(w * channels));
                    },
                    level);
                EXPECT_EQ(next, h);
                const Image im = decode_with_stb(png, "stream.png");
                ASSERT_EQ(im.width(), w);
                ASSERT_EQ(im.height(), h);
                ASSERT_EQ(im.channels(), channels);
                ASSERT_EQ(im.bit_depth(), 8);
                EXPECT_EQ(std::memcmp(im.samples(), px.data(), px.size()), 0);
            }
        }
    }
}

// read_image inflates PNGs row by row (png_stream): stb-written 8-bit and
// our 16-bit files read back exactly; a truncated one is refused.
TEST(PngStream, DecoderReadsWhatStbAndWeWrite) {
    TempDir dir;
    std::mt19937 rng(12);
    const int64_t w = 45, h = 29;
    for (int channels = 1; channels <= 4; ++channels) {
        ImageInfo info;
        std::vector<uint8_t> px8(size_t(w * h * channels));
        std::vector<uint16_t> px16(px8.size());
        for (size_t i = 0; i < px8.size(); ++i) {
            px8[i] = uint8_t(i % 11 == 0 ? rng() : i / 3);
            px16[i] = uint16_t(i % 13 == 0 ? rng() : i * 97);
        }
        write_bytes(dir.file("a.png"), encode_png(px8.data(), w, h, channels));
        ASSERT_TRUE(png_stream_header(dir.file("a.png"), &info));
        const Image a = read_image(dir.file("a.png"));
        ASSERT_EQ(a.channels(), channels);
        EXPECT_EQ(std::memcmp(a.samples(), px8.data(), px8.size()), 0);
        const std::string png16 = encode_png16(px16.data(), w, h, channels);
        write_bytes(dir.file("b.png"), png16);
        const Image b = read_image(dir.file("b.png"));
        ASSERT_EQ(b.bit_depth(), 16);
        EXPECT_EQ(std::memcmp(b.samples(), px16.data(), px16.size() * 2), 0);
        write_bytes(dir.file("c.png"), png16.substr(0, png16.size() - 40));
        expect_refused(dir.file("c.png"), "truncated or corrupt");
    }
}

// The budget counts the image's samples and labels before the tiles get the rest.
TEST(Budget, WholeImageBuffersAreCountedFirst) {
    ImageInfo gray8{20000, 20000, 1, 8};
    EXPECT_EQ(image_buffer_bytes(gray8), size_t(20000) * 20000 * 2);  // samples + uint8 labels
    ImageInfo rgb16{301, 7, 3, 16};
    EXPECT_EQ(image_buffer_bytes(rgb16), size_t(301) * 7 * (3 * 2 + 1));
    const size_t gib = size_t(1) << 30;
    EXPECT_EQ(tile_budget(gib, gray8, "big.png"), gib - size_t(800000000));
    try {
        tile_budget(size_t(700) << 20, gray8, "big.png");
        ADD_FAILURE() << "a budget below the image's own buffers was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.file(), "big.png");
        EXPECT_NE(std::string(e.what()).find("raise --max-memory"), std::string::npos) << e.what();
    }
    // The tiles then plan within what is left: the plan's peak plus the image's
    // buffers stays within the whole budget.
    const Model m = load_model(kGolden + "graph_unet_valid/model.json");
    const SegmentModel sm = analyse_segment_model(m);
    const ImageInfo info{203, 157, 1, 8};
    const HaloPlan hp = plan_halo(m, sm, info.height, info.width);
    const size_t budget = image_buffer_bytes(info) + run_bytes(m, sm, 60, 60);
    const TilePlan plan = plan_tiles(m, sm, hp, tile_budget(budget, info, "x.png"));
    EXPECT_TRUE(plan.tiled());
    EXPECT_LE(plan.peak_bytes + image_buffer_bytes(info), budget);
}

// Streamed scores (tile by tile into the .npy) equal the whole tensor, and the
// streamed outputs are the images the in-memory encoder would make.
TEST(SegmentOutputs, StreamedProbsAndPngsMatchTheWholeImagePath) {
    TempDir dir;
    const Model m = load_model(kGolden + "graph_unet_valid/model.json");
    const SegmentModel sm = analyse_segment_model(m);
    const int64_t h = 53, w = 71;
    const Image im = random_image(h, w, 1, 21);
    const HaloPlan hp = plan_halo(m, sm, h, w);
    const TilePlan plan = plan_tiles(m, sm, hp, run_bytes(m, sm, 40, 40));
    ASSERT_TRUE(plan.tiled());
    const Preprocess pre = parse_preprocess(m, sm.channels);
    const InputTransform t(pre, im.info(), "im");
    Executor ex(m, make_cpu_backend(BackendKind::Reference));
    const SegmentResult whole = segment_image(ex, sm, hp, plan, im, t, HaloMode::Reflect, true);
    NpyPlanesFile probs(dir.file("s_probs.npy"), sm.classes, h, w);
    const SegmentResult streamed =
        segment_image(ex, sm, hp, plan, im, t, HaloMode::Reflect, true, {},
                      [&](const Tile& tile, const float* p) { probs.write_tile(tile, p); });
    EXPECT_EQ(streamed.probs.numel(), 0);
    EXPECT_EQ(streamed.labels, whole.labels);
    const std::vector<Rgb> palette = class_palette(m.graph.metadata, int(sm.classes), m.path);
    OutputOptions opt;
    opt.overlay = true;
    write_segment_outputs(dir.file("s"), im, streamed, palette, opt, &probs);
    const Tensor back = read_npy(dir.file("s_probs.npy"));
    EXPECT_TRUE(same_bits(back, whole.probs));
    const Image mask = read_image(dir.file("s_mask.png"));
    const Image labels = read_image(dir.file("s_labels.png"));
    ASSERT_EQ(mask.channels(), 3);
    for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x) {
            const uint8_t l = whole.labels[size_t(y * w + x)];
            ASSERT_EQ(labels.at(y, x, 0), l);
            for (int c = 0; c < 3; ++c) ASSERT_EQ(mask.at(y, x, c), palette[l][c]);
        }
    EXPECT_EQ(read_image(dir.file("s_overlay.png")).width(), w);
}

}  // namespace
}  // namespace fcnrt
