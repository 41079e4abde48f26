// Name helpers for the per-ISA translation units (isa_vec.h,
// gemm_kernels_impl.h, conv_bcast_kernels_impl.h, membound_kernels_impl.h):
// one body of code, included by each ISA's unit after it defines its ISA's name,
// makes that ISA's names from it: FCNRT_ISA_CAT(gemm_micro_kernel_, avx2) is
// gemm_micro_kernel_avx2, FCNRT_ISA_STR(avx2) is "avx2"; FCNRT_ISA_ID(avx2)
// is the path's number, for `#if` tests in the shared bodies (avx512sim, the
// AVX-512 path's logic in portable code, must take the avx512 branches that are
// about structure, not instructions). Preprocessor only.
#pragma once

#define FCNRT_ISA_CAT_(a, b) a##b
#define FCNRT_ISA_CAT(a, b) FCNRT_ISA_CAT_(a, b)
#define FCNRT_ISA_STR_(a) #a
#define FCNRT_ISA_STR(a) FCNRT_ISA_STR_(a)

#define FCNRT_ISA_ID_portable 1
#define FCNRT_ISA_ID_avx2 2
#define FCNRT_ISA_ID_avx512 3
#define FCNRT_ISA_ID_avx512sim 4
#define FCNRT_ISA_ID(a) FCNRT_ISA_CAT(FCNRT_ISA_ID_, a)
