// Shapes, element types and host tensors that own their memory.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/view.h"

namespace fcnrt {

using Shape = std::vector<int64_t>;

// Largest byte size any single tensor may have; guards every size computation
// against overflow and absurd headers (1 TiB is far beyond any real model).
constexpr int64_t kMaxTensorBytes = int64_t(1) << 40;

size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);  // "float32", "int32"

// Product of the dims. Throws fcnrt::Error on a negative dim or when the
// element count times `element_size` would exceed kMaxTensorBytes.
int64_t checked_numel(const Shape& shape, size_t element_size = 4);

std::string shape_to_string(const Shape& shape);  // "[1, 3, 64, 64]"

// The 4-D NCHW view of a rank 1..4 shape: [F] -> [1, F, 1, 1], [N, F] ->
// [N, F, 1, 1], [N, C, W] -> [N, C, 1, W].
View view_of(void* data, DType dtype, const Shape& shape);

// A dense, C-order host tensor owning its elements.
class Tensor {
public:
    Tensor() = default;
    Tensor(DType dtype, Shape shape);  // zero-filled

    DType dtype() const { return dtype_; }
    const Shape& shape() const { return shape_; }
    int64_t numel() const { return numel_; }
    size_t bytes() const { return static_cast<size_t>(numel_) * dtype_size(dtype_); }

    void* data() { return blocks_.empty() ? nullptr : blocks_.front().bytes; }
    const void* data() const { return blocks_.empty() ? nullptr : blocks_.front().bytes; }
    float* f32() { return static_cast<float*>(data()); }
    const float* f32() const { return static_cast<const float*>(data()); }
    int32_t* i32() { return static_cast<int32_t*>(data()); }
    const int32_t* i32() const { return static_cast<const int32_t*>(data()); }

    View view() { return view_of(data(), dtype_, shape_); }
    // Kernels take non-const views; read-only use is by convention.
    View view() const { return view_of(const_cast<void*>(data()), dtype_, shape_); }

    // Same elements, another shape of equal element count.
    void reshape(Shape shape);

private:
    struct alignas(64) Block {
        unsigned char bytes[64];
    };
    DType dtype_ = DType::F32;
    Shape shape_;
    int64_t numel_ = 0;
    std::vector<Block> blocks_;  // 64-byte aligned element storage
};

}  // namespace fcnrt
