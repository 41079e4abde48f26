// The AVX2+FMA GEMM micro-kernel, direct conv row kernel and narrow GEMM
// kernel (gemm_kernels_impl.h; blocking in isa_vec.h). Compiled with
// -mavx2 -mfma; called only when the CPU supports both.
#define FCNRT_GEMM_ISA_NAMESPACE avx2
#include "kernels/cpu/gemm_kernels_impl.h"
