// A non-owning, 4-D NCHW view of tensor memory, the only tensor type kernels see.
//
// Rank-2 tensors [N, F] are viewed as [N, F, 1, 1]. Within one batch item the
// C*H*W elements are contiguous; `batch_stride` (in elements) may be larger than
// C*H*W when the view is a channel slice of a concat output that the producer
// writes in place. Usable from host and device code.
#pragma once

#include <cstdint>

#ifdef __CUDACC__
#define FCNRT_HD __host__ __device__ __forceinline__
#else
#define FCNRT_HD inline
#endif

namespace fcnrt {

enum class DType : uint8_t { F32 = 0, I32 = 1 };

struct View {
    void* data = nullptr;
    DType dtype = DType::F32;
    int64_t n = 1, c = 1, h = 1, w = 1;
    int64_t batch_stride = 0;  // elements between batch items; >= c * h * w

    FCNRT_HD float* f32() const { return static_cast<float*>(data); }
    FCNRT_HD int32_t* i32() const { return static_cast<int32_t*>(data); }
    FCNRT_HD int64_t hw() const { return h * w; }
    FCNRT_HD int64_t chw() const { return c * h * w; }
    FCNRT_HD int64_t numel() const { return n * c * h * w; }
    FCNRT_HD bool contiguous() const { return n == 1 || batch_stride == chw(); }
    // Element offset of (in, ic, ih, iw).
    FCNRT_HD int64_t offset(int64_t in, int64_t ic, int64_t ih, int64_t iw) const {
        return in * batch_stride + (ic * h + ih) * w + iw;
    }
};

// A contiguous view over `data` with the given dimensions.
inline View make_view(void* data, DType dtype, int64_t n, int64_t c, int64_t h, int64_t w) {
    View v;
    v.data = data;
    v.dtype = dtype;
    v.n = n;
    v.c = c;
    v.h = h;
    v.w = w;
    v.batch_stride = c * h * w;
    return v;
}

}  // namespace fcnrt
