// Which images `fcnrt segment` (and the C++ API, the Python module and
// fcnrt.ray) segments for a list of files and directories, and the name stem
// of each one's outputs: a directory means every image file directly in it,
// sorted; each page of a multi-page TIFF is an image of its own, STEM_p0000,
// STEM_p0001, ...; two inputs whose outputs would share a stem are refused.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fcnrt {

// One image to segment: a file, or one page of a multi-page TIFF.
struct SegmentInput {
    std::string path;
    int64_t page = 0, pages = 1;
    std::string stem;  // of its outputs: the file's, with _pNNNN for a page of several
};

bool is_directory(const std::string& path);

// The file name without its directory and last extension.
std::string stem_of(const std::string& path);

// Every image file directly in `dir` (.png .jpg .jpeg .tif .tiff .bmp .tga .pgm
// .ppm .pnm, any case), sorted by name. Throws fcnrt::Error(dir) when it
// cannot be read or holds none.
std::vector<std::string> images_in(const std::string& dir);

// The images of `paths` (files and directories) in order, pages expanded. A
// file whose pages cannot be counted is listed as one image (its error comes
// when it is read, the others carrying on). Throws fcnrt::Error naming the
// file whose outputs would overwrite another's (same stem).
std::vector<SegmentInput> list_segment_inputs(const std::vector<std::string>& paths);

}  // namespace fcnrt
