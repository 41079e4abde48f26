// Fast CPU convolution and transposed convolution.
//
// Threading: the work is cut into independent jobs, run in one OpenMP fork/join
// (conv_transpose2d adds a bias-fill and an activation pass), and each thread
// runs whole jobs with its own scratch buffer and a single-threaded SGEMM (see
// gemm.h), so threads never wait on each other, or on a second pool, mid-call.
//
// conv2d, general case: a job is one run of output pixels (row-major over OH,
// OW) of one batch item and group. Its im2col matrix cols [Cg*kh*kw, len] is
// kept near kColumnBudget floats (L2-sized; large images never materialise the
// whole column matrix), then the SGEMM weight_g [Kg, Cg*kh*kw] x cols ->
// y[n, g*Kg : (g+1)*Kg, p0 : p0 + len] (contiguous per channel, so ldc =
// OH*OW), then the bias + residual + activation epilogue while the block is
// still in cache. Runs are whole numbers of fixed-width GEMM column chunks
// (sgemm_column_chunks), so an output pixel's value does not depend on the
// image's size or the thread count: tiled images equal untiled ones bit for
// bit. Runs are also made small enough that there are several jobs per thread.
// A 1x1, stride-1, unpadded conv skips im2col: the input plane is the column
// matrix.
// Convs with one input channel per group (depthwise, also with a channel
// multiplier) use a direct loop kernel over (n, k) planes, vectorised along
// output rows.
//
// conv_transpose2d: a job is one batch item, group and chunk of output
// channels. Per block of input rows, the SGEMM weight_g^T [taps, Cg] x x_g [Cg,
// rows*W] -> cols (in fixed-width column chunks, as above) (taps = the chunk's channels times kh*kw), then a col2im pass
// adds each column entry into the output pixel it lands on. Each output channel
// belongs to one job and is summed in a fixed order: deterministic, no atomics.
// y starts as the bias; the activation runs once all blocks are in.
//
// Scratch: thread_local std::vector buffers, grown on demand and reused.
#include "kernels/cpu/conv.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cpu/gemm.h"

