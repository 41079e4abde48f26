// Class colours for segmentation masks: the model's metadata "classes"
// colours, or the Pascal VOC palette where the model gives none.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "engine/attributes.h"

namespace fcnrt {

using Rgb = std::array<uint8_t, 3>;

// Colour k of the Pascal VOC 2012 palette (0 black, 1 (128,0,0), 2 (0,128,0),
// ...): the bits of k spread over the channels from the most significant bit
// down, as in the VOC devkit's labelcolormap.m.
Rgb voc_colour(int k);

// One colour per class index 0..num_classes-1: metadata["classes"][k]["color"]
// where present, the VOC colour otherwise. Throws fcnrt::Error(model_path) for
// a "classes" entry whose colour is not three integers in 0..255.
std::vector<Rgb> class_palette(const Json& metadata, int num_classes, const std::string& model_path);

}  // namespace fcnrt
