// The CUDA emulation's mma.h: nvcuda::wmma, the warp-level matrix multiply-accumulate
// API, for the shapes and types fcnrt's tensor-core work uses, each with fp32
// accumulation: TF32 m16n16k8 (precision::tf32, __float_to_tf32), FP16 m16n16k16
// (__half) and BF16 m16n16k16 (__nv_bfloat16). See emulation/cuda/README.md.
//
// load_matrix_sync, store_matrix_sync and mma_sync are warp collectives (the
// WarpOp::Wmma wait of the executor): all 32 lanes of the warp must call the same one
// (same source line) with the same pointer, leading dimension and layout, else
// synccheck reports it; a lane that exited or waits elsewhere can never arrive, which
// is reported too, never waited on. The pointer must be 32-byte aligned and the
// leading dimension a multiple of 16 bytes (memcheck, misaligned address).
// fill_fragment is lane-local, as on the GPU.
//
// Fragments: each lane holds `num_elements` (the toolkit's counts) elements x[]. Lane
// l's element i is the matrix element of row-major index (l * num_elements + i) mod
// (rows * cols) of the fragment's matrix (A: M x K, B: K x N, accumulator: M x N),
// whatever the layout; where the counts cover the matrix twice (FP16 A and B), two
// lanes hold each element and mma_sync reads the first. The mapping on a GPU is
// unspecified, so code may only treat x[] element-wise, as CUDA documents.
//
// Rounding, as the tensor cores: an FP16/BF16 input is the __half/__nv_bfloat16
// value itself. A TF32 input is a float of which the tensor core reads the upper 19
// bits (sign, exponent, 10 fraction bits): mma_sync ignores the low 13 bits
// (truncation; what a GPU does with them is not documented, so code must not leave
// them to it), and code rounds first with __float_to_tf32, which is PTX's
// cvt.rna.tf32.f32: to nearest, ties away from zero. Products of the rounded inputs
// are exact; each D element is C + the sum of its K products, computed in float64
// and rounded once to float (to nearest even). A GPU's accumulation order and
// internal rounding are unspecified, so results agree with one within fp32
// accumulation error, bit for bit only where the sums are exact.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <type_traits>

#include "cuda_bf16.h"
#include "cuda_emu/device.h"
#include "cuda_fp16.h"

