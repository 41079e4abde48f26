// conv2d on the tensor cores: implicit GEMM with nvcuda::wmma, TF32 (m16n16k8),
// BF16 or FP16 (m16n16k16) inputs, float32 accumulation.
//
// The GEMM is the one of conv.cu's conv2d_implicit_gemm: per batch item n and
// group g,  Y_g [Kg, OH*OW] = W_g [Kg, Kred] x X_g [Kred, OH*OW],  Kred = Cg*kh*kw,
// row r = (ci*kh + ky)*kw + kx of X_g holding, for output pixel p = oy*OW + ox,
// x[n, g*Cg + ci, oy*sh - pt + ky*dh, ox*sw - pl + kx*dw] (zero in the padding).
//
// Two more gathers of B share the kernel (template parameter Mode):
//   Transposed (conv_transpose2d, output-stationary as conv.cu's): row r of X_g holds
//     x[n, g*Cg + ci, iy, ix] where iy*sh == oy + pt - ky*dh and ix*sw == ox + pl -
//     kx*dw, zero where those are not whole numbers inside the input. All kh*kw taps
//     are multiplied, the off-lattice ones by zero: about sh*sw times the products
//     needed (a phase decomposition would skip them; not done yet). W_g's row m is
//     output channel g*Kg + m, from the weight [C, Kg, kh, kw] transposed at packing.
//   Dense: one plane, pixel p = batch item p, row r = feature r: X [F, N] = x^T read
//     through x's batch stride, y[p * y_bs + m] written directly.
//
// Tiling: a block of kTcThreads = 128 threads (4 warps) computes a kTcBM x kTcBN
// (64 channels x 64 pixels) tile of Y_g, walking Kred in stages of kTcBK = 16.
// Warp w owns the 32 x 32 sub-tile at channels (w / 2)*32, pixels (w % 2)*32: 2 x 2
// WMMA accumulators of 16 x 16. Each stage goes global -> registers -> a
// double-buffered shared-memory stage while the warps run the previous one:
//   A (weights, already in the format, packed at load with zero columns up to a
//     whole stage, so only the row needs a bounds check): thread tid loads row
//     tid / 2, reduction columns (tid % 2)*8 + j, j < 8;
//   B (input patches, gathered from x on the fly exactly as conv.cu does): thread
//     tid loads pixel column tid % 64, reduction rows (tid / 64)*8 + j, j < 8, and
//     rounds each float to the format as it stores it into shared memory.
// Epilogue: the accumulators go through shared memory (Cs) so that thread tid
// writes pixel tid % 64 of channels tid / 64 + 2*i: coalesced along pixels, with
// bias, residual and activation applied in float32, the output through the View's
// batch stride (a channel slice of a concat output is fine).
//
// Why activations stay float32 between nodes, rounded only as they are staged: the
// other ops (pooling, softmax, batch norm, resize, add) and the CPU and reference
// backends keep their float32 contracts and kernels; every value is rounded once,
// at the multiply, as PyTorch's allow_tf32 does; and the rounding is free in the
// load path, where the gather is bound by memory, not by the conversion.
//
// Determinism: every output element's reduction runs over the same stages in the
// same order wherever its pixel lies in the tile, so results are bitwise
// reproducible and the same for a pixel whatever the tiling of the image.
//
// Index widths as in conv.cu: batch and channel offsets int64, offsets inside one
// plane int32 (the host checks that planes have fewer than 2^31 elements). Grid z
// is clamped to 65535 and looped over (grid-stride over batch x groups).
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <mma.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cuda/conv_tensor_core.h"
#include "kernels/cuda/cuda_check.h"