namespace fcnrt::cpu {

namespace {

// Target size of one column block, in floats (1 MiB): about one core's L2, and
// still hundreds of columns wide for SGEMM at typical sizes.
constexpr int64_t kColumnBudget = int64_t{1} << 18;

// Jobs to aim for per thread, so that dynamic scheduling evens out the load.
constexpr int64_t kJobsPerThread = 4;

// Input pixels per conv_transpose2d run: a whole number of GEMM column chunks
// (see sgemm_column_chunks) near kColumnBudget floats of columns, `rows` floats
// per pixel.
int64_t conv_transpose_run_pixels(int64_t rows) {
    return std::max<int64_t>(1, kColumnBudget / std::max<int64_t>(1, rows) / kGemmColumnChunk) *
           kGemmColumnChunk;
}

float* scratch(int64_t count) {
    thread_local std::vector<float> buffer;
    if (static_cast<int64_t>(buffer.size()) < count) buffer.resize(count);
    return buffer.data();
}

int64_t div_floor(int64_t a, int64_t b) {
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

int64_t div_ceil(int64_t a, int64_t b) {
    return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}

// Output columns [lo, hi) of a row whose input column ox*stride + start lies in
// [0, in): the only part of the row that reads (or writes) the input.
void valid_range(int64_t start, int64_t stride, int64_t in, int64_t out, int64_t* lo, int64_t* hi) {
    *lo = std::min(out, std::max<int64_t>(0, div_ceil(-start, stride)));
    *hi = std::max(*lo, std::min(out, div_floor(in - 1 - start, stride) + 1));
}

// cols [Cg*kh*kw, count] (rows `ld` floats apart) for the output pixels
// [p0, p0 + count) of one group, pixels numbered row-major over (OH, OW). x_g
// points at channel 0 of the group in one batch item, planes H*W apart.
void im2col(const float* x_g, int64_t cg, int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t ow,
            int64_t p0, int64_t count, const Conv2dParams& p, float* cols, int64_t ld) {
    const int64_t sh = p.stride[0], sw = p.stride[1];
    const int64_t dh = p.dilation[0], dw = p.dilation[1];
    const int64_t pt = p.pads[0], pl = p.pads[1];
    for (int64_t r = 0; r < cg * kh * kw; ++r) {
        const int64_t c = r / (kh * kw), ky = (r / kw) % kh, kx = r % kw;
        const float* plane = x_g + c * h * w;
        const int64_t start_x = kx * dw - pl;
        int64_t lo, hi;  // the output columns that read the input
        valid_range(start_x, sw, w, ow, &lo, &hi);
        // One output row's segment [ox0, ox1) at a time.
        for (int64_t q = p0; q < p0 + count;) {
            const int64_t oy = q / ow, ox0 = q % ow;
            const int64_t ox1 = std::min(ow, ox0 + (p0 + count - q));
            float* out = cols + r * ld + (q - p0) - ox0;  // out[ox] for ox in [ox0, ox1)
            const int64_t iy = oy * sh - pt + ky * dh;
            const int64_t a = std::clamp(lo, ox0, ox1), b = std::clamp(hi, a, ox1);
            if (iy < 0 || iy >= h || a == b) {
                std::fill(out + ox0, out + ox1, 0.0f);
            } else {
                const float* src = plane + iy * w + start_x;  // src[ox * sw]
                std::fill(out + ox0, out + a, 0.0f);
                if (sw == 1) {
                    std::memcpy(out + a, src + a, sizeof(float) * (b - a));
                } else {
                    for (int64_t ox = a; ox < b; ++ox) out[ox] = src[ox * sw];
                }
                std::fill(out + b, out + ox1, 0.0f);
            }
            q += ox1 - ox0;
        }
    }
}

// The epilogue of one contiguous run out[0, len) of y: bias, then the residual
// run r (nullptr when none), then the activation (see Conv2dParams::residual).
void epilogue_run(float* out, int64_t len, float bias, const float* r, ActivationParams act) {
    if (r != nullptr) {
        bias_residual_activation(out, len, bias, r, act);
    } else {
        bias_activation(out, len, bias, act);
    }
}

// Bias + residual + activation over channels [k0, k0 + count) of batch item n,
// output pixels [p0, p0 + len) of each channel's (OH*OW) plane.
void conv_epilogue(const View& y, int64_t n, int64_t k0, int64_t count, int64_t p0, int64_t len,
                   const float* bias, const Conv2dParams& p) {
    const bool residual = p.residual.data != nullptr;
    if (bias == nullptr && !residual && p.act.kind == Activation::None) return;
    for (int64_t k = 0; k < count; ++k) {
        epilogue_run(y.f32() + y.offset(n, k0 + k, 0, 0) + p0, len, bias ? bias[k0 + k] : 0.0f,
                     residual ? p.residual.f32() + p.residual.offset(n, k0 + k, 0, 0) + p0 : nullptr,
                     p.act);
    }
}

// One input channel per group: y[n, k] = sum over taps of w[k, 0] * x[n, k / kg].
void conv2d_direct_single_channel(const View& x, const View& weight, const float* bias,
                                  const View& y, const Conv2dParams& p) {
    const int64_t kg = y.c / p.groups;
    const int64_t kh = weight.h, kw = weight.w;
    const int64_t sh = p.stride[0], sw = p.stride[1];
    const int64_t dh = p.dilation[0], dw = p.dilation[1];
    const int64_t pt = p.pads[0], pl = p.pads[1];
    const int64_t oh = y.h, ow = y.w;
    // Valid output-column range of each kx, the same for every row.
    std::vector<int64_t> lo(kw), hi(kw);
    for (int64_t kx = 0; kx < kw; ++kx) valid_range(kx * dw - pl, sw, x.w, ow, &lo[kx], &hi[kx]);
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t n = 0; n < y.n; ++n) {
        for (int64_t k = 0; k < y.c; ++k) {
            const float* plane = x.f32() + x.offset(n, k / kg, 0, 0);  // (H, W)
            const float* wk = weight.f32() + k * kh * kw;              // (kh, kw)
            const float b = bias ? bias[k] : 0.0f;
            for (int64_t oy = 0; oy < oh; ++oy) {
                float* out = y.f32() + y.offset(n, k, oy, 0);  // (OW)
                std::fill(out, out + ow, 0.0f);
                for (int64_t ky = 0; ky < kh; ++ky) {
                    const int64_t iy = oy * sh - pt + ky * dh;
                    if (iy < 0 || iy >= x.h) continue;
                    for (int64_t kx = 0; kx < kw; ++kx) {
                        const float wv = wk[ky * kw + kx];
                        const float* src = plane + iy * x.w + kx * dw - pl;
                        const int64_t l = lo[kx], r = hi[kx];
                        if (sw == 1) {
#pragma omp simd
                            for (int64_t ox = l; ox < r; ++ox) out[ox] += wv * src[ox];
                        } else {
                            for (int64_t ox = l; ox < r; ++ox) out[ox] += wv * src[ox * sw];
                        }
                    }
                }
                epilogue_run(out, ow, b,
                             p.residual.data ? p.residual.f32() + p.residual.offset(n, k, oy, 0)
                                             : nullptr,
                             p.act);
            }
        }
    }
}

// Batches of small planes (a patch classifier's batch of 31x31 patches): a
// plane has fewer output pixels than one GEMM column chunk, so per-item
// products would be tiny and re-read the weights for every item. Instead a job
// takes several batch items of one group, lays their im2col columns side by
// side, cols [Cg*kh*kw, items*OH*OW], runs one SGEMM into scratch [Kg, items*OH*OW]
// and copies each item's block into y before its epilogue. Each column still
// goes through the same fixed-width GEMM calls, so the values are those of the
// per-item path.
void conv2d_batch_folded(const View& x, const View& weight, const float* bias, const View& y,
                         const Conv2dParams& p) {
    const int64_t groups = p.groups;
    const int64_t cg = x.c / groups, kg = y.c / groups;
    const int64_t kh = weight.h, kw = weight.w;
    const int64_t pixels = y.h * y.w;
    const int64_t reduce = cg * kh * kw;
    // Items per job: whole column chunks near kColumnBudget floats of columns,
    // and at least one chunk; fewer when that would leave threads idle.
    const int64_t chunk_items = std::max<int64_t>(1, kGemmColumnChunk / pixels);
    const int64_t budget_items = std::max<int64_t>(1, kColumnBudget / (reduce * pixels));
    // jobs = groups * ceil(N / items) >= kJobsPerThread * threads when N allows
    const int64_t spread = std::max<int64_t>(
        1, y.n * groups / (kJobsPerThread * int64_t(omp_get_max_threads())));
    const int64_t items = std::max(chunk_items, std::min(budget_items, spread));
    const int64_t batches = (y.n + items - 1) / items;
    const int64_t jobs = groups * batches;
#pragma omp parallel for schedule(dynamic, 1) if (jobs > 1)
    for (int64_t job = 0; job < jobs; ++job) {
        const int64_t g = job / batches, n0 = (job % batches) * items;
        const int64_t count = std::min(items, y.n - n0);
        const int64_t ncols = count * pixels;
        float* cols = scratch(reduce * ncols + kg * ncols);  // (reduce, ncols), then (Kg, ncols)
        float* out = cols + reduce * ncols;
        for (int64_t b = 0; b < count; ++b) {
            const float* x_g = x.f32() + x.offset(n0 + b, g * cg, 0, 0);  // (Cg, H, W)
            im2col(x_g, cg, x.h, x.w, kh, kw, y.w, 0, pixels, p, cols + b * pixels, ncols);
        }
        const float* w_g = weight.f32() + g * kg * reduce;  // (Kg, Cg*kh*kw)
        sgemm_column_chunks(false, kg, ncols, reduce, w_g, reduce, cols, ncols, out, ncols);
        for (int64_t b = 0; b < count; ++b) {
            for (int64_t k = 0; k < kg; ++k) {
                std::copy(out + k * ncols + b * pixels, out + k * ncols + (b + 1) * pixels,
                          y.f32() + y.offset(n0 + b, g * kg + k, 0, 0));
            }
            conv_epilogue(y, n0 + b, g * kg, kg, 0, pixels, bias, p);
        }
    }
}

}  // namespace

size_t conv2d_scratch_bytes(int64_t cg, int64_t kg, int64_t kh, int64_t kw) {
    const int64_t reduce = cg * kh * kw;
    // im2col columns (at most max(kColumnBudget, reduce * chunk)), the padded B
    // and C of a partial chunk in sgemm_column_chunks, and conv2d_batch_folded's
    // output block (at most Kg x max(chunk, kColumnBudget / reduce)).
    const int64_t floats = std::max(kColumnBudget, reduce * kGemmColumnChunk) +
                           (reduce + kg) * kGemmColumnChunk +
                           kg * std::max(kGemmColumnChunk, kColumnBudget / reduce);
    return size_t(floats) * sizeof(float);
}

size_t conv_transpose2d_scratch_bytes(int64_t cg, int64_t kg, int64_t kh, int64_t kw) {
    const int64_t taps = kg * kh * kw;  // at most: a job's channel chunk may be all of Kg
    const int64_t floats = taps * conv_transpose_run_pixels(taps) + (cg + taps) * kGemmColumnChunk;
    return size_t(floats) * sizeof(float);
}

void conv2d(const View& x, const View& weight, const float* bias, const View& y,
            const Conv2dParams& p) {
    const int64_t groups = p.groups;
    const int64_t cg = x.c / groups, kg = y.c / groups;
    const int64_t kh = weight.h, kw = weight.w;
    const int64_t oh = y.h, ow = y.w;
    if (y.numel() == 0) return;
    if (cg == 1) {
        conv2d_direct_single_channel(x, weight, bias, y, p);
        return;
    }
    if (y.n > 1 && oh * ow < kGemmColumnChunk) {
        conv2d_batch_folded(x, weight, bias, y, p);
        return;
    }
    const int64_t reduce = cg * kh * kw;  // GEMM inner dimension
    const bool pointwise = kh == 1 && kw == 1 && p.stride[0] == 1 && p.stride[1] == 1 &&
                           p.pads[0] == 0 && p.pads[1] == 0 && p.pads[2] == 0 && p.pads[3] == 0 &&
                           oh == x.h && ow == x.w;
    // A job is a run of output pixels of one plane, a whole number of GEMM column
    // chunks (see sgemm_column_chunks) so that only a plane's last job has a
    // partial chunk: within the column budget, and small enough for
    // kJobsPerThread jobs per thread when the image allows.
    const int64_t planes = y.n * groups;
    const int64_t pixels = oh * ow;
    const int64_t wanted = (kJobsPerThread * omp_get_max_threads() + planes - 1) / planes;
    const int64_t budget = kColumnBudget / (pointwise ? std::max<int64_t>(1, cg) : reduce);
    const int64_t chunks = std::max<int64_t>(
        1, std::min(budget, (pixels + wanted - 1) / wanted) / kGemmColumnChunk);
    const int64_t step = chunks * kGemmColumnChunk;
    const int64_t blocks = (pixels + step - 1) / step;
    const int64_t jobs = planes * blocks;
#pragma omp parallel for schedule(dynamic, 1) if (jobs > 1)
    for (int64_t job = 0; job < jobs; ++job) {
        const int64_t n = job / (groups * blocks), g = (job / blocks) % groups;
        const int64_t start = (job % blocks) * step, len = std::min(step, pixels - start);
        const float* x_g = x.f32() + x.offset(n, g * cg, 0, 0);  // (Cg, H, W)
        const float* w_g = weight.f32() + g * kg * reduce;       // (Kg, Cg*kh*kw)
        float* out = y.f32() + y.offset(n, g * kg, 0, 0) + start;  // (Kg, len) of (OH*OW)
        if (pointwise) {
            // (Kg, Cg) x (Cg, len): the input plane is the column matrix
            sgemm_column_chunks(false, kg, len, cg, w_g, reduce, x_g + start, x.hw(), out, pixels);
        } else {
            float* cols = scratch(reduce * len);
            im2col(x_g, cg, x.h, x.w, kh, kw, ow, start, len, p, cols, len);  // (Cg*kh*kw, len)
            sgemm_column_chunks(false, kg, len, reduce, w_g, reduce, cols, len, out, pixels);
        }
        conv_epilogue(y, n, g * kg, kg, start, len, bias, p);
    }
}

void conv_transpose2d(const View& x, const View& weight, const float* bias, const View& y,
                      const ConvTranspose2dParams& p) {
    const int64_t groups = p.groups;
    const int64_t cg = x.c / groups, kg = y.c / groups;
    const int64_t kh = weight.h, kw = weight.w;
    const int64_t sh = p.stride[0], sw = p.stride[1];
    const int64_t dh = p.dilation[0], dw = p.dilation[1];
    const int64_t pt = p.pads[0], pl = p.pads[1];
    const int64_t h = x.h, w = x.w, oh = y.h, ow = y.w;
    if (y.numel() == 0) return;

        // y = bias (or 0), then every block of input rows adds its contributions.
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t n = 0; n < y.n; ++n) {
        for (int64_t k = 0; k < y.c; ++k) {
            float* plane = y.f32() + y.offset(n, k, 0, 0);
            std::fill(plane, plane + oh * ow, bias ? bias[k] : 0.0f);
        }
    }
    if (x.numel() != 0) {
        // Valid input-column range of each kx: ox = ix*sw - pl + kx*dw in [0, OW).
        std::vector<int64_t> lo(kw), hi(kw);
        for (int64_t kx = 0; kx < kw; ++kx) {
            const int64_t off = kx * dw - pl;
            lo[kx] = std::min(w, std::max<int64_t>(0, div_ceil(-off, sw)));
            hi[kx] = std::max(lo[kx], std::min(w, div_floor(ow - 1 - off, sw) + 1));
        }
        // Output-channel chunks: enough jobs for every thread when Kg allows.
        const int64_t planes = x.n * groups;
        const int64_t wanted = (omp_get_max_threads() + planes - 1) / planes;
        const int64_t chunk = std::max<int64_t>(1, (kg + wanted - 1) / wanted);
        const int64_t chunks = (kg + chunk - 1) / chunk;
        const int64_t jobs = planes * chunks;
#pragma omp parallel for schedule(dynamic, 1) if (jobs > 1)
        for (int64_t job = 0; job < jobs; ++job) {
            const int64_t n = job / (groups * chunks), g = (job / chunks) % groups;
            const int64_t k0 = (job % chunks) * chunk, count = std::min(chunk, kg - k0);
            const int64_t taps = count * kh * kw;  // GEMM output rows
            const int64_t step = conv_transpose_run_pixels(taps);
            float* cols = scratch(taps * std::min(step, h * w));
            // weight_g (Cg, Kg*kh*kw); this chunk's columns start at k0*kh*kw.
            const float* w_g = weight.f32() + g * cg * kg * kh * kw + k0 * kh * kw;
            for (int64_t q0 = 0; q0 < h * w; q0 += step) {
                const int64_t len = std::min(step, h * w - q0);  // input pixels [q0, q0 + len)
                // (count*kh*kw, Cg) x (Cg, len) -> cols (count*kh*kw, len)
                sgemm_column_chunks(true, taps, len, cg, w_g, kg * kh * kw,
                                    x.f32() + x.offset(n, g * cg, 0, 0) + q0, h * w, cols, len);
                for (int64_t k = 0; k < count; ++k) {
                    float* plane = y.f32() + y.offset(n, g * kg + k0 + k, 0, 0);  // (OH, OW)
                    // Taps in decreasing order: every output pixel then receives its
                    // contributions in increasing (iy, ix) order, however the input
                    // is cut into runs, so tiled images equal untiled ones bit for bit.
                    for (int64_t ky = kh - 1; ky >= 0; --ky) {
                        for (int64_t kx = kw - 1; kx >= 0; --kx) {
                            const float* src = cols + ((k * kh + ky) * kw + kx) * len;
                            const int64_t off = kx * dw - pl;
                            // One input row's segment [ix0, ix1) at a time.
                            for (int64_t q = q0; q < q0 + len;) {
                                const int64_t iy = q / w, ix0 = q % w;
                                const int64_t ix1 = std::min(w, ix0 + (q0 + len - q));
                                const int64_t oy = iy * sh - pt + ky * dh;
                                const int64_t a = std::clamp(lo[kx], ix0, ix1);
                                const int64_t b = std::clamp(hi[kx], a, ix1);
                                if (oy >= 0 && oy < oh) {
                                    float* out = plane + oy * ow + off;  // out[ix * sw]
                                    const float* in = src + (q - q0) - ix0;  // in[ix]
                                    if (sw == 1) {
#pragma omp simd
                                        for (int64_t ix = a; ix < b; ++ix) out[ix] += in[ix];
                                    } else {
                                        for (int64_t ix = a; ix < b; ++ix) out[ix * sw] += in[ix];
                                    }
                                }
                                q += ix1 - ix0;
                            }
                        }
                    }
                }
            }
        }
    }
    if (p.act.kind != Activation::None) {
#pragma omp parallel for collapse(2) schedule(static)
        for (int64_t n = 0; n < y.n; ++n) {
            for (int64_t k = 0; k < y.c; ++k) {
                bias_activation(y.f32() + y.offset(n, k, 0, 0), oh * ow, 0.0f, p.act);
            }
        }
    }
}

}  // namespace fcnrt::cpu
