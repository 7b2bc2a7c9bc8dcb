/* cmd_profile.c - `mtc profile FILE.mt [--in IN] [--runs N]`: where a run's time goes, kernel
 * by kernel, and how far each kernel is from the machine's roofline (docs/profile.md).
 *
 * The graph is compiled for the cpu target as `mtc run` compiles it, and its kernels are run
 * through the executor (runtime/exec.c) with its timing hook on, so the times are those of the
 * very code `mtc run` calls, split over the same threads. FLOPs and bytes come from the kernel
 * IR (ir/kernel_cost.h); the peak FMA rate and memory bandwidth from a micro-benchmark cached
 * in the kernel cache directory (tools/profile_peak.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codegen/cpu.h"
#include "ir/alloc.h"
#include "ir/graph.h"
#include "ir/kernel_cost.h"
#include "ir/type.h"
#include "runtime/philox.h"
#include "runtime/pool.h"
#include "tools/cmd.h"
#include "tools/profile.h"

static const char usage_text[] =
    "usage: mtc profile FILE.mt [--in IN.safetensors] [--runs N] [--backend cpu]\n"
    "                   [--peak GFLOPS,GBPS[,CACHE_GBPS]] [--remeasure]\n"
    "\n"
    "Compiles the graph for the cpu target, runs it N times (default 20, after 3 warm-up runs)\n"
    "and prints, for every kernel, the median of its time, its share of the kernels' total,\n"
    "the GFLOP/s and GB/s it achieved, its arithmetic intensity (FLOP per byte), which bound\n"
    "of the roofline applies to it (memory, cache or compute) and what fraction of that bound it\n"
    "reached; a kernel whose buffers fit in the L2 caches of its threads is held to the cache's\n"
    "bandwidth instead of memory's. Threads: MTC_NUM_THREADS, else every core, as for `mtc run`.\n"
    "  --in IN        feeds inputs, params and state by name as `mtc run` does; without it\n"
    "                 inputs and params are random in [0.05, 1) and state starts at zero\n"
    "  --runs N       timed runs (default 20)\n"
    "  --backend cpu  the only backend timed kernel by kernel\n"
    "  --peak G,B[,C] use G GFLOP/s, B GB/s from memory and C GB/s from the cache as the\n"
    "                 roofline instead of measuring it (no C: no cache level)\n"
    "  --remeasure    measure the roofline again (it is measured once per machine, thread\n"
    "                 count and build of mtc, and kept in the kernel cache directory)\n";

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of v[0], v[stride], ... (n values); sorts a copy in tmp. */
static double median(const double *v, int n, int stride, double *tmp)
{
    for (int i = 0; i < n; i++)
        tmp[i] = v[(size_t)i * (size_t)stride];
    qsort(tmp, (size_t)n, sizeof *tmp, cmp_double);
    return n % 2 ? tmp[n / 2] : 0.5 * (tmp[n / 2 - 1] + tmp[n / 2]);
}

/* "  12.3 us" or "  4.56 ms": 10 columns. */
static const char *fmt_time(double ns, char *buf, size_t size)
{
    if (ns < 1e7)
        snprintf(buf, size, "%7.1f us", ns / 1e3);
    else
        snprintf(buf, size, "%7.2f ms", ns / 1e6);
    return buf;
}

/* What one profile holds: the compiled program, storage for its leaves and outputs. */
typedef struct profile {
    mt_cpu_program *cpu;
    const mt_kprog *kp;
    mt_kernel_fn const *fns;
    int nleaves;
    const void **leaves; /* by node id of the compiled graph */
    void **owned;        /* one per buffer: the storage this command allocated */
    void **outputs;
} profile;

/* Storage for every input, param and state buffer: from `in` when given (as `mtc run` feeds
 * them: inputs and params required, state zero when absent), else random inputs and params
 * and zero state. */
