/* test_autodiff.c - the gradient pass (passes/autodiff.c) against central differences in f64.
 *
 * Every op is checked at several shapes the same way: params for its operands, y = op(...), and
 * the scalar L = sum(y * r) with r a random input, so the gradient that reaches y is a random
 * cotangent rather than ones. mt_gradcheck_compare runs mt_pass_grad's graph on the interpreter
 * and compares it with central differences of L. Each graph is then checked to second order:
 * its gradient graph gets a new first output s = sum of the squared gradients, and the gradient
 * of that (autodiff applied to autodiff's output) is compared with central differences of s.
 *
 * Inputs are fresh random values on each run; the seed is printed, and MT_SEED replays it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ir/alloc.h"
#include "passes/gradcheck.h"
#include "passes/pass.h"
#include "runtime/interp.h"
#include "tests/support/failing_alloc.h"

#define EPS 1e-6
#define TOL 1e-5

static uint64_t seed;
static uint64_t draws; /* a different stream for every graph checked */

/* ---- helpers -------------------------------------------------------------------------- */

static mt_type T(int rank, ...)
{
    int64_t dims[MT_MAX_RANK] = {0};
    va_list ap;
    va_start(ap, rank);
    for (int i = 0; i < rank; i++)
        dims[i] = va_arg(ap, int);
    va_end(ap);
    return mt_type_make(MT_DTYPE_F64, rank, dims);
}

static const mt_type *type_of(const mt_graph *g, int id) { return mt_graph_node_type(g, id); }

static int has_type(const mt_graph *g, int id, mt_type t)
{
    return mt_type_equal(type_of(g, id), &t);
}

static void assert_built(const mt_graph *g, const char *what)
{
    const mt_diag *d = mt_graph_diag(g);
    if (d->status != MT_OK)
        fail_msg("%s: building the graph failed: %s", what, d->msg);
}

/* L = sum(y * r), r a random input; outputs L, y. */
static void finish(mt_graph *g, int y)
{
    int r = mt_input(g, "r", y >= 0 ? *type_of(g, y) : T(0));
    int l = mt_sum_all(g, mt_mul(g, y, r));
    int outs[2] = {l, y};
    mt_set_outputs(g, outs, 2);
}

/* Checks the gradient of g's first output with respect to every param. */
static void check_params(const mt_graph *g, const char *what)
{
    mt_diag d;
    mt_diag_init(&d);
    if (mt_graph_verify(g, &d) != MT_OK)
        fail_msg("%s: the graph does not verify: %s", what, d.msg);
    mt_tensor **leaves = mt_calloc((size_t)g->nnodes, sizeof *leaves);
    int *params = mt_calloc((size_t)g->nnodes, sizeof *params), n = 0;
    mt_gradcheck_result *res = mt_calloc((size_t)g->nnodes, sizeof *res);
    assert_non_null(leaves);
    assert_non_null(params);
    assert_non_null(res);
    for (int id = 0; id < g->nnodes; id++)
        if (mt_graph_node_op(g, id) == MT_OP_PARAM)
            params[n++] = id;
    uint64_t s = seed + UINT64_C(0x9E3779B97F4A7C15) * ++draws;
    assert_int_equal(mt_gradcheck_random_leaves(g, s, leaves, &d), MT_OK);
    const mt_tensor *const *in = (const mt_tensor *const *)leaves;
    mt_status st = mt_gradcheck_compare(g, in, params, n, EPS, TOL, res, &d);
    if (st != MT_OK)
        fail_msg("%s: %s", what, d.msg);
    for (int i = 0; i < n; i++) {
        if (res[i].ok)
            continue;
        mt_gradcheck_node bad;
        mt_gradcheck_nodes(g, in, s, EPS, TOL, &bad, &d);
        fail_msg("%s: gradient of %%%s is off by %g (rel %g); first wrong rule: node %d (%s)", what,
                 mt_graph_node_name(g, params[i]), res[i].max_abs, res[i].max_rel, bad.node,
                 bad.node >= 0 ? mt_op_name(mt_graph_node_op(g, bad.node)) : "none");
    }
    for (int id = 0; id < g->nnodes; id++)
        mt_tensor_free(leaves[id]);
    mt_free(leaves);
    mt_free(params);
    mt_free(res);
    mt_diag_fini(&d);
}

/* The gradient graph of g with s = sum of its squared gradients as the new first output. */
static mt_graph *squared_gradient_norm(const mt_graph *g)
{
    mt_diag d;
    mt_diag_init(&d);
    mt_graph *g1 = NULL;
    assert_int_equal(mt_pass_grad(g, NULL, 0, &g1, &d), MT_OK);
    int s = -1, n = g1->noutputs;
    for (int i = g->noutputs; i < n; i++) {
        int gi = g1->outputs[i];
        int sq = mt_sum_all(g1, mt_mul(g1, gi, gi));
        s = s < 0 ? sq : mt_add(g1, s, sq);
    }
    int *outs = mt_calloc((size_t)n + 1, sizeof *outs);
    assert_non_null(outs);
    outs[0] = s;
    memcpy(outs + 1, g1->outputs, (size_t)n * sizeof *outs);
    mt_set_outputs(g1, outs, n + 1);
    mt_free(outs);
    assert_built(g1, "second order");
    return g1;
}

