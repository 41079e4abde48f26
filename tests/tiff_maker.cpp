#include "tests/tiff_maker.h"

#include <tiffio.h>

#include <cstring>
#include <vector>

namespace fcnrt::test {

uint32_t tiff_sample(const TiffSpec& spec, int64_t page, int64_t y, int64_t x, int c) {
    const uint64_t v = uint64_t(page) * 7919 + uint64_t(y) * 131 + uint64_t(x) * 31 + uint64_t(c) * 17;
    return spec.bits == 16 ? uint32_t((v * 257) & 0xffff) : uint32_t(v & 0xff);
}

bool write_test_tiff(const std::string& path, const TiffSpec& spec) {
    TIFF* tif = TIFFOpen(path.c_str(), spec.bigtiff ? "w8" : "w");
    if (!tif) return false;
    const uint16_t compression = spec.compression == "lzw"        ? COMPRESSION_LZW
                                 : spec.compression == "deflate"  ? COMPRESSION_ADOBE_DEFLATE
                                 : spec.compression == "packbits" ? COMPRESSION_PACKBITS
                                                                  : COMPRESSION_NONE;
    const size_t bytes = size_t(spec.bits / 8);
    const size_t pixel = bytes * size_t(spec.channels);
    bool ok = true;
    for (int64_t page = 0; page < spec.pages && ok; ++page) {
        TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, uint32_t(spec.width));
        TIFFSetField(tif, TIFFTAG_IMAGELENGTH, uint32_t(spec.height));
        TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, uint16_t(spec.channels));
        TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, uint16_t(spec.bits));
        TIFFSetField(tif, TIFFTAG_PHOTOMETRIC,
                     uint16_t(spec.channels >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK));
        TIFFSetField(tif, TIFFTAG_PLANARCONFIG, uint16_t(PLANARCONFIG_CONTIG));
        TIFFSetField(tif, TIFFTAG_COMPRESSION, compression);
        if (spec.channels == 2 || spec.channels == 4) {
            const uint16_t extra = EXTRASAMPLE_UNASSALPHA;
            TIFFSetField(tif, TIFFTAG_EXTRASAMPLES, uint16_t(1), &extra);
        }
        if (spec.pages > 1) {
            TIFFSetField(tif, TIFFTAG_SUBFILETYPE, uint32_t(FILETYPE_PAGE));
            TIFFSetField(tif, TIFFTAG_PAGENUMBER, uint16_t(page), uint16_t(spec.pages));
        }
        auto fill = [&](int64_t y, int64_t x, unsigned char* out) {
            for (int c = 0; c < spec.channels; ++c) {
                const uint32_t v = (y < spec.height && x < spec.width) ? tiff_sample(spec, page, y, x, c) : 0;
                if (bytes == 1) {
                    out[c] = uint8_t(v);
                } else {
                    const uint16_t s = uint16_t(v);
                    std::memcpy(out + 2 * c, &s, 2);  // host order: libtiff swaps as the file needs
                }
            }
        };
        if (spec.tiled) {
            const uint32_t t = 16;
            TIFFSetField(tif, TIFFTAG_TILEWIDTH, t);
            TIFFSetField(tif, TIFFTAG_TILELENGTH, t);
            std::vector<unsigned char> tile(size_t(t) * t * pixel);
            for (int64_t ty = 0; ty < spec.height && ok; ty += t)
                for (int64_t tx = 0; tx < spec.width && ok; tx += t) {
                    for (uint32_t r = 0; r < t; ++r)
                        for (uint32_t c = 0; c < t; ++c)
                            fill(ty + r, tx + c, tile.data() + (size_t(r) * t + c) * pixel);
                    ok = TIFFWriteTile(tif, tile.data(), uint32_t(tx), uint32_t(ty), 0, 0) >= 0;
                }
        } else {
            TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, uint32_t(spec.rows_per_strip));
            std::vector<unsigned char> row(size_t(spec.width) * pixel);
            for (int64_t y = 0; y < spec.height && ok; ++y) {
                for (int64_t x = 0; x < spec.width; ++x) fill(y, x, row.data() + size_t(x) * pixel);
                ok = TIFFWriteScanline(tif, row.data(), uint32_t(y), 0) >= 0;
            }
        }
        ok = ok && TIFFWriteDirectory(tif);
    }
    TIFFClose(tif);
    return ok;
}

}  // namespace fcnrt::test
