#include "engine/image/tiff_io.h"

#include <tiffio.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <vector>

#include "engine/error.h"
#include "engine/image/sample_buffer.h"
#include "engine/io/file_util.h"
#include "engine/io/pending_file.h"

namespace fcnrt {

namespace {

// LZW, the most expansive codec libtiff decodes here, emits at most 4096
// bytes per 12-bit code: decoded bytes are at most 4096 times the file.
constexpr int64_t kMaxTiffExpansion = 4096;
// libtiff's largest single allocation: this plus the file's size (a strip's
// compressed bytes can be as large as the file).
constexpr int64_t kTiffAllocBase = int64_t(256) << 20;
// One row of tiles is decoded at a time; a tile larger than this is refused.
constexpr int64_t kMaxTileBytes = int64_t(64) << 20;
constexpr int64_t kMaxPages = int64_t(1) << 20;

// The source libtiff reads through: a file read with pread, or bytes in memory.
struct Source {
    int fd = -1;
    const unsigned char* mem = nullptr;
    uint64_t size = 0, pos = 0;
};

tmsize_t source_read(thandle_t h, void* out, tmsize_t n) {
    auto* s = static_cast<Source*>(h);
    if (n <= 0 || s->pos >= s->size) return 0;
    size_t want = size_t(std::min<uint64_t>(uint64_t(n), s->size - s->pos));
    if (s->mem) {
        std::memcpy(out, s->mem + s->pos, want);
    } else {
        size_t done = 0;
        while (done < want) {
            const ssize_t got = ::pread(s->fd, static_cast<char*>(out) + done, want - done,
                                        off_t(s->pos + done));
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) break;
            done += size_t(got);
        }
        want = done;
    }
    s->pos += want;
    return tmsize_t(want);
}
tmsize_t source_write(thandle_t, void*, tmsize_t) { return -1; }
toff_t source_seek(thandle_t h, toff_t off, int whence) {
    auto* s = static_cast<Source*>(h);
    uint64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? s->pos : s->size;
    s->pos = base + off;
    return s->pos;
}
int source_close(thandle_t) { return 0; }
toff_t source_size(thandle_t h) { return static_cast<Source*>(h)->size; }
int no_map(thandle_t, void**, toff_t*) { return 0; }
void no_unmap(thandle_t, void*, toff_t) {}

// libtiff's first error message for this handle (later ones are consequences).
struct Messages {
    std::string first_error;
};
int on_tiff_error(TIFF*, void* user, const char* module, const char* fmt, va_list ap) {
    auto* m = static_cast<Messages*>(user);
    if (m->first_error.empty()) {
        char text[512];
        std::vsnprintf(text, sizeof text, fmt, ap);
        m->first_error = text;
        (void)module;
    }
    return 1;  // handled: nothing on stderr
}
int on_tiff_warning(TIFF*, void*, const char*, const char*, va_list) { return 1; }

}  // namespace

bool looks_like_tiff(const unsigned char* d, size_t n) {
    if (n < 4) return false;
    return (d[0] == 'I' && d[1] == 'I' && (d[2] == 42 || d[2] == 43) && d[3] == 0) ||
           (d[0] == 'M' && d[1] == 'M' && d[2] == 0 && (d[3] == 42 || d[3] == 43));
}

struct TiffReader::State {
    std::string name;
    std::unique_ptr<InputFile> file;
    Source source;
    Messages messages;
    TIFF* tif = nullptr;
    int64_t pages = -1;

