/* kcopy.h - copies of a kernel's statements with a loop variable replaced (kcopy.c): what the
 * kernel-IR passes that cut or unroll loops (split_bounds.c, unroll.c) build their pieces from. */
#ifndef MT_PASSES_KCOPY_H
#define MT_PASSES_KCOPY_H

#include "ir/kernel.h"

typedef struct mt_kcopy mt_kcopy;

/* A copy of the statements from b on, in kernel k, with loop variable `var` replaced by
 * `value` (an i64 expression of p). Every expression is rebuilt through the constructors of
 * ir/kernel.c, so their simplifier folds what the value decides; loops inside get fresh
 * variables of k, since a loop variable belongs to one loop. NULL when b is empty or memory
 * runs out (mt_kcopy_failed tells which). */
mt_kstmt *mt_kcopy_block(mt_kcopy *c, mt_kernel *k, const mt_kstmt *b, int var, mt_kexpr *value);
int mt_kcopy_failed(const mt_kcopy *c);

/* Runs rewrite(c, p, kernel, ctx) on every kernel of p with one copier, and collects the
 * buffers again of each kernel it copied from (a copy may fold away every load of a buffer).
 * The passes that cut or unroll loops are this driver and their rewrite; `pass` names them in
 * the out-of-memory error. */
typedef void (*mt_kcopy_rewrite)(mt_kcopy *c, mt_kprog *p, mt_kernel *k, void *ctx);
mt_status mt_kcopy_each_kernel(mt_kprog *p, mt_kcopy_rewrite rewrite, void *ctx, const char *pass,
                               mt_diag *d);

/* Expression nodes under the statements from b on, counted as a tree, stopping past `cap`. */
size_t mt_kcopy_nodes(const mt_kstmt *b, size_t cap);

#endif
