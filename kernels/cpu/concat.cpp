// Fast CPU concat copy: x goes into y at `offset` along one NCHW axis.
//
// The copy is a set of contiguous runs: whole batch items (axis 0), the C*H*W
// block of a batch item (axis 1), a plane's rows (axis 2) or one row (axis 3).
// Runs are memcpy'd; OpenMP threads over the runs of large tensors. F32 and I32
// (both 4 bytes) are copied alike.
#include "kernels/cpu/concat.h"

#include <cstring>

namespace fcnrt::cpu {

namespace {

constexpr int64_t kParallelThreshold = 32768;

}  // namespace

void concat_copy(const View& x, const View& y, int axis, int64_t offset) {
    const auto* src = static_cast<const float*>(x.data);
    auto* dst = static_cast<float*>(y.data);
    const bool parallel = x.numel() > kParallelThreshold;
    switch (axis) {
        case 0:
        case 1: {
            const int64_t n0 = axis == 0 ? offset : 0, c0 = axis == 1 ? offset : 0;
#pragma omp parallel for schedule(static) if (parallel)
            for (int64_t n = 0; n < x.n; ++n) {
                std::memcpy(dst + y.offset(n0 + n, c0, 0, 0), src + x.offset(n, 0, 0, 0),
                            sizeof(float) * x.chw());
            }
            return;
        }
        case 2:
#pragma omp parallel for collapse(2) schedule(static) if (parallel)
            for (int64_t n = 0; n < x.n; ++n) {
                for (int64_t c = 0; c < x.c; ++c) {
                    std::memcpy(dst + y.offset(n, c, offset, 0), src + x.offset(n, c, 0, 0),
                                sizeof(float) * x.hw());
                }
            }
            return;
        default:
#pragma omp parallel for collapse(2) schedule(static) if (parallel)
            for (int64_t n = 0; n < x.n; ++n) {
                for (int64_t c = 0; c < x.c; ++c) {
                    for (int64_t h = 0; h < x.h; ++h) {
                        std::memcpy(dst + y.offset(n, c, h, offset), src + x.offset(n, c, h, 0),
                                    sizeof(float) * x.w);
                    }
                }
            }
            return;
    }
}

}  // namespace fcnrt::cpu
