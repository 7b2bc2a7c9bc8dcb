/* check.c - the compiled program against the interpreter, for the benchmarks (check.h). */
#include "bench/check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "runtime/interp.h"

double mt_bench_worst_error(const char *who, const mt_graph *g, const mt_tensor *const *leaves,
                            mt_cpu_program *p)
{
    int n = g->noutputs;
    mt_tensor **want = calloc((size_t)n + 1, sizeof *want),
              **got = calloc((size_t)n + 1, sizeof *got);
    mt_diag d;
    mt_diag_init(&d);
    int ok = want && got && mt_interp_run(g, leaves, want, &d) == MT_OK &&
             mt_cpu_run(p, leaves, got, &d) == MT_OK;
    double worst = ok ? 0 : -1;
    for (int o = 0; ok && o < n; o++)
        for (int64_t k = 0; k < mt_type_numel(&want[o]->type); k++) {
            double a = ((float *)got[o]->data)[k], b = ((float *)want[o]->data)[k];
            double err = fabs(a - b) / (fabs(b) > 1e-2 ? fabs(b) : 1e-2);
            worst = err > worst ? err : worst;
        }
    if (!ok)
        fprintf(stderr, "%s: check failed: %s\n", who, d.msg[0] ? d.msg : "out of memory");
    for (int o = 0; o < n && want && got; o++) {
        mt_tensor_free(want[o]);
        mt_tensor_free(got[o]);
    }
    free(want);
    free(got);
    mt_diag_fini(&d);
    return worst;
}
