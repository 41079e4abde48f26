// Safetensors reader/writer and the file utilities beneath them: round trips,
// exact half-precision widening, a catalogue of malformed files (each error
// must name the file and the specific fault), failed writes that leave
// nothing behind, and randomly corrupted files that must never crash.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/io/file_util.h"
#include "engine/io/safetensors.h"
#include "tests/test_util.h"

namespace fcnrt {
namespace {

namespace fs = std::filesystem;
using namespace fcnrt::test;

using SafetensorsTest = TempDirTest;

std::string le_u64(uint64_t value) {
    std::string out;
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
    return out;
}

// A safetensors file from a header text (used as is, unpadded) and data.
std::string safetensors_bytes(const std::string& header, const std::string& data = "") {
    return le_u64(header.size()) + header + data;
}

std::string entry_json(const std::string& dtype, const std::string& shape, uint64_t begin,
                       uint64_t end) {
    return "{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" +
           std::to_string(begin) + "," + std::to_string(end) + "]}";
}

Tensor make_tensor(DType dtype, Shape shape, int seed) {
    Tensor t(dtype, std::move(shape));
    for (int64_t i = 0; i < t.numel(); ++i) {
        if (dtype == DType::F32)
            t.f32()[i] = static_cast<float>(seed) * 0.5f + static_cast<float>(i) * 0.25f - 3.0f;
        else
            t.i32()[i] = seed * 1000 - static_cast<int32_t>(i) * 7;
    }
    return t;
}

void expect_same_tensor(const Tensor& a, const Tensor& b) {
    EXPECT_EQ(a.dtype(), b.dtype());
    EXPECT_EQ(a.shape(), b.shape());
    ASSERT_EQ(a.bytes(), b.bytes());
    if (a.bytes() > 0) {
        EXPECT_EQ(std::memcmp(a.data(), b.data(), a.bytes()), 0);
    }
}

// Reading must throw fcnrt::Error whose message names the file and contains
// `fault`.
void read_safetensors_file(const std::string& path) {
    read_safetensors(path);
}

void expect_read_error(const std::string& path, const std::string& fault) {
    expect_error_naming_file([&] { read_safetensors_file(path); }, path, fault);
}

// ---- round trips ----

TEST_F(SafetensorsTest, RoundTripsEveryRankAndZeroSizeDims) {
    std::map<std::string, Tensor> tensors;
    const std::vector<Shape> shapes = {{},  {5},       {3, 2},       {2, 3, 5},      {2, 3, 4, 5},
                                       {0}, {2, 0, 3}, {1, 1, 1, 0}, {1, 2, 1, 2, 3}};
    int seed = 1;
    for (const Shape& shape : shapes) {
        tensors.emplace("f" + std::to_string(seed), make_tensor(DType::F32, shape, seed));
        tensors.emplace("i" + std::to_string(seed), make_tensor(DType::I32, shape, seed));
        ++seed;
    }
    const std::map<std::string, std::string> metadata = {{"format", "pt"}, {"note", "ünïcode"}};
    write_safetensors(path("m.safetensors"), tensors, metadata);

    const SafetensorsFile file = read_safetensors(path("m.safetensors"));
    EXPECT_EQ(file.metadata, metadata);
    ASSERT_EQ(file.tensors.size(), tensors.size());
    for (const auto& [name, tensor] : tensors) {
        SCOPED_TRACE(name);
        ASSERT_EQ(file.tensors.count(name), 1u);
        expect_same_tensor(file.tensors.at(name), tensor);
    }
}

TEST_F(SafetensorsTest, RoundTripsEmptyFile) {
    write_safetensors(path("empty.safetensors"), {});
    const std::string bytes = read_bytes(path("empty.safetensors"));
    EXPECT_EQ(bytes, le_u64(8) + "{}      ");
    const SafetensorsFile file = read_safetensors(path("empty.safetensors"));
    EXPECT_TRUE(file.tensors.empty());
    EXPECT_TRUE(file.metadata.empty());
}

// The exact bytes written: compact JSON as the reference implementation
// writes it, metadata first, header padded with spaces to 8 bytes, tensors
// in name order. (The reference orders by dtype size, then name; any order
// that tiles the data section is valid, and the reference reads ours.)
TEST_F(SafetensorsTest, WritesReferenceLayout) {
    std::map<std::string, Tensor> tensors;
    tensors.emplace("b", make_tensor(DType::F32, {2}, 1));
    tensors.emplace("a", make_tensor(DType::I32, {1, 1}, 2));
    write_safetensors(path("x.safetensors"), tensors, {{"k", "v"}});

    const std::string header =
        "{\"__metadata__\":{\"k\":\"v\"},"
        "\"a\":{\"dtype\":\"I32\",\"shape\":[1,1],\"data_offsets\":[0,4]},"
        "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
    std::string padded = header;
    padded.append((8 - header.size() % 8) % 8, ' ');
    const std::string expected = le_u64(padded.size()) + padded +
                                 raw_bytes(std::vector<int32_t>{2000}) +
                                 raw_bytes(std::vector<float>{-2.5f, -2.25f});
    EXPECT_EQ(read_bytes(path("x.safetensors")), expected);
    EXPECT_EQ(padded.size() % 8, 0u);
}

TEST_F(SafetensorsTest, OverwritesExistingFile) {
    write_bytes(path("w.safetensors"), "old contents");
    std::map<std::string, Tensor> tensors;
    tensors.emplace("w", make_tensor(DType::F32, {3}, 4));
    write_safetensors(path("w.safetensors"), tensors);
    expect_same_tensor(read_safetensors(path("w.safetensors")).tensors.at("w"), tensors.at("w"));
    EXPECT_EQ(listing(), std::vector<std::string>{"w.safetensors"});
}

// ---- conversions at load ----

TEST_F(SafetensorsTest, WidensF16Exactly) {
    const auto& cases = half_widening_cases();
    std::vector<uint16_t> bits;
    for (const auto& c : cases) bits.push_back(c.first);
    bits.push_back(0x7e00);  // quiet NaN
    bits.push_back(0xfd01);  // negative signalling NaN with a payload
    const std::string n = std::to_string(bits.size());
    write_bytes(
        path("h.safetensors"),
        safetensors_bytes("{\"h\":" + entry_json("F16", "[" + n + "]", 0, bits.size() * 2) + "}",
                          raw_bytes(bits)));

    const Tensor t = read_safetensors(path("h.safetensors")).tensors.at("h");
    ASSERT_EQ(t.dtype(), DType::F32);
    ASSERT_EQ(t.shape(), Shape{static_cast<int64_t>(bits.size())});
    for (size_t i = 0; i < cases.size(); ++i)
        EXPECT_EQ(float_bits(t.f32()[i]), float_bits(cases[i].second))
            << "half 0x" << std::hex << cases[i].first;
    EXPECT_TRUE(std::isnan(t.f32()[cases.size()]));
    EXPECT_EQ(float_bits(t.f32()[cases.size()]), 0x7fc00000u);
    EXPECT_EQ(float_bits(t.f32()[cases.size() + 1]), 0xffa02000u);  // sign and payload kept
}

TEST_F(SafetensorsTest, WidensEveryF16Exactly) {
    // Every finite half is a dyadic rational; check all 63488 of them against
    // the value computed from the definition.
    for (uint32_t bits = 0; bits < 0x10000; ++bits) {
        const uint32_t exponent = (bits >> 10) & 0x1f, mantissa = bits & 0x3ff;
        if (exponent == 0x1f) continue;
        const double magnitude = exponent == 0
                                     ? std::ldexp(double(mantissa), -24)
                                     : std::ldexp(double(mantissa | 0x400), int(exponent) - 25);
        const double expected = (bits & 0x8000) ? -magnitude : magnitude;
        const float got = half_to_float(static_cast<uint16_t>(bits));
        ASSERT_EQ(double(got), expected) << "half 0x" << std::hex << bits;
        ASSERT_EQ(std::signbit(got), (bits & 0x8000) != 0);
    }
}

TEST_F(SafetensorsTest, WidensBF16Exactly) {
    const float inf = std::numeric_limits<float>::infinity();
    const std::vector<std::pair<uint16_t, float>> cases = {
        {0x3f80, 1.0f},
        {0xc020, -2.5f},
        {0x477f, 65280.0f},
        {0x7f7f, 0x1.fep127f},
        {0x0001, std::ldexp(1.0f, -133)},
        {0x8000, -0.0f},
        {0x7f80, inf},
        {0xff80, -inf},
    };
    std::vector<uint16_t> bits;
    for (const auto& c : cases) bits.push_back(c.first);
    bits.push_back(0x7fc1);  // NaN with payload
    const std::string n = std::to_string(bits.size());
    write_bytes(
        path("b.safetensors"),
        safetensors_bytes("{\"b\":" + entry_json("BF16", "[1," + n + "]", 0, bits.size() * 2) + "}",
                          raw_bytes(bits)));
    const Tensor t = read_safetensors(path("b.safetensors")).tensors.at("b");
    ASSERT_EQ(t.dtype(), DType::F32);
    ASSERT_EQ(t.shape(), (Shape{1, static_cast<int64_t>(bits.size())}));
    for (size_t i = 0; i < cases.size(); ++i)
        EXPECT_EQ(float_bits(t.f32()[i]), float_bits(cases[i].second)) << i;
    EXPECT_EQ(float_bits(t.f32()[cases.size()]), 0x7fc10000u);
}

TEST_F(SafetensorsTest, NarrowsI64InRange) {
    const std::vector<int64_t> values = {0, -1, 7, INT32_MAX, INT32_MIN};
    write_bytes(
        path("i.safetensors"),
        safetensors_bytes("{\"i\":" + entry_json("I64", "[5]", 0, 40) + "}", raw_bytes(values)));
    const Tensor t = read_safetensors(path("i.safetensors")).tensors.at("i");
    ASSERT_EQ(t.dtype(), DType::I32);
    for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(t.i32()[i], values[i]);
}

TEST_F(SafetensorsTest, RefusesI64OutOfRange) {
    const std::vector<int64_t> values = {1, int64_t(INT32_MAX) + 1};
    write_bytes(
        path("i.safetensors"),
        safetensors_bytes("{\"big\":" + entry_json("I64", "[2]", 0, 16) + "}", raw_bytes(values)));
    expect_read_error(path("i.safetensors"),
                      "tensor 'big': I64 value 2147483648 at index 1 does not fit in int32");
}

TEST_F(SafetensorsTest, AcceptsZeroSizeTensorsAtTheBoundary) {
    // Zero-size tensors sit where the tiling has reached, as in files the
    // reference implementation writes.
    const std::string header = "{\"a\":" + entry_json("F32", "[1]", 0, 4) +
                               ",\"z\":" + entry_json("F32", "[0,3]", 4, 4) +
                               ",\"y\":" + entry_json("I32", "[0]", 0, 0) + "}";
    write_bytes(path("z.safetensors"), safetensors_bytes(header, raw_bytes(std::vector<float>{2})));
    const SafetensorsFile file = read_safetensors(path("z.safetensors"));
    EXPECT_EQ(file.tensors.at("z").shape(), (Shape{0, 3}));
    EXPECT_EQ(file.tensors.at("y").dtype(), DType::I32);
    EXPECT_EQ(file.tensors.at("a").f32()[0], 2.0f);
}

TEST_F(SafetensorsTest, AcceptsHeaderWhitespaceAndExtraEntryKeys) {
    const std::string header =
        "  { \"a\" : {\"data_offsets\":[0,4], \"shape\":[1], "
        "\"dtype\":\"F32\", \"extra\": null} }   ";
    write_bytes(path("ws.safetensors"),
                safetensors_bytes(header, raw_bytes(std::vector<float>{1})));
    EXPECT_EQ(read_safetensors(path("ws.safetensors")).tensors.at("a").f32()[0], 1.0f);
}

// ---- malformed files ----

std::vector<MalformedFile> malformed_files() {
    const std::string f32x2 = raw_bytes(std::vector<float>{1, 2});
    const std::string f32x3 = raw_bytes(std::vector<float>{1, 2, 3});
    auto one = [](const std::string& entry) { return "{\"t\":" + entry + "}"; };
    return {
        {"empty", "", "too short (0 bytes)"},
        {"seven_bytes", std::string(7, '\0'), "too short (7 bytes)"},
        {"absurd_header_length", le_u64(200'000'000) + "{}", "header length 200000000 is absurd"},
        {"huge_header_length", le_u64(UINT64_MAX) + "{}", "is absurd"},
        {"header_past_end", le_u64(100) + "{}", "header length 100 runs past the end of the file"},
        {"empty_header", safetensors_bytes(""), "header is not valid JSON"},
        {"not_json", safetensors_bytes("nonsense"), "header is not valid JSON"},
        {"truncated_json", safetensors_bytes("{\"t\":{\"dtype\":"), "header is not valid JSON"},
        {"trailing_json_garbage", safetensors_bytes("{} x"), "header is not valid JSON"},
        {"invalid_utf8", safetensors_bytes("{\"\xff\xfe\":1}"), "header is not valid JSON"},
        {"nul_in_header", safetensors_bytes(std::string("{}\0", 3)), "header is not valid JSON"},
        {"array_header", safetensors_bytes("[1,2]"), "header is not a JSON object"},
        {"string_header", safetensors_bytes("\"x\""), "header is not a JSON object"},
        {"entry_not_object", safetensors_bytes("{\"t\":5}"),
         "tensor 't': entry is not a JSON object"},
        {"missing_dtype", safetensors_bytes(one("{\"shape\":[2],\"data_offsets\":[0,8]}"), f32x2),
         "tensor 't': missing \"dtype\""},
        {"missing_shape",
         safetensors_bytes(one("{\"dtype\":\"F32\",\"data_offsets\":[0,8]}"), f32x2),
         "tensor 't': missing \"shape\""},
        {"missing_offsets", safetensors_bytes(one("{\"dtype\":\"F32\",\"shape\":[2]}"), f32x2),
         "tensor 't': missing \"data_offsets\""},
        {"dtype_not_string",
         safetensors_bytes(one("{\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,8]}"), f32x2),
         "\"dtype\" is not a string"},
        {"unknown_dtype", safetensors_bytes(one(entry_json("FOO", "[2]", 0, 8)), f32x2),
         "unknown dtype 'FOO'"},
        {"lowercase_dtype", safetensors_bytes(one(entry_json("f32", "[2]", 0, 8)), f32x2),
         "unknown dtype 'f32'"},
        {"f64", safetensors_bytes(one(entry_json("F64", "[1]", 0, 8)), f32x2),
         "unsupported dtype F64"},
        {"u8", safetensors_bytes(one(entry_json("U8", "[8]", 0, 8)), f32x2),
         "unsupported dtype U8"},
        {"bool", safetensors_bytes(one(entry_json("BOOL", "[8]", 0, 8)), f32x2),
         "unsupported dtype BOOL"},
        {"shape_not_array", safetensors_bytes(one(entry_json("F32", "2", 0, 8)), f32x2),
         "\"shape\" is not an array"},
        {"float_dim", safetensors_bytes(one(entry_json("F32", "[2.0]", 0, 8)), f32x2),
         "tensor 't': shape has a non-integer dimension 2.0"},
        {"string_dim", safetensors_bytes(one(entry_json("F32", "[\"2\"]", 0, 8)), f32x2),
         "shape has a non-integer dimension \"2\""},
        {"null_dim", safetensors_bytes(one(entry_json("F32", "[null]", 0, 8)), f32x2),
         "shape has a non-integer dimension null"},
        {"negative_dim", safetensors_bytes(one(entry_json("F32", "[-2]", 0, 8)), f32x2),
         "shape has a negative dimension -2"},
        {"huge_dim",
         safetensors_bytes(one(entry_json("F32", "[18446744073709551615]", 0, 8)), f32x2),
         "absurd dimension"},
        {"overflowing_shape",
         safetensors_bytes(one(entry_json("F32", "[1099511627776,1099511627776]", 0, 8)), f32x2),
         "is too large"},
        {"overflowing_shape_f16",
         safetensors_bytes(one(entry_json("F16", "[4611686018427387904,4]", 0, 8)), f32x2),
         "is too large"},
        {"offsets_not_array",
         safetensors_bytes(one("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":8}"), f32x2),
         "\"data_offsets\" must be [begin, end]"},
        {"offsets_one_element",
         safetensors_bytes(one("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8]}"), f32x2),
         "\"data_offsets\" must be [begin, end]"},
        {"offsets_three_elements",
         safetensors_bytes(one("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,8]}"),
                           f32x2),
         "\"data_offsets\" must be [begin, end]"},
        {"offsets_negative",
         safetensors_bytes(one("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}"), f32x2),
         "\"data_offsets\" must be [begin, end]"},
        {"offsets_float",
         safetensors_bytes(one("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8.0]}"),
                           f32x2),
         "\"data_offsets\" must be [begin, end]"},
        {"offsets_reversed", safetensors_bytes(one(entry_json("F32", "[0]", 8, 0)), f32x2),
         "data_offsets [8,0] have begin > end"},
        {"size_mismatch", safetensors_bytes(one(entry_json("F32", "[2]", 0, 4)), f32x2),
         "data_offsets [0,4] span 4 bytes but shape [2] of F32 needs 8"},
        {"size_mismatch_f16", safetensors_bytes(one(entry_json("F16", "[2]", 0, 8)), f32x2),
         "span 8 bytes but shape [2] of F16 needs 4"},
        {"out_of_bounds", safetensors_bytes(one(entry_json("F32", "[3]", 0, 12)), f32x2),
         "data_offsets [0,12] are out of bounds of the data section (8 bytes)"},
        {"out_of_bounds_far",
         safetensors_bytes(one(entry_json("F32", "[2]", 1u << 30, (1u << 30) + 8)), f32x2),
         "out of bounds"},
        {"overlap",
         safetensors_bytes("{\"a\":" + entry_json("F32", "[2]", 0, 8) +
                               ",\"b\":" + entry_json("F32", "[2]", 4, 12) + "}",
                           f32x3),
         "tensors 'a' and 'b' overlap"},
        {"same_range",
         safetensors_bytes("{\"a\":" + entry_json("F32", "[2]", 0, 8) +
                               ",\"b\":" + entry_json("F32", "[2]", 0, 8) + "}",
                           f32x2),
         "tensors 'a' and 'b' overlap"},
        {"empty_tensor_inside_another",
         safetensors_bytes("{\"a\":" + entry_json("F32", "[2]", 0, 8) +
                               ",\"z\":" + entry_json("F32", "[0]", 4, 4) + "}",
                           f32x2),
         "overlap"},
        {"hole",
         safetensors_bytes("{\"a\":" + entry_json("F32", "[1]", 0, 4) +
                               ",\"b\":" + entry_json("F32", "[1]", 8, 12) + "}",
                           f32x3),
         "hole in the data section: bytes [4, 8) belong to no tensor"},
        {"leading_hole", safetensors_bytes(one(entry_json("F32", "[1]", 4, 8)), f32x2),
         "hole in the data section: bytes [0, 4)"},
        {"trailing_bytes", safetensors_bytes(one(entry_json("F32", "[1]", 0, 4)), f32x2),
         "data section has 4 trailing bytes that belong to no tensor"},
        {"data_without_tensors", safetensors_bytes("{}", f32x2),
         "data section has 8 trailing bytes"},
        {"duplicate_tensor",
         safetensors_bytes("{\"t\":" + entry_json("F32", "[1]", 0, 4) +
                               ",\"t\":" + entry_json("F32", "[1]", 4, 8) + "}",
                           f32x2),
         "duplicate tensor name 't'"},
        {"duplicate_entry_key",
         safetensors_bytes(one("{\"dtype\":\"F32\",\"dtype\":\"I32\",\"shape\":[2],"
                               "\"data_offsets\":[0,8]}"),
                           f32x2),
         "duplicate key 'dtype'"},
        {"duplicate_metadata_key",
         safetensors_bytes("{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}"), "duplicate key 'k'"},
        {"metadata_not_object", safetensors_bytes("{\"__metadata__\":[\"a\"]}"),
         "__metadata__ is not a JSON object"},
        {"metadata_value_not_string", safetensors_bytes("{\"__metadata__\":{\"k\":1}}"),
         "__metadata__ value for key 'k' is not a string"},
        {"metadata_value_object", safetensors_bytes("{\"__metadata__\":{\"k\":{}}}"),
         "__metadata__ value for key 'k' is not a string"},
    };
}

TEST_F(SafetensorsTest, RejectsEachMalformedFileWithItsFault) {
    expect_malformed_files_refused(malformed_files(), ".safetensors", read_safetensors_file);
}

TEST_F(SafetensorsTest, RejectsMissingFileAndDirectory) {
    expect_missing_file_and_directory_refused(".safetensors", read_safetensors_file);
}

// ---- failed writes leave nothing behind ----

TEST_F(SafetensorsTest, FailedWriteIntoMissingDirectoryCreatesNothing) {
    std::map<std::string, Tensor> tensors;
    tensors.emplace("w", make_tensor(DType::F32, {4}, 1));
    const std::string target = path("no/such/dir/w.safetensors");
    expect_error_naming_file([&] { write_safetensors(target, tensors); }, target,
                             "No such file or directory");
    EXPECT_TRUE(listing().empty());
}

TEST_F(SafetensorsTest, FailedWriteOverDirectoryRemovesTemporary) {
    fs::create_directory(path("taken"));
    std::map<std::string, Tensor> tensors;
    tensors.emplace("w", make_tensor(DType::F32, {4}, 1));
    EXPECT_THROW(write_safetensors(path("taken"), tensors), Error);
    EXPECT_EQ(listing(), std::vector<std::string>{"taken"});
    EXPECT_TRUE(fs::is_empty(path("taken")));
}

TEST_F(SafetensorsTest, RefusedWriteKeepsOldFile) {
    write_bytes(path("keep.safetensors"), "precious");
    std::map<std::string, Tensor> tensors;
    tensors.emplace("__metadata__", make_tensor(DType::F32, {1}, 1));
    EXPECT_THROW(write_safetensors(path("keep.safetensors"), tensors), Error);

    std::map<std::string, Tensor> bad_name;
    bad_name.emplace("\xff\xfe", make_tensor(DType::F32, {1}, 1));
    EXPECT_THROW(write_safetensors(path("keep.safetensors"), bad_name), Error);

    std::map<std::string, Tensor> no_storage;
    no_storage.emplace("empty", Tensor());
    EXPECT_THROW(write_safetensors(path("keep.safetensors"), no_storage), Error);

    EXPECT_EQ(read_bytes(path("keep.safetensors")), "precious");
    EXPECT_EQ(listing(), std::vector<std::string>{"keep.safetensors"});
}

// ---- file utilities ----

TEST_F(SafetensorsTest, ReadFileBytesReturnsExactContents) {
    std::string bytes;
    for (int i = 0; i < 200000; ++i) bytes.push_back(static_cast<char>(i * 31));
    write_bytes(path("blob"), bytes);
    EXPECT_EQ(read_file_bytes(path("blob")), bytes);
    write_bytes(path("zero"), "");
    EXPECT_EQ(read_file_bytes(path("zero")), "");
}

TEST_F(SafetensorsTest, ReadFileBytesNamesThePath) {
    for (const std::string& p : {path("absent"), path("")})
        expect_error_naming_file([&] { read_file_bytes(p); }, p, "");
}

TEST_F(SafetensorsTest, WriteFileAtomicallyWritesExactlyAndLeavesNoTemporary) {
    const std::string bytes("hello\0world", 11);
    write_file_atomically(path("out"), bytes.data(), bytes.size());
    write_file_atomically(path("empty"), nullptr, 0);
    EXPECT_EQ(read_bytes(path("out")), bytes);
    EXPECT_EQ(read_bytes(path("empty")), "");
    std::vector<std::string> names = listing();
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"empty", "out"}));
    EXPECT_THROW(write_file_atomically(path("trailing/"), "x", 1), Error);
}

