// Fast CPU fully connected layer: one SGEMM x [N, F] x weight^T [F, out] -> y
// [N, out] (split into one panel per OpenMP thread by gemm.cpp; row strides are
// the views' batch strides, so strided inputs and outputs need no copy), then the
// bias + activation epilogue over rows (OpenMP over rows of large outputs).
#include "kernels/cpu/dense.h"

#include "kernels/cpu/gemm.h"

namespace fcnrt::cpu {

void dense(const View& x, const View& weight, const float* bias, const View& y,
           ActivationParams act) {
    const int64_t rows = x.n, features = x.chw(), outputs = y.chw();
    // (N, F) x (out, F)^T -> (N, out)
    // A single row's stride is irrelevant, but OpenBLAS insists on ld >= row length.
    const int64_t ldx = rows == 1 ? features : x.batch_stride;
    const int64_t ldy = rows == 1 ? outputs : y.batch_stride;
    const int64_t ldw = weight.n == 1 ? features : weight.batch_stride;
    sgemm(false, true, rows, outputs, features, 1.0f, x.f32(), ldx, weight.f32(), ldw, 0.0f,
          y.f32(), ldy);
    if (bias == nullptr && act.kind == Activation::None) return;
#pragma omp parallel for schedule(static) if (rows * outputs > 32768)
    for (int64_t n = 0; n < rows; ++n) {
        float* out = y.f32() + n * ldy;  // (out)
        if (bias == nullptr) {
            bias_activation(out, outputs, 0.0f, act);
        } else {
            for (int64_t o = 0; o < outputs; ++o) out[o] = apply_activation(out[o] + bias[o], act);
        }
    }
}

}  // namespace fcnrt::cpu
