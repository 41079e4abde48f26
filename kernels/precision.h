// The arithmetic precision of the multiply-adds in convolutions: fp32 (exact
// float32 on the CUDA cores) or a tensor-core input format with float32
// accumulation: tf32 (10-bit significand, float32's exponent), bf16 (7-bit
// significand, float32's exponent) or fp16 (10-bit significand, 5-bit exponent).
// Chosen per executor; only the CUDA backend has the tensor-core formats.
//
// round_to_precision() rounds a float to the nearest value of a format, on the
// host, the way the GPU's conversions do: tf32 as cvt.rna.tf32.f32
// (__float_to_tf32: ties away from zero), bf16 and fp16 as __float2bfloat16 and
// __float2half (ties to even; fp16 with subnormals and overflow to infinity).
// The weight packing uses it at load, and the tests use it to build references.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace fcnrt {

enum class Precision { Fp32, Tf32, Bf16, Fp16 };

inline const char* precision_name(Precision p) {
    switch (p) {
        case Precision::Tf32: return "tf32";
        case Precision::Bf16: return "bf16";
        case Precision::Fp16: return "fp16";
        default: return "fp32";
    }
}

// "fp32", "tf32", "bf16" or "fp16"; false for anything else.
inline bool parse_precision(const std::string& s, Precision* p) {
    for (Precision q : {Precision::Fp32, Precision::Tf32, Precision::Bf16, Precision::Fp16}) {
        if (s == precision_name(q)) {
            *p = q;
            return true;
        }
    }
    return false;
}

// Unit roundoff of the format's rounding (half its relative spacing at 1): 2^-24
// for fp32, 2^-11 for tf32 and fp16, 2^-8 for bf16. fp16 also loses relative
// precision below 2^-14 (subnormals): see precision_subnormal_spacing().
inline double precision_unit_roundoff(Precision p) {
    switch (p) {
        case Precision::Tf32: return std::ldexp(1.0, -11);
        case Precision::Bf16: return std::ldexp(1.0, -8);
        case Precision::Fp16: return std::ldexp(1.0, -11);
        default: return std::ldexp(1.0, -24);
    }
}

// The spacing of the format's subnormals: the largest absolute rounding error of a
// value below the normal range is half of it.
inline double precision_subnormal_spacing(Precision p) {
    return p == Precision::Fp16 ? std::ldexp(1.0, -24) : std::ldexp(1.0, -149);
}

inline float round_to_precision(float f, Precision p) {
    if (p == Precision::Fp32 || !std::isfinite(f) || f == 0.0f) return f;
    const int significand_bits = p == Precision::Bf16 ? 7 : 10;  // stored, after the leading 1
    const int min_exponent = p == Precision::Fp16 ? -14 : -126;  // of the smallest normal
    const double largest =
        p == Precision::Fp16 ? 65504.0 : double(std::numeric_limits<float>::max());
    const double a = std::fabs(double(f));
    int e = 0;
    std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
    const int exponent = std::max(e - 1, min_exponent);
    const double spacing = std::ldexp(1.0, exponent - significand_bits);
    const double q = a / spacing;  // exact: a power-of-two scaling
    double r = p == Precision::Tf32 ? std::round(q) : std::nearbyint(q);  // away / to even
    r *= spacing;
    if (r > largest) r = std::numeric_limits<double>::infinity();
    return float(std::copysign(r, double(f)));
}

}  // namespace fcnrt
