// The CUDA emulation's cuda_bf16.h: the __nv_bfloat16 storage type (the upper half
// of a binary32) and its exact conversions, host and device alike. Float -> bfloat16
// rounds to nearest, ties to even (as __float2bfloat16 does); back is exact.
// Arithmetic on __nv_bfloat16 is not emulated: convert to float.
#pragma once

#include <cstdint>
#include <cstring>

struct __nv_bfloat16_raw {
    unsigned short x;
};

struct __nv_bfloat16 {
    unsigned short __x;
    __nv_bfloat16() = default;
    __nv_bfloat16(const __nv_bfloat16_raw& r) : __x(r.x) {}
    __nv_bfloat16(float f);
    __nv_bfloat16(double d) : __nv_bfloat16(static_cast<float>(d)) {}
    operator float() const;
    operator __nv_bfloat16_raw() const { return __nv_bfloat16_raw{__x}; }
};
static_assert(sizeof(__nv_bfloat16) == 2 && alignof(__nv_bfloat16) == 2, "bfloat16 is two bytes");

namespace cuda_emu::detail {
inline unsigned short float_to_bfloat16_bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<unsigned short>((u >> 16) | 0x40u);
    // Ties to even on the 16 dropped bits; a carry moves into the exponent (and to
    // infinity past the largest finite bfloat16), as it should.
    u += 0x7fffu + ((u >> 16) & 1u);
    return static_cast<unsigned short>(u >> 16);
}
inline float bfloat16_bits_to_float(unsigned short b) {
    const uint32_t u = static_cast<uint32_t>(b) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
}  // namespace cuda_emu::detail

inline __nv_bfloat16::__nv_bfloat16(float f) : __x(::cuda_emu::detail::float_to_bfloat16_bits(f)) {}
inline __nv_bfloat16::operator float() const {
    return ::cuda_emu::detail::bfloat16_bits_to_float(__x);
}

inline __nv_bfloat16 __float2bfloat16(float f) {
    return __nv_bfloat16(f);
}
inline __nv_bfloat16 __float2bfloat16_rn(float f) {
    return __nv_bfloat16(f);
}
inline float __bfloat162float(__nv_bfloat16 b) {
    return static_cast<float>(b);
}
inline unsigned short __bfloat16_as_ushort(__nv_bfloat16 b) {
    return b.__x;
}
inline __nv_bfloat16 __ushort_as_bfloat16(unsigned short u) {
    return __nv_bfloat16(__nv_bfloat16_raw{u});
}
