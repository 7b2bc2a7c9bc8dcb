/* memplan.c - liveness intervals of temporaries -> offsets in one arena.
 *
 * Requires: a lowered program (kernels in execution order). Guarantees: two temporaries that
 * are live during the same kernel never overlap, except that a kernel may write its result
 * over an operand it reads for the last time when it reads that operand only at the very
 * index it writes (an elementwise kernel); its loads are then rewritten to read the result's
 * buffer, so no kernel ever sees two buffers sharing memory.
 *
 * Updates of step graphs: where the new value of a param or state can be stored over the old
 * one (updates_in_place), it is; any other new value is a temporary live to the end of the run,
 * which the executor copies into its param or state then.
 *
 * A temporary is live from the kernel that writes it to the last kernel that reads it.
 * Buffers are placed in the order they are written, each at the lowest offset where it fits
 * between the buffers still live (first fit), so memory freed by dead values is reused.
 */
#include "passes/memplan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ir/alloc.h"
#include "passes/firstfit.h"

typedef struct block {
    int64_t offset, size;
    int buf;
} block;

static int64_t buf_bytes(const mt_kbuf *b)
{
    int64_t n = b->numel * (int64_t)mt_dtype_size(b->type.dtype);
    return (n + MT_ARENA_ALIGN - 1) / MT_ARENA_ALIGN * MT_ARENA_ALIGN;
}

/* ---- in place -------------------------------------------------------------------------- */

/* Does every load of buffer x in e use index `at`? */
static int loads_only_at(const mt_kexpr *e, int x, const mt_kexpr *at)
{
    if (e->op == MT_KX_LOAD && e->id == x && !mt_kx_equal(e->args[0], at))
        return 0;
    for (int i = 0; i < e->nargs; i++)
        if (!loads_only_at(e->args[i], x, at))
            return 0;
    return 1;
}

static int block_loads_only_at(const mt_kstmt *s, int x, const mt_kexpr *at)
{
    for (; s; s = s->next) {
        if (s->kind == MT_KS_FOR && !block_loads_only_at(s->body, x, at))
            return 0;
        if (s->index && !loads_only_at(s->index, x, at))
            return 0;
        if (s->value && !loads_only_at(s->value, x, at))
            return 0;
    }
    return 1;
}

/* Counts the stores of a block and remembers the last one. */
static void find_stores(const mt_kstmt *s, int *count, const mt_kstmt **found)
{
    for (; s; s = s->next) {
        if (s->kind == MT_KS_FOR)
            find_stores(s->body, count, found);
        else if (s->kind == MT_KS_STORE) {
            ++*count;
            *found = s;
        } else if (s->kind == MT_KS_GEMM) {
            /* A product writes rows of its buffer before the epilogue reads the operands at
             * their index: never in place. */
            *count += 2;
        }
    }
}

static void rewrite_loads(mt_kexpr *e, int from, int to)
{
    if (e->op == MT_KX_LOAD && e->id == from)
        e->id = to;
    for (int i = 0; i < e->nargs; i++)
        rewrite_loads(e->args[i], from, to);
}

static void block_rewrite_loads(mt_kstmt *s, int from, int to)
{
    for (; s; s = s->next) {
        if (s->kind == MT_KS_FOR)
            block_rewrite_loads(s->body, from, to);
        if (s->index)
            rewrite_loads(s->index, from, to);
        if (s->value)
            rewrite_loads(s->value, from, to);
    }
}

/* A temporary that kernel k (writing `out`) may overwrite: same size, read last by k, and
 * read by k only at the index k writes. -1 when there is none. */
static int inplace_candidate(const mt_kprog *p, int k, int out, const int *last)
{
    const mt_kernel *kern = &p->kernels[k];
    int count = 0;
    const mt_kstmt *st = NULL;
    find_stores(kern->body, &count, &st);
    if (count != 1 || st->id != out)
        return -1;
    for (int i = 0; i < kern->nbufs; i++) {
        int x = kern->bufs[i];
        const mt_kbuf *b = &p->bufs[x];
        if (x == out || b->kind != MT_KBUF_TEMP || last[x] != k || b->offset < 0 ||
            buf_bytes(b) != buf_bytes(&p->bufs[out]) || b->type.dtype != p->bufs[out].type.dtype)
            continue;
        if (block_loads_only_at(kern->body, x, st->index))
            return x;
    }
    return -1;
}

/* ---- placement ------------------------------------------------------------------------- */

static int by_offset(const void *x, const void *y)
{
    const block *a = x, *b = y;
    return (a->offset > b->offset) - (a->offset < b->offset);
}

