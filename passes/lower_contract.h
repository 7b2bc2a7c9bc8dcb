/* lower_contract.h - the loop nests of matmul and conv kernels (lower_contract.c). */
#ifndef MT_PASSES_LOWER_CONTRACT_H
#define MT_PASSES_LOWER_CONTRACT_H

#include "passes/lower_internal.h"

/* The whole body of the current kernel, whose core is a matmul or conv: the core's sums go to
 * the root's buffer, then the epilogue runs over them. A conv on the target's GEMM first adds
 * kernels of its own (passes/lower_conv.h), finished with `note` and a suffix. */
void mt_lower_contract(mt_lower_state *s, const char *note);

#endif
