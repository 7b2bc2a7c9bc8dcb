/* lower_split.h - a large reduction with few results built as two kernels (lower_split.c). */
#ifndef MT_PASSES_LOWER_SPLIT_H
#define MT_PASSES_LOWER_SPLIT_H

#include "passes/lower_internal.h"

/* When the current kernel stores a reduction with few results over many
 * elements, builds it as two kernels (parallel partial sums over a fixed number of chunks,
 * then their combination in order) and returns 1; else builds nothing and returns 0. */
int mt_lower_split(mt_lower_state *s, const char *note);

#endif
