// CUDA convolution and transposed convolution, float32 on the CUDA cores (FFMA).
//
// conv2d, general case: implicit GEMM, no im2col buffer. Per batch item n and
// group g the convolution is the product
//     Y_g [Kg, OH*OW] = W_g [Kg, Kred] x X_g [Kred, OH*OW],  Kred = Cg*kh*kw,
// where row r = (ci*kh + ky)*kw + kx of X_g holds, for output pixel p = oy*OW + ox,
// x[n, g*Cg + ci, oy*sh - pt + ky*dh, ox*sw - pl + kx*dw] (zero in the padding).
// A block computes a kGemmBM x kGemmBN (64 channels x 128 pixels) tile of Y_g,
// walking Kred in steps of kGemmBK = 16: the weight tile (A) and the input-patch
// tile (B, gathered from x on the fly) go through registers into a double-buffered
// shared-memory stage while the previous stage feeds the FMAs. Each of the 256
// threads owns a 4 x 8 register micro-tile (4 channels x two runs of 4 pixels).
// The gather index math is the same for every dilation (only the tap offsets
// change), and consecutive threads read consecutive output pixels, so reads are
// coalesced along output x for stride 1 at any dilation. Bias and activation are
// applied in the epilogue; the output goes through the View's batch stride (a
// channel slice of a concat output is fine).
//
// conv2d, depthwise (groups == C == K): a direct kernel, one thread per output
// pixel of one (n, c) plane, the channel's kh*kw taps staged in shared memory.
//
// conv_transpose2d: a deterministic gather, no zero insertion, no atomics. Each
// thread owns one output pixel (n, k..k+3, oy, ox) for kTransposeKPerThread = 4
// consecutive output channels of one group (one x load feeds 4 FMAs) and sums
// over the taps (ky, kx) whose input position iy = (oy + pt - ky*dh) / sh is an
// exact, in-range quotient (likewise in x). Threads are ordered phase-major along
// x (all ox with ox % sw == 0 first, then ox % sw == 1, ...), so the threads of a
// warp share the set of valid taps and do not diverge.
//
// Index widths: batch and channel offsets are int64; offsets inside one plane are
// int32 (the host entry points check that every plane has fewer than 2^31
// elements). Grid dimensions are computed in int64 and clamped to the hardware
// limits; kernels loop (grid-stride) over the dimension that was clamped.
//
// The section between the "kernels" and "host entry points" markers is plain
// enough to be compiled for the CPU by a test harness that emulates blocks and
// threads; keep CUDA-only host API calls out of it.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "kernels/cuda/conv.h"
#include "kernels/cuda/cuda_check.h"

