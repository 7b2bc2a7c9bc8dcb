/* chain.c - a fused chain of float functions and two reductions, in process: mtc against
 * NumPy and PyTorch eager timed in the same run (issue 11's workload).
 *
 *   bench_chain [REPS] [THREADS]
 *
 * y = exp(tanh(sigmoid(x))) over x: f32[4096, 4096] uniform in [-4, 4), then sum(y, dim=1)
 * and max(y, dim=1): a compiled program bound to the caller's buffers (mt_program_run), best
 * of REPS runs (default 5) on THREADS threads (default: MTC_NUM_THREADS, else every core).
 * The results are checked against a double-precision loop on a sample of rows. Then
 * bench/chain_ref.py is run with /usr/bin/python3 (skipped if missing) for NumPy and PyTorch
 * with the same thread count. Output, one line each:
 *
 *   chain threads 2 kernels 1
 *   chain_ms mtc 12.34
 *   chain_ms mtc_elementwise_only 9.87   (y = exp(tanh(sigmoid(x))) alone, written out)
 *   chain_ms numpy 127.00
 *   chain_ms torch 168.00
 *   chain_ratio numpy 10.29       (reference ms / mtc ms: above 1, mtc is faster)
 *   chain_ratio torch 13.61
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mtc/mtc.h"
#include "runtime/pool.h"

#define N 4096

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

/* The chain; with `reduce` 0, only its elementwise part, with output y. */
static mt_graph *chain(int reduce)
{
    mt_graph *g = mt_graph_new("chain");
    int x = mt_input(g, "x", mt_type_make(MT_DTYPE_F32, 2, (int64_t[]){N, N}));
    int y = mt_exp(g, mt_tanh(g, mt_sigmoid(g, x)));
    if (!reduce) {
        mt_name(g, y, "y");
        mt_set_outputs(g, &y, 1);
        return g;
    }
    int outs[2] = {mt_sum(g, y, 1), mt_max(g, y, 1)};
    mt_name(g, outs[0], "s");
    mt_name(g, outs[1], "m");
    mt_set_outputs(g, outs, 2);
    return g;
}

/* Best of reps runs of p after one warm-up; < 0 on failure (message in d). */
static double best_run(mt_program *p, int reps, mt_diag *d)
{
    double best = 1e30;
    for (int r = -1; r < reps; r++) {
        double t = now_ms();
        if (mt_program_run(p, d) != MT_OK)
            return -1;
        t = now_ms() - t;
        if (r >= 0 && t < best)
            best = t;
    }
    return best;
}

/* Rows 0, 97, 194, ... of s and m against double precision. */
static int verify(const float *x, const float *s, const float *m)
{
    for (int r = 0; r < N; r += 97) {
        double sum = 0, max = -INFINITY;
        for (int c = 0; c < N; c++) {
            double v = exp(tanh(1 / (1 + exp(-(double)x[(size_t)r * N + c]))));
            sum += v;
            max = v > max ? v : max;
        }
        if (fabs(s[r] - sum) > 1e-4 * sum || fabs(m[r] - max) > 1e-6 * max) {
            fprintf(stderr, "bench_chain: row %d: sum %g max %g, want %g %g\n", r, s[r], m[r], sum,
                    max);
            return 0;
        }
    }
    return 1;
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    reps = reps < 1 ? 1 : reps;
    int threads = argc > 2 ? atoi(argv[2]) : mt_pool_default_threads();
    threads = threads < 1 ? 1 : threads;
    setenv("MTC_CACHE", "0", 0); /* a benchmark leaves the user's kernel cache alone */
    float *x = malloc((size_t)N * N * sizeof(float));
    float *s = malloc(N * sizeof(float)), *m = malloc(N * sizeof(float));
    if (!x || !s || !m)
        return 1;
    uint64_t st = 0x2545f4914f6cdd1dull;
    for (size_t i = 0; i < (size_t)N * N; i++) {
        st ^= st << 13;
        st ^= st >> 7;
        st ^= st << 17;
        x[i] = (float)((double)(st >> 11) * 0x1p-53 * 8 - 4);
    }
    mt_graph *g = chain(1), *ge = chain(0);
    mt_program *p = NULL, *pe = NULL;
    float *y = malloc((size_t)N * N * sizeof(float));
    if (!y)
        return 1;
    mt_diag d;
    mt_diag_init(&d);
    mt_status rc = mt_program_compile(g, "cpu", &p, &d);
    if (rc == MT_OK)
        rc = mt_program_set_threads(p, threads, &d);
    if (rc == MT_OK)
        rc = mt_program_bind_input(p, "x", x, (size_t)N * N * sizeof(float), &d);
    if (rc == MT_OK)
        rc = mt_program_bind_output(p, "s", s, N * sizeof(float), &d);
    if (rc == MT_OK)
        rc = mt_program_bind_output(p, "m", m, N * sizeof(float), &d);
    if (rc == MT_OK)
        rc = mt_program_compile(ge, "cpu", &pe, &d);
    if (rc == MT_OK)
        rc = mt_program_set_threads(pe, threads, &d);
    if (rc == MT_OK)
        rc = mt_program_bind_input(pe, "x", x, (size_t)N * N * sizeof(float), &d);
    if (rc == MT_OK)
        rc = mt_program_bind_output(pe, "y", y, (size_t)N * N * sizeof(float), &d);
    double best = rc == MT_OK ? best_run(p, reps, &d) : -1;
    double elem = best >= 0 ? best_run(pe, reps, &d) : -1;
    if (rc != MT_OK || best < 0 || elem < 0) {
        fprintf(stderr, "bench_chain: %s\n", d.msg);
        return 1;
    }
    if (!verify(x, s, m))
        return 1;
    printf("chain threads %d\n", threads);
    printf("chain_ms mtc %.2f\n", best);
    printf("chain_ms mtc_elementwise_only %.2f\n", elem);
    fflush(stdout);

    char cmd[4096];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/bench/chain_ref.py %d %d 2>&1", MT_SOURCE_DIR,
             threads, reps);
    FILE *py = access("/usr/bin/python3", X_OK) == 0 ? popen(cmd, "r") : NULL;
    char line[256];
    while (py && fgets(line, sizeof line, py)) {
        fputs(line, stdout);
        char who[64];
        double ms;
        if (sscanf(line, "chain_ms %63s %lf", who, &ms) == 2 && ms > 0)
            printf("chain_ratio %s %.2f\n", who, ms / best);
    }
    if (py)
        pclose(py);
    mt_program_free(p);
    mt_program_free(pe);
    mt_graph_free(g);
    mt_graph_free(ge);
    free(y);
    mt_diag_fini(&d);
    free(x);
    free(s);
    free(m);
    return 0;
}