/* First and second order; takes g. */
static void check(mt_graph *g, const char *what)
{
    char name[200];
    assert_built(g, what);
    check_params(g, what);
    mt_graph *g1 = squared_gradient_norm(g);
    snprintf(name, sizeof name, "%s (second order)", what);
    check_params(g1, name);
    mt_graph_free(g1);
    mt_graph_free(g);
}

/* ---- elementwise ---------------------------------------------------------------------- */

static const mt_type *shapes_0_to_4(int i)
{
    static mt_type s[5];
    s[0] = T(0);
    s[1] = T(1, 5);
    s[2] = T(2, 2, 3);
    s[3] = T(3, 2, 1, 3);
    s[4] = T(4, 2, 1, 3, 2);
    return &s[i];
}

static void unary_ops_match_central_differences_at_ranks_0_to_4(void **state)
{
    (void)state;
    int (*ops[])(mt_graph *, int) = {mt_neg, mt_exp,  mt_log,  mt_relu, mt_sigmoid,
                                     mt_inv, mt_tanh, mt_sqrt, mt_abs};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++)
        for (int i = 0; i < 5; i++) {
            mt_graph *g = mt_graph_new("unary");
            finish(g, ops[k](g, mt_param(g, "x", *shapes_0_to_4(i))));
            char what[64];
            snprintf(what, sizeof what, "%s at rank %d", mt_op_name(mt_graph_node_op(g, 1)), i);
            check(g, what);
        }
}

/* Pairs of operand shapes, most of them broadcasting. */
static void binary_shapes(int i, mt_type *a, mt_type *b)
{
    switch (i) {
    case 0: *a = T(2, 2, 3), *b = T(2, 2, 3); break;
    case 1: *a = T(2, 2, 3), *b = T(1, 3); break;
    case 2: *a = T(3, 4, 1, 3), *b = T(2, 2, 1); break;
    case 3: *a = T(0), *b = T(2, 2, 2); break;
    case 4: *a = T(2, 3, 1), *b = T(2, 1, 4); break;
    default: *a = T(0), *b = T(0); break;
    }
}

static void binary_ops_match_with_broadcasting_and_rank_0(void **state)
{
    (void)state;
    int (*ops[])(mt_graph *, int, int) = {mt_add,     mt_sub,     mt_mul, mt_div,
                                          mt_maximum, mt_minimum, mt_pow};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++)
        for (int i = 0; i < 6; i++) {
            mt_type ta, tb;
            binary_shapes(i, &ta, &tb);
            for (int swap = 0; swap < 2; swap++) {
                mt_graph *g = mt_graph_new("binary");
                int a = mt_param(g, "a", swap ? tb : ta), b = mt_param(g, "b", swap ? ta : tb);
                finish(g, ops[k](g, a, b));
                char what[64];
                snprintf(what, sizeof what, "%s, shapes #%d%s", mt_op_name(mt_graph_node_op(g, 2)),
                         i, swap ? " swapped" : "");
                check(g, what);
            }
        }
}

static void comparisons_pass_no_gradient_to_their_operands(void **state)
{
    (void)state;
    int (*ops[])(mt_graph *, int, int) = {mt_lt, mt_gt, mt_eq};
    for (int k = 0; k < 3; k++) {
        /* y = cmp(a, b) * a: a's gradient is cmp(a, b) * r, nothing through the comparison */
        mt_graph *g = mt_graph_new("cmp");
        int a = mt_param(g, "a", T(2, 3, 4)), b = mt_param(g, "b", T(1, 4));
        finish(g, mt_mul(g, ops[k](g, a, b), a));
        check(g, "comparison times a");

        /* With only a comparison between b and L, b's gradient is the const 0. */
        g = mt_graph_new("cmp");
        a = mt_param(g, "a", T(2, 3, 4));
        b = mt_param(g, "b", T(1, 4));
        finish(g, ops[k](g, a, b));
        mt_diag d;
        mt_diag_init(&d);
        mt_graph *gg = NULL;
        assert_int_equal(mt_pass_grad(g, NULL, 0, &gg, &d), MT_OK);
        int gb = gg->outputs[3];
        assert_string_equal(mt_graph_node_name(gg, gb), "grad.b");
        assert_int_equal(mt_graph_node_op(gg, gb), MT_OP_CONST);
        assert_true(has_type(gg, gb, T(1, 4)));
        mt_graph_free(gg);
        check(g, "comparison alone");
    }
}

