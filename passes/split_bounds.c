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
 * body small enough that its copies stay cheap to compile, are cut. Inner reduction loops are
 * copied with fresh variables, since a loop variable belongs to one loop.
 */
#include "passes/split_bounds.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ir/alloc.h"

#define MAX_PIECES 16
#define MAX_BODY_NODES 4096 /* expression nodes of one copy of the body, at most */

typedef struct split {
    mt_kprog *p;
    mt_kernel *k;
    int oom;
    /* v's value in the piece being built, and fresh variables for the reduction loops copied
     * into it (loop_map[old] >= 0). */
    int var;
    mt_kexpr *value;
    int *loop_map;
    int64_t *loop_trip;
    /* Rebuilt nodes of the current piece, by address (open addressing; DAGs share nodes). */
    const mt_kexpr **from;
    mt_kexpr **to;
    size_t cap;
} split;

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
    size_t nodes;
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
    if (++pt->nodes > MAX_BODY_NODES || pt->full)
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

/* ---- rebuilding a piece ---------------------------------------------------------------- */

static size_t slot(const split *sp, const mt_kexpr *e)
{
    size_t h = ((uintptr_t)e >> 4) * 0x9E3779B97F4A7C15ull;
    size_t i = h & (sp->cap - 1);
    while (sp->from[i] && sp->from[i] != e)
        i = (i + 1) & (sp->cap - 1);
    return i;
}

static mt_kexpr *rebuild(split *sp, const mt_kexpr *e);

static mt_kexpr *rebuild_new(split *sp, const mt_kexpr *e)
{
    mt_kprog *p = sp->p;
    mt_kexpr *a[3] = {NULL, NULL, NULL};
    for (int i = 0; i < e->nargs; i++)
        if (!(a[i] = rebuild(sp, e->args[i])))
            return NULL;
    switch (e->op) {
    case MT_KX_CONST:
    case MT_KX_SCALAR: return (mt_kexpr *)e;
    case MT_KX_VAR:
        if (e->id == sp->var)
            return sp->value;
        if (sp->loop_map[e->id] >= 0)
            return mt_kx_var(p, sp->loop_map[e->id], sp->loop_trip[e->id]);
        return (mt_kexpr *)e;
    case MT_KX_LOAD: return mt_kx_load(p, e->id, e->type, a[0]);
    case MT_KX_CAST: return mt_kx_cast(p, e->type, a[0]);
    case MT_KX_SELECT: return mt_kx_select(p, a[0], a[1], a[2]);
    default: break;
    }
    if (e->nargs == 1)
        return mt_kx_unary(p, e->op, a[0]);
    return mt_kx_binary(p, e->op, a[0], a[1]);
}

static mt_kexpr *rebuild(split *sp, const mt_kexpr *e)
{
    size_t i = slot(sp, e);
    if (sp->from[i])
        return sp->to[i];
    mt_kexpr *r = rebuild_new(sp, e);
    if (!r) {
        sp->oom = 1;
        return NULL;
    }
    i = slot(sp, e); /* the recursion filled other slots */
    sp->from[i] = e;
    sp->to[i] = r;
    return r;
}