static mt_status bind_leaves(profile *pr, const mt_graph *g, const mt_tensor_map *in,
                             const char *in_path, mt_diag *d)
{
    const mt_kprog *kp = pr->kp;
    for (int b = 0; b < kp->nbufs; b++)
        if (kp->bufs[b].node >= pr->nleaves)
            pr->nleaves = kp->bufs[b].node + 1;
    pr->leaves = mt_calloc((size_t)pr->nleaves + 1, sizeof *pr->leaves);
    pr->owned = mt_calloc((size_t)kp->nbufs + 1, sizeof *pr->owned);
    if (!pr->leaves || !pr->owned)
        return mt_diag_set(d, MT_ERR_NOMEM, "profile: out of memory");
    for (int b = 0; b < kp->nbufs; b++) {
        const mt_kbuf *u = &kp->bufs[b];
        if (u->kind != MT_KBUF_INPUT && u->kind != MT_KBUF_STATE)
            continue;
        size_t nbytes = (size_t)u->numel * mt_dtype_size(u->type.dtype);
        if (!(pr->owned[b] = mt_calloc(1, nbytes + 1)))
            return mt_diag_set(d, MT_ERR_NOMEM, "profile: out of memory for %%%s", u->name);
        pr->leaves[u->node] = pr->owned[b];
        int id = mt_graph_find(g, u->name);
        int is_state = id >= 0 && mt_graph_node_op(g, id) == MT_OP_STATE;
        if (in) {
            const mt_tensor *t = mt_tensor_map_get(in, u->name);
            if (!t && is_state)
                continue;
            if (!t)
                return mt_diag_set(d, MT_ERR_ARG, "%s: no tensor '%s' for %%%s", in_path, u->name,
                                   u->name);
            if (!mt_type_equal(mt_tensor_type(t), &u->type)) {
                char a[MT_TYPE_STR_MAX], c[MT_TYPE_STR_MAX];
                return mt_diag_set(d, MT_ERR_ARG, "%s: tensor '%s' is %s but %%%s is %s", in_path,
                                   u->name, mt_type_str(mt_tensor_type(t), a, sizeof a), u->name,
                                   mt_type_str(&u->type, c, sizeof c));
            }
            memcpy(pr->owned[b], mt_tensor_data(t), nbytes);
        } else if (!is_state) {
            for (int64_t i = 0; i < u->numel; i++) {
                double v = 0.05 + 0.95 * mt_rand_f64((uint64_t)b, (uint64_t)i);
                if (u->type.dtype == MT_DTYPE_F32)
                    ((float *)pr->owned[b])[i] = (float)v;
                else
                    ((double *)pr->owned[b])[i] = v;
            }
        }
    }
    pr->outputs = mt_calloc((size_t)kp->noutputs + 1, sizeof *pr->outputs);
    if (!pr->outputs)
        return mt_diag_set(d, MT_ERR_NOMEM, "profile: out of memory");
    for (int i = 0; i < kp->noutputs; i++) {
        int b = kp->outputs[i];
        if (!pr->owned[b]) {
            const mt_kbuf *u = &kp->bufs[b];
            pr->owned[b] = mt_calloc(1, (size_t)u->numel * mt_dtype_size(u->type.dtype) + 1);
            if (!pr->owned[b])
                return mt_diag_set(d, MT_ERR_NOMEM, "profile: out of memory for %%%s", u->name);
        }
        pr->outputs[i] = pr->owned[b];
    }
    return MT_OK;
}

static void profile_fini(profile *pr)
{
    for (int b = 0; pr->owned && b < pr->kp->nbufs; b++)
        mt_free(pr->owned[b]);
    mt_free(pr->owned);
    mt_free(pr->leaves);
    mt_free(pr->outputs);
    mt_cpu_free(pr->cpu);
}

/* The executor's kernel timer: adds each kernel's time to the current run's row. */
static void add_kernel_time(void *ctx, int kernel, int64_t ns)
{
    double *row = ctx;
    row[kernel] += (double)ns;
}

/* Runs the program warm + runs times; ns[r * nkernels + k] is kernel k's time in run r (of
 * the timed ones), total[r] the whole run's. */
static mt_status time_runs(profile *pr, int warm, int runs, double *ns, double *total, mt_diag *d)
{
    const mt_kprog *kp = pr->kp;
    mt_exec e;
    mt_status st = mt_exec_init(&e, kp, d);
    if (st != MT_OK)
        return st;
    int threads = mt_pool_default_threads();
    mt_pool *pool = threads > 1 ? mt_pool_new(threads) : NULL;
    for (int r = -warm; r < runs && st == MT_OK; r++) {
        double *row = ns + (size_t)(r < 0 ? 0 : r) * (size_t)kp->nkernels;
        memset(row, 0, (size_t)kp->nkernels * sizeof *row);
        e.timer = add_kernel_time;
        e.timer_ctx = row;
        double t0 = now_ns();
        st = mt_exec_run(&e, pr->fns, pool, pr->leaves, pr->nleaves, pr->outputs, d);
        if (r >= 0)
            total[r] = now_ns() - t0;
    }
    mt_pool_free(pool);
    mt_exec_fini(&e);
    return st;
}

