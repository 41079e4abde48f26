// How the GEMM conv's main path (conv2d_gemm in conv.cpp) and the strided
// conv on phase planes (conv2d_gemm_phases in conv_phases.cpp) cut a conv into
// jobs, and how a tile run's C block leaves for y. One definition, so that the
// two paths keep the same jobs and the same epilogue float ops (bit for bit).
//
// Jobs: runs of nr-pixel tiles of one plane (n, g) and one chunk of A panels
// (output channels; conv_gemm_chunk_rows), about kConvJobsPerThread per thread
// and at least a tile group each; job = ((n * groups + g) * blocks + block) *
// chunks + chunk, so a tile run's chunks are neighbours and concurrent jobs
// share the run's input in cache. All jobs run in one OpenMP fork/join with
// dynamic scheduling (one thread below parallel.h's threshold).
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/conv.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/parallel.h"

namespace fcnrt::cpu {

// Jobs to aim for per thread, so that dynamic scheduling evens out the load.
constexpr int64_t kConvJobsPerThread = 4;

struct ConvGemmJobs {
    int64_t groups = 1, kg = 0, mr = 1;
    int64_t tiles = 0, panels = 0, chunk_panels = 0, chunks = 0, per_job = 0, blocks = 0, jobs = 0;
    bool threaded = false;

    struct Job {
        int64_t n, g;            // the plane
        int64_t t0, t1;          // its tiles [t0, t1)
        int64_t panel0, panel1;  // A panels [panel0, panel1)
        int64_t k0, k1;          // the chunk's output channels within the group
    };

    // y: the conv's output; reduce = Cg * kh * kw.
    ConvGemmJobs(const GemmMicroKernel& mk, const View& y, int64_t groups_, int64_t reduce)
        : groups(groups_), kg(y.c / groups_), mr(mk.mr) {
        const int64_t pixels = y.h * y.w, planes = y.n * groups;
        tiles = (pixels + mk.nr - 1) / mk.nr;
        panels = (kg + mk.mr - 1) / mk.mr;
        chunk_panels = conv_gemm_chunk_rows(mk, kg) / mk.mr;
        chunks = (panels + chunk_panels - 1) / chunk_panels;
        const int64_t group = gemm_tile_group(mk, chunk_panels * mk.mr);
        threaded = worth_threads(2.0 * double(y.numel()) * double(reduce));
        const int64_t wanted = kConvJobsPerThread * (threaded ? omp_get_max_threads() : 1);
        per_job = std::clamp<int64_t>((planes * chunks * tiles + wanted - 1) / wanted, std::min(group, tiles),
                                      tiles);
        blocks = (tiles + per_job - 1) / per_job;
        jobs = planes * chunks * blocks;
    }

    Job at(int64_t job) const {
        Job j;
        const int64_t chunk = job % chunks, block = job / chunks % blocks;
        j.g = job / (chunks * blocks) % groups;
        j.n = job / (chunks * blocks * groups);
        j.t0 = block * per_job;
        j.t1 = std::min(tiles, j.t0 + per_job);
        j.panel0 = chunk * chunk_panels;
        j.panel1 = std::min(panels, j.panel0 + chunk_panels);
        j.k0 = j.panel0 * mr;
        j.k1 = std::min(kg, j.panel1 * mr);
        return j;
    }
};

// A tile run's C block (rows k0..k1 of the job's chunk, ldc apart; `count`
// tiles from tile t) into y's plane (n, g): per channel, one pass that reads
// the C row once and writes bias, residual and activation (gemm.h's epilogue).
inline void conv_tile_epilogue(const ConvGemmJobs::Job& j, int64_t nr, int64_t t, int64_t count, const float* c,
                               int64_t ldc, const float* bias, const View& y, const Conv2dParams& p) {
    const int64_t kg = y.c / p.groups, pixels = y.h * y.w;
    const int64_t p0 = t * nr, valid = std::min(count * nr, pixels - p0);
    for (int64_t k = j.k0; k < j.k1; ++k) {
        const int64_t channel = j.g * kg + k;
        float* out = y.f32() + y.offset(j.n, channel, 0, 0) + p0;  // (valid) of (OH*OW)
        const float bk = bias ? bias[channel] : 0.0f;
        const float* row = c + (k - j.k0) * ldc;
        if (p.residual.data != nullptr) {
            bias_residual_activation(row, out, valid, bk,
                                     p.residual.f32() + p.residual.offset(j.n, channel, 0, 0) + p0, p.act);
        } else {
            bias_activation(row, out, valid, bk, p.act);
        }
    }
}

}  // namespace fcnrt::cpu
