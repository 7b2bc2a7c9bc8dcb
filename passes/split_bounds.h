/* split_bounds.h - inner loops cut where pad and concat bounds checks change (split_bounds.c). */
#ifndef MT_PASSES_SPLIT_BOUNDS_H
#define MT_PASSES_SPLIT_BOUNDS_H

#include "ir/kernel.h"

/* Cuts every innermost non-reduction loop of p below a kernel's outermost statement at the
 * points where a comparison or clamp of its variable with a constant changes value, one loop
 * per piece, so that each piece's conditions fold away. Results are unchanged. */
mt_status mt_split_bounds(mt_kprog *p, mt_diag *d);

#endif
