/* jit_latency.c - how long mt_cpu_compile takes for an MLP training step, cold and cached.
 *
 * The graph is one SGD step of a 784 -> 128 -> 10 perceptron with relu on a batch of 64:
 * forward, softmax cross-entropy against one-hot labels, the backward graph from mt_pass_grad,
 * and the updated parameters `w - lr * grad.w` as outputs beside the loss. mt_cpu_compile
 * runs the whole pipeline on it (simplify, fuse, lower, plan memory, emit LLVM, and either
 * optimisation + code generation or a kernel cache hit, then linking by the JIT).
 *
 *   cold   MTC_CACHE=0: nothing read or written (the compile of a new program)
 *   miss   an empty cache directory: a cold compile plus storing the object
 *   cached the entry is there: LLVM neither optimises nor generates code
 *
 * Each is the median of several compiles in this process (the first, which pays for LLVM's
 * one-time initialisation, is not counted). The cache lives in a fresh directory made with
 * mkdtemp and removed at the end; the user's cache is never touched. Before timing, one
 * compiled step is run and checked against the reference interpreter.
 *
 *   usage: bench_jit_latency [runs]     (default 7)
 *   output: one line per variant, `jit_latency NAME MEDIAN_MS [min MIN_MS]`, then a
 *   `jit_latency kernels N` line.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codegen/cpu.h"
#include "runtime/cache.h"
#include "ir/alloc.h"
#include "ir/graph.h"
#include "passes/pass.h"
#include "bench/check.h"

enum { B = 64, IN = 784, HID = 128, OUT = 10 };

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* loss = -mean over the batch of sum(y * log_softmax(z), dim=1). */
static mt_graph *forward(void)
{
    mt_graph *g = mt_graph_new("mlp_step");
    int x = mt_input(g, "x", mt_type_make(MT_DTYPE_F32, 2, (int64_t[]){B, IN}));
    int y = mt_input(g, "y", mt_type_make(MT_DTYPE_F32, 2, (int64_t[]){B, OUT}));
    int w1 = mt_param(g, "w1", mt_type_make(MT_DTYPE_F32, 2, (int64_t[]){IN, HID}));
    int b1 = mt_param(g, "b1", mt_type_make(MT_DTYPE_F32, 1, (int64_t[]){HID}));
    int w2 = mt_param(g, "w2", mt_type_make(MT_DTYPE_F32, 2, (int64_t[]){HID, OUT}));
    int b2 = mt_param(g, "b2", mt_type_make(MT_DTYPE_F32, 1, (int64_t[]){OUT}));
    int h = mt_relu(g, mt_add(g, mt_matmul(g, x, w1), b1));
    int z = mt_add(g, mt_matmul(g, h, w2), b2);
    int shifted = mt_sub(g, z, mt_max(g, z, 1));
    int lsm = mt_sub(g, shifted, mt_log(g, mt_sum(g, mt_exp(g, shifted), 1)));
    int loss = mt_neg(g, mt_mean_all(g, mt_sum(g, mt_mul(g, y, lsm), 1)));
    mt_name(g, loss, "loss");
    mt_set_outputs(g, &loss, 1);
    return g;
}

/* The forward graph's gradient graph plus the SGD update of every parameter. */
static mt_graph *training_step(mt_diag *d)
{
    mt_graph *fwd = forward(), *g = NULL;
    if (mt_graph_diag(fwd)->status != MT_OK) {
        mt_diag_set(d, MT_ERR_INTERNAL, "forward graph: %s", mt_graph_diag(fwd)->msg);
    } else if (mt_pass_grad(fwd, NULL, 0, &g, d) == MT_OK) {
        static const char *params[] = {"w1", "b1", "w2", "b2"};
        int outs[5] = {mt_graph_find(g, "loss")};
        int lr = mt_const(g, 0.05, mt_type_make(MT_DTYPE_F32, 0, NULL));
        for (int i = 0; i < 4; i++) {
            char grad[32];
            snprintf(grad, sizeof grad, "grad.%s", params[i]);
            outs[i + 1] =
                mt_sub(g, mt_graph_find(g, params[i]), mt_mul(g, lr, mt_graph_find(g, grad)));
        }
        mt_set_outputs(g, outs, 5);
        if (mt_graph_diag(g)->status != MT_OK) {
            mt_diag_set(d, MT_ERR_INTERNAL, "update: %s", mt_graph_diag(g)->msg);
            mt_graph_free(g);
            g = NULL;
        }
    }
    mt_graph_free(fwd);
    return g;
}