/* Marks each buffer of each kernel that no other buffer of the kernel overlaps. Inputs,
 * outputs and the arena are separate allocations (two inputs may be the same tensor, which
 * matters only if one were written: never), so only temporaries can overlap: sorted by offset,
 * a temporary overlaps another when one before it ends past its start or the next starts
 * before its end. Buffers of no bytes overlap nothing. Returns 0 when out of memory. */
static int mark_noalias(mt_kprog *p)
{
    int most = 0;
    for (int k = 0; k < p->nkernels; k++)
        most = p->kernels[k].nbufs > most ? p->kernels[k].nbufs : most;
    block *t = mt_calloc((size_t)most + 1, sizeof *t);
    if (!t)
        return 0;
    for (int k = 0; k < p->nkernels; k++) {
        mt_kernel *kern = &p->kernels[k];
        int n = 0;
        for (int i = 0; i < kern->nbufs; i++) {
            const mt_kbuf *b = &p->bufs[kern->bufs[i]];
            kern->access[i] |= MT_KACC_NOALIAS;
            if (b->kind == MT_KBUF_TEMP && buf_bytes(b) > 0)
                t[n++] = (block){b->offset, buf_bytes(b), i};
        }
        if (n > 1)
            qsort(t, (size_t)n, sizeof *t, by_offset);
        int64_t reach = INT64_MIN; /* the furthest end of the blocks before */
        for (int j = 0; j < n; j++) {
            int64_t end = t[j].offset + t[j].size;
            if (reach > t[j].offset || (j + 1 < n && t[j + 1].offset < end))
                kern->access[t[j].buf] &= ~MT_KACC_NOALIAS;
            reach = end > reach ? end : reach;
        }
    }
    mt_free(t);
    return 1;
}

/* ---- updates of step graphs ------------------------------------------------------------ */

static void block_rewrite_stores(mt_kstmt *s, int from, int to)
{
    for (; s; s = s->next) {
        if (s->kind == MT_KS_FOR)
            block_rewrite_stores(s->body, from, to);
        else if (s->kind == MT_KS_STORE && s->id == from)
            s->id = to;
    }
}

/* Is b in the kernel's buffer list (ascending)? */
static int touches(const mt_kernel *k, int b)
{
    int lo = 0, hi = k->nbufs;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (k->bufs[mid] < b)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < k->nbufs && k->bufs[lo] == b;
}

/* first/last kernel touching each buffer (first: the first that writes it); -1 when none. */
static void liveness(const mt_kprog *p, int *first, int *last)
{
    for (int b = 0; b < p->nbufs; b++)
        first[b] = last[b] = -1;
    for (int k = 0; k < p->nkernels; k++) {
        const mt_kernel *kern = &p->kernels[k];
        for (int i = 0; i < kern->nbufs; i++) {
            int b = kern->bufs[i];
            if ((kern->access[i] & MT_KACC_WRITE) && first[b] < 0)
                first[b] = k;
            last[b] = k;
        }
    }
}

/* An update whose new value (a temporary) is stored by a kernel k that stores nothing else,
 * where no kernel after k reads the old value and k reads it only at the index it writes
 * (w.next = w - lr * g), is stored straight into the param or state: the temporary and the
 * copy after the run disappear. Later readers of the new value read the state's buffer, which
 * holds it from k on. Returns 0 when out of memory. */
static int updates_in_place(mt_kprog *p, const int *first, const int *last)
{
    for (int i = 0; i < p->nupdates; i++) {
        mt_kupdate *u = &p->updates[i];
        int t = u->target, v = u->value, k = first[v];
        if (v == t || p->bufs[v].kind != MT_KBUF_TEMP || k < 0 || last[t] > k)
            continue;
        mt_kernel *kern = &p->kernels[k];
        int count = 0;
        const mt_kstmt *st = NULL;
        find_stores(kern->body, &count, &st);
        if (count != 1 || st->id != v || !block_loads_only_at(kern->body, t, st->index))
            continue;
        block_rewrite_stores(kern->body, v, t);
        /* Only the kernels that touch v change: k and its readers, none after last[v]. */
        for (int j = k; j <= last[v] && j < p->nkernels; j++) {
            if (j != k && !touches(&p->kernels[j], v))
                continue;
            block_rewrite_loads(p->kernels[j].body, v, t);
            if (!mt_kernel_collect_bufs(p, &p->kernels[j]))
                return 0;
        }
        u->value = t;
        p->update_inplace_bytes += buf_bytes(&p->bufs[t]);
    }
    return 1;
}

