/* elementwise.c - a fused elementwise chain over 64 MB against memcpy's bandwidth.
 *
 *   y = relu(x * a + b) * c - d      x, y: f32[16777216] (64 MB each); a b c d: f32 scalars
 *
 * mtc compiles the chain into one kernel (checked with the fused stage) and runs it through the
 * program API (mtc.h) on every thread (MTC_NUM_THREADS, default every core). It reads 64 MB and
 * writes 64 MB, the same traffic as a memcpy of 64 MB, which is timed single-threaded and split
 * over the same number of threads (runtime/pool.c) for a fair comparison. Every time is the best of
 * several repetitions; bandwidth is (bytes read + bytes written) / time. Both sides write with
 * non-temporal stores: glibc's memcpy does for copies this large, and so does a kernel that
 * writes 24 MiB or more (docs/cpu-backend.md, "Streaming stores"); neither pays for reading
 * the destination's cache lines before overwriting them.
 *
 * The output is bound to a caller buffer (mt_program_bind_output) that every run overwrites,
 * as memcpy's destination is reused: a run allocates nothing and touches no fresh pages, so
 * the row measures the kernel and the run's own work.
 *
 *   usage: bench_elementwise [reps]   (default 10)
 *   output: `elementwise NAME MS ms GBPS GB/s` rows, then `elementwise ratio R` (mtc against
 *   the faster memcpy).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codegen/cpu.h"
#include "ir/alloc.h"
#include "ir/graph.h"
#include "mtc/mtc.h"
#include "passes/pass.h"
#include "runtime/pool.h"

#define N (16 * 1024 * 1024)
#define BYTES ((double)N * sizeof(float))

static const float A = 1.5f, B = -0.25f, C = 0.75f, D = 0.125f;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static mt_graph *chain(void)
{
    mt_graph *g = mt_graph_new("chain");
    mt_type scalar = mt_type_make(MT_DTYPE_F32, 0, NULL);
    int x = mt_input(g, "x", mt_type_make(MT_DTYPE_F32, 1, (int64_t[]){N}));
    int a = mt_param(g, "a", scalar), b = mt_param(g, "b", scalar);
    int c = mt_param(g, "c", scalar), d = mt_param(g, "d", scalar);
    int y = mt_sub(g, mt_mul(g, mt_relu(g, mt_add(g, mt_mul(g, x, a), b)), c), d);
    mt_name(g, y, "y");
    mt_set_outputs(g, &y, 1);
    return g;
}

/* The number of kernels mt_cpu_compile makes of g (the fused stage of the optimized graph). */
static int kernels_of(const mt_graph *g)
{
    int n, kernels = -1;
    const mt_pass *const *passes = mt_passes_default(&n);
    mt_graph *opt = NULL;
    mt_diag d;
    mt_diag_init(&d);
    if (mt_pipeline_run(g, passes, n, NULL, NULL, &opt, &d) == MT_OK) {
        char *text = mt_cpu_dump_fused(opt, 0, &d);
        kernels = 0;
        for (const char *s = text; s && (s = strstr(s, "kernel k")) != NULL; s++)
            kernels++;
        mt_free(text);
    }
    mt_graph_free(opt);
    mt_diag_fini(&d);
    return kernels;
}

typedef struct copy_job {
    float *dst;
    const float *src;
    int64_t ntasks;
} copy_job;

static void copy_share(void *ctx, int64_t t)
{
    const copy_job *j = ctx;
    int64_t begin = N * t / j->ntasks, end = N * (t + 1) / j->ntasks;
    memcpy(j->dst + begin, j->src + begin, (size_t)(end - begin) * sizeof(float));
}

static double best_memcpy(float *dst, const float *src, mt_pool *pool, int reps)
{
    copy_job j = {dst, src, pool ? mt_pool_size(pool) : 1};
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t = now_ms();
        if (pool)
            mt_pool_run(pool, copy_share, &j, j.ntasks);
        else
            copy_share(&j, 0);
        t = now_ms() - t;
        best = t < best ? t : best;
    }
    return best;
}

