/* kernel_verify.c - the invariants of a kernel program (ir/kernel.h), checked.
 *
 * The schedule (passes/schedule.c) runs this after lowering and after memory planning, so a
 * pass that breaks the kernel IR is named there instead of surfacing as wrong numbers or a
 * crash in a renderer. Every message names the kernel (or the buffer) at fault.
 *
 * Expressions are DAGs; each statement's nodes are checked once per statement (a small set
 * of visited nodes), which keeps the walk linear in practice.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "ir/alloc.h"
#include "ir/kernel.h"
#include "ir/type.h"

#define SEEN_SIZE 512 /* power of two; a statement with more nodes just revisits some */

typedef struct vctx {
    const mt_kprog *p;
    const mt_kernel *k;
    mt_diag *d;
    mt_status st;
    char *loop_open;   /* per loop variable: inside its loop now */
    char *loop_made;   /* per loop variable: its loop was seen */
    char *scalar_live; /* per scalar: declared in a block that is open now */
    unsigned *acc;     /* per buffer: MT_KACC_READ / WRITE bits of the body */
    /* The buffers whose acc is set, so a kernel's check and reset cost what it touches, not
     * every buffer of the program (quadratic in a chain's gradient, docs/scaling.md). */
    int *touched;
    int ntouched, touched_cap;
    /* Nodes checked in the current statement: a slot counts when its stamp is the
     * statement's, so starting a statement costs one increment, not a clear. */
    const mt_kexpr *seen[SEEN_SIZE];
    unsigned stamp[SEEN_SIZE];
    unsigned now;
} vctx;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
fail(vctx *v, const char *fmt, ...)
{
    if (v->st != MT_OK)
        return;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    v->st = mt_diag_set(v->d, MT_ERR_INTERNAL, "kernel IR: kernel %s: %s", v->k ? v->k->name : "?",
                        msg);
}

static int buf_ok(vctx *v, int b, const char *what)
{
    if (b >= 0 && b < v->p->nbufs)
        return 1;
    fail(v, "%s names buffer b%d, but the program has %d", what, b, v->p->nbufs);
    return 0;
}

/* Records an access of kernel's body to buffer b (in range). */
static void touch(vctx *v, int b, unsigned bits)
{
    if (!v->acc[b]) {
        if (v->ntouched == v->touched_cap) {
            int cap = v->touched_cap ? 2 * v->touched_cap : 16;
            int *t = mt_realloc(v->touched, (size_t)cap * sizeof *t);
            if (!t) {
                if (v->st == MT_OK)
                    v->st = mt_diag_set(v->d, MT_ERR_NOMEM, "kernel IR: out of memory");
                return;
            }
            v->touched = t;
            v->touched_cap = cap;
        }
        v->touched[v->ntouched++] = b;
    }
    v->acc[b] |= bits;
}

static mt_ktype buf_ktype(const vctx *v, int b) { return mt_ktype_of(v->p->bufs[b].type.dtype); }

/* 1 when x was already checked in this statement (and marks it otherwise). */
static int seen(vctx *v, const mt_kexpr *x)
{
    size_t h = ((uintptr_t)x >> 4) & (SEEN_SIZE - 1);
    for (int i = 0; i < 8; i++, h = (h + 1) & (SEEN_SIZE - 1)) {
        if (v->stamp[h] != v->now) {
            v->stamp[h] = v->now;
            v->seen[h] = x;
            return 0;
        }
        if (v->seen[h] == x)
            return 1;
    }
    return 0;
}

