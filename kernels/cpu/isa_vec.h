// The vector type V and the register blocking of one ISA translation unit
// (gemm_kernels_{avx512,avx512sim,avx2,portable}.cpp, conv_bcast_kernels_*.cpp),
// chosen by FCNRT_GEMM_ISA_NAMESPACE (avx512, avx512sim, avx2 or portable),
// which the unit defines before including this. Under the rules of
// gemm_microkernel.h: every symbol here lives in that namespace's anonymous
// namespace, so nothing built with one unit's flags can be shared with another's.
//
// V: `type` (one register), `width` floats per register, and zero / load /
// store (unaligned) / broadcast / fma, the one rounding fused multiply-add of
// every path (the portable path's fmaf rounds exactly as the vector FMAs do, so
// every path gives the same bits); has_transpose8 / transpose8, the small-plane
// conv's in-register 8 x 8 transpose (AVX2 only; the others store lane by lane).
//
// Blocking (register tiles, see each kernel's header for what they mean):
//   avx512 (zmm, 16 floats; -mavx512f -mfma), and avx512sim:
//     GEMM micro-kernel 8 rows x 3 zmm (48 pixels), 24 accumulators, kc 192;
//     direct conv rows 4 zmm (64 pixels) per step, 8 channels x 3 zmm in the
//     multi-channel form; narrow GEMM 8-row panels;
//     broadcast conv 2 zmm of channels (32) x 12 pixels, 24 accumulators, kc 64;
//     small-plane conv the broadcast conv's lanes x up to 12 pixels (half
//     tiles: 12), one-pixel columns of up to 5 blocks.
//   avx2 (ymm, 8 floats; -mavx2 -mfma):
//     GEMM micro-kernel 6 rows x 2 ymm (16 pixels), 12 accumulators, kc 256;
//     direct conv rows 4 ymm (32 pixels) per step, 4 channels x 3 ymm in the
//     multi-channel form; narrow GEMM 6-row panels;
//     broadcast conv 2 ymm of channels (16) x 6 pixels, 12 accumulators, kc 128;
//     small-plane conv the broadcast conv's lanes x up to 6 pixels (half
//     tiles: 8), one-pixel columns of up to 5 blocks.
//   portable (scalar fmaf, any CPU, no vector flags):
//     GEMM micro-kernel 4 rows x 4 columns, kc 256; direct conv rows 4 pixels
//     per step, 4 channels x 4 pixels in the multi-channel form; narrow GEMM
//     4-row panels; broadcast conv 4 channels x 4 pixels, kc 128; small-plane
//     conv 4 channels x up to 4 pixels (half tiles: 4), columns of up to 2 blocks.
// avx512sim is a test path (cpu_isa.h): the avx512 unit's code with a V of 16
// floats in portable C++ (fma per lane with fmaf: the same one rounding as
// _mm512_fmadd_ps) and avx512's Blocking (the one struct below, shared), built
// with no vector flags, so the AVX-512 path's tiles, remainders and memory
// accesses run, about as slowly as the portable path, on any x86-64. All that
// differs from avx512 is V's body: the intrinsics.
// The vector units are called only when the CPU supports their flags (cpu_isa.h).
#pragma once

#ifndef FCNRT_GEMM_ISA_NAMESPACE
#error "define FCNRT_GEMM_ISA_NAMESPACE before including isa_vec.h"
#endif

#include "kernels/cpu/isa_unit.h"

#define FCNRT_GEMM_ISA_ID FCNRT_ISA_ID(FCNRT_GEMM_ISA_NAMESPACE)

#if FCNRT_GEMM_ISA_ID == FCNRT_ISA_ID_avx512
#if !defined(__AVX512F__) || !defined(__FMA__)
#error "the avx512 unit needs -mavx512f -mfma"
#endif
#include <immintrin.h>
#elif FCNRT_GEMM_ISA_ID == FCNRT_ISA_ID_avx2
#if !defined(__AVX2__) || !defined(__FMA__)
#error "the avx2 unit needs -mavx2 -mfma"
#endif
#include <immintrin.h>
#elif FCNRT_GEMM_ISA_ID == FCNRT_ISA_ID_avx512sim
#if defined(__AVX512F__)
#error "the avx512sim unit is built without vector flags (it simulates them)"
#endif
#elif FCNRT_GEMM_ISA_ID != FCNRT_ISA_ID_portable
#error "FCNRT_GEMM_ISA_NAMESPACE must be avx512, avx512sim, avx2 or portable"
#endif

