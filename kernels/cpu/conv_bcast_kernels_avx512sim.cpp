// The AVX-512 path's broadcast conv and small-plane conv kernels
// (conv_bcast_kernels_impl.h) with avx512's blocking and a 16-float V in
// portable code (isa_vec.h): the test path avx512sim (cpu_isa.h). Built with
// no vector flags; runs on any x86-64.
#define FCNRT_GEMM_ISA_NAMESPACE avx512sim
#include "kernels/cpu/conv_bcast_kernels_impl.h"
