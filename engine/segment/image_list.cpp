#include "engine/segment/image_list.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <map>

#include "engine/error.h"
#include "engine/image/image_io.h"

namespace fcnrt {

namespace {

bool has_image_extension(const std::string& name) {
    const size_t dot = name.rfind('.');
    if (dot == std::string::npos) return false;
    std::string ext = name.substr(dot + 1);
    for (char& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
    static const char* const kExts[] = {"png", "jpg", "jpeg", "tif", "tiff",
                                        "bmp", "tga", "pgm",  "ppm", "pnm"};
    return std::any_of(std::begin(kExts), std::end(kExts), [&](const char* e) { return ext == e; });
}

}  // namespace

bool is_directory(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::vector<std::string> images_in(const std::string& dir) {
    DIR* d = ::opendir(dir.c_str());
    if (!d) {
        const int err = errno;
        throw Error(dir, "", std::string("cannot read the directory: ") + std::strerror(err));
    }
    std::vector<std::string> names;
    while (const dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name.empty() || name[0] == '.' || !has_image_extension(name)) continue;
        const std::string path = dir + (dir.back() == '/' ? "" : "/") + name;
        if (!is_directory(path)) names.push_back(path);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    if (names.empty())
        throw Error(dir, "",
                    "the directory holds no image files (.png .jpg .jpeg .tif .tiff .bmp .tga .pgm "
                    ".ppm .pnm)");
    return names;
}

std::string stem_of(const std::string& path) {
    const size_t slash = path.rfind('/');
    std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
    const size_t dot = name.rfind('.');
    return dot == std::string::npos || dot == 0 ? name : name.substr(0, dot);
}

std::vector<SegmentInput> list_segment_inputs(const std::vector<std::string>& paths) {
    std::vector<std::string> images;
    for (const std::string& p : paths) {
        if (is_directory(p)) {
            for (std::string& f : images_in(p)) images.push_back(std::move(f));
        } else {
            images.push_back(p);
        }
    }
    std::map<std::string, std::string> by_stem;
    for (const std::string& p : images) {
        auto [it, fresh] = by_stem.insert({stem_of(p), p});
        if (!fresh)
            throw Error(p, "",
                        "its outputs would overwrite those of " + it->second +
                            " (same name stem '" + it->first + "')");
    }
    std::vector<SegmentInput> inputs;
    for (const std::string& p : images) {
        int64_t pages = 1;
        try {
            pages = read_image_pages(p);
        } catch (const Error&) {
            // Reported when the image is read, with the others carrying on.
        }
        for (int64_t k = 0; k < pages; ++k) {
            char suffix[32];
            std::snprintf(suffix, sizeof suffix, "_p%04lld", static_cast<long long>(k));
            inputs.push_back({p, k, pages, stem_of(p) + (pages > 1 ? suffix : "")});
        }
    }
    for (const SegmentInput& in : inputs) {
        auto [it, fresh] = by_stem.insert({in.stem, in.path});
        if (!fresh && it->second != in.path)
            throw Error(in.path, "",
                        "its outputs would overwrite those of " + it->second +
                            " (same name stem '" + it->first + "')");
    }
    return inputs;
}

}  // namespace fcnrt
