// The AVX-512F broadcast conv and small-plane conv kernels
// (conv_bcast_kernels_impl.h; blocking in isa_vec.h). Compiled with -mavx512f
// -mfma; called only when the CPU supports both.
#define FCNRT_GEMM_ISA_NAMESPACE avx512
#include "kernels/cpu/conv_bcast_kernels_impl.h"
