/* gpu_graph.c - the time of one run of an MTIR graph on a target, through the program API.
 *
 *   usage: bench_gpu_graph FILE.mt TARGET [RUNS]      (RUNS default 20)
 *
 * Every input, param and state is set once to uniform values in [-1, 1] (so params and state
 * live on the device from the first run on); then 3 warm-up runs and RUNS timed ones. A run
 * copies the inputs up and the outputs down and waits for the device, so graphs meant to time
 * kernels keep their data in params and state (a step graph's `update`) and output a scalar.
 * Prints `ms_per_run X` and `runs N`; bench/gpu.sh turns them into bandwidth and FLOP/s.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mtc/mtc.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int fail(const char *what, const mt_diag *d)
{
    fprintf(stderr, "bench_gpu_graph: %s: %s\n", what, d->msg);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_gpu_graph FILE.mt TARGET [RUNS]\n");
        return 2;
    }
    int runs = argc > 3 ? atoi(argv[3]) : 20;
    mt_diag d;
    mt_diag_init(&d);
    mt_graph *g = NULL;
    if (mt_graph_parse_file(argv[1], &g, &d) != MT_OK)
        return fail(argv[1], &d);
    mt_program *p = NULL;
    double t0 = now_s();
    if (mt_program_compile(g, argv[2], &p, &d) != MT_OK)
        return fail("compile", &d);
    printf("compile_s %.3f\n", now_s() - t0);
    srand(1);
    for (int s = 0; s < mt_program_nslots(p); s++) {
        if (mt_program_slot_kind(p, s) == MT_SLOT_OUTPUT)
            continue;
        const mt_type *t = mt_program_slot_type(p, s);
        size_t n = mt_program_slot_nbytes(p, s);
        char *data = malloc(n ? n : 1);
        if (!data)
            return 1;
        size_t es = t->dtype == MT_DTYPE_F64 ? 8 : 4;
        for (size_t i = 0; i + es <= n; i += es) {
            double v = 2.0 * rand() / RAND_MAX - 1.0;
            if (es == 8)
                memcpy(data + i, &v, 8);
            else {
                float f = (float)v;
                memcpy(data + i, &f, 4);
            }
        }
        if (mt_program_set(p, mt_program_slot_name(p, s), data, n, &d) != MT_OK)
            return fail("set", &d);
        free(data);
    }
    for (int i = 0; i < 3; i++)
        if (mt_program_run(p, &d) != MT_OK)
            return fail("run", &d);
    t0 = now_s();
    for (int i = 0; i < runs; i++)
        if (mt_program_run(p, &d) != MT_OK)
            return fail("run", &d);
    double ms = (now_s() - t0) * 1e3 / runs;
    printf("ms_per_run %.4f\nruns %d\n", ms, runs);
    mt_program_free(p);
    mt_graph_free(g);
    return 0;
}
