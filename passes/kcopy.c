/* kcopy.c - copies of a kernel's statements with one loop variable replaced by an expression.
 *
 * Expressions are DAGs (lowering shares subexpressions), so each copy rebuilds a node once and
 * reuses it, through a table from old node to new (open addressing on the address), cleared
 * for every copy. The table grows with the body; nothing here limits a body's size, which is
 * the callers' business (they count nodes with mt_kcopy_nodes first). mt_kcopy_each_kernel is
 * the driver both loop passes share: one copier for the program, and each copied kernel's
 * buffer list collected again afterwards.
 */
#include "passes/kcopy.h"

#include <stdint.h>
#include <string.h>

#include "ir/alloc.h"

struct mt_kcopy {
    mt_kprog *p;
    mt_kernel *k;
    int oom;
    int var;
    mt_kexpr *value;
    int *loop_map; /* per loop variable of k: its fresh copy in this copy, or -1 */
    int64_t *loop_trip;
    int nmap;
    const mt_kexpr **from;
    mt_kexpr **to;
    size_t cap, used;
};

static mt_kcopy *kcopy_new(mt_kprog *p)
{
    mt_kcopy *c = mt_calloc(1, sizeof *c);
    if (c)
        c->p = p;
    return c;
}

static void kcopy_free(mt_kcopy *c)
{
    if (!c)
        return;
    mt_free(c->loop_map);
    mt_free(c->loop_trip);
    mt_free(c->from);
    mt_free(c->to);
    mt_free(c);
}

int mt_kcopy_failed(const mt_kcopy *c) { return c->oom; }

static size_t expr_nodes(const mt_kexpr *e, size_t n, size_t cap)
{
    if (++n > cap)
        return n;
    for (int i = 0; i < e->nargs && n <= cap; i++)
        n = expr_nodes(e->args[i], n, cap);
    return n;
}

size_t mt_kcopy_nodes(const mt_kstmt *b, size_t cap)
{
    size_t n = 0;
    for (const mt_kstmt *s = b; s && n <= cap; s = s->next) {
        if (s->kind == MT_KS_FOR)
            n += mt_kcopy_nodes(s->body, cap - n);
        if (s->index)
            n = expr_nodes(s->index, n, cap);
        if (s->value && n <= cap)
            n = expr_nodes(s->value, n, cap);
    }
    return n;
}

static size_t slot(const mt_kcopy *c, const mt_kexpr *e)
{
    size_t h = (size_t)(((uintptr_t)e >> 4) * UINT64_C(0x9E3779B97F4A7C15));
    size_t i = h & (c->cap - 1);
    while (c->from[i] && c->from[i] != e)
        i = (i + 1) & (c->cap - 1);
    return i;
}

/* Room for one more entry at a load of at most one half. */
static int reserve(mt_kcopy *c)
{
    if (2 * (c->used + 1) <= c->cap)
        return 1;
    size_t cap = c->cap ? 2 * c->cap : 1024;
    const mt_kexpr **from = mt_calloc(cap, sizeof *from);
    mt_kexpr **to = mt_calloc(cap, sizeof *to);
    if (!from || !to) {
        mt_free(from);
        mt_free(to);
        return 0;
    }
    const mt_kexpr **of = c->from;
    mt_kexpr **ot = c->to;
    size_t ocap = c->cap;
    c->from = from;
    c->to = to;
    c->cap = cap;
    for (size_t i = 0; i < ocap; i++)
        if (of[i]) {
            size_t j = slot(c, of[i]);
            c->from[j] = of[i];
            c->to[j] = ot[i];
        }
    mt_free(of);
    mt_free(ot);
    return 1;
}

static mt_kexpr *rebuild(mt_kcopy *c, const mt_kexpr *e);