static void where_routes_the_gradient_by_the_condition_and_none_to_it(void **state)
{
    (void)state;
    mt_type shapes[][3] = {{T(2, 2, 3), T(2, 2, 3), T(2, 2, 3)},
                           {T(2, 2, 3), T(1, 3), T(2, 2, 1)},
                           {T(1, 3), T(2, 2, 1), T(0)}};
    for (int i = 0; i < 3; i++) {
        mt_graph *g = mt_graph_new("where");
        int c = mt_gt(g, mt_input(g, "p", shapes[i][0]), mt_const(g, 0, T(0)));
        int a = mt_param(g, "a", shapes[i][1]), b = mt_param(g, "b", shapes[i][2]);
        /* the condition also as a param: it must get the zero gradient */
        int cp = mt_param(g, "c", shapes[i][0]);
        finish(g, mt_add(g, mt_where(g, c, a, b), mt_where(g, cp, a, b)));
        check(g, "where");
    }
}

/* ---- reductions ----------------------------------------------------------------------- */

static void reductions_match_over_every_axis_negative_axes_and_all(void **state)
{
    (void)state;
    int (*ops[])(mt_graph *, int, int) = {mt_sum, mt_mean, mt_max};
    int (*all[])(mt_graph *, int) = {mt_sum_all, mt_mean_all, mt_max_all};
    mt_type shapes[] = {T(1, 5), T(2, 3, 4), T(3, 2, 3, 2)};
    for (int k = 0; k < 3; k++)
        for (int s = 0; s < 3; s++) {
            for (int dim = -shapes[s].rank; dim < shapes[s].rank; dim++) {
                mt_graph *g = mt_graph_new("reduce");
                finish(g, ops[k](g, mt_param(g, "x", shapes[s]), dim));
                char what[64];
                snprintf(what, sizeof what, "%s dim=%d of shape #%d",
                         mt_op_name(mt_graph_node_op(g, 1)), dim, s);
                check(g, what);
            }
            mt_graph *g = mt_graph_new("reduce");
            finish(g, all[k](g, mt_param(g, "x", shapes[s])));
            check(g, "full reduction");
        }
    /* rank 0 reduces to itself */
    mt_graph *g = mt_graph_new("reduce");
    finish(g, mt_max_all(g, mt_param(g, "x", T(0))));
    check(g, "max of a scalar");
}

static void max_splits_the_gradient_evenly_over_ties(void **state)
{
    (void)state;
    /* x = [1, 3, 3] as a const plus the param p (zero here): max's gradient is [0, .5, .5]. */
    mt_graph *g = mt_graph_new("ties");
    int p = mt_param(g, "p", T(1, 3));
    int one = mt_const(g, 1, T(1, 1)), three = mt_const(g, 3, T(1, 2));
    int xs[2] = {one, three};
    int y = mt_max_all(g, mt_add(g, mt_concat(g, 2, xs, 0), p));
    mt_set_outputs(g, &y, 1);
    assert_built(g, "ties");
    mt_diag d;
    mt_diag_init(&d);
    mt_graph *gg = NULL;
    assert_int_equal(mt_pass_grad(g, NULL, 0, &gg, &d), MT_OK);
    mt_tensor *pv = mt_tensor_new(T(1, 3));
    const mt_tensor **leaves = mt_calloc((size_t)gg->nnodes, sizeof *leaves);
    leaves[mt_graph_find(gg, "p")] = pv;
    mt_tensor *outs[2] = {NULL, NULL};
    assert_int_equal(mt_interp_run(gg, leaves, outs, &d), MT_OK);
    const double *gp = outs[1]->data;
    assert_true(gp[0] == 0.0 && gp[1] == 0.5 && gp[2] == 0.5);
    mt_tensor_free(outs[0]);
    mt_tensor_free(outs[1]);
    mt_tensor_free(pv);
    mt_free(leaves);
    mt_graph_free(gg);
    mt_graph_free(g);
}

/* ---- data movement -------------------------------------------------------------------- */

