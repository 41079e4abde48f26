#include "engine/image/png_stream.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "engine/error.h"
#include "engine/image/sample_buffer.h"
#include "engine/io/file_util.h"

namespace fcnrt {

namespace {

const unsigned char kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

// IDAT chunks of this many compressed bytes: large enough that chunk overhead
// (12 bytes) is nothing, small enough to be the encoder's only output buffer.
constexpr size_t kIdatBytes = size_t(1) << 18;

void put_be32(unsigned char* p, uint32_t v) {
    p[0] = uint8_t(v >> 24);
    p[1] = uint8_t(v >> 16);
    p[2] = uint8_t(v >> 8);
    p[3] = uint8_t(v);
}

uint32_t get_be32(const unsigned char* p) {
    return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

void put_chunk(const ByteSink& sink, const char type[4], const unsigned char* data, size_t size) {
    unsigned char head[8];
    put_be32(head, uint32_t(size));
    std::memcpy(head + 4, type, 4);
    uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(type), 4);
    if (size > 0) crc = crc32(crc, data, uInt(size));
    unsigned char tail[4];
    put_be32(tail, uint32_t(crc));
    sink(head, 8);
    if (size > 0) sink(data, size);
    sink(tail, 4);
}

int paeth(int a, int b, int c) {
    const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

// Writes the five filtered forms of `cur` (previous row `prev`, `bpp` bytes
// per pixel) into `cand` [5][1 + n] and returns the index of the one with the
// smallest sum of absolute (signed) byte values.
int choose_filter(const uint8_t* cur, const uint8_t* prev, size_t n, size_t bpp, uint8_t* cand) {
    uint64_t best_sum = UINT64_MAX;
    int best = 0;
    for (int f = 0; f < 5; ++f) {
        uint8_t* out = cand + size_t(f) * (n + 1);
        out[0] = uint8_t(f);
        uint8_t* d = out + 1;
        switch (f) {
            case 0: std::memcpy(d, cur, n); break;
            case 1:
                for (size_t i = 0; i < n; ++i)
                    d[i] = uint8_t(cur[i] - (i >= bpp ? cur[i - bpp] : 0));
                break;
            case 2:
                for (size_t i = 0; i < n; ++i) d[i] = uint8_t(cur[i] - prev[i]);
                break;
            case 3:
                for (size_t i = 0; i < n; ++i)
                    d[i] =
                        uint8_t(cur[i] - ((int(i >= bpp ? cur[i - bpp] : 0) + int(prev[i])) >> 1));
                break;
            default:
                for (size_t i = 0; i < n; ++i)
                    d[i] = uint8_t(cur[i] - paeth(i >= bpp ? cur[i - bpp] : 0, prev[i],
                                                  i >= bpp ? prev[i - bpp] : 0));
        }
        uint64_t sum = 0;
        for (size_t i = 0; i < n; ++i) sum += uint64_t(std::abs(int(int8_t(d[i]))));
        if (sum < best_sum) {
            best_sum = sum;
            best = f;
        }
    }
    return best;
}

struct DeflateStream {
    z_stream z{};
    explicit DeflateStream(int level) {
        if (deflateInit(&z, level) != Z_OK) throw Error("zlib: cannot start a deflate stream");
    }
    ~DeflateStream() { deflateEnd(&z); }
};

struct InflateStream {
    z_stream z{};
    InflateStream() {
        if (inflateInit(&z) != Z_OK) throw Error("zlib: cannot start an inflate stream");
    }
    ~InflateStream() { inflateEnd(&z); }
};

}  // namespace

void encode_png_rows(int64_t width, int64_t height, int channels, const PngRowSource& rows,
                     const ByteSink& sink, int level) {
    if (width < 1 || height < 1 || channels < 1 || channels > 4 || width > INT32_MAX ||
        height > INT32_MAX || width * channels > INT32_MAX)
        throw Error("cannot encode a PNG of " + std::to_string(width) + "x" +
                    std::to_string(height) + "x" + std::to_string(channels));
    if (level < 0 || level > 9)
        throw Error("zlib level " + std::to_string(level) + " is not in 0..9");
    sink(kSignature, 8);
    static const unsigned char kColourType[5] = {0, 0, 4, 2, 6};  // gray, gray+alpha, RGB, RGBA
    unsigned char ihdr[13] = {};
    put_be32(ihdr, uint32_t(width));
    put_be32(ihdr + 4, uint32_t(height));
    ihdr[8] = 8;  // bit depth; compression, filter and interlace stay 0
    ihdr[9] = kColourType[channels];
    put_chunk(sink, "IHDR", ihdr, sizeof ihdr);

    const size_t n = size_t(width) * size_t(channels);
    std::vector<uint8_t> prev(n, 0), cur(n), cand(5 * (n + 1));
    std::vector<unsigned char> out(kIdatBytes);
    DeflateStream ds(level);
    z_stream& z = ds.z;
    z.next_out = out.data();
    z.avail_out = uInt(out.size());
    // Feeds `size` bytes (or finishes the stream), emitting a chunk whenever the buffer is full.
    auto pump = [&](const uint8_t* data, size_t size, int flush) {
        z.next_in = const_cast<Bytef*>(data);
        z.avail_in = uInt(size);
        for (;;) {
            const int ret = deflate(&z, flush);
            if (ret == Z_STREAM_ERROR) throw Error("zlib: deflate failed");
            if (z.avail_out == 0) {
                put_chunk(sink, "IDAT", out.data(), out.size());
                z.next_out = out.data();
                z.avail_out = uInt(out.size());
                continue;
            }
            if (flush == Z_FINISH ? ret == Z_STREAM_END : z.avail_in == 0) break;
        }
    };
    for (int64_t y = 0; y < height; ++y) {
        rows(y, cur.data());
        const int f = choose_filter(cur.data(), prev.data(), n, size_t(channels), cand.data());
        pump(cand.data() + size_t(f) * (n + 1), n + 1, Z_NO_FLUSH);
        prev.swap(cur);
    }
    pump(nullptr, 0, Z_FINISH);
    const size_t left = out.size() - z.avail_out;
    if (left > 0) put_chunk(sink, "IDAT", out.data(), left);
    put_chunk(sink, "IEND", nullptr, 0);
}

std::string encode_png_rows(int64_t width, int64_t height, int channels, const PngRowSource& rows,
                            int level) {
    std::string out;
    encode_png_rows(
        width, height, channels, rows,
        [&](const void* data, size_t size) { out.append(static_cast<const char*>(data), size); },
        level);
    return out;
}

bool png_stream_header(const unsigned char* h, size_t n, ImageInfo* info, bool palette_indices) {
    if (n < kPngHeaderBytes) return false;
    if (std::memcmp(h, kSignature, 8) != 0 || get_be32(h + 8) != 13 ||
        std::memcmp(h + 12, "IHDR", 4) != 0)
        return false;
    const int depth = h[24], colour = h[25];
    if (h[26] != 0 || h[27] != 0 || h[28] != 0) return false;
    // Label maps (palette_indices) may also be 1-, 2- or 4-bit gray or palette
    // indices, or 8-bit palette indices; images are 8- or 16-bit.
    const bool low = depth == 1 || depth == 2 || depth == 4;
    if (low ? !(palette_indices && (colour == 0 || colour == 3))
            : (depth != 8 && depth != 16) || (colour == 3 && (!palette_indices || depth != 8)))
        return false;
    // By colour type; 3 (palette) as one channel of indices.
    static const int kChannels[7] = {1, 0, 3, 1, 2, 0, 4};
    if (colour > 6 || kChannels[colour] == 0) return false;
    info->width = get_be32(h + 16);
    info->height = get_be32(h + 20);
    info->channels = kChannels[colour];
    info->bit_depth = depth;
    return true;
}

bool png_stream_header(const std::string& path, ImageInfo* info, bool palette_indices) {
    InputFile file(path);
    unsigned char h[kPngHeaderBytes];
    return png_stream_header(h, file.read(h, sizeof h), info, palette_indices);
}

struct PngRowReader::State {
    std::string name;
    ImageInfo info;
    std::shared_ptr<InputFile> file;  // the path constructor's: `read` reads from it
    ByteReader read;
    InflateStream is;
    size_t bpp = 0, stride = 0;
    // One filtered row as inflated (filter byte first), and the row before it unfiltered.
    std::vector<uint8_t> row, prev, in;
    size_t filled = 0;
    int64_t y = 0;
    uint32_t chunk_left = 0;  // compressed bytes of the current IDAT not yet read
    bool in_idat = false, stream_end = false, seen_iend = false;