static void print_report(const profile *pr, const char *graph, const char *source, int runs,
                         const double *ns, const double *total, const mtc_peak *peak,
                         const char *peak_from, const mt_kcost *cost)
{
    const mt_kprog *kp = pr->kp;
    int nk = kp->nkernels;
    double *tmp = mt_malloc(((size_t)runs + 1) * sizeof *tmp);
    double *med = mt_malloc(((size_t)nk + 1) * sizeof *med);
    if (!tmp || !med) {
        mt_free(tmp);
        mt_free(med);
        fprintf(stderr, "mtc profile: out of memory\n");
        return;
    }
    double sum = 0, flops = 0, bytes = 0;
    for (int k = 0; k < nk; k++) {
        med[k] = median(ns + k, runs, nk, tmp);
        sum += med[k];
        flops += cost[k].flops;
        bytes += cost[k].bytes;
    }
    double run = median(total, runs, 1, tmp);
    double ridge = peak->gflops / peak->gbps;
    char t[32], t2[32];
    printf("mtc profile: graph %s on cpu, %d thread%s, median of %d runs, inputs %s\n", graph,
           peak->threads, peak->threads == 1 ? "" : "s", runs, source);
    printf("roofline: %.1f GFLOP/s (f32 FMA peak), %.1f GB/s (memory), ridge at %.2f FLOP/B "
           "(%s)\n",
           peak->gflops, peak->gbps, ridge, peak_from);
    if (peak->cache_bytes > 0)
        printf("          %.1f GB/s (cache) for kernels of up to %.0f KiB, ridge at %.2f FLOP/B\n",
               peak->cache_gbps, peak->cache_bytes / 1024, peak->gflops / peak->cache_gbps);
    printf("\n");
    printf("%-8s %10s %6s %8s %8s %7s  %-7s %8s  %s\n", "kernel", "time", "share", "GFLOP/s",
           "GB/s", "FLOP/B", "bound", "of bound", "computes");
    for (int k = 0; k < nk; k++) {
        const mt_kernel *kern = &kp->kernels[k];
        double s = med[k] > 0 ? med[k] * 1e-9 : 1e-12;
        double ai = cost[k].bytes > 0 ? cost[k].flops / cost[k].bytes : 0;
        /* A kernel whose buffers all fit in the cache finds them there: what the kernel
         * before it wrote, or its own inputs from the previous run. */
        int cached = peak->cache_bytes > 0 && cost[k].bytes <= peak->cache_bytes;
        double gbps = cached ? peak->cache_gbps : peak->gbps;
        double need = fmax(cost[k].flops / (peak->gflops * 1e9), cost[k].bytes / (gbps * 1e9));
        const char *bound = ai >= peak->gflops / gbps ? "compute" : cached ? "cache" : "memory";
        printf("%-8s %10s %5.1f%% %8.2f %8.2f %7.2f  %-7s %7.0f%%  %.60s\n", kern->name,
               fmt_time(med[k], t, sizeof t), sum > 0 ? 100 * med[k] / sum : 0,
               cost[k].flops / s / 1e9, cost[k].bytes / s / 1e9, ai, bound, 100 * need / s,
               kern->note ? kern->note : "");
    }
    double s = sum > 0 ? sum * 1e-9 : 1e-12;
    printf("%-8s %10s %5.1f%% %8.2f %8.2f %7.2f\n", "kernels", fmt_time(sum, t, sizeof t), 100.0,
           flops / s / 1e9, bytes / s / 1e9, bytes > 0 ? flops / bytes : 0);
    printf("%-8s %10s         (outside the kernels: %s for binding buffers, copying updates "
           "and outputs, and the timing itself)\n",
           "run", fmt_time(run, t, sizeof t), fmt_time(run > sum ? run - sum : 0, t2, sizeof t2));
    mt_free(tmp);
    mt_free(med);
}

/* --peak G,B[,C]: the cache level, when given, holds the L2 of every thread. */
static int parse_peak(const char *s, int threads, mtc_peak *p)
{
    char *end;
    p->gflops = strtod(s, &end);
    if (*end != ',')
        return 0;
    p->gbps = strtod(end + 1, &end);
    if (*end == ',') {
        p->cache_gbps = strtod(end + 1, &end);
        long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
        p->cache_bytes = (double)(l2 > 0 ? l2 : 256 * 1024) * threads;
        if (!(p->cache_gbps > 0) || !isfinite(p->cache_gbps))
            return 0;
    }
    return *end == 0 && p->gflops > 0 && p->gbps > 0 && isfinite(p->gflops) && isfinite(p->gbps);
}

