/* split_bounds.c - inner loops cut where the bounds checks of pads and concats change value.
 *
 * Lowering reads a pad or a concat operand through a select: a condition comparing an index
 * with constants, and a load at an index clamped with min and max so that it stays in bounds
 * whichever arm is taken (passes/lower_build.c). Inside the innermost loop both change from one
 * iteration to the next, so LLVM vectorizes that loop with gathers and blends, or not at all:
 * a conv's dx sums 25 shifted, padded taps this way, at about a nanosecond per tap.
 *
 * For such a loop over v in [0, trip), every comparison or clamp of s*v + c (s > 0) with a
 * constant k changes its value at one point, where s*v + c crosses k. The pass cuts [0, trip)
 * at all those points and emits one loop per piece [lo, hi) over a new variable j in
 * [0, hi - lo), its body rebuilt with v = lo + j through the constructors of ir/kernel.c. Their
 * range-based simplifier then folds every condition and clamp the piece decides: the interior
 * of a pad reads its operand at a plain affine index, and the border pieces read nothing. The
 * substitution is exact, so every piece computes what the loop computed for its iterations, in
 * the same order: results do not change, bit for bit.
 *
 * Only loops without a loop other than reductions inside, below the kernel's outermost
 * statement (which the runtime splits across threads), with at most MAX_PIECES pieces and a
 * body small enough that its copies stay cheap to compile, are cut. The copies are made by
 * passes/kcopy.c (which gives the reduction loops inside each copy fresh variables).
 */
#include "passes/split_bounds.h"

#include <stdint.h>
#include <stdlib.h>

#include "passes/kcopy.h"

#define MAX_PIECES 16
#define MAX_BODY_NODES 4096 /* expression nodes of one copy of the body, at most */

/* ---- where conditions change ----------------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}
static int64_t ceil_div(int64_t a, int64_t b) { return -floor_div(-a, b); }

/* e = s*v + c for loop v (through clamps: min/max(e, k) has the same linear core), s > 0. */
static int linear(const mt_kexpr *e, int v, int64_t *s, int64_t *c)
{
    *c = 0;
    while ((e->op == MT_KX_MIN || e->op == MT_KX_MAX) && e->args[1]->op == MT_KX_CONST)
        e = e->args[0];
    if (e->op == MT_KX_ADD && e->args[1]->op == MT_KX_CONST) {
        *c = e->args[1]->c.i;
        e = e->args[0];
    }
    *s = 1;
    if (e->op == MT_KX_MUL && e->args[1]->op == MT_KX_CONST && e->args[1]->c.i > 0) {
        *s = e->args[1]->c.i;
        e = e->args[0];
    }
    return e->op == MT_KX_VAR && e->id == v;
}

typedef struct points {
    int n;
    int64_t at[MAX_PIECES + 1];
    int full; /* more points than fit */
} points;

static void add_point(points *pt, int64_t x, int64_t trip)
{
    if (x <= 0 || x >= trip)
        return;
    for (int i = 0; i < pt->n; i++)
        if (pt->at[i] == x)
            return;
    if (pt->n == MAX_PIECES - 1) {
        pt->full = 1;
        return;
    }
    pt->at[pt->n++] = x;
}

/* The point where `a op k` (or `k op a` when swapped) changes, for a = s*v + c: a < k and
 * a >= k change at ceil((k - c) / s), a <= k and a > k one later than floor((k - c) / s). */
static void compare_point(points *pt, mt_kop op, int swapped, int64_t s, int64_t c, int64_t k,
                          int64_t trip)
{
    if (swapped) /* k < a is a > k, k <= a is a >= k, ... */
        op = op == MT_KX_LT   ? MT_KX_GT
             : op == MT_KX_LE ? MT_KX_GE
             : op == MT_KX_GT ? MT_KX_LT
                              : MT_KX_LE;
    if (op == MT_KX_LT || op == MT_KX_GE || op == MT_KX_MAX)
        add_point(pt, ceil_div(k - c, s), trip);
    else
        add_point(pt, floor_div(k - c, s) + 1, trip);
}

