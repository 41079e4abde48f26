#include "engine/tensor.h"

#include "engine/error.h"

namespace fcnrt {

size_t dtype_size(DType dtype) {
    switch (dtype) {
        case DType::F32: return 4;
        case DType::I32: return 4;
    }
    return 4;
}

const char* dtype_name(DType dtype) {
    switch (dtype) {
        case DType::F32: return "float32";
        case DType::I32: return "int32";
    }
    return "?";
}

int64_t checked_numel(const Shape& shape, size_t element_size) {
    const int64_t limit = kMaxTensorBytes / static_cast<int64_t>(element_size);
    int64_t n = 1;
    for (int64_t d : shape) {
        if (d < 0) throw Error("negative dimension in shape " + shape_to_string(shape));
        if (d != 0 && n > limit / d)
            throw Error("shape " + shape_to_string(shape) + " is too large (over " +
                        std::to_string(kMaxTensorBytes) + " bytes)");
        n *= d;
    }
    return n;
}

std::string shape_to_string(const Shape& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) {
        if (i) s += ", ";
        s += std::to_string(shape[i]);
    }
    return s + "]";
}

View view_of(void* data, DType dtype, const Shape& shape) {
    int64_t d[4] = {1, 1, 1, 1};
    switch (shape.size()) {
        case 0: break;
        case 1: d[1] = shape[0]; break;
        case 2: d[0] = shape[0]; d[1] = shape[1]; break;
        case 3: d[0] = shape[0]; d[1] = shape[1]; d[3] = shape[2]; break;
        case 4: for (int i = 0; i < 4; ++i) d[i] = shape[i]; break;
        default: throw Error("tensor of rank " + std::to_string(shape.size()) +
                             " (at most 4 supported)");
    }
    return make_view(data, dtype, d[0], d[1], d[2], d[3]);
}

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
    numel_ = checked_numel(shape_, dtype_size(dtype_));
    const size_t bytes = static_cast<size_t>(numel_) * dtype_size(dtype_);
    blocks_.assign((bytes + sizeof(Block) - 1) / sizeof(Block), Block{});
}

void Tensor::reshape(Shape shape) {
    if (checked_numel(shape, dtype_size(dtype_)) != numel_)
        throw Error("cannot reshape " + shape_to_string(shape_) + " to " +
                    shape_to_string(shape));
    shape_ = std::move(shape);
}

}  // namespace fcnrt