namespace nvcuda {
namespace wmma {

struct row_major;
struct col_major;
struct matrix_a;
struct matrix_b;
struct accumulator;
namespace precision {
struct tf32;
}

enum layout_t { mem_row_major, mem_col_major };

template <typename T>
struct helper_traits {
    typedef T element_type;
    typedef T storage_element_type;
    typedef T fill_argument_type;
};
template <>
struct helper_traits<precision::tf32> {
    typedef precision::tf32 element_type;
    typedef float storage_element_type;
    typedef float fill_argument_type;
};

template <typename T, int size>
struct __align__(8) __frag_base {
    enum { num_elements = size };
    enum { num_storage_elements = size };
    typedef T element_type;
    typedef typename helper_traits<T>::storage_element_type storage_element_type;
    storage_element_type x[num_storage_elements];
};

template <typename Use, int m, int n, int k, typename T, typename Layout = void>
class fragment;

template <>
class fragment<matrix_a, 16, 16, 16, __half, row_major> : public __frag_base<__half, 16> {};
template <>
class fragment<matrix_a, 16, 16, 16, __half, col_major> : public __frag_base<__half, 16> {};
template <>
class fragment<matrix_b, 16, 16, 16, __half, row_major> : public __frag_base<__half, 16> {};
template <>
class fragment<matrix_b, 16, 16, 16, __half, col_major> : public __frag_base<__half, 16> {};
template <>
class fragment<accumulator, 16, 16, 16, float> : public __frag_base<float, 8> {};
template <>
class fragment<matrix_a, 16, 16, 16, __nv_bfloat16, row_major>
    : public __frag_base<__nv_bfloat16, 8> {};
template <>
class fragment<matrix_a, 16, 16, 16, __nv_bfloat16, col_major>
    : public __frag_base<__nv_bfloat16, 8> {};
template <>
class fragment<matrix_b, 16, 16, 16, __nv_bfloat16, row_major>
    : public __frag_base<__nv_bfloat16, 8> {};
template <>
class fragment<matrix_b, 16, 16, 16, __nv_bfloat16, col_major>
    : public __frag_base<__nv_bfloat16, 8> {};
template <>
class fragment<matrix_a, 16, 16, 8, precision::tf32, row_major>
    : public __frag_base<precision::tf32, 4> {};
template <>
class fragment<matrix_a, 16, 16, 8, precision::tf32, col_major>
    : public __frag_base<precision::tf32, 4> {};
template <>
class fragment<matrix_b, 16, 16, 8, precision::tf32, row_major>
    : public __frag_base<precision::tf32, 4> {};
template <>
class fragment<matrix_b, 16, 16, 8, precision::tf32, col_major>
    : public __frag_base<precision::tf32, 4> {};
template <>
class fragment<accumulator, 16, 16, 8, float> : public __frag_base<float, 8> {};

// cvt.rna.tf32.f32: a finite float rounded to 10 fraction bits, to nearest with ties
// away from zero (add half of the dropped range to the magnitude's bits, then clear
// them: a carry moves into the exponent, and past the largest finite into infinity);
// infinities stay, a NaN stays a NaN.
inline float __float_to_tf32(float in) {
    uint32_t u;
    std::memcpy(&u, &in, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
        u |= 0x7fffe000u;  // a quiet NaN (clearing a payload held in the low bits alone would make
                           // it inf)
    } else if ((u & 0x7fffffffu) != 0x7f800000u) {
        u += 0x1000u;
    }
    u &= 0xffffe000u;
    float out;
    std::memcpy(&out, &u, 4);
    return out;
}

}  // namespace wmma
}  // namespace nvcuda

namespace cuda_emu::wmma_detail {

using namespace ::nvcuda::wmma;

template <class Use, int M, int N, int K>
struct Shape;
template <int M, int N, int K>
struct Shape<matrix_a, M, N, K> {
    static constexpr int rows = M, cols = K;
};
template <int M, int N, int K>
struct Shape<matrix_b, M, N, K> {
    static constexpr int rows = K, cols = N;
};
template <int M, int N, int K>
struct Shape<accumulator, M, N, K> {
    static constexpr int rows = M, cols = N;
};

template <class L>
constexpr bool is_row_major() {
    return std::is_same_v<L, row_major>;
}

// The value a tensor core multiplies.
inline double operand(float v) {  // TF32: the upper 19 bits
    uint32_t u;
    std::memcpy(&u, &v, 4);
    if ((u & 0x7f800000u) != 0x7f800000u) u &= 0xffffe000u;
    float t;
    std::memcpy(&t, &u, 4);
    return t;
}
inline double operand(__half v) {
    return static_cast<float>(v);
}
inline double operand(__nv_bfloat16 v) {
    return static_cast<float>(v);
}

enum Kind : int { kLoad = 1, kStore = 2, kMma = 3 };

// load_matrix_sync / store_matrix_sync: the lanes agree on the memory operand.
struct MemCall : ::cuda_emu::detail::WmmaCall {
    const void* ptr;
    unsigned ldm;
    int layout;  // 0 row major, 1 column major
    unsigned element_size;
    const char* name;
};

inline const char* check_memory(::cuda_emu::detail::WmmaCall* const* lanes, char* what, size_t n) {
    const MemCall* first = static_cast<const MemCall*>(lanes[0]);
    for (int l = 1; l < 32; ++l) {
        const MemCall* c = static_cast<const MemCall*>(lanes[l]);
        if (c->kind != first->kind || c->ptr != first->ptr || c->ldm != first->ldm ||
            c->layout != first->layout) {
            std::snprintf(what, n,
                          "%s: lane %d passes (%p, ldm %u, layout %d), lane 0 (%p, ldm %u, "
                          "layout %d): every lane of the warp must pass the same",
                          first->name, l, c->ptr, c->ldm, c->layout, first->ptr, first->ldm,
                          first->layout);
            return "synccheck";
        }
    }
    if (reinterpret_cast<uintptr_t>(first->ptr) % 32 != 0) {
        std::snprintf(what, n, "%s: pointer %p is not 32-byte (256-bit) aligned", first->name,
                      first->ptr);
        return "memcheck";
    }
    if (first->ldm * first->element_size % 16 != 0) {
        std::snprintf(what, n, "%s: ldm %u (%u bytes) is not a multiple of 16 bytes", first->name,
                      first->ldm, first->ldm * first->element_size);
        return "memcheck";
    }
    return nullptr;
}

template <class Frag, int Rows, int Cols>
inline size_t element_offset(int lane, int i, unsigned ldm, bool row_major_memory) {
    const int e = (lane * Frag::num_elements + i) % (Rows * Cols);
    const int r = e / Cols, c = e % Cols;
    return row_major_memory ? static_cast<size_t>(r) * ldm + c : static_cast<size_t>(c) * ldm + r;
}

template <class Use, int M, int N, int K, class T, class L, class P>
void load(fragment<Use, M, N, K, T, L>& f, P* p, unsigned ldm, bool row_major_memory,
          const char* name, const char* file, int line) {
    using Frag = fragment<Use, M, N, K, T, L>;
    using S = Shape<Use, M, N, K>;
    MemCall call;
    call.run = &check_memory;
    call.kind = kLoad;
    call.ptr = p;
    call.ldm = ldm;
    call.layout = row_major_memory ? 0 : 1;
    call.element_size = sizeof(P);
    call.name = name;
    ::cuda_emu::detail::wmma_collective(&call, file, line);
    const int lane =
        static_cast<int>(threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z)) % 32;
    for (int i = 0; i < Frag::num_elements; ++i)
        f.x[i] = p[element_offset<Frag, S::rows, S::cols>(lane, i, ldm, row_major_memory)];
}

