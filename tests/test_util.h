// Helpers for the file reader/writer tests (tests/test_io_*.cpp): a fresh
// temporary directory per test, raw file bytes, and the checks every reader must
// pass (errors that name the file and the fault; malformed, missing and randomly
// corrupted files refused with fcnrt::Error, never a crash).
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace fcnrt::test {

// Reads the file at `path` the way the reader under test does, discarding the result.
using ReadFile = std::function<void(const std::string& path)>;

// A file that must be refused with an error containing `fault`.
struct MalformedFile {
    const char* name;  // the file's name, without the extension
    std::string bytes;
    const char* fault;
};

// A fresh directory per test under ::testing::TempDir(), removed afterwards, named
// fcnrt_<test suite>_XXXXXX so leftovers say whose they are. A test file names its
// suite with an alias: `using NpyTest = TempDirTest;`.
class TempDirTest : public ::testing::Test {
protected:
    void SetUp() override;
    void TearDown() override;

    std::string path(const std::string& name) const { return dir_ + "/" + name; }
    // The names in the directory, in directory order.
    std::vector<std::string> listing() const;

    // Writes each file as <name><extension> and expects `read` to refuse it with
    // an error naming the file and containing its fault.
    void expect_malformed_files_refused(const std::vector<MalformedFile>& files,
                                        const std::string& extension, const ReadFile& read) const;
    // A missing file and a directory, each refused with an error naming it.
    void expect_missing_file_and_directory_refused(const std::string& extension,
                                                   const ReadFile& read) const;
    // 600 corruptions of `valid` (rng seeded with `seed`; `mutate` changes the bytes,
    // told the iteration): each must load or be refused with fcnrt::Error naming the
    // file, never anything else; more than half must be refused and some must load.
    void expect_survives_corruption(
        const std::string& valid, uint32_t seed, const std::string& extension,
        const std::function<void(std::string& bytes, std::mt19937& rng, int iteration)>& mutate,
        const ReadFile& read) const;

    std::string dir_;
};

void write_bytes(const std::string& path, const std::string& bytes);
std::string read_bytes(const std::string& path);

template <typename T>
std::string raw_bytes(const std::vector<T>& values) {
    return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

uint32_t float_bits(float value);

// (half bits, the float32 they widen to exactly): normal, negative, largest finite,
// smallest and largest subnormal, smallest normal, signed zeros, infinities.
const std::vector<std::pair<uint16_t, float>>& half_widening_cases();

// A uniformly random index below n.
size_t pick(std::mt19937& rng, size_t n);

// `action` must throw fcnrt::Error whose file() is `path` and whose message names
// `path` and contains `fault`.
void expect_error_naming_file(const std::function<void()>& action, const std::string& path,
                              const std::string& fault);

}  // namespace fcnrt::test