    Error fail(const std::string& what) {
        std::string reason = what;
        if (!messages.first_error.empty()) reason += ": " + messages.first_error;
        messages.first_error.clear();
        return Error(name, "", reason);
    }
    void open() {
        TIFFOpenOptions* opts = TIFFOpenOptionsAlloc();
        TIFFOpenOptionsSetMaxSingleMemAlloc(opts, tmsize_t(kTiffAllocBase + int64_t(source.size)));
        TIFFOpenOptionsSetErrorHandlerExtR(opts, on_tiff_error, &messages);
        TIFFOpenOptionsSetWarningHandlerExtR(opts, on_tiff_warning, &messages);
        // "rm": no memory mapping (reads stay within the checked size).
        tif = TIFFClientOpenExt(name.c_str(), "rm", &source, source_read, source_write, source_seek,
                                source_close, source_size, no_map, no_unmap, opts);
        TIFFOpenOptionsFree(opts);
        if (!tif) throw fail("not a readable TIFF");
    }
    void select(int64_t page) {
        if (page < 0 || page >= pages_count())
            throw Error(name, "", "has no page " + std::to_string(page));
        if (TIFFCurrentDirectory(tif) != tdir_t(page) && !TIFFSetDirectory(tif, tdir_t(page)))
            throw fail("cannot read page " + std::to_string(page));
    }
    int64_t pages_count() {
        if (pages < 0) {
            const tdir_t n = TIFFNumberOfDirectories(tif);
            pages = std::min<int64_t>(int64_t(n), kMaxPages);
            if (pages < 1) throw fail("holds no image");
        }
        return pages;
    }
};

TiffReader::TiffReader(const std::string& path) : state_(std::make_unique<State>()) {
    state_->name = path;
    state_->file = std::make_unique<InputFile>(path);
    state_->source.fd = state_->file->fd();
    state_->source.size = uint64_t(state_->file->size());
    state_->open();
}

TiffReader::TiffReader(const unsigned char* data, size_t size, const std::string& name)
    : state_(std::make_unique<State>()) {
    state_->name = name;
    state_->source.mem = data;
    state_->source.size = size;
    state_->open();
}

TiffReader::~TiffReader() {
    if (state_ && state_->tif) TIFFClose(state_->tif);
}

int64_t TiffReader::pages() { return state_->pages_count(); }

ImageInfo TiffReader::info(int64_t page) {
    State& s = *state_;
    s.select(page);
    TIFF* tif = s.tif;
    uint32_t w = 0, h = 0;
    uint16_t spp = 1, bps = 1, format = SAMPLEFORMAT_UINT, photometric = 0,
             planar = PLANARCONFIG_CONTIG, compression = COMPRESSION_NONE;
    if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w) || !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h))
        throw s.fail("page " + std::to_string(page) + " has no size");
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bps);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &format);
    TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &planar);
    TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &compression);
    if (!TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photometric))
        photometric = spp >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK;
    const std::string where = "page " + std::to_string(page) + ": ";
    if (bps != 8 && bps != 16)
        throw Error(s.name, "", where + std::to_string(bps) + "-bit samples (8 and 16 are read)");
    if (format != SAMPLEFORMAT_UINT)
        throw Error(s.name, "", where + "signed or floating-point samples (unsigned integers are read)");
    if (spp < 1 || spp > 4)
        throw Error(s.name, "", where + std::to_string(spp) + " samples per pixel (1 to 4 are read)");
    const bool grey = photometric == PHOTOMETRIC_MINISBLACK || photometric == PHOTOMETRIC_MINISWHITE;
    if (!(grey && spp <= 2) && !(photometric == PHOTOMETRIC_RGB && spp >= 3))
        throw Error(s.name, "", where + "photometric interpretation " + std::to_string(photometric) +
                                    " with " + std::to_string(spp) +
                                    " samples (greyscale and RGB are read)");
    if (planar != PLANARCONFIG_CONTIG && spp > 1)
        throw Error(s.name, "", where + "separate colour planes (interleaved samples are read)");
    if (!TIFFIsCODECConfigured(compression))
        throw Error(s.name, "", where + "compression " + std::to_string(compression) +
                                    ", which this libtiff does not decode");
    ImageInfo info;
    info.width = w;
    info.height = h;
    info.channels = spp;
    info.bit_depth = bps;
    if (w == 0 || h == 0 || int64_t(w) > kMaxImageSide || int64_t(h) > kMaxImageSide ||
        int64_t(w) * int64_t(h) > kMaxImagePixels)
        throw Error(s.name, "", where + "the header says " + std::to_string(w) + "x" + std::to_string(h) +
                                    " pixels, outside 1 to " + std::to_string(kMaxImageSide) +
                                    " per side and 2^30 in all");
    const int64_t bytes = int64_t(w) * int64_t(h) * spp * (bps / 8);
    if (bytes / kMaxTiffExpansion > int64_t(s.source.size))
        throw Error(s.name, "", where + "the header says " + std::to_string(w) + "x" + std::to_string(h) +
                                    " pixels, more than the file's " + std::to_string(s.source.size) +
                                    " bytes can hold (truncated, or a corrupt header?)");
    return info;
}