namespace fcnrt::cuda {
namespace {

// ---- kernels and their launch configuration ----

constexpr int kGemmBM = 64;        // output channels per block tile
constexpr int kGemmBN = 128;       // output pixels per block tile
constexpr int kGemmBK = 16;        // reduction (Kred) rows per shared-memory stage
constexpr int kGemmThreads = 256;  // 16 x 16 threads, each a 4 x 8 micro-tile
constexpr int kGemmAPad = 4;       // keeps float4 alignment, halves store conflicts
constexpr int64_t kMaxGridY = 65535;
constexpr int64_t kMaxGridZ = 65535;
constexpr int64_t kMaxGridX = 2147483647;
// Bound on pads, strides and dilations, so that tap coordinates stay far from int32 overflow.
constexpr int64_t kMaxTapOffset = 1 << 24;

struct ConvGemmArgs {
    const float* x;     // (N, C, H, W), batch items x_bs apart
    const float* w;     // (K, Cg, kh, kw) contiguous
    const float* bias;  // (K) or nullptr
    float* y;           // (N, K, OH, OW), batch items y_bs apart
    const float* res;   // residual (N, K, OH, OW), batch items res_bs apart, or nullptr
    int64_t x_bs, y_bs, res_bs;
    int batch, groups;
    int h, w_in;  // input plane H, W
    int cg, kg;   // input / output channels per group
    int kh, kw, sh, sw, pt, pl, dh, dw;
    int oh, ow, ohw;
    int kred;     // cg * kh * kw
    bool y_vec4;  // float4 stores are aligned (ohw, y_bs, y all multiples of 4 floats)
    ActivationParams act;
};

// Launch: block (kGemmThreads), grid (ceil(ohw / BN), ceil(kg / BM), min(N*groups, 65535)).
// Thread tid: compute micro-tile rows tm = tid / 16 (channels m0 + tm*4 + i, i < 4),
// columns tn = tid % 16 (pixels p0 + tn*4 + j and p0 + 64 + tn*4 + j, j < 4).
// A-tile load: row a_m = tid / 4, reduction columns a_k = (tid % 4)*4 + j, j < 4.
// B-tile load: pixel column b_p = tid % 128, reduction rows b_k = (tid / 128)*8 + j, j < 8.
__global__ void __launch_bounds__(kGemmThreads, 2) conv2d_implicit_gemm(const ConvGemmArgs a) {
    // As[stage][k][m]: the weight tile, transposed so a thread reads its 4 channels as one float4.
    // Bs[stage][k][p]: the input-patch tile.
    __shared__ __align__(16) float As[2][kGemmBK][kGemmBM + kGemmAPad];
    __shared__ __align__(16) float Bs[2][kGemmBK][kGemmBN];

    const int tid = static_cast<int>(threadIdx.x);
    const int tm = tid / 16, tn = tid % 16;
    const int a_m = tid / 4, a_k = (tid % 4) * 4;
    const int b_p = tid % kGemmBN, b_k = (tid / kGemmBN) * 8;

    const int m0 = static_cast<int>(blockIdx.y) * kGemmBM;  // first channel (within the group)
    const int p0 = static_cast<int>(blockIdx.x) * kGemmBN;  // first output pixel of the tile
    const int64_t hw = static_cast<int64_t>(a.h) * a.w_in;
    const int khkw = a.kh * a.kw;

    // This thread's B column: output pixel b_pix and the top-left input tap of its window.
    const int b_pix = p0 + b_p;
    const bool b_pix_ok = b_pix < a.ohw;
    const int b_oy = b_pix / a.ow, b_ox = b_pix - (b_pix / a.ow) * a.ow;
    const int iy0 = b_oy * a.sh - a.pt, ix0 = b_ox * a.sw - a.pl;

    // This thread's A row: channel a_row_m of the group (clamped so the pointer stays in the
    // tensor).
    const int a_row_m = m0 + a_m;
    const bool a_row_ok = a_row_m < a.kg;

    const int64_t planes = static_cast<int64_t>(a.batch) * a.groups;
    for (int64_t ng = blockIdx.z; ng < planes; ng += gridDim.z) {
        const int64_t n = ng / a.groups, g = ng % a.groups;
        const float* xg = a.x + n * a.x_bs + g * a.cg * hw;  // (Cg, H, W) of group g, item n
        const float* wrow =
            a.w + (g * a.kg + (a_row_ok ? a_row_m : 0)) * static_cast<int64_t>(a.kred);

        float a_reg[4];  // staged A elements: rows a_m, columns a_k + j
        float b_reg[8];  // staged B elements: column b_p, rows b_k + j

        // Global -> registers for the stage starting at reduction row k0.
        auto load_stage = [&](int k0) {
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                const int kr = k0 + a_k + j;
                a_reg[j] = (a_row_ok && kr < a.kred) ? __ldg(wrow + kr) : 0.0f;
            }
            // Decompose the first row once, then step (ci, ky, kx) like an odometer.
            const int kr0 = k0 + b_k;
            int ci = kr0 / khkw;
            const int rem = kr0 - ci * khkw;
            int ky = rem / a.kw;
            int kx = rem - ky * a.kw;
#pragma unroll
            for (int j = 0; j < 8; ++j) {
                const int iy = iy0 + ky * a.dh;
                const int ix = ix0 + kx * a.dw;
                const bool ok =
                    b_pix_ok && (kr0 + j < a.kred) && iy >= 0 && iy < a.h && ix >= 0 && ix < a.w_in;
                b_reg[j] = ok ? __ldg(xg + ci * hw + (iy * a.w_in + ix)) : 0.0f;
                if (++kx == a.kw) {
                    kx = 0;
                    if (++ky == a.kh) {
                        ky = 0;
                        ++ci;
                    }
                }
            }
        };
        // Registers -> shared memory stage s.
        auto store_stage = [&](int s) {
#pragma unroll
            for (int j = 0; j < 4; ++j) As[s][a_k + j][a_m] = a_reg[j];
#pragma unroll
            for (int j = 0; j < 8; ++j) Bs[s][b_k + j][b_p] = b_reg[j];
        };

        float acc[4][8];
#pragma unroll
        for (int i = 0; i < 4; ++i) {
#pragma unroll
            for (int j = 0; j < 8; ++j) acc[i][j] = 0.0f;
        }

        load_stage(0);
        store_stage(0);
        __syncthreads();
        // One barrier per stage: iteration t reads stage t&1 and fills stage (t+1)&1, which
        // nobody reads until after this iteration's barrier; stage t&1 is refilled only in
        // iteration t+1, after every thread passed the barrier that ends iteration t.
        for (int k0 = 0, s = 0; k0 < a.kred; k0 += kGemmBK, s ^= 1) {
            const bool has_next = k0 + kGemmBK < a.kred;
            if (has_next) load_stage(k0 + kGemmBK);  // global loads in flight during the FMAs
#pragma unroll
            for (int kk = 0; kk < kGemmBK; ++kk) {
                const float4 av = *reinterpret_cast<const float4*>(&As[s][kk][tm * 4]);
                const float4 b0 = *reinterpret_cast<const float4*>(&Bs[s][kk][tn * 4]);
                const float4 b1 = *reinterpret_cast<const float4*>(&Bs[s][kk][64 + tn * 4]);
                const float ar[4] = {av.x, av.y, av.z, av.w};
                const float br[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
                for (int i = 0; i < 4; ++i) {
#pragma unroll
                    for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(ar[i], br[j], acc[i][j]);
                }
            }
            if (has_next) store_stage(s ^ 1);
            __syncthreads();
        }

        // Epilogue: bias, residual, activation, store. Channel m, pixels p0 + h*64 + tn*4 + j.
        // With a residual: act(float(acc + b) + r), as Conv2dParams::residual says.
        float* yg = a.y + n * a.y_bs + g * a.kg * static_cast<int64_t>(a.ohw);
        const float* rg =
            a.res ? a.res + n * a.res_bs + g * a.kg * static_cast<int64_t>(a.ohw) : nullptr;
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            const int m = m0 + tm * 4 + i;
            if (m >= a.kg) continue;
            const float b = a.bias ? __ldg(a.bias + g * a.kg + m) : 0.0f;
            float* yrow = yg + static_cast<int64_t>(m) * a.ohw;
            const float* rrow = rg ? rg + static_cast<int64_t>(m) * a.ohw : nullptr;
#pragma unroll
            for (int half = 0; half < 2; ++half) {
                const int pb = p0 + half * 64 + tn * 4;
                float v[4];
#pragma unroll
                for (int j = 0; j < 4; ++j) {
                    float s = acc[i][half * 4 + j] + b;
                    if (rrow && pb + j < a.ohw) s = s + __ldg(rrow + pb + j);
                    v[j] = apply_activation(s, a.act);
                }
                if (a.y_vec4 && pb + 3 < a.ohw) {
                    *reinterpret_cast<float4*>(yrow + pb) = make_float4(v[0], v[1], v[2], v[3]);
                } else {
#pragma unroll
                    for (int j = 0; j < 4; ++j) {
                        if (pb + j < a.ohw) yrow[pb + j] = v[j];
                    }
                }
            }
        }
    }
}

dim3 conv2d_implicit_gemm_grid(const ConvGemmArgs& a) {
    const int64_t gx = (static_cast<int64_t>(a.ohw) + kGemmBN - 1) / kGemmBN;
    const int64_t gy = (static_cast<int64_t>(a.kg) + kGemmBM - 1) / kGemmBM;
    const int64_t gz = std::min<int64_t>(static_cast<int64_t>(a.batch) * a.groups, kMaxGridZ);
    return dim3(static_cast<unsigned>(gx), static_cast<unsigned>(gy), static_cast<unsigned>(gz));
}

constexpr int kDepthwiseThreads = 256;
constexpr int kDepthwiseMaxTaps =
    1024;  // kh*kw staged in shared memory; larger kernels use the GEMM

// Depthwise: groups == C == K, weight (C, 1, kh, kw). Same field meanings as ConvGemmArgs
// (cg == kg == 1, groups == C).
// Launch: block (kDepthwiseThreads), grid (ceil(ohw / 256), min(N*C, 65535)).
// Thread tid of block (bx, by): output pixel p = bx*256 + tid of planes by, by + gridDim.y, ...
// (plane = n*C + c); consecutive threads own consecutive pixels of a row, so loads of each
// tap are coalesced.
__global__ void __launch_bounds__(kDepthwiseThreads) conv2d_depthwise(const ConvGemmArgs a) {
    __shared__ float w_s[kDepthwiseMaxTaps];
    const int khkw = a.kh * a.kw;
    const int channels = a.groups;
    const int64_t hw = static_cast<int64_t>(a.h) * a.w_in;
    const int p = static_cast<int>(blockIdx.x) * kDepthwiseThreads + static_cast<int>(threadIdx.x);
    const bool p_ok = p < a.ohw;
    const int oy = p / a.ow, ox = p - (p / a.ow) * a.ow;
    const int iy0 = oy * a.sh - a.pt, ix0 = ox * a.sw - a.pl;

    const int64_t planes = static_cast<int64_t>(a.batch) * channels;
    for (int64_t plane = blockIdx.y; plane < planes; plane += gridDim.y) {
        const int64_t n = plane / channels, c = plane % channels;
        __syncthreads();  // the previous plane's taps are no longer read
        for (int t = static_cast<int>(threadIdx.x); t < khkw; t += kDepthwiseThreads) {
            w_s[t] = __ldg(a.w + c * khkw + t);
        }
        __syncthreads();
        if (!p_ok) continue;
        const float* xc = a.x + n * a.x_bs + c * hw;  // (H, W) of channel c
        float acc = a.bias ? __ldg(a.bias + c) : 0.0f;
        for (int ky = 0; ky < a.kh; ++ky) {
            const int iy = iy0 + ky * a.dh;
            if (iy < 0 || iy >= a.h) continue;
            for (int kx = 0; kx < a.kw; ++kx) {
                const int ix = ix0 + kx * a.dw;
                if (ix < 0 || ix >= a.w_in) continue;
                acc = fmaf(__ldg(xc + (iy * a.w_in + ix)), w_s[ky * a.kw + kx], acc);
            }
        }
        // Residual after bias and taps: act(acc + r), as Conv2dParams::residual says.
        if (a.res) acc = acc + __ldg(a.res + n * a.res_bs + c * static_cast<int64_t>(a.ohw) + p);
        a.y[n * a.y_bs + c * static_cast<int64_t>(a.ohw) + p] = apply_activation(acc, a.act);
    }
}

dim3 conv2d_depthwise_grid(const ConvGemmArgs& a) {
    const int64_t gx = (static_cast<int64_t>(a.ohw) + kDepthwiseThreads - 1) / kDepthwiseThreads;
    const int64_t gy = std::min<int64_t>(static_cast<int64_t>(a.batch) * a.groups, kMaxGridY);
    return dim3(static_cast<unsigned>(gx), static_cast<unsigned>(gy), 1);
}

constexpr int kTransposeThreads = 256;
constexpr int kTransposeKPerThread = 4;

struct ConvTransposeArgs {
    const float* x;     // (N, C, H, W), batch items x_bs apart
    const float* w;     // (C, Kg, kh, kw) contiguous
    const float* bias;  // (K) or nullptr
    float* y;           // (N, K, OH, OW), batch items y_bs apart
    int64_t x_bs, y_bs;
    int batch, groups;
    int h, w_in;
    int cg, kg;
    int kh, kw, sh, sw, pt, pl, dh, dw;
    int oh, ow, ohw;
    int jx;        // ceil(ow / sw): output columns per x phase
    int k_blocks;  // ceil(kg / kTransposeKPerThread)
    ActivationParams act;
};

// Launch: block (kTransposeThreads), grid (ceil(oh*sw*jx / 256), min(N*groups*k_blocks, 65535)).
// Thread t = bx*256 + tid indexes the plane phase-major along x: oy = t / (sw*jx),
// q = t % (sw*jx), phase rx = q / jx, column ox = rx + sw*(q % jx) (skipped if >= ow).
// Plane index by = (n*groups + g)*k_blocks + kb: output channels g*kg + kb*4 + i, i < 4.
__global__ void __launch_bounds__(kTransposeThreads)
    conv_transpose2d_gather(const ConvTransposeArgs a) {
    const int64_t row_len = static_cast<int64_t>(a.sw) * a.jx;
    const int64_t t = static_cast<int64_t>(blockIdx.x) * kTransposeThreads + threadIdx.x;
    const int64_t oy64 = t / row_len, q = t % row_len;
    const int oy = static_cast<int>(oy64);
    const int ox = static_cast<int>(q / a.jx + a.sw * (q % a.jx));
    if (oy64 >= a.oh || ox >= a.ow) return;  // no barriers in this kernel

    const int64_t hw = static_cast<int64_t>(a.h) * a.w_in;
    const int khkw = a.kh * a.kw;
    const int64_t planes = static_cast<int64_t>(a.batch) * a.groups * a.k_blocks;
    for (int64_t plane = blockIdx.y; plane < planes; plane += gridDim.y) {
        const int64_t kb = plane % a.k_blocks;
        const int64_t ng = plane / a.k_blocks;
        const int64_t n = ng / a.groups, g = ng % a.groups;
        const int k_first = static_cast<int>(kb) * kTransposeKPerThread;  // within the group
        const int k_left = a.kg - k_first;
        const int k_count = k_left < kTransposeKPerThread ? k_left : kTransposeKPerThread;
        const float* xg = a.x + n * a.x_bs + g * a.cg * hw;  // (Cg, H, W) of group g
        // w[c, kk, ky, kx] with c = g*cg + ci, kk = k_first + i:
        // ((g*cg + ci)*kg + k_first + i)*khkw + ky*kw + kx.
        const float* wg = a.w + (g * a.cg * a.kg + k_first) * static_cast<int64_t>(khkw);

        float acc[kTransposeKPerThread] = {0.0f, 0.0f, 0.0f, 0.0f};
        for (int ky = 0; ky < a.kh; ++ky) {
            const int ny = oy + a.pt - ky * a.dh;  // == iy * sh for a contributing tap
            if (ny < 0 || ny % a.sh != 0) continue;
            const int iy = ny / a.sh;
            if (iy >= a.h) continue;
            for (int kx = 0; kx < a.kw; ++kx) {
                const int nx = ox + a.pl - kx * a.dw;
                if (nx < 0 || nx % a.sw != 0) continue;
                const int ix = nx / a.sw;
                if (ix >= a.w_in) continue;
                const float* xp = xg + (iy * a.w_in + ix);  // + ci*hw
                const float* wp = wg + (ky * a.kw + kx);    // + (ci*kg + i)*khkw
                for (int ci = 0; ci < a.cg; ++ci) {
                    const float xv = __ldg(xp + ci * hw);
                    const float* wc = wp + static_cast<int64_t>(ci) * a.kg * khkw;
#pragma unroll
                    for (int i = 0; i < kTransposeKPerThread; ++i) {
                        if (i < k_count) acc[i] = fmaf(xv, __ldg(wc + i * khkw), acc[i]);
                    }
                }
            }
        }
        float* yp = a.y + n * a.y_bs + (g * a.kg + k_first) * static_cast<int64_t>(a.ohw) +
                    (oy * a.ow + ox);
#pragma unroll
        for (int i = 0; i < kTransposeKPerThread; ++i) {
            if (i >= k_count) continue;
            const float b = a.bias ? __ldg(a.bias + g * a.kg + k_first + i) : 0.0f;
            yp[static_cast<int64_t>(i) * a.ohw] = apply_activation(acc[i] + b, a.act);
        }
    }
}

dim3 conv_transpose2d_gather_grid(const ConvTransposeArgs& a) {
    const int64_t threads = static_cast<int64_t>(a.oh) * a.sw * a.jx;
    const int64_t gx = (threads + kTransposeThreads - 1) / kTransposeThreads;
    const int64_t gy =
        std::min<int64_t>(static_cast<int64_t>(a.batch) * a.groups * a.k_blocks, kMaxGridY);
    return dim3(static_cast<unsigned>(gx), static_cast<unsigned>(gy), 1);
}

// Validation and kernel arguments: plain host C++, so the CPU emulation runs it too.

constexpr int64_t kMaxInt32 = 2147483647;

void require(bool ok, const char* op, const std::string& why) {
    if (!ok) throw std::runtime_error(std::string("cuda::") + op + ": " + why);
}

bool small(int v) {
    return v > -kMaxTapOffset && v < kMaxTapOffset;
}

bool aligned16(const void* ptr) {
    return reinterpret_cast<uintptr_t>(ptr) % 16 == 0;
}

// The checks that keep every index in the kernels inside its tensor and inside int32
// where the kernels use int32.
void check_common(const char* op, const View& x, const View& weight, const View& y, int groups,
                  const int stride[2], const int dilation[2]) {
    require(x.dtype == DType::F32 && weight.dtype == DType::F32 && y.dtype == DType::F32, op,
            "float32 tensors only");
    require(x.n == y.n, op, "x and y batch sizes differ");
    require(x.batch_stride >= x.chw() && y.batch_stride >= y.chw(), op, "batch stride too small");
    require(weight.contiguous(), op, "weight must be contiguous");
    require(groups >= 1 && x.c % groups == 0 && y.c % groups == 0, op,
            "channels not divisible by groups");
    require(stride[0] >= 1 && stride[1] >= 1 && dilation[0] >= 1 && dilation[1] >= 1, op,
            "stride and dilation must be positive");
    require(x.h * x.w < kMaxInt32 && y.h * y.w < kMaxInt32, op,
            "a plane of 2^31 or more elements is not supported");
    require(x.n < kMaxInt32 && x.c < kMaxInt32 && y.c < kMaxInt32 && weight.h < kMaxInt32 &&
                weight.w < kMaxInt32 && weight.h * weight.w < kMaxInt32,
            op, "dimension too large");
}

template <class Args, class Params>
Args common_args(const View& x, const View& weight, const float* bias, const View& y,
                 const Params& p) {
    Args a;
    a.x = x.f32();
    a.w = weight.f32();
    a.bias = bias;
    a.y = y.f32();
    a.x_bs = x.batch_stride;
    a.y_bs = y.batch_stride;
    a.batch = static_cast<int>(x.n);
    a.groups = p.groups;
    a.h = static_cast<int>(x.h);
    a.w_in = static_cast<int>(x.w);
    a.cg = static_cast<int>(x.c / p.groups);
    a.kg = static_cast<int>(y.c / p.groups);
    a.kh = static_cast<int>(weight.h);
    a.kw = static_cast<int>(weight.w);
    a.sh = p.stride[0];
    a.sw = p.stride[1];
    a.pt = p.pads[0];
    a.pl = p.pads[1];
    a.dh = p.dilation[0];
    a.dw = p.dilation[1];
    a.oh = static_cast<int>(y.h);
    a.ow = static_cast<int>(y.w);
    a.ohw = static_cast<int>(y.h * y.w);
    a.act = p.act;
    return a;
}

ConvGemmArgs conv2d_args(const View& x, const View& weight, const float* bias, const View& y,
                         const Conv2dParams& p) {
    check_common("conv2d", x, weight, y, p.groups, p.stride, p.dilation);
    require(weight.n == y.c && weight.c == x.c / p.groups, "conv2d",
            "weight shape does not match x, y and groups");
    const int64_t kred = x.c / p.groups * weight.h * weight.w;
    require(kred < kMaxInt32 - kGemmBK, "conv2d", "C/groups * kh * kw too large");
    // Every oy*sh - pt + ky*dh (and likewise in x) must fit in int32; checked with margin.
    require(
        y.h * p.stride[0] + weight.h * p.dilation[0] + x.h + 2 * kMaxTapOffset < kMaxInt32 &&
            y.w * p.stride[1] + weight.w * p.dilation[1] + x.w + 2 * kMaxTapOffset < kMaxInt32 &&
            small(p.pads[0]) && small(p.pads[1]) && small(p.stride[0]) && small(p.stride[1]) &&
            small(p.dilation[0]) && small(p.dilation[1]),
        "conv2d", "stride, dilation, pads or size too large");
    // grid.y is not looped over, so it must fit.
    require((y.c / p.groups + kGemmBM - 1) / kGemmBM <= kMaxGridY, "conv2d",
            "more than 65535*64 output channels per group");
    const View& r = p.residual;
    if (r.data != nullptr)
        require(r.dtype == DType::F32 && r.n == y.n && r.c == y.c && r.h == y.h && r.w == y.w &&
                    r.batch_stride >= r.chw(),
                "conv2d", "residual must be float32 with y's dims");
    ConvGemmArgs a = common_args<ConvGemmArgs>(x, weight, bias, y, p);
    a.res = r.data != nullptr ? r.f32() : nullptr;
    a.res_bs = r.data != nullptr ? r.batch_stride : 0;
    a.kred = static_cast<int>(kred);
    a.y_vec4 = a.ohw % 4 == 0 && a.y_bs % 4 == 0 && aligned16(a.y);
    return a;
}

// groups == C == K (one input and one output channel per group) with a kernel that fits
// in the depthwise kernel's shared memory.
bool conv2d_is_depthwise(const ConvGemmArgs& a) {
    return a.cg == 1 && a.kg == 1 && a.kh * a.kw <= kDepthwiseMaxTaps;
}

ConvTransposeArgs conv_transpose2d_args(const View& x, const View& weight, const float* bias,
                                        const View& y, const ConvTranspose2dParams& p) {
    check_common("conv_transpose2d", x, weight, y, p.groups, p.stride, p.dilation);
    require(weight.n == x.c && weight.c == y.c / p.groups, "conv_transpose2d",
            "weight shape does not match x, y and groups");
    const int64_t jx = (y.w + p.stride[1] - 1) / p.stride[1];
    // oy + pt - ky*dh, the phase-major column index and the per-group weight offsets
    // must fit in int32; the phase-major plane must fit in grid.x.
    require(y.h + weight.h * p.dilation[0] + 2 * kMaxTapOffset < kMaxInt32 &&
                y.w + weight.w * p.dilation[1] + 2 * kMaxTapOffset < kMaxInt32 &&
                small(p.pads[0]) && small(p.pads[1]) && small(p.stride[0]) && small(p.stride[1]) &&
                small(p.dilation[0]) && small(p.dilation[1]) && p.stride[1] * jx < kMaxInt32 &&
                (y.h * (p.stride[1] * jx) + kTransposeThreads - 1) / kTransposeThreads <= kMaxGridX,
            "conv_transpose2d", "stride, dilation, pads or size too large");
    ConvTransposeArgs a = common_args<ConvTransposeArgs>(x, weight, bias, y, p);
    a.jx = static_cast<int>(jx);
    a.k_blocks = (a.kg + kTransposeKPerThread - 1) / kTransposeKPerThread;
    return a;
}

// ---- host entry points ----

}  // namespace

