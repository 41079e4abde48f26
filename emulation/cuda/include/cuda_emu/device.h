// What device code sees in the CUDA emulation (emulation/cuda/README.md): the
// function and variable qualifiers, the built-in variables, barriers, warp
// collectives, atomics, __ldg and the math and bit intrinsics. Everything that
// touches the emulated thread's state calls out of line into the runtime
// (emulation/cuda/src/), which is compiled without the access instrumentation that
// the kernels get, so only the kernels' own loads and stores are checked.
#pragma once

#include <math.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "../vector_types.h"

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
#define __constant__
#define __managed__
#define __grid_constant__
// __shared__ declarations are rewritten by the emulation's translator
// (emulation/cuda/translate/); anywhere else they are an error.
#define __shared__ __shared___is_only_supported_in_cu_files_translated_by_cuda_emu_translate

namespace cuda_emu::detail {

uint3 thread_idx();
uint3 block_idx();
dim3 block_dim();
dim3 grid_dim();

// Block barrier: kind 0 __syncthreads, 1 _count, 2 _and, 3 _or. Returns the reduction.
int block_barrier(int kind, int predicate, const char* file, int line);

enum class WarpOp : int {
    Sync, ShflIdx, ShflUp, ShflDown, ShflXor, Ballot, Any, All, MatchAny, MatchAll,
    ReduceAdd, ReduceMin, ReduceMax, ReduceUMin, ReduceUMax, ReduceAnd, ReduceOr, ReduceXor,
    ActiveMask,
    Wmma,  // nvcuda::wmma's *_sync operations (mma.h): the whole warp, one call site
};
// A warp collective over the lanes of `mask`; blocks until every lane of the mask
// arrives. `value` holds `size` bytes (<= 16); the lane's result is written to `out`.
void warp_collective(WarpOp op, unsigned mask, const void* value, unsigned size, int arg,
                     int width, void* out, const char* file, int line);

// One lane's part of an nvcuda::wmma collective (mma.h). When all 32 lanes of the
// warp wait at the same call site, the executor calls lane 0's `run` with every
// lane's WmmaCall (lane order); it returns nullptr, or the check ("memcheck",
// "synccheck") whose rule the call breaks, with `what` written.
struct WmmaCall {
    const char* (*run)(WmmaCall* const* lanes, char* what, size_t what_size);
    int kind;
};
void wmma_collective(WmmaCall* call, const char* file, int line);

void* static_shared(const void* site, size_t size, size_t align, const char* name);
void* dynamic_shared(size_t align);

enum class AtomicOp : int { Add, Sub, Exch, Min, Max, Inc, Dec, CAS, And, Or, Xor };
enum class AtomicType : int { I32, U32, U64, I64, F32, F64 };
// Performs the read-modify-write (checked as one atomic access) and returns the old value.
void atomic_rmw(void* address, AtomicOp op, AtomicType type, const void* operand,
                const void* compare, void* old_value);

// A __ldg: the bytes must not be written by the running kernel (non-coherent cache).
void note_ldg(const void* address, size_t size);

void trap(const char* file, int line);
long long clock64();

}  // namespace cuda_emu::detail

#define threadIdx (::cuda_emu::detail::thread_idx())
#define blockIdx (::cuda_emu::detail::block_idx())
#define blockDim (::cuda_emu::detail::block_dim())
#define gridDim (::cuda_emu::detail::grid_dim())
constexpr int warpSize = 32;

// ---- barriers ----

inline void __syncthreads(const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
    ::cuda_emu::detail::block_barrier(0, 1, file, line);
}
inline int __syncthreads_count(int p, const char* file = __builtin_FILE(),
                               int line = __builtin_LINE()) {
    return ::cuda_emu::detail::block_barrier(1, p != 0, file, line);
}
inline int __syncthreads_and(int p, const char* file = __builtin_FILE(),
                             int line = __builtin_LINE()) {
    return ::cuda_emu::detail::block_barrier(2, p != 0, file, line);
}
inline int __syncthreads_or(int p, const char* file = __builtin_FILE(),
                            int line = __builtin_LINE()) {
    return ::cuda_emu::detail::block_barrier(3, p != 0, file, line);
}
inline void __syncwarp(unsigned mask = 0xffffffffu, const char* file = __builtin_FILE(),
                       int line = __builtin_LINE()) {
    ::cuda_emu::detail::warp_collective(::cuda_emu::detail::WarpOp::Sync, mask, nullptr, 0, 0,
                                        32, nullptr, file, line);
}
inline void __threadfence() {}
inline void __threadfence_block() {}
inline void __threadfence_system() {}

