/* exec.c - binding buffers and running kernels in order, parallel ones across the pool. */
#include "runtime/exec.h"

#include <string.h>

#include "ir/alloc.h"
#include "ir/type.h"

typedef struct split {
    mt_kernel_fn fn;
    void *const *bufs;
    int64_t trip, ntasks;
    int64_t quantum; /* matmul rows: shares start at multiples of this */
} split;

/* Task t of ntasks runs the t-th contiguous share of the outer loop. */
static void run_share(void *ctx, int64_t t)
{
    const split *s = ctx;
    int64_t begin = s->trip * t / s->ntasks, end = s->trip * (t + 1) / s->ntasks;
    if (begin < end)
        s->fn(s->bufs, begin, end);
}

/* Where share t of n of a matmul's rows starts: the even split rounded to the nearest multiple
 * of q (mt_kexec.gemm_rows). */
static int64_t rows_start(int64_t rows, int64_t t, int64_t n, int64_t q)
{
    if (t >= n)
        return rows;
    int64_t at = (rows * t / n + q / 2) / q * q;
    return at < rows ? at : rows;
}

static void run_rows(void *ctx, int64_t t)
{
    const split *s = ctx;
    int64_t begin = rows_start(s->trip, t, s->ntasks, s->quantum),
            end = rows_start(s->trip, t + 1, s->ntasks, s->quantum);
    if (begin < end)
        s->fn(s->bufs, begin, end);
}

/* A matmul kernel: one share of rows per thread, since each share packs all of B. Results do
 * not depend on the split: every row of the product is summed in the same order wherever it
 * is computed. */
static void run_gemm(const mt_kexec *x, const mt_kernel *k, const mt_kgemm *g, mt_kernel_fn fn,
                     mt_pool *pool, void *const *bufs)
{
    int64_t rows = k->body->trip, threads = pool ? mt_pool_size(pool) : 1;
    int64_t q = x->gemm_rows > 0 ? x->gemm_rows : 1;
    int64_t blocks = (rows + q - 1) / q;
    int64_t macs = mt_kgemm_row_macs(g);
    if (!x->parallel || threads == 1 || blocks == 1 || rows <= x->min_gemm_macs / macs) {
        fn(bufs, 0, rows);
        return;
    }
    split s = {fn, bufs, rows, threads < blocks ? threads : blocks, q};
    mt_pool_run(pool, run_rows, &s, s.ntasks);
}

static void run_kernel(const mt_kexec *x, const mt_kernel *k, mt_kernel_fn fn, mt_pool *pool,
                       void *const *bufs)
{
    int threads = pool ? mt_pool_size(pool) : 1;
    const mt_kgemm *g = mt_kernel_gemm(k);
    if (g) {
        run_gemm(x, k, g, fn, pool, bufs);
        return;
    }
    if (!mt_kernel_is_parallel(k) || !x->parallel || threads == 1 ||
        k->work < x->min_parallel_work) {
        fn(bufs, 0, mt_kernel_is_parallel(k) ? k->body->trip : 1);
        return;
    }
    /* A few shares per thread even out uneven progress; results do not depend on it. */
    split s = {fn, bufs, k->body->trip, 4 * (int64_t)threads, 1};
    if (s.ntasks > s.trip)
        s.ntasks = s.trip;
    mt_pool_run(pool, run_share, &s, s.ntasks);
}

static mt_status bind_inputs(const mt_kprog *p, const mt_tensor *const *leaves, int nleaves,
                             void **bufs, mt_diag *d)
{
    for (int b = 0; b < p->nbufs; b++) {
        const mt_kbuf *u = &p->bufs[b];
        if (u->kind != MT_KBUF_INPUT)
            continue;
        const mt_tensor *t = leaves && u->node < nleaves ? leaves[u->node] : NULL;
        if (!t)
            return mt_diag_set(d, MT_ERR_ARG, "cpu: no tensor for %%%s", u->name);
        if (!mt_type_equal(&t->type, &u->type)) {
            char a[MT_TYPE_STR_MAX], c[MT_TYPE_STR_MAX];
            return mt_diag_set(d, MT_ERR_ARG, "cpu: tensor for %%%s is %s but it is declared %s",
                               u->name, mt_type_str(&t->type, a, sizeof a),
                               mt_type_str(&u->type, c, sizeof c));
        }
        bufs[b] = t->data;
    }
    return MT_OK;
}

mt_status mt_exec_run(const mt_kprog *p, mt_kernel_fn const *fns, mt_pool *pool,
                      const mt_tensor *const *leaves, int nleaves, mt_tensor **outputs, mt_diag *d)
{
    for (int i = 0; i < p->noutputs; i++)
        outputs[i] = NULL;
    void **bufs = mt_calloc((size_t)p->nbufs + 1, sizeof *bufs);
    unsigned char *arena = mt_malloc((size_t)p->arena_bytes + 64);
    mt_status st = MT_OK;
    if (!bufs || !arena)
        st = mt_diag_set(d, MT_ERR_NOMEM, "cpu: out of memory for the arena of %lld bytes",
                         (long long)p->arena_bytes);
    if (st == MT_OK)
        st = bind_inputs(p, leaves, nleaves, bufs, d);
    /* Outputs: the first slot naming a buffer gets a fresh tensor; the kernels write into it. */
    for (int i = 0; i < p->noutputs && st == MT_OK; i++) {
        const mt_kbuf *u = &p->bufs[p->outputs[i]];
        if (bufs[p->outputs[i]])
            continue;
        outputs[i] = mt_tensor_new(u->type);
        if (!outputs[i])
            st = mt_diag_set(d, MT_ERR_NOMEM, "cpu: out of memory for output %%%s", u->name);
        else
            bufs[p->outputs[i]] = outputs[i]->data;
    }
    if (st == MT_OK) {
        uintptr_t base = ((uintptr_t)arena + 63) & ~(uintptr_t)63;
        for (int b = 0; b < p->nbufs; b++)
            if (p->bufs[b].kind == MT_KBUF_TEMP)
                bufs[b] = (unsigned char *)base + p->bufs[b].offset;
        for (int k = 0; k < p->nkernels; k++)
            run_kernel(&p->exec, &p->kernels[k], fns[k], pool, bufs);
    }
    /* An output listed twice gets its own copy the second time. */
    for (int i = 0; i < p->noutputs && st == MT_OK; i++) {
        if (outputs[i])
            continue;
        int first = 0;
        while (p->outputs[first] != p->outputs[i])
            first++;
        outputs[i] = mt_tensor_clone(outputs[first]);
        if (!outputs[i])
            st = mt_diag_set(d, MT_ERR_NOMEM, "cpu: out of memory copying output %%%s",
                             p->bufs[p->outputs[i]].name);
    }
    if (st != MT_OK)
        for (int i = 0; i < p->noutputs; i++) {
            mt_tensor_free(outputs[i]);
            outputs[i] = NULL;
        }
    mt_free(bufs);
    mt_free(arena);
    return st;
}
