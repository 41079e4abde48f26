#include "engine/image/image_io.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "engine/error.h"
#include "engine/image/jpeg_decode.h"
#include "engine/image/png_stream.h"
#include "engine/image/pnm_decode.h"
#include "engine/image/tiff_io.h"
#include "engine/io/file_util.h"

// Declarations only; the implementation is compiled in stb_impl.cpp with the
// same configuration.
#define STBI_NO_STDIO
#define STBI_NO_HDR
#define STBI_NO_LINEAR
#include <stb/stb_image.h>
#define STBI_WRITE_NO_STDIO
#include <stb/stb_image_write.h>

// stb_image_write's deflate, exported by its implementation but not declared
// in its header; used for the 16-bit PNGs that stbi_write_png cannot write.
extern "C" unsigned char* stbi_zlib_compress(unsigned char* data, int data_len, int* out_len,
                                             int quality);

namespace fcnrt {

namespace {

void check_size(int64_t w, int64_t h, const std::string& name) {
    if (w <= 0 || h <= 0)
        throw Error(name, "", "the image has no pixels (" + std::to_string(w) + "x" +
                                  std::to_string(h) + ")");
    if (w > kMaxImageSide || h > kMaxImageSide || w * h > kMaxImagePixels)
        throw Error(name, "",
                    "the header says " + std::to_string(w) + "x" + std::to_string(h) +
                        " pixels, beyond the limit of " + std::to_string(kMaxImageSide) +
                        " per side and 2^30 in all (a corrupt header?)");
}

// stb_image refuses some PNG headers itself (more than 2^30 bytes decoded)
// and then reports only "unknown image type"; read such a header's size here
// so that the message says what is wrong.
void check_png_header_size(const std::string& bytes, const std::string& name) {
    static const char kSignature[] = "\x89PNG\r\n\x1a\n";
    if (bytes.size() < 24 || bytes.compare(0, 8, kSignature, 8) != 0 ||
        bytes.compare(12, 4, "IHDR") != 0)
        return;
    auto be32 = [&](size_t at) {
        uint32_t v = 0;
        for (size_t i = 0; i < 4; ++i) v = (v << 8) | uint8_t(bytes[at + i]);
        return int64_t(v);
    };
    check_size(be32(16), be32(20), name);
}

// A header claims its size; the data must be able to hold it. Deflate
// expands at most about 1032:1, so a streamed PNG's filtered rows are at most
// 1032 times the file; the formats stb_image reads (BMP, TGA, other PNGs)
// expand less than 1-bit palette PNGs (8 pixels per inflated byte), so their
// pixels are at most 8 * 1032 per file byte. Refusing here, before any allocation, keeps a
// 49-byte file from claiming gigabytes.
constexpr int64_t kDeflateRatio = 1032;

void check_plausible(int64_t needed, int64_t file_size, const ImageInfo& info, const std::string& name) {
    if (file_size > 0 && needed / kDeflateRatio <= file_size) return;
    throw Error(name, "",
                "the header says " + std::to_string(info.width) + "x" + std::to_string(info.height) +
                    " pixels, more than the file's " + std::to_string(file_size) +
                    " bytes can hold (truncated, or a corrupt header?)");
}

int64_t png_row_bytes(const ImageInfo& info) {  // inflated size: filter byte plus samples
    return (info.width * info.channels * (info.bit_depth / 8) + 1) * info.height;
}

void check_jpeg(const ImageInfo& info, size_t, const std::string& name) {
    check_size(info.width, info.height, name);
}

// stb_image reads through these callbacks so that a decoder asking for bytes
// past the end of the data is noticed: stb itself pads with zeros, which turns
// a truncated RLE TGA into a complete-looking image.
struct StbSource {
    const unsigned char* data;
    size_t size, pos = 0;
    bool overrun = false;
    StbSource(const std::string& bytes)
        : data(reinterpret_cast<const unsigned char*>(bytes.data())), size(bytes.size()) {}