Image TiffReader::read(int64_t page) {
    const ImageInfo info = this->info(page);
    State& s = *state_;
    TIFF* tif = s.tif;
    const std::string where = "cannot decode page " + std::to_string(page) + " (truncated or corrupt?)";
    const size_t bpp = size_t(info.channels) * size_t(info.bit_depth / 8);
    const size_t row_bytes = size_t(info.width) * bpp;
    SampleBuffer samples(row_bytes, size_t(info.height));

    if (TIFFIsTiled(tif)) {
        uint32_t tw = 0, th = 0;
        if (!TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tw) || !TIFFGetField(tif, TIFFTAG_TILELENGTH, &th) ||
            tw == 0 || th == 0)
            throw s.fail(where);
        const int64_t tile_bytes = int64_t(tw) * int64_t(th) * int64_t(bpp);
        if (tile_bytes > kMaxTileBytes || int64_t(TIFFTileSize64(tif)) != tile_bytes)
            throw Error(s.name, "", "page " + std::to_string(page) + ": tiles of " + std::to_string(tw) +
                                        "x" + std::to_string(th) + " (at most 64 MiB each are read)");
        std::vector<unsigned char> tile(static_cast<size_t>(tile_bytes));
        for (uint32_t ty = 0; ty < uint32_t(info.height); ty += th) {
            const uint32_t rows = std::min<uint32_t>(th, uint32_t(info.height) - ty);
            samples.row(ty + rows - 1);  // room for this row of tiles
            for (uint32_t tx = 0; tx < uint32_t(info.width); tx += tw) {
                if (TIFFReadTile(tif, tile.data(), tx, ty, 0, 0) < 0) throw s.fail(where);
                const size_t cols = std::min<size_t>(tw, size_t(info.width) - tx);
                for (uint32_t r = 0; r < rows; ++r)
                    std::memcpy(samples.row(ty + r) + size_t(tx) * bpp, tile.data() + size_t(r) * tw * bpp,
                                cols * bpp);
            }
        }
    } else {
        if (int64_t(TIFFScanlineSize64(tif)) != int64_t(row_bytes)) throw s.fail(where);
        for (uint32_t y = 0; y < uint32_t(info.height); ++y)
            if (TIFFReadScanline(tif, samples.row(y), y, 0) < 0) throw s.fail(where);
    }

    uint16_t photometric = PHOTOMETRIC_MINISBLACK;
    TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photometric);
    if (photometric == PHOTOMETRIC_MINISWHITE) {  // grey channel only, not alpha
        for (size_t y = 0; y < size_t(info.height); ++y) {
            unsigned char* r = samples.row(y);
            for (size_t x = 0; x < size_t(info.width); ++x) {
                if (info.bit_depth == 8) {
                    r[x * bpp] = uint8_t(255 - r[x * bpp]);
                } else {
                    uint16_t v;
                    std::memcpy(&v, r + x * bpp, 2);
                    v = uint16_t(65535 - v);
                    std::memcpy(r + x * bpp, &v, 2);
                }
            }
        }
    }
    return Image(info, samples.release());
}

// ---- writing ----

namespace {

struct Sink {
    PendingFile* file;
    uint64_t pos = 0, size = 0;
};
tmsize_t sink_read(thandle_t h, void* out, tmsize_t n) {
    auto* s = static_cast<Sink*>(h);
    if (n <= 0 || s->pos >= s->size) return 0;
    const ssize_t got = ::pread(s->file->fd(), out, size_t(std::min<uint64_t>(uint64_t(n), s->size - s->pos)),
                                off_t(s->pos));
    if (got > 0) s->pos += uint64_t(got);
    return got < 0 ? -1 : tmsize_t(got);
}
tmsize_t sink_write(thandle_t h, void* data, tmsize_t n) {
    auto* s = static_cast<Sink*>(h);
    try {
        s->file->write_at(s->pos, data, size_t(n));
    } catch (const Error&) {
        return -1;
    }
    s->pos += uint64_t(n);
    s->size = std::max(s->size, s->pos);
    return n;
}
toff_t sink_seek(thandle_t h, toff_t off, int whence) {
    auto* s = static_cast<Sink*>(h);
    s->pos = (whence == SEEK_SET ? 0 : whence == SEEK_CUR ? s->pos : s->size) + off;
    return s->pos;
}
toff_t sink_size(thandle_t h) { return static_cast<Sink*>(h)->size; }

}  // namespace

