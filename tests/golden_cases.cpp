#include "tests/golden_cases.h"

#include <cmath>
#include <limits>

#include "engine/attributes.h"
#include "engine/io/file_util.h"

namespace fcnrt::test {

std::string golden_dir() { return std::string(FCNRT_SOURCE_DIR) + "/tests/golden"; }

std::vector<GoldenCase> golden_cases() {
    const Json manifest = Json::parse(read_file_bytes(golden_dir() + "/MANIFEST.json"));
    std::vector<GoldenCase> cases;
    for (const Json& c : manifest.at("cases")) {
        GoldenCase g;
        g.name = c.at("name").get<std::string>();
        g.description = c.value("description", "");
        g.dir = golden_dir() + "/" + g.name;
        g.inputs = c.at("inputs").get<std::vector<std::string>>();
        g.outputs = c.at("outputs").get<std::vector<std::string>>();
        g.tolerance = c.value("tolerance", 1e-4);
        cases.push_back(g);
    }
    return cases;
}

double relative_max_error(const Tensor& actual, const Tensor& expected) {
    const double inf = std::numeric_limits<double>::infinity();
    if (actual.shape() != expected.shape() || actual.dtype() != expected.dtype()) return inf;
    if (expected.dtype() == DType::I32) {
        for (int64_t i = 0; i < expected.numel(); ++i)
            if (actual.i32()[i] != expected.i32()[i]) return inf;
        return 0.0;
    }
    double diff = 0.0, scale = 0.0;
    for (int64_t i = 0; i < expected.numel(); ++i) {
        const double a = actual.f32()[i], b = expected.f32()[i];
        if (std::isnan(a) != std::isnan(b)) return inf;
        if (std::isnan(b)) continue;
        diff = std::max(diff, std::fabs(a - b));
        scale = std::max(scale, std::fabs(b));
    }
    return diff / std::max(scale, 1e-30);
}

}  // namespace fcnrt::test