// ---- warp collectives ----

namespace cuda_emu::detail {
template <class T>
T shuffle(WarpOp op, unsigned mask, T v, int arg, int width, const char* file, int line) {
    static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 16, "shuffle of T");
    T out;
    warp_collective(op, mask, &v, sizeof(T), arg, width, &out, file, line);
    return out;
}
inline unsigned vote(WarpOp op, unsigned mask, int pred, const char* file, int line) {
    unsigned out = 0;
    const int p = pred != 0;
    warp_collective(op, mask, &p, sizeof p, 0, 32, &out, file, line);
    return out;
}
}  // namespace cuda_emu::detail

template <class T>
T __shfl_sync(unsigned mask, T var, int src_lane, int width = warpSize,
              const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
    return ::cuda_emu::detail::shuffle(::cuda_emu::detail::WarpOp::ShflIdx, mask, var, src_lane,
                                       width, file, line);
}
template <class T>
T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = warpSize,
                 const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
    return ::cuda_emu::detail::shuffle(::cuda_emu::detail::WarpOp::ShflUp, mask, var,
                                       static_cast<int>(delta), width, file, line);
}
template <class T>
T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = warpSize,
                   const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
    return ::cuda_emu::detail::shuffle(::cuda_emu::detail::WarpOp::ShflDown, mask, var,
                                       static_cast<int>(delta), width, file, line);
}
template <class T>
T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = warpSize,
                  const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
    return ::cuda_emu::detail::shuffle(::cuda_emu::detail::WarpOp::ShflXor, mask, var, lane_mask,
                                       width, file, line);
}
inline unsigned __ballot_sync(unsigned mask, int pred, const char* file = __builtin_FILE(),
                              int line = __builtin_LINE()) {
    return ::cuda_emu::detail::vote(::cuda_emu::detail::WarpOp::Ballot, mask, pred, file, line);
}
inline int __any_sync(unsigned mask, int pred, const char* file = __builtin_FILE(),
                      int line = __builtin_LINE()) {
    return static_cast<int>(
        ::cuda_emu::detail::vote(::cuda_emu::detail::WarpOp::Any, mask, pred, file, line));
}
inline int __all_sync(unsigned mask, int pred, const char* file = __builtin_FILE(),
                      int line = __builtin_LINE()) {
    return static_cast<int>(
        ::cuda_emu::detail::vote(::cuda_emu::detail::WarpOp::All, mask, pred, file, line));
}
// The lanes that execute this call together: the warp's lanes that are waiting at
// the same __activemask (same source line) when no lane can run further.
inline unsigned __activemask(const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
    unsigned out = 0;
    ::cuda_emu::detail::warp_collective(::cuda_emu::detail::WarpOp::ActiveMask, 0, nullptr, 0, 0,
                                        32, &out, file, line);
    return out;
}
template <class T>
unsigned __match_any_sync(unsigned mask, T value, const char* file = __builtin_FILE(),
                          int line = __builtin_LINE()) {
    static_assert(sizeof(T) == 4 || sizeof(T) == 8, "__match_any_sync of 32- or 64-bit values");
    unsigned out = 0;
    ::cuda_emu::detail::warp_collective(::cuda_emu::detail::WarpOp::MatchAny, mask, &value,
                                        sizeof(T), 0, 32, &out, file, line);
    return out;
}
template <class T>
unsigned __match_all_sync(unsigned mask, T value, int* pred, const char* file = __builtin_FILE(),
                          int line = __builtin_LINE()) {
    static_assert(sizeof(T) == 4 || sizeof(T) == 8, "__match_all_sync of 32- or 64-bit values");
    unsigned out[2] = {0, 0};
    ::cuda_emu::detail::warp_collective(::cuda_emu::detail::WarpOp::MatchAll, mask, &value,
                                        sizeof(T), 0, 32, out, file, line);
    *pred = static_cast<int>(out[1]);
    return out[0];
}
#define CUDA_EMU_REDUCE(NAME, OP, T)                                                        \
    inline T NAME(unsigned mask, T value, const char* file = __builtin_FILE(),             \
                  int line = __builtin_LINE()) {                                           \
        T out{};                                                                           \
        ::cuda_emu::detail::warp_collective(::cuda_emu::detail::WarpOp::OP, mask, &value,  \
                                            sizeof(T), 0, 32, &out, file, line);           \
        return out;                                                                        \
    }
