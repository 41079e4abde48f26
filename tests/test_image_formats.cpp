// The image readers of untrusted files (issue 16): TIFF through libtiff in
// every layout it is read in (made here with libtiff), JPEG through
// libjpeg-turbo, and the refusals: files that are not regular, headers whose
// size the file cannot hold, truncated data in every decoder.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "engine/error.h"
#include "engine/image/image_io.h"
#include "engine/image/tiff_io.h"
#include "tests/test_util.h"
#include "tests/tiff_maker.h"

namespace fcnrt::test {
namespace {

using ImageFormats = TempDirTest;

void expect_page(const Image& im, const TiffSpec& spec, int64_t page) {
    ASSERT_EQ(im.width(), spec.width);
    ASSERT_EQ(im.height(), spec.height);
    ASSERT_EQ(im.channels(), spec.channels);
    ASSERT_EQ(im.bit_depth(), spec.bits);
    for (int64_t y = 0; y < spec.height; ++y)
        for (int64_t x = 0; x < spec.width; ++x)
            for (int c = 0; c < spec.channels; ++c)
                ASSERT_EQ(im.at(y, x, c), tiff_sample(spec, page, y, x, c))
                    << "page " << page << " at " << y << "," << x << "," << c;
}

// Every layout the reader takes decodes exactly: 8/16-bit grey and RGB (and
// with alpha), strips and tiles, each codec, classic and BigTIFF, many pages.
TEST_F(ImageFormats, TiffLayoutsDecodeExactly) {
    int n = 0;
    for (int bits : {8, 16})
        for (int channels : {1, 2, 3, 4})
            for (const char* compression : {"none", "lzw", "deflate", "packbits"})
                for (bool tiled : {false, true}) {
                    TiffSpec spec;
                    spec.bits = bits;
                    spec.channels = channels;
                    spec.compression = compression;
                    spec.tiled = tiled;
                    spec.bigtiff = (n % 3) == 1;
                    spec.pages = (n % 4) == 0 ? 3 : 1;
                    spec.width = 37 + n % 5;  // tiles cut at odd edges
                    spec.height = 29 + n % 3;
                    const std::string file = path("t" + std::to_string(n++) + ".tif");
                    SCOPED_TRACE(file + ": " + std::to_string(bits) + "-bit, " + std::to_string(channels) +
                                 " channels, " + compression + (tiled ? ", tiles" : ", strips") +
                                 (spec.bigtiff ? ", BigTIFF" : ""));
                    ASSERT_TRUE(write_test_tiff(file, spec));
                    ASSERT_EQ(read_image_pages(file), spec.pages);
                    for (int64_t p = 0; p < spec.pages; ++p) {
                        const ImageInfo info = read_image_info(file, p);
                        EXPECT_EQ(info.width, spec.width);
                        EXPECT_EQ(info.bit_depth, bits);
                        expect_page(read_image(file, p), spec, p);
                    }
                    // The first page from memory too (the fuzzing path).
                    expect_page(decode_image(read_bytes(file), file), spec, 0);
                }
}

TEST_F(ImageFormats, TiffRefusesWhatItCannotRead) {
    TiffSpec spec;
    spec.bits = 16;
    spec.pages = 2;
    spec.compression = "deflate";
    spec.width = 300;
    spec.height = 200;
    const std::string good = path("good.tif");
    ASSERT_TRUE(write_test_tiff(good, spec));
    const std::string bytes = read_bytes(good);

    expect_error_naming_file([&] { read_image(good, 2); }, good, "has no page 2");
    expect_error_naming_file([&] { read_image(good, -1); }, good, "has no page");

    // Cut inside the first page's data: refused, never grey-filled.
    write_bytes(path("cut.tif"), bytes.substr(0, bytes.size() / 4));
    EXPECT_THROW(read_image(path("cut.tif"), 0), Error);

    // An image that is not there: the header claims 60000 x 60000 (IFD
    // entries: tag 256 width / 257 length, type SHORT or LONG, count 1).
    std::string huge = bytes;
    int patched = 0;
    for (size_t i = 8; i + 12 <= huge.size() && patched < 2; i += 2) {
        const int tag = uint8_t(huge[i]) | uint8_t(huge[i + 1]) << 8;
        const int type = uint8_t(huge[i + 2]) | uint8_t(huge[i + 3]) << 8;
        if ((tag == 256 || tag == 257) && (type == 3 || type == 4) && huge[i + 4] == 1 &&
            huge[i + 5] == 0 && huge[i + 6] == 0 && huge[i + 7] == 0) {
            huge[i + 8] = char(0x60);
            huge[i + 9] = char(0xea);  // 60000, little-endian
            ++patched;
            i += 10;
        }
    }
    ASSERT_EQ(patched, 2);
    write_bytes(path("huge.tif"), huge);
    expect_error_naming_file([&] { read_image_info(path("huge.tif")); }, path("huge.tif"), "60000x60000");

    // Layouts not read are refused naming the reason.
    write_bytes(path("text.tif"), "II*\0 not really a tiff at all");
    expect_error_naming_file([&] { read_image(path("text.tif")); }, path("text.tif"), "TIFF");
}

TEST_F(ImageFormats, TiffLabelWriterRoundTrips) {
    const std::string out = path("labels.tif");
    {
        TiffLabelWriter w(out);
        for (int page = 0; page < 3; ++page) {
            w.begin_page(41, 7 + page);
            std::vector<uint8_t> row(41);
            for (int y = 0; y < 7 + page; ++y) {
                for (int x = 0; x < 41; ++x) row[size_t(x)] = uint8_t((x + y + page) % 5);
                w.write_row(row.data());
            }
        }
        EXPECT_NE(access(out.c_str(), F_OK), 0) << "visible before finish()";
        w.finish();
    }
    ASSERT_EQ(read_image_pages(out), 3);
    for (int page = 0; page < 3; ++page) {
        const Image im = read_image(out, page);
        ASSERT_EQ(im.height(), 7 + page);
        ASSERT_EQ(im.channels(), 1);
        for (int y = 0; y < 7 + page; ++y)
            for (int x = 0; x < 41; ++x) ASSERT_EQ(im.at(y, x, 0), uint32_t((x + y + page) % 5));
    }
    // Abandoned: nothing appears.
    {
        TiffLabelWriter w(path("abandoned.tif"));
        w.begin_page(3, 3);
    }
    EXPECT_NE(access(path("abandoned.tif").c_str(), F_OK), 0);
}

// Not regular files: one error each, without reading (no hang on a FIFO, no
// endless read of /dev/zero).
TEST_F(ImageFormats, RefusesFilesThatAreNotRegular) {
    const std::string fifo = path("a.png");
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    expect_error_naming_file([&] { read_image_info(fifo); }, fifo, "is a FIFO, not a regular file");
    expect_error_naming_file([&] { read_image(fifo); }, fifo, "is a FIFO");
    const std::string zero = path("z.png");
    ASSERT_EQ(::symlink("/dev/zero", zero.c_str()), 0);
    expect_error_naming_file([&] { read_image(zero); }, zero, "is a character device");
    expect_error_naming_file([&] { read_image(dir_); }, dir_, "is a directory");
}

// Each input of tests/fuzz/regression/image is refused with one fcnrt::Error
// naming it, probing and decoding, from the file and from memory.
TEST_F(ImageFormats, RegressionCorpusIsRefused) {
    const std::string dir = std::string(FCNRT_SOURCE_DIR) + "/tests/fuzz/regression/image/";
    for (const char* name : {"jpeg_dht_overflow.jpg", "png_header_claims_5g.png", "tga_truncated_rle.tga",
                             "tga_truncated_rle_small.tga", "pnm_header_int_overflow.pgm",
                             "png_idat_claims_1g.png"}) {
        const std::string file = dir + name;
        SCOPED_TRACE(file);
        ASSERT_FALSE(read_bytes(file).empty());
        EXPECT_THROW(read_image(file), Error);
        EXPECT_THROW(decode_image(read_bytes(file), file), Error);
    }
    expect_error_naming_file([&] { read_image_info(dir + "png_header_claims_5g.png"); },
                             dir + "png_header_claims_5g.png", "more than the file's 49 bytes can hold");
    expect_error_naming_file([&] { read_image(dir + "tga_truncated_rle_small.tga"); },
                             dir + "tga_truncated_rle_small.tga", "the data ends early");
    expect_error_naming_file([&] { read_image(dir + "png_idat_claims_1g.png"); }, dir + "png_idat_claims_1g.png",
                             "beyond the end of the file");
    expect_error_naming_file([&] { read_image_info(dir + "pnm_header_int_overflow.pgm"); },
                             dir + "pnm_header_int_overflow.pgm", "is too large");
}

// JPEG through libjpeg-turbo: greyscale and RGB, baseline and progressive
// (the seeds of tests/fuzz/seeds/image), and any truncation refused.
TEST_F(ImageFormats, JpegDecodesAndRefusesTruncation) {
    const std::string dir = std::string(FCNRT_SOURCE_DIR) + "/tests/fuzz/seeds/image/";
    for (const char* name : {"gray.jpg", "rgb.jpg", "rgb_progressive.jpg"}) {
        const std::string file = dir + name;
        SCOPED_TRACE(file);
        const Image im = read_image(file);
        EXPECT_EQ(im.width(), 37);
        EXPECT_EQ(im.height(), 29);
        EXPECT_EQ(im.channels(), name[0] == 'g' ? 1 : 3);
        // The seeds hold a smooth ramp: the decoded top-left is near its value.
        EXPECT_NEAR(double(im.at(0, 1, 0)), 5.0, 12.0);
        const std::string bytes = read_bytes(file);
        for (size_t cut = 2; cut + 2 < bytes.size(); cut += 97)
            EXPECT_THROW(decode_image(bytes.substr(0, cut), file), Error) << "cut at " << cut;
    }
}

}  // namespace
}  // namespace fcnrt::test
