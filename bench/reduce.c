/* reduce.c - sums over each axis of a 4096x4096 f32 matrix: the strided one (dim 0) against
 * the contiguous one (dim 1), through the program API.
 *
 * sum(x, dim=0) reduces over the axis that is not contiguous in memory: emitted as written,
 * each result would read a column of x with a stride of 16 KiB; the LLVM emitter instead
 * streams whole rows and accumulates across the contiguous axis (docs/cpu-backend.md,
 * "Reductions over an outer axis"). Both sums read the same 64 MiB, so the rows should come
 * out close, and near the machine's read bandwidth. bench/reduce_ref.py times numpy and
 * PyTorch on the same shape for comparison.
 *
 * Each row is the best of `reps` runs (after one warm-up), on 1 thread and on every thread
 * (MTC_NUM_THREADS, default every core), checked against a sequential sum in double.
 *
 *   usage: bench_reduce [reps]   (default 10)
 *   output: `reduce sum_dimD_Tt MS ms GBPS GB/s` rows (D the axis, T the threads).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mtc/mtc.h"
#include "runtime/pool.h"

#define N 4096

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static mt_graph *sum_over(int dim)
{
    mt_graph *g = mt_graph_new("reduce");
    int x = mt_input(g, "x", mt_type_make(MT_DTYPE_F32, 2, (int64_t[]){N, N}));
    int s = mt_sum(g, x, dim);
    mt_name(g, s, "s");
    mt_set_outputs(g, &s, 1);
    return g;
}

/* The largest relative difference of s from the sums in double over `dim` of x. */
static double check(const float *x, const float *s, int dim)
{
    double worst = 0;
    for (int i = 0; i < N; i++) {
        double want = 0;
        for (int k = 0; k < N; k++)
            want += dim == 0 ? x[(size_t)k * N + i] : x[(size_t)i * N + k];
        double err = fabs(s[i] - want) / (fabs(want) + 1e-30);
        worst = err > worst ? err : worst;
    }
    return worst;
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 10;
    reps = reps < 1 ? 1 : reps;
    float *x = malloc(sizeof(float) * N * N), *s = malloc(sizeof(float) * N);
    if (!x || !s)
        return 1;
    unsigned seed = 1;
    for (size_t i = 0; i < (size_t)N * N; i++) {
        seed = seed * 1103515245u + 12345u;
        x[i] = (float)(seed >> 8) / 16777216.0f;
    }
    int threads[2] = {1, mt_pool_default_threads()};
    for (int dim = 0; dim < 2; dim++) {
        mt_diag d;
        mt_diag_init(&d);
        mt_graph *g = sum_over(dim);
        mt_program *p = NULL;
        if (mt_program_compile(g, "cpu", &p, &d) != MT_OK ||
            mt_program_bind_input(p, "x", x, sizeof(float) * N * N, &d) != MT_OK ||
            mt_program_bind_output(p, "s", s, sizeof(float) * N, &d) != MT_OK) {
            fprintf(stderr, "bench_reduce: %s\n", d.msg);
            return 1;
        }
        for (int t = 0; t < 2; t++) {
            if (t == 1 && threads[1] == 1)
                break;
            mt_program_set_threads(p, threads[t], &d);
            double best = 1e30;
            for (int r = 0; r <= reps; r++) {
                double t0 = now_ms();
                if (mt_program_run(p, &d) != MT_OK) {
                    fprintf(stderr, "bench_reduce: %s\n", d.msg);
                    return 1;
                }
                double ms = now_ms() - t0;
                best = r > 0 && ms < best ? ms : best; /* run 0 warms up */
            }
            double err = check(x, s, dim);
            if (err > 1e-5) {
                fprintf(stderr, "bench_reduce: sum over dim %d is off by %g\n", dim, err);
                return 1;
            }
            printf("reduce sum_dim%d_%dt %.3f ms %.2f GB/s\n", dim, threads[t], best,
                   (double)N * N * sizeof(float) / best * 1e-6);
        }
        mt_program_free(p);
        mt_graph_free(g);
    }
    free(x);
    free(s);
    return 0;
}