/* Runs the compiled step once on random data and compares it with the interpreter. */
static int check_once(const mt_graph *g, mt_cpu_program *p)
{
    const mt_tensor **leaves = calloc((size_t)g->nnodes, sizeof *leaves);
    int ok = leaves != NULL;
    unsigned s = 12345;
    for (int i = 0; i < g->nnodes && ok; i++) {
        if (!mt_op_is(g->nodes[i].op, MT_F_LEAF))
            continue;
        mt_tensor *t = mt_tensor_new(g->nodes[i].type);
        ok = t != NULL;
        for (int64_t k = 0; ok && k < mt_type_numel(&t->type); k++) {
            s = s * 1103515245u + 12345u;
            float u = (float)(s >> 8) / 16777216.0f;
            ((float *)t->data)[k] = strcmp(g->nodes[i].name, "y") == 0
                                        ? (k % OUT == (k / OUT) % OUT ? 1.0f : 0.0f)
                                        : 0.2f * (u - 0.5f);
        }
        leaves[i] = t;
    }
    double worst = ok ? mt_bench_worst_error("bench_jit_latency", g, leaves, p) : -1;
    if (ok && worst > 1e-4) {
        fprintf(stderr, "bench_jit_latency: cpu differs from interp (relative error %g)\n", worst);
        ok = 0;
    }
    ok = ok && worst >= 0;
    for (int i = 0; leaves && i < g->nnodes; i++)
        mt_tensor_free((mt_tensor *)leaves[i]);
    free(leaves);
    return ok;
}

static void clear_dir(const char *dir)
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    char path[4096];
    while (dp && (e = readdir(dp)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (dp)
        closedir(dp);
}

/* One compile in ms; -1 on failure. With `keep`, the program is the caller's. */
static double compile_ms(const mt_graph *g, mt_cpu_program **keep)
{
    mt_diag d;
    mt_diag_init(&d);
    mt_cpu_program *p = NULL;
    double t = now_ms();
    mt_status st = mt_cpu_compile(g, &p, &d);
    t = now_ms() - t;
    if (st != MT_OK) {
        fprintf(stderr, "bench_jit_latency: compile failed: %s\n", d.msg);
        t = -1;
    }
    if (keep)
        *keep = p;
    else
        mt_cpu_free(p);
    mt_diag_fini(&d);
    return t;
}

/* Kernels in the program mt_cpu_compile builds (from the optimized stage, as it does). */
static int count_kernels(const mt_graph *g)
{
    int n, kernels = -1;
    const mt_pass *const *passes = mt_passes_default(&n);
    mt_graph *opt = NULL;
    mt_stats st;
    mt_diag d;
    mt_diag_init(&d);
    if (mt_pipeline_run(g, passes, n, NULL, NULL, &opt, &d) == MT_OK &&
        mt_cpu_stats(opt, &st, &d) == MT_OK)
        kernels = (int)st.nodes;
    mt_graph_free(opt);
    mt_diag_fini(&d);
    return kernels;
}

typedef enum variant { COLD, MISS, CACHED } variant;

/* Median (and min) of `runs` compiles of one variant. */
static int measure(const mt_graph *g, variant v, const char *dir, int runs, double *median,
                   double *min)
{
    double t[64];
    setenv("MTC_CACHE", v == COLD ? "0" : "1", 1);
    for (int r = 0; r < runs; r++) {
        if (v == MISS)
            clear_dir(dir);
        if (v == CACHED && r == 0 && compile_ms(g, NULL) < 0) /* fills the cache */
            return 0;
        if ((t[r] = compile_ms(g, NULL)) < 0)
            return 0;
    }
    qsort(t, (size_t)runs, sizeof t[0], cmp_double);
    *median = t[runs / 2];
    *min = t[0];
    return 1;
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 7;
    runs = runs < 1 ? 1 : runs > 64 ? 64 : runs;
    char dir[] = "/tmp/mtc-bench-cache-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("bench_jit_latency: mkdtemp");
        return 1;
    }
    setenv("MTC_CACHE_DIR", dir, 1);
    mt_diag d;
    mt_diag_init(&d);
    mt_graph *g = training_step(&d);
    int ok = g != NULL;
    if (!ok)
        fprintf(stderr, "bench_jit_latency: %s\n", d.msg);

    /* Warm-up (LLVM's targets, the first JIT) and a correctness check of what is timed. */
    mt_cpu_program *p = NULL;
    setenv("MTC_CACHE", "0", 1);
    ok = ok && compile_ms(g, &p) >= 0 && check_once(g, p);
    mt_cpu_free(p);
    int kernels = count_kernels(g);

    static const char *names[] = {"cold", "miss", "cached"};
    for (int v = COLD; ok && v <= CACHED; v++) {
        double median, min;
        ok = measure(g, (variant)v, dir, runs, &median, &min);
        if (ok)
            printf("jit_latency %s %.2f ms (min %.2f)\n", names[v], median, min);
    }
    mt_cache_counters c;
    mt_cache_counters_get(&c);
    if (ok && c.hits < runs) {
        fprintf(stderr, "bench_jit_latency: expected %d cache hits, got %ld\n", runs, c.hits);
        ok = 0;
    }
    if (ok)
        printf("jit_latency nodes %d kernels %d\n", g->nnodes, kernels);
    clear_dir(dir);
    rmdir(dir);
    mt_graph_free(g);
    mt_diag_fini(&d);
    return ok ? 0 : 1;
}
