// Tests of the naive reference kernels against small cases whose expected values are
// written out by hand (worked in the comments; cross-checked once against PyTorch's
// functional ops, which the tests themselves do not need). Outputs start poisoned so an
// element a kernel forgets to write shows up, and batch gaps of strided views must come
// back untouched.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "kernels/op_params.h"
#include "kernels/reference/concat.h"
#include "kernels/reference/conv.h"
#include "kernels/reference/dense.h"
#include "kernels/reference/elementwise.h"
#include "kernels/reference/layout.h"
#include "kernels/reference/pool.h"
#include "kernels/reference/resize.h"
#include "kernels/reference/softmax.h"
#include "kernels/view.h"

namespace fcnrt::reference {
namespace {

constexpr float kPoison = -777.0f;
const float kNaN = std::numeric_limits<float>::quiet_NaN();
const float kInf = std::numeric_limits<float>::infinity();

// An owning NCHW tensor whose batch items lie `batch_stride` elements apart; gaps between
// them (and every element when no values are given) hold the poison value.
template <typename T>
struct Tensor {
    int64_t n, c, h, w, batch_stride;
    std::vector<T> data;

    Tensor(int64_t n_, int64_t c_, int64_t h_, int64_t w_, std::vector<T> values = {},
           int64_t stride = 0, T poison = static_cast<T>(kPoison))
        : n(n_), c(c_), h(h_), w(w_), batch_stride(stride ? stride : c_ * h_ * w_) {
        data.assign(static_cast<size_t>(n * batch_stride), poison);
        if (values.empty()) return;
        EXPECT_EQ(static_cast<int64_t>(values.size()), n * c * h * w) << "test data size";
        for (int64_t i = 0; i < n; ++i) {
            for (int64_t j = 0; j < c * h * w; ++j) {
                data[static_cast<size_t>(i * batch_stride + j)] =
                    values[static_cast<size_t>(i * c * h * w + j)];
            }
        }
    }

    View view() {
        View v = make_view(data.data(), std::is_same_v<T, float> ? DType::F32 : DType::I32, n,
                           c, h, w);
        v.batch_stride = batch_stride;
        return v;
    }

    // The logical elements in NCHW order, gaps skipped.
    std::vector<T> values() const {
        std::vector<T> out;
        for (int64_t i = 0; i < n; ++i) {
            for (int64_t j = 0; j < c * h * w; ++j) {
                out.push_back(data[static_cast<size_t>(i * batch_stride + j)]);
            }
        }
        return out;
    }