// ---- random corruption never crashes ----

// Each corrupted file either loads or throws fcnrt::Error; nothing else
// (no crash under ASan/UBSan, no other exception type).
TEST_F(SafetensorsTest, SurvivesRandomCorruption) {
    std::map<std::string, Tensor> tensors;
    tensors.emplace("conv.weight", make_tensor(DType::F32, {2, 1, 3, 3}, 1));
    tensors.emplace("conv.bias", make_tensor(DType::F32, {2}, 2));
    tensors.emplace("labels", make_tensor(DType::I32, {3}, 3));
    write_safetensors(path("valid.safetensors"), tensors, {{"k", "v"}});
    const std::string valid = read_bytes(path("valid.safetensors"));
    const size_t header_end =
        8 + (static_cast<unsigned char>(valid[0]) | static_cast<unsigned char>(valid[1]) << 8);
    const std::string json_chars = "{}[]\":,-0123456789eE.FIBU \\";

    expect_survives_corruption(
        valid, 20240611, ".safetensors",
        [&](std::string& bytes, std::mt19937& rng, int iteration) {
            const int mutation = iteration % 5;
            if (mutation == 0) {
                bytes.resize(pick(rng, bytes.size()));  // truncate
            } else if (mutation == 1) {
                for (int k = 0; k < 3; ++k)
                    bytes[pick(rng, bytes.size())] = static_cast<char>(rng());
            } else if (mutation == 2) {  // flip header bytes to JSON punctuation and digits
                for (size_t k = 0, n = 1 + pick(rng, 4); k < n; ++k)
                    bytes[8 + pick(rng, header_end - 8)] = json_chars[pick(rng, json_chars.size())];
            } else if (mutation == 3) {  // insert or delete inside the header
                const size_t at = 8 + pick(rng, header_end - 8);
                if (rng() % 2)
                    bytes.insert(at, 1, json_chars[pick(rng, json_chars.size())]);
                else
                    bytes.erase(at, 1);
            } else {  // corrupt the length prefix
                bytes[pick(rng, 8)] = static_cast<char>(rng());
            }
        },
        read_safetensors_file);
}

}  // namespace
}  // namespace fcnrt
