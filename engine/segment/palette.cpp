#include "engine/attributes.h"
#include "engine/segment/palette.h"

#include "engine/error.h"

namespace fcnrt {

Rgb voc_colour(int k) {
    Rgb c = {0, 0, 0};
    for (int shift = 7; shift >= 0; --shift, k >>= 3) {
        c[0] |= uint8_t(((k >> 0) & 1) << shift);
        c[1] |= uint8_t(((k >> 1) & 1) << shift);
        c[2] |= uint8_t(((k >> 2) & 1) << shift);
    }
    return c;
}

std::vector<Rgb> class_palette(const Json& metadata, int num_classes, const std::string& model_path) {
    std::vector<Rgb> palette;
    for (int k = 0; k < num_classes; ++k) palette.push_back(voc_colour(k));
    if (!metadata.is_object() || !metadata.contains("classes")) return palette;
    const Json& classes = metadata["classes"];
    if (!classes.is_array())
        throw Error(model_path, "", "metadata \"classes\" must be a list of {name, color}");
    for (size_t k = 0; k < classes.size() && int(k) < num_classes; ++k) {
        const Json& entry = classes[k];
        if (!entry.is_object() || !entry.contains("color")) continue;
        const Json& c = entry["color"];
        bool ok = c.is_array() && c.size() == 3;
        for (size_t i = 0; ok && i < 3; ++i)
            ok = c[i].is_number_integer() && c[i].get<int64_t>() >= 0 && c[i].get<int64_t>() <= 255;
        if (!ok)
            throw Error(model_path, "",
                        "metadata \"classes\"[" + std::to_string(k) +
                            "].color must be three integers in 0..255, got " + json_text(c));
        palette[k] = {uint8_t(c[0].get<int>()), uint8_t(c[1].get<int>()), uint8_t(c[2].get<int>())};
    }
    return palette;
}

}  // namespace fcnrt
