/* cmd_gradcheck.c - `mtc gradcheck FILE.mt [--in IN.safetensors] [--seed N] [--eps E] [--tol T]`:
 * checks `mtc grad` against central differences in f64 (passes/gradcheck.h does the work). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ir/alloc.h"
#include "passes/gradcheck.h"
#include "tools/cmd.h"

static const char usage_text[] =
    "usage: mtc gradcheck FILE.mt [--in IN.safetensors] [--seed N] [--eps E] [--tol T]\n"
    "\n"
    "Checks the gradients of the FIRST output (which must hold one element) with respect to\n"
    "every param against central differences, with the graph rebuilt in f64 and run on the\n"
    "reference interpreter. Prints one line per param and exits 0 when every gradient matches,\n"
    "1 otherwise; then it checks each node's vector-Jacobian rule alone, with the operand values\n"
    "the node sees, and names the first wrong one.\n"
    "  --in IN.safetensors  values for every input and param (f32 or f64, converted to f64)\n"
    "  --seed N             seed of the random values used without --in, and of the random\n"
    "                       cotangents of the per-node check (default: from the clock; printed)\n"
    "                       Random values are uniform(-1,1), and uniform(0.5,1.5) for a leaf\n"
    "                       that is directly the operand of log, sqrt or inv, the base of pow or\n"
    "                       the divisor of div. Other graphs that need positive values take --in.\n"
    "  --eps E              the central-difference step (default 1e-6)\n"
    "  --tol T              an element matches when |analytic - numeric| <= T * max(1,|numeric|)\n"
    "                       (default 1e-5)\n";

static int parse_double(const char *s, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return *s && !*end && errno == 0 && *v > 0;
}

/* Reads every input and param of g (the f64 graph) by name from the file at `path`, converting
 * f32 tensors to f64. */
static mt_status load_leaves(const mt_graph *g, const char *path, mt_tensor **leaves, mt_diag *d)
{
    mt_tensor_map *m = NULL;
    mt_status st = mt_safetensors_load(path, &m, d);
    for (int id = 0; id < g->nnodes && st == MT_OK; id++) {
        const mt_node *n = mt_graph_node(g, id);
        if (n->op != MT_OP_INPUT && n->op != MT_OP_PARAM)
            continue;
        const mt_tensor *t = mt_tensor_map_get(m, n->name);
        if (!t) {
            st = mt_diag_set_at(d, MT_ERR_ARG, path, 0, 0, "no tensor '%s' for %s %%%s", n->name,
                                mt_op_name(n->op), n->name);
            break;
        }
        mt_type want = n->type;
        want.dtype = t->type.dtype;
        if (!mt_type_equal(&want, &t->type)) {
            char a[MT_TYPE_STR_MAX], b[MT_TYPE_STR_MAX];
            mt_type_str(&n->type, b, sizeof b);
            st = mt_diag_set_at(d, MT_ERR_SHAPE, path, 0, 0,
                                "tensor '%s' is %s but %%%s has shape %s", n->name,
                                mt_type_str(&t->type, a, sizeof a), n->name, strchr(b, '['));
            break;
        }
        leaves[id] = mt_tensor_new(n->type);
        if (!leaves[id]) {
            st = mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
            break;
        }
        double *dst = leaves[id]->data;
        for (int64_t i = 0; i < mt_type_numel(&n->type); i++)
            dst[i] = t->type.dtype == MT_DTYPE_F64 ? ((const double *)t->data)[i]
                                                   : ((const float *)t->data)[i];
    }
    mt_tensor_map_free(m);
    return st;
}

static void print_table(const mt_graph *g, const mt_gradcheck_result *res, int n)
{
    printf("%-24s %13s %13s  %s\n", "param", "max abs err", "max rel err", "status");
    for (int i = 0; i < n; i++) {
        char name[256];
        snprintf(name, sizeof name, "%%%s", mt_graph_node_name(g, res[i].wrt));
        printf("%-24s %13.3g %13.3g  %s\n", name, res[i].max_abs, res[i].max_rel,
               res[i].ok ? "ok" : "FAIL");
    }
}

/* Ops with points where the derivative does not exist; there any subgradient is valid (SPEC
 * section 2), and central differences average the two sides instead. */
static int has_kinks(mt_op op)
{
    return op == MT_OP_RELU || op == MT_OP_ABS || op == MT_OP_MAXIMUM || op == MT_OP_MINIMUM ||
           op == MT_OP_MAX || op == MT_OP_MAXPOOL2D;
}

static void print_culprit(const mt_graph *g, const mt_gradcheck_node *bad)
{
    if (bad->node < 0) {
        printf("every node's vector-Jacobian rule matches central differences on its own: the\n"
               "difference comes from how they combine, or from a point where the function is not\n"
               "differentiable (a tie in max, relu or abs at 0); try another --seed or --in\n");
        return;
    }
    const mt_node *n = mt_graph_node(g, bad->node);
    printf("first node whose vector-Jacobian rule disagrees with central differences:\n"
           "  %%%s = %s (node %d, line %d), d/d%%%s: max abs err %.3g, max rel err %.3g\n",
           n->name, mt_op_name(n->op), bad->node, n->line,
           mt_graph_node_name(g, n->in[bad->operand]), bad->max_abs, bad->max_rel);
    if (has_kinks(n->op))
        printf("  %s is not differentiable everywhere: if an operand sits exactly on a kink or a\n"
               "  tie, any subgradient is valid and central differences differ from it\n",
               mt_op_name(n->op));
}

