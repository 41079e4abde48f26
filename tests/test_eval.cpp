// `fcnrt eval`'s library: the confusion matrix and its scores against values
// worked out by hand, label maps read row by row (8/16-bit gray, palette
// indices), the region and ignore options, the errors, and pairing directories.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <zlib.h>

#include <cmath>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/eval/confusion.h"
#include "engine/eval/evaluate.h"
#include "engine/eval/label_map.h"
#include "engine/image/image_io.h"
#include "tests/test_util.h"

namespace fcnrt {
namespace {

using test::write_bytes;
using EvalTest = test::TempDirTest;

ConfusionMatrix from_pairs(int64_t classes, const std::vector<std::pair<int, int>>& truth_pred) {
    ConfusionMatrix m(classes);
    for (auto [t, p] : truth_pred) m.add(uint32_t(t), uint32_t(p));
    return m;
}

// truth 0 0 1 1 1 2, prediction 0 1 1 1 0 2, 4 classes (3 absent from both):
//   class 0: tp 1, fn 1, fp 1 -> IoU 1/3, Dice 2/4, precision 1/2, recall 1/2
//   class 1: tp 2, fn 1, fp 1 -> IoU 2/4, Dice 4/6, precision 2/3, recall 2/3
//   class 2: tp 1             -> 1 everywhere
//   class 3: undefined everywhere
//   mean IoU (1/3 + 1/2 + 1) / 3 = 11/18, pixel accuracy 4/6
TEST(Confusion, ScoresByHand) {
    const ConfusionMatrix m = from_pairs(4, {{0, 0}, {0, 1}, {1, 1}, {1, 1}, {1, 0}, {2, 2}});
    EXPECT_EQ(m.at(0, 1), 1u);
    EXPECT_EQ(m.at(1, 0), 1u);
    EXPECT_EQ(m.at(1, 1), 2u);
    const SegmentationScores s = score_confusion(m);
    ASSERT_EQ(s.per_class.size(), 4u);
    EXPECT_EQ(s.pixels, 6u);
    EXPECT_DOUBLE_EQ(*s.per_class[0].iou, 1.0 / 3);
    EXPECT_DOUBLE_EQ(*s.per_class[0].dice, 0.5);
    EXPECT_DOUBLE_EQ(*s.per_class[0].precision, 0.5);
    EXPECT_DOUBLE_EQ(*s.per_class[0].recall, 0.5);
    EXPECT_DOUBLE_EQ(*s.per_class[1].iou, 0.5);
    EXPECT_DOUBLE_EQ(*s.per_class[1].dice, 2.0 / 3);
    EXPECT_DOUBLE_EQ(*s.per_class[1].precision, 2.0 / 3);
    EXPECT_DOUBLE_EQ(*s.per_class[1].recall, 2.0 / 3);
    EXPECT_DOUBLE_EQ(*s.per_class[2].iou, 1.0);
    EXPECT_DOUBLE_EQ(*s.per_class[2].dice, 1.0);
    EXPECT_FALSE(s.per_class[3].iou);
    EXPECT_FALSE(s.per_class[3].dice);
    EXPECT_FALSE(s.per_class[3].precision);
    EXPECT_FALSE(s.per_class[3].recall);
    EXPECT_DOUBLE_EQ(*s.mean_iou, 11.0 / 18);
    EXPECT_DOUBLE_EQ(s.pixel_accuracy, 4.0 / 6);
}

// A class only predicted: IoU and precision 0, no recall; a class only in the
// ground truth: IoU and recall 0, no precision.
TEST(Confusion, OneSidedClasses) {
    const SegmentationScores s = score_confusion(from_pairs(3, {{0, 0}, {0, 2}, {1, 0}}));
    EXPECT_DOUBLE_EQ(*s.per_class[2].iou, 0.0);
    EXPECT_DOUBLE_EQ(*s.per_class[2].precision, 0.0);
    EXPECT_FALSE(s.per_class[2].recall);
    EXPECT_DOUBLE_EQ(*s.per_class[1].iou, 0.0);
    EXPECT_DOUBLE_EQ(*s.per_class[1].recall, 0.0);
    EXPECT_FALSE(s.per_class[1].precision);
    // class 0: tp 1, fn 1, fp 1
    EXPECT_DOUBLE_EQ(*s.mean_iou, (1.0 / 3 + 0 + 0) / 3);
    EXPECT_DOUBLE_EQ(s.pixel_accuracy, 1.0 / 3);
}

TEST(Confusion, GrowsAndMerges) {
    ConfusionMatrix m;
    EXPECT_EQ(m.classes(), 0);
    m.add(1, 0);
    m.add(5, 2, 7);
    EXPECT_EQ(m.classes(), 6);
    EXPECT_EQ(m.at(1, 0), 1u);
    EXPECT_EQ(m.at(5, 2), 7u);
    ConfusionMatrix other;
    other.add(7, 7, 3);
    other.add(1, 0, 2);
    m.merge(other);
    EXPECT_EQ(m.classes(), 8);
    EXPECT_EQ(m.at(1, 0), 3u);
    EXPECT_EQ(m.at(5, 2), 7u);
    EXPECT_EQ(m.at(7, 7), 3u);
    EXPECT_EQ(m.total(), 13u);
    EXPECT_FALSE(score_confusion(m).per_class[3].iou);
}

std::string gray_png(const std::vector<uint8_t>& px, int64_t w, int64_t h) {
    return encode_png(px.data(), w, h, 1);
}

uint32_t be32(const std::string& s, size_t at) {
    return uint32_t(uint8_t(s[at])) << 24 | uint32_t(uint8_t(s[at + 1])) << 16 |
           uint32_t(uint8_t(s[at + 2])) << 8 | uint8_t(s[at + 3]);
}

std::string chunk(const std::string& type, const std::string& data) {
    std::string out;
    for (int s = 24; s >= 0; s -= 8) out.push_back(char((data.size() >> s) & 0xff));
    const std::string body = type + data;
    out += body;
    const uLong crc = crc32(0, reinterpret_cast<const Bytef*>(body.data()), uInt(body.size()));
    for (int s = 24; s >= 0; s -= 8) out.push_back(char((crc >> s) & 0xff));
    return out;
}

// The same indices as an 8-bit palette PNG with a colourful palette (as hand
// labels often are): colour type 3 in IHDR and a PLTE chunk after it.
std::string palette_png(const std::vector<uint8_t>& px, int64_t w, int64_t h) {
    const std::string gray = gray_png(px, w, h);
    std::string ihdr = gray.substr(16, 13);
    ihdr[9] = 3;
    std::string plte;
    for (int i = 0; i < 256; ++i) plte += std::string{char(i * 7), char(255 - i), char(i * 3)};
    return gray.substr(0, 8) + chunk("IHDR", ihdr) + chunk("PLTE", plte) + gray.substr(8 + 25);
}

// A PNG of 1-, 2- or 4-bit samples (colour 0 gray, 3 palette), rows packed
// most significant bits first, unfiltered.
std::string packed_png(const std::vector<uint8_t>& px, int64_t w, int64_t h, int depth,
                       int colour) {
    const int64_t stride = (w * depth + 7) / 8;
    std::string raw;
    for (int64_t y = 0; y < h; ++y) {
        std::string row(size_t(stride + 1), '\0');
        for (int64_t x = 0; x < w; ++x)
            row[size_t(1 + x * depth / 8)] |=
                char(px[size_t(y * w + x)] << (8 - depth * (1 + x % (8 / depth))));
        raw += row;
    }
    std::string z(compressBound(uLong(raw.size())), '\0');
    uLongf zlen = uLongf(z.size());
    EXPECT_EQ(compress(reinterpret_cast<Bytef*>(&z[0]), &zlen,
                       reinterpret_cast<const Bytef*>(raw.data()), uLong(raw.size())),
              Z_OK);
    z.resize(zlen);
    std::string ihdr;
    for (uint32_t v : {uint32_t(w), uint32_t(h)})
        for (int s = 24; s >= 0; s -= 8) ihdr.push_back(char((v >> s) & 0xff));
    ihdr += std::string{char(depth), char(colour), 0, 0, 0};
    const std::string plte = colour == 3 ? chunk("PLTE", std::string(size_t(3 << depth), 'x')) : "";
    return std::string("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", ihdr) + plte + chunk("IDAT", z) +
           chunk("IEND", "");
}

TEST_F(EvalTest, LowBitDepthMapsKeepTheirValues) {
    const int64_t w = 13, h = 5;  // 13 pixels: a partial last byte at every depth
    for (int depth : {1, 2, 4})
        for (int colour : {0, 3}) {
            std::vector<uint8_t> px(size_t(w * h));
            for (size_t i = 0; i < px.size(); ++i) px[i] = uint8_t((i * 7 + i / 5) % (1u << depth));
            write_bytes(path("p.png"), packed_png(px, w, h, depth, colour));
            LabelMapReader r(path("p.png"));
            for (int64_t y = 0; y < h; ++y) {
                const uint32_t* row = r.next_row();
                for (int64_t x = 0; x < w; ++x)
                    ASSERT_EQ(row[x], px[size_t(y * w + x)])
                        << depth << "-bit colour " << colour << " x " << x << " y " << y;
            }
            r.finish();
        }
}

TEST_F(EvalTest, LabelMapsOfEveryKindReadRowByRow) {
    const int64_t w = 37, h = 23;
    std::vector<uint8_t> px(size_t(w * h));
    std::vector<uint16_t> px16(px.size());
    for (size_t i = 0; i < px.size(); ++i) {
        px[i] = uint8_t((i * 31) % 251);
        px16[i] = uint16_t(i * 97);
    }
    write_bytes(path("g8.png"), gray_png(px, w, h));
    write_bytes(path("g16.png"), encode_png16(px16.data(), w, h, 1));
    const std::string pal = palette_png(px, w, h);
    ASSERT_EQ(be32(pal, 8), 13u);
    write_bytes(path("pal.png"), pal);
    for (const char* name : {"g8.png", "pal.png", "g16.png"}) {
        LabelMapReader r(path(name));
        ASSERT_EQ(r.width(), w) << name;
        ASSERT_EQ(r.height(), h) << name;
        const bool wide = std::string(name) == "g16.png";
        for (int64_t y = 0; y < h; ++y) {
            const uint32_t* row = r.next_row();
            for (int64_t x = 0; x < w; ++x)
                ASSERT_EQ(row[x], wide ? px16[size_t(y * w + x)] : px[size_t(y * w + x)])
                    << name << " x " << x << " y " << y;
        }
        r.finish();
    }
    // A palette PNG read as an image (segment) is still expanded to colours.
    EXPECT_EQ(read_image(path("pal.png")).channels(), 3);
}

// A uniform map deflates to long matches that run across rows: rows must
// keep coming after the last compressed byte has been read.
TEST_F(EvalTest, UniformMapStreams) {
    const int64_t w = 301, h = 257;
    write_bytes(path("u.png"), gray_png(std::vector<uint8_t>(size_t(w * h), 2), w, h));
    LabelMapReader r(path("u.png"));
    for (int64_t y = 0; y < h; ++y) {
        const uint32_t* row = r.next_row();
        ASSERT_EQ(row[0], 2u) << y;
        ASSERT_EQ(row[w - 1], 2u) << y;
    }
    r.finish();
    EXPECT_EQ(read_image(path("u.png")).at(h - 1, w - 1, 0), 2u);
}

TEST_F(EvalTest, RefusesWhatIsNoLabelMap) {
    std::vector<uint8_t> rgb(5 * 4 * 3, 1);
    write_bytes(path("rgb.png"), encode_png(rgb.data(), 5, 4, 3));
    const std::string cut = gray_png(std::vector<uint8_t>(64 * 64, 3), 64, 64);
    write_bytes(path("cut.png"), cut.substr(0, cut.size() / 2));
    write_bytes(path("text.png"), "not an image");
    auto expect_refused = [&](const std::string& name, const std::string& fault) {
        try {
            LabelMapReader r(path(name));
            for (int64_t y = 0; y < r.height(); ++y) r.next_row();
            r.finish();
            ADD_FAILURE() << name << " was read";
        } catch (const Error& e) {
            EXPECT_EQ(e.file(), path(name));
            EXPECT_NE(std::string(e.what()).find(fault), std::string::npos) << e.what();
        }
    };
    expect_refused("rgb.png", "3 (RGB)");
    expect_refused("cut.png", "truncated or corrupt");
    expect_refused("text.png", "");
    expect_refused("missing.png", "");
}

// truth           prediction        (6 x 3; 255 = void)
//   0 0 1 1 2 255   0 1 1 1 2 2
//   0 0 1 1 2 2     0 0 0 1 2 2
//   0 0 0 0 0 0     0 0 0 0 0 1
class EvalPairTest : public test::TempDirTest {
protected:
    void SetUp() override {
        TempDirTest::SetUp();
        write_bytes(path("truth.png"), gray_png({0, 0, 1, 1, 2, 255, 0, 0, 1, 1, 2, 2,  //
                                                 0, 0, 0, 0, 0, 0},
                                                6, 3));
        write_bytes(path("pred.png"), gray_png({0, 1, 1, 1, 2, 2, 0, 0, 0, 1, 2, 2,  //
                                                0, 0, 0, 0, 0, 1},
                                               6, 3));
    }
    uint64_t run(const EvalOptions& o, ConfusionMatrix& m) {
        return accumulate_pair(path("pred.png"), path("truth.png"), o, m);
    }
};

TEST_F(EvalPairTest, IgnoreAndRegion) {
    EvalOptions o;
    o.ignore = 255;
    ConfusionMatrix m;
    EXPECT_EQ(run(o, m), 17u);
    EXPECT_EQ(m.classes(), 3);
    // rows: truth 0 (10 px): 8 right, 1 as 1 (row 0), 1 as 1 (row 2)
    EXPECT_EQ(m.at(0, 0), 8u);
    EXPECT_EQ(m.at(0, 1), 2u);
    EXPECT_EQ(m.at(1, 1), 3u);
    EXPECT_EQ(m.at(1, 0), 1u);
    EXPECT_EQ(m.at(2, 2), 3u);
    EXPECT_EQ(m.total(), 17u);

    // Columns 1..3, rows 1..2: truth 0 1 1 / 0 0 0, prediction 0 0 1 / 0 0 0.
    o.region = EvalRegion{1, 1, 4, 3};
    ConfusionMatrix r(3);
    EXPECT_EQ(run(o, r), 6u);
    EXPECT_EQ(r.at(0, 0), 4u);
    EXPECT_EQ(r.at(1, 0), 1u);
    EXPECT_EQ(r.at(1, 1), 1u);
    EXPECT_EQ(r.at(2, 2), 0u);
    const SegmentationScores s = score_confusion(r);
    EXPECT_FALSE(s.per_class[2].iou);
    EXPECT_DOUBLE_EQ(*s.per_class[0].iou, 0.8);
    EXPECT_DOUBLE_EQ(*s.per_class[1].iou, 0.5);
    EXPECT_DOUBLE_EQ(*s.mean_iou, 0.65);
}

TEST_F(EvalPairTest, Errors) {
    auto refused = [&](const EvalOptions& o, const std::string& file, const std::string& fault) {
        ConfusionMatrix m(o.classes);
        try {
            run(o, m);
            ADD_FAILURE() << "accepted; expected " << fault;
        } catch (const Error& e) {
            EXPECT_EQ(e.file(), path(file)) << e.what();
            EXPECT_NE(std::string(e.what()).find(fault), std::string::npos) << e.what();
        }
    };
    EvalOptions o;
    // Without --ignore, the void 255 is a label like any other: out of range
    // for --classes 3, named with its place.
    o.classes = 3;
    refused(o, "truth.png", "label 255 at column 5, row 0 is not below --classes 3");
    o.ignore = 255;
    o.classes = 2;
    refused(o, "truth.png", "label 2 at column 4, row 0");
    o.classes = 0;
    o.region = EvalRegion{0, 0, 7, 3};
    refused(o, "truth.png", "is not inside the 6x3 image");
    o.region.reset();
    o.ignore = 1;
    refused(o, "pred.png", "the --ignore value 1 at column 1, row 0");
    write_bytes(path("pred.png"), gray_png(std::vector<uint8_t>(6 * 4, 0), 6, 4));
    refused(EvalOptions{}, "pred.png", "the prediction is 6x4 but the ground truth");
    std::vector<uint16_t> big(18, 5000);
    write_bytes(path("pred.png"), encode_png16(big.data(), 6, 3, 1));
    refused(EvalOptions{}, "pred.png", "label 5000 at column 0, row 0 would make more than 1024");
}

TEST_F(EvalTest, PairsDirectoriesByStem) {
    const std::string one = gray_png({0}, 1, 1);
    ASSERT_EQ(::mkdir(path("pred").c_str(), 0777), 0);
    ASSERT_EQ(::mkdir(path("gt").c_str(), 0777), 0);
    for (const char* f : {"pred/a_labels.png", "pred/a_mask.png", "pred/b_labels.png",
                          "pred/notes.txt", "gt/a.png", "gt/b.png", "gt/b_labels.png", "gt/c.pgm"})
        write_bytes(path(f), one);
    const PairedLabelMaps p = pair_label_maps(path("pred"), path("gt"));
    ASSERT_EQ(p.pairs.size(), 2u);
    EXPECT_EQ(p.pairs[0].key, "a");
    EXPECT_EQ(p.pairs[0].prediction, path("pred/a_labels.png"));
    EXPECT_EQ(p.pairs[0].truth, path("gt/a.png"));
    EXPECT_EQ(p.pairs[1].truth, path("gt/b_labels.png"));  // beside the image b.png
    ASSERT_EQ(p.unpaired_predictions.size(), 1u);
    EXPECT_EQ(p.unpaired_predictions[0], path("pred/a_mask.png"));
    ASSERT_EQ(p.unpaired_truths.size(), 1u);
    EXPECT_EQ(p.unpaired_truths[0], path("gt/c.pgm"));

    write_bytes(path("gt/c.png"), one);
    EXPECT_THROW(pair_label_maps(path("pred"), path("gt")), Error);
    EXPECT_THROW(pair_label_maps(path("pred"), path("nowhere")), Error);
}

}  // namespace
}  // namespace fcnrt