static void movement_ops_match(void **state)
{
    (void)state;
    mt_graph *g;

    g = mt_graph_new("reshape");
    finish(g, mt_reshape(g, mt_param(g, "x", T(3, 2, 3, 4)), 2, (int64_t[]){4, -1}));
    check(g, "reshape");
    g = mt_graph_new("reshape");
    finish(g, mt_reshape(g, mt_param(g, "x", T(0)), 2, (int64_t[]){1, 1}));
    check(g, "reshape of a scalar");

    g = mt_graph_new("permute");
    finish(g, mt_permute(g, mt_param(g, "x", T(3, 2, 3, 4)), 3, (int64_t[]){2, 0, 1}));
    check(g, "permute");

    g = mt_graph_new("expand");
    finish(g, mt_expand(g, mt_param(g, "x", T(2, 3, 1)), 3, (int64_t[]){2, 3, 4}));
    check(g, "expand with new leading axes");
    g = mt_graph_new("expand");
    finish(g, mt_expand(g, mt_param(g, "x", T(0)), 2, (int64_t[]){2, 2}));
    check(g, "expand of a scalar");

    g = mt_graph_new("slice");
    finish(g, mt_slice(g, mt_param(g, "x", T(2, 4, 5)), 2, (int64_t[]){1, -3}, (int64_t[]){3, 5}));
    check(g, "slice with a negative start");

    g = mt_graph_new("pad");
    finish(g, mt_pad(g, mt_param(g, "x", T(2, 2, 3)), 4, (int64_t[]){1, 0, 2, 1}));
    check(g, "pad");

    g = mt_graph_new("concat");
    int xs[3] = {mt_param(g, "a", T(2, 2, 1)), mt_param(g, "b", T(2, 2, 3)),
                 mt_param(g, "c", T(2, 2, 2))};
    finish(g, mt_concat(g, 3, xs, -1));
    check(g, "concat along dim -1");
    g = mt_graph_new("concat");
    int ys[2] = {mt_param(g, "a", T(2, 1, 3)), mt_param(g, "b", T(2, 2, 3))};
    finish(g, mt_concat(g, 2, ys, 0));
    check(g, "concat along dim 0");
    /* the same value twice: both adjoints accumulate into it */
    g = mt_graph_new("concat");
    int a = mt_param(g, "a", T(1, 3));
    int zs[2] = {a, a};
    finish(g, mt_concat(g, 2, zs, 0));
    check(g, "concat of a value with itself");
}

/* ---- matmul, conv, pooling ------------------------------------------------------------ */

static void matmul_matches_with_batch_broadcasting(void **state)
{
    (void)state;
    mt_type shapes[][2] = {{T(2, 3, 4), T(2, 4, 5)},
                           {T(3, 2, 3, 4), T(2, 4, 2)},
                           {T(4, 2, 1, 3, 4), T(3, 3, 4, 2)},
                           {T(2, 1, 2), T(3, 2, 2, 3)}};
    for (int i = 0; i < 4; i++) {
        mt_graph *g = mt_graph_new("matmul");
        finish(g, mt_matmul(g, mt_param(g, "a", shapes[i][0]), mt_param(g, "b", shapes[i][1])));
        char what[64];
        snprintf(what, sizeof what, "matmul, shapes #%d", i);
        check(g, what);
    }
}

static void conv1d_matches_with_stride_1_and_2_and_padding_0_1_and_2(void **state)
{
    (void)state;
    int64_t lens[] = {7, 8}, ks[] = {3, 2};
    for (int li = 0; li < 2; li++)
        for (int ki = 0; ki < 2; ki++)
            for (int s = 1; s <= 2; s++)
                for (int p = 0; p <= 2; p++) {
                    mt_graph *g = mt_graph_new("conv1d");
                    int x = mt_param(g, "x", T(3, 2, 3, (int)lens[li]));
                    int w = mt_param(g, "w", T(3, 4, 3, (int)ks[ki]));
                    finish(g, mt_conv1d(g, x, w, s, p));
                    char what[80];
                    snprintf(what, sizeof what, "conv1d L=%d K=%d stride %d padding %d",
                             (int)lens[li], (int)ks[ki], s, p);
                    check(g, what);
                }
}

static void conv2d_matches_with_stride_1_and_2_and_padding_0_and_1(void **state)
{
    (void)state;
    int64_t strides[][2] = {{1, 1}, {2, 2}, {2, 1}}, pads[][2] = {{0, 0}, {1, 1}, {1, 0}};
    for (int s = 0; s < 3; s++)
        for (int p = 0; p < 3; p++) {
            mt_graph *g = mt_graph_new("conv2d");
            int x = mt_param(g, "x", T(4, 2, 2, 6, 5));
            int w = mt_param(g, "w", T(4, 3, 2, 3, 2));
            finish(g, mt_conv2d(g, x, w, strides[s], pads[p]));
            char what[80];
            snprintf(what, sizeof what, "conv2d stride [%d,%d] padding [%d,%d]", (int)strides[s][0],
                     (int)strides[s][1], (int)pads[p][0], (int)pads[p][1]);
            check(g, what);
        }
}

static void pools_match_when_the_kernel_does_not_divide_the_size(void **state)
{
    (void)state;
    int64_t kernels[][2] = {{2, 2}, {3, 2}, {1, 5}};
    for (int op = 0; op < 2; op++)
        for (int k = 0; k < 3; k++) {
            mt_graph *g = mt_graph_new("pool");
            int x = mt_param(g, "x", T(4, 2, 2, 7, 5));
            finish(g, op ? mt_maxpool2d(g, x, kernels[k]) : mt_avgpool2d(g, x, kernels[k]));
            char what[64];
            snprintf(what, sizeof what, "%s kernel [%d,%d]", op ? "maxpool2d" : "avgpool2d",
                     (int)kernels[k][0], (int)kernels[k][1]);
            check(g, what);
        }
}

