/* cmd_bisect.c - `mtc bisect FILE.mt [--seed N] [--tol T] [--in IN.safetensors]`.
 *
 * Finds the pass that changed the numbers. The reference interpreter runs the graph before
 * and after every pass of the default pipeline on the same inputs; the first pass after which
 * an output differs by more than the tolerance is named, together with the first node (in the
 * new graph's order) whose value differs from the value of the same name before the pass.
 * Passes keep the names of the nodes that survive and always keep output names, so matching
 * by name is what lines the two graphs up.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/alloc.h"
#include "ir/graph.h"
#include "passes/pass.h"
#include "runtime/bind.h"
#include "runtime/interp.h"
#include "runtime/tensor.h"
#include "tools/cmd.h"

static const char usage_text[] =
    "usage: mtc bisect FILE.mt [--seed N] [--tol T] [--in IN.safetensors]\n"
    "\n"
    "Runs the reference interpreter on the graph before and after every pass of the default\n"
    "pipeline (the 'optimized' stage) on the same inputs, and names the first pass, and the\n"
    "first node, whose numbers change by more than the tolerance.\n"
    "  --seed N   seed of the random inputs: every input and param uniform in [-1, 1)\n"
    "             (default 1)\n"
    "  --tol T    a value differs when |after - before| > T * max(1, |before|) (default 1e-5)\n"
    "  --in FILE  feed the inputs and params by name from a safetensors file instead\n"
    "\n"
    "Exit status: 0 when every pass keeps the numbers, 1 when one changes them (or on a user\n"
    "error), 2 on a usage error.\n";

/* splitmix64: a tiny, well-mixed generator; the inputs only need to be reproducible. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/* Every input and param of g, uniform in [-1, 1), in declaration order from one stream. */
static mt_status random_leaves(const mt_graph *g, uint64_t seed, mt_tensor_map **out, mt_diag *d)
{
    mt_tensor_map *m = mt_tensor_map_new();
    if (!m)
        return mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
    uint64_t state = seed;
    for (int i = 0; i < g->nnodes; i++) {
        const mt_node *n = &g->nodes[i];
        if (!mt_op_is(n->op, MT_F_LEAF))
            continue;
        mt_tensor *t = mt_tensor_new(n->type);
        if (!t) {
            mt_tensor_map_free(m);
            return mt_diag_set(d, MT_ERR_NOMEM, "out of memory for %%%s", n->name);
        }
        int64_t count = mt_type_numel(&n->type);
        for (int64_t k = 0; k < count; k++) {
            double u = (double)(next_random(&state) >> 11) * 0x1p-53 * 2.0 - 1.0;
            if (n->type.dtype == MT_DTYPE_F32)
                ((float *)t->data)[k] = (float)u;
            else
                ((double *)t->data)[k] = u;
        }
        if (mt_tensor_map_put(m, n->name, t) != MT_OK) {
            mt_tensor_map_free(m);
            return mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
        }
    }
    *out = m;
    return MT_OK;
}

/* One graph and the interpreter's value of each of its nodes. */
typedef struct run {
    mt_graph *g;
    mt_tensor **values;
} run;

static void run_fini(run *r)
{
    if (r->values && r->g)
        for (int i = 0; i < r->g->nnodes; i++)
            mt_tensor_free(r->values[i]);
    mt_free(r->values);
    mt_graph_free(r->g);
    r->g = NULL;
    r->values = NULL;
}

/* Evaluates r->g (which r then owns) on the named tensors of m. */
static mt_status evaluate(run *r, const mt_tensor_map *m, const char *source, mt_diag *d)
{
    size_t n = (size_t)r->g->nnodes + 1;
    const mt_tensor **leaves = mt_calloc(n, sizeof *leaves);
    r->values = mt_calloc(n, sizeof *r->values);
    mt_status st = leaves && r->values ? MT_OK : mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
    if (st == MT_OK)
        st = mt_bind_leaves(r->g, m, source, leaves, d);
    if (st == MT_OK)
        st = mt_interp_eval(r->g, (const mt_tensor *const *)leaves, r->values, d);
    mt_free(leaves);
    return st;
}

/* How far `after` is from `before`. */
typedef struct error {
    double abs, rel;
    int bad; /* some element differs by more than the tolerance */
} error;

static void compare(const mt_tensor *before, const mt_tensor *after, double tol, error *e)
{
    if (!mt_type_equal(&before->type, &after->type)) {
        e->abs = e->rel = INFINITY;
        e->bad = 1;
        return;
    }
    int64_t count = mt_type_numel(&before->type);
    int f32 = before->type.dtype == MT_DTYPE_F32;
    for (int64_t i = 0; i < count; i++) {
        double x = f32 ? ((const float *)before->data)[i] : ((const double *)before->data)[i];
        double y = f32 ? ((const float *)after->data)[i] : ((const double *)after->data)[i];
        double a, r;
        if (isnan(x) || isnan(y)) {
            a = r = isnan(x) && isnan(y) ? 0 : INFINITY;
        } else if (x == y) {
            a = r = 0; /* also equal infinities */
        } else {
            a = fabs(x - y);
            r = x != 0 ? a / fabs(x) : INFINITY;
        }
        if (a > e->abs || isnan(a))
            e->abs = a;
        if (r > e->rel)
            e->rel = r;
        if (!(a <= tol * fmax(1.0, fabs(x))))
            e->bad = 1;
    }
}

