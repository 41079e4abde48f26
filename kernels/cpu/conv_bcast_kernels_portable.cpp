// The portable broadcast conv and small-plane conv kernels
// (conv_bcast_kernels_impl.h; blocking in isa_vec.h): scalar fmaf, no vector
// flags, for any CPU; the same bits as the vector paths, only slower.
#define FCNRT_GEMM_ISA_NAMESPACE portable
#include "kernels/cpu/conv_bcast_kernels_impl.h"