static void expr(vctx *v, const mt_kexpr *x)
{
    if (v->st != MT_OK || seen(v, x))
        return;
    const mt_kop_info *in = mt_kop_get(x->op);
    if (!in) {
        fail(v, "an expression has no kernel op (%d)", (int)x->op);
        return;
    }
    if (x->nargs != in->arity) {
        fail(v, "%s has %d operands, not %d", in->text, x->nargs, in->arity);
        return;
    }
    for (int i = 0; i < x->nargs; i++) {
        if (!x->args[i]) {
            fail(v, "%s has a missing operand", in->text);
            return;
        }
        expr(v, x->args[i]);
    }
    if (v->st != MT_OK)
        return;
    /* Operand types: one class for all, and binary operands of one type. */
    if (x->op == MT_KX_LOAD && x->args[0]->type != MT_KT_I64) {
        fail(v, "the index of a load of b%d is %s, not i64", x->id,
             mt_ktype_name(x->args[0]->type));
    } else if (x->op == MT_KX_SELECT) {
        if (x->args[0]->type != MT_KT_BOOL || x->args[1]->type != x->args[2]->type)
            fail(v, "select needs a bool condition and arms of one type");
    } else {
        for (int i = 0; i < x->nargs; i++)
            if (!mt_kclass_has(in->operands, x->args[i]->type))
                fail(v, "%s has an operand of type %s", in->text, mt_ktype_name(x->args[i]->type));
        if (x->nargs == 2 && x->args[0]->type != x->args[1]->type)
            fail(v, "%s has operands of types %s and %s", in->text, mt_ktype_name(x->args[0]->type),
                 mt_ktype_name(x->args[1]->type));
    }
    mt_ktype same = x->op == MT_KX_SELECT ? x->args[1]->type
                    : x->nargs            ? x->args[0]->type
                                          : x->type;
    if (in->result == MT_KC_SAME ? x->type != same : !mt_kclass_has(in->result, x->type))
        fail(v, "%s has a result of type %s", in->text, mt_ktype_name(x->type));
    switch (x->op) {
    case MT_KX_VAR:
        if (x->id < 0 || x->id >= v->k->nloops)
            fail(v, "loop variable i%d is out of range (%d loops)", x->id, v->k->nloops);
        else if (!v->loop_open[x->id])
            fail(v, "loop variable i%d is used outside its loop", x->id);
        break;
    case MT_KX_SCALAR:
        if (x->id < 0 || x->id >= v->k->nscalars)
            fail(v, "scalar s%d is out of range (%d scalars)", x->id, v->k->nscalars);
        else if (!v->scalar_live[x->id])
            fail(v, "scalar s%d is used where no enclosing block declared it", x->id);
        else if (v->k->scalar_types[x->id] != x->type)
            fail(v, "scalar s%d is read as %s but declared %s", x->id, mt_ktype_name(x->type),
                 mt_ktype_name(v->k->scalar_types[x->id]));
        break;
    case MT_KX_LOAD:
        if (buf_ok(v, x->id, "a load")) {
            touch(v, x->id, MT_KACC_READ);
            if (x->type != buf_ktype(v, x->id))
                fail(v, "a load of b%d is %s, but the buffer holds %s", x->id,
                     mt_ktype_name(x->type), mt_ktype_name(buf_ktype(v, x->id)));
        }
        break;
    default: break;
    }
}

/* Checks a statement's expression with a fresh visited set. */
static void stmt_expr(vctx *v, const mt_kexpr *x, const char *what)
{
    if (!x) {
        fail(v, "a %s has no expression", what);
        return;
    }
    v->now++; /* calloc'd stamps are 0; the first statement is 1 */
    expr(v, x);
}

static void index_expr(vctx *v, const mt_kexpr *x, const char *what)
{
    stmt_expr(v, x, what);
    if (v->st == MT_OK && x->type != MT_KT_I64)
        fail(v, "the index of a %s is %s, not i64", what, mt_ktype_name(x->type));
}

static void gemm(vctx *v, const mt_kstmt *s)
{
    const mt_kgemm *g = s->gemm;
    if (!g) {
        fail(v, "a gemm statement has no product");
        return;
    }
    if (!buf_ok(v, g->a, "gemm operand A") || !buf_ok(v, g->b, "gemm operand B") ||
        !buf_ok(v, g->c, "gemm result C"))
        return;
    touch(v, g->a, MT_KACC_READ);
    touch(v, g->b, MT_KACC_READ);
    touch(v, g->c, MT_KACC_WRITE);
    const mt_type *ta = &g->ta, *tb = &g->tb, *tc = &v->p->bufs[g->c].type;
    if (ta->rank < 2 || tb->rank < 2 || tc->rank < 2) {
        fail(v, "gemm b%d: operands and result need two axes", g->c);
        return;
    }
    mt_type rt;
    if (mt_kgemm_result_type(g, tc, &rt))
        tc = &rt;
    int64_t M = ta->dims[ta->rank - 2], K = ta->dims[ta->rank - 1], N = tb->dims[tb->rank - 1];
    if (tb->dims[tb->rank - 2] != K || tc->dims[tc->rank - 2] != M || tc->dims[tc->rank - 1] != N)
        fail(v,
             "gemm b%d: [%" PRId64 " x %" PRId64 "] @ [%" PRId64 " x %" PRId64
             "] does not make the buffer's [%" PRId64 " x %" PRId64 "]",
             g->c, M, K, tb->dims[tb->rank - 2], N, tc->dims[tc->rank - 2], tc->dims[tc->rank - 1]);
    else if (mt_type_numel(ta) != v->p->bufs[g->a].numel ||
             mt_type_numel(tb) != v->p->bufs[g->b].numel)
        fail(v, "gemm b%d: an operand's shape does not fit its buffer (b%d, b%d)", g->c, g->a,
             g->b);
    else if (ta->dtype != tc->dtype || tb->dtype != tc->dtype ||
             v->p->bufs[g->a].type.dtype != tc->dtype || v->p->bufs[g->b].type.dtype != tc->dtype)
        fail(v, "gemm b%d: operands and result differ in dtype", g->c);
    else if (g->a == g->c || g->b == g->c)
        fail(v, "gemm b%d: the result is also an operand", g->c);
    index_expr(v, s->index, "gemm statement");
}

