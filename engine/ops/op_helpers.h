// Small helpers shared by the op definitions in engine/ops/: shape checks with
// clear messages, window arithmetic exactly as PyTorch rounds it, and the
// adapters that turn KernelArgs into a kernel call.
#pragma once

#include <string>
#include <type_traits>
#include <vector>

#include "engine/error.h"
#include "engine/op_registry.h"

// CUDA's stream type (cudaStream_t is CUstream_st*), named without the CUDA headers.
struct CUstream_st;

namespace fcnrt::ops {

inline bool known(int64_t d) { return d != kUnknownDim; }

// Rank check for activation input `index`.
inline const Shape& input_shape(const InferContext& c, size_t index, size_t rank,
                                const char* what) {
    const Shape& s = c.inputs.at(index).shape;
    if (s.size() != rank)
        throw Error("input " + std::to_string(index) + " (" + what + ") must have rank " +
                    std::to_string(rank) + ", got shape " + shape_to_string(s));
    return s;
}

inline void require_f32(const InferContext& c, size_t index) {
    if (c.inputs.at(index).dtype != DType::F32)
        throw Error("input " + std::to_string(index) + " must be float32, got " +
                    dtype_name(c.inputs.at(index).dtype));
}

// Checks a weight's shape; `expected` may hold kUnknownDim for dims the graph
// leaves open until run time.
inline void require_weight_shape(const InferContext& c, size_t slot, const char* key,
                                 const Shape& expected) {
    const Tensor* t = c.weights.at(slot);
    if (!t) return;
    bool ok = t->shape().size() == expected.size() && t->dtype() == DType::F32;
    for (size_t i = 0; ok && i < expected.size(); ++i)
        ok = !known(expected[i]) || expected[i] == t->shape()[i];
    if (!ok) {
        std::string want = "[";
        for (size_t i = 0; i < expected.size(); ++i)
            want += (i ? ", " : "") + (known(expected[i]) ? std::to_string(expected[i]) : "?");
        throw Error(std::string("weight '") + key + "' has shape " +
                    shape_to_string(t->shape()) + ", expected " + want + "]");
    }
}

// Output length of a sliding window, as PyTorch computes it for conv and pools:
// floor((in + pads - extent) / stride) + 1, or with ceil_mode the ceiling, minus
// one when the last window would start past the input and the leading pad.
inline int64_t window_output(int64_t in, int64_t extent, int64_t stride, int64_t pad_before,
                             int64_t pad_after, bool ceil_mode, const char* axis) {
    if (!known(in)) return kUnknownDim;
    const int64_t span = in + pad_before + pad_after - extent;
    if (span < 0)
        throw Error(std::string("input ") + axis + " " + std::to_string(in) +
                    " (padded " + std::to_string(in + pad_before + pad_after) +
                    ") is smaller than the window extent " + std::to_string(extent));
    int64_t out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
    if (ceil_mode && (out - 1) * stride >= in + pad_before) --out;
    return out;
}

inline int64_t mul_known(int64_t a, int64_t b) {
    return known(a) && known(b) ? a * b : kUnknownDim;
}

inline int64_t numel_known(const Shape& s) {
    int64_t n = 1;
    for (int64_t d : s) n = mul_known(n, d);
    return n;
}

// Calls a kernel entry point: host kernels take the arguments as they are,
// CUDA ones take the backend's stream as a last argument.
template <typename Fn, typename... Args>
void invoke_kernel(Fn fn, void* stream, const Args&... args) {
    if constexpr (std::is_invocable_v<Fn, const Args&...>) {
        (void)stream;
        fn(args...);
    } else {
        fn(args..., static_cast<::CUstream_st*>(stream));
    }
}

// An op's kernels on every backend, in one call per op. A CUDA entry point is
// named only in CUDA builds: wrap it in FCNRT_CUDA_KERNEL.
inline void set_kernels(OpDef& d, KernelFn reference, KernelFn cpu, KernelFn cuda) {
    d.kernels[int(BackendKind::Reference)] = reference;
    d.kernels[int(BackendKind::Cpu)] = cpu;
    d.kernels[int(BackendKind::Cuda)] = cuda;
}
#ifdef FCNRT_WITH_CUDA
#define FCNRT_CUDA_KERNEL(fn) (fn)
#else
#define FCNRT_CUDA_KERNEL(fn) nullptr
#endif

inline const float* optional_f32(const View& v) { return static_cast<const float*>(v.data); }

// Work measures for the FLOP column; unknown dims count as zero.
inline double count(const Shape& s) {
    const int64_t n = numel_known(s);
    return known(n) ? static_cast<double>(n) : 0.0;
}

}  // namespace fcnrt::ops
