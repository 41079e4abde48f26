// Reference concat_copy: copies one concat input into its slot of the output, the
// slot starting at `offset` along `axis`. Works for F32 and I32 views alike.
#include "kernels/reference/concat.h"

namespace fcnrt::reference {

void concat_copy(const View& x, const View& y, int axis, int64_t offset) {
    // x (N, C, H, W); y the same except x's extent along axis fits at offset
    for (int64_t n = 0; n < x.n; ++n) {
        for (int64_t c = 0; c < x.c; ++c) {
            for (int64_t iy = 0; iy < x.h; ++iy) {
                for (int64_t ix = 0; ix < x.w; ++ix) {
                    int64_t at[4] = {n, c, iy, ix};
                    at[axis] += offset;
                    const int64_t from = x.offset(n, c, iy, ix);
                    const int64_t to = y.offset(at[0], at[1], at[2], at[3]);
                    if (x.dtype == DType::I32) {
                        y.i32()[to] = x.i32()[from];
                    } else {
                        y.f32()[to] = x.f32()[from];
                    }
                }
            }
        }
    }
}

}  // namespace fcnrt::reference
