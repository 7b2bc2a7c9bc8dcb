/* cmd_dump.c - `mtc dump FILE.mt [--stage STAGE] [--format text|dot] [--all]`.
 *
 * Prints the program at one stage of the pipeline. The graph stages are MTIR (or Graphviz);
 * later stages print their own text. Stages that this build does not have are a user error
 * naming the stage.
 */
#include <stdio.h>
#include <string.h>

#include "codegen/cpu.h"
#include "codegen/gpu.h"
#include "ir/alloc.h"
#include "ir/graph.h"
#include "passes/pass.h"
#include "passes/stats.h"
#include "tools/cmd.h"

static const char usage_text[] =
    "usage: mtc dump FILE.mt [--stage STAGE] [--format text|dot] [--all] [--wrt a,b,...]\n"
    "                [--provenance] [--stats] [--why]\n"
    "\n"
    "Prints the program at a stage of the pipeline.\n"
    "  --stage STAGE   parsed (default), grad, optimized, fused, kernels, llvm, cuda, opencl\n"
    "  --format F      text (MTIR, default) or dot (Graphviz; graph stages only)\n"
    "  --all           every stage, each after a header line '# stage: NAME'\n"
    "  --wrt LIST      differentiate with respect to these values: adds the grad stage, and\n"
    "                  the later stages work on the gradient graph (--stage grad alone\n"
    "                  differentiates with respect to every param)\n"
    "  --provenance    in the grad stage, print beside each backward node the forward node and\n"
    "                  rule it came from\n"
    "  --stats         instead of the program, a table per pass: nodes, FLOPs, bytes a naive\n"
    "                  execution moves, and peak live memory\n"
    "  --why           in the fused stage, say why each stored value is not fused into its\n"
    "                  readers\n";

static const char *const stages[] = {"parsed",  "grad", "optimized", "fused",
                                     "kernels", "llvm", "cuda",      "opencl"};
enum { NSTAGES = sizeof stages / sizeof stages[0] };

typedef struct dump_opts {
    int dot, provenance, why;
    const char *wrt;  /* NULL: no grad stage unless asked for by name */
    const char *file; /* the graph file, to locate --wrt errors */
} dump_opts;

/* Prints graph g in the requested format. */
static int print_graph(const mt_graph *g, const dump_opts *o, unsigned flags, mt_diag *d)
{
    char *s = o->dot ? mt_graph_dot(g) : mt_graph_print_ex(g, flags);
    if (!s)
        return mt_diag_set(d, MT_ERR_NOMEM, "out of memory"), 1;
    fputs(s, stdout);
    mt_free(s);
    return 0;
}

/* The gradient graph of g for the --wrt list (every param when NULL). */
static mt_status grad_of(const mt_graph *g, const dump_opts *o, mt_graph **out, mt_diag *d)
{
    int *ids = NULL, n = 0;
    if (!mtc_wrt_ids(g, o->wrt, o->file, &ids, &n, d))
        return d->status;
    mt_status st = mt_pass_grad(g, ids, n, out, d);
    mt_free(ids);
    return st;
}

/* Checks the --wrt list as the grad stage would take it, for a dump that does not use it. */
static int check_wrt(const mt_graph *g, const dump_opts *o, mt_diag *d)
{
    mt_graph *gr = NULL;
    mt_status st = grad_of(g, o, &gr, d);
    mt_graph_free(gr);
    return st != MT_OK;
}

/* The graph at stage k (0 parsed, 1 grad, 2 optimized): *out is g itself for parsed, else a new
 * graph the caller frees. */
static mt_status graph_at(const mt_graph *g, int k, const dump_opts *o, mt_graph **out, mt_diag *d)
{
    *out = NULL;
    if (k == 0) {
        *out = (mt_graph *)g;
        return MT_OK;
    }
    mt_graph *gr = NULL;
    if ((k == 1 || o->wrt) && grad_of(g, o, &gr, d) != MT_OK)
        return d->status;
    if (k == 1) {
        *out = gr;
        return MT_OK;
    }
    int n;
    const mt_pass *const *passes = mt_passes_default(&n);
    mt_status st = mt_pipeline_run(gr ? gr : g, passes, n, NULL, NULL, out, d);
    mt_graph_free(gr);
    return st;
}

/* Prints stage `k` of graph g. Returns 0, or 1 with d set. */
static int dump_stage(const mt_graph *g, int k, const dump_opts *o, mt_diag *d)
{
    if (k <= 2) {
        mt_graph *s = NULL;
        if (graph_at(g, k, o, &s, d) != MT_OK)
            return 1;
        int rc = print_graph(s, o, k == 1 && o->provenance ? MT_PRINT_NOTES : 0, d);
        if (s != g)
            mt_graph_free(s);
        return rc;
    }
    if (k <= 5) {
        /* fused, kernels, llvm: the CPU backend's view of the optimized graph. */
        mt_graph *s = NULL;
        if (graph_at(g, 2, o, &s, d) != MT_OK)
            return 1;
        char *text = k == 3   ? mt_cpu_dump_fused(s, o->why, d)
                     : k == 4 ? mt_cpu_dump_kernels(s, d)
                              : mt_cpu_dump_llvm(s, d);
        mt_graph_free(s);
        if (!text)
            return 1;
        fputs(text, stdout);
        mt_free(text);
        return 0;
    }
    /* cuda, opencl: the GPU schedule of the optimized graph, rendered as one translation
     * unit (codegen/c/render.h). */
    mt_graph *s = NULL;
    if (graph_at(g, 2, o, &s, d) != MT_OK)
        return 1;
    char *text = mt_gpu_dump_source(k == 6 ? &mt_c_cuda : &mt_c_opencl, s, d);
    mt_graph_free(s);
    if (!text)
        return 1;
    fputs(text, stdout);
    mt_free(text);
    return 0;
}