static void const_and_rand_take_no_gradient(void **state)
{
    (void)state;
    mt_graph *g = mt_graph_new("sources");
    int x = mt_param(g, "x", T(2, 2, 3));
    int y = mt_add(g, mt_mul(g, x, mt_rand(g, 7, T(2, 2, 3))), mt_const(g, 0.5, T(1, 3)));
    finish(g, y);
    check(g, "const and rand");
}

/* ---- whole models, second order included ---------------------------------------------- */

static void small_models_match_to_second_order(void **state)
{
    (void)state;
    /* an MLP with a value used twice (accumulation) */
    mt_graph *g = mt_graph_new("mlp");
    int x = mt_input(g, "x", T(2, 4, 3));
    int w1 = mt_param(g, "w1", T(2, 3, 5)), b1 = mt_param(g, "b1", T(1, 5));
    int w2 = mt_param(g, "w2", T(2, 5, 2));
    int h = mt_tanh(g, mt_add(g, mt_matmul(g, x, w1), b1));
    int o = mt_matmul(g, mt_mul(g, h, mt_sigmoid(g, h)), w2);
    int l = mt_mean_all(g, mt_mul(g, o, o));
    mt_set_outputs(g, &l, 1);
    check(g, "mlp");

    /* a conv net: conv2d stride 2 padding 1, relu, maxpool, linear */
    g = mt_graph_new("cnn");
    x = mt_input(g, "x", T(4, 2, 1, 7, 7));
    int w = mt_param(g, "w", T(4, 3, 1, 3, 3));
    int c = mt_relu(g, mt_conv2d(g, x, w, (int64_t[]){2, 2}, (int64_t[]){1, 1}));
    int p = mt_maxpool2d(g, c, (int64_t[]){2, 2});
    int f = mt_reshape(g, p, 2, (int64_t[]){2, -1});
    int wl = mt_param(g, "wl", T(2, 12, 1));
    l = mt_sum_all(g, mt_exp(g, mt_matmul(g, f, wl)));
    mt_set_outputs(g, &l, 1);
    check(g, "cnn");

    /* a softmax cross-entropy written with max, exp, log, sum */
    g = mt_graph_new("softmax");
    int z = mt_param(g, "z", T(2, 3, 4));
    int y = mt_input(g, "y", T(2, 3, 4));
    int s = mt_sub(g, z, mt_max(g, z, -1));
    int lse = mt_log(g, mt_sum(g, mt_exp(g, s), -1));
    l = mt_neg(g, mt_mean_all(g, mt_mul(g, y, mt_sub(g, s, lse))));
    mt_set_outputs(g, &l, 1);
    check(g, "log-softmax");
}

/* ---- the graph it builds -------------------------------------------------------------- */

static mt_graph *mlp(void)
{
    mt_graph *g = mt_graph_new("mlp");
    int x = mt_input(g, "x", T(3, 2, 4, 3));
    int w = mt_param(g, "w", T(2, 3, 5)), b = mt_param(g, "b", T(1, 5));
    int y = mt_relu(g, mt_add(g, mt_matmul(g, x, w), b));
    mt_name(g, y, "y");
    int l = mt_mean_all(g, y);
    mt_name(g, l, "loss");
    int outs[2] = {l, y};
    mt_set_outputs(g, outs, 2);
    assert_built(g, "mlp");
    return g;
}

static void the_gradient_graph_keeps_leaves_and_outputs_and_names_gradients(void **state)
{
    (void)state;
    mt_graph *g = mt_graph_new("order");
    int h = mt_exp(g, mt_param(g, "w", T(1, 3)));
    int x = mt_input(g, "x", T(1, 3)); /* declared after a node: the copy puts leaves first */
    int l = mt_sum_all(g, mt_mul(g, h, x));
    mt_set_outputs(g, &l, 1);
    mt_diag d;
    mt_diag_init(&d);
    mt_graph *gg = NULL;
    assert_int_equal(mt_pass_grad(g, NULL, 0, &gg, &d), MT_OK);
    assert_int_equal(mt_graph_verify(gg, &d), MT_OK);
    assert_string_equal(mt_graph_node_name(gg, 0), "w");
    assert_int_equal(mt_graph_node_op(gg, 0), MT_OP_PARAM);
    assert_string_equal(mt_graph_node_name(gg, 1), "x");
    assert_int_equal(mt_graph_node_op(gg, 1), MT_OP_INPUT);
    assert_int_equal(gg->noutputs, 2);
    assert_string_equal(mt_graph_node_name(gg, gg->outputs[0]), mt_graph_node_name(g, l));
    assert_string_equal(mt_graph_node_name(gg, gg->outputs[1]), "grad.w");
    mt_graph_free(gg);

    /* --wrt picks inputs too, in the order given */
    int wrt[2] = {x, 0};
    assert_int_equal(mt_pass_grad(g, wrt, 2, &gg, &d), MT_OK);
    assert_int_equal(gg->noutputs, 3);
    assert_string_equal(mt_graph_node_name(gg, gg->outputs[1]), "grad.x");
    assert_string_equal(mt_graph_node_name(gg, gg->outputs[2]), "grad.w");
    mt_graph_free(gg);
    mt_graph_free(g);
}

