/* lower_conv.h - conv1d and conv2d as a GEMM over a patch matrix (lower_conv.c). */
#ifndef MT_PASSES_LOWER_CONV_H
#define MT_PASSES_LOWER_CONV_H

#include "passes/lower_internal.h"

/* When the current kernel's core is a conv that the target's GEMM should compute (has_gemm,
 * its temporaries within im2col_max_bytes): adds the kernels that copy the weights (unless
 * they are a stored buffer) and the patches, finished with `note` and a suffix, then begins
 * the product kernel (root and core as before) and builds its body, for the caller to finish.
 * Returns 1 then, 0 (nothing done) when the conv keeps its direct loops. */
int mt_lower_conv_gemm(mt_lower_state *s, const char *note);

#endif