static void block(vctx *v, const mt_kstmt *s)
{
    /* Scalars declared here go out of scope when the block ends. */
    int first_decl = -1;
    for (const mt_kstmt *t = s; t && v->st == MT_OK; t = t->next) {
        switch (t->kind) {
        case MT_KS_FOR:
            if (t->id < 0 || t->id >= v->k->nloops) {
                fail(v, "loop i%d is out of range (%d loops)", t->id, v->k->nloops);
                break;
            }
            if (v->loop_made[t->id]) {
                fail(v, "loop variable i%d has two loops", t->id);
                break;
            }
            if (t->trip < 1) {
                fail(v, "loop i%d has trip %" PRId64 ", not >= 1", t->id, t->trip);
                break;
            }
            v->loop_made[t->id] = v->loop_open[t->id] = 1;
            block(v, t->body);
            v->loop_open[t->id] = 0;
            break;
        case MT_KS_STORE:
            if (!buf_ok(v, t->id, "a store"))
                break;
            touch(v, t->id, MT_KACC_WRITE);
            if (v->p->bufs[t->id].kind == MT_KBUF_INPUT)
                fail(v, "it stores into b%d, an input", t->id);
            index_expr(v, t->index, "store");
            stmt_expr(v, t->value, "store");
            if (v->st == MT_OK && t->value->type != buf_ktype(v, t->id))
                fail(v, "a store of %s into b%d, which holds %s", mt_ktype_name(t->value->type),
                     t->id, mt_ktype_name(buf_ktype(v, t->id)));
            break;
        case MT_KS_DECL:
        case MT_KS_SET: {
            const char *what = t->kind == MT_KS_DECL ? "declaration" : "scalar update";
            if (t->id < 0 || t->id >= v->k->nscalars) {
                fail(v, "a %s names s%d, out of range (%d scalars)", what, t->id, v->k->nscalars);
                break;
            }
            stmt_expr(v, t->value, what);
            if (v->st == MT_OK && t->value->type != v->k->scalar_types[t->id])
                fail(v, "a %s gives s%d a %s, but it is %s", what, t->id,
                     mt_ktype_name(t->value->type), mt_ktype_name(v->k->scalar_types[t->id]));
            if (t->kind == MT_KS_SET && !v->scalar_live[t->id])
                fail(v, "scalar s%d is updated where no enclosing block declared it", t->id);
            if (t->kind == MT_KS_DECL) {
                if (v->scalar_live[t->id])
                    fail(v, "scalar s%d is declared twice", t->id);
                v->scalar_live[t->id] = 1;
                if (first_decl < 0)
                    first_decl = t->id;
            }
            break;
        }
        case MT_KS_GEMM: gemm(v, t); break;
        default: fail(v, "a statement of unknown kind %d", (int)t->kind); break;
        }
    }
    for (const mt_kstmt *t = s; t && first_decl >= 0; t = t->next)
        if (t->kind == MT_KS_DECL && t->id >= 0 && t->id < v->k->nscalars)
            v->scalar_live[t->id] = 0;
}

