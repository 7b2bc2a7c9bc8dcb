/* exec.c - binding buffers and running kernels in order, parallel ones across the pool. */
#include "runtime/exec.h"

#include <string.h>
#include <time.h>

#include "ir/alloc.h"
#include "ir/type.h"
#include "runtime/collective.h"

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

mt_status mt_exec_init(mt_exec *e, const mt_kprog *p, mt_diag *d)
{
    e->p = p;
    e->kernel_ns = NULL;
    e->bufs = mt_calloc((size_t)p->nbufs + 1, sizeof *e->bufs);
    e->arena = mt_malloc((size_t)p->arena_bytes + 64);
    if (!e->bufs || !e->arena) {
        mt_exec_fini(e);
        return mt_diag_set(d, MT_ERR_NOMEM, "cpu: out of memory for the arena of %lld bytes",
                           (long long)p->arena_bytes);
    }
    uintptr_t base = ((uintptr_t)e->arena + 63) & ~(uintptr_t)63;
    for (int b = 0; b < p->nbufs; b++)
        if (p->bufs[b].kind == MT_KBUF_TEMP)
            e->bufs[b] = (unsigned char *)base + p->bufs[b].offset;
    return MT_OK;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

void mt_exec_fini(mt_exec *e)
{
    mt_free(e->bufs);
    mt_free(e->arena);
    e->bufs = NULL;
    e->arena = NULL;
}

mt_status mt_exec_run(mt_exec *e, mt_kernel_fn const *fns, mt_pool *pool, const void *const *leaves,
                      int nleaves, void *const *outputs, mt_diag *d)
{
    const mt_kprog *p = e->p;
    for (int b = 0; b < p->nbufs; b++) {
        const mt_kbuf *u = &p->bufs[b];
        if (u->kind != MT_KBUF_INPUT && u->kind != MT_KBUF_STATE)
            continue;
        const void *data = leaves && u->node < nleaves ? leaves[u->node] : NULL;
        if (!data)
            return mt_diag_set(d, MT_ERR_ARG, "cpu: no data for %%%s", u->name);
        /* Kernels only load from input buffers; a STATE buffer is the caller's writable
         * storage of a param or state, which its update overwrites. */
        e->bufs[b] = (void *)data;
    }
    /* The first output naming a buffer is where the kernels write it. */
    for (int i = p->noutputs - 1; i >= 0; i--)
        e->bufs[p->outputs[i]] = outputs[i];
    for (int k = 0; k < p->nkernels; k++) {
        const mt_kernel *kern = &p->kernels[k];
        double t0 = e->kernel_ns ? now_ns() : 0;
        run_kernel(&p->exec, kern, fns[k], pool, e->bufs);
        if (kern->allreduce) { /* the local value is in the buffer: the ranks exchange it */
            const mt_kbuf *u = &p->bufs[kern->allreduce_buf];
            mt_status st = mt_collective_allreduce(e->bufs[kern->allreduce_buf], (size_t)u->numel,
                                                   u->type.dtype, kern->allreduce_op, d);
            if (st != MT_OK)
                return st;
        }
        if (e->kernel_ns)
            e->kernel_ns[k] += now_ns() - t0;
    }
    /* Every kernel has read the old values: the updates not stored in place land now. */
    for (int i = 0; i < p->nupdates; i++) {
        const mt_kupdate *u = &p->updates[i];
        const mt_kbuf *t = &p->bufs[u->target];
        if (u->value != u->target)
            memcpy(e->bufs[u->target], e->bufs[u->value],
                   (size_t)t->numel * mt_dtype_size(t->type.dtype));
    }
    /* An output the program computes as another one's buffer gets a copy. */
    for (int i = 0; i < p->noutputs; i++) {
        const mt_kbuf *u = &p->bufs[p->outputs[i]];
        if (outputs[i] != e->bufs[p->outputs[i]])
            memcpy(outputs[i], e->bufs[p->outputs[i]],
                   (size_t)u->numel * mt_dtype_size(u->type.dtype));
    }
    return MT_OK;
}