static mt_kexpr *rebuild_new(mt_kcopy *c, const mt_kexpr *e)
{
    mt_kprog *p = c->p;
    mt_kexpr *a[3] = {NULL, NULL, NULL};
    for (int i = 0; i < e->nargs; i++)
        if (!(a[i] = rebuild(c, e->args[i])))
            return NULL;
    switch (e->op) {
    case MT_KX_CONST:
    case MT_KX_SCALAR: return (mt_kexpr *)e;
    case MT_KX_VAR:
        if (e->id == c->var)
            return c->value;
        if (e->id < c->nmap && c->loop_map[e->id] >= 0)
            return mt_kx_var(p, c->loop_map[e->id], c->loop_trip[e->id]);
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

static mt_kexpr *rebuild(mt_kcopy *c, const mt_kexpr *e)
{
    if (c->oom)
        return NULL;
    size_t i = slot(c, e);
    if (c->from[i])
        return c->to[i];
    mt_kexpr *r = rebuild_new(c, e);
    if (!r || !reserve(c)) {
        c->oom = 1;
        return NULL;
    }
    i = slot(c, e); /* the recursion and reserve moved other entries */
    c->from[i] = e;
    c->to[i] = r;
    c->used++;
    return r;
}

static mt_kstmt *copy(mt_kcopy *c, const mt_kstmt *b)
{
    mt_kblock out = {NULL, NULL};
    for (const mt_kstmt *s = b; s && !c->oom; s = s->next) {
        mt_kstmt *n = NULL;
        switch (s->kind) {
        case MT_KS_FOR: {
            int id = c->k->nloops++;
            c->loop_map[s->id] = id;
            c->loop_trip[s->id] = s->trip;
            n = mt_ks_for(c->p, id, s->trip, s->flags);
            if (n)
                n->body = copy(c, s->body);
            break;
        }
        case MT_KS_STORE:
            n = mt_ks_store(c->p, s->id, rebuild(c, s->index), rebuild(c, s->value));
            break;
        case MT_KS_DECL: n = mt_ks_decl(c->p, s->id, rebuild(c, s->value)); break;
        case MT_KS_SET: n = mt_ks_set(c->p, s->id, rebuild(c, s->value)); break;
        case MT_KS_GEMM: n = mt_ks_gemm(c->p, s->gemm, rebuild(c, s->index)); break;
        }
        if (!n) {
            c->oom = 1;
            break;
        }
        mt_kblock_append(&out, n);
    }
    return out.first;
}

mt_kstmt *mt_kcopy_block(mt_kcopy *c, mt_kernel *k, const mt_kstmt *b, int var, mt_kexpr *value)
{
    if (c->oom || !value) {
        c->oom = 1;
        return NULL;
    }
    /* Every loop variable of k, old or made by this copy, has an entry. */
    if (k->nloops > c->nmap || c->k != k) {
        int n = k->nloops;
        int *map = mt_realloc(c->loop_map, (size_t)n * sizeof *map);
        if (map)
            c->loop_map = map;
        int64_t *trip = mt_realloc(c->loop_trip, (size_t)n * sizeof *trip);
        if (trip)
            c->loop_trip = trip;
        if (!map || !trip) {
            c->oom = 1;
            return NULL;
        }
        c->nmap = n;
    }
    c->k = k;
    for (int i = 0; i < c->nmap; i++)
        c->loop_map[i] = -1;
    if (c->from)
        memset(c->from, 0, c->cap * sizeof *c->from);
    c->used = 0;
    if (!reserve(c)) {
        c->oom = 1;
        return NULL;
    }
    c->var = var;
    c->value = value;
    return copy(c, b);
}

mt_status mt_kcopy_each_kernel(mt_kprog *p, mt_kcopy_rewrite rewrite, void *ctx, const char *pass,
                               mt_diag *d)
{
    mt_kcopy *c = kcopy_new(p);
    int oom = !c;
    for (int k = 0; k < p->nkernels && !oom; k++) {
        mt_kernel *kern = &p->kernels[k];
        int loops = kern->nloops;
        rewrite(c, p, kern, ctx);
        /* Copies add loops: only a kernel that gained some may have lost a buffer. */
        oom = c->oom || (kern->nloops != loops && !mt_kernel_collect_bufs(p, kern));
    }
    kcopy_free(c);
    if (oom)
        return mt_diag_set(d, MT_ERR_NOMEM, "%s: out of memory", pass);
    return MT_OK;
}
