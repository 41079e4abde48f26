#include "engine/image/pnm_decode.h"

#include <cstdint>
#include <cstring>

#include "engine/error.h"
#include "engine/image/sample_buffer.h"

namespace fcnrt {

namespace {

bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// Netpbm's header grammar: tokens separated by whitespace, '#' comments to the
// end of a line, each number a run of decimal digits.
int64_t header_number(const unsigned char* d, size_t size, size_t* pos, const char* what,
                      const std::string& name) {
    for (;;) {
        while (*pos < size && is_space(d[*pos])) ++*pos;
        if (*pos < size && d[*pos] == '#') {
            while (*pos < size && d[*pos] != '\n' && d[*pos] != '\r') ++*pos;
            continue;
        }
        break;
    }
    if (*pos >= size || d[*pos] < '0' || d[*pos] > '9')
        throw Error(name, "", std::string("not a readable PNM: no ") + what + " in the header");
    int64_t v = 0;
    while (*pos < size && d[*pos] >= '0' && d[*pos] <= '9') {
        v = v * 10 + (d[*pos] - '0');
        if (v > (int64_t(1) << 31))
            throw Error(name, "", std::string("not a readable PNM: the ") + what + " is too large");
        ++*pos;
    }
    return v;
}

}  // namespace

bool looks_like_pnm(const unsigned char* d, size_t size) {
    return size >= 3 && d[0] == 'P' && (d[1] == '5' || d[1] == '6') && is_space(d[2]);
}

ImageInfo read_pnm_info(const unsigned char* d, size_t size, const std::string& name, size_t* data_offset) {
    if (!looks_like_pnm(d, size)) throw Error(name, "", "not a binary PGM or PPM");
    size_t pos = 2;
    ImageInfo info;
    info.channels = d[1] == '5' ? 1 : 3;
    info.width = header_number(d, size, &pos, "width", name);
    info.height = header_number(d, size, &pos, "height", name);
    const int64_t maxval = header_number(d, size, &pos, "maxval", name);
    if (maxval < 1 || maxval > 65535)
        throw Error(name, "", "PNM maxval " + std::to_string(maxval) + " is not in 1..65535");
    if (pos >= size || !is_space(d[pos])) throw Error(name, "", "not a readable PNM: the header does not end");
    ++pos;  // exactly one whitespace byte before the samples
    info.bit_depth = maxval > 255 ? 16 : 8;
    if (info.width <= 0 || info.height <= 0)
        throw Error(name, "", "the image has no pixels (" + std::to_string(info.width) + "x" +
                                  std::to_string(info.height) + ")");
    if (info.width > kMaxImageSide || info.height > kMaxImageSide || info.width * info.height > kMaxImagePixels)
        throw Error(name, "", "the header says " + std::to_string(info.width) + "x" + std::to_string(info.height) +
                                  " pixels, beyond the limit of " + std::to_string(kMaxImageSide) +
                                  " per side and 2^30 in all (a corrupt header?)");
    const uint64_t need = uint64_t(info.width) * uint64_t(info.height) * uint64_t(info.channels) *
                          uint64_t(info.bit_depth / 8);
    if (need > size - pos)
        throw Error(name, "", "cannot decode the image (truncated or corrupt?): the header says " +
                                  std::to_string(info.width) + "x" + std::to_string(info.height) + " pixels (" +
                                  std::to_string(need) + " bytes), the file holds " +
                                  std::to_string(size - pos) + " bytes of samples");
    if (data_offset) *data_offset = pos;
    return info;
}

Image decode_pnm(const unsigned char* d, size_t size, const std::string& name) {
    size_t pos = 0;
    const ImageInfo info = read_pnm_info(d, size, name, &pos);
    const size_t row_bytes = size_t(info.width) * size_t(info.channels) * size_t(info.bit_depth / 8);
    SampleBuffer samples(row_bytes, size_t(info.height));
    for (size_t y = 0; y < size_t(info.height); ++y) {
        unsigned char* row = samples.row(y);
        const unsigned char* src = d + pos + y * row_bytes;
        if (info.bit_depth == 8) {
            std::memcpy(row, src, row_bytes);
        } else {
            for (size_t i = 0; i < row_bytes / 2; ++i) {
                const uint16_t v = uint16_t((src[2 * i] << 8) | src[2 * i + 1]);
                std::memcpy(row + 2 * i, &v, 2);
            }
        }
    }
    return Image(info, samples.release());
}

}  // namespace fcnrt