static mt_kstmt *copy_block(split *sp, const mt_kstmt *b)
{
    mt_kblock out = {NULL, NULL};
    for (const mt_kstmt *s = b; s && !sp->oom; s = s->next) {
        mt_kstmt *c = NULL;
        switch (s->kind) {
        case MT_KS_FOR: {
            int id = sp->k->nloops++;
            sp->loop_map[s->id] = id;
            sp->loop_trip[s->id] = s->trip;
            c = mt_ks_for(sp->p, id, s->trip, s->flags);
            if (c)
                c->body = copy_block(sp, s->body);
            break;
        }
        case MT_KS_STORE:
            c = mt_ks_store(sp->p, s->id, rebuild(sp, s->index), rebuild(sp, s->value));
            break;
        case MT_KS_DECL: c = mt_ks_decl(sp->p, s->id, rebuild(sp, s->value)); break;
        case MT_KS_SET: c = mt_ks_set(sp->p, s->id, rebuild(sp, s->value)); break;
        case MT_KS_GEMM: c = mt_ks_gemm(sp->p, s->gemm, rebuild(sp, s->index)); break;
        }
        if (!c) {
            sp->oom = 1;
            break;
        }
        mt_kblock_append(&out, c);
    }
    return out.first;
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

static int loops_in(const mt_kstmt *b)
{
    int n = 0;
    for (const mt_kstmt *s = b; s; s = s->next)
        if (s->kind == MT_KS_FOR)
            n += 1 + loops_in(s->body);
    return n;
}

/* Replaces the loop *at (inside a block) by its pieces, linked in its place. */
static void cut(split *sp, mt_kstmt **at)
{
    mt_kstmt *loop = *at;
    points pt = {0};
    block_points(loop->body, loop->id, loop->trip, &pt);
    if (pt.n == 0 || pt.full || pt.nodes > MAX_BODY_NODES)
        return;
    qsort(pt.at, (size_t)pt.n, sizeof pt.at[0], cmp_points);
    /* The copies add loops: make room in the maps for this kernel's new variables. */
    int size = sp->k->nloops + (pt.n + 1) * (1 + loops_in(loop->body));
    int *map = mt_realloc(sp->loop_map, (size_t)size * sizeof *map);
    if (map)
        sp->loop_map = map;
    int64_t *trip = mt_realloc(sp->loop_trip, (size_t)size * sizeof *trip);
    if (trip)
        sp->loop_trip = trip;
    if (!map || !trip) {
        sp->oom = 1;
        return;
    }
    mt_kblock pieces = {NULL, NULL};
    for (int i = 0; i <= pt.n && !sp->oom; i++) {
        int64_t lo = i ? pt.at[i - 1] : 0, hi = i < pt.n ? pt.at[i] : loop->trip;
        for (int j = 0; j < size; j++)
            sp->loop_map[j] = -1;
        memset(sp->from, 0, sp->cap * sizeof *sp->from);
        int id = sp->k->nloops++;
        sp->var = loop->id;
        sp->value =
            mt_kx_binary(sp->p, MT_KX_ADD, mt_kx_var(sp->p, id, hi - lo), mt_kx_int(sp->p, lo));
        mt_kstmt *f = mt_ks_for(sp->p, id, hi - lo, loop->flags);
        if (!sp->value || !f) {
            sp->oom = 1;
            break;
        }
        f->body = copy_block(sp, loop->body);
        mt_kblock_append(&pieces, f);
    }
    if (sp->oom)
        return;
    pieces.last->next = loop->next;
    *at = pieces.first;
}

static void walk(split *sp, mt_kstmt **at, int top)
{
    while (*at && !sp->oom) {
        mt_kstmt *s = *at, *next = s->next;
        if (s->kind == MT_KS_FOR && !(s->flags & MT_KLOOP_REDUCE)) {
            if (has_inner_loop(s->body))
                walk(sp, &s->body, 0);
            else if (!top)
                cut(sp, at);
        }
        while (*at != next) /* past the statement, or the pieces that replaced it */
            at = &(*at)->next;
    }
}

mt_status mt_split_bounds(mt_kprog *p, mt_diag *d)
{
    split sp = {.p = p, .cap = 2 * MAX_BODY_NODES};
    sp.from = mt_calloc(sp.cap, sizeof *sp.from);
    sp.to = mt_calloc(sp.cap, sizeof *sp.to);
    for (int k = 0; k < p->nkernels && sp.from && sp.to && !sp.oom; k++) {
        sp.k = &p->kernels[k];
        walk(&sp, &sp.k->body, 1);
    }
    int oom = sp.oom || !sp.from || !sp.to;
    mt_free(sp.from);
    mt_free(sp.to);
    mt_free(sp.loop_map);
    mt_free(sp.loop_trip);
    if (oom)
        return mt_diag_set(d, MT_ERR_NOMEM, "split bounds: out of memory");
    return MT_OK;
}
