// One CPU convolution shape, timed in process CPU time (all threads' user +
// system time), not wall time: on a shared, loaded machine CPU time moves far
// less with the other tenants than wall time does, so two builds' kernels can
// be compared there (run them interleaved). Weights packed once, as the
// executor does at load; the input is a fixed pattern.
//
//   bench_conv_cpu_time C K HW KERNEL DILATION REPS [PAD]
//     x (1, C, HW, HW), weight (K, C, KERNEL, KERNEL), stride 1, the given
//     dilation and padding on every side; prints each run's wall and CPU
//     seconds, then the median CPU time and GFLOP per CPU-second.
#include <omp.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "kernels/cpu/conv.h"

namespace {

double process_cpu_seconds() {
    timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 7) {
        std::fprintf(stderr, "usage: %s C K HW KERNEL DILATION REPS [PAD]\n", argv[0]);
        return 2;
    }
    const int64_t c = std::atoi(argv[1]), k = std::atoi(argv[2]), hw = std::atoi(argv[3]);
    const int64_t ks = std::atoi(argv[4]), dil = std::atoi(argv[5]);
    const int reps = std::atoi(argv[6]);
    const int pad = argc > 7 ? std::atoi(argv[7]) : 0;
    const int64_t ohw = hw + 2 * pad - dil * (ks - 1);
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
    p.dilation[0] = p.dilation[1] = int(dil);
    p.pads[0] = p.pads[1] = p.pads[2] = p.pads[3] = pad;
    const auto packed = fcnrt::cpu::pack_conv2d_weights(wv, 1);
    std::vector<double> cpu;
    for (int r = 0; r < reps; ++r) {
        const double c0 = process_cpu_seconds(), w0 = omp_get_wtime();
        fcnrt::cpu::conv2d_packed(xv, wv, *packed, bias.data(), yv, p);
        cpu.push_back(process_cpu_seconds() - c0);
        std::printf("run %d: wall %.3f s, cpu %.3f s\n", r, omp_get_wtime() - w0, cpu.back());
    }
    std::sort(cpu.begin(), cpu.end());
    const double med = cpu[cpu.size() / 2];
    const double flop = 2.0 * double(k) * double(c) * double(ks * ks) * double(ohw) * double(ohw);
    std::printf("median cpu %.3f s, %.1f GFLOP per cpu-second (threads %d)\n", med,
                flop / med * 1e-9, omp_get_max_threads());
    return 0;
}