CUDA_EMU_REDUCE(__reduce_add_sync, ReduceAdd, unsigned)
CUDA_EMU_REDUCE(__reduce_add_sync, ReduceAdd, int)
CUDA_EMU_REDUCE(__reduce_min_sync, ReduceUMin, unsigned)
CUDA_EMU_REDUCE(__reduce_min_sync, ReduceMin, int)
CUDA_EMU_REDUCE(__reduce_max_sync, ReduceUMax, unsigned)
CUDA_EMU_REDUCE(__reduce_max_sync, ReduceMax, int)
CUDA_EMU_REDUCE(__reduce_and_sync, ReduceAnd, unsigned)
CUDA_EMU_REDUCE(__reduce_or_sync, ReduceOr, unsigned)
CUDA_EMU_REDUCE(__reduce_xor_sync, ReduceXor, unsigned)
#undef CUDA_EMU_REDUCE

// ---- atomics (checked as atomic accesses; the emulation runs one thread at a time) ----

namespace cuda_emu::detail {
template <class T> constexpr AtomicType atomic_type() {
    if constexpr (std::is_same_v<T, float>) return AtomicType::F32;
    else if constexpr (std::is_same_v<T, double>) return AtomicType::F64;
    else if constexpr (std::is_signed_v<T> && sizeof(T) == 4) return AtomicType::I32;
    else if constexpr (std::is_signed_v<T> && sizeof(T) == 8) return AtomicType::I64;
    else if constexpr (sizeof(T) == 4) return AtomicType::U32;
    else return AtomicType::U64;
}
template <class T>
T atomic(AtomicOp op, T* address, T operand, T compare = T{}) {
    T old;
    atomic_rmw(address, op, atomic_type<T>(), &operand, &compare, &old);
    return old;
}
}  // namespace cuda_emu::detail

#define CUDA_EMU_ATOMIC(NAME, OP, T)                                     \
    inline T NAME(T* address, T value) {                                \
        return ::cuda_emu::detail::atomic(::cuda_emu::detail::AtomicOp::OP, address, value); \
    }                                                                    \
    inline T NAME##_block(T* address, T value) { return NAME(address, value); } \
    inline T NAME##_system(T* address, T value) { return NAME(address, value); }
CUDA_EMU_ATOMIC(atomicAdd, Add, int)
CUDA_EMU_ATOMIC(atomicAdd, Add, unsigned int)
CUDA_EMU_ATOMIC(atomicAdd, Add, unsigned long long)
CUDA_EMU_ATOMIC(atomicAdd, Add, float)
CUDA_EMU_ATOMIC(atomicAdd, Add, double)
CUDA_EMU_ATOMIC(atomicSub, Sub, int)
CUDA_EMU_ATOMIC(atomicSub, Sub, unsigned int)
CUDA_EMU_ATOMIC(atomicExch, Exch, int)
CUDA_EMU_ATOMIC(atomicExch, Exch, unsigned int)
CUDA_EMU_ATOMIC(atomicExch, Exch, unsigned long long)
CUDA_EMU_ATOMIC(atomicExch, Exch, float)
CUDA_EMU_ATOMIC(atomicMin, Min, int)
CUDA_EMU_ATOMIC(atomicMin, Min, unsigned int)
CUDA_EMU_ATOMIC(atomicMin, Min, long long)
CUDA_EMU_ATOMIC(atomicMin, Min, unsigned long long)
CUDA_EMU_ATOMIC(atomicMax, Max, int)
CUDA_EMU_ATOMIC(atomicMax, Max, unsigned int)
CUDA_EMU_ATOMIC(atomicMax, Max, long long)
CUDA_EMU_ATOMIC(atomicMax, Max, unsigned long long)
CUDA_EMU_ATOMIC(atomicInc, Inc, unsigned int)
CUDA_EMU_ATOMIC(atomicDec, Dec, unsigned int)
CUDA_EMU_ATOMIC(atomicAnd, And, int)
CUDA_EMU_ATOMIC(atomicAnd, And, unsigned int)
CUDA_EMU_ATOMIC(atomicAnd, And, unsigned long long)
CUDA_EMU_ATOMIC(atomicOr, Or, int)
CUDA_EMU_ATOMIC(atomicOr, Or, unsigned int)
CUDA_EMU_ATOMIC(atomicOr, Or, unsigned long long)
CUDA_EMU_ATOMIC(atomicXor, Xor, int)
CUDA_EMU_ATOMIC(atomicXor, Xor, unsigned int)
CUDA_EMU_ATOMIC(atomicXor, Xor, unsigned long long)
#undef CUDA_EMU_ATOMIC
inline int atomicCAS(int* address, int compare, int value) {
    return ::cuda_emu::detail::atomic(::cuda_emu::detail::AtomicOp::CAS, address, value, compare);
}
inline unsigned int atomicCAS(unsigned int* address, unsigned int compare, unsigned int value) {
    return ::cuda_emu::detail::atomic(::cuda_emu::detail::AtomicOp::CAS, address, value, compare);
}
inline unsigned long long atomicCAS(unsigned long long* address, unsigned long long compare,
                                    unsigned long long value) {
    return ::cuda_emu::detail::atomic(::cuda_emu::detail::AtomicOp::CAS, address, value, compare);
}