void conv2d(const View& x, const View& weight, const float* bias, const View& y,
            const Conv2dParams& p, cudaStream_t stream) {
    // x (N, C, H, W); weight (K, C/groups, kh, kw); y (N, K, OH, OW)
    const ConvGemmArgs a = conv2d_args(x, weight, bias, y, p);
    if (y.numel() == 0) return;
    if (conv2d_is_depthwise(a)) {
        conv2d_depthwise<<<conv2d_depthwise_grid(a), kDepthwiseThreads, 0, stream>>>(a);
        check_launch("conv2d_depthwise");
        return;
    }
    conv2d_implicit_gemm<<<conv2d_implicit_gemm_grid(a), kGemmThreads, 0, stream>>>(a);
    check_launch("conv2d_implicit_gemm");
}

void conv_transpose2d(const View& x, const View& weight, const float* bias, const View& y,
                      const ConvTranspose2dParams& p, cudaStream_t stream) {
    // x (N, C, H, W); weight (C, K/groups, kh, kw); y (N, K, OH, OW)
    const ConvTransposeArgs a = conv_transpose2d_args(x, weight, bias, y, p);
    if (y.numel() == 0) return;
    conv_transpose2d_gather<<<conv_transpose2d_gather_grid(a), kTransposeThreads, 0, stream>>>(a);
    check_launch("conv_transpose2d_gather");
}

}  // namespace fcnrt::cuda
