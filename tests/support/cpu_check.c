/* cpu_check.c - compile, run with several thread counts, compare with the interpreter. */
#include "tests/support/cpu_check.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cpu.h"
#include "ir/alloc.h"
#include "runtime/interp.h"
#include "tests/support/random.h"

static double get(const mt_tensor *t, int64_t i)
{
    return t->type.dtype == MT_DTYPE_F32 ? ((const float *)t->data)[i]
                                         : ((const double *)t->data)[i];
}

/* The mean magnitude of the finite elements of t. */
static double mean_magnitude(const mt_tensor *t)
{
    int64_t n = mt_type_numel(&t->type);
    double sum = 0;
    for (int64_t i = 0; i < n; i++)
        if (isfinite(get(t, i)))
            sum += fabs(get(t, i)) / (double)n;
    return sum;
}

/* scale[id]: the largest mean magnitude over node id and everything it is computed from. */
static double *computation_scales(const mt_graph *g, mt_tensor *const *values)
{
    double *scale = calloc((size_t)g->nnodes + 1, sizeof *scale);
    assert_non_null(scale);
    for (int i = 0; i < g->nnodes; i++) {
        scale[i] = mean_magnitude(values[i]);
        for (int j = 0; j < g->nodes[i].nin; j++)
            if (scale[g->nodes[i].in[j]] > scale[i])
                scale[i] = scale[g->nodes[i].in[j]];
    }
    return scale;
}

/* "" when output k matches; else what differs. */
static void compare(const mt_graph *g, int k, const mt_tensor *got, const mt_tensor *want,
                    double scale, char *msg, size_t size)
{
    char ts[MT_TYPE_STR_MAX];
    const char *name = g->nodes[g->outputs[k]].name;
    int64_t n = mt_type_numel(&want->type);
    scale = scale > 1e-3 ? scale : 1e-3;
    double tol = want->type.dtype == MT_DTYPE_F32 ? 1e-5 : 1e-12;
    msg[0] = 0;
    if (!mt_type_equal(&got->type, &want->type)) {
        snprintf(msg, size, "output %%%s: cpu gives %s", name,
                 mt_type_str(&got->type, ts, sizeof ts));
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        double a = get(got, i), b = get(want, i);
        if (isnan(a) && isnan(b))
            continue;
        if (isinf(b) && a == b)
            continue;
        double ref = fabs(b) > scale ? fabs(b) : scale;
        double err = fabs(a - b) / ref;
        if (!(err <= tol)) {
            snprintf(msg, size,
                     "output %%%s (%s) element %lld: cpu %.17g, interp %.17g (relative error %g)",
                     name, mt_type_str(&want->type, ts, sizeof ts), (long long)i, a, b, err);
            return;
        }
    }
}

static void fail_with_graph(const mt_graph *g, const char *msg)
{
    char *text = mt_graph_print(g);
    print_message("%s", text ? text : "");
    mt_free(text);
    fail_msg("%s", msg);
}

/* Runs p once more into output buffers full of NaNs (as the program API reuses buffers): the
 * kernels must write every element, whatever the buffer held, and give the same bits as the
 * runs into fresh outputs (`got`, one thread). */
static void check_into_garbage(const mt_graph *g, mt_cpu_program *p, const mt_tensor *const *leaves,
                               mt_tensor *const *got)
{
    int n = g->nnodes, no = g->noutputs;
    const void **data = calloc((size_t)n + 1, sizeof *data);
    void **out = calloc((size_t)no + 1, sizeof *out);
    assert_true(data && out);
    for (int i = 0; i < n; i++)
        data[i] = leaves[i] ? leaves[i]->data : NULL;
    for (int k = 0; k < no; k++) {
        assert_non_null(out[k] = malloc(got[k]->nbytes));
        memset(out[k], 0xff, got[k]->nbytes);
    }
    mt_diag d;
    mt_diag_init(&d);
    assert_int_equal(mt_cpu_set_threads(p, 1, &d), MT_OK);
    if (mt_cpu_run_buffers(p, data, out, &d) != MT_OK)
        fail_msg("run into given buffers: %s", d.msg);
    for (int k = 0; k < no; k++)
        if (memcmp(out[k], got[k]->data, got[k]->nbytes) != 0)
            fail_with_graph(g, "an output run into a buffer of NaNs differs from a fresh one");
    for (int k = 0; k < no; k++)
        free(out[k]);
    free(out);
    free(data);
    mt_diag_fini(&d);
}

const char *mt_check_target = NULL;

/* mt_check_target's program for g, run twice on `leaves`: the outputs of each run in got[0 ..
 * no-1] and got[no .. 2no-1]. */
