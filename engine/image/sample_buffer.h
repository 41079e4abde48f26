// The decoded samples of one image, allocated as rows arrive rather than all
// at once from the header: a file whose header claims 60000 x 60000 pixels but
// holds a few bytes of data fails when its data runs out, having cost memory
// for what it actually held. Growth doubles the capacity (glibc's realloc
// moves large blocks with mremap, without a copy), capped at the whole image.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>

namespace fcnrt {

class SampleBuffer {
public:
    SampleBuffer(size_t row_bytes, size_t rows) : row_bytes_(row_bytes), rows_(rows) {}
    ~SampleBuffer() { std::free(data_); }
    SampleBuffer(const SampleBuffer&) = delete;
    SampleBuffer& operator=(const SampleBuffer&) = delete;

    // Row y (0 <= y < rows), with room made for it and every row before it.
    unsigned char* row(size_t y) {
        const size_t need = (y + 1) * row_bytes_;
        if (need > capacity_) {
            const size_t total = row_bytes_ * rows_;
            size_t grow = capacity_ ? 2 * capacity_ : (size_t(1) << 20);
            if (grow < need) grow = need;
            if (grow > total) grow = total;
            void* p = std::realloc(data_, grow ? grow : 1);
            if (!p) throw std::bad_alloc();
            data_ = static_cast<unsigned char*>(p);
            capacity_ = grow;
        }
        return data_ + y * row_bytes_;
    }

    // The samples, once every row has been written; the buffer is empty after.
    std::shared_ptr<const void> release() {
        if (!data_) row(rows_ ? rows_ - 1 : 0);
        void* p = data_;
        data_ = nullptr;
        capacity_ = 0;
        return std::shared_ptr<const void>(p, [](const void* q) { std::free(const_cast<void*>(q)); });
    }

private:
    size_t row_bytes_, rows_;
    size_t capacity_ = 0;
    unsigned char* data_ = nullptr;
};

}  // namespace fcnrt