typedef struct stats_ctx {
    mt_buf *b;
    mt_diag *d;
    int failed;
} stats_ctx;

static void add_row(stats_ctx *c, const char *stage, const mt_graph *g)
{
    mt_stats s;
    if (mt_graph_stats(g, &s, c->d) != MT_OK) {
        c->failed = 1;
        return;
    }
    mt_stats_row(c->b, stage, &s);
}

static void stats_hook(void *ctx, const mt_pass *pass, const mt_graph *result)
{
    add_row(ctx, pass->name, result);
}

/* --stats: a row for the parsed graph, the gradient graph (with --wrt) and each pass. */
static int dump_stats(const mt_graph *g, const dump_opts *o, mt_diag *d)
{
    mt_buf b = {0};
    stats_ctx c = {&b, d, 0};
    mt_stats_header(&b);
    add_row(&c, "parsed", g);
    mt_graph *gr = NULL, *opt = NULL;
    if (o->wrt) {
        if (grad_of(g, o, &gr, d) != MT_OK) {
            mt_buf_fini(&b);
            return 1;
        }
        add_row(&c, "grad", gr);
    }
    int n;
    const mt_pass *const *passes = mt_passes_default(&n);
    mt_status st = mt_pipeline_run(gr ? gr : g, passes, n, stats_hook, &c, &opt, d);
    if (st == MT_OK) {
        mt_stats fs;
        if ((st = mt_cpu_stats(opt, &fs, d)) == MT_OK) {
            mt_stats_row(&b, "fused", &fs);
            mt_stats_updates(&b, &fs);
        }
    }
    mt_graph_free(gr);
    mt_graph_free(opt);
    char *text = mt_buf_take(&b);
    if (st != MT_OK || c.failed || !text) {
        mt_free(text);
        if (!text)
            mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
        return 1;
    }
    fputs(text, stdout);
    mt_free(text);
    return 0;
}

int mtc_cmd_dump(int argc, char **argv)
{
    const char *file = NULL, *stage = "parsed", *format = "text";
    int all = 0, stats = 0;
    dump_opts o = {0};
    if (mtc_wants_help(argc, argv)) {
        fputs(usage_text, stdout);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--stage") || !strcmp(a, "--format") || !strcmp(a, "--wrt")) {
            if (i + 1 >= argc)
                return mtc_usage_error("dump", "%s needs a value", a);
            *(!strcmp(a, "--stage")    ? &stage
              : !strcmp(a, "--format") ? &format
                                       : &o.wrt) = argv[++i];
        } else if (!strcmp(a, "--all")) {
            all = 1;
        } else if (!strcmp(a, "--stats")) {
            stats = 1;
        } else if (!strcmp(a, "--why")) {
            o.why = 1;
        } else if (!strcmp(a, "--provenance")) {
            o.provenance = 1;
        } else if (a[0] == '-' && a[1]) {
            return mtc_usage_error("dump", "unknown flag '%s'", a);
        } else if (!file) {
            file = a;
        } else {
            return mtc_usage_error("dump", "more than one graph file ('%s' and '%s')", file, a);
        }
    }
    if (!file)
        return mtc_usage_error("dump", "no graph file given");
    o.file = file;
    if (!strcmp(format, "dot"))
        o.dot = 1;
    else if (strcmp(format, "text"))
        return mtc_usage_error("dump", "unknown format '%s' (text or dot)", format);
    int k = -1;
    for (int i = 0; i < NSTAGES; i++)
        if (!strcmp(stage, stages[i]))
            k = i;
    if (k < 0)
        return mtc_usage_error("dump", "unknown stage '%s'", stage);
    /* Graphviz draws graphs; the later stages are kernels and code, which it cannot show. */
    if (o.dot && (stats || all || k > 2))
        return mtc_usage_error("dump",
                               "--format dot applies to the graph stages (parsed, grad, "
                               "optimized), not %s",
                               stats ? "--stats"
                               : all ? "--all"
                                     : stage);

    mt_diag d;
    mt_diag_init(&d);
    mt_graph *g = NULL;
    int rc = 1;
    if (mt_graph_parse_file(file, &g, &d) == MT_OK) {
        rc = 0;
        if (o.wrt && k == 0 && !all && !stats)
            rc = check_wrt(g, &o, &d); /* no stage uses it, but a wrong one is still wrong */
        if (stats)
            rc = dump_stats(g, &o, &d);
        for (int i = all ? 0 : k; !stats && i <= (all ? NSTAGES - 1 : k) && rc == 0; i++) {
            if (all && i == 1 && !o.wrt)
                continue; /* the grad stage is part of --all only when --wrt asks for it */
            if (all)
                printf("# stage: %s\n", stages[i]);
            rc = dump_stage(g, i, &o, &d);
        }
    }
    if (rc)
        mtc_fail(&d);
    mt_graph_free(g);
    mt_diag_fini(&d);
    return rc;
}
