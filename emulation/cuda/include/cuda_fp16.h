// The CUDA emulation's cuda_fp16.h: the __half storage type (IEEE binary16) and its
// exact conversions, host and device alike. Float -> half rounds to nearest, ties to
// even (as __float2half does); half -> float is exact. Arithmetic on __half is not
// emulated: convert to float. See emulation/cuda/README.md.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

struct __half_raw {
    unsigned short x;
};

struct __half {
    unsigned short __x;
    __half() = default;
    __half(const __half_raw& r) : __x(r.x) {}
    __half(float f);
    __half(double d) : __half(static_cast<float>(d)) {}
    operator float() const;
    operator __half_raw() const { return __half_raw{__x}; }
};
static_assert(sizeof(__half) == 2 && alignof(__half) == 2, "__half is two bytes");

namespace cuda_emu::detail {
// binary16: 1 sign, 5 exponent (bias 15), 10 fraction bits; subnormals down to 2^-24.
inline unsigned short float_to_half_bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    const unsigned short sign = static_cast<unsigned short>((u >> 16) & 0x8000u);
    const float a = std::fabs(f);
    if (std::isnan(f)) return static_cast<unsigned short>(sign | 0x7fffu);
    // 65520 = 65504 + half an ulp: it and everything above round to infinity.
    if (a >= 65520.0f) return static_cast<unsigned short>(sign | 0x7c00u);
    // The quantum of the result's binade (2^-24 for subnormals); a / quantum is exact
    // and nearbyint rounds it to nearest even in the default rounding mode.
    int e = 0;
    std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
    const int q = e - 1 < -14 ? -24 : e - 1 - 10;
    const double n = std::nearbyint(std::ldexp(static_cast<double>(a), -q));  // significand
    const double r = std::ldexp(n, q);
    if (r == 0.0) return sign;
    if (r < 0x1p-14) return static_cast<unsigned short>(sign | static_cast<unsigned>(n));
    int re = 0;
    const double rm = std::frexp(r, &re);  // r = rm * 2^re
    const unsigned exponent = static_cast<unsigned>(re - 1 + 15);
    const unsigned fraction = static_cast<unsigned>(std::ldexp(rm, 11)) - 1024u;
    return static_cast<unsigned short>(sign | (exponent << 10) | fraction);
}
inline float half_bits_to_float(unsigned short h) {
    const float sign = (h & 0x8000u) ? -1.0f : 1.0f;
    const unsigned exponent = (h >> 10) & 0x1fu, fraction = h & 0x3ffu;
    if (exponent == 0x1f) return fraction ? std::nanf("") : sign * INFINITY;
    if (exponent == 0) return sign * std::ldexp(static_cast<float>(fraction), -24);
    return sign *
           std::ldexp(static_cast<float>(fraction | 0x400u), static_cast<int>(exponent) - 25);
}
}  // namespace cuda_emu::detail

inline __half::__half(float f) : __x(::cuda_emu::detail::float_to_half_bits(f)) {}
inline __half::operator float() const {
    return ::cuda_emu::detail::half_bits_to_float(__x);
}

inline __half __float2half(float f) {
    return __half(f);
}
inline __half __float2half_rn(float f) {
    return __half(f);
}
inline float __half2float(__half h) {
    return static_cast<float>(h);
}
inline unsigned short __half_as_ushort(__half h) {
    return h.__x;
}
inline __half __ushort_as_half(unsigned short u) {
    return __half(__half_raw{u});
}
