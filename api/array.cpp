// The public API's arrays and images (include/fcnrt/fcnrt.h) over engine
// tensors and images.
#include <utility>

#include "api/api_storage.h"
#include "engine/error.h"

namespace fcnrt {

Array::Array() : storage_(std::make_shared<Storage>()) {}
Array::Array(std::shared_ptr<Storage> storage) : storage_(std::move(storage)) {}

ElementType Array::type() const {
    return storage_->tensor.dtype() == DType::I32 ? ElementType::Int32 : ElementType::Float32;
}
const std::vector<int64_t>& Array::shape() const {
    return storage_->tensor.shape();
}
int64_t Array::size() const {
    return storage_->tensor.numel();
}
size_t Array::bytes() const {
    return storage_->tensor.bytes();
}
const void* Array::data() const {
    return storage_->tensor.data();
}
void* Array::data() {
    return storage_->tensor.data();
}

Array array_of(Tensor&& tensor) {
    auto storage = std::make_shared<Array::Storage>();
    storage->tensor = std::move(tensor);
    return Array(std::move(storage));
}

DecodedImage::DecodedImage(std::shared_ptr<Storage> storage) : storage_(std::move(storage)) {}

ImageView DecodedImage::view() const {
    const Image& im = storage_->image;
    return {im.height(), im.width(), im.channels(), im.bit_depth(), im.samples()};
}

DecodedImage decode_image(const std::string& path, int64_t page) {
    auto storage = std::make_shared<DecodedImage::Storage>();
    storage->image = read_image(path, page);
    return DecodedImage(std::move(storage));
}

Image borrowed_image(const ImageView& v) {
    if (!v.samples) throw Error("the image has no samples");
    if (v.height < 1 || v.width < 1 || v.height > kMaxImageSide || v.width > kMaxImageSide ||
        v.height * v.width > kMaxImagePixels)
        throw Error("the image is " + std::to_string(v.width) + "x" + std::to_string(v.height) +
                    " pixels: each side must be 1 to " + std::to_string(kMaxImageSide) +
                    ", at most " + std::to_string(kMaxImagePixels) + " pixels");
    if (v.channels < 1 || v.channels > 4)
        throw Error("the image has " + std::to_string(v.channels) +
                    " channels: 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA) are read");
    if (v.bit_depth != 8 && v.bit_depth != 16)
        throw Error("the image's samples are " + std::to_string(v.bit_depth) +
                    "-bit: 8 (uint8) or 16 (uint16) are read");
    ImageInfo info;
    info.height = v.height;
    info.width = v.width;
    info.channels = v.channels;
    info.bit_depth = v.bit_depth;
    // Not owned: a shared_ptr that frees nothing.
    return Image(info, std::shared_ptr<const void>(v.samples, [](const void*) {}));
}

}  // namespace fcnrt