/* The temporaries of p by kernel key[b] (first or last kernel), ascending in each: those of
 * kernel k are list[at[k] .. at[k + 1]]. `at` has nkernels + 2 zeroed entries. */
static void by_kernel(const mt_kprog *p, const int *key, int *list, int *at)
{
    int nk = p->nkernels;
    for (int b = 0; b < p->nbufs; b++)
        if (p->bufs[b].kind == MT_KBUF_TEMP && key[b] >= 0 && key[b] < nk)
            at[key[b] + 1]++;
    for (int k = 0; k < nk; k++)
        at[k + 1] += at[k];
    for (int b = 0; b < p->nbufs; b++)
        if (p->bufs[b].kind == MT_KBUF_TEMP && key[b] >= 0 && key[b] < nk)
            list[at[key[b]]++] = b;
    for (int k = nk; k > 0; k--) /* the fill moved each start to the next kernel's */
        at[k] = at[k - 1];
    at[0] = 0;
}

mt_status mt_memplan(mt_kprog *p, mt_diag *d)
{
    int nb = p->nbufs, nk = p->nkernels;
    int *first = mt_calloc((size_t)nb + 1, sizeof *first);
    int *last = mt_calloc((size_t)nb + 1, sizeof *last);
    /* The temporaries each kernel writes first, and those it reads last, so placing and
     * freeing them costs each kernel what it touches (docs/scaling.md). */
    int *born = mt_calloc((size_t)nb + 1, sizeof *born);
    int *born_at = mt_calloc((size_t)nk + 2, sizeof *born_at);
    int *dies = mt_calloc((size_t)nb + 1, sizeof *dies);
    int *dies_at = mt_calloc((size_t)nk + 2, sizeof *dies_at);
    char *holds = mt_calloc((size_t)nb + 1, 1); /* owns a block of the arena */
    mt_firstfit *fit = mt_firstfit_new(nb);
    mt_status st = MT_OK;
    if (!first || !last || !born || !born_at || !dies || !dies_at || !holds || !fit)
        st = mt_diag_set(d, MT_ERR_NOMEM, "memplan: out of memory");
    for (int b = 0; b < nb && st == MT_OK; b++)
        p->bufs[b].offset = -1;
    p->update_inplace_bytes = 0;
    if (st == MT_OK) {
        liveness(p, first, last);
        if (!updates_in_place(p, first, last))
            st = mt_diag_set(d, MT_ERR_NOMEM, "memplan: out of memory");
        liveness(p, first, last);
        /* The new value of an update is copied after the last kernel: keep it to the end. */
        for (int i = 0; i < p->nupdates; i++)
            if (p->updates[i].value != p->updates[i].target)
                last[p->updates[i].value] = nk;
        by_kernel(p, first, born, born_at);
        by_kernel(p, last, dies, dies_at);
    }
    p->arena_bytes = p->temp_bytes = 0;
    p->ninplace = 0;
    for (int k = 0; k < nk && st == MT_OK; k++) {
        for (int j = born_at[k]; j < born_at[k + 1] && st == MT_OK; j++) {
            int b = born[j];
            mt_kbuf *u = &p->bufs[b];
            int64_t size = buf_bytes(u);
            p->temp_bytes += size;
            int x = inplace_candidate(p, k, b, last);
            if (x >= 0) {
                holds[b] = holds[x];
                holds[x] = 0;
                u->offset = p->bufs[x].offset;
                block_rewrite_loads(p->kernels[k].body, x, b);
                if (!mt_kernel_collect_bufs(p, &p->kernels[k]))
                    st = mt_diag_set(d, MT_ERR_NOMEM, "memplan: out of memory");
                p->ninplace++;
                continue;
            }
            /* A buffer of no bytes sits at 0 and takes nothing. */
            u->offset = size > 0 ? mt_firstfit_take(fit, size) : 0;
            holds[b] = size > 0;
            if (u->offset + size > p->arena_bytes)
                p->arena_bytes = u->offset + size;
        }
        /* Free what no kernel after k reads. */
        for (int j = dies_at[k]; j < dies_at[k + 1]; j++)
            if (holds[dies[j]]) {
                holds[dies[j]] = 0;
                mt_firstfit_give(fit, p->bufs[dies[j]].offset, buf_bytes(&p->bufs[dies[j]]));
            }
    }
    mt_free(first);
    mt_free(last);
    mt_free(born);
    mt_free(born_at);
    mt_free(dies);
    mt_free(dies_at);
    mt_free(holds);
    mt_firstfit_free(fit);
    if (st == MT_OK && !mark_noalias(p))
        st = mt_diag_set(d, MT_ERR_NOMEM, "memplan: out of memory");
    return st;
}
