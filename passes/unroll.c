/* unroll.c - tiny reduction loops unrolled, so that the loop around them is the innermost.
 *
 * A max-pool reads each 2x2 window in two reduction loops of two iterations inside the loop
 * over the output columns. LLVM vectorizes innermost loops only, so it vectorizes those
 * two-iteration loops (which gains nothing) and never the column loop, where the windows of
 * eight neighbouring outputs would fill a vector with stride-2 loads. Unrolling the tiny loops
 * makes the column loop innermost. LLVM's own unroller is off (codegen/llvm/opt.c: unrolling
 * every constant-trip loop made compile time quadratic), so it happens here, on the kernel IR,
 * and only to reduction loops of at most `max_trip` iterations.
 *
 * Each iteration becomes a copy of the body in a loop of one iteration (passes/kcopy.c
 * substitutes the variable and folds what it decides), in the original order, so the sum or
 * max accumulates in exactly the order the loop did. A loop of one iteration keeps the block
 * structure (scalars declared in the body stay local to each copy); renderers emit its body
 * as straight-line code. Inner loops are unrolled first, so nested tiny loops (both window
 * axes) unroll together.
 */
#include "passes/unroll.h"

#include "passes/kcopy.h"

#define MAX_COPY_NODES 1024 /* expression nodes of one copy of the body, at most */

/* Does b hold a loop of more than one iteration? */
static int has_loop(const mt_kstmt *b)
{
    for (const mt_kstmt *s = b; s; s = s->next)
        if (s->kind == MT_KS_FOR && (s->trip > 1 || has_loop(s->body)))
            return 1;
    return 0;
}

static void walk(mt_kcopy *c, mt_kprog *p, mt_kernel *k, mt_kstmt **at, int64_t max_trip)
{
    while (*at && !mt_kcopy_failed(c)) {
        mt_kstmt *s = *at, *next = s->next;
        if (s->kind == MT_KS_FOR) {
            walk(c, p, k, &s->body, max_trip);
            if ((s->flags & MT_KLOOP_REDUCE) && s->trip > 1 && s->trip <= max_trip &&
                !has_loop(s->body) && mt_kcopy_nodes(s->body, MAX_COPY_NODES) <= MAX_COPY_NODES) {
                mt_kblock copies = {NULL, NULL};
                for (int64_t i = 0; i < s->trip; i++) {
                    mt_kstmt *f = mt_ks_for(p, k->nloops++, 1, s->flags);
                    if (!f || !(f->body = mt_kcopy_block(c, k, s->body, s->id, mt_kx_int(p, i))))
                        return;
                    mt_kblock_append(&copies, f);
                }
                copies.last->next = next;
                *at = copies.first;
            }
        }
        while (*at != next)
            at = &(*at)->next;
    }
}

static void rewrite(mt_kcopy *c, mt_kprog *p, mt_kernel *k, void *ctx)
{
    walk(c, p, k, &k->body, *(const int64_t *)ctx);
}

mt_status mt_unroll_reductions(mt_kprog *p, int64_t max_trip, mt_diag *d)
{
    return mt_kcopy_each_kernel(p, rewrite, &max_trip, "unroll", d);
}