static void run_target(const mt_graph *g, const mt_tensor *const *leaves, mt_tensor **got)
{
    mt_diag d;
    mt_diag_init(&d);
    mt_program *p = NULL;
    if (mt_program_compile(g, mt_check_target, &p, &d) != MT_OK) {
        char *text = mt_graph_print(g);
        print_message("%s%s\n", text ? text : "", d.log ? d.log : "");
        mt_free(text);
        fail_msg("%s: compile: %s", mt_check_target, d.msg);
    }
    for (int i = 0; i < g->nnodes; i++)
        if (leaves[i] &&
            mt_program_set(p, g->nodes[i].name, leaves[i]->data, leaves[i]->nbytes, &d) != MT_OK)
            fail_msg("%s: set %%%s: %s", mt_check_target, g->nodes[i].name, d.msg);
    for (int r = 0; r < 2; r++) {
        for (int k = 0; k < g->noutputs; k++) {
            const mt_node *n = &g->nodes[g->outputs[k]];
            mt_tensor *t = got[r * g->noutputs + k];
            if (!t) {
                assert_non_null(t = mt_tensor_new(n->type));
                got[r * g->noutputs + k] = t;
            }
            memset(t->data, 0xff, t->nbytes);
            /* A value listed twice is one slot: the first binding holds. */
            int first = 1;
            for (int j = 0; j < k; j++)
                first &= g->outputs[j] != g->outputs[k] &&
                         strcmp(g->nodes[g->outputs[j]].name, n->name) != 0;
            if (first && mt_program_bind_output(p, n->name, t->data, t->nbytes, &d) != MT_OK)
                fail_msg("%s: bind %%%s: %s", mt_check_target, n->name, d.msg);
        }
        if (mt_program_run(p, &d) != MT_OK)
            fail_msg("%s: run %d: %s", mt_check_target, r + 1, d.msg);
        for (int k = 0; k < g->noutputs; k++) {
            mt_tensor *t = got[r * g->noutputs + k];
            if (mt_program_data(p, g->nodes[g->outputs[k]].name) != t->data &&
                mt_program_get(p, g->nodes[g->outputs[k]].name, t->data, t->nbytes, &d) != MT_OK)
                fail_msg("%s: get: %s", mt_check_target, d.msg);
        }
    }
    mt_program_free(p);
    mt_diag_fini(&d);
}

void mt_check_cpu(const mt_graph *g, const mt_tensor *const *leaves, int max_threads, int exact)
{
    mt_check_cpu_for(g, NULL, leaves, max_threads, exact);
}

void mt_check_cpu_for(const mt_graph *g, const mt_target_desc *desc, const mt_tensor *const *leaves,
                      int max_threads, int exact)
{
    int n = g->nnodes, no = g->noutputs;
    mt_tensor **values = calloc((size_t)n + 1, sizeof *values);
    mt_tensor **got = calloc((size_t)no * (size_t)max_threads + 1, sizeof *got);
    assert_true(values && got);
    mt_diag d;
    mt_diag_init(&d);
    if (mt_interp_eval(g, leaves, values, &d) != MT_OK)
        fail_msg("interp: %s", d.msg);
    double *scale = computation_scales(g, values);
    mt_cpu_program *p = NULL;
    if (mt_check_target) {
        /* The second "thread count" is the second run. */
        free(got);
        got = calloc((size_t)no * 2 + 1, sizeof *got);
        assert_non_null(got);
        max_threads = 2;
        run_target(g, leaves, got);
    } else if (mt_cpu_compile_for(g, desc ? desc : mt_target_desc_cpu(), &p, &d) != MT_OK)
        fail_msg("compile: %s\n%s", d.msg, d.log ? d.log : "");
    for (int t = 0; !mt_check_target && t < max_threads; t++) {
        assert_int_equal(mt_cpu_set_threads(p, t + 1, &d), MT_OK);
        if (mt_cpu_run(p, leaves, got + (size_t)t * (size_t)no, &d) != MT_OK)
            fail_msg("run with %d threads: %s", t + 1, d.msg);
    }
    char msg[512];
    for (int k = 0; k < no; k++) {
        const mt_tensor *want = values[g->outputs[k]];
        if (exact) {
            if (memcmp(got[k]->data, want->data, want->nbytes) != 0)
                fail_with_graph(g, "an output is not bit-identical to the interpreter's");
        } else {
            compare(g, k, got[k], want, scale[g->outputs[k]], msg, sizeof msg);
            if (msg[0])
                fail_with_graph(g, msg);
        }
        for (int t = 1; t < max_threads; t++)
            if (memcmp(got[k]->data, got[(size_t)t * (size_t)no + (size_t)k]->data, want->nbytes) !=
                0) {
                snprintf(msg, sizeof msg, "output %%%s differs between 1 and %d threads",
                         g->nodes[g->outputs[k]].name, t + 1);
                fail_with_graph(g, msg);
            }
    }
    if (!mt_check_target)
        check_into_garbage(g, p, leaves, got);
    mt_cpu_free(p);
    for (int i = 0; i < n; i++)
        mt_tensor_free(values[i]);
    for (size_t i = 0; i < (size_t)no * (size_t)max_threads; i++)
        mt_tensor_free(got[i]);
    free(values);
    free(got);
    free(scale);
    mt_diag_fini(&d);
}

void mt_check_cpu_random(mt_graph *g, int max_threads, int exact)
{
    mt_check_cpu_random_for(g, NULL, max_threads, exact);
}

void mt_check_cpu_random_for(mt_graph *g, const mt_target_desc *desc, int max_threads, int exact)
{
    assert_int_equal(mt_graph_diag(g)->status, MT_OK);
    const mt_tensor **leaves = calloc((size_t)g->nnodes + 1, sizeof *leaves);
    assert_non_null(leaves);
    for (int i = 0; i < g->nnodes; i++)
        if (mt_op_is(g->nodes[i].op, MT_F_LEAF))
            leaves[i] = mt_test_random_leaf(&g->nodes[i]);
    mt_check_cpu_for(g, desc, leaves, max_threads, exact);
    for (int i = 0; i < g->nnodes; i++)
        mt_tensor_free((mt_tensor *)leaves[i]);
    free(leaves);
    mt_graph_free(g);
}
