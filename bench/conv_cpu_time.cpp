// One CPU convolution shape, timed in process CPU time (all threads' user +
// system time), not wall time: on a shared, loaded machine CPU time moves far
// less with the other tenants than wall time does, so two builds' kernels can
// be compared there (run them interleaved). Weights packed once, as the
// executor does at load; the input is a fixed pattern; one untimed warm-up run.
//
//   bench_conv_cpu_time C K HW KERNEL DILATION REPS [PAD [STRIDE]]
//     x (1, C, HW, HW), weight (K, C, KERNEL, KERNEL), the given stride,
//     dilation and padding on every side; prints each run's wall and CPU
//     seconds, then the median CPU time and wall time, GFLOP per CPU-second
//     and that rate as a fraction of one core's FMA peak.
//   bench_conv_cpu_time kernel REPS [LDB_PAD [SHIFT]]
//     the active GEMM micro-kernel alone: kc-step calls over 384 rows of A
//     (L2) against one B block (L1), as gemm_tiles's inner loop runs them;
//     the kernel's ceiling, without packing, C round trip or epilogue; B rows
//     8 tiles + LDB_PAD floats apart.
//
// The peak: the ISA's float lanes (AVX2 8, AVX-512 16, portable 1)
// x 2 FMA units x 2 FLOP x the clock, the clock measured here as a chain of
// dependent integer adds (one cycle each) per CPU-second, so it is the clock
// the process actually ran at, turbo or not.
#include <omp.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "kernels/cpu/conv.h"
#include "kernels/cpu/cpu_isa.h"
#include "kernels/cpu/gemm.h"

namespace {

double process_cpu_seconds() {
    timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}

double thread_cpu_seconds() {
    timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}

// Cycles per CPU-second of this thread: 2^28 dependent adds (latency 1 cycle
// each), median of 5.
double measured_clock_hz() {
    std::vector<double> hz;
    for (int rep = 0; rep < 5; ++rep) {
        uint64_t x = 0;
        const uint64_t n = uint64_t{1} << 28;
        const double t0 = thread_cpu_seconds();
        for (uint64_t i = 0; i < n; i += 8) {
            asm volatile(
                "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
                "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0"
                : "+r"(x));
        }
        hz.push_back(double(n) / (thread_cpu_seconds() - t0));
    }
    std::sort(hz.begin(), hz.end());
    return hz[2];
}

// Float lanes of the active ISA's vectors (the portable path and avx512sim,
// scalar fmaf: 1).
int isa_lanes() {
    switch (fcnrt::cpu::active_cpu_isa()) {
        case fcnrt::cpu::CpuIsa::Avx512: return 16;
        case fcnrt::cpu::CpuIsa::Avx2: return 8;
        case fcnrt::cpu::CpuIsa::Avx512Sim:
        case fcnrt::cpu::CpuIsa::Portable: break;
    }
    return 1;
}

void print_peak(double gflop_per_cpu_s) {
    const double hz = measured_clock_hz();
    const double peak = isa_lanes() * 2.0 * 2.0 * hz * 1e-9;
    std::printf("clock %.2f GHz (dependent adds), %s peak %.1f GFLOP/s per core: %.0f%% of peak\n",
                hz * 1e-9, fcnrt::cpu::active_micro_kernel().isa, peak,
                100.0 * gflop_per_cpu_s / peak);
}

float* align64(float* p) {
    return reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(p) + 63) & ~uintptr_t{63});
}

