/* kernel_bufs.c - the buffer list of a kernel (mt_kernel.bufs, .access), collected from the
 * loads, stores and products of its body.
 */
#include <stdlib.h>

#include "ir/alloc.h"
#include "ir/kernel.h"

/* The buffers a kernel touches, as (buffer, access) entries in the order the walk meets
 * them: a kernel touches few of a program's buffers, so this list, sorted, costs what the
 * kernel costs, where a mark per buffer of the program cost every kernel the whole program
 * (quadratic in a chain's gradient, docs/scaling.md). */
typedef struct touch {
    int buf;
    unsigned acc;
} touch;

typedef struct touches {
    touch *v;
    int n, cap, oom;
} touches;

static void touch_buf(touches *t, int b, unsigned acc)
{
    /* Loads of one buffer come in runs (a + a * a); one entry per run. */
    if (t->n > 0 && t->v[t->n - 1].buf == b) {
        t->v[t->n - 1].acc |= acc;
        return;
    }
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 16;
        touch *v = t->oom ? NULL : mt_realloc(t->v, (size_t)cap * sizeof *v);
        if (!v) {
            t->oom = 1;
            return;
        }
        t->v = v;
        t->cap = cap;
    }
    t->v[t->n++] = (touch){b, acc};
}

static void mark_expr(const mt_kexpr *e, touches *t)
{
    for (int i = 0; i < e->nargs; i++)
        mark_expr(e->args[i], t);
    if (e->op == MT_KX_LOAD)
        touch_buf(t, e->id, MT_KACC_READ);
}

static void mark_block(const mt_kstmt *s, touches *t)
{
    for (; s; s = s->next) {
        if (s->kind == MT_KS_FOR)
            mark_block(s->body, t);
        if (s->index)
            mark_expr(s->index, t);
        if (s->value)
            mark_expr(s->value, t);
        if (s->kind == MT_KS_STORE)
            touch_buf(t, s->id, MT_KACC_WRITE);
        if (s->kind == MT_KS_GEMM) {
            touch_buf(t, s->gemm->a, MT_KACC_READ);
            touch_buf(t, s->gemm->b, MT_KACC_READ);
            touch_buf(t, s->gemm->c, MT_KACC_WRITE);
        }
    }
}

static int by_buf(const void *a, const void *b)
{
    int x = ((const touch *)a)->buf, y = ((const touch *)b)->buf;
    return (x > y) - (x < y);
}

int mt_kernel_collect_bufs(mt_kprog *p, mt_kernel *k)
{
    touches t = {0};
    mark_block(k->body, &t);
    if (t.oom) {
        mt_free(t.v);
        return 0;
    }
    if (t.n > 1)
        qsort(t.v, (size_t)t.n, sizeof *t.v, by_buf);
    int n = 0; /* merge the entries of each buffer */
    for (int i = 0; i < t.n; i++) {
        if (n > 0 && t.v[n - 1].buf == t.v[i].buf)
            t.v[n - 1].acc |= t.v[i].acc;
        else
            t.v[n++] = t.v[i];
    }
    k->nbufs = n;
    k->bufs = mt_arena_alloc(&p->arena, (size_t)(n + 1) * sizeof *k->bufs);
    k->access = mt_arena_alloc(&p->arena, (size_t)(n + 1) * sizeof *k->access);
    if (!k->bufs || !k->access) {
        mt_free(t.v);
        return 0;
    }
    for (int i = 0; i < n; i++) {
        k->bufs[i] = t.v[i].buf;
        k->access[i] = t.v[i].acc;
    }
    mt_free(t.v);
    return 1;
}

unsigned mt_kernel_access(const mt_kernel *k, int buf)
{
    for (int i = 0; i < k->nbufs; i++)
        if (k->bufs[i] == buf)
            return k->access[i];
    return 0;
}
