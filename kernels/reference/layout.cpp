// Reference crop and pad. Each output element is mapped back to one input element
// (or to the constant); negative pads are ordinary index offsets, so they crop.
#include "kernels/reference/layout.h"

#include <algorithm>

namespace fcnrt::reference {
namespace {

// torch 'reflect': mirror about the edge element without repeating it
// (... 2 1 | 0 1 2 3 | 2 1 ...). Beyond one period it keeps mirroring (torch refuses
// pads >= the size; we stay in bounds regardless).
int64_t reflect_index(int64_t i, int64_t size) {
    if (size == 1) return 0;
    const int64_t period = 2 * (size - 1);
    i %= period;
    if (i < 0) i += period;
    return i < size ? i : period - i;
}

int64_t edge_index(int64_t i, int64_t size) { return std::clamp<int64_t>(i, 0, size - 1); }

}  // namespace

void crop(const View& x, const View& y, int64_t top, int64_t left) {
    // x (N, C, H, W); y (N, C, OH, OW) with top + OH <= H, left + OW <= W
    for (int64_t n = 0; n < y.n; ++n) {
        for (int64_t c = 0; c < y.c; ++c) {
            for (int64_t oy = 0; oy < y.h; ++oy) {
                for (int64_t ox = 0; ox < y.w; ++ox) {
                    y.f32()[y.offset(n, c, oy, ox)] =
                        x.f32()[x.offset(n, c, oy + top, ox + left)];
                }
            }
        }
    }
}

void pad(const View& x, const View& y, const PadParams& p) {
    // x (N, C, H, W); y (N, C, H + pt + pb, W + pl + pr)
    const int64_t pt = p.pads[0], pl = p.pads[1];
    for (int64_t n = 0; n < y.n; ++n) {
        for (int64_t c = 0; c < y.c; ++c) {
            for (int64_t oy = 0; oy < y.h; ++oy) {
                for (int64_t ox = 0; ox < y.w; ++ox) {
                    int64_t iy = oy - pt, ix = ox - pl;
                    float v = p.value;
                    const bool inside = iy >= 0 && iy < x.h && ix >= 0 && ix < x.w;
                    if (p.mode == PadMode::Reflect) {
                        iy = reflect_index(iy, x.h);
                        ix = reflect_index(ix, x.w);
                    } else if (p.mode == PadMode::Edge) {
                        iy = edge_index(iy, x.h);
                        ix = edge_index(ix, x.w);
                    }
                    if (inside || p.mode != PadMode::Constant) {
                        v = x.f32()[x.offset(n, c, iy, ix)];
                    }
                    y.f32()[y.offset(n, c, oy, ox)] = v;
                }
            }
        }
    }
}

void depth_to_space(const View& x, const View& y, const SpaceDepthParams& p) {
    // x (N, C*b*b, H, W); y (N, C, H*b, W*b)
    const int64_t b = p.block;
    for (int64_t n = 0; n < y.n; ++n)
        for (int64_t c = 0; c < y.c; ++c)
            for (int64_t oy = 0; oy < y.h; ++oy)
                for (int64_t ox = 0; ox < y.w; ++ox) {
                    const int64_t dc = depth_channel(c, oy % b, ox % b, y.c, p);
                    y.f32()[y.offset(n, c, oy, ox)] = x.f32()[x.offset(n, dc, oy / b, ox / b)];
                }
}

void space_to_depth(const View& x, const View& y, const SpaceDepthParams& p) {
    // x (N, C, H*b, W*b); y (N, C*b*b, H, W)
    const int64_t b = p.block;
    for (int64_t n = 0; n < x.n; ++n)
        for (int64_t c = 0; c < x.c; ++c)
            for (int64_t iy = 0; iy < x.h; ++iy)
                for (int64_t ix = 0; ix < x.w; ++ix) {
                    const int64_t dc = depth_channel(c, iy % b, ix % b, x.c, p);
                    y.f32()[y.offset(n, dc, iy / b, ix / b)] = x.f32()[x.offset(n, c, iy, ix)];
                }
}

}  // namespace fcnrt::reference