int bench_kernel(int reps, int64_t ldb_pad, int64_t shift) {
    const fcnrt::cpu::GemmMicroKernel& mk = fcnrt::cpu::active_micro_kernel();
    const int64_t kc = mk.kc, rows = 384, panels = (rows + mk.mr - 1) / mk.mr;
    const int64_t group = 8, ldb = group * mk.nr + ldb_pad, ldc = group * mk.nr;
    // B and C 64-byte aligned (then shifted by SHIFT floats), as gemm_scratch's are.
    std::vector<float> a(size_t(panels * kc * mk.mr), 0.001f);
    std::vector<float> bbuf(size_t(kc * ldb + 32), 0.5f), cbuf(size_t(panels * mk.mr * ldc + 32), 0.0f);
    float* b_ = align64(bbuf.data()) + shift;
    float* c_ = align64(cbuf.data()) + shift;
    const int64_t passes = 200;
    std::vector<double> cpu;
    for (int rep = 0; rep < reps + 1; ++rep) {
        const double t0 = thread_cpu_seconds();
        for (int64_t pass = 0; pass < passes; ++pass)
            for (int64_t u = 0; u < group; ++u)
                for (int64_t p = 0; p < panels; ++p)
                    mk.packed(kc, a.data() + p * kc * mk.mr, b_ + u * mk.nr, ldb,
                              c_ + p * mk.mr * ldc + u * mk.nr, ldc, true);
        if (rep > 0) cpu.push_back(thread_cpu_seconds() - t0);
    }
    std::sort(cpu.begin(), cpu.end());
    const double med = cpu[cpu.size() / 2];
    const double flop = 2.0 * double(passes * group * panels) * double(mk.mr * mk.nr * kc);
    std::printf("kernel %s %dx%d kc %d, ldb %lld, shift %lld: median cpu %.3f s, %.1f GFLOP per cpu-second\n", mk.isa,
                mk.mr, mk.nr, mk.kc, (long long)ldb, (long long)shift, med, flop / med * 1e-9);
    print_peak(flop / med * 1e-9);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc >= 3 && std::strcmp(argv[1], "kernel") == 0)
        return bench_kernel(std::atoi(argv[2]), argc > 3 ? std::atoi(argv[3]) : 0,
                            argc > 4 ? std::atoi(argv[4]) : 0);
    if (argc < 7) {
        std::fprintf(stderr, "usage: %s C K HW KERNEL DILATION REPS [PAD [STRIDE]]\n       %s kernel REPS [LDB_PAD [SHIFT]]\n",
                     argv[0], argv[0]);
        return 2;
    }
    const int64_t c = std::atoi(argv[1]), k = std::atoi(argv[2]), hw = std::atoi(argv[3]);
    const int64_t ks = std::atoi(argv[4]), dil = std::atoi(argv[5]);
    const int reps = std::atoi(argv[6]);
    const int pad = argc > 7 ? std::atoi(argv[7]) : 0;
    const int stride = argc > 8 ? std::atoi(argv[8]) : 1;
    const int64_t ohw = stride > 0 ? (hw + 2 * pad - dil * (ks - 1) - 1) / stride + 1 : 0;
    if (ohw <= 0 || reps <= 0) {
        std::fprintf(stderr, "empty output or no runs\n");
        return 2;
    }
    std::vector<float> x(size_t(c * hw * hw)), w(size_t(k * c * ks * ks)), bias(size_t(k), 0.1f);
    std::vector<float> y(size_t(k * ohw * ohw));
    for (size_t i = 0; i < x.size(); ++i) x[i] = float(i % 17) * 0.01f;
    for (size_t i = 0; i < w.size(); ++i) w[i] = float(i % 13) * 0.001f;
    using fcnrt::DType;
    const fcnrt::View xv = fcnrt::make_view(x.data(), DType::F32, 1, c, hw, hw);  // (1, C, HW, HW)
    const fcnrt::View wv = fcnrt::make_view(w.data(), DType::F32, k, c, ks, ks);  // (K, C, ks, ks)
    const fcnrt::View yv =
        fcnrt::make_view(y.data(), DType::F32, 1, k, ohw, ohw);  // (1, K, OH, OW)
    fcnrt::Conv2dParams p;
    p.stride[0] = p.stride[1] = stride;
    p.dilation[0] = p.dilation[1] = int(dil);
    p.pads[0] = p.pads[1] = p.pads[2] = p.pads[3] = pad;
    const auto packed = fcnrt::cpu::pack_conv2d_weights(wv, 1);
    fcnrt::cpu::conv2d_packed(xv, wv, *packed, bias.data(), yv, p);  // warm-up: scratch, caches
    std::vector<double> cpu, wall;
    for (int r = 0; r < reps; ++r) {
        const double c0 = process_cpu_seconds(), w0 = omp_get_wtime();
        fcnrt::cpu::conv2d_packed(xv, wv, *packed, bias.data(), yv, p);
        cpu.push_back(process_cpu_seconds() - c0);
        wall.push_back(omp_get_wtime() - w0);
        std::printf("run %d: wall %.4f s, cpu %.4f s\n", r, wall.back(), cpu.back());
    }
    std::sort(cpu.begin(), cpu.end());
    std::sort(wall.begin(), wall.end());
    const double med = cpu[cpu.size() / 2];
    const double flop = 2.0 * double(k) * double(c) * double(ks * ks) * double(ohw) * double(ohw);
    std::printf("median cpu %.4f s, wall %.4f s, %.1f GFLOP per cpu-second (threads %d)\n", med,
                wall[wall.size() / 2], flop / med * 1e-9, omp_get_max_threads());
    print_peak(flop / med * 1e-9);
    return 0;
}
