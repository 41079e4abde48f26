// Dense conversion of a patchwise classifier (Li et al. 2014, "Highly efficient
// forward and backward propagation of convolutional neural networks for
// pixelwise classification"; ../shared/spec/model-format.md, "Dense conversion").
//
// A patch model (metadata "patch": [ph, pw]) maps [N, C, ph, pw] to the scores
// of each patch's centre pixel, [N, classes] or [N, classes, 1, 1]. The dense
// model maps one image [1, C, H, W] (H >= ph, W >= pw) to
// [1, classes, H - ph + 1, W - pw + 1], with output (y, x) equal to the patch
// model on image[:, :, y : y + ph, x : x + pw], at the cost of one pass over
// the image instead of one per pixel.
//
// How: every stride is removed and every later kernel is dilated by the
// product d of the strides before it ("d-regularly sparse kernels"). A tensor
// of patch-space size h then lives in the dense model as a map whose row
// y + i * d holds patch pixel i of the patch at row y. A dense layer reads the
// whole map at its point, so it becomes a conv whose kernel is that map
// ([out, F] reshaped to [out, C, h, w], dilated by d); later dense layers,
// reading 1x1 maps, become 1x1 convs. Where a VALID window drops trailing
// rows or columns of the patch, the dense map has rows no patch position
// needs; they are cropped away where branches meet and at the outputs.
#pragma once

#include "engine/graph.h"

namespace fcnrt {

struct DensifyOptions {
    // Pad the image first so that the output has the image's own size, pixel
    // (y, x) scored by the patch centred on it: ph // 2 rows on top,
    // ph - 1 - ph // 2 below, pw // 2 columns left, pw - 1 - pw // 2 right.
    bool same_size = false;
    enum class Halo { Reflect, Zero };
    Halo halo = Halo::Reflect;  // how the padding is filled (reflect: as numpy/PyTorch)
};

// The dense model equivalent to `patch_model` (best loaded with
// LoadOptions{.optimize = false}, though fused activations and folded
// batch_norms are handled too). Tensor names are kept, so the graph outputs
// keep theirs; weights are shared by name except for dense layers, whose
// reshaped kernels get new names. Metadata: "patch" is replaced by
// "dense_from_patch": [ph, pw] (and "dense_halo": "reflect" | "zero" with
// same_size); every other key is kept.
//
// Throws fcnrt::Error naming the node and the reason for anything that has
// no exact dense equivalent: padded conv or pool, ceil_mode, resize,
// conv_transpose, max_unpool, global pooling, crop, pad, channel ops over
// anything but the channel axis, mixing of features across positions
// before a dense layer (see densify.cpp), and a model without "patch".
Model densify(const Model& patch_model, const DensifyOptions& options = {});

}  // namespace fcnrt