    Error corrupt(const std::string& why) const {
        return Error(name, "", "cannot decode the image (truncated or corrupt?): " + why);
    }

    // Skips `n` bytes by reading them: the reader only goes forward.
    void skip(size_t n) {
        while (n > 0) {
            const size_t take = std::min(n, in.size());
            if (read(in.data(), take) != take) throw corrupt("the file ends inside a chunk");
            n -= take;
        }
    }

    // Moves to the next IDAT chunk (skipping the CRC of the current one and any
    // other chunk). False at IEND.
    bool next_idat() {
        if (in_idat) skip(4);  // the CRC, not checked, as by stb_image
        in_idat = false;
        for (;;) {
            unsigned char head[8];
            if (read(head, 8) != 8) throw corrupt("the file ends before IEND");
            const uint32_t length = get_be32(head);
            if (length > 0x7fffffffu) throw corrupt("a chunk length beyond 2^31");
            if (std::memcmp(head + 4, "IEND", 4) == 0) {
                seen_iend = true;
                return false;
            }
            if (std::memcmp(head + 4, "IDAT", 4) == 0) {
                chunk_left = length;
                in_idat = true;
                return true;
            }
            skip(size_t(length) + 4);  // ancillary chunks (and PLTE) are not needed
        }
    }

    void start(const ImageInfo& i) {
        info = i;
        // Filters work on whole bytes: a pixel of fewer than 8 bits counts as 1.
        bpp = i.bit_depth < 8 ? 1 : size_t(i.channels) * size_t(i.bit_depth / 8);
        stride = (size_t(i.width) * size_t(i.channels) * size_t(i.bit_depth) + 7) / 8;
        row.resize(stride + 1);
        prev.assign(stride, 0);
        in.resize(size_t(1) << 16);
    }