namespace fcnrt::cpu::FCNRT_GEMM_ISA_NAMESPACE {
namespace {

#if FCNRT_GEMM_ISA_ID == FCNRT_ISA_ID_avx512 || FCNRT_GEMM_ISA_ID == FCNRT_ISA_ID_avx512sim

#if FCNRT_GEMM_ISA_ID == FCNRT_ISA_ID_avx512

struct Vec {
    using type = __m512;
    static constexpr int width = 16;
    static type zero() { return _mm512_setzero_ps(); }
    static type load(const float* p) { return _mm512_loadu_ps(p); }
    static void store(float* p, type v) { _mm512_storeu_ps(p, v); }
    static type broadcast(const float* p) { return _mm512_set1_ps(*p); }
    static type fma(type a, type b, type c) { return _mm512_fmadd_ps(a, b, c); }
    static constexpr bool has_transpose8 = false;
    static void transpose8(type*) {}
};

#else  // avx512sim: a zmm as 16 floats, each operation lane by lane

struct Vec {
    struct type {
        float f[16];
    };
    static constexpr int width = 16;
    static type zero() {
        type r;
        for (int i = 0; i < width; ++i) r.f[i] = 0.0f;
        return r;
    }
    static type load(const float* p) {
        type r;
        __builtin_memcpy(r.f, p, sizeof(r.f));
        return r;
    }
    static void store(float* p, type v) { __builtin_memcpy(p, v.f, sizeof(v.f)); }
    static type broadcast(const float* p) {
        type r;
        for (int i = 0; i < width; ++i) r.f[i] = *p;
        return r;
    }
    static type fma(type a, type b, type c) {
        type r;
        for (int i = 0; i < width; ++i) r.f[i] = __builtin_fmaf(a.f[i], b.f[i], c.f[i]);
        return r;
    }
    static constexpr bool has_transpose8 = false;
    static void transpose8(type*) {}
};

#endif

// avx512's and avx512sim's (one definition: the sim runs these tiles).
struct Blocking {
    static constexpr int gemm_mr = 8, gemm_nv = 3, gemm_kc = 192;
    static constexpr int direct_nv = 4, direct_mr = 8, direct_nvm = 3;
    static constexpr int narrow_mr = 8;
    static constexpr int bcast_nv = 2, bcast_pixels = 12, bcast_kc = 64;
    static constexpr int plane_pixels = 12, plane_half_pixels = 12, plane_column_blocks = 5;
};

#elif FCNRT_GEMM_ISA_ID == FCNRT_ISA_ID_avx2

struct Vec {
    using type = __m256;
    static constexpr int width = 8;
    static type zero() { return _mm256_setzero_ps(); }
    static type load(const float* p) { return _mm256_loadu_ps(p); }
    static void store(float* p, type v) { _mm256_storeu_ps(p, v); }
    static type broadcast(const float* p) { return _mm256_broadcast_ss(p); }
    static type fma(type a, type b, type c) { return _mm256_fmadd_ps(a, b, c); }
    // r[j] (lane l) -> r[l] (lane j): the small-plane conv's channel-major store.
    static constexpr bool has_transpose8 = true;
    static void transpose8(type* r) {
        const type t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
        const type t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
        const type t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
        const type t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
        const type u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
        const type u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
        const type u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
        const type u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
        r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
        r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
        r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
        r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
        r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
        r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
        r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
        r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
    }
};

struct Blocking {
    static constexpr int gemm_mr = 6, gemm_nv = 2, gemm_kc = 256;
    static constexpr int direct_nv = 4, direct_mr = 4, direct_nvm = 3;
    static constexpr int narrow_mr = 6;
    static constexpr int bcast_nv = 2, bcast_pixels = 6, bcast_kc = 128;
    static constexpr int plane_pixels = 6, plane_half_pixels = 8, plane_column_blocks = 5;
};

#else  // portable

struct Vec {
    using type = float;
    static constexpr int width = 1;
    static type zero() { return 0.0f; }
    static type load(const float* p) { return *p; }
    static void store(float* p, type v) { *p = v; }
    static type broadcast(const float* p) { return *p; }
    static type fma(type a, type b, type c) { return __builtin_fmaf(a, b, c); }
    static constexpr bool has_transpose8 = false;
    static void transpose8(type*) {}
};

struct Blocking {
    static constexpr int gemm_mr = 4, gemm_nv = 4, gemm_kc = 256;
    static constexpr int direct_nv = 4, direct_mr = 4, direct_nvm = 4;
    static constexpr int narrow_mr = 4;
    static constexpr int bcast_nv = 4, bcast_pixels = 4, bcast_kc = 128;
    static constexpr int plane_pixels = 4, plane_half_pixels = 4, plane_column_blocks = 2;
};

#endif

}  // namespace
}  // namespace fcnrt::cpu::FCNRT_GEMM_ISA_NAMESPACE
