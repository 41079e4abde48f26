// The portable GEMM micro-kernel, direct conv row kernel and narrow GEMM
// kernel (gemm_kernels_impl.h; blocking in isa_vec.h): scalar fmaf, no
// vector flags, for any CPU; the same bits as the vector paths, only slower.
#define FCNRT_GEMM_ISA_NAMESPACE portable
#include "kernels/cpu/gemm_kernels_impl.h"