// mma_sync: gathers A, B and C from every lane, computes D and hands each lane its part.
template <class FD, class FA, class FB, class FC>
struct MmaCall : ::cuda_emu::detail::WmmaCall {
    FD* d;
    const FA* a;
    const FB* b;
    const FC* c;
};

template <class Frag, int Rows, int Cols, class E>
void gather(::cuda_emu::detail::WmmaCall* const* lanes,
            const Frag* (*pick)(::cuda_emu::detail::WmmaCall*), E* out) {
    for (int l = 0; l < 32; ++l) {
        const Frag* f = pick(lanes[l]);
        for (int i = 0; i < Frag::num_elements; ++i) {
            const int e = l * Frag::num_elements + i;
            if (e < Rows * Cols) out[e] = f->x[i];
        }
    }
}

template <int M, int N, int K, class FD, class FA, class FB, class FC>
const char* run_mma(::cuda_emu::detail::WmmaCall* const* lanes, char* what, size_t n) {
    using Call = MmaCall<FD, FA, FB, FC>;
    for (int l = 1; l < 32; ++l) {
        if (lanes[l]->kind != kMma || lanes[l]->run != lanes[0]->run) {
            std::snprintf(what, n, "mma_sync: lane %d calls a different WMMA operation", l);
            return "synccheck";
        }
    }
    typename FA::storage_element_type a[M * K];
    typename FB::storage_element_type b[K * N];
    float c[M * N];
    gather<FA, M, K>(
        lanes, [](::cuda_emu::detail::WmmaCall* w) { return static_cast<Call*>(w)->a; }, a);
    gather<FB, K, N>(
        lanes, [](::cuda_emu::detail::WmmaCall* w) { return static_cast<Call*>(w)->b; }, b);
    gather<FC, M, N>(
        lanes, [](::cuda_emu::detail::WmmaCall* w) { return static_cast<Call*>(w)->c; }, c);
    float d[M * N];
    for (int i = 0; i < M; ++i) {
        for (int j = 0; j < N; ++j) {
            double s = c[i * N + j];
            for (int k = 0; k < K; ++k) s += operand(a[i * K + k]) * operand(b[k * N + j]);
            d[i * N + j] = static_cast<float>(s);
        }
    }
    for (int l = 0; l < 32; ++l) {
        FD* f = static_cast<Call*>(lanes[l])->d;
        for (int i = 0; i < FD::num_elements; ++i)
            f->x[i] = d[(l * FD::num_elements + i) % (M * N)];
    }
    (void)what;
    (void)n;
    return nullptr;
}

}  // namespace cuda_emu::wmma_detail

