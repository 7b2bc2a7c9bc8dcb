/* firstfit.h - first-fit placement of blocks in one growing arena (passes/firstfit.c), for
 * memory planning. */
#ifndef MT_PASSES_FIRSTFIT_H
#define MT_PASSES_FIRSTFIT_H

#include <stdint.h>

typedef struct mt_firstfit mt_firstfit;

/* An empty arena for at most max_blocks blocks live at once; NULL when out of memory. */
mt_firstfit *mt_firstfit_new(int max_blocks);
void mt_firstfit_free(mt_firstfit *f);
/* The lowest offset where `size` (> 0) bytes lie free, now taken; past the last live block
 * when no gap between blocks holds it. */
int64_t mt_firstfit_take(mt_firstfit *f, int64_t size);
/* Gives back [offset, offset + size), taken before. */
void mt_firstfit_give(mt_firstfit *f, int64_t offset, int64_t size);

#endif