static void find_points(const mt_kexpr *e, int v, int64_t trip, points *pt)
{
    if (pt->full)
        return;
    for (int i = 0; i < e->nargs; i++)
        find_points(e->args[i], v, trip, pt);
    int cmp = e->op == MT_KX_LT || e->op == MT_KX_LE || e->op == MT_KX_GT || e->op == MT_KX_GE;
    if (!cmp && e->op != MT_KX_MIN && e->op != MT_KX_MAX)
        return;
    if (e->nargs != 2 || e->args[0]->type != MT_KT_I64)
        return;
    int64_t s, c;
    if (e->args[1]->op == MT_KX_CONST && linear(e->args[0], v, &s, &c))
        compare_point(pt, e->op, 0, s, c, e->args[1]->c.i, trip);
    else if (cmp && e->args[0]->op == MT_KX_CONST && linear(e->args[1], v, &s, &c))
        compare_point(pt, e->op, 1, s, c, e->args[0]->c.i, trip);
}

static void block_points(const mt_kstmt *b, int v, int64_t trip, points *pt)
{
    for (const mt_kstmt *s = b; s; s = s->next) {
        if (s->kind == MT_KS_FOR)
            block_points(s->body, v, trip, pt);
        if (s->index)
            find_points(s->index, v, trip, pt);
        if (s->value)
            find_points(s->value, v, trip, pt);
    }
}

/* ---- the pass -------------------------------------------------------------------------- */

static int cmp_points(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Does the body hold a loop other than a reduction? */
static int has_inner_loop(const mt_kstmt *b)
{
    for (const mt_kstmt *s = b; s; s = s->next)
        if (s->kind == MT_KS_FOR && (!(s->flags & MT_KLOOP_REDUCE) || has_inner_loop(s->body)))
            return 1;
    return 0;
}

/* Replaces the loop *at (inside a block of kernel k) by its pieces, linked in its place. */
static void cut(mt_kcopy *c, mt_kprog *p, mt_kernel *k, mt_kstmt **at)
{
    mt_kstmt *loop = *at;
    points pt = {0};
    if (mt_kcopy_nodes(loop->body, MAX_BODY_NODES) > MAX_BODY_NODES)
        return;
    block_points(loop->body, loop->id, loop->trip, &pt);
    if (pt.n == 0 || pt.full)
        return;
    qsort(pt.at, (size_t)pt.n, sizeof pt.at[0], cmp_points);
    mt_kblock pieces = {NULL, NULL};
    for (int i = 0; i <= pt.n; i++) {
        int64_t lo = i ? pt.at[i - 1] : 0, hi = i < pt.n ? pt.at[i] : loop->trip;
        int id = k->nloops++;
        mt_kexpr *v = mt_kx_binary(p, MT_KX_ADD, mt_kx_var(p, id, hi - lo), mt_kx_int(p, lo));
        mt_kstmt *f = mt_ks_for(p, id, hi - lo, loop->flags);
        if (!f || !(f->body = mt_kcopy_block(c, k, loop->body, loop->id, v)))
            return; /* out of memory: mt_kcopy_failed says so */
        mt_kblock_append(&pieces, f);
    }
    pieces.last->next = loop->next;
    *at = pieces.first;
}

static void walk(mt_kcopy *c, mt_kprog *p, mt_kernel *k, mt_kstmt **at, int top)
{
    while (*at && !mt_kcopy_failed(c)) {
        mt_kstmt *s = *at, *next = s->next;
        if (s->kind == MT_KS_FOR && !(s->flags & MT_KLOOP_REDUCE)) {
            if (has_inner_loop(s->body))
                walk(c, p, k, &s->body, 0);
            else if (!top)
                cut(c, p, k, at);
        }
        while (*at != next) /* past the statement, or the pieces that replaced it */
            at = &(*at)->next;
    }
}

static void rewrite(mt_kcopy *c, mt_kprog *p, mt_kernel *k, void *ctx)
{
    (void)ctx;
    walk(c, p, k, &k->body, 1);
}

mt_status mt_split_bounds(mt_kprog *p, mt_diag *d)
{
    return mt_kcopy_each_kernel(p, rewrite, NULL, "split bounds", d);
}
