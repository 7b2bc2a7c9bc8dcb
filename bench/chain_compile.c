/* chain_compile.c - how long mt_cpu_compile takes for the gradient of a chain of n ops.
 *
 * The chain is test_scaling's: `tanh`, `add %x`, `mul %w` in turn on f32[4] values, then a
 * sum; its gradient graph (mt_pass_grad) is compiled cold (MTC_CACHE=0: nothing read or
 * written), the whole pipeline included (simplify, fuse, lower, plan memory, emit LLVM,
 * optimise, generate code, link). Such a graph is hundreds of tiny kernels, which is where
 * the backend's cost per kernel shows (docs/scaling.md). Before timing, the compiled gradient
 * is run once and checked against the reference interpreter.
 *
 *   usage: bench_chain_compile [n] [runs]     (default 1000 ops, 3 runs)
 *   output: `chain_compile n N kernels K median MS min MS cpu MS`, where cpu is the CPU time
 *   of this process (every thread) for the median compile: on a loaded machine the wall
 *   time is the other processes' as much as ours.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codegen/cpu.h"
#include "ir/alloc.h"
#include "ir/graph.h"
#include "passes/pass.h"
#include "passes/schedule.h"
#include "bench/check.h"

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static double cpu_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

typedef struct run {
    double wall, cpu;
} run;

static int cmp_run(const void *a, const void *b)
{
    double x = ((const run *)a)->wall, y = ((const run *)b)->wall;
    return (x > y) - (x < y);
}

static char *chain_text(int n)
{
    mt_buf b = {0};
    mt_buf_printf(&b, "mtir 1\ngraph chain {\n  param %%w : f32[4]\n  input %%x : f32[4]\n");
    for (int i = 1; i <= n; i++) {
        char pv[32];
        snprintf(pv, sizeof pv, i == 1 ? "%%x" : "%%v%d", i - 1);
        if (i % 3 == 0)
            mt_buf_printf(&b, "  %%v%d = mul %s, %%w\n", i, pv);
        else if (i % 3 == 1)
            mt_buf_printf(&b, "  %%v%d = tanh %s\n", i, pv);
        else
            mt_buf_printf(&b, "  %%v%d = add %s, %%x\n", i, pv);
    }
    mt_buf_printf(&b, "  %%loss = sum %%v%d\n  output %%loss\n}\n", n);
    return mt_buf_take(&b);
}

/* The compiled gradient against the interpreter, once. */
static int check_once(const mt_graph *g, mt_cpu_program *p)
{
    const mt_tensor **leaves = calloc((size_t)g->nnodes, sizeof *leaves);
    int ok = leaves != NULL;
    for (int i = 0; i < g->nnodes && ok; i++) {
        if (!mt_op_is(g->nodes[i].op, MT_F_LEAF))
            continue;
        mt_tensor *t = mt_tensor_new(g->nodes[i].type);
        ok = t != NULL;
        for (int64_t k = 0; ok && k < mt_type_numel(&t->type); k++)
            ((float *)t->data)[k] = 0.1f * (float)(k + 1) * (i % 2 ? 1.0f : -0.5f);
        leaves[i] = t;
    }
    double worst = ok ? mt_bench_worst_error("bench_chain_compile", g, leaves, p) : -1;
    if (ok && worst > 1e-3) {
        fprintf(stderr, "bench_chain_compile: cpu differs from interp (relative error %g)\n",
                worst);
        ok = 0;
    }
    ok = ok && worst >= 0;
    for (int i = 0; leaves && i < g->nnodes; i++)
        mt_tensor_free((mt_tensor *)leaves[i]);
    free(leaves);
    return ok;
}

/* Kernels of the program mt_cpu_compile builds (the default passes, then the schedule). */
static int count_kernels(const mt_graph *g)
{
    int n, kernels = -1;
    const mt_pass *const *passes = mt_passes_default(&n);
    mt_graph *opt = NULL;
    mt_kprog *p = NULL;
    mt_diag d;
    mt_diag_init(&d);
    if (mt_pipeline_run(g, passes, n, NULL, NULL, &opt, &d) == MT_OK &&
        mt_schedule(opt, mt_target_desc_cpu(), &p, &d) == MT_OK)
        kernels = p->nkernels;
    mt_kprog_free(p);
    mt_graph_free(opt);
    mt_diag_fini(&d);
    return kernels;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1000, runs = argc > 2 ? atoi(argv[2]) : 3;
    if (n < 1 || runs < 1) {
        fprintf(stderr, "usage: bench_chain_compile [n] [runs]\n");
        return 2;
    }
    setenv("MTC_CACHE", "0", 1);
    char *text = chain_text(n);
    mt_graph *g = NULL, *grad = NULL;
    mt_diag d;
    mt_diag_init(&d);
    if (!text || mt_graph_parse(text, strlen(text), "chain.mt", &g, &d) != MT_OK ||
        mt_pass_grad(g, NULL, 0, &grad, &d) != MT_OK) {
        fprintf(stderr, "bench_chain_compile: %s\n", d.msg);
        return 1;
    }
    run *ms = calloc((size_t)runs, sizeof *ms);
    int ok = ms != NULL;
    for (int r = 0; r < runs && ok; r++) {
        mt_cpu_program *p = NULL;
        double t = now_ms(), c = cpu_ms();
        ok = mt_cpu_compile(grad, &p, &d) == MT_OK;
        ms[r].wall = now_ms() - t;
        ms[r].cpu = cpu_ms() - c;
        if (!ok)
            fprintf(stderr, "bench_chain_compile: compile failed: %s\n", d.msg);
        else if (r == 0)
            ok = check_once(grad, p);
        mt_cpu_free(p);
    }
    if (ok) {
        qsort(ms, (size_t)runs, sizeof *ms, cmp_run);
        printf("chain_compile n %d kernels %d median %.0f ms min %.0f ms cpu %.0f ms\n", n,
               count_kernels(grad), ms[runs / 2].wall, ms[0].wall, ms[runs / 2].cpu);
    }
    free(ms);
    mt_free(text);
    mt_graph_free(g);
    mt_graph_free(grad);
    mt_diag_fini(&d);
    return ok ? 0 : 1;
}