static void the_gradient_graph_prints_and_parses_back_to_the_same_text(void **state)
{
    (void)state;
    mt_graph *g = mlp(), *gg = NULL, *back = NULL;
    mt_diag d;
    mt_diag_init(&d);
    assert_int_equal(mt_pass_grad(g, NULL, 0, &gg, &d), MT_OK);
    char *text = mt_graph_print(gg);
    assert_non_null(text);
    assert_int_equal(mt_graph_parse(text, strlen(text), "grad.mt", &back, &d), MT_OK);
    char *again = mt_graph_print(back);
    assert_string_equal(text, again);
    /* and the parsed graph can be differentiated again */
    mt_graph *g2 = NULL;
    assert_int_equal(mt_pass_grad(back, NULL, 0, &g2, &d), MT_OK);
    mt_free(text);
    mt_free(again);
    mt_graph_free(g2);
    mt_graph_free(back);
    mt_graph_free(gg);
    mt_graph_free(g);
}

static void backward_nodes_carry_provenance_notes(void **state)
{
    (void)state;
    mt_graph *g = mlp(), *gg = NULL;
    mt_diag d;
    mt_diag_init(&d);
    assert_int_equal(mt_pass_grad(g, NULL, 0, &gg, &d), MT_OK);
    char *text = mt_graph_print_ex(gg, MT_PRINT_NOTES);
    assert_non_null(text);
    assert_non_null(strstr(text, "d/d%w of %0 = matmul"));
    assert_non_null(strstr(text, "d/d%b of %1 = add"));
    assert_non_null(strstr(text, "d/d%1 of %y = relu"));
    assert_non_null(strstr(text, "d%loss/d%loss = 1 (seed)"));
    /* every backward node has a note; forward nodes have none */
    int nforward = g->nnodes;
    for (int id = 0; id < gg->nnodes; id++)
        assert_true((gg->nodes[id].note != NULL) == (id >= nforward));
    mt_free(text);
    mt_graph_free(gg);
    mt_graph_free(g);
}

static void broadcasting_is_undone_by_sum_over_axes_then_reshape(void **state)
{
    (void)state;
    mt_graph *g = mlp(), *gg = NULL;
    mt_diag d;
    mt_diag_init(&d);
    assert_int_equal(mt_pass_grad(g, NULL, 0, &gg, &d), MT_OK);
    /* b : [1,5] broadcast to [2,4,5]: sum dim=1, then dim=0 (inner axes first, so each sum
     * reads along the contiguous axis of what is left), reshape to [1,5] */
    int gb = gg->outputs[3];
    assert_string_equal(mt_graph_node_name(gg, gb), "grad.b");
    const mt_node *n = mt_graph_node(gg, gb);
    assert_int_equal(n->op, MT_OP_RESHAPE);
    const mt_node *s0 = mt_graph_node(gg, n->in[0]);
    assert_int_equal(s0->op, MT_OP_SUM);
    assert_int_equal(s0->attrs->dim, 0);
    const mt_node *s1 = mt_graph_node(gg, s0->in[0]);
    assert_int_equal(s1->op, MT_OP_SUM);
    assert_int_equal(s1->attrs->dim, 1);
    mt_graph_free(gg);
    mt_graph_free(g);
}

static void only_nodes_between_wrt_values_and_the_output_get_adjoints(void **state)
{
    (void)state;
    /* L = sum(w * x) + sum(exp(x)): with respect to w, exp needs no rule, and a side output
     * that L does not use gets none either. */
    mt_graph *g = mt_graph_new("prune");
    int x = mt_input(g, "x", T(1, 3)), w = mt_param(g, "w", T(1, 3));
    int e = mt_exp(g, x);
    mt_name(g, e, "e");
    int side = mt_log(g, w);
    int l = mt_add(g, mt_sum_all(g, mt_mul(g, w, x)), mt_sum_all(g, e));
    int outs[2] = {l, side};
    mt_set_outputs(g, outs, 2);
    mt_diag d;
    mt_diag_init(&d);
    mt_graph *gg = NULL;
    assert_int_equal(mt_pass_grad(g, NULL, 0, &gg, &d), MT_OK);
    for (int id = g->nnodes; id < gg->nnodes; id++) {
        const char *note = gg->nodes[id].note;
        assert_non_null(note);
        assert_null(strstr(note, "%e"));
        assert_null(strstr(note, "= log"));
        assert_true(gg->nodes[id].op != MT_OP_EXP);
    }
    mt_graph_free(gg);
    mt_graph_free(g);
}

