// Convolution on the tensor cores (nvcuda::wmma): TF32, BF16 or FP16 inputs with
// float32 accumulation, for conv2d and conv_transpose2d with any stride, dilation,
// padding, output_padding and groups.
// The weights are rounded to the format and packed once, at load
// (pack_conv2d_weights_tensor_core); activations stay float32 in memory and are
// rounded as they are staged (see conv_tensor_core.cu for why). Same contract as
// cuda::conv2d otherwise: enqueued on `stream`, launches checked, no synchronising.
#pragma once

#include <cuda_runtime_api.h>

#include <memory>

#include "kernels/op_params.h"
#include "kernels/precision.h"
#include "kernels/view.h"

namespace fcnrt::cuda {

// The weights of one conv node, on the device, in the element type of `precision`
// (float holding TF32 values for tf32; __half; __nv_bfloat16): per group g a
// row-major [kg, kred_padded] matrix, row m = output channel g*kg + m, column
// (ci*kh + ky)*kw + kx, zero beyond kred (kred_padded: a whole number of the
// kernel's reduction stages, so that the columns load without bounds checks).
// For conv_transpose (transposed == true) the rows are the same, from the weight
// [C, Kg, kh, kw]: row g*kg + m, column (ci*kh + ky)*kw + kx = w[g*cg + ci, m, ky, kx].
struct TensorCoreConvWeights {
    Precision precision = Precision::Tf32;
    bool transposed = false;  // packed by pack_conv_transpose2d_weights_tensor_core
    bool dense = false;       // packed by pack_dense_weights_tensor_core (kg = out, kred = F)
    std::shared_ptr<void> data;  // device memory, freed with the last holder
    int groups = 1, kg = 0, cg = 0, kh = 0, kw = 0;
    int kred = 0;  // cg * kh * kw
    int kred_padded = 0;
};

// Whether conv2d_tensor_core runs this convolution; depthwise convolutions (one
// input and one output channel per group) have no GEMM worth the tensor cores and
// stay on cuda::conv2d.
bool conv2d_tensor_core_applies(const View& weight, int groups);

// Reads `weight` [K, C/groups, kh, kw] (float32, device memory, contiguous) back to
// the host, rounds it with round_to_precision and uploads the packed matrix. Load
// time only: it allocates and synchronises. `precision` must not be fp32.
std::shared_ptr<const TensorCoreConvWeights> pack_conv2d_weights_tensor_core(const View& weight,
                                                                             int groups,
                                                                             Precision precision);

// x [N, C, H, W], bias [K] or nullptr, y [N, K, OH, OW] sized by shape inference,
// p.residual optional; `weight` is the original float32 view (for shape checks),
// `packed` its packed form.
void conv2d_tensor_core(const View& x, const View& weight, const TensorCoreConvWeights& packed,
                        const float* bias, const View& y, const Conv2dParams& p,
                        cudaStream_t stream);

// conv_transpose2d on the tensor cores, with cuda::conv_transpose2d's contract
// (x [N, C, H, W], weight [C, K/groups, kh, kw], bias [K] or nullptr, y [N, K, OH,
// OW] sized by shape inference). An output-stationary implicit GEMM over all
// Cg*kh*kw taps: a tap whose input position (oy + pt - ky*dh) / sh is not a whole
// number in range reads as zero, so a stride-s layer multiplies about s_h*s_w
// times as many (zero) products as it needs. Depthwise layers (one input and one
// output channel per group) stay on cuda::conv_transpose2d.
bool conv_transpose2d_tensor_core_applies(const View& weight, int groups);
std::shared_ptr<const TensorCoreConvWeights> pack_conv_transpose2d_weights_tensor_core(
    const View& weight, int groups, Precision precision);
void conv_transpose2d_tensor_core(const View& x, const View& weight,
                                  const TensorCoreConvWeights& packed, const float* bias,
                                  const View& y, const ConvTranspose2dParams& p,
                                  cudaStream_t stream);

// dense on the tensor cores, with cuda::dense's contract (x read as [N, F], F =
// C*H*W of the view; weight [out, F]; bias [out] or nullptr; y [N, out]): the same
// kernel with the batch items as its pixel columns, Y^T [out, N] = W [out, F] x
// X^T [F, N]. The packing is conv's for a [out, F, 1, 1] weight.
std::shared_ptr<const TensorCoreConvWeights> pack_dense_weights_tensor_core(const View& weight,
                                                                           Precision precision);
void dense_tensor_core(const View& x, const TensorCoreConvWeights& packed, const float* bias,
                       const View& y, ActivationParams act, cudaStream_t stream);

}  // namespace fcnrt::cuda