    void unfilter() {
        uint8_t* d = row.data() + 1;
        const uint8_t* b = prev.data();
        switch (row[0]) {
            case 0: break;
            case 1:
                for (size_t i = bpp; i < stride; ++i) d[i] = uint8_t(d[i] + d[i - bpp]);
                break;
            case 2:
                for (size_t i = 0; i < stride; ++i) d[i] = uint8_t(d[i] + b[i]);
                break;
            case 3:
                for (size_t i = 0; i < stride; ++i)
                    d[i] = uint8_t(d[i] + ((int(i >= bpp ? d[i - bpp] : 0) + int(b[i])) >> 1));
                break;
            case 4:
                for (size_t i = 0; i < stride; ++i)
                    d[i] = uint8_t(
                        d[i] + paeth(i >= bpp ? d[i - bpp] : 0, b[i], i >= bpp ? b[i - bpp] : 0));
                break;
            default:
                throw corrupt("row " + std::to_string(y) + " has unknown filter type " +
                              std::to_string(row[0]));
        }
        std::memcpy(prev.data(), d, stride);
    }
};

PngRowReader::PngRowReader(ByteReader read, const ImageInfo& info, const std::string& name)
    : s_(std::make_unique<State>()) {
    s_->name = name;
    s_->read = std::move(read);
    s_->start(info);
}

PngRowReader::PngRowReader(const std::string& path, const ImageInfo& info)
    : s_(std::make_unique<State>()) {
    State& s = *s_;
    s.name = path;
    s.file = std::make_shared<InputFile>(path);
    unsigned char head[kPngHeaderBytes];
    if (s.file->read(head, sizeof head) != sizeof head) throw s.corrupt("the file ends in its header");
    std::shared_ptr<InputFile> file = s.file;
    s.read = [file](void* out, size_t n) { return file->read(out, n); };
    s.start(info);
}

PngRowReader::~PngRowReader() = default;

const ImageInfo& PngRowReader::info() const { return s_->info; }

const uint8_t* PngRowReader::next_row() {
    State& s = *s_;
    if (s.y >= s.info.height) throw Error(s.name, "", "internal: read past the last row");
    z_stream& z = s.is.z;
    auto ended = [&] {
        return s.corrupt("the image data ends after " + std::to_string(s.y) + " of " +
                         std::to_string(s.info.height) + " rows");
    };
    while (s.filled < s.row.size()) {
        if (s.stream_end) throw ended();
        // Inflate first, even without new input: zlib may hold output it has
        // already read the input for (a match longer than the last row's room).
        z.next_out = s.row.data() + s.filled;
        z.avail_out = uInt(s.row.size() - s.filled);
        const int ret = inflate(&z, Z_NO_FLUSH);
        if (ret != Z_OK && ret != Z_STREAM_END && ret != Z_BUF_ERROR)
            throw s.corrupt(std::string("zlib: ") + (z.msg ? z.msg : "inflate failed"));
        s.filled = s.row.size() - z.avail_out;
        if (ret == Z_STREAM_END) s.stream_end = true;
        if (s.filled < s.row.size() && !s.stream_end && z.avail_in == 0) {
            while (s.chunk_left == 0)
                if (!s.next_idat()) throw ended();
            const size_t take = std::min<size_t>(s.chunk_left, s.in.size());
            if (s.read(s.in.data(), take) != take) throw s.corrupt("the file ends inside image data");
            s.chunk_left -= uint32_t(take);
            z.next_in = s.in.data();
            z.avail_in = uInt(take);
        }
    }
    s.unfilter();
    ++s.y;
    s.filled = 0;
    return s.row.data() + 1;
}

void PngRowReader::finish() {
    State& s = *s_;
    if (s.seen_iend) return;
    // The rest of the current IDAT, then every chunk up to IEND.
    s.skip(s.chunk_left);
    s.chunk_left = 0;
    while (s.next_idat()) {
        s.skip(s.chunk_left);
        s.chunk_left = 0;
    }
}

Image read_png_stream(const ByteReader& read, const ImageInfo& info, const std::string& name) {
    PngRowReader reader(read, info, name);
    const size_t sample_bytes = info.bit_depth == 16 ? 2 : 1;
    const size_t stride = size_t(info.width) * size_t(info.channels) * sample_bytes;
    SampleBuffer samples(stride, size_t(info.height));
    for (int64_t y = 0; y < info.height; ++y) {
        const uint8_t* d = reader.next_row();
        uint8_t* dst = samples.row(size_t(y));
        if (sample_bytes == 1) {
            std::memcpy(dst, d, stride);
        } else {
            // 16-bit samples are stored big-endian; Image holds native uint16_t.
            auto* dst16 = reinterpret_cast<uint16_t*>(dst);
            for (size_t i = 0; i < stride / 2; ++i)
                dst16[i] = uint16_t((d[2 * i] << 8) | d[2 * i + 1]);
        }
    }
    reader.finish();
    return Image(info, samples.release());
}

}  // namespace fcnrt