static void a_value_the_output_does_not_depend_on_gets_a_zero_gradient(void **state)
{
    (void)state;
    mt_graph *g = mt_graph_new("unused");
    int a = mt_param(g, "a", T(1, 3));
    mt_param(g, "unused", T(2, 2, 2));
    int l = mt_sum_all(g, a);
    mt_set_outputs(g, &l, 1);
    mt_diag d;
    mt_diag_init(&d);
    mt_graph *gg = NULL;
    assert_int_equal(mt_pass_grad(g, NULL, 0, &gg, &d), MT_OK);
    int z = gg->outputs[2];
    assert_string_equal(mt_graph_node_name(gg, z), "grad.unused");
    assert_int_equal(mt_graph_node_op(gg, z), MT_OP_CONST);
    assert_true(gg->nodes[z].attrs->value == 0.0);
    assert_true(has_type(gg, z, T(2, 2, 2)));
    mt_graph_free(gg);
    check(g, "unused param");
}

static void one_node_that_is_the_gradient_of_two_values_gets_two_names(void **state)
{
    (void)state;
    mt_graph *g = mt_graph_new("shared");
    int a = mt_param(g, "a", T(0)), b = mt_param(g, "b", T(0));
    int l = mt_add(g, a, b);
    mt_set_outputs(g, &l, 1);
    mt_diag d;
    mt_diag_init(&d);
    mt_graph *gg = NULL;
    assert_int_equal(mt_pass_grad(g, NULL, 0, &gg, &d), MT_OK);
    assert_int_equal(mt_graph_verify(gg, &d), MT_OK);
    assert_string_equal(mt_graph_node_name(gg, gg->outputs[1]), "grad.a");
    assert_string_equal(mt_graph_node_name(gg, gg->outputs[2]), "grad.b");
    mt_graph_free(gg);
    check(g, "add of two scalars");
}

static void differentiating_a_gradient_graph_again_names_the_new_gradients_grad2(void **state)
{
    (void)state;
    mt_graph *g = mlp(), *g1 = NULL, *g2 = NULL;
    mt_diag d;
    mt_diag_init(&d);
    assert_int_equal(mt_pass_grad(g, NULL, 0, &g1, &d), MT_OK);
    assert_int_equal(mt_pass_grad(g1, NULL, 0, &g2, &d), MT_OK);
    assert_int_equal(g2->noutputs, 6);
    assert_string_equal(mt_graph_node_name(g2, g2->outputs[2]), "grad.w");
    assert_string_equal(mt_graph_node_name(g2, g2->outputs[4]), "grad2.w");
    assert_string_equal(mt_graph_node_name(g2, g2->outputs[5]), "grad2.b");
    mt_graph_free(g2);
    mt_graph_free(g1);
    mt_graph_free(g);
}

/* ---- errors --------------------------------------------------------------------------- */

static void a_first_output_with_more_than_one_element_is_a_shape_error(void **state)
{
    (void)state;
    mt_graph *g = mt_graph_new("bad");
    int y = mt_exp(g, mt_param(g, "w", T(2, 2, 3)));
    mt_name(g, y, "y");
    mt_set_outputs(g, &y, 1);
    mt_diag d;
    mt_diag_init(&d);
    mt_graph *gg = (mt_graph *)1;
    assert_int_equal(mt_pass_grad(g, NULL, 0, &gg, &d), MT_ERR_SHAPE);
    assert_null(gg);
    assert_non_null(strstr(d.msg, "%y"));
    assert_non_null(strstr(d.msg, "f64[2,3]"));
    assert_non_null(strstr(d.msg, "one element"));
    mt_graph_free(g);

    /* one element in any rank is fine */
    g = mt_graph_new("ok");
    y = mt_exp(g, mt_param(g, "w", T(3, 1, 1, 1)));
    mt_set_outputs(g, &y, 1);
    check(g, "an output of shape [1,1,1]");
}

static void wrt_must_name_an_input_or_param_once(void **state)
{
    (void)state;
    mt_graph *g = mlp(), *gg = (mt_graph *)1;
    mt_diag d;
    int y = mt_graph_find(g, "y"), w = mt_graph_find(g, "w");
    mt_diag_init(&d);
    assert_int_equal(mt_pass_grad(g, &y, 1, &gg, &d), MT_ERR_ARG);
    assert_null(gg);
    assert_non_null(strstr(d.msg, "%y is not an input, param or state"));
    int twice[2] = {w, w};
    mt_diag_init(&d);
    assert_int_equal(mt_pass_grad(g, twice, 2, &gg, &d), MT_ERR_ARG);
    assert_non_null(strstr(d.msg, "twice"));
    int bad = 999;
    mt_diag_init(&d);
    assert_int_equal(mt_pass_grad(g, &bad, 1, &gg, &d), MT_ERR_ARG);
    mt_graph_free(g);
}