    // Every element between batch items still holds the poison.
    bool gaps_untouched(T poison = static_cast<T>(kPoison)) const {
        for (int64_t i = 0; i < n; ++i) {
            for (int64_t j = c * h * w; j < batch_stride; ++j) {
                if (data[static_cast<size_t>(i * batch_stride + j)] != poison) return false;
            }
        }
        return true;
    }
};

using F32 = Tensor<float>;
using I32 = Tensor<int32_t>;

// A view with no data, for max_pool2d without indices.
View no_view() { return View{}; }

// Float32 results against hand values: equal to within float32 rounding (relative 1e-6,
// absolute near zero); a NaN must be matched by a NaN.
void expect_values(const F32& t, const std::vector<float>& want, const char* what = "") {
    const std::vector<float> got = t.values();
    ASSERT_EQ(got.size(), want.size()) << what;
    for (size_t i = 0; i < got.size(); ++i) {
        if (std::isnan(want[i])) {
            EXPECT_TRUE(std::isnan(got[i])) << what << " element " << i << " got " << got[i];
        } else if (std::isinf(want[i])) {
            EXPECT_EQ(got[i], want[i]) << what << " element " << i;
        } else {
            const double tol = 1e-6 * std::max(1.0, std::fabs(static_cast<double>(want[i])));
            EXPECT_NEAR(got[i], want[i], tol) << what << " element " << i;
        }
    }
}

void expect_values(const I32& t, const std::vector<int32_t>& want, const char* what = "") {
    EXPECT_EQ(t.values(), want) << what;
}

// ----------------------------------------------------------------------------- conv2d

// x = [[1,2,3],[4,5,6],[7,8,9]], the running example of the conv tests.
std::vector<float> one_to_nine() { return {1, 2, 3, 4, 5, 6, 7, 8, 9}; }

TEST(ReferenceConv2d, PlainWithBias) {
    F32 x(1, 1, 3, 3, one_to_nine());
    F32 wt(1, 1, 2, 2, {1, 2, 3, 4});
    const float bias[] = {0.5f};
    F32 y(1, 1, 2, 2);
    conv2d(x.view(), wt.view(), bias, y.view(), Conv2dParams{});
    // (0,0): 1*1 + 2*2 + 4*3 + 5*4 = 37; each step right adds 1+2+3+4 = 10, down adds 30.
    expect_values(y, {37.5f, 47.5f, 67.5f, 77.5f});
}

TEST(ReferenceConv2d, StrideAsymmetricPadsBiasRelu) {
    // pads {top 1, left 0, bottom 0, right 1}, stride 2:
    // OH = (3 + 1 + 0 - 2) / 2 + 1 = 2, OW = (3 + 0 + 1 - 2) / 2 + 1 = 2.
    F32 x(1, 1, 3, 3, one_to_nine());
    F32 wt(1, 1, 2, 2, {1, 2, 3, 4});
    const float bias[] = {-10.0f};
    Conv2dParams p;
    p.stride[0] = p.stride[1] = 2;
    p.pads[0] = 1;
    p.pads[3] = 1;
    p.act.kind = Activation::Relu;
    F32 y(1, 1, 2, 2);
    conv2d(x.view(), wt.view(), bias, y.view(), p);
    // Window rows start at oy*2 - 1, columns at ox*2.
    // (0,0): rows {-1,0} x cols {0,1}: 3*1 + 4*2 = 11       -> 11 - 10 = 1
    // (0,1): rows {-1,0} x cols {2,3}: 3*3 = 9              -> -1 -> relu 0
    // (1,0): rows {1,2} x cols {0,1}: 1*4+2*5+3*7+4*8 = 67  -> 57
    // (1,1): rows {1,2} x cols {2,3}: 1*6 + 3*9 = 33        -> 23
    expect_values(y, {1, 0, 57, 23});
}

TEST(ReferenceConv2d, Dilation) {
    // x[i][j] = 4i + j on 4x4; weight [[1,2],[3,4]] dilated by 2 spans 3x3: OH = OW = 2.
    std::vector<float> xs(16);
    for (int i = 0; i < 16; ++i) xs[static_cast<size_t>(i)] = static_cast<float>(i);
    F32 x(1, 1, 4, 4, xs);
    F32 wt(1, 1, 2, 2, {1, 2, 3, 4});
    Conv2dParams p;
    p.dilation[0] = p.dilation[1] = 2;
    F32 y(1, 1, 2, 2);
    conv2d(x.view(), wt.view(), nullptr, y.view(), p);
    // y = 1*x[oy][ox] + 2*x[oy][ox+2] + 3*x[oy+2][ox] + 4*x[oy+2][ox+2]
    //   = 10*(4oy + ox) + 2*2 + 3*8 + 4*10 = 10*(4oy + ox) + 68
    expect_values(y, {68, 78, 108, 118});
}

TEST(ReferenceConv2d, DilationWithPaddingAndStride) {
    // x 3x3 (1..9), weight [[1,2],[3,4]], dilation 2, pads 1 all round, stride 2:
    // OH = (3 + 2 - 2*1 - 1) / 2 + 1 = 2. Taps at rows oy*2 - 1 + {0, 2}.
    F32 x(1, 1, 3, 3, one_to_nine());
    F32 wt(1, 1, 2, 2, {1, 2, 3, 4});
    Conv2dParams p;
    p.dilation[0] = p.dilation[1] = 2;
    p.stride[0] = p.stride[1] = 2;
    for (int& pad : p.pads) pad = 1;
    F32 y(1, 1, 2, 2);
    conv2d(x.view(), wt.view(), nullptr, y.view(), p);
    // (0,0): taps rows {-1,1} cols {-1,1}: only (1,1) in bounds, weight 4: 4*5 = 20
    // (0,1): rows {-1,1} cols {1,3}: (1,1) weight 3: 15
    // (1,0): rows {1,3} cols {-1,1}: (1,1) weight 2: 10
    // (1,1): rows {1,3} cols {1,3}: (1,1) weight 1: 5
    expect_values(y, {20, 15, 10, 5});
}

TEST(ReferenceConv2d, Groups) {
    // 4 input channels, 2 groups, 2 outputs: output k sees input channels 2k, 2k+1.
    F32 x(1, 4, 1, 1, {1, 2, 3, 4});
    F32 wt(2, 2, 1, 1, {1, 10, 100, 1000});  // (K=2, C/groups=2, 1, 1)
    F32 y(1, 2, 1, 1);
    Conv2dParams p;
    p.groups = 2;
    conv2d(x.view(), wt.view(), nullptr, y.view(), p);
    // y0 = 1*1 + 10*2 = 21; y1 = 100*3 + 1000*4 = 4300
    expect_values(y, {21, 4300});
}

TEST(ReferenceConv2d, GroupsWithSeveralOutputsPerGroupAndLeakyRelu) {
    // 2 input channels, groups 2, 4 outputs (2 per group), 1x2 kernel on a 1x3 plane.
    F32 x(1, 2, 1, 3, {1, 2, 3, /* channel 1 */ -1, -2, -3});
    F32 wt(4, 1, 1, 2, {1, 1, /**/ 1, -1, /**/ 2, 0, /**/ 0, -1});
    const float bias[] = {0, 0, 1, 0};
    Conv2dParams p;
    p.groups = 2;
    p.act.kind = Activation::LeakyRelu;
    p.act.alpha = 0.5f;
    F32 y(1, 4, 1, 2);
    conv2d(x.view(), wt.view(), bias, y.view(), p);
    // k0 (ch0, [1,1]):  [3, 5]
    // k1 (ch0, [1,-1]): [-1, -1] -> leaky 0.5: [-0.5, -0.5]
    // k2 (ch1, [2,0]) + 1: [-2+1, -4+1] = [-1, -3] -> [-0.5, -1.5]
    // k3 (ch1, [0,-1]): [2, 3]
    expect_values(y, {3, 5, -0.5f, -0.5f, -0.5f, -1.5f, 2, 3});
}

TEST(ReferenceConv2d, StridedBatchInputAndOutput) {
    // N = 2; x's items 6 apart (chw 4), y's items 7 apart: the gaps must stay as they are.
    F32 x(2, 1, 2, 2, {1, 2, 3, 4, 5, 6, 7, 8}, /*stride=*/6);
    F32 wt(1, 1, 1, 1, {2});
    const float bias[] = {1};
    F32 y(2, 1, 2, 2, {}, /*stride=*/7);
    conv2d(x.view(), wt.view(), bias, y.view(), Conv2dParams{});
    expect_values(y, {3, 5, 7, 9, 11, 13, 15, 17});
    EXPECT_TRUE(y.gaps_untouched());
}

TEST(ReferenceConv2d, MultiChannelStridedOutput) {
    // 2 in, 2 out channels, 1x1 kernel: a channel mix; y a channel slice of a wider buffer.
    F32 x(2, 2, 1, 1, {1, 2, 3, 4});
    F32 wt(2, 2, 1, 1, {1, 1, 1, -1});  // y0 = x0 + x1, y1 = x0 - x1
    F32 y(2, 2, 1, 1, {}, /*stride=*/5);
    conv2d(x.view(), wt.view(), nullptr, y.view(), Conv2dParams{});
    expect_values(y, {3, -1, 7, -1});
    EXPECT_TRUE(y.gaps_untouched());
}

// ------------------------------------------------------------------- conv_transpose2d

TEST(ReferenceConvTranspose2d, StrideTwoTilesBlocks) {
    // Stride 2 with a 2x2 kernel: every input pixel paints its own 2x2 block x * w.
    // OH = (2-1)*2 + (2-1) + 1 = 4.
    F32 x(1, 1, 2, 2, {1, 2, 3, 4});
    F32 wt(1, 1, 2, 2, {1, 2, 3, 4});
    ConvTranspose2dParams p;
    p.stride[0] = p.stride[1] = 2;
    F32 y(1, 1, 4, 4);
    conv_transpose2d(x.view(), wt.view(), nullptr, y.view(), p);
    expect_values(y, {1, 2, 2, 4,  //
                      3, 4, 6, 8,  //
                      3, 6, 4, 8,  //
                      9, 12, 12, 16});
}

TEST(ReferenceConvTranspose2d, OutputPaddingAndBias) {
    // As above with output_padding 1: OH = 5; the extra last row and column get no input
    // contribution, only the bias.
    F32 x(1, 1, 2, 2, {1, 2, 3, 4});
    F32 wt(1, 1, 2, 2, {1, 2, 3, 4});
    const float bias[] = {0.5f};
    ConvTranspose2dParams p;
    p.stride[0] = p.stride[1] = 2;
    p.output_padding[0] = p.output_padding[1] = 1;
    F32 y(1, 1, 5, 5);
    conv_transpose2d(x.view(), wt.view(), bias, y.view(), p);
    expect_values(y, {1.5f, 2.5f, 2.5f, 4.5f, 0.5f,     //
                      3.5f, 4.5f, 6.5f, 8.5f, 0.5f,     //
                      3.5f, 6.5f, 4.5f, 8.5f, 0.5f,     //
                      9.5f, 12.5f, 12.5f, 16.5f, 0.5f,  //
                      0.5f, 0.5f, 0.5f, 0.5f, 0.5f});
}

TEST(ReferenceConvTranspose2d, PadsCropTheFullOutput) {
    // x [[1,2],[3,4]], w[ky][kx] = 3ky + kx + 1 (1..9), stride 1, pads 1 all round:
    // OH = (2-1) - 2 + 2 + 1 = 2, the centre of the 4x4 full output:
    // y[a][b] = full[a+1][b+1] = sum x[i][j] * w[a+1-i][b+1-j].
    F32 x(1, 1, 2, 2, {1, 2, 3, 4});
    F32 wt(1, 1, 3, 3, one_to_nine());
    ConvTranspose2dParams p;
    for (int& pad : p.pads) pad = 1;
    F32 y(1, 1, 2, 2);
    conv_transpose2d(x.view(), wt.view(), nullptr, y.view(), p);
    // y00 = 1*w11 + 2*w10 + 3*w01 + 4*w00 = 5 + 8 + 6 + 4 = 23
    // y01 = 1*w12 + 2*w11 + 3*w02 + 4*w01 = 6 + 10 + 9 + 8 = 33
    // y10 = 1*w21 + 2*w20 + 3*w11 + 4*w10 = 8 + 14 + 15 + 16 = 53
    // y11 = 1*w22 + 2*w21 + 3*w12 + 4*w11 = 9 + 16 + 18 + 20 = 63
    expect_values(y, {23, 33, 53, 63});
}

TEST(ReferenceConvTranspose2d, AsymmetricPadsAndStride) {
    // 1x3 input, 1x3 kernel, stride 2, pads {0, left 1, 0, right 2}:
    // OW = (3-1)*2 - 1 - 2 + 2 + 1 = 4. Full output (7 wide) is
    // x0*[1,2,3] at 0, x1 at 2, x2 at 4: with x = [1,10,100]:
    // [1, 2, 3+10, 20, 30+100, 200, 300] -> drop 1 left: [2, 13, 20, 130].
    F32 x(1, 1, 1, 3, {1, 10, 100});
    F32 wt(1, 1, 1, 3, {1, 2, 3});
    ConvTranspose2dParams p;
    p.stride[1] = 2;
    p.pads[1] = 1;
    p.pads[3] = 2;
    F32 y(1, 1, 1, 4);
    conv_transpose2d(x.view(), wt.view(), nullptr, y.view(), p);
    expect_values(y, {2, 13, 20, 130});
}

TEST(ReferenceConvTranspose2d, WeightIsInputMajor) {
    // weight (C=2, K=3, 1, 1): y_k = x0 * w[0][k] + x1 * w[1][k].
    F32 x(1, 2, 1, 1, {1, 2});
    F32 wt(2, 3, 1, 1, {1, 2, 3, 4, 5, 6});
    F32 y(1, 3, 1, 1);
    conv_transpose2d(x.view(), wt.view(), nullptr, y.view(), ConvTranspose2dParams{});
    expect_values(y, {1 + 8, 2 + 10, 3 + 12});
}

TEST(ReferenceConvTranspose2d, GroupsDilationActivation) {
    // 2 channels, groups 2 (one output each), 1x2 kernel dilated by 2: OW = 0 + 2 + 1 = 3;
    // each x paints w[0] at column 0 and w[1] at column 2.
    F32 x(1, 2, 1, 1, {1, -2});
    F32 wt(2, 1, 1, 2, {1, 2, 3, 4});
    ConvTranspose2dParams p;
    p.groups = 2;
    p.dilation[1] = 2;
    p.act.kind = Activation::Relu;
    F32 y(1, 2, 1, 3);
    conv_transpose2d(x.view(), wt.view(), nullptr, y.view(), p);
    // ch0: [1, 0, 2]; ch1: [-6, 0, -8] -> relu [0, 0, 0]
    expect_values(y, {1, 0, 2, 0, 0, 0});
}

TEST(ReferenceConvTranspose2d, StridedBatchOutput) {
    F32 x(2, 1, 1, 2, {1, 2, 3, 4});
    F32 wt(1, 1, 1, 1, {3});
    F32 y(2, 1, 1, 3, {}, /*stride=*/4);
    ConvTranspose2dParams p;
    p.stride[1] = 2;  // OW = (2-1)*2 + 1 = 3: [3x0, 0, 3x1]
    conv_transpose2d(x.view(), wt.view(), nullptr, y.view(), p);
    expect_values(y, {3, 0, 6, 9, 0, 12});
    EXPECT_TRUE(y.gaps_untouched());
}

// ---------------------------------------------------------------------------- pooling

Pool2dParams pool(int kh, int kw, int sh, int sw) {
    Pool2dParams p;
    p.kernel[0] = kh;
    p.kernel[1] = kw;
    p.stride[0] = sh;
    p.stride[1] = sw;
    return p;
}

TEST(ReferenceMaxPool2d, TwoByTwoWithIndices) {
    F32 x(1, 1, 4, 4, {1, 5, 2, 0,   //
                       3, 4, 8, 8,   //
                       0, 0, -1, -2, //
                       9, 0, -3, -4});
    F32 y(1, 1, 2, 2);
    I32 idx(1, 1, 2, 2);
    max_pool2d(x.view(), y.view(), idx.view(), pool(2, 2, 2, 2));
    expect_values(y, {5, 8, 9, -1});
    // The tie 8, 8 at (1,2), (1,3) keeps the first: 1*4 + 2 = 6.
    expect_values(idx, {1, 6, 12, 10});
}

TEST(ReferenceMaxPool2d, CeilModePartialLastWindow) {
    // W = 5, kernel 2, stride 2, ceil_mode: ceil(3/2) + 1 = 3 windows, the last [4, 6)
    // holding only column 4.
    F32 x(1, 1, 1, 5, {1, 5, 2, 4, 3});
    F32 y(1, 1, 1, 3);
    I32 idx(1, 1, 1, 3);
    Pool2dParams p = pool(1, 2, 1, 2);
    p.ceil_mode = true;
    max_pool2d(x.view(), y.view(), idx.view(), p);
    expect_values(y, {5, 4, 3});
    expect_values(idx, {1, 3, 4});
}

TEST(ReferenceMaxPool2d, PaddingIsNeverChosen) {
    // All-negative input with padding 1: a padded zero must not win.
    F32 x(1, 1, 1, 3, {-3, -1, -2});
    F32 y(1, 1, 1, 2);
    I32 idx(1, 1, 1, 2);
    Pool2dParams p = pool(1, 2, 1, 2);
    p.pads[1] = 1;
    p.pads[3] = 0;
    // windows [-1, 1) and [1, 3)
    max_pool2d(x.view(), y.view(), idx.view(), p);
    expect_values(y, {-3, -1});
    expect_values(idx, {0, 1});
}

TEST(ReferenceMaxPool2d, Dilated) {
    // 1x5, kernel 2 dilated by 2 (taps s, s+2), stride 1, pads 1 left/right: OW = 5.
    F32 x(1, 1, 1, 5, {1, 5, 2, 4, 3});
    F32 y(1, 1, 1, 5);
    I32 idx(1, 1, 1, 5);
    Pool2dParams p = pool(1, 2, 1, 1);
    p.dilation[1] = 2;
    p.pads[1] = p.pads[3] = 1;
    max_pool2d(x.view(), y.view(), idx.view(), p);
    // s=-1: {_, 5}; s=0: {1, 2}; s=1: {5, 4}; s=2: {2, 3}; s=3: {4, _}
    expect_values(y, {5, 2, 5, 3, 4});
    expect_values(idx, {1, 2, 1, 4, 3});
}

TEST(ReferenceMaxPool2d, DilatedTwoDimensional) {
    // 3x3, kernel 2x2 dilated by 2: the one window holds the four corners.
    F32 x(1, 1, 3, 3, {1, 9, 2, 8, 0, 7, 3, 6, 4});
    F32 y(1, 1, 1, 1);
    I32 idx(1, 1, 1, 1);
    Pool2dParams p = pool(2, 2, 1, 1);
    p.dilation[0] = p.dilation[1] = 2;
    max_pool2d(x.view(), y.view(), idx.view(), p);
    expect_values(y, {4});
    expect_values(idx, {8});
}

TEST(ReferenceMaxPool2d, NanPropagatesWithTheLastNanIndex) {
    // ATen replaces the running max on `v > max || isnan(v)`: a NaN wins and a later NaN
    // takes the index. Without NaN the first of equal maxima is kept.
    F32 x(1, 2, 1, 4, {1, kNaN, 3, kNaN, /* channel 1 */ 2, 7, 7, 1});
    F32 y(1, 2, 1, 1);
    I32 idx(1, 2, 1, 1);
    max_pool2d(x.view(), y.view(), idx.view(), pool(1, 4, 1, 4));
    expect_values(y, {kNaN, 7});
    expect_values(idx, {3, 1});
}

TEST(ReferenceMaxPool2d, WindowEntirelyInPaddingAsPyTorch) {
    // 1x1 input, kernel 2 dilated by 2, pads 1: the one window's taps are -1 and 1, both
    // outside. PyTorch returns -inf and the index of the first tap past the padding,
    // (1, 1) -> 1*1 + 1 = 2, outside the plane.
    F32 x(1, 1, 1, 1, {5});
    F32 y(1, 1, 1, 1);
    I32 idx(1, 1, 1, 1);
    Pool2dParams p = pool(2, 2, 1, 1);
    p.dilation[0] = p.dilation[1] = 2;
    for (int& pad : p.pads) pad = 1;
    max_pool2d(x.view(), y.view(), idx.view(), p);
    expect_values(y, {-kInf});
    expect_values(idx, {2});
}

TEST(ReferenceMaxPool2d, WithoutIndicesAndStridedBatch) {
    F32 x(2, 1, 1, 2, {1, 2, 4, 3}, /*stride=*/3);
    F32 y(2, 1, 1, 1, {}, /*stride=*/2);
    max_pool2d(x.view(), y.view(), no_view(), pool(1, 2, 1, 2));
    expect_values(y, {2, 4});
    EXPECT_TRUE(y.gaps_untouched());
}

TEST(ReferenceMaxPool2d, FlatIndicesOverBatchAndChannels) {
    // N = 2, C = 2, 2x3 planes (H*W = 6), kernel 2x2, stride 1: windows on columns {0, 1}
    // and {1, 2}. Flat (ONNX) indices add (n*C + c) * 6 to the per-plane h*W + w; the
    // batch strides of x, y and indices (gaps) must not enter them.
    F32 x(2, 2, 2, 3,
          {1, 5, 2, 3, 0, 6,   // (0,0): 5 at 1; 6 at 5            -> 0 + {1, 5}
           7, 0, 0, 0, 0, 8,   // (0,1): 7 at 0; 8 at 5            -> 6 + {0, 5}
           0, 0, 0, 9, 0, 0,   // (1,0): 9 at 3; all 0: first, 1   -> 12 + {3, 1}
           2, 3, 4, 1, 1, 1},  // (1,1): 3 at 1; 4 at 2            -> 18 + {1, 2}
          /*stride=*/14);
    F32 y(2, 2, 1, 2, {}, /*stride=*/5);
    I32 idx(2, 2, 1, 2, {}, /*stride=*/6, /*poison=*/-7);
    Pool2dParams p = pool(2, 2, 1, 1);
    p.flat_indices = true;
    max_pool2d(x.view(), y.view(), idx.view(), p);
    expect_values(y, {5, 6, 7, 8, 9, 0, 3, 4});
    expect_values(idx, {1, 5, 6, 11, 15, 13, 19, 20});
    EXPECT_TRUE(y.gaps_untouched());
    EXPECT_TRUE(idx.gaps_untouched(-7));
    // The default (per plane, PyTorch's) on the same input.
    p.flat_indices = false;
    max_pool2d(x.view(), y.view(), idx.view(), p);
    expect_values(idx, {1, 5, 0, 5, 3, 1, 1, 2});
}

TEST(ReferenceAvgPool2d, PlainTwoByTwo) {
    F32 x(1, 1, 2, 4, {1, 2, 3, 4, 5, 6, 7, 9});
    F32 y(1, 1, 1, 2);
    avg_pool2d(x.view(), y.view(), pool(2, 2, 2, 2));
    expect_values(y, {3.5f, 5.75f});  // (1+2+5+6)/4, (3+4+7+9)/4
}

// W = 6, kernel 3, stride 2, pads 1, ceil_mode: ceil((6+2-3)/2) + 1 = 4 windows starting at
// -1, 1, 3, 5; the padded extent is [-1, 7), so the last window [5, 8) overhangs it by one.
Pool2dParams ceil_pool() {
    Pool2dParams p = pool(1, 3, 1, 2);
    p.pads[1] = p.pads[3] = 1;
    p.ceil_mode = true;
    return p;
}

TEST(ReferenceAvgPool2d, CeilModeExcludingPad) {
    F32 x(1, 1, 1, 6, {1, 2, 3, 4, 5, 6});
    F32 y(1, 1, 1, 4);
    avg_pool2d(x.view(), y.view(), ceil_pool());
    // in-bounds elements only: (1+2)/2, (2+3+4)/3, (4+5+6)/3, 6/1
    expect_values(y, {1.5f, 3, 5, 6});
}

TEST(ReferenceAvgPool2d, CeilModeIncludingPad) {
    F32 x(1, 1, 1, 6, {1, 2, 3, 4, 5, 6});
    F32 y(1, 1, 1, 4);
    Pool2dParams p = ceil_pool();
    p.count_include_pad = true;
    avg_pool2d(x.view(), y.view(), p);
    // divisor = window clipped to [-1, 7): 3, 3, 3, and 2 for [5, 7):
    // (0+1+2)/3, 9/3, 15/3, (6+0)/2
    expect_values(y, {1, 3, 5, 3});
}

TEST(ReferenceAvgPool2d, TwoDimensionalPadBothWays) {
    // 2x2 input, kernel 2, stride 1, pads 1 all round: 3x3 windows.
    F32 x(1, 1, 2, 2, {1, 2, 3, 4});
    Pool2dParams p = pool(2, 2, 1, 1);
    for (int& pad : p.pads) pad = 1;
    F32 y(1, 1, 3, 3);
    avg_pool2d(x.view(), y.view(), p);
    // Corners see one element, edges two, the centre all four.
    expect_values(y, {1, 1.5f, 2, 2, 2.5f, 3, 3, 3.5f, 4}, "exclude pad");
    p.count_include_pad = true;
    F32 y2(1, 1, 3, 3);
    avg_pool2d(x.view(), y2.view(), p);
    // Every window lies inside the padded extent: all divide by 4.
    expect_values(y2, {0.25f, 0.75f, 0.5f, 1, 2.5f, 1.5f, 0.75f, 1.75f, 1}, "include pad");
}

TEST(ReferenceAvgPool2d, DilatedBothWays) {
    // As the dilated max pool: taps s, s+2 for s = -1..3 over [1, 5, 2, 4, 3].
    F32 x(1, 1, 1, 5, {1, 5, 2, 4, 3});
    Pool2dParams p = pool(1, 2, 1, 1);
    p.dilation[1] = 2;
    p.pads[1] = p.pads[3] = 1;
    F32 y(1, 1, 1, 5);
    avg_pool2d(x.view(), y.view(), p);
    // in-bounds taps only: 5/1, (1+2)/2, (5+4)/2, (2+3)/2, 4/1
    expect_values(y, {5, 1.5f, 4.5f, 2.5f, 4}, "exclude pad");
    p.count_include_pad = true;
    F32 y2(1, 1, 1, 5);
    avg_pool2d(x.view(), y2.view(), p);
    // the spec's rule for dilated windows: divide by all kh*kw = 2 taps
    expect_values(y2, {2.5f, 1.5f, 4.5f, 2.5f, 2}, "include pad");
}

TEST(ReferenceAvgPool2d, StridedBatch) {
    F32 x(2, 1, 1, 2, {1, 2, 3, 5}, /*stride=*/4);
    F32 y(2, 1, 1, 1, {}, /*stride=*/3);
    avg_pool2d(x.view(), y.view(), pool(1, 2, 1, 2));
    expect_values(y, {1.5f, 4});
    EXPECT_TRUE(y.gaps_untouched());
}

TEST(ReferenceGlobalAvgPool, MeansPerChannel) {
    F32 x(2, 2, 1, 3, {1, 2, 3, 0, 0, 1, -3, 3, 6, 10, 20, 0}, /*stride=*/7);
    F32 y(2, 2, 1, 1, {}, /*stride=*/3);
    global_avg_pool(x.view(), y.view());
    expect_values(y, {2, 1.0f / 3.0f, 2, 10});
    EXPECT_TRUE(y.gaps_untouched());
}

TEST(ReferenceMaxUnpool2d, ScattersAndSkipsOutOfRange) {
    // y (3x3) starts poisoned: everything not scattered must become 0. Index 100 (past the
    // plane) and -1 are skipped.
    F32 x(1, 1, 2, 3, {5, 6, 7, 8, 9, 10});
    I32 idx(1, 1, 2, 3, {1, 6, 8, 100, -1, 4});
    F32 y(1, 1, 3, 3);
    max_unpool2d(x.view(), idx.view(), y.view());
    expect_values(y, {0, 5, 0, 0, 10, 0, 6, 0, 7});
}

TEST(ReferenceMaxUnpool2d, PerPlaneIndicesStridedBatch) {
    // Indices are within each (n, c) plane: index 0 of channel 1 is y[n][1][0][0].
    F32 x(2, 2, 1, 1, {1, 2, 3, 4});
    I32 idx(2, 2, 1, 1, {3, 0, 2, 1});
    F32 y(2, 2, 2, 2, {}, /*stride=*/9);
    max_unpool2d(x.view(), idx.view(), y.view());
    expect_values(y, {0, 0, 0, 1, /**/ 2, 0, 0, 0, /**/ 0, 0, 3, 0, /**/ 0, 4, 0, 0});
    EXPECT_TRUE(y.gaps_untouched());
}

TEST(ReferenceMaxUnpool2d, InvertsMaxPool) {
    F32 x(1, 1, 2, 4, {1, 5, 2, 0, 3, 4, 8, 8});
    F32 pooled(1, 1, 1, 2);
    I32 idx(1, 1, 1, 2);
    max_pool2d(x.view(), pooled.view(), idx.view(), pool(2, 2, 2, 2));
    F32 y(1, 1, 2, 4);
    max_unpool2d(pooled.view(), idx.view(), y.view());
    expect_values(y, {0, 5, 0, 0, 0, 0, 8, 0});
}

// ------------------------------------------------------------------------ elementwise

TEST(ReferenceActivation, EveryKind) {
    const std::vector<float> xs = {-2, 0, 1};
    auto run = [&](Activation kind, float alpha) {
        F32 x(1, 1, 1, 3, xs);
        F32 y(1, 1, 1, 3);
        activation(x.view(), y.view(), ActivationParams{kind, alpha});
        return y;
    };
    expect_values(run(Activation::None, 0.01f), {-2, 0, 1}, "none");
    expect_values(run(Activation::Relu, 0.01f), {0, 0, 1}, "relu");
    expect_values(run(Activation::LeakyRelu, 0.1f), {-0.2f, 0, 1}, "leaky_relu");
    // 1 / (1 + e^2) = 0.11920292202211755, 1 / (1 + e^-1) = 0.7310585786300049
    expect_values(run(Activation::Sigmoid, 0.01f), {0.11920292202211755f, 0.5f,
                                                    0.7310585786300049f}, "sigmoid");
    // tanh(2) = 0.9640275800758169, tanh(1) = 0.7615941559557649
    expect_values(run(Activation::Tanh, 0.01f), {-0.9640275800758169f, 0,
                                                 0.7615941559557649f}, "tanh");
}

TEST(ReferenceActivation, InPlaceAndStrided) {
    F32 x(2, 1, 1, 2, {-1, 2, 3, -4}, /*stride=*/3);
    activation(x.view(), x.view(), ActivationParams{Activation::Relu, 0.01f});
    expect_values(x, {0, 2, 3, 0});
    EXPECT_TRUE(x.gaps_untouched());
}

TEST(ReferenceBinary, AddSameShapeWithRelu) {
    F32 a(1, 1, 1, 3, {1, -5, 2});
    F32 b(1, 1, 1, 3, {1, 2, -3});
    F32 y(1, 1, 1, 3);
    BinaryParams p;
    p.act.kind = Activation::Relu;
    binary(a.view(), b.view(), y.view(), p);
    expect_values(y, {2, 0, 0});
}

TEST(ReferenceBinary, MulBroadcastPerChannelInPlace) {
    // b (N, C, 1, 1) scales each plane; y aliases a.
    F32 a(2, 2, 1, 2, {1, 2, 3, 4, 5, 6, 7, 8});
    F32 b(2, 2, 1, 1, {10, -1, 0.5f, 2});
    BinaryParams p;
    p.op = BinaryOp::Mul;
    binary(a.view(), b.view(), a.view(), p);
    expect_values(a, {10, 20, -3, -4, 2.5f, 3, 14, 16});
}

TEST(ReferenceBinary, AddBroadcastStridedOutput) {
    F32 a(2, 1, 1, 2, {1, 2, 3, 4});
    F32 b(2, 1, 1, 1, {100, 200});
    F32 y(2, 1, 1, 2, {}, /*stride=*/3);
    binary(a.view(), b.view(), y.view(), BinaryParams{});
    expect_values(y, {101, 102, 203, 204});
    EXPECT_TRUE(y.gaps_untouched());
}

TEST(ReferenceBatchNorm, EvalFormula) {
    // channel 0: (x - 1) / sqrt(3 + 1) * 4 + 1 = 2x - 1; channel 1: (x - 0)/sqrt(0 + 1)*1 + 0
    F32 x(1, 2, 1, 2, {1, 2, -3, 5});
    const float scale[] = {4, 1}, bias[] = {1, 0}, mean[] = {1, 0}, var[] = {3, 0};
    F32 y(1, 2, 1, 2);
    batch_norm(x.view(), scale, bias, mean, var, 1.0f, ActivationParams{}, y.view());
    expect_values(y, {1, 3, -3, 5});
    // with a fused relu (fuse_activation's batch_norm + relu): -3 becomes 0
    ActivationParams relu;
    relu.kind = Activation::Relu;
    batch_norm(x.view(), scale, bias, mean, var, 1.0f, relu, y.view());
    expect_values(y, {1, 3, 0, 5});
}

TEST(ReferenceBatchNorm, DefaultEpsilon) {
    // (2 - 0) / sqrt(1 + 1e-5) = 1.9999900000749994
    F32 x(1, 1, 1, 1, {2});
    const float scale[] = {1}, bias[] = {0}, mean[] = {0}, var[] = {1};
    F32 y(1, 1, 1, 1);
    batch_norm(x.view(), scale, bias, mean, var, 1e-5f, ActivationParams{}, y.view());
    expect_values(y, {1.9999900000749994f});
}

TEST(ReferenceCopy, FloatStridedBothWays) {
    F32 x(2, 1, 1, 2, {1, 2, 3, 4}, /*stride=*/5);
    F32 y(2, 1, 1, 2, {}, /*stride=*/3);
    copy(x.view(), y.view());
    expect_values(y, {1, 2, 3, 4});
    EXPECT_TRUE(y.gaps_untouched());
}

TEST(ReferenceCopy, Int32) {
    I32 x(2, 1, 1, 2, {7, -8, 9, 2147483647});
    I32 y(2, 1, 1, 2, {}, /*stride=*/3, /*poison=*/-5);
    copy(x.view(), y.view());
    expect_values(y, {7, -8, 9, 2147483647});
    EXPECT_TRUE(y.gaps_untouched(-5));
}

// ----------------------------------------------------------------------------- concat

TEST(ReferenceConcat, ChannelsIntoStridedOutput) {
    // Two batch items of y (3 channels of 1x2, batch stride 6 + 2 spare): x fills channels
    // 1..2; channel 0 and the spare elements stay poisoned.
    F32 x(2, 2, 1, 2, {1, 2, 3, 4, 5, 6, 7, 8});
    F32 y(2, 3, 1, 2, {}, /*stride=*/8);
    concat_copy(x.view(), y.view(), 1, 1);
    const float P = kPoison;
    expect_values(y, {P, P, 1, 2, 3, 4, P, P, 5, 6, 7, 8});
    EXPECT_TRUE(y.gaps_untouched());
}

TEST(ReferenceConcat, StridedInput) {
    F32 x(2, 1, 1, 1, {1, 2}, /*stride=*/4);
    F32 y(2, 2, 1, 1, {}, /*stride=*/3);
    concat_copy(x.view(), y.view(), 1, 0);
    const float P = kPoison;
    expect_values(y, {1, P, 2, P});
    EXPECT_TRUE(y.gaps_untouched());
}

TEST(ReferenceConcat, BatchHeightWidthAxes) {
    const float P = kPoison;
    F32 x(1, 1, 1, 2, {1, 2});
    F32 yn(3, 1, 1, 2);
    concat_copy(x.view(), yn.view(), 0, 1);
    expect_values(yn, {P, P, 1, 2, P, P}, "axis 0");
    F32 yh(1, 1, 3, 2);
    concat_copy(x.view(), yh.view(), 2, 2);
    expect_values(yh, {P, P, P, P, 1, 2}, "axis 2");
    F32 yw(1, 1, 2, 3);
    F32 x2(1, 1, 2, 2, {1, 2, 3, 4});
    concat_copy(x2.view(), yw.view(), 3, 1);
    expect_values(yw, {P, 1, 2, P, 3, 4}, "axis 3");
}

TEST(ReferenceConcat, Int32) {
    I32 x(1, 1, 1, 2, {4, 5});
    I32 y(1, 2, 1, 2, {}, 0, /*poison=*/-1);
    concat_copy(x.view(), y.view(), 1, 1);
    expect_values(y, {-1, -1, 4, 5});
}

// ---------------------------------------------------------------------- softmax/argmax

TEST(ReferenceSoftmax, ChannelsKnownValues) {
    // softmax(ln 1, ln 2, ln 3) = (1, 2, 3) / 6, at each of two pixels (second shifted).
    F32 x(1, 3, 1, 2, {0, 10, std::log(2.0f), 10 + std::log(2.0f), std::log(3.0f),
                       10 + std::log(3.0f)});
    F32 y(1, 3, 1, 2);
    softmax(x.view(), y.view(), 1);
    const std::vector<float> got = y.values();
    const float want[] = {1 / 6.0f, 1 / 6.0f, 2 / 6.0f, 2 / 6.0f, 3 / 6.0f, 3 / 6.0f};
    for (size_t i = 0; i < 6; ++i) EXPECT_NEAR(got[i], want[i], 2e-6) << i;
}

TEST(ReferenceSoftmax, StableForHugeLogits) {
    // exp(1000) overflows; subtracting the max gives (1, e^-1) / (1 + e^-1).
    F32 x(1, 2, 1, 2, {1000, 1000, 999, 1000});
    F32 y(1, 2, 1, 2);
    softmax(x.view(), y.view(), 1);
    expect_values(y, {0.7310585786300049f, 0.5f, 0.2689414213699951f, 0.5f});
}

TEST(ReferenceSoftmax, SumsToOneAlongEveryAxis) {
    std::vector<float> xs(2 * 3 * 4 * 5);
    for (size_t i = 0; i < xs.size(); ++i) xs[i] = static_cast<float>((i * 37) % 11) - 5.0f;
    for (int axis = 0; axis < 4; ++axis) {
        F32 x(2, 3, 4, 5, xs, /*stride=*/61);
        F32 y(2, 3, 4, 5, {}, /*stride=*/62);
        softmax(x.view(), y.view(), axis);
        EXPECT_TRUE(y.gaps_untouched());
        const int64_t dims[4] = {2, 3, 4, 5};
        int64_t ext[4] = {2, 3, 4, 5};
        ext[axis] = 1;
        View v = y.view();
        for (int64_t n = 0; n < ext[0]; ++n)
            for (int64_t c = 0; c < ext[1]; ++c)
                for (int64_t h = 0; h < ext[2]; ++h)
                    for (int64_t w = 0; w < ext[3]; ++w) {
                        double sum = 0.0;
                        for (int64_t k = 0; k < dims[axis]; ++k) {
                            int64_t at[4] = {n, c, h, w};
                            at[axis] = k;
                            const float p = v.f32()[v.offset(at[0], at[1], at[2], at[3])];
                            EXPECT_GT(p, 0.0f);
                            sum += p;
                        }
                        EXPECT_NEAR(sum, 1.0, 1e-6) << "axis " << axis;
                    }
    }
}

TEST(ReferenceSoftmax, AlongBatchAndWidth) {
    // axis 0 pairs (x[0][i], x[1][i]); axis 3 runs along each row.
    F32 x(2, 1, 1, 2, {0, 5, 0, 5});
    F32 y0(2, 1, 1, 2);
    softmax(x.view(), y0.view(), 0);
    expect_values(y0, {0.5f, 0.5f, 0.5f, 0.5f}, "axis 0");
    F32 y3(2, 1, 1, 2);
    softmax(x.view(), y3.view(), 3);
    // 1 / (1 + e^5) = 0.0066928509242848554
    expect_values(y3, {0.0066928509242848554f, 0.9933071490757153f, 0.0066928509242848554f,
                       0.9933071490757153f}, "axis 3");
}

TEST(ReferenceSoftmax, NanPoisonsItsLane) {
    F32 x(1, 2, 1, 2, {kNaN, 1, 0, 1});
    F32 y(1, 2, 1, 2);
    softmax(x.view(), y.view(), 1);
    expect_values(y, {kNaN, 0.5f, kNaN, 0.5f});
}

TEST(ReferenceArgmax, ChannelsWithTies) {
    // Per pixel over 3 channels; ties keep the lowest channel.
    F32 x(1, 3, 1, 4, {1, 5, 2, 0,  //
                       3, 5, 2, 0,  //
                       3, 4, 2, -1});
    I32 y(1, 1, 1, 4);
    argmax(x.view(), y.view(), 1);
    expect_values(y, {1, 0, 0, 0});
}

TEST(ReferenceArgmax, NanWinsFirstNan) {
    // torch.argmax([1, nan, 3, nan]) == 1; an all -inf lane gives 0.
    F32 x(1, 1, 2, 4, {1, kNaN, 3, kNaN, -kInf, -kInf, -kInf, -kInf});
    I32 y(1, 1, 2, 1);
    argmax(x.view(), y.view(), 3);
    expect_values(y, {1, 0});
}

TEST(ReferenceArgmax, BatchAndHeightAxesStrided) {
    F32 x(2, 1, 2, 2, {1, 9, 3, 3, /**/ 2, 9, 0, 4}, /*stride=*/5);
    I32 yn(1, 1, 2, 2);
    argmax(x.view(), yn.view(), 0);
    expect_values(yn, {1, 0, 0, 1}, "axis 0");
    I32 yh(2, 1, 1, 2, {}, /*stride=*/3, /*poison=*/-9);
    argmax(x.view(), yh.view(), 2);
    expect_values(yh, {1, 0, 0, 0}, "axis 2");
    EXPECT_TRUE(yh.gaps_untouched(-9));
}

// ----------------------------------------------------------------------------- resize

ResizeParams resize_params(ResizeMode mode, bool align_corners, double sh, double sw) {
    ResizeParams p;
    p.mode = mode;
    p.align_corners = align_corners;
    p.coord_scale[0] = sh;
    p.coord_scale[1] = sw;
    return p;
}

TEST(ReferenceResize, NearestUpTwice) {
    F32 x(1, 1, 2, 2, {1, 2, 3, 4});
    F32 y(1, 1, 4, 4);
    resize(x.view(), y.view(), resize_params(ResizeMode::Nearest, false, 0.5, 0.5));
    expect_values(y, {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
}

TEST(ReferenceResize, NearestNonInteger) {
    // 3 -> 5 (coord_scale 0.6): floor(0, 0.6, 1.2, 1.8, 2.4) = 0, 0, 1, 1, 2.
    F32 x(1, 1, 1, 3, {10, 20, 30});
    F32 y(1, 1, 1, 5);
    resize(x.view(), y.view(), resize_params(ResizeMode::Nearest, false, 1.0, 0.6));
    expect_values(y, {10, 10, 20, 20, 30});
}

TEST(ReferenceResize, NearestDown) {
    // 5 -> 2 (coord_scale 2.5): floor(0, 2.5) = 0, 2.
    F32 x(1, 1, 1, 5, {1, 2, 3, 4, 5});
    F32 y(1, 1, 1, 2);
    resize(x.view(), y.view(), resize_params(ResizeMode::Nearest, false, 1.0, 2.5));
    expect_values(y, {1, 3});
}

TEST(ReferenceResize, NearestUnchangedSizeStillUsesScale) {
    // interpolate(scale_factor=1.3) on 3 pixels gives 3 pixels; for NCHW with C > 1 PyTorch
    // still samples floor(d / 1.3) = 0, 0, 1 (it copies only for a single channel).
    F32 x(1, 2, 1, 3, {10, 20, 30, 40, 50, 60});
    F32 y(1, 2, 1, 3);
    resize(x.view(), y.view(), resize_params(ResizeMode::Nearest, false, 1.0, 1.0 / 1.3));
    expect_values(y, {10, 10, 20, 40, 40, 50});
}

TEST(ReferenceResize, NearestIndexInFloat32AsPyTorch) {
    // 2 -> 98: PyTorch computes floorf(49.0f * float(2/98)) = 1, float64 would give 0.
    F32 x(1, 1, 1, 2, {10, 20});
    F32 y(1, 1, 1, 98);
    resize(x.view(), y.view(), resize_params(ResizeMode::Nearest, false, 1.0, 2.0 / 98.0));
    const std::vector<float> got = y.values();
    EXPECT_EQ(got[48], 10);
    EXPECT_EQ(got[49], 20);
    EXPECT_EQ(got[97], 20);
}

TEST(ReferenceResize, BilinearHalfPixel) {
    // [0, 10] -> 4 (coord_scale 0.5): src = max((d + 0.5) / 2 - 0.5, 0) = 0, 0.25, 0.75,
    // 1.25; the last has index+1 clamped to 1, so it is x[1].
    F32 x(1, 1, 1, 2, {0, 10});
    F32 y(1, 1, 1, 4);
    resize(x.view(), y.view(), resize_params(ResizeMode::Bilinear, false, 1.0, 0.5));
    expect_values(y, {0, 2.5f, 7.5f, 10});
}

TEST(ReferenceResize, BilinearHalfPixelDown) {
    // [0, 10, 20, 30] -> 2: src = (d + 0.5) * 2 - 0.5 = 0.5, 2.5.
    F32 x(1, 1, 1, 4, {0, 10, 20, 30});
    F32 y(1, 1, 1, 2);
    resize(x.view(), y.view(), resize_params(ResizeMode::Bilinear, false, 1.0, 2.0));
    expect_values(y, {5, 25});
}

TEST(ReferenceResize, BilinearAlignCorners) {
    // src = d * (in - 1) / (out - 1); coord_scale is not used.
    F32 x(1, 1, 1, 2, {0, 10});
    F32 y(1, 1, 1, 4);
    resize(x.view(), y.view(), resize_params(ResizeMode::Bilinear, true, 1.0, 0.5));
    expect_values(y, {0, 10.0f / 3.0f, 20.0f / 3.0f, 10});
}

TEST(ReferenceResize, BilinearTwoDimensional) {
    // 2x2 -> 3x3, align_corners: sources 0, 0.5, 1 per axis.
    F32 x(1, 1, 2, 2, {0, 10, 20, 30});
    F32 y(1, 1, 3, 3);
    resize(x.view(), y.view(), resize_params(ResizeMode::Bilinear, true, 2.0 / 3, 2.0 / 3));
    expect_values(y, {0, 5, 10, 10, 15, 20, 20, 25, 30}, "align_corners");
    // Half-pixel, 2x2 -> 4x4: per axis sources 0, 0.25, 0.75, 1.25 -> weights of x[1]
    // 0, 0.25, 0.75, 1 (clamped): row r = 20 * t_r, column c adds 10 * t_c.
    F32 y2(1, 1, 4, 4);
    resize(x.view(), y2.view(), resize_params(ResizeMode::Bilinear, false, 0.5, 0.5));
    expect_values(y2, {0, 2.5f, 7.5f, 10,          //
                       5, 7.5f, 12.5f, 15,         //
                       15, 17.5f, 22.5f, 25,       //
                       20, 22.5f, 27.5f, 30}, "half pixel");
}

TEST(ReferenceResize, BilinearUnchangedAxisIgnoresScale) {
    // scale (1.3, 1.5) on 2x3 gives 2x4: H is copied (ATen's out == in shortcut), W uses
    // 1/1.5: src = (d + 0.5) / 1.5 - 0.5 = 0 (clamped), 0.5, 7/6, 11/6.
    F32 x(1, 1, 2, 3, {0, 10, 20, 100, 110, 120});
    F32 y(1, 1, 2, 4);
    resize(x.view(), y.view(),
           resize_params(ResizeMode::Bilinear, false, 1.0 / 1.3, 1.0 / 1.5));
    expect_values(y, {0, 5, 35.0f / 3.0f, 55.0f / 3.0f, 100, 105, 335.0f / 3.0f,
                      355.0f / 3.0f});
}

TEST(ReferenceResize, BilinearSingleOutputAlignCorners) {
    F32 x(1, 1, 1, 3, {7, 8, 9});
    F32 y(1, 1, 1, 1);
    resize(x.view(), y.view(), resize_params(ResizeMode::Bilinear, true, 1.0, 3.0));
    expect_values(y, {7});
}

TEST(ReferenceResize, StridedBatch) {
    F32 x(2, 1, 1, 1, {1, 2}, /*stride=*/2);
    F32 y(2, 1, 1, 2, {}, /*stride=*/3);
    resize(x.view(), y.view(), resize_params(ResizeMode::Nearest, false, 1.0, 0.5));
    expect_values(y, {1, 1, 2, 2});
    EXPECT_TRUE(y.gaps_untouched());
}

// ------------------------------------------------------------------------- crop / pad

TEST(ReferenceCrop, Window) {
    F32 x(1, 1, 3, 3, one_to_nine());
    F32 y(1, 1, 2, 2);
    crop(x.view(), y.view(), 1, 0);
    expect_values(y, {4, 5, 7, 8});
}

TEST(ReferenceCrop, StridedBatch) {
    F32 x(2, 1, 1, 3, {1, 2, 3, 4, 5, 6}, /*stride=*/4);
    F32 y(2, 1, 1, 1, {}, /*stride=*/2);
    crop(x.view(), y.view(), 0, 2);
    expect_values(y, {3, 6});
    EXPECT_TRUE(y.gaps_untouched());
}

PadParams pad_params(PadMode mode, int pt, int pl, int pb, int pr, float value = 0.0f) {
    PadParams p;
    p.mode = mode;
    p.pads[0] = pt;
    p.pads[1] = pl;
    p.pads[2] = pb;
    p.pads[3] = pr;
    p.value = value;
    return p;
}

TEST(ReferencePad, OneRowAllModes) {
    F32 x(1, 1, 1, 3, {1, 2, 3});
    F32 yc(1, 1, 1, 7);
    pad(x.view(), yc.view(), pad_params(PadMode::Constant, 0, 2, 0, 2, 9));
    expect_values(yc, {9, 9, 1, 2, 3, 9, 9}, "constant");
    F32 yr(1, 1, 1, 7);
    pad(x.view(), yr.view(), pad_params(PadMode::Reflect, 0, 2, 0, 2));
    expect_values(yr, {3, 2, 1, 2, 3, 2, 1}, "reflect");
    F32 ye(1, 1, 1, 7);
    pad(x.view(), ye.view(), pad_params(PadMode::Edge, 0, 2, 0, 2));
    expect_values(ye, {1, 1, 1, 2, 3, 3, 3}, "edge");
}

TEST(ReferencePad, TwoDimensionalReflect) {
    // [[1,2,3],[4,5,6]] with pads {top 1, left 1, bottom 1, right 0}:
    // rows -1, 0, 1, 2 -> 1, 0, 1, 0; columns -1, 0, 1, 2 -> 1, 0, 1, 2.
    F32 x(1, 1, 2, 3, {1, 2, 3, 4, 5, 6});
    F32 y(1, 1, 4, 4);
    pad(x.view(), y.view(), pad_params(PadMode::Reflect, 1, 1, 1, 0));
    expect_values(y, {5, 4, 5, 6, 2, 1, 2, 3, 5, 4, 5, 6, 2, 1, 2, 3});
}

TEST(ReferencePad, TwoDimensionalEdgeAndConstant) {
    F32 x(1, 1, 2, 2, {1, 2, 3, 4});
    F32 ye(1, 1, 3, 4);
    pad(x.view(), ye.view(), pad_params(PadMode::Edge, 0, 1, 1, 1));
    expect_values(ye, {1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}, "edge");
    F32 yc(1, 1, 3, 3);
    pad(x.view(), yc.view(), pad_params(PadMode::Constant, 1, 0, 0, 1, -1));
    expect_values(yc, {-1, -1, -1, 1, 2, -1, 3, 4, -1}, "constant");
}

TEST(ReferencePad, NegativePadsCrop) {
    // Left -1 drops column 0, right +1 appends the constant; top -1 drops row 0.
    F32 x(1, 1, 2, 3, {1, 2, 3, 4, 5, 6});
    F32 y(1, 1, 1, 3);
    pad(x.view(), y.view(), pad_params(PadMode::Constant, -1, -1, 0, 1, 0));
    expect_values(y, {5, 6, 0});
    F32 ye(1, 1, 2, 1);
    pad(x.view(), ye.view(), pad_params(PadMode::Edge, 0, -1, 0, -1));
    expect_values(ye, {2, 5}, "edge, crop both sides");
}

TEST(ReferencePad, StridedBatch) {
    F32 x(2, 1, 1, 2, {1, 2, 3, 4}, /*stride=*/3);
    F32 y(2, 1, 1, 3, {}, /*stride=*/5);
    pad(x.view(), y.view(), pad_params(PadMode::Reflect, 0, 1, 0, 0));
    expect_values(y, {2, 1, 2, 4, 3, 4});
    EXPECT_TRUE(y.gaps_untouched());
}

// ------------------------------------------------------------------------------ dense

TEST(ReferenceDense, FlattensChannelMajorWithBiasAndRelu) {
    // x (1, 2, 1, 2) flattens to [1, 2, 3, 4]; weight rows pick f0 + f3 and sum all.
    F32 x(1, 2, 1, 2, {1, 2, 3, 4});
    F32 wt(2, 4, 1, 1, {1, 0, 0, 1, 1, 1, 1, 1});
    const float bias[] = {0.5f, -20};
    F32 y(1, 2, 1, 1);
    dense(x.view(), wt.view(), bias, y.view(), ActivationParams{Activation::Relu, 0.01f});
    expect_values(y, {5.5f, 0});
}

TEST(ReferenceDense, SpatialFlattenOrderAndStridedBatch) {
    // x (2, 2, 2, 1): features ordered c0h0, c0h1, c1h0, c1h1; weight [1, 10, 100, 1000].
    F32 x(2, 2, 2, 1, {1, 2, 3, 4, 5, 6, 7, 8}, /*stride=*/6);
    F32 wt(1, 4, 1, 1, {1, 10, 100, 1000});
    F32 y(2, 1, 1, 1, {}, /*stride=*/2);
    dense(x.view(), wt.view(), nullptr, y.view(), ActivationParams{});
    expect_values(y, {4321, 8765});
    EXPECT_TRUE(y.gaps_untouched());
}

}  // namespace
}  // namespace fcnrt::reference
