// CUDA's vector types for the CUDA emulation (emulation/cuda/README.md): the same
// members, sizes and alignments as the toolkit's vector_types.h, so that a kernel's
// vector loads are checked for the alignment the hardware needs (float4: 16 bytes).
#pragma once

#define CUDA_EMU_VEC1(T, N, A) \
    struct alignas(A) N##1 { T x; };
#define CUDA_EMU_VEC2(T, N, A) \
    struct alignas(A) N##2 { T x, y; };
#define CUDA_EMU_VEC3(T, N) \
    struct N##3 { T x, y, z; };
#define CUDA_EMU_VEC4(T, N, A) \
    struct alignas(A) N##4 { T x, y, z, w; };

CUDA_EMU_VEC1(signed char, char, 1)
CUDA_EMU_VEC2(signed char, char, 2)
CUDA_EMU_VEC3(signed char, char)
CUDA_EMU_VEC4(signed char, char, 4)
CUDA_EMU_VEC1(unsigned char, uchar, 1)
CUDA_EMU_VEC2(unsigned char, uchar, 2)
CUDA_EMU_VEC3(unsigned char, uchar)
CUDA_EMU_VEC4(unsigned char, uchar, 4)
CUDA_EMU_VEC1(short, short, 2)
CUDA_EMU_VEC2(short, short, 4)
CUDA_EMU_VEC3(short, short)
CUDA_EMU_VEC4(short, short, 8)
CUDA_EMU_VEC1(unsigned short, ushort, 2)
CUDA_EMU_VEC2(unsigned short, ushort, 4)
CUDA_EMU_VEC3(unsigned short, ushort)
CUDA_EMU_VEC4(unsigned short, ushort, 8)
CUDA_EMU_VEC1(int, int, 4)
CUDA_EMU_VEC2(int, int, 8)
CUDA_EMU_VEC3(int, int)
CUDA_EMU_VEC4(int, int, 16)
CUDA_EMU_VEC1(unsigned int, uint, 4)
CUDA_EMU_VEC2(unsigned int, uint, 8)
CUDA_EMU_VEC3(unsigned int, uint)
CUDA_EMU_VEC4(unsigned int, uint, 16)
CUDA_EMU_VEC1(long long, longlong, 8)
CUDA_EMU_VEC2(long long, longlong, 16)
CUDA_EMU_VEC3(long long, longlong)
CUDA_EMU_VEC4(long long, longlong, 16)
CUDA_EMU_VEC1(unsigned long long, ulonglong, 8)
CUDA_EMU_VEC2(unsigned long long, ulonglong, 16)
CUDA_EMU_VEC3(unsigned long long, ulonglong)
CUDA_EMU_VEC4(unsigned long long, ulonglong, 16)
CUDA_EMU_VEC1(float, float, 4)
CUDA_EMU_VEC2(float, float, 8)
CUDA_EMU_VEC3(float, float)
CUDA_EMU_VEC4(float, float, 16)
CUDA_EMU_VEC1(double, double, 8)
CUDA_EMU_VEC2(double, double, 16)
CUDA_EMU_VEC3(double, double)
CUDA_EMU_VEC4(double, double, 16)

#undef CUDA_EMU_VEC1
#undef CUDA_EMU_VEC2
#undef CUDA_EMU_VEC3
#undef CUDA_EMU_VEC4

static_assert(sizeof(float4) == 16 && alignof(float4) == 16, "float4 layout");
static_assert(sizeof(float3) == 12 && alignof(float3) == 4, "float3 layout");
static_assert(sizeof(double2) == 16 && alignof(double2) == 16, "double2 layout");

struct dim3 {
    unsigned int x, y, z;
    constexpr dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1)
        : x(vx), y(vy), z(vz) {}
    constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
    constexpr operator uint3() const { return uint3{x, y, z}; }
};

#define CUDA_EMU_MAKE2(N, T) \
    inline N##2 make_##N##2(T x, T y) { return N##2{x, y}; }
#define CUDA_EMU_MAKE3(N, T) \
    inline N##3 make_##N##3(T x, T y, T z) { return N##3{x, y, z}; }
#define CUDA_EMU_MAKE4(N, T) \
    inline N##4 make_##N##4(T x, T y, T z, T w) { return N##4{x, y, z, w}; }
#define CUDA_EMU_MAKE(N, T) \
    inline N##1 make_##N##1(T x) { return N##1{x}; } \
    CUDA_EMU_MAKE2(N, T) CUDA_EMU_MAKE3(N, T) CUDA_EMU_MAKE4(N, T)
CUDA_EMU_MAKE(char, signed char)
CUDA_EMU_MAKE(uchar, unsigned char)
CUDA_EMU_MAKE(short, short)
CUDA_EMU_MAKE(ushort, unsigned short)
CUDA_EMU_MAKE(int, int)
CUDA_EMU_MAKE(uint, unsigned int)
CUDA_EMU_MAKE(longlong, long long)
CUDA_EMU_MAKE(ulonglong, unsigned long long)
CUDA_EMU_MAKE(float, float)
CUDA_EMU_MAKE(double, double)
#undef CUDA_EMU_MAKE
#undef CUDA_EMU_MAKE2
#undef CUDA_EMU_MAKE3
#undef CUDA_EMU_MAKE4
