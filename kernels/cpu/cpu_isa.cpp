// CPU feature detection and the FCNRT_CPU_ISA override (see cpu_isa.h).
#include "kernels/cpu/cpu_isa.h"

#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace fcnrt::cpu {

namespace {

// GCC's __builtin_cpu_supports checks CPUID; the OS must also save the wider
// registers on a context switch (XCR0), which only xgetbv tells.
unsigned long long xcr0() {
    unsigned eax = 0, edx = 0;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return (static_cast<unsigned long long>(edx) << 32) | eax;
}

bool os_saves(unsigned long long mask) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx")) return false;  // implies OSXSAVE was checked
    return (xcr0() & mask) == mask;
}

bool parse_isa(const char* text, CpuIsa* isa) {
    for (CpuIsa i : {CpuIsa::Portable, CpuIsa::Avx2, CpuIsa::Avx512, CpuIsa::Avx512Sim}) {
        if (std::strcmp(text, cpu_isa_name(i)) == 0) {
            *isa = i;
            return true;
        }
    }
    return false;
}

}  // namespace

const char* cpu_isa_name(CpuIsa isa) {
    switch (isa) {
        case CpuIsa::Avx512: return "avx512";
        case CpuIsa::Avx512Sim: return "avx512sim";
        case CpuIsa::Avx2: return "avx2";
        case CpuIsa::Portable: break;
    }
    return "portable";
}

bool cpu_isa_supported(CpuIsa isa) {
    __builtin_cpu_init();
    switch (isa) {
        case CpuIsa::Avx512:
            // XMM, YMM, opmask, ZMM0-15 upper halves, ZMM16-31
            return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma") &&
                   os_saves(0xe6);
        case CpuIsa::Avx2:
            return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && os_saves(0x6);
        case CpuIsa::Avx512Sim:
        case CpuIsa::Portable: break;
    }
    return true;
}

CpuIsa cpu_isa_logic(CpuIsa isa) {
    return isa == CpuIsa::Avx512Sim ? CpuIsa::Avx512 : isa;
}

CpuIsa best_cpu_isa() {
    for (CpuIsa i : {CpuIsa::Avx512, CpuIsa::Avx2})  // never avx512sim
        if (cpu_isa_supported(i)) return i;
    return CpuIsa::Portable;
}

std::string cpu_isa_request_error() {
    const char* env = std::getenv("FCNRT_CPU_ISA");
    if (env == nullptr || *env == '\0') return "";
    CpuIsa isa;
    if (!parse_isa(env, &isa))
        return std::string("FCNRT_CPU_ISA=") + env +
               " is not one of avx512, avx2, portable, avx512sim";
    if (!cpu_isa_supported(isa))
        return std::string("FCNRT_CPU_ISA=") + env + ": this CPU does not support it (its best is " +
               cpu_isa_name(best_cpu_isa()) + ")";
    return "";
}

CpuIsa active_cpu_isa() {
    static const CpuIsa active = [] {
        const std::string error = cpu_isa_request_error();
        if (!error.empty()) throw std::runtime_error(error);
        CpuIsa isa = best_cpu_isa();
        const char* env = std::getenv("FCNRT_CPU_ISA");
        if (env != nullptr && *env != '\0') parse_isa(env, &isa);
        return isa;
    }();
    return active;
}

CpuIsa active_cpu_isa_logic() {
    return cpu_isa_logic(active_cpu_isa());
}

bool cpu_avx2_helpers() {
    static const bool avx2 =
        active_cpu_isa_logic() != CpuIsa::Portable && cpu_isa_supported(CpuIsa::Avx2);
    return avx2;
}

}  // namespace fcnrt::cpu
