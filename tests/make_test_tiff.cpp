// make_test_tiff OUT.tif [key=value ...]: writes a test TIFF (tests/tiff_maker.h)
// for the command-line tests, e.g. `make_test_tiff s.tif pages=3 bits=16
// compression=lzw tiled=1 bigtiff=1 width=40 height=30 channels=1`.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/tiff_maker.h"

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: make_test_tiff OUT.tif [key=value ...]\n");
        return 2;
    }
    fcnrt::test::TiffSpec spec;
    for (int i = 2; i < argc; ++i) {
        const std::string a = argv[i];
        const size_t eq = a.find('=');
        const std::string key = a.substr(0, eq), value = eq == std::string::npos ? "" : a.substr(eq + 1);
        const long long n = std::atoll(value.c_str());
        if (key == "width") spec.width = n;
        else if (key == "height") spec.height = n;
        else if (key == "pages") spec.pages = n;
        else if (key == "bits") spec.bits = int(n);
        else if (key == "channels") spec.channels = int(n);
        else if (key == "compression") spec.compression = value;
        else if (key == "tiled") spec.tiled = n != 0;
        else if (key == "rows_per_strip") spec.rows_per_strip = n;
        else if (key == "bigtiff") spec.bigtiff = n != 0;
        else {
            std::fprintf(stderr, "make_test_tiff: unknown key '%s'\n", key.c_str());
            return 2;
        }
    }
    return fcnrt::test::write_test_tiff(argv[1], spec) ? 0 : 1;
}