namespace fcnrt::cuda {
namespace {

using namespace nvcuda;

// ---- kernels and their launch configuration ----

constexpr int kTcBM = 64;        // output channels per block tile
constexpr int kTcBN = 64;        // output pixels per block tile
constexpr int kTcBK = 16;        // reduction rows per shared-memory stage
constexpr int kTcThreads = 128;  // 4 warps, 2 x 2 over the tile
// Leading dimensions of the shared tiles, in elements: WMMA needs multiples of 16
// bytes and 32-byte aligned fragment pointers; the padding also staggers banks.
constexpr int kTcLda = kTcBK + 8;  // As[m][k]
constexpr int kTcLdb = kTcBN + 8;  // Bs[k][p]
constexpr int kTcLdc = kTcBN + 4;  // Cs[m][p], float
constexpr int64_t kMaxGridZ = 65535;
constexpr int64_t kMaxGridY = 65535;
constexpr int64_t kMaxTapOffset = 1 << 24;
constexpr int64_t kMaxInt32 = 2147483647;

// Per element type: the WMMA fragment type, its k, and the device rounding of a float.
template <class T>
struct TcFormat;
template <>
struct TcFormat<float> {  // TF32 values held in floats
    using Frag = wmma::precision::tf32;
    static constexpr int k = 8;
    static __device__ float convert(float v) { return wmma::__float_to_tf32(v); }
};
template <>
struct TcFormat<__half> {
    using Frag = __half;
    static constexpr int k = 16;
    static __device__ __half convert(float v) { return __float2half(v); }
};
template <>
struct TcFormat<__nv_bfloat16> {
    using Frag = __nv_bfloat16;
    static constexpr int k = 16;
    static __device__ __nv_bfloat16 convert(float v) { return __float2bfloat16(v); }
};

// Conv: conv2d. Transposed: conv_transpose2d's gather. Dense: B = x^T, pixel p =
// batch item p (x[p * x_bs + r]), y[p * y_bs + m]; batch = groups = 1, ow = 1.
enum class TcMode { Conv, Transposed, Dense };
constexpr TcMode kConv = TcMode::Conv, kTransposed = TcMode::Transposed, kDense = TcMode::Dense;

struct TcConvArgs {
    const float* x;     // (N, C, H, W), batch items x_bs apart
    const void* w;      // packed: (groups, kg, kred_padded) of the element type
    const float* bias;  // (K) or nullptr
    float* y;           // (N, K, OH, OW), batch items y_bs apart
    const float* res;   // residual (N, K, OH, OW), batch items res_bs apart, or nullptr
    int64_t x_bs, y_bs, res_bs;
    int batch, groups;
    int h, w_in;
    int cg, kg;
    int kh, kw, sh, sw, pt, pl, dh, dw;
    int oh, ow, ohw;
    int kred, kred_padded;
    ActivationParams act;
};

// Launch: block (kTcThreads), grid (ceil(ohw / 64), ceil(kg / 64), min(N*groups, 65535)).
// Mode: which GEMM's B is gathered (see the header comment at the top).
template <class T, TcMode Mode>
__global__ void __launch_bounds__(kTcThreads) conv2d_tensor_core_gemm(const TcConvArgs a) {
    using F = TcFormat<T>;
    __shared__ __align__(32) T As[2][kTcBM][kTcLda];
    __shared__ __align__(32) T Bs[2][kTcBK][kTcLdb];
    __shared__ __align__(32) float Cs[kTcBM][kTcLdc];

    const int tid = static_cast<int>(threadIdx.x);
    const int warp = tid / 32;
    const int warp_m = (warp / 2) * 32, warp_n = (warp % 2) * 32;
    const int a_m = tid / 2, a_k = (tid % 2) * 8;
    const int b_p = tid % kTcBN, b_k = (tid / kTcBN) * 8;

    const int m0 = static_cast<int>(blockIdx.y) * kTcBM;  // first channel (within the group)
    const int p0 = static_cast<int>(blockIdx.x) * kTcBN;  // first output pixel of the tile
    const int64_t hw = static_cast<int64_t>(a.h) * a.w_in;
    const int khkw = a.kh * a.kw;

    const int b_pix = p0 + b_p;
    const bool b_pix_ok = b_pix < a.ohw;
    const int b_oy = b_pix / a.ow, b_ox = b_pix - (b_pix / a.ow) * a.ow;
    // conv: iy = iy0 + ky*dh. Transposed: iy*sh = iy0 - ky*dh, a tap only where
    // that is a multiple of sh (and likewise along x).
    constexpr bool Transposed = Mode == kTransposed;
    const int iy0 = Transposed ? b_oy + a.pt : b_oy * a.sh - a.pt;
    const int ix0 = Transposed ? b_ox + a.pl : b_ox * a.sw - a.pl;

    const T* w = static_cast<const T*>(a.w);
    const int64_t planes = static_cast<int64_t>(a.batch) * a.groups;
    for (int64_t ng = blockIdx.z; ng < planes; ng += gridDim.z) {
        const int64_t n = ng / a.groups, g = ng % a.groups;
        const float* xg = a.x + n * a.x_bs + g * a.cg * hw;  // (Cg, H, W) of group g, item n
        // Columns up to kred_padded exist (zero beyond kred); rows beyond kg read as zero.
        const bool a_row_ok = m0 + a_m < a.kg;
        const T* wrow =
            w + (g * a.kg + (a_row_ok ? m0 + a_m : 0)) * static_cast<int64_t>(a.kred_padded);
        const T zero = F::convert(0.0f);

        T a_reg[8];      // staged A elements: row a_m, columns a_k + j
        float b_reg[8];  // staged B elements: column b_p, rows b_k + j

        auto load_stage = [&](int k0) {
#pragma unroll
            for (int j = 0; j < 8; ++j) a_reg[j] = a_row_ok ? wrow[k0 + a_k + j] : zero;
            const int kr0 = k0 + b_k;
            if (Mode == kDense) {
                const float* xr = a.x + static_cast<int64_t>(b_pix) * a.x_bs + kr0;
#pragma unroll
                for (int j = 0; j < 8; ++j)
                    b_reg[j] = b_pix_ok && kr0 + j < a.kred ? __ldg(xr + j) : 0.0f;
                return;
            }
            int ci = kr0 / khkw;
            const int rem = kr0 - ci * khkw;
            int ky = rem / a.kw;
            int kx = rem - ky * a.kw;
#pragma unroll
            for (int j = 0; j < 8; ++j) {
                int iy, ix;
                bool ok = b_pix_ok && (kr0 + j < a.kred);
                if (Transposed) {
                    const int ty = iy0 - ky * a.dh, tx = ix0 - kx * a.dw;
                    iy = ty / a.sh;
                    ix = tx / a.sw;
                    ok = ok && ty >= 0 && tx >= 0 && iy * a.sh == ty && ix * a.sw == tx;
                } else {
                    iy = iy0 + ky * a.dh;
                    ix = ix0 + kx * a.dw;
                    ok = ok && iy >= 0 && ix >= 0;
                }
                ok = ok && iy < a.h && ix < a.w_in;
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
        auto store_stage = [&](int s) {
#pragma unroll
            for (int j = 0; j < 8; ++j) As[s][a_m][a_k + j] = a_reg[j];
#pragma unroll
            for (int j = 0; j < 8; ++j) Bs[s][b_k + j][b_p] = F::convert(b_reg[j]);
        };

        wmma::fragment<wmma::accumulator, 16, 16, F::k, float> acc[2][2];
#pragma unroll
        for (int i = 0; i < 2; ++i) {
#pragma unroll
            for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.0f);
        }

        load_stage(0);
        store_stage(0);
        __syncthreads();
        // One barrier per stage, as in conv.cu: iteration t reads stage t&1 and fills
        // stage (t+1)&1, which nobody reads before this iteration's barrier.
        for (int k0 = 0, s = 0; k0 < a.kred; k0 += kTcBK, s ^= 1) {
            const bool has_next = k0 + kTcBK < a.kred;
            if (has_next) load_stage(k0 + kTcBK);  // global loads in flight during the MMAs
#pragma unroll
            for (int kk = 0; kk < kTcBK; kk += F::k) {
                wmma::fragment<wmma::matrix_a, 16, 16, F::k, typename F::Frag, wmma::row_major>
                    fa[2];
                wmma::fragment<wmma::matrix_b, 16, 16, F::k, typename F::Frag, wmma::row_major>
                    fb[2];
#pragma unroll
                for (int i = 0; i < 2; ++i)
                    wmma::load_matrix_sync(fa[i], &As[s][warp_m + 16 * i][kk], kTcLda);
#pragma unroll
                for (int j = 0; j < 2; ++j)
                    wmma::load_matrix_sync(fb[j], &Bs[s][kk][warp_n + 16 * j], kTcLdb);
#pragma unroll
                for (int i = 0; i < 2; ++i) {
#pragma unroll
                    for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
                }
            }
            if (has_next) store_stage(s ^ 1);
            __syncthreads();
        }

        // Epilogue. Cs is free: the previous plane's epilogue reads finished before
        // every thread passed this plane's stage barriers.
#pragma unroll
        for (int i = 0; i < 2; ++i) {
#pragma unroll
            for (int j = 0; j < 2; ++j)
                wmma::store_matrix_sync(&Cs[warp_m + 16 * i][warp_n + 16 * j], acc[i][j], kTcLdc,
                                        wmma::mem_row_major);
        }
        __syncthreads();
        const int col = tid % kTcBN;
        const int p = p0 + col;
        if (Mode == kDense && p < a.ohw) {
            for (int r = tid / kTcBN; r < kTcBM && m0 + r < a.kg; r += kTcThreads / kTcBN) {
                const int m = m0 + r;
                const float v = Cs[r][col] + (a.bias ? __ldg(a.bias + m) : 0.0f);
                a.y[static_cast<int64_t>(p) * a.y_bs + m] = apply_activation(v, a.act);
            }
        } else if (p < a.ohw) {
            float* yg = a.y + n * a.y_bs + g * a.kg * static_cast<int64_t>(a.ohw);
            const float* rg =
                a.res ? a.res + n * a.res_bs + g * a.kg * static_cast<int64_t>(a.ohw) : nullptr;
            for (int r = tid / kTcBN; r < kTcBM && m0 + r < a.kg; r += kTcThreads / kTcBN) {
                const int m = m0 + r;
                // act(float(acc + b) + r), as Conv2dParams::residual says.
                float v = Cs[r][col] + (a.bias ? __ldg(a.bias + g * a.kg + m) : 0.0f);
                if (rg) v = v + __ldg(rg + static_cast<int64_t>(m) * a.ohw + p);
                yg[static_cast<int64_t>(m) * a.ohw + p] = apply_activation(v, a.act);
            }
        }
    }
}

dim3 conv2d_tensor_core_grid(const TcConvArgs& a) {
    const int64_t gx = (static_cast<int64_t>(a.ohw) + kTcBN - 1) / kTcBN;
    const int64_t gy = (static_cast<int64_t>(a.kg) + kTcBM - 1) / kTcBM;
    const int64_t gz = std::min<int64_t>(static_cast<int64_t>(a.batch) * a.groups, kMaxGridZ);
    return dim3(static_cast<unsigned>(gx), static_cast<unsigned>(gy), static_cast<unsigned>(gz));
}

// ---- host entry points: validation, packing, launch ----

void require(bool ok, const std::string& why) {
    if (!ok) throw std::runtime_error("cuda::conv2d_tensor_core: " + why);
}

bool small(int v) {
    return v > -kMaxTapOffset && v < kMaxTapOffset;
}

int round_up(int v, int to) {
    return (v + to - 1) / to * to;
}

// The packed matrix of `host` [K, kred] in element type T, from values already
// rounded to the format (so the conversion to T is exact).
template <class T>
std::vector<T> pack_rows(const std::vector<float>& host, const TensorCoreConvWeights& p,
                         T (*to_t)(float)) {
    std::vector<T> packed(static_cast<size_t>(p.groups) * p.kg * p.kred_padded, to_t(0.0f));
    for (int g = 0; g < p.groups; ++g) {
        for (int m = 0; m < p.kg; ++m) {
            const float* src = host.data() + (static_cast<size_t>(g) * p.kg + m) * p.kred;
            T* dst = packed.data() + (static_cast<size_t>(g) * p.kg + m) * p.kred_padded;
            for (int r = 0; r < p.kred; ++r) dst[r] = to_t(round_to_precision(src[r], p.precision));
        }
    }
    return packed;
}

float to_float(float v) {
    return v;
}
__half to_half(float v) {
    return __float2half(v);
}
__nv_bfloat16 to_bfloat16(float v) {
    return __float2bfloat16(v);
}

template <class T>
std::shared_ptr<void> upload(const std::vector<T>& v) {
    void* d = nullptr;
    CUDA_CHECK(cudaMalloc(&d, std::max<size_t>(v.size() * sizeof(T), 4)));
    std::shared_ptr<void> owned(d, [](void* q) { cudaFree(q); });
    CUDA_CHECK(cudaMemcpy(d, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice));
    // A copy from pageable memory may return before it lands, and the kernels run on
    // the backend's non-blocking stream, which does not wait for the legacy stream.
    CUDA_CHECK(cudaDeviceSynchronize());
    return owned;
}

}  // namespace

bool conv2d_tensor_core_applies(const View& weight, int groups) {
    return !(weight.c == 1 && groups > 1 && weight.n == groups);
}

namespace {

// Both packings: `weight` read back to the host, `to_rows` (when set) rearranging
// it into the [K, kred] rows of the GEMM, then rounded, packed and uploaded.
std::shared_ptr<const TensorCoreConvWeights> pack_weights(
    const View& weight, int groups, Precision precision, bool transposed) {
    require(precision != Precision::Fp32, "fp32 has no tensor-core packing");
    require(weight.dtype == DType::F32 && weight.contiguous(), "weight must be contiguous float32");
    require(groups >= 1 && weight.n % groups == 0, "weight channels not divisible by groups");
    const int64_t kred = (transposed ? weight.n / groups : weight.c) * weight.h * weight.w;
    require(kred < kMaxInt32 / 2 && weight.n < kMaxInt32 / 2 && weight.c < kMaxInt32 / 2,
            "weight too large");
    auto p = std::make_shared<TensorCoreConvWeights>();
    p->precision = precision;
    p->transposed = transposed;
    p->groups = groups;
    // conv: weight [K, Cg, kh, kw]; conv_transpose: weight [C, Kg, kh, kw].
    p->kg = static_cast<int>(transposed ? weight.c : weight.n / groups);
    p->cg = static_cast<int>(transposed ? weight.n / groups : weight.c);
    p->kh = static_cast<int>(weight.h);
    p->kw = static_cast<int>(weight.w);
    p->kred = static_cast<int>(kred);
    p->kred_padded = round_up(p->kred, kTcBK);
    require(static_cast<int64_t>(groups) * p->kg * p->kred_padded < (int64_t(1) << 40),
            "weight too large");

    std::vector<float> host(static_cast<size_t>(weight.numel()));
    CUDA_CHECK(
        cudaMemcpy(host.data(), weight.data, host.size() * sizeof(float), cudaMemcpyDeviceToHost));
    if (transposed) {
        // Row g*kg + m, column (ci*kh + ky)*kw + kx = w[g*cg + ci, m, ky, kx].
        const size_t khkw = static_cast<size_t>(p->kh) * p->kw;
        std::vector<float> rows(host.size());
        for (int g = 0; g < groups; ++g)
            for (int m = 0; m < p->kg; ++m)
                for (int ci = 0; ci < p->cg; ++ci)
                    for (size_t t = 0; t < khkw; ++t)
                        rows[((static_cast<size_t>(g) * p->kg + m) * p->cg + ci) * khkw + t] =
                            host[((static_cast<size_t>(g) * p->cg + ci) * p->kg + m) * khkw + t];
        host.swap(rows);
    }
    switch (precision) {
        case Precision::Tf32: p->data = upload(pack_rows<float>(host, *p, to_float)); break;
        case Precision::Fp16: p->data = upload(pack_rows<__half>(host, *p, to_half)); break;
        default: p->data = upload(pack_rows<__nv_bfloat16>(host, *p, to_bfloat16)); break;
    }
    return p;
}

void launch(const TcConvArgs& a, Precision precision, TcMode mode, cudaStream_t stream) {
    const dim3 grid = conv2d_tensor_core_grid(a);
#define FCNRT_TC_LAUNCH(T, NAME)                                                         \
    if (mode == kTransposed) {                                                           \
        conv2d_tensor_core_gemm<T, kTransposed><<<grid, kTcThreads, 0, stream>>>(a);     \
        check_launch("conv2d_tensor_core_gemm<" NAME ", transposed>");                   \
    } else if (mode == kDense) {                                                         \
        conv2d_tensor_core_gemm<T, kDense><<<grid, kTcThreads, 0, stream>>>(a);          \
        check_launch("conv2d_tensor_core_gemm<" NAME ", dense>");                        \
    } else {                                                                             \
        conv2d_tensor_core_gemm<T, kConv><<<grid, kTcThreads, 0, stream>>>(a);           \
        check_launch("conv2d_tensor_core_gemm<" NAME ">");                               \
    }
    switch (precision) {
        case Precision::Tf32: FCNRT_TC_LAUNCH(float, "tf32") break;
        case Precision::Fp16: FCNRT_TC_LAUNCH(__half, "fp16") break;
        case Precision::Bf16: FCNRT_TC_LAUNCH(__nv_bfloat16, "bf16") break;
        default: require(false, "fp32 weights are not packed for the tensor cores");
    }
#undef FCNRT_TC_LAUNCH
}

// The fields common to both ops.
TcConvArgs base_args(const View& x, const TensorCoreConvWeights& packed, const float* bias,
                     const View& y, const View& r) {
    TcConvArgs a;
    a.x = x.f32();
    a.w = packed.data.get();
    a.bias = bias;
    a.y = y.f32();
    a.res = r.data != nullptr ? r.f32() : nullptr;
    a.x_bs = x.batch_stride;
    a.y_bs = y.batch_stride;
    a.res_bs = r.data != nullptr ? r.batch_stride : 0;
    a.batch = static_cast<int>(x.n);
    a.groups = packed.groups;
    a.h = static_cast<int>(x.h);
    a.w_in = static_cast<int>(x.w);
    a.cg = packed.cg;
    a.kg = packed.kg;
    a.kh = packed.kh;
    a.kw = packed.kw;
    a.oh = static_cast<int>(y.h);
    a.ow = static_cast<int>(y.w);
    a.ohw = static_cast<int>(y.h * y.w);
    a.kred = packed.kred;
    a.kred_padded = packed.kred_padded;
    return a;
}

}  // namespace

std::shared_ptr<const TensorCoreConvWeights> pack_conv2d_weights_tensor_core(const View& weight,
                                                                             int groups,
                                                                             Precision precision) {
    return pack_weights(weight, groups, precision, false);
}

bool conv_transpose2d_tensor_core_applies(const View& weight, int groups) {
    // Depthwise (one input and one output channel per group): no GEMM to speak of.
    return !(weight.c == 1 && groups > 1 && weight.n == groups);
}

std::shared_ptr<const TensorCoreConvWeights> pack_conv_transpose2d_weights_tensor_core(
    const View& weight, int groups, Precision precision) {
    return pack_weights(weight, groups, precision, true);
}

void conv_transpose2d_tensor_core(const View& x, const View& weight,
                                  const TensorCoreConvWeights& packed, const float* bias,
                                  const View& y, const ConvTranspose2dParams& p,
                                  cudaStream_t stream) {
    require(packed.transposed && !packed.dense, "weights not packed for conv_transpose");
    require(x.dtype == DType::F32 && y.dtype == DType::F32, "float32 tensors only");
    require(x.n == y.n, "x and y batch sizes differ");
    require(x.batch_stride >= x.chw() && y.batch_stride >= y.chw(), "batch stride too small");
    require(p.groups == packed.groups && weight.n == x.c && weight.c * p.groups == y.c &&
                x.c % p.groups == 0 && packed.kg * p.groups == y.c &&
                packed.cg * p.groups == x.c && packed.kh == weight.h && packed.kw == weight.w,
            "weight, packed weight, x, y and groups do not match");
    require(p.stride[0] >= 1 && p.stride[1] >= 1 && p.dilation[0] >= 1 && p.dilation[1] >= 1,
            "stride and dilation must be positive");
    require(x.h * x.w < kMaxInt32 && y.h * y.w < kMaxInt32 && x.n < kMaxInt32,
            "a plane of 2^31 or more elements is not supported");
    // oy + pt - ky*dh stays inside int32.
    require(y.h + p.pads[0] + weight.h * p.dilation[0] + 2 * kMaxTapOffset < kMaxInt32 &&
                y.w + p.pads[1] + weight.w * p.dilation[1] + 2 * kMaxTapOffset < kMaxInt32 &&
                small(p.pads[0]) && small(p.pads[1]) && small(p.stride[0]) &&
                small(p.stride[1]) && small(p.dilation[0]) && small(p.dilation[1]),
            "stride, dilation, pads or size too large");
    require((y.c / p.groups + kTcBM - 1) / kTcBM <= kMaxGridY,
            "too many output channels per group");
    if (y.numel() == 0) return;
    TcConvArgs a = base_args(x, packed, bias, y, View{});
    a.sh = p.stride[0];
    a.sw = p.stride[1];
    a.pt = p.pads[0];
    a.pl = p.pads[1];
    a.dh = p.dilation[0];
    a.dw = p.dilation[1];
    a.act = p.act;
    launch(a, packed.precision, kTransposed, stream);
}

void conv2d_tensor_core(const View& x, const View& weight, const TensorCoreConvWeights& packed,
                        const float* bias, const View& y, const Conv2dParams& p,
                        cudaStream_t stream) {
    require(x.dtype == DType::F32 && y.dtype == DType::F32, "float32 tensors only");
    require(x.n == y.n, "x and y batch sizes differ");
    require(x.batch_stride >= x.chw() && y.batch_stride >= y.chw(), "batch stride too small");
    require(!packed.transposed && !packed.dense, "weights packed for conv_transpose or dense");
    require(p.groups == packed.groups && weight.n == y.c && weight.c == x.c / p.groups &&
                x.c % p.groups == 0 && packed.kg * p.groups == y.c && packed.cg == weight.c &&
                packed.kh == weight.h && packed.kw == weight.w,
            "weight, packed weight, x, y and groups do not match");
    require(p.stride[0] >= 1 && p.stride[1] >= 1 && p.dilation[0] >= 1 && p.dilation[1] >= 1,
            "stride and dilation must be positive");
    require(x.h * x.w < kMaxInt32 && y.h * y.w < kMaxInt32 && x.n < kMaxInt32,
            "a plane of 2^31 or more elements is not supported");
    require(
        y.h * p.stride[0] + weight.h * p.dilation[0] + x.h + 2 * kMaxTapOffset < kMaxInt32 &&
            y.w * p.stride[1] + weight.w * p.dilation[1] + x.w + 2 * kMaxTapOffset < kMaxInt32 &&
            small(p.pads[0]) && small(p.pads[1]) && small(p.stride[0]) && small(p.stride[1]) &&
            small(p.dilation[0]) && small(p.dilation[1]),
        "stride, dilation, pads or size too large");
    require((y.c / p.groups + kTcBM - 1) / kTcBM <= kMaxGridY,
            "too many output channels per group");
    const View& r = p.residual;
    if (r.data != nullptr)
        require(r.dtype == DType::F32 && r.n == y.n && r.c == y.c && r.h == y.h && r.w == y.w &&
                    r.batch_stride >= r.chw(),
                "residual must be float32 with y's dims");
    if (y.numel() == 0) return;

    TcConvArgs a = base_args(x, packed, bias, y, r);
    a.sh = p.stride[0];
    a.sw = p.stride[1];
    a.pt = p.pads[0];
    a.pl = p.pads[1];
    a.dh = p.dilation[0];
    a.dw = p.dilation[1];
    a.act = p.act;
    launch(a, packed.precision, kConv, stream);
}

std::shared_ptr<const TensorCoreConvWeights> pack_dense_weights_tensor_core(const View& weight,
                                                                           Precision precision) {
    require(weight.dtype == DType::F32 && weight.contiguous(), "weight must be contiguous float32");
    auto p = pack_weights(make_view(weight.data, DType::F32, weight.n, weight.chw(), 1, 1), 1,
                          precision, false);
    auto d = std::make_shared<TensorCoreConvWeights>(*p);
    d->dense = true;
    return d;
}

void dense_tensor_core(const View& x, const TensorCoreConvWeights& packed, const float* bias,
                       const View& y, ActivationParams act, cudaStream_t stream) {
    require(packed.dense, "weights not packed for dense");
    require(x.dtype == DType::F32 && y.dtype == DType::F32, "float32 tensors only");
    require(x.n == y.n, "x and y batch sizes differ");
    require(x.batch_stride >= x.chw() && y.batch_stride >= y.chw(), "batch stride too small");
    require(x.chw() == packed.kred && y.chw() == packed.kg, "x, y and the weight do not match");
    require(x.n < kMaxInt32 && (packed.kg + kTcBM - 1) / kTcBM <= kMaxGridY, "too large");
    if (y.numel() == 0) return;
    TcConvArgs a{};
    a.x = x.f32();
    a.w = packed.data.get();
    a.bias = bias;
    a.y = y.f32();
    a.res = nullptr;
    a.x_bs = x.batch_stride;
    a.y_bs = y.batch_stride;
    a.res_bs = 0;
    a.batch = 1;
    a.groups = 1;
    a.h = a.w_in = 1;
    a.cg = packed.cg;
    a.kg = packed.kg;
    a.kh = a.kw = a.sh = a.sw = a.dh = a.dw = 1;
    a.pt = a.pl = 0;
    a.oh = static_cast<int>(x.n);
    a.ow = 1;
    a.ohw = static_cast<int>(x.n);
    a.kred = packed.kred;
    a.kred_padded = packed.kred_padded;
    a.act = act;
    launch(a, packed.precision, kDense, stream);
}

}  // namespace fcnrt::cuda
