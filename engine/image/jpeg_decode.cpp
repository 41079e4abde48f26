#include "engine/image/jpeg_decode.h"

// jpeglib.h needs FILE and size_t declared first.
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <jpeglib.h>
#include <jerror.h>  // the message codes (JWRN_JPEG_EOF)

#include "engine/error.h"
#include "engine/image/sample_buffer.h"

namespace fcnrt {

namespace {

// More scans than any encoder writes (a progressive JPEG has about 10); a
// crafted file with thousands of tiny scans would take minutes to decode.
constexpr int kMaxScans = 500;
// libjpeg's own buffers (whole-image coefficients for progressive files) get
// this much plus kMemoryPerFileByte for each byte of the file.
constexpr long kMemoryBase = 64L << 20;
constexpr long kMemoryPerFileByte = 1032;

// libjpeg reports errors through a callback that must not return: it jumps
// back to the decoding function with the message kept here.
struct ErrorManager {
    jpeg_error_mgr pub;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

void on_error(j_common_ptr cinfo) {
    auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
    (*cinfo->err->format_message)(cinfo, err->message);
    std::longjmp(err->jump, 1);
}

// Warnings: data that ends early is an error (libjpeg would fill the rest with
// grey); corrupt-data warnings are kept quiet, but a stream of them stops the
// decoder, since each costs time and the result would be garbage.
void on_message(j_common_ptr cinfo, int level) {
    if (level >= 0) return;  // trace messages
    auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
    if (cinfo->err->msg_code == JWRN_JPEG_EOF || ++cinfo->err->num_warnings > 100) {
        (*cinfo->err->format_message)(cinfo, err->message);
        std::longjmp(err->jump, 1);
    }
}

void on_progress(j_common_ptr cinfo) {
    if (!cinfo->is_decompressor) return;
    const auto* d = reinterpret_cast<j_decompress_ptr>(cinfo);
    if (d->input_scan_number > kMaxScans) {
        auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
        std::snprintf(err->message, sizeof err->message, "more than %d scans", kMaxScans);
        std::longjmp(err->jump, 1);
    }
}

// A decompressor destroyed on every path out.
struct Decompressor {
    jpeg_decompress_struct cinfo{};
    ErrorManager err{};
    jpeg_progress_mgr progress{};
    Decompressor() {
        cinfo.err = jpeg_std_error(&err.pub);
        err.pub.error_exit = on_error;
        err.pub.emit_message = on_message;
    }
    ~Decompressor() { jpeg_destroy_decompress(&cinfo); }
};

ImageInfo info_of(const jpeg_decompress_struct& cinfo) {
    ImageInfo info;
    info.width = cinfo.image_width;
    info.height = cinfo.image_height;
    info.channels = cinfo.num_components == 1 ? 1 : 3;
    info.bit_depth = 8;
    return info;
}

// The two phases libjpeg can jump out of. setjmp/longjmp skip destructors, so
// these functions own no C++ object: what owns memory (the Decompressor, the
// samples) belongs to the caller. Each returns false with d.err.message set.
bool read_header(Decompressor& d, const unsigned char* data, size_t size) {
    if (setjmp(d.err.jump)) return false;
    jpeg_create_decompress(&d.cinfo);
    d.cinfo.mem->max_memory_to_use = kMemoryBase + kMemoryPerFileByte * long(size);
    d.progress.progress_monitor = on_progress;
    d.cinfo.progress = &d.progress;
    jpeg_mem_src(&d.cinfo, data, (unsigned long)size);
    jpeg_read_header(&d.cinfo, TRUE);
    return true;
}

bool read_rows(Decompressor& d, const ImageInfo& info, SampleBuffer& samples) {
    if (setjmp(d.err.jump)) return false;
    d.cinfo.out_color_space = info.channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&d.cinfo);
    if (d.cinfo.output_width != JDIMENSION(info.width) ||
        d.cinfo.output_height != JDIMENSION(info.height) ||
        d.cinfo.output_components != info.channels) {
        std::snprintf(d.err.message, sizeof d.err.message, "the decoder's output does not match the header");
        return false;
    }
    while (d.cinfo.output_scanline < d.cinfo.output_height) {
        JSAMPROW row = samples.row(d.cinfo.output_scanline);
        jpeg_read_scanlines(&d.cinfo, &row, 1);
    }
    jpeg_finish_decompress(&d.cinfo);
    return true;
}

}  // namespace

bool looks_like_jpeg(const unsigned char* data, size_t size) {
    return size >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff;
}

ImageInfo read_jpeg_info(const unsigned char* data, size_t size, const std::string& name) {
    Decompressor d;
    if (!read_header(d, data, size))
        throw Error(name, "", std::string("not a readable JPEG: ") + d.err.message);
    return info_of(d.cinfo);
}

Image decode_jpeg(const unsigned char* data, size_t size, const std::string& name,
                  void (*check)(const ImageInfo&, size_t, const std::string&)) {
    Decompressor d;
    if (!read_header(d, data, size))
        throw Error(name, "", std::string("not a readable JPEG: ") + d.err.message);
    const ImageInfo info = info_of(d.cinfo);
    check(info, size, name);
    SampleBuffer samples(size_t(info.width) * size_t(info.channels), size_t(info.height));
    if (!read_rows(d, info, samples))
        throw Error(name, "", std::string("cannot decode the image (truncated or corrupt?): ") +
                                  d.err.message);
    return Image(info, samples.release());
}

}  // namespace fcnrt
