// The engine objects behind the public API's handles (include/fcnrt/fcnrt.h):
// an Array holds an engine Tensor, a DecodedImage an engine Image. Only the
// API's own sources and the Python module include this.
#pragma once

#include "engine/image/image_io.h"
#include "engine/tensor.h"
#include "fcnrt/fcnrt.h"

namespace fcnrt {

struct Array::Storage {
    Tensor tensor;
};

struct DecodedImage::Storage {
    Image image;
};

// The engine's view of an image the caller owns (not copied: the Image does
// not own the samples, which must outlive it).
Image borrowed_image(const ImageView& view);

// An array holding `tensor` (moved in, not copied).
Array array_of(Tensor&& tensor);

}  // namespace fcnrt
