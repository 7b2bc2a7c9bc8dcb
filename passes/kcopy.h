/* kcopy.h - copies of a kernel's statements with a loop variable replaced (kcopy.c): what the
 * kernel-IR passes that cut or unroll loops (split_bounds.c, unroll.c) build their pieces from. */
#ifndef MT_PASSES_KCOPY_H
#define MT_PASSES_KCOPY_H

#include "ir/kernel.h"

typedef struct mt_kcopy mt_kcopy;

/* NULL when out of memory. */
mt_kcopy *mt_kcopy_new(mt_kprog *p);
void mt_kcopy_free(mt_kcopy *c);

/* A copy of the statements from b on, in kernel k, with loop variable `var` replaced by
 * `value` (an i64 expression of p). Every expression is rebuilt through the constructors of
 * ir/kernel.c, so their simplifier folds what the value decides; loops inside get fresh
 * variables of k, since a loop variable belongs to one loop. NULL when b is empty or memory
 * runs out (mt_kcopy_failed tells which). */
mt_kstmt *mt_kcopy_block(mt_kcopy *c, mt_kernel *k, const mt_kstmt *b, int var, mt_kexpr *value);
int mt_kcopy_failed(const mt_kcopy *c);

/* Expression nodes under the statements from b on, counted as a tree, stopping past `cap`. */
size_t mt_kcopy_nodes(const mt_kstmt *b, size_t cap);

#endif