static int ascending(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* The kernel's buffer list must be what its body uses, ascending, with the same access. */
static void access_lists(vctx *v)
{
    const mt_kernel *k = v->k;
    if (v->ntouched > 1)
        qsort(v->touched, (size_t)v->ntouched, sizeof *v->touched, ascending);
    int n = 0;
    for (int i = 0; i < v->ntouched && v->st == MT_OK; i++) {
        int b = v->touched[i];
        if (n >= k->nbufs || k->bufs[n] != b)
            fail(v, "its buffer list lacks b%d, which the body uses", b);
        else if ((k->access[n] & (MT_KACC_READ | MT_KACC_WRITE)) != v->acc[b])
            fail(v, "its access to b%d is listed as %u but the body's is %u", b,
                 k->access[n] & (MT_KACC_READ | MT_KACC_WRITE), v->acc[b]);
        n++;
    }
    if (v->st == MT_OK && n != k->nbufs)
        fail(v, "its buffer list has %d entries but the body uses %d buffers", k->nbufs, n);
}

static mt_status buffers(const mt_kprog *p, mt_diag *d)
{
    for (int b = 0; b < p->nbufs; b++) {
        const mt_kbuf *u = &p->bufs[b];
        if (u->numel != mt_type_numel(&u->type))
            return mt_diag_set(d, MT_ERR_INTERNAL,
                               "kernel IR: buffer b%d has %" PRId64
                               " elements but its type %" PRId64,
                               b, u->numel, mt_type_numel(&u->type));
        if (u->kind != MT_KBUF_TEMP || u->offset < 0)
            continue;
        int64_t bytes = u->numel * (int64_t)mt_dtype_size(u->type.dtype);
        if (u->offset > p->arena_bytes || bytes > p->arena_bytes - u->offset)
            return mt_diag_set(d, MT_ERR_INTERNAL,
                               "kernel IR: buffer b%d at @%" PRId64 " (%" PRId64
                               " bytes) lies outside the arena of %" PRId64 " bytes",
                               b, u->offset, bytes, p->arena_bytes);
    }
    for (int i = 0; i < p->noutputs; i++)
        if (p->outputs[i] < 0 || p->outputs[i] >= p->nbufs)
            return mt_diag_set(d, MT_ERR_INTERNAL, "kernel IR: output %d names buffer b%d of %d", i,
                               p->outputs[i], p->nbufs);
    for (int i = 0; i < p->nupdates; i++) {
        int t = p->updates[i].target, v = p->updates[i].value;
        if (t < 0 || t >= p->nbufs || v < 0 || v >= p->nbufs)
            return mt_diag_set(d, MT_ERR_INTERNAL, "kernel IR: update %d names a missing buffer",
                               i);
        if (p->bufs[t].kind != MT_KBUF_STATE)
            return mt_diag_set(d, MT_ERR_INTERNAL, "kernel IR: update %d writes b%d, not a state",
                               i, t);
        if (v != t && p->bufs[v].kind != MT_KBUF_TEMP && p->bufs[v].kind != MT_KBUF_OUTPUT)
            return mt_diag_set(d, MT_ERR_INTERNAL,
                               "kernel IR: update %d takes its value from b%d, which no kernel "
                               "writes",
                               i, v);
        if (!mt_type_equal(&p->bufs[t].type, &p->bufs[v].type))
            return mt_diag_set(d, MT_ERR_INTERNAL,
                               "kernel IR: update %d: b%d and b%d differ in type", i, t, v);
    }
    return MT_OK;
}

mt_status mt_kprog_verify(const mt_kprog *p, mt_diag *d)
{
    mt_status st = buffers(p, d);
    if (st != MT_OK)
        return st;
    vctx *v = mt_calloc(1, sizeof *v);
    if (!v)
        return mt_diag_set(d, MT_ERR_NOMEM, "kernel IR: out of memory");
    v->p = p;
    v->d = d;
    v->acc = mt_calloc((size_t)p->nbufs + 1, sizeof *v->acc);
    for (int i = 0; i < p->nkernels && v->st == MT_OK; i++) {
        const mt_kernel *k = v->k = &p->kernels[i];
        v->loop_open = mt_calloc((size_t)k->nloops + 1, 1);
        v->loop_made = mt_calloc((size_t)k->nloops + 1, 1);
        v->scalar_live = mt_calloc((size_t)k->nscalars + 1, 1);
        if (!v->acc || !v->loop_open || !v->loop_made || !v->scalar_live)
            v->st = mt_diag_set(d, MT_ERR_NOMEM, "kernel IR: out of memory");
        else if (k->nscalars > 0 && !k->scalar_types)
            fail(v, "it has %d scalars but no scalar types", k->nscalars);
        if (v->st == MT_OK)
            block(v, k->body);
        if (v->st == MT_OK)
            access_lists(v);
        for (int j = 0; j < v->ntouched; j++)
            v->acc[v->touched[j]] = 0;
        v->ntouched = 0;
        mt_free(v->loop_open);
        mt_free(v->loop_made);
        mt_free(v->scalar_live);
    }
    st = v->st;
    mt_free(v->acc);
    mt_free(v->touched);
    mt_free(v);
    return st;
}
