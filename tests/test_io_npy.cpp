// .npy reader/writer: round trips, the header NumPy writes and its variants,
// conversions with their notes, a catalogue of malformed files (each error
// must name the file and the specific fault), failed writes that leave
// nothing behind, and randomly corrupted files that must never crash.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/io/npy.h"
#include "tests/test_util.h"

namespace fcnrt {
namespace {

namespace fs = std::filesystem;
using namespace fcnrt::test;

using NpyTest = TempDirTest;

// A .npy file as NumPy lays it out: magic, version, little-endian header
// length (2 bytes for 1.0, 4 for 2.0 and 3.0), the dict padded with spaces
// and a '\n' to a multiple of 64 bytes, then the data.
std::string npy_bytes(const std::string& dict, const std::string& data, int major = 1) {
    const size_t length_bytes = major == 1 ? 2 : 4;
    const size_t prefix = 8 + length_bytes;
    std::string header = dict;
    header.append(63 - (prefix + header.size()) % 64, ' ');
    header += '\n';
    std::string out = "\x93NUMPY";
    out += static_cast<char>(major);
    out += '\0';
    for (size_t i = 0; i < length_bytes; ++i)
        out += static_cast<char>((header.size() >> (8 * i)) & 0xff);
    return out + header + data;
}

std::string dict_for(const std::string& descr, const std::string& shape) {
    return "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
}

Tensor make_tensor(DType dtype, Shape shape, int seed) {
    Tensor t(dtype, std::move(shape));
    for (int64_t i = 0; i < t.numel(); ++i) {
        if (dtype == DType::F32)
            t.f32()[i] = static_cast<float>(seed) - static_cast<float>(i) * 0.375f;
        else
            t.i32()[i] = seed * 100 + static_cast<int32_t>(i) * 3 - 50;
    }
    return t;
}

void read_npy_file(const std::string& path) {
    read_npy(path);
}

// Reading must throw fcnrt::Error whose message names the file and contains `fault`.
void expect_read_error(const std::string& path, const std::string& fault) {
    expect_error_naming_file([&] { read_npy_file(path); }, path, fault);
}

// ---- round trips and the written layout ----

TEST_F(NpyTest, RoundTripsEveryRankAndZeroSizeDims) {
    const std::vector<Shape> shapes = {
        {},  {7},       {3, 2},       {2, 3, 5},       {2, 3, 4, 5},
        {0}, {2, 0, 3}, {1, 1, 1, 0}, {1, 2, 1, 2, 3}, {1, 1, 1, 1, 1, 1, 2}};
    int seed = 0;
    for (const Shape& shape : shapes) {
        for (DType dtype : {DType::F32, DType::I32}) {
            SCOPED_TRACE(shape_to_string(shape) + dtype_name(dtype));
            const Tensor original = make_tensor(dtype, shape, ++seed);
            write_npy(path("t.npy"), original);
            std::string note = "stale";
            const Tensor back = read_npy(path("t.npy"), &note);
            EXPECT_EQ(note, "");
            EXPECT_EQ(back.dtype(), dtype);
            EXPECT_EQ(back.shape(), shape);
            ASSERT_EQ(back.bytes(), original.bytes());
            if (original.bytes() > 0) {
                EXPECT_EQ(std::memcmp(back.data(), original.data(), original.bytes()), 0);
            }
        }
    }
}

TEST_F(NpyTest, WritesNumpyVersion1Header) {
    struct Case {
        DType dtype;
        Shape shape;
        const char* dict;
    };
    const Case cases[] = {
        {DType::F32, {}, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }"},
        {DType::F32, {5}, "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }"},
        {DType::I32, {2, 3}, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }"},
        {DType::F32,
         {1, 3, 0, 4},
         "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 0, 4), }"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.dict);
        const Tensor t = make_tensor(c.dtype, c.shape, 3);
        write_npy(path("h.npy"), t);
        const std::string bytes = read_bytes(path("h.npy"));
        ASSERT_GE(bytes.size(), 10u);
        EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
        const size_t header_bytes =
            static_cast<unsigned char>(bytes[8]) | static_cast<unsigned char>(bytes[9]) << 8;
        EXPECT_EQ((10 + header_bytes) % 64, 0u);
        const std::string header = bytes.substr(10, header_bytes);
        EXPECT_EQ(header.substr(0, std::strlen(c.dict)), c.dict);
        EXPECT_EQ(header.find_first_not_of(' ', std::strlen(c.dict)), header_bytes - 1);
        EXPECT_EQ(header.back(), '\n');
        EXPECT_EQ(bytes.size(), 10 + header_bytes + t.bytes());
    }
}

// The exact bytes numpy 1.24 writes for np.arange(6, dtype='<f4').reshape(2, 3)
// (with its spare spaces for growing the first axis) must read.
TEST_F(NpyTest, ReadsNumpyOutput) {
    std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    dict.append(20, ' ');
    write_bytes(path("np.npy"), npy_bytes(dict, raw_bytes(std::vector<float>{0, 1, 2, 3, 4, 5})));
    const Tensor t = read_npy(path("np.npy"));
    ASSERT_EQ(t.shape(), (Shape{2, 3}));
    for (int i = 0; i < 6; ++i) EXPECT_EQ(t.f32()[i], float(i));
}

TEST_F(NpyTest, ReadsHeaderVariants) {
    const std::string data = raw_bytes(std::vector<int32_t>{1, 2, 3, 4, 5, 6});
    const std::vector<std::string> dicts = {
        "{'shape': (2, 3), 'fortran_order': False, 'descr': '<i4'}",
        "{\"descr\":\"<i4\",\"fortran_order\":False,\"shape\":(2,3)}",
        "{ 'fortran_order' : False , 'descr' : '<i4' , 'shape' : ( 2 , 3 , ) , }",
        "{'descr': '<i4', 'fortran_order': False, 'shape': (2L, 3L), }",
        "{'descr':'|i4','fortran_order':False,'shape':(2,3)}",
        "{'descr':'=i4','fortran_order':False,'shape':(2,3)}",
        "\t{'descr':'<i4',\n'fortran_order':False,\r\n'shape':(2,3)}  ",
    };
    for (const std::string& dict : dicts) {
        SCOPED_TRACE(dict);
        write_bytes(path("v.npy"), npy_bytes(dict, data));
        const Tensor t = read_npy(path("v.npy"));
        EXPECT_EQ(t.dtype(), DType::I32);
        EXPECT_EQ(t.shape(), (Shape{2, 3}));
        EXPECT_EQ(t.i32()[5], 6);
    }
}

TEST_F(NpyTest, ReadsVersions2And3) {
    const std::string data = raw_bytes(std::vector<float>{1.5f, -2.0f});
    for (int major : {2, 3}) {
        SCOPED_TRACE(major);
        write_bytes(path("v.npy"), npy_bytes(dict_for("<f4", "(2,)"), data, major));
        const Tensor t = read_npy(path("v.npy"));
        ASSERT_EQ(t.shape(), Shape{2});
        EXPECT_EQ(t.f32()[0], 1.5f);
        EXPECT_EQ(t.f32()[1], -2.0f);
    }
}

// ---- conversions ----

TEST_F(NpyTest, ConvertsFloat64WithNote) {
    // 0x1.ffffffp127 is FLT_MAX plus half an ulp: the tie rounds to even, inf;
    // just below it rounds to FLT_MAX.
    const std::vector<double> values = {0.1,
                                        -2.5,
                                        1e300,
                                        -1e300,
                                        0x1.fffffefffffffp127,
                                        std::numeric_limits<double>::quiet_NaN(),
                                        1e-320,
                                        0x1.ffffffp127};
    write_bytes(path("d.npy"), npy_bytes(dict_for("<f8", "(8,)"), raw_bytes(values)));
    std::string note;
    const Tensor t = read_npy(path("d.npy"), &note);
    ASSERT_EQ(t.dtype(), DType::F32);
    EXPECT_EQ(t.f32()[0], 0.1f);
    EXPECT_EQ(t.f32()[1], -2.5f);
    EXPECT_EQ(t.f32()[2], std::numeric_limits<float>::infinity());
    EXPECT_EQ(t.f32()[3], -std::numeric_limits<float>::infinity());
    EXPECT_EQ(t.f32()[4], std::numeric_limits<float>::max());  // rounds down, not to inf
    EXPECT_TRUE(std::isnan(t.f32()[5]));
    EXPECT_EQ(t.f32()[6], 0.0f);
    EXPECT_EQ(t.f32()[7], std::numeric_limits<float>::infinity());
    for (size_t i = 0; i < values.size(); ++i) {
        // (a cast of an out-of-range double is undefined, so only in-range values)
        if (std::fabs(values[i]) <= std::numeric_limits<float>::max()) {
            EXPECT_EQ(float_bits(t.f32()[i]), float_bits(static_cast<float>(values[i]))) << i;
        }
    }
    EXPECT_EQ(note, "converted float64 to float32 (3 values beyond float32 range became inf)");

    write_bytes(path("d.npy"),
                npy_bytes(dict_for("<f8", "(1,)"), raw_bytes(std::vector<double>{1})));
    read_npy(path("d.npy"), &note);
    EXPECT_EQ(note, "converted float64 to float32");
}

TEST_F(NpyTest, ConvertsFloat16Exactly) {
    const auto& cases = half_widening_cases();
    std::vector<uint16_t> bits;
    for (const auto& c : cases) bits.push_back(c.first);
    bits.push_back(0x7e00);  // quiet NaN
    const std::string shape = "(" + std::to_string(bits.size()) + ",)";
    write_bytes(path("h.npy"), npy_bytes(dict_for("<f2", shape), raw_bytes(bits)));
    std::string note;
    const Tensor t = read_npy(path("h.npy"), &note);
    EXPECT_EQ(note, "converted float16 to float32");
    ASSERT_EQ(t.shape(), Shape{static_cast<int64_t>(bits.size())});
    for (size_t i = 0; i < cases.size(); ++i)
        EXPECT_EQ(float_bits(t.f32()[i]), float_bits(cases[i].second))
            << "half 0x" << std::hex << cases[i].first;
    EXPECT_TRUE(std::isnan(t.f32()[cases.size()]));
}

template <typename T>
void check_integer_conversion(const std::string& file, const std::string& descr,
                              const std::vector<T>& values, const std::string& note_expected) {
    SCOPED_TRACE(descr);
    write_bytes(file, npy_bytes(dict_for(descr, "(" + std::to_string(values.size()) + ",)"),
                                raw_bytes(values)));
    std::string note;
    const Tensor t = read_npy(file, &note);
    ASSERT_EQ(t.dtype(), DType::I32);
    EXPECT_EQ(note, note_expected);
    for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(int64_t(t.i32()[i]), int64_t(values[i]));
}

TEST_F(NpyTest, ConvertsIntegerKindsWithNotes) {
    const std::string f = path("i.npy");
    check_integer_conversion<int8_t>(f, "|i1", {-128, 0, 127}, "converted int8 to int32");
    check_integer_conversion<uint8_t>(f, "|u1", {0, 200, 255}, "converted uint8 to int32");
    check_integer_conversion<int16_t>(f, "<i2", {-32768, 5, 32767}, "converted int16 to int32");
    check_integer_conversion<uint16_t>(f, "<u2", {0, 65535}, "converted uint16 to int32");
    check_integer_conversion<uint32_t>(f, "<u4", {0, 2147483647u}, "converted uint32 to int32");
    check_integer_conversion<int64_t>(f, "<i8", {INT32_MIN, -1, INT32_MAX},
                                      "converted int64 to int32");
    check_integer_conversion<uint64_t>(f, "<u8", {0, 7}, "converted uint64 to int32");
    check_integer_conversion<int32_t>(f, "<i4", {INT32_MIN, INT32_MAX}, "");
}

TEST_F(NpyTest, ConvertsBool) {
    write_bytes(path("b.npy"),
                npy_bytes(dict_for("|b1", "(2, 2)"), std::string("\x00\x01\x01\x00", 4)));
    std::string note;
    const Tensor t = read_npy(path("b.npy"), &note);
    EXPECT_EQ(note, "converted bool to int32");
    EXPECT_EQ(t.shape(), (Shape{2, 2}));
    EXPECT_EQ(std::vector<int32_t>(t.i32(), t.i32() + 4), (std::vector<int32_t>{0, 1, 1, 0}));
}

TEST_F(NpyTest, RefusesIntegersThatDoNotFit) {
    write_bytes(path("i8.npy"), npy_bytes(dict_for("<i8", "(2,)"),
                                          raw_bytes(std::vector<int64_t>{0, -2147483649LL})));
    expect_read_error(path("i8.npy"), "int64 value -2147483649 at index 1 does not fit in int32");
    write_bytes(path("u4.npy"),
                npy_bytes(dict_for("<u4", "(1,)"), raw_bytes(std::vector<uint32_t>{2147483648u})));
    expect_read_error(path("u4.npy"), "uint32 value 2147483648 at index 0 does not fit in int32");
    write_bytes(path("u8.npy"),
                npy_bytes(dict_for("<u8", "(1,)"), raw_bytes(std::vector<uint64_t>{UINT64_MAX})));
    expect_read_error(path("u8.npy"), "uint64 value 18446744073709551615 at index 0");
}

// ---- malformed files ----

std::string with_version(int major, int minor) {
    std::string bytes = npy_bytes(dict_for("<f4", "(1,)"), std::string(4, '\0'));
    bytes[6] = static_cast<char>(major);
    bytes[7] = static_cast<char>(minor);
    return bytes;
}

std::vector<MalformedFile> malformed_files() {
    const std::string f4x6(24, '\0');
    const std::string f4x1(4, '\0');
    auto one = [&](const std::string& dict) { return npy_bytes(dict, f4x1); };
    return {
        {"empty", "", "not a .npy file (bad magic"},
        {"short_magic", "\x93NUM", "bad magic"},
        {"wrong_magic", "\x93NUMPX\x01\x00\x10\x00{}", "bad magic"},
        {"pickle", "\x80\x04\x95", "bad magic"},
        {"no_version", "\x93NUMPY\x01", "truncated header"},
        {"version_4", with_version(4, 0), "unsupported .npy format version 4.0"},
        {"version_0", with_version(0, 0), "unsupported .npy format version 0.0"},
        {"version_1_1", with_version(1, 1), "unsupported .npy format version 1.1"},
        {"no_length", std::string("\x93NUMPY\x01\x00\x05", 9), "truncated header"},
        {"no_length_v2", std::string("\x93NUMPY\x02\x00\x05\x00\x00", 11), "truncated header"},
        {"header_past_end", std::string("\x93NUMPY\x01\x00\x40\x00{'descr'", 17),
         "truncated header: header length 64 runs past the end of the file"},
        {"header_past_end_v3", std::string("\x93NUMPY\x03\x00\xff\xff\xff\xff{}", 14),
         "header length 4294967295 runs past the end"},
        {"not_a_dict", one("['descr', '<f4']"), "malformed header: expected '{'"},
        {"empty_header", one(""), "malformed header"},
        {"unterminated_dict", one("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)"),
         "malformed header: expected ',' or '}'"},
        {"unterminated_string", one("{'descr: '<f4'}"), "malformed header"},
        {"unterminated_tuple", one("{'descr': '<f4', 'fortran_order': False, 'shape': (1}"),
         "malformed header: expected ',' or ')'"},
        {"tuple_closed_by_brace", one("{'descr': '<f4', 'fortran_order': False, 'shape': (1,}"),
         "malformed header: unexpected character"},
        {"missing_colon", one("{'descr' '<f4', 'fortran_order': False, 'shape': (1,)}"),
         "malformed header: expected ':'"},
        {"bare_word", one("{'descr': f4, 'fortran_order': False, 'shape': (1,)}"),
         "malformed header: unexpected character"},
        {"text_after_dict", one(dict_for("<f4", "(1,)") + " x"),
         "malformed header: unexpected text after the dict"},
        {"key_not_string", one("{1: '<f4', 'fortran_order': False, 'shape': (1,)}"),
         "malformed header: dict key is not a string"},
        {"missing_descr", one("{'fortran_order': False, 'shape': (1,)}"),
         "malformed header: missing key 'descr'"},
        {"missing_shape", one("{'descr': '<f4', 'fortran_order': False}"),
         "malformed header: missing key 'shape'"},
        {"missing_fortran_order", one("{'descr': '<f4', 'shape': (1,)}"),
         "missing key 'fortran_order'"},
        {"extra_key", one("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}"),
         "malformed header: unexpected key 'x'"},
        {"duplicate_key",
         one("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, "
             "'shape': (1,)}"),
         "malformed header: duplicate key 'descr'"},
        {"descr_not_string", one("{'descr': 4, 'fortran_order': False, 'shape': (1,)}"),
         "'descr' is not a string"},
        {"fortran_not_bool", one("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}"),
         "'fortran_order' is not True or False"},
        {"shape_list", one("{'descr': '<f4', 'fortran_order': False, 'shape': [1]}"),
         "'shape' is not a tuple"},
        {"shape_int", one("{'descr': '<f4', 'fortran_order': False, 'shape': 1}"),
         "'shape' is not a tuple"},
        {"float_dim", one(dict_for("<f4", "(2.5,)")), "non-integer dimension 2.5"},
        {"exponent_dim", one(dict_for("<f4", "(1e0,)")), "non-integer dimension 1e0"},
        {"string_dim", one(dict_for("<f4", "('1',)")), "non-integer dimension"},
        {"negative_dim", one(dict_for("<f4", "(-1,)")), "negative dimension -1 in shape"},
        {"huge_dim", one(dict_for("<f4", "(99999999999999999999,)")),
         "dimension 99999999999999999999 is too large"},
        {"overflowing_shape", one(dict_for("<f4", "(1099511627776, 1099511627776)")),
         "is too large"},
        {"overflowing_shape_f8", one(dict_for("<f8", "(137438953472, 2)")), "is too large"},
        {"overflowing_converted_shape", one(dict_for("|u1", "(1099511627776,)")), "is too large"},
        {"nested_too_deep", one("{'descr': " + std::string(40, '(') + "}"), "nested too deeply"},
        {"fortran_order",
         npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", f4x6),
         "Fortran order is not supported; save with np.ascontiguousarray"},
        {"big_endian_f4", npy_bytes(dict_for(">f4", "(6,)"), f4x6),
         "big-endian dtype '>f4' is not supported; convert with arr.astype('<f4')"},
        {"big_endian_i8", npy_bytes(dict_for(">i8", "(3,)"), f4x6), "big-endian dtype '>i8'"},
        {"complex", npy_bytes(dict_for("<c8", "(3,)"), f4x6),
         "complex dtype '<c8' is not supported"},
        {"object", one(dict_for("|O", "(1,)")),
         "object dtype (a pickled array) '|O' is not supported"},
        {"unicode", one(dict_for("<U1", "(1,)")), "string dtype '<U1' is not supported"},
        {"bytes", one(dict_for("|S4", "(1,)")), "string dtype '|S4' is not supported"},
        {"void", one(dict_for("|V4", "(1,)")), "void/structured dtype '|V4'"},
        {"datetime", npy_bytes(dict_for("<M8[ns]", "(3,)"), f4x6), "datetime dtype '<M8[ns]'"},
        {"structured", one("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}"),
         "structured (record) dtypes are not supported"},
        {"long_double", npy_bytes(dict_for("<f16", "(1,)"), std::string(16, '\0')),
         "unsupported dtype '<f16'"},
        {"odd_size", one(dict_for("<f3", "(1,)")), "unsupported dtype '<f3'"},
        {"no_size", one(dict_for("<f", "(1,)")), "unsupported dtype '<f'"},
        {"empty_descr", one(dict_for("", "(1,)")), "empty dtype"},
        {"order_only", one(dict_for("<", "(1,)")), "empty dtype"},
        {"truncated_data", npy_bytes(dict_for("<f4", "(2, 3)"), std::string(20, '\0')),
         "truncated: expected 24 bytes of data, found 20"},
        {"no_data", npy_bytes(dict_for("<f8", "(2,)"), ""),
         "truncated: expected 16 bytes of data, found 0"},
        {"trailing_data", npy_bytes(dict_for("<f4", "(2, 3)"), std::string(25, '\0')),
         "trailing data: expected 24 bytes of data, found 25 (1 extra)"},
        {"trailing_data_scalar", npy_bytes(dict_for("<i4", "()"), std::string(8, '\0')),
         "trailing data: expected 4 bytes of data, found 8"},
    };
}

TEST_F(NpyTest, RejectsEachMalformedFileWithItsFault) {
    expect_malformed_files_refused(malformed_files(), ".npy", read_npy_file);
}

TEST_F(NpyTest, RejectsMissingFileAndDirectory) {
    expect_missing_file_and_directory_refused(".npy", read_npy_file);
}

// ---- failed writes leave nothing behind ----

TEST_F(NpyTest, FailedWriteIntoMissingDirectoryCreatesNothing) {
    const std::string target = path("missing/out.npy");
    const Tensor t = make_tensor(DType::F32, {2, 2}, 1);
    expect_error_naming_file([&] { write_npy(target, t); }, target, "No such file or directory");
    EXPECT_TRUE(listing().empty());
}

TEST_F(NpyTest, FailedWriteOverDirectoryKeepsNothingExtra) {
    fs::create_directory(path("taken.npy"));
    EXPECT_THROW(write_npy(path("taken.npy"), make_tensor(DType::I32, {3}, 1)), Error);
    EXPECT_EQ(listing(), std::vector<std::string>{"taken.npy"});
}

TEST_F(NpyTest, RefusesTensorWithoutStorage) {
    try {
        write_npy(path("t.npy"), Tensor());
        ADD_FAILURE() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("without storage"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(listing().empty());
}

// ---- random corruption never crashes ----

TEST_F(NpyTest, SurvivesRandomCorruption) {
    write_npy(path("valid.npy"), make_tensor(DType::F32, {2, 3, 4}, 5));
    const std::string valid = read_bytes(path("valid.npy"));
    const std::string dict_chars = "{}()[]'\":, -0123456789<>|=fiubcOUSV.TrueFalsLe\n";

    expect_survives_corruption(
        valid, 987654321, ".npy",
        [&](std::string& bytes, std::mt19937& rng, int iteration) {
            switch (iteration % 5) {
                case 0: bytes.resize(pick(rng, bytes.size())); break;
                case 1:
                    for (int k = 0; k < 3; ++k)
                        bytes[pick(rng, bytes.size())] = static_cast<char>(rng());
                    break;
                case 2:  // header bytes become dict punctuation, digits and dtype letters
                    for (size_t k = 0, n = 1 + pick(rng, 4); k < n; ++k)
                        bytes[10 + pick(rng, 54)] = dict_chars[pick(rng, dict_chars.size())];
                    break;
                case 3: {
                    const size_t at = 10 + pick(rng, 54);
                    if (rng() % 2)
                        bytes.insert(at, 1, dict_chars[pick(rng, dict_chars.size())]);
                    else
                        bytes.erase(at, 1);
                    break;
                }
                default:  // magic, version, length
                    bytes[pick(rng, 10)] = static_cast<char>(rng());
                    break;
            }
        },
        [](const std::string& file) {
            std::string note;
            read_npy(file, &note);
        });
}

}  // namespace
}  // namespace fcnrt
