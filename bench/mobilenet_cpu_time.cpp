// DeepLabV3-MobileNetV3-Large's (520x520) depthwise convs and its final bilinear
// upsampling, each through the fast CPU kernels (cpu::conv2d_packed with its bias
// and fused activation, cpu::resize), timed in process CPU time (see
// conv_cpu_time.cpp: comparable across builds on a loaded machine, run them
// interleaved). Inputs are fixed patterns; each kernel's least CPU time over REPS
// runs is printed, then their sum and a checksum of all outputs (the same in
// every build that keeps the kernels' bits).
//
//   bench_mobilenet_cpu_time [REPS]    (default 30; set OMP_NUM_THREADS=1 for one thread)
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "kernels/cpu/conv.h"
#include "kernels/cpu/resize.h"

namespace {

using namespace fcnrt;

double process_cpu_seconds() {
    timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}

// A depthwise conv of the backbone: C channels of HW x HW, K x K, stride, padding, dilation.
struct Depthwise {
    int c, hw, k, stride, pad, dilation;
    Activation act;
};

const Depthwise kLayers[] = {
    {16, 260, 3, 1, 1, 1, Activation::Relu},       {64, 260, 3, 2, 1, 1, Activation::Relu},
    {72, 130, 3, 1, 1, 1, Activation::Relu},       {72, 130, 5, 2, 2, 1, Activation::Relu},
    {120, 65, 5, 1, 2, 1, Activation::Relu},       {120, 65, 5, 1, 2, 1, Activation::Relu},
    {240, 65, 3, 2, 1, 1, Activation::HardSwish},  {200, 33, 3, 1, 1, 1, Activation::HardSwish},
    {184, 33, 3, 1, 1, 1, Activation::HardSwish},  {184, 33, 3, 1, 1, 1, Activation::HardSwish},
    {480, 33, 3, 1, 1, 1, Activation::HardSwish},  {672, 33, 3, 1, 1, 1, Activation::HardSwish},
    {672, 33, 5, 1, 4, 2, Activation::HardSwish},  {960, 33, 5, 1, 4, 2, Activation::HardSwish},
    {960, 33, 5, 1, 4, 2, Activation::HardSwish},
};

struct Run {
    std::vector<float> x, w, b, y;
    View xv, wv, yv;
    Conv2dParams p;
    std::shared_ptr<const cpu::PackedConvWeights> packed;
};

}  // namespace

int main(int argc, char** argv) {
    const int reps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 30;
    std::vector<Run> runs;
    for (const Depthwise& l : kLayers) {
        Run r;
        const int oh = (l.hw + 2 * l.pad - l.dilation * (l.k - 1) - 1) / l.stride + 1;
        r.x.resize(size_t(l.c) * l.hw * l.hw);
        r.w.resize(size_t(l.c) * l.k * l.k);
        r.b.resize(size_t(l.c));
        r.y.resize(size_t(l.c) * oh * oh);
        for (size_t j = 0; j < r.x.size(); ++j) r.x[j] = float((j * 7919) % 2001) / 1000.0f - 1.0f;
        for (size_t j = 0; j < r.w.size(); ++j) r.w[j] = float((j * 104729) % 2001) / 3000.0f - 0.33f;
        for (size_t j = 0; j < r.b.size(); ++j) r.b[j] = 0.01f * float(j % 7);
        r.xv = make_view(r.x.data(), DType::F32, 1, l.c, l.hw, l.hw);
        r.wv = make_view(r.w.data(), DType::F32, l.c, 1, l.k, l.k);
        r.yv = make_view(r.y.data(), DType::F32, 1, l.c, oh, oh);
        r.p.stride[0] = r.p.stride[1] = l.stride;
        for (int& q : r.p.pads) q = l.pad;
        r.p.dilation[0] = r.p.dilation[1] = l.dilation;
        r.p.groups = l.c;
        r.p.act.kind = l.act;
        r.packed = cpu::pack_conv2d_weights(r.wv, l.c);
        runs.push_back(std::move(r));
    }
    // The head's upsampling: 21 classes, 65x65 -> 520x520, bilinear (align_corners false).
    std::vector<float> rx(21 * 65 * 65), ry(21 * 520 * 520);
    for (size_t j = 0; j < rx.size(); ++j) rx[j] = float(j % 101) * 0.01f;
    ResizeParams rp;
    rp.mode = ResizeMode::Bilinear;
    rp.coord_scale[0] = rp.coord_scale[1] = 65.0 / 520.0;

    std::vector<double> best(runs.size() + 1, 1e30);
    for (int rep = 0; rep < reps; ++rep) {
        for (size_t i = 0; i < runs.size(); ++i) {
            const double t0 = process_cpu_seconds();
            cpu::conv2d_packed(runs[i].xv, runs[i].wv, *runs[i].packed, runs[i].b.data(), runs[i].yv,
                               runs[i].p);
            best[i] = std::min(best[i], process_cpu_seconds() - t0);
        }
        const double t0 = process_cpu_seconds();
        cpu::resize(make_view(rx.data(), DType::F32, 1, 21, 65, 65),
                    make_view(ry.data(), DType::F32, 1, 21, 520, 520), rp);
        best.back() = std::min(best.back(), process_cpu_seconds() - t0);
    }
    double depthwise = 0.0, checksum = 0.0;
    for (size_t i = 0; i < runs.size(); ++i) {
        const Depthwise& l = kLayers[i];
        std::printf("depthwise %3d x %3dx%-3d %dx%d s%d d%d  %7.3f ms\n", l.c, l.hw, l.hw, l.k, l.k, l.stride,
                    l.dilation, best[i] * 1e3);
        depthwise += best[i];
        for (float v : runs[i].y) checksum += v;
    }
    for (float v : ry) checksum += v;
    std::printf("depthwise total %.3f ms\n", depthwise * 1e3);
    std::printf("resize 21x65x65 -> 520x520 bilinear  %.3f ms\n", best.back() * 1e3);
    std::printf("checksum %.6f\n", checksum);
    return 0;
}
