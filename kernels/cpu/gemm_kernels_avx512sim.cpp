// The AVX-512 path's GEMM micro-kernel, direct conv row kernel and narrow GEMM
// kernel (gemm_kernels_impl.h) with avx512's blocking and a 16-float V in
// portable code (isa_vec.h): the test path avx512sim (cpu_isa.h). Built with
// no vector flags; runs on any x86-64.
#define FCNRT_GEMM_ISA_NAMESPACE avx512sim
#include "kernels/cpu/gemm_kernels_impl.h"