static int parse_args(int argc, char **argv, const char **file, uint64_t *seed, double *tol,
                      const char **in)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--seed") || !strcmp(a, "--tol") || !strcmp(a, "--in")) {
            if (i + 1 >= argc)
                return mtc_usage_error("bisect", "%s needs a value", a);
            const char *v = argv[++i];
            char *end = NULL;
            if (!strcmp(a, "--seed")) {
                unsigned long long s = strtoull(v, &end, 0);
                if (!*v || *end || v[0] == '-')
                    return mtc_usage_error("bisect", "--seed needs an integer >= 0, got '%s'", v);
                *seed = s;
            } else if (!strcmp(a, "--tol")) {
                *tol = strtod(v, &end);
                if (!*v || *end || !(*tol >= 0) || isinf(*tol))
                    return mtc_usage_error("bisect", "--tol needs a number >= 0, got '%s'", v);
            } else {
                *in = v;
            }
        } else if (a[0] == '-' && a[1]) {
            return mtc_usage_error("bisect", "unknown flag '%s'", a);
        } else if (!*file) {
            *file = a;
        } else {
            return mtc_usage_error("bisect", "more than one graph file ('%s' and '%s')", *file, a);
        }
    }
    if (!*file)
        return mtc_usage_error("bisect", "no graph file given");
    return 0;
}

/* Nodes that compute: what `mtc dump --stats` counts. */
static int ncompute(const mt_graph *g)
{
    int n = 0;
    for (int i = 0; i < g->nnodes; i++)
        n += !mt_op_is(g->nodes[i].op, MT_F_LEAF);
    return n;
}

/* Reports the first node of `after` that differs from the node of the same name in `before`;
 * returns 1 when one was found. */
static int report_node(const run *before, const run *after, double tol)
{
    for (int j = 0; j < after->g->nnodes; j++) {
        const mt_node *n = &after->g->nodes[j];
        int k = mt_graph_find(before->g, n->name);
        if (k < 0 || !mt_type_equal(&before->g->nodes[k].type, &n->type))
            continue;
        error e = {0, 0, 0};
        compare(before->values[k], after->values[j], tol, &e);
        if (e.bad) {
            printf("  first differing node: %%%s = %s (max abs err %.3g, max rel err %.3g)\n",
                   n->name, mt_op_name(n->op), e.abs, e.rel);
            return 1;
        }
    }
    return 0;
}

int mtc_cmd_bisect(int argc, char **argv)
{
    if (mtc_wants_help(argc, argv)) {
        fputs(usage_text, stdout);
        return 0;
    }
    const char *file = NULL, *in = NULL;
    uint64_t seed = 1;
    double tol = 1e-5;
    int rc = parse_args(argc, argv, &file, &seed, &tol, &in);
    if (rc)
        return rc;

    mt_diag d;
    mt_diag_init(&d);
    mt_tensor_map *leaves = NULL;
    run cur = {0}, next = {0};
    rc = 1;
    if (mt_graph_parse_file(file, &cur.g, &d) != MT_OK)
        goto done;
    if (in ? mt_safetensors_load(in, &leaves, &d) != MT_OK
           : random_leaves(cur.g, seed, &leaves, &d) != MT_OK)
        goto done;
    if (evaluate(&cur, leaves, in ? in : file, &d) != MT_OK)
        goto done;

    int npasses;
    const mt_pass *const *passes = mt_passes_default(&npasses);
    for (int p = 0; p < npasses; p++) {
        /* Through the pipeline, one pass at a time: it verifies and names the pass. */
        if (mt_pipeline_run(cur.g, &passes[p], 1, NULL, NULL, &next.g, &d) != MT_OK)
            goto done;
        if (evaluate(&next, leaves, in ? in : file, &d) != MT_OK)
            goto done;
        error all = {0, 0, 0};
        int first_bad = -1;
        for (int i = 0; i < cur.g->noutputs; i++) {
            error e = {0, 0, 0};
            compare(cur.values[cur.g->outputs[i]], next.values[next.g->outputs[i]], tol, &e);
            if (e.bad && first_bad < 0)
                first_bad = i;
            all.abs = fmax(all.abs, e.abs);
            all.rel = fmax(all.rel, e.rel);
        }
        printf("%-10s nodes %4d -> %-4d %-7s max abs err %.3g, max rel err %.3g\n", passes[p]->name,
               ncompute(cur.g), ncompute(next.g), first_bad >= 0 ? "CHANGED" : "ok", all.abs,
               all.rel);
        if (first_bad >= 0) {
            printf("  first differing output: %%%s\n",
                   cur.g->nodes[cur.g->outputs[first_bad]].name);
            report_node(&cur, &next, tol);
            printf("bisect: pass '%s' changes the numbers of %s beyond tol %g\n", passes[p]->name,
                   file, tol);
            rc = 1;
            goto done;
        }
        run_fini(&cur);
        cur = next;
        next = (run){0};
    }
    if (in)
        printf("bisect: all %d passes keep the numbers (inputs from %s, tol %g)\n", npasses, in,
               tol);
    else
        printf("bisect: all %d passes keep the numbers (seed %llu, tol %g)\n", npasses,
               (unsigned long long)seed, tol);
    rc = 0;
done:
    if (rc && d.status != MT_OK)
        mtc_fail(&d);
    run_fini(&cur);
    run_fini(&next);
    mt_tensor_map_free(leaves);
    mt_diag_fini(&d);
    return rc;
}