int mtc_cmd_gradcheck(int argc, char **argv)
{
    const char *file = NULL, *in = NULL;
    double eps = 1e-6, tol = 1e-5;
    uint64_t seed = (uint64_t)time(NULL);
    if (mtc_wants_help(argc, argv)) {
        fputs(usage_text, stdout);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--in") || !strcmp(a, "--seed") || !strcmp(a, "--eps") ||
            !strcmp(a, "--tol")) {
            if (i + 1 >= argc)
                return mtc_usage_error("gradcheck", "%s needs a value", a);
            const char *v = argv[++i];
            char *end;
            if (!strcmp(a, "--in")) {
                in = v;
            } else if (!strcmp(a, "--seed")) {
                errno = 0;
                seed = strtoull(v, &end, 10);
                if (!*v || *end || errno || v[0] == '-')
                    return mtc_usage_error("gradcheck",
                                           "--seed needs a non-negative integer, "
                                           "got '%s'",
                                           v);
            } else if (!parse_double(v, !strcmp(a, "--eps") ? &eps : &tol)) {
                return mtc_usage_error("gradcheck", "%s needs a positive number, got '%s'", a, v);
            }
        } else if (a[0] == '-' && a[1]) {
            return mtc_usage_error("gradcheck", "unknown flag '%s'", a);
        } else if (!file) {
            file = a;
        } else {
            return mtc_usage_error("gradcheck", "more than one graph file ('%s' and '%s')", file,
                                   a);
        }
    }
    if (!file)
        return mtc_usage_error("gradcheck", "no graph file given");

    mt_diag d;
    mt_diag_init(&d);
    mt_graph *g32 = NULL, *g = NULL;
    mt_tensor **leaves = NULL;
    int *params = NULL, nparams = 0, rc = 1;
    mt_gradcheck_result *res = NULL;
    if (mt_graph_parse_file(file, &g32, &d) != MT_OK)
        goto done;
    if (mt_gradcheck_to_f64(g32, &g, &d) != MT_OK)
        goto done;
    leaves = mt_calloc((size_t)g->nnodes, sizeof *leaves);
    params = mt_calloc((size_t)g->nnodes + 1, sizeof *params);
    res = mt_calloc((size_t)g->nnodes + 1, sizeof *res);
    if (!leaves || !params || !res) {
        mt_diag_set(&d, MT_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (in) {
        if (load_leaves(g, in, leaves, &d) != MT_OK)
            goto done;
        printf("graph %s: inputs from %s\n", mt_graph_name(g), in);
    } else {
        if (mt_gradcheck_random_leaves(g, seed, leaves, &d) != MT_OK)
            goto done;
        printf("graph %s: random inputs, seed %" PRIu64 "\n", mt_graph_name(g), seed);
    }
    for (int id = 0; id < g->nnodes; id++)
        if (mt_graph_node_op(g, id) == MT_OP_PARAM)
            params[nparams++] = id;
    if (!g->has_outputs) {
        mt_diag_set(&d, MT_ERR_ARG, "the graph has no output");
        goto done;
    }
    printf("gradient of %%%s by central differences in f64 (eps %g, tol %g)\n",
           mt_graph_node_name(g, g->outputs[0]), eps, tol);
    if (nparams == 0) {
        printf("no params: nothing to check\n");
        rc = 0;
        goto done;
    }
    if (mt_gradcheck_compare(g, (const mt_tensor *const *)leaves, params, nparams, eps, tol, res,
                             &d) != MT_OK)
        goto done;
    print_table(g, res, nparams);
    int ok = 1;
    for (int i = 0; i < nparams; i++)
        ok &= res[i].ok;
    if (ok) {
        printf("all %d gradients match\n", nparams);
        rc = 0;
        goto done;
    }
    mt_gradcheck_node bad;
    if (mt_gradcheck_nodes(g, (const mt_tensor *const *)leaves, seed, eps, tol, &bad, &d) != MT_OK)
        goto done;
    print_culprit(g, &bad);
    fflush(stdout);
    rc = 1;
    mt_diag_fini(&d);
    mt_diag_init(&d); /* a gradient mismatch is reported above, not as a diag */
done:
    if (rc && d.status != MT_OK) {
        fflush(stdout);
        if (!d.file[0])
            snprintf(d.file, sizeof d.file, "%s", file);
        mtc_fail(&d);
    }
    if (leaves && g)
        for (int id = 0; id < g->nnodes; id++)
            mt_tensor_free(leaves[id]);
    mt_free(leaves);
    mt_free(params);
    mt_free(res);
    mt_graph_free(g);
    mt_graph_free(g32);
    mt_diag_fini(&d);
    return rc;
}