/* Best time of `reps` runs of p, whose output %y is bound to y; checks the last result against
 * the chain computed here. */
static double best_run(mt_program *p, const float *x, const float *y, int reps, int *ok)
{
    double best = 1e30;
    mt_diag d;
    mt_diag_init(&d);
    for (int r = 0; r < reps && *ok; r++) {
        double t = now_ms();
        if (mt_program_run(p, &d) != MT_OK) {
            fprintf(stderr, "bench_elementwise: run: %s\n", d.msg);
            *ok = 0;
            break;
        }
        t = now_ms() - t;
        best = t < best ? t : best;
    }
    for (int64_t i = 0; i < N && *ok; i += 4099) {
        float h = x[i] * A + B, want = (h > 0 ? h : 0) * C - D;
        if (fabsf(y[i] - want) > 1e-6f * (1 + fabsf(want))) {
            fprintf(stderr, "bench_elementwise: y[%lld] = %g, want %g\n", (long long)i, y[i], want);
            *ok = 0;
        }
    }
    mt_diag_fini(&d);
    return best;
}

static void row(const char *name, double ms)
{
    printf("elementwise %s %.2f ms %.2f GB/s\n", name, ms, 2 * BYTES / (ms * 1e6));
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 10;
    reps = reps < 1 ? 1 : reps;
    setenv("MTC_CACHE", "0", 0); /* a benchmark leaves the user's kernel cache alone */
    mt_graph *g = chain();
    int kernels = kernels_of(g), ok = kernels == 1;
    if (!ok)
        fprintf(stderr, "bench_elementwise: the chain became %d kernels, not 1\n", kernels);
    float *xs = malloc(N * sizeof(float)), *y = malloc(N * sizeof(float));
    float *dst = malloc(N * sizeof(float));
    ok = ok && xs && y && dst;
    if (!ok)
        return 1;
    for (int64_t i = 0; i < N; i++) {
        xs[i] = (float)((i * 2654435761u) % 4001) / 1000.0f - 2.0f;
        dst[i] = y[i] = 0; /* touched: both destinations are warm, like a reused output */
    }

    mt_diag d;
    mt_diag_init(&d);
    mt_program *p = NULL;
    static const char *names[4] = {"a", "b", "c", "d"};
    const float values[4] = {A, B, C, D};
    mt_status st = mt_program_compile(g, "cpu", &p, &d);
    for (int i = 0; i < 4 && st == MT_OK; i++)
        st = mt_program_set(p, names[i], &values[i], sizeof values[i], &d);
    if (st == MT_OK)
        st = mt_program_bind_input(p, "x", xs, N * sizeof(float), &d);
    if (st == MT_OK)
        st = mt_program_bind_output(p, "y", y, N * sizeof(float), &d);
    if (st != MT_OK) {
        fprintf(stderr, "bench_elementwise: compile: %s\n", d.msg);
        return 1;
    }
    int threads = mt_pool_default_threads();
    mt_pool *pool = threads > 1 ? mt_pool_new(threads) : NULL;

    double reused = best_run(p, xs, y, reps, &ok);
    double copy1 = best_memcpy(dst, xs, NULL, reps);
    double copyn = pool ? best_memcpy(dst, xs, pool, reps) : copy1;
    if (ok) {
        printf("elementwise threads %d kernels %d\n", threads, kernels);
        row("mtc", reused);
        row("memcpy_1_thread", copy1);
        char name[32];
        snprintf(name, sizeof name, "memcpy_%d_threads", threads);
        row(name, copyn);
        double better = copy1 < copyn ? copy1 : copyn;
        printf("elementwise ratio %.2f\n", better / reused);
    }
    mt_program_free(p);
    mt_pool_free(pool);
    free(xs);
    free(y);
    free(dst);
    mt_graph_free(g);
    mt_diag_fini(&d);
    return ok ? 0 : 1;
}