struct TiffLabelWriter::State {
    std::unique_ptr<PendingFile> file;
    Sink sink;
    Messages messages;
    TIFF* tif = nullptr;
    int64_t width = 0, height = 0, row = 0;
    bool page_open = false;

    Error fail(const std::string& what) {
        std::string reason = what;
        if (!messages.first_error.empty()) reason += ": " + messages.first_error;
        return Error(file->path(), "", reason);
    }
    void end_page() {
        if (!page_open) return;
        page_open = false;
        if (row != height) throw Error(file->path(), "", "a TIFF page was left incomplete");
        if (!TIFFWriteDirectory(tif)) throw fail("cannot write a TIFF page");
    }
};

TiffLabelWriter::TiffLabelWriter(const std::string& path) : state_(std::make_unique<State>()) {
    State& s = *state_;
    s.file = std::make_unique<PendingFile>(path);
    s.sink.file = s.file.get();
    TIFFOpenOptions* opts = TIFFOpenOptionsAlloc();
    TIFFOpenOptionsSetErrorHandlerExtR(opts, on_tiff_error, &s.messages);
    TIFFOpenOptionsSetWarningHandlerExtR(opts, on_tiff_warning, &s.messages);
    // "w8": BigTIFF, so that a long stack of large pages never outgrows 4 GiB offsets.
    s.tif = TIFFClientOpenExt(path.c_str(), "w8", &s.sink, sink_read, sink_write, sink_seek, source_close,
                              sink_size, no_map, no_unmap, opts);
    TIFFOpenOptionsFree(opts);
    if (!s.tif) throw s.fail("cannot start a TIFF");
}

TiffLabelWriter::~TiffLabelWriter() {
    if (state_ && state_->tif) TIFFClose(state_->tif);  // the PendingFile then removes the temporary
}

void TiffLabelWriter::begin_page(int64_t width, int64_t height) {
    State& s = *state_;
    s.end_page();
    if (width < 1 || height < 1 || width > kMaxImageSide || height > kMaxImageSide)
        throw Error(s.file->path(), "", "cannot write a TIFF page of " + std::to_string(width) + "x" +
                                            std::to_string(height));
    TIFF* tif = s.tif;
    TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, uint32_t(width));
    TIFFSetField(tif, TIFFTAG_IMAGELENGTH, uint32_t(height));
    TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, uint16_t(1));
    TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, uint16_t(8));
    TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, uint16_t(PHOTOMETRIC_MINISBLACK));
    TIFFSetField(tif, TIFFTAG_PLANARCONFIG, uint16_t(PLANARCONFIG_CONTIG));
    TIFFSetField(tif, TIFFTAG_COMPRESSION, uint16_t(COMPRESSION_ADOBE_DEFLATE));
    TIFFSetField(tif, TIFFTAG_SUBFILETYPE, uint32_t(FILETYPE_PAGE));
    // Strips of about 64 KiB: libtiff compresses one strip at a time.
    TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, uint32_t(std::max<int64_t>(1, 65536 / width)));
    s.width = width;
    s.height = height;
    s.row = 0;
    s.page_open = true;
}

void TiffLabelWriter::write_row(const uint8_t* row) {
    State& s = *state_;
    if (!s.page_open || s.row >= s.height) throw Error(s.file->path(), "", "a TIFF row outside a page");
    if (TIFFWriteScanline(s.tif, const_cast<uint8_t*>(row), uint32_t(s.row), 0) < 0)
        throw s.fail("cannot write a TIFF row");
    ++s.row;
}

void TiffLabelWriter::finish() {
    State& s = *state_;
    s.end_page();
    TIFF* tif = s.tif;
    s.tif = nullptr;
    TIFFClose(tif);  // flushes what is left
    if (!s.messages.first_error.empty()) throw s.fail("cannot finish the TIFF");
    s.file->finish();
    s.file->rename_into_place();
}

}  // namespace fcnrt