int mtc_cmd_profile(int argc, char **argv)
{
    const char *file = NULL, *in_path = NULL, *backend = "cpu", *peak_arg = NULL;
    int runs = 20, remeasure = 0;
    if (mtc_wants_help(argc, argv)) {
        fputs(usage_text, stdout);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--in") || !strcmp(a, "--runs") || !strcmp(a, "--backend") ||
            !strcmp(a, "--peak")) {
            if (i + 1 >= argc)
                return mtc_usage_error("profile", "%s needs a value", a);
            const char *v = argv[++i];
            if (!strcmp(a, "--in")) {
                in_path = v;
            } else if (!strcmp(a, "--backend")) {
                backend = v;
            } else if (!strcmp(a, "--peak")) {
                peak_arg = v;
            } else {
                char *end;
                long n = strtol(v, &end, 10);
                if (*end || n < 1 || n > 1000000)
                    return mtc_usage_error("profile",
                                           "--runs needs a count from 1 to 1000000, "
                                           "not '%s'",
                                           v);
                runs = (int)n;
            }
        } else if (!strcmp(a, "--remeasure")) {
            remeasure = 1;
        } else if (a[0] == '-' && a[1]) {
            return mtc_usage_error("profile", "unknown flag '%s'", a);
        } else if (!file) {
            file = a;
        } else {
            return mtc_usage_error("profile", "more than one graph file ('%s' and '%s')", file, a);
        }
    }
    if (!file)
        return mtc_usage_error("profile", "no graph file given");
    if (strcmp(backend, "cpu"))
        return mtc_usage_error("profile",
                               "only the cpu backend is timed kernel by kernel, not "
                               "'%s'",
                               backend);
    mtc_peak peak = {0};
    if (peak_arg && !parse_peak(peak_arg, mt_pool_default_threads(), &peak))
        return mtc_usage_error("profile",
                               "--peak needs positive numbers GFLOPS,GBPS or "
                               "GFLOPS,GBPS,CACHE_GBPS, not '%s'",
                               peak_arg);

    mt_diag d;
    mt_diag_init(&d);
    mt_graph *g = NULL;
    mt_tensor_map *in = NULL;
    profile pr = {0};
    mt_kcost *cost = NULL;
    double *ns = NULL, *total = NULL;
    int rc = 1, warm = 3;
    if (mt_graph_parse_file(file, &g, &d) != MT_OK)
        goto done;
    if (in_path && mt_safetensors_load(in_path, &in, &d) != MT_OK)
        goto done;
    if (mt_cpu_compile(g, &pr.cpu, &d) != MT_OK)
        goto done;
    pr.kp = mt_cpu_kernels(pr.cpu);
    pr.fns = mt_cpu_kernel_fns(pr.cpu);
    if (bind_leaves(&pr, g, in, in_path, &d) != MT_OK)
        goto done;
    int nk = pr.kp->nkernels;
    cost = mt_calloc((size_t)nk + 1, sizeof *cost);
    ns = mt_calloc((size_t)runs * (size_t)nk + 1, sizeof *ns);
    total = mt_calloc((size_t)runs, sizeof *total);
    if (!cost || !ns || !total) {
        mt_diag_set(&d, MT_ERR_NOMEM, "profile: out of memory");
        goto done;
    }
    for (int k = 0; k < nk; k++)
        if (mt_kernel_cost(pr.kp, &pr.kp->kernels[k], &cost[k], &d) != MT_OK)
            goto done;
    if (time_runs(&pr, warm, runs, ns, total, &d) != MT_OK)
        goto done;
    int threads = mt_pool_default_threads();
    const char *peak_from = "given by --peak";
    if (peak_arg) {
        peak.threads = threads;
    } else {
        if (mtc_peak_get(threads, remeasure, &peak, &d) != MT_OK)
            goto done;
        peak_from = peak.cached ? "measured before, from the cache" : "measured now";
        if (peak.busy)
            fprintf(stderr,
                    "mtc profile: the roofline was measured on a busy machine (load average %.1f)"
                    " and may be low; run with --remeasure when the machine is quiet\n",
                    peak.load);
    }
    print_report(&pr, mt_graph_name(g), in_path ? in_path : "random", runs, ns, total, &peak,
                 peak_from, cost);
    rc = 0;
done:
    if (rc)
        mtc_fail(&d);
    mt_free(cost);
    mt_free(ns);
    mt_free(total);
    profile_fini(&pr);
    mt_tensor_map_free(in);
    mt_graph_free(g);
    mt_diag_fini(&d);
    return rc;
}