// ---- loads ----

template <class T>
inline T __ldg(const T* address) {
    ::cuda_emu::detail::note_ldg(address, sizeof(T));
    return *address;
}

// ---- math: exactly rounded single operations (the emulation never contracts) ----

inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline float __frcp_rn(float a) { return 1.0f / a; }
inline float __fsqrt_rn(float a) { return std::sqrt(a); }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dsub_rn(double a, double b) { return a - b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __ddiv_rn(double a, double b) { return a / b; }
inline double __fma_rn(double a, double b, double c) { return std::fma(a, b, c); }
inline double __drcp_rn(double a) { return 1.0 / a; }
inline double __dsqrt_rn(double a) { return std::sqrt(a); }
// The fast approximate intrinsics are computed accurately here: within the
// hardware's documented error bounds, but not bit for bit the hardware's values.
inline float __fdividef(float a, float b) { return a / b; }
inline float __expf(float a) { return std::exp2(a * 1.44269504088896341f); }
inline float __exp10f(float a) { return std::exp2(a * 3.32192809488736235f); }
inline float __logf(float a) { return std::log2(a) * 0.693147180559945309f; }
inline float __log2f(float a) { return std::log2(a); }
inline float __log10f(float a) { return std::log2(a) * 0.301029995663981195f; }
inline float __sinf(float a) { return std::sin(a); }
inline float __cosf(float a) { return std::cos(a); }
inline float __tanf(float a) { return std::tan(a); }
inline float __powf(float a, float b) { return std::exp2(b * std::log2(a)); }
inline void __sincosf(float a, float* s, float* c) { *s = std::sin(a); *c = std::cos(a); }
inline float __saturatef(float a) { return a >= 1.0f ? 1.0f : (a > 0.0f ? a : 0.0f); }
inline float rsqrtf(float a) { return 1.0f / std::sqrt(a); }
inline double rsqrt(double a) { return 1.0 / std::sqrt(a); }
inline float rcbrtf(float a) { return 1.0f / std::cbrt(a); }
inline float exp10f(float a) { return std::pow(10.0f, a); }
inline void sincosf(float a, float* s, float* c) { *s = std::sin(a); *c = std::cos(a); }
inline float normcdff(float a) { return 0.5f * std::erfc(-a * 0.707106781186547524f); }

// ---- conversions and bits ----

inline int __float2int_rn(float a) { return static_cast<int>(std::nearbyint(a)); }
inline int __float2int_rz(float a) { return static_cast<int>(a); }
inline int __float2int_rd(float a) { return static_cast<int>(std::floor(a)); }
inline int __float2int_ru(float a) { return static_cast<int>(std::ceil(a)); }
inline float __int2float_rn(int a) { return static_cast<float>(a); }
inline int __float_as_int(float a) { int r; std::memcpy(&r, &a, 4); return r; }
inline unsigned __float_as_uint(float a) { unsigned r; std::memcpy(&r, &a, 4); return r; }
inline float __int_as_float(int a) { float r; std::memcpy(&r, &a, 4); return r; }
inline float __uint_as_float(unsigned a) { float r; std::memcpy(&r, &a, 4); return r; }
inline long long __double_as_longlong(double a) { long long r; std::memcpy(&r, &a, 8); return r; }
inline double __longlong_as_double(long long a) { double r; std::memcpy(&r, &a, 8); return r; }
inline int __popc(unsigned a) { return __builtin_popcount(a); }
inline int __popcll(unsigned long long a) { return __builtin_popcountll(a); }
inline int __clz(int a) { return a == 0 ? 32 : __builtin_clz(static_cast<unsigned>(a)); }
inline int __clzll(long long a) {
    return a == 0 ? 64 : __builtin_clzll(static_cast<unsigned long long>(a));
}
inline int __ffs(int a) { return __builtin_ffs(a); }
inline int __ffsll(long long a) { return __builtin_ffsll(a); }
inline unsigned __brev(unsigned a) {
    unsigned r = 0;
    for (int i = 0; i < 32; ++i) r |= ((a >> i) & 1u) << (31 - i);
    return r;
}
inline unsigned long long __brevll(unsigned long long a) {
    unsigned long long r = 0;
    for (int i = 0; i < 64; ++i) r |= ((a >> i) & 1ull) << (63 - i);
    return r;
}
inline unsigned __byte_perm(unsigned x, unsigned y, unsigned s) {
    const unsigned long long v = (static_cast<unsigned long long>(y) << 32) | x;
    unsigned r = 0;
    for (int i = 0; i < 4; ++i) r |= static_cast<unsigned>((v >> (((s >> (4 * i)) & 7u) * 8)) & 0xffu) << (8 * i);
    return r;
}
inline unsigned __funnelshift_l(unsigned lo, unsigned hi, unsigned shift) {
    const unsigned long long v = (static_cast<unsigned long long>(hi) << 32) | lo;
    return static_cast<unsigned>((v << (shift & 31u)) >> 32);
}
inline unsigned __funnelshift_r(unsigned lo, unsigned hi, unsigned shift) {
    const unsigned long long v = (static_cast<unsigned long long>(hi) << 32) | lo;
    return static_cast<unsigned>(v >> (shift & 31u));
}
inline int __mul24(int a, int b) { return ((a << 8) >> 8) * ((b << 8) >> 8); }
inline unsigned __umul24(unsigned a, unsigned b) { return (a & 0xffffffu) * (b & 0xffffffu); }
inline int __mulhi(int a, int b) { return static_cast<int>((static_cast<long long>(a) * b) >> 32); }
inline unsigned __umulhi(unsigned a, unsigned b) {
    return static_cast<unsigned>((static_cast<unsigned long long>(a) * b) >> 32);
}
inline long long __mul64hi(long long a, long long b) {
    return static_cast<long long>((static_cast<__int128>(a) * b) >> 64);
}
inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
    return static_cast<unsigned long long>((static_cast<unsigned __int128>(a) * b) >> 64);
}

// CUDA's global min/max overloads (the integer ones promote like the toolkit's).
inline int min(int a, int b) { return a < b ? a : b; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline long min(long a, long b) { return a < b ? a : b; }
inline unsigned long min(unsigned long a, unsigned long b) { return a < b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline unsigned long long min(unsigned long long a, unsigned long long b) { return a < b ? a : b; }
inline float min(float a, float b) { return std::fmin(a, b); }
inline double min(double a, double b) { return std::fmin(a, b); }
inline int max(int a, int b) { return a > b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
inline long max(long a, long b) { return a > b ? a : b; }
inline unsigned long max(unsigned long a, unsigned long b) { return a > b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline unsigned long long max(unsigned long long a, unsigned long long b) { return a > b ? a : b; }
inline float max(float a, float b) { return std::fmax(a, b); }
inline double max(double a, double b) { return std::fmax(a, b); }

// ---- misc ----

inline long long clock64() { return ::cuda_emu::detail::clock64(); }
inline void __nanosleep(unsigned) {}
inline void __trap(const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
    ::cuda_emu::detail::trap(file, line);
}