namespace nvcuda {
namespace wmma {

template <typename T, int size>
inline void fill_fragment(__frag_base<T, size>& f,
                          const typename helper_traits<T>::fill_argument_type& v) {
    for (int i = 0; i < size; ++i) f.x[i] = v;
}

template <int M, int N, int K, class T, class L>
inline void load_matrix_sync(fragment<matrix_a, M, N, K, T, L>& a,
                             const typename helper_traits<T>::storage_element_type* p, unsigned ldm,
                             const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
    ::cuda_emu::wmma_detail::load(a, p, ldm, ::cuda_emu::wmma_detail::is_row_major<L>(),
                                  "load_matrix_sync", file, line);
}
template <int M, int N, int K, class T, class L>
inline void load_matrix_sync(fragment<matrix_b, M, N, K, T, L>& b,
                             const typename helper_traits<T>::storage_element_type* p, unsigned ldm,
                             const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
    ::cuda_emu::wmma_detail::load(b, p, ldm, ::cuda_emu::wmma_detail::is_row_major<L>(),
                                  "load_matrix_sync", file, line);
}
template <int M, int N, int K>
inline void load_matrix_sync(fragment<accumulator, M, N, K, float>& c, const float* p, unsigned ldm,
                             layout_t layout, const char* file = __builtin_FILE(),
                             int line = __builtin_LINE()) {
    ::cuda_emu::wmma_detail::load(c, p, ldm, layout == mem_row_major, "load_matrix_sync", file,
                                  line);
}

template <int M, int N, int K>
inline void store_matrix_sync(float* p, const fragment<accumulator, M, N, K, float>& d,
                              unsigned ldm, layout_t layout, const char* file = __builtin_FILE(),
                              int line = __builtin_LINE()) {
    using Frag = fragment<accumulator, M, N, K, float>;
    ::cuda_emu::wmma_detail::MemCall call;
    call.run = &::cuda_emu::wmma_detail::check_memory;
    call.kind = ::cuda_emu::wmma_detail::kStore;
    call.ptr = p;
    call.ldm = ldm;
    call.layout = layout == mem_row_major ? 0 : 1;
    call.element_size = sizeof(float);
    call.name = "store_matrix_sync";
    ::cuda_emu::detail::wmma_collective(&call, file, line);
    const int lane =
        static_cast<int>(threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z)) % 32;
    for (int i = 0; i < Frag::num_elements; ++i)
        p[::cuda_emu::wmma_detail::element_offset<Frag, M, N>(lane, i, ldm,
                                                              layout == mem_row_major)] = d.x[i];
}

template <int M, int N, int K, class T, class LA, class LB>
inline void mma_sync(fragment<accumulator, M, N, K, float>& d,
                     const fragment<matrix_a, M, N, K, T, LA>& a,
                     const fragment<matrix_b, M, N, K, T, LB>& b,
                     const fragment<accumulator, M, N, K, float>& c,
                     const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
    using FD = fragment<accumulator, M, N, K, float>;
    using FA = fragment<matrix_a, M, N, K, T, LA>;
    using FB = fragment<matrix_b, M, N, K, T, LB>;
    ::cuda_emu::wmma_detail::MmaCall<FD, FA, FB, FD> call;
    call.run = &::cuda_emu::wmma_detail::run_mma<M, N, K, FD, FA, FB, FD>;
    call.kind = ::cuda_emu::wmma_detail::kMma;
    call.d = &d;
    call.a = &a;
    call.b = &b;
    call.c = &c;
    ::cuda_emu::detail::wmma_collective(&call, file, line);
}

}  // namespace wmma
}  // namespace nvcuda
