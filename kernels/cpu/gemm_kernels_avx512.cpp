// The AVX-512F GEMM micro-kernel, direct conv row kernel and narrow GEMM
// kernel (gemm_kernels_impl.h; blocking in isa_vec.h). Compiled with
// -mavx512f -mfma; called only when the CPU supports both.
#define FCNRT_GEMM_ISA_NAMESPACE avx512
#include "kernels/cpu/gemm_kernels_impl.h"