static void gradcheck_names_a_wrong_rule(void **state)
{
    (void)state;
    /* The per-node check must be able to fail: feed it operand values that make a node's
     * gradient disagree with central differences. relu at exactly 0 has subgradient 0 while the
     * central difference is 1/2. */
    mt_graph *g = mt_graph_new("kink");
    int w = mt_param(g, "w", T(1, 2));
    int l = mt_sum_all(g, mt_relu(g, w));
    mt_set_outputs(g, &l, 1);
    mt_tensor *wv = mt_tensor_new(T(1, 2));
    const mt_tensor *leaves[3] = {wv, NULL, NULL};
    mt_gradcheck_result res;
    mt_gradcheck_node bad;
    mt_diag d;
    mt_diag_init(&d);
    assert_int_equal(mt_gradcheck_compare(g, leaves, &w, 1, EPS, TOL, &res, &d), MT_OK);
    assert_false(res.ok);
    assert_true(res.max_abs > 0.49 && res.max_abs < 0.51);
    assert_int_equal(mt_gradcheck_nodes(g, leaves, seed, EPS, TOL, &bad, &d), MT_OK);
    assert_int_equal(bad.node, 1);
    assert_int_equal(bad.operand, 0);
    mt_tensor_free(wv);
    mt_graph_free(g);
}

static void out_of_memory_at_any_allocation_is_reported_cleanly(void **state)
{
    (void)state;
    mt_graph *g = mlp();
    int done = 0;
    long alloc_fail_at;
    for (alloc_fail_at = 0; !done && alloc_fail_at < 100000; alloc_fail_at++) {
        mt_diag d;
        mt_diag_init(&d);
        mt_graph *gg = (mt_graph *)1;
        mt_test_alloc_fail_after(alloc_fail_at); /* fails from the (n+1)-th call on */
        mt_status st = mt_pass_grad(g, NULL, 0, &gg, &d);
        mt_test_alloc_restore();
        if (st == MT_OK) {
            done = 1;
        } else {
            assert_int_equal(st, MT_ERR_NOMEM);
            assert_null(gg);
        }
        mt_graph_free(st == MT_OK ? gg : NULL);
        mt_diag_fini(&d);
    }
    assert_true(done);
    assert_true(alloc_fail_at > 5); /* the loop did fail some of the pass's allocations */
    mt_graph_free(g);
}

int main(void)
{
    const char *env = getenv("MT_SEED");
    seed = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL);
    printf("seed %llu\n", (unsigned long long)seed);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unary_ops_match_central_differences_at_ranks_0_to_4),
        cmocka_unit_test(binary_ops_match_with_broadcasting_and_rank_0),
        cmocka_unit_test(comparisons_pass_no_gradient_to_their_operands),
        cmocka_unit_test(where_routes_the_gradient_by_the_condition_and_none_to_it),
        cmocka_unit_test(reductions_match_over_every_axis_negative_axes_and_all),
        cmocka_unit_test(max_splits_the_gradient_evenly_over_ties),
        cmocka_unit_test(movement_ops_match),
        cmocka_unit_test(matmul_matches_with_batch_broadcasting),
        cmocka_unit_test(conv1d_matches_with_stride_1_and_2_and_padding_0_1_and_2),
        cmocka_unit_test(conv2d_matches_with_stride_1_and_2_and_padding_0_and_1),
        cmocka_unit_test(pools_match_when_the_kernel_does_not_divide_the_size),
        cmocka_unit_test(const_and_rand_take_no_gradient),
        cmocka_unit_test(small_models_match_to_second_order),
        cmocka_unit_test(the_gradient_graph_keeps_leaves_and_outputs_and_names_gradients),
        cmocka_unit_test(the_gradient_graph_prints_and_parses_back_to_the_same_text),
        cmocka_unit_test(backward_nodes_carry_provenance_notes),
        cmocka_unit_test(broadcasting_is_undone_by_sum_over_axes_then_reshape),
        cmocka_unit_test(only_nodes_between_wrt_values_and_the_output_get_adjoints),
        cmocka_unit_test(a_value_the_output_does_not_depend_on_gets_a_zero_gradient),
        cmocka_unit_test(one_node_that_is_the_gradient_of_two_values_gets_two_names),
        cmocka_unit_test(differentiating_a_gradient_graph_again_names_the_new_gradients_grad2),
        cmocka_unit_test(a_first_output_with_more_than_one_element_is_a_shape_error),
        cmocka_unit_test(wrt_must_name_an_input_or_param_once),
        cmocka_unit_test(gradcheck_names_a_wrong_rule),
        cmocka_unit_test(out_of_memory_at_any_allocation_is_reported_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