    static int read(void* user, char* out, int n) {
        auto* s = static_cast<StbSource*>(user);
        const size_t take = std::min(size_t(n), s->size - s->pos);
        if (take == 0 && n > 0) s->overrun = true;
        std::memcpy(out, s->data + s->pos, take);
        s->pos += take;
        return int(take);
    }
    static void skip(void* user, int n) {
        auto* s = static_cast<StbSource*>(user);
        const int64_t to = int64_t(s->pos) + int64_t(n);  // n < 0 steps back ("unget")
        if (to > int64_t(s->size)) {
            s->overrun = true;
            s->pos = s->size;
        } else {
            s->pos = size_t(std::max<int64_t>(to, 0));
        }
    }
    static int eof(void* user) {
        auto* s = static_cast<StbSource*>(user);
        return s->pos >= s->size;
    }
    stbi_io_callbacks callbacks() const { return {read, skip, eof}; }
    void rewind() {
        pos = 0;
        overrun = false;
    }
};

const unsigned char* as_bytes(const std::string& bytes) {
    return reinterpret_cast<const unsigned char*>(bytes.data());
}

// The PNGs stb_image reads (palette, 1/2/4-bit, interlaced): every chunk
// must lie inside the file and IEND must come. stb grows its buffer of image
// data to a chunk's claimed length before reading it, so one chunk claiming
// 1.2 GB in a 76-byte file allocated 2 GiB (found by fuzz_image).
void check_png_chunks(const std::string& bytes, const std::string& name) {
    static const char kSignature[] = "\x89PNG\r\n\x1a\n";
    if (bytes.size() < 8 || bytes.compare(0, 8, kSignature, 8) != 0) return;
    size_t pos = 8;
    while (pos + 12 <= bytes.size()) {
        uint32_t length = 0;
        for (size_t i = 0; i < 4; ++i) length = (length << 8) | uint8_t(bytes[pos + i]);
        if (length > bytes.size() - pos - 12)
            throw Error(name, "", "cannot decode the image (truncated or corrupt?): a PNG chunk claims " +
                                      std::to_string(length) + " bytes, beyond the end of the file");
        if (bytes.compare(pos + 4, 4, "IEND") == 0) return;
        pos += 12 + size_t(length);
    }
    throw Error(name, "", "cannot decode the image (truncated or corrupt?): the PNG ends before IEND");
}

ImageInfo info_from_bytes(const std::string& bytes, const std::string& name) {
    if (bytes.empty()) throw Error(name, "", "the file is empty");
    if (bytes.size() > size_t(INT_MAX))
        throw Error(name, "", "the file is larger than 2 GiB, more than the image reader takes");
    ImageInfo info;
    if (png_stream_header(as_bytes(bytes), bytes.size(), &info)) {
        check_size(info.width, info.height, name);
        check_plausible(png_row_bytes(info), int64_t(bytes.size()), info, name);
        return info;
    }
    if (looks_like_jpeg(as_bytes(bytes), bytes.size())) {
        info = read_jpeg_info(as_bytes(bytes), bytes.size(), name);
        check_jpeg(info, bytes.size(), name);
        return info;
    }
    if (looks_like_tiff(as_bytes(bytes), bytes.size()))
        return TiffReader(as_bytes(bytes), bytes.size(), name).info(0);
    if (looks_like_pnm(as_bytes(bytes), bytes.size())) return read_pnm_info(as_bytes(bytes), bytes.size(), name);
    StbSource source(bytes);
    const stbi_io_callbacks io = source.callbacks();
    int w = 0, h = 0, c = 0;
    if (!stbi_info_from_callbacks(&io, &source, &w, &h, &c)) {
        check_png_header_size(bytes, name);
        const char* why = stbi_failure_reason();
        throw Error(name, "",
                    std::string("not a readable image (PNG, JPEG, TIFF, BMP, TGA or PNM)") +
                        (why ? std::string(": ") + why : std::string()));
    }
    check_png_chunks(bytes, name);  // before stb's decoder allocates from a chunk's length
    source.rewind();
    info.width = w;
    info.height = h;
    info.channels = c;
    info.bit_depth = stbi_is_16_bit_from_callbacks(&io, &source) ? 16 : 8;
    check_size(info.width, info.height, name);
    if (c < 1 || c > 4)
        throw Error(name, "", "unsupported channel count " + std::to_string(c));
    check_plausible(info.width * info.height / 8, int64_t(bytes.size()), info, name);
    return info;
}

// PNG chunk CRC (ISO 3309 / ITU-T V.42 polynomial), as the PNG spec defines it.
uint32_t png_crc(const unsigned char* data, size_t n, uint32_t crc = 0xffffffffu) {
    static const auto table = [] {
        std::vector<uint32_t> t(256);
        for (uint32_t i = 0; i < 256; ++i) {
            uint32_t c = i;
            for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        return t;
    }();
    for (size_t i = 0; i < n; ++i) crc = table[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
    return crc;
}

void put_be32(std::string& out, uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(char((v >> s) & 0xff));
}

void put_chunk(std::string& out, const char type[4], const std::string& payload) {
    put_be32(out, uint32_t(payload.size()));
    const size_t start = out.size();
    out.append(type, 4);
    out += payload;
    const uint32_t crc =
        png_crc(reinterpret_cast<const unsigned char*>(out.data() + start), out.size() - start) ^
        0xffffffffu;
    put_be32(out, crc);
}

void check_encodable(int64_t width, int64_t height, int channels, int bytes_per_sample) {
    if (width < 1 || height < 1 || channels < 1 || channels > 4)
        throw Error("cannot encode a PNG of " + std::to_string(width) + "x" +
                    std::to_string(height) + "x" + std::to_string(channels));
    // stb_image_write indexes with int: the filtered rows must fit.
    if ((width * channels * bytes_per_sample + 1) * height > int64_t(INT_MAX))
        throw Error("cannot encode a PNG of " + std::to_string(width) + "x" +
                    std::to_string(height) + ": more than 2 GiB of pixel data");
}

}  // namespace

Image::Image(ImageInfo info, std::shared_ptr<const void> samples)
    : info_(info), samples_(std::move(samples)) {}

Image Image::blank(ImageInfo info) {
    const size_t bytes =
        size_t(info.width) * size_t(info.height) * size_t(info.channels) * (info.bit_depth == 16 ? 2 : 1);
    void* p = std::calloc(std::max<size_t>(bytes, 1), 1);
    if (!p) throw Error("out of memory for a " + std::to_string(info.width) + "x" +
                        std::to_string(info.height) + " image");
    return Image(info, std::shared_ptr<const void>(p, [](const void* q) { std::free(const_cast<void*>(q)); }));
}

// Every file is opened as an InputFile (regular files only, read up to their
// fstat size). PNGs that png_stream decodes are read from their header and
// inflated row by row: a whole-file copy and stb_image's whole inflated
// stream would double or triple the memory of a huge image's samples.
namespace {

// The first bytes of a file: enough for png_stream_header and the signatures.
struct Head {
    unsigned char bytes[kPngHeaderBytes];
    size_t size = 0;
    int64_t file_size = 0;
    explicit Head(InputFile& file) : size(file.read(bytes, sizeof bytes)), file_size(file.size()) {}
};

void check_only_page(int64_t page, const std::string& path) {
    if (page != 0) throw Error(path, "", "has no page " + std::to_string(page) + " (only TIFFs have pages)");
}

}  // namespace

ImageInfo read_image_info(const std::string& path, int64_t page) {
    ImageInfo info;
    {
        InputFile file(path);
        const Head head(file);
        if (looks_like_tiff(head.bytes, head.size)) return TiffReader(path).info(page);
        check_only_page(page, path);
        if (png_stream_header(head.bytes, head.size, &info)) {
            check_size(info.width, info.height, path);
            check_plausible(png_row_bytes(info), head.file_size, info, path);
            return info;
        }
    }
    return info_from_bytes(read_file_bytes(path), path);
}

int64_t read_image_pages(const std::string& path) {
    InputFile file(path);
    const Head head(file);
    return looks_like_tiff(head.bytes, head.size) ? TiffReader(path).pages() : 1;
}

Image read_image(const std::string& path, int64_t page) {
    ImageInfo info;
    {
        InputFile file(path);
        const Head head(file);
        if (looks_like_tiff(head.bytes, head.size)) return TiffReader(path).read(page);
        check_only_page(page, path);
        if (png_stream_header(head.bytes, head.size, &info)) {
            check_size(info.width, info.height, path);
            check_plausible(png_row_bytes(info), head.file_size, info, path);
            // Never past the size fstat reported, even if the file grows.
            int64_t left = head.file_size - int64_t(head.size);
            auto read = [&](void* out, size_t n) {
                const size_t take = std::min<size_t>(n, size_t(std::max<int64_t>(left, 0)));
                const size_t done = file.read(out, take);
                left -= int64_t(done);
                return done;
            };
            return read_png_stream(read, info, path);
        }
    }
    return decode_image(read_file_bytes(path), path);
}

ImageInfo probe_image(const std::string& bytes, const std::string& name) {
    return info_from_bytes(bytes, name);
}

Image decode_image(const std::string& bytes, const std::string& name) {
    const ImageInfo info = info_from_bytes(bytes, name);
    ImageInfo png;
    if (png_stream_header(as_bytes(bytes), bytes.size(), &png)) {
        size_t pos = kPngHeaderBytes;
        auto read = [&](void* out, size_t n) {
            const size_t take = std::min(n, bytes.size() - pos);
            std::memcpy(out, bytes.data() + pos, take);
            pos += take;
            return take;
        };
        return read_png_stream(read, info, name);
    }
    if (looks_like_jpeg(as_bytes(bytes), bytes.size()))
        return decode_jpeg(as_bytes(bytes), bytes.size(), name, check_jpeg);
    if (looks_like_tiff(as_bytes(bytes), bytes.size()))
        return TiffReader(as_bytes(bytes), bytes.size(), name).read(0);
    if (looks_like_pnm(as_bytes(bytes), bytes.size())) return decode_pnm(as_bytes(bytes), bytes.size(), name);
    return decode_with_stb(bytes, name);
}

Image decode_with_stb(const std::string& bytes, const std::string& name) {
    const ImageInfo info = info_from_bytes(bytes, name);
    StbSource source(bytes);
    const stbi_io_callbacks io = source.callbacks();
    int w = 0, h = 0, c = 0;
    void* data = info.bit_depth == 16
                     ? static_cast<void*>(stbi_load_16_from_callbacks(&io, &source, &w, &h, &c, 0))
                     : static_cast<void*>(stbi_load_from_callbacks(&io, &source, &w, &h, &c, 0));
    if (!data) {
        const char* why = stbi_failure_reason();
        throw Error(name, "", std::string("cannot decode the image (truncated or corrupt?): ") +
                                  (why ? why : "unknown reason"));
    }
    std::shared_ptr<const void> samples(data, [](const void* p) { stbi_image_free(const_cast<void*>(p)); });
    if (source.overrun)
        throw Error(name, "", "cannot decode the image (truncated or corrupt?): the data ends early");
    if (w != info.width || h != info.height || c != info.channels)
        throw Error(name, "", "the decoded image does not match its header");
    return Image(info, std::move(samples));
}

std::string encode_png(const uint8_t* pixels, int64_t width, int64_t height, int channels) {
    check_encodable(width, height, channels, 1);
    std::string out;
    auto append = [](void* context, void* data, int size) {
        static_cast<std::string*>(context)->append(static_cast<const char*>(data), size_t(size));
    };
    if (!stbi_write_png_to_func(append, &out, int(width), int(height), channels, pixels,
                                int(width * channels)))
        throw Error("stb_image_write could not encode a " + std::to_string(width) + "x" +
                    std::to_string(height) + " PNG (out of memory?)");
    return out;
}

std::string encode_png16(const uint16_t* pixels, int64_t width, int64_t height, int channels) {
    check_encodable(width, height, channels, 2);
    // Filter type 0 (none) per row, samples big-endian as PNG stores them.
    const size_t row = size_t(width) * size_t(channels) * 2 + 1;
    std::vector<unsigned char> raw(row * size_t(height));
    for (int64_t y = 0; y < height; ++y) {
        unsigned char* r = raw.data() + size_t(y) * row;
        r[0] = 0;
        for (int64_t i = 0; i < width * channels; ++i) {
            const uint16_t v = pixels[size_t(y) * size_t(width * channels) + size_t(i)];
            r[1 + 2 * i] = uint8_t(v >> 8);
            r[2 + 2 * i] = uint8_t(v & 0xff);
        }
    }
    int zlen = 0;
    unsigned char* z = stbi_zlib_compress(raw.data(), int(raw.size()), &zlen, 8);
    if (!z) throw Error("stb_image_write could not compress a 16-bit PNG");
    const std::string idat(reinterpret_cast<const char*>(z), size_t(zlen));
    std::free(z);

    static const char kColourType[5] = {0, 0, 4, 2, 6};  // gray, gray+alpha, RGB, RGBA
    std::string ihdr;
    put_be32(ihdr, uint32_t(width));
    put_be32(ihdr, uint32_t(height));
    ihdr += char(16);                   // bit depth
    ihdr += kColourType[channels];
    ihdr += std::string(3, '\0');       // compression, filter, interlace
    std::string out("\x89PNG\r\n\x1a\n", 8);
    put_chunk(out, "IHDR", ihdr);
    put_chunk(out, "IDAT", idat);
    put_chunk(out, "IEND", "");
    return out;
}

}  // namespace fcnrt
