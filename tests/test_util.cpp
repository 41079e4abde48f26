// Helpers for the file reader/writer tests (see test_util.h).
#include "tests/test_util.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>

#include "engine/error.h"

namespace fcnrt::test {

namespace fs = std::filesystem;

void TempDirTest::SetUp() {
    const std::string suite =
        ::testing::UnitTest::GetInstance()->current_test_info()->test_suite_name();
    std::string pattern = ::testing::TempDir() + "fcnrt_" + suite + "_XXXXXX";
    ASSERT_NE(mkdtemp(&pattern[0]), nullptr);
    dir_ = pattern;
}

void TempDirTest::TearDown() {
    if (!dir_.empty()) fs::remove_all(dir_);
}

std::vector<std::string> TempDirTest::listing() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_))
        names.push_back(entry.path().filename().string());
    return names;
}

void TempDirTest::expect_malformed_files_refused(const std::vector<MalformedFile>& files,
                                                 const std::string& extension,
                                                 const ReadFile& read) const {
    for (const MalformedFile& f : files) {
        SCOPED_TRACE(f.name);
        const std::string file = path(std::string(f.name) + extension);
        write_bytes(file, f.bytes);
        expect_error_naming_file([&] { read(file); }, file, f.fault);
    }
}

void TempDirTest::expect_missing_file_and_directory_refused(const std::string& extension,
                                                            const ReadFile& read) const {
    const std::string absent = path("absent" + extension);
    expect_error_naming_file([&] { read(absent); }, absent, "No such file or directory");
    const std::string dir = path("dir" + extension);
    fs::create_directory(dir);
    expect_error_naming_file([&] { read(dir); }, dir, "is a directory");
}

void TempDirTest::expect_survives_corruption(
    const std::string& valid, uint32_t seed, const std::string& extension,
    const std::function<void(std::string& bytes, std::mt19937& rng, int iteration)>& mutate,
    const ReadFile& read) const {
    const std::string name = "fuzz" + extension;
    std::mt19937 rng(seed);
    int loaded = 0, refused = 0;
    for (int iteration = 0; iteration < 600; ++iteration) {
        std::string bytes = valid;
        mutate(bytes, rng, iteration);
        write_bytes(path(name), bytes);
        try {
            read(path(name));
            ++loaded;
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(name), std::string::npos);
            ++refused;
        } catch (const std::exception& e) {
            ADD_FAILURE() << "iteration " << iteration << ": non-fcnrt exception: " << e.what();
        }
    }
    EXPECT_GT(refused, 300);
    EXPECT_GT(loaded, 0);
}

void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    ASSERT_TRUE(out.good()) << path;
}

std::string read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

uint32_t float_bits(float value) {
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    return bits;
}

const std::vector<std::pair<uint16_t, float>>& half_widening_cases() {
    const float inf = std::numeric_limits<float>::infinity();
    static const std::vector<std::pair<uint16_t, float>> cases = {
        {0x3c00, 1.0f},
        {0xc100, -2.5f},
        {0x7bff, 65504.0f},
        {0x0001, std::ldexp(1.0f, -24)},
        {0x03ff, 1023 * std::ldexp(1.0f, -24)},
        {0x8001, -std::ldexp(1.0f, -24)},
        {0x0400, std::ldexp(1.0f, -14)},
        {0x3555, 0x1.554p-2f},
        {0x0000, 0.0f},
        {0x8000, -0.0f},
        {0x7c00, inf},
        {0xfc00, -inf},
    };
    return cases;
}

size_t pick(std::mt19937& rng, size_t n) {
    return std::uniform_int_distribution<size_t>(0, n - 1)(rng);
}

void expect_error_naming_file(const std::function<void()>& action, const std::string& path,
                              const std::string& fault) {
    try {
        action();
        ADD_FAILURE() << "expected an error containing '" << fault << "' for " << path;
    } catch (const Error& e) {
        const std::string message = e.what();
        EXPECT_EQ(e.file(), path);
        EXPECT_NE(message.find(path), std::string::npos) << message;
        EXPECT_NE(message.find(fault), std::string::npos)
            << "message: " << message << "\nexpected to contain: " << fault;
    }
}

}  // namespace fcnrt::test
