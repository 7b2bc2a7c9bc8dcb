/* test_simplify.c - the simplification passes (fold, algebraic, cse, dce) and the pipeline.
 *
 * Small graphs built with the builder show what each pass does; random graphs check that the
 * whole pipeline keeps the interpreter's numbers, the signature and the output names, and
 * that it is its own fixed point. Random tests print their seed; MT_SEED replays one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ir/alloc.h"
#include "ir/graph.h"
#include "passes/pass.h"
#include "passes/rewrite.h"
#include "runtime/interp.h"
#include "tests/support/failing_alloc.h"

/* ---- helpers ---------------------------------------------------------------------------- */

static mt_type f32(int rank, int64_t d0, int64_t d1, int64_t d2)
{
    int64_t d[] = {d0, d1, d2};
    return mt_type_make(MT_DTYPE_F32, rank, d);
}

static mt_type f64(int rank, int64_t d0, int64_t d1, int64_t d2)
{
    int64_t d[] = {d0, d1, d2};
    return mt_type_make(MT_DTYPE_F64, rank, d);
}

static void outputs(mt_graph *g, int n, ...)
{
    int ids[8];
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        ids[i] = va_arg(ap, int);
    va_end(ap);
    assert_int_equal(mt_set_outputs(g, ids, n), 0);
    assert_int_equal(mt_graph_diag(g)->status, MT_OK);
}

/* Runs one pass, checks the status and that the result verifies; returns the new graph. */
static mt_graph *apply(mt_pass_fn pass, const mt_graph *g)
{
    mt_diag d;
    mt_diag_init(&d);
    mt_graph *out = NULL;
    mt_status st = pass(g, &out, &d);
    if (st != MT_OK)
        fail_msg("pass failed: %s", d.msg);
    assert_non_null(out);
    if (mt_graph_verify(out, &d) != MT_OK)
        fail_msg("pass left a graph that does not verify: %s", d.msg);
    mt_diag_fini(&d);
    return out;
}

/* The default pipeline, checked. */
static mt_graph *optimize(const mt_graph *g)
{
    int n;
    const mt_pass *const *passes = mt_passes_default(&n);
    mt_diag d;
    mt_diag_init(&d);
    mt_graph *out = NULL;
    if (mt_pipeline_run(g, passes, n, NULL, NULL, &out, &d) != MT_OK)
        fail_msg("pipeline failed: %s", d.msg);
    mt_diag_fini(&d);
    return out;
}

/* Nodes that compute (not leaves). */
static int ncompute(const mt_graph *g)
{
    int n = 0;
    for (int i = 0; i < g->nnodes; i++)
        n += !mt_op_is(g->nodes[i].op, MT_F_LEAF);
    return n;
}

static int count_op(const mt_graph *g, mt_op op)
{
    int n = 0;
    for (int i = 0; i < g->nnodes; i++)
        n += g->nodes[i].op == op;
    return n;
}

/* The node of output i. */
static const mt_node *out_node(const mt_graph *g, int i) { return &g->nodes[g->outputs[i]]; }

static void assert_output_names(const mt_graph *before, const mt_graph *after)
{
    assert_int_equal(before->noutputs, after->noutputs);
    for (int i = 0; i < before->noutputs; i++)
        assert_string_equal(out_node(before, i)->name, out_node(after, i)->name);
}

static void assert_same_signature(const mt_graph *before, const mt_graph *after)
{
    int j = 0;
    for (int i = 0; i < before->nnodes; i++) {
        const mt_node *a = &before->nodes[i];
        if (!mt_op_is(a->op, MT_F_LEAF))
            continue;
        while (j < after->nnodes && !mt_op_is(after->nodes[j].op, MT_F_LEAF))
            j++;
        assert_true(j < after->nnodes);
        const mt_node *b = &after->nodes[j++];
        assert_int_equal(a->op, b->op);
        assert_string_equal(a->name, b->name);
        assert_true(mt_type_equal(&a->type, &b->type));
    }
    for (; j < after->nnodes; j++)
        assert_false(mt_op_is(after->nodes[j].op, MT_F_LEAF));
}

static double element(const mt_tensor *t, int64_t i)
{
    if (t->type.dtype == MT_DTYPE_F32)
        return ((const float *)t->data)[i];
    return ((const double *)t->data)[i];
}

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static int rnd_int(int n) { return (int)(rnd() % (uint64_t)n); }
static double rnd_uniform(void) { return (double)(rnd() >> 11) * 0x1p-53 * 2.0 - 1.0; }

static unsigned test_seed(void)
{
    const char *env = getenv("MT_SEED");
    unsigned seed = env ? (unsigned)strtoul(env, NULL, 0) : (unsigned)time(NULL);
    printf("seed %u\n", seed);
    return seed;
}

/* Random tensors for every leaf of g, indexed by node id (NULL elsewhere). */
static mt_tensor **random_leaves(const mt_graph *g)
{
    mt_tensor **t = mt_calloc((size_t)g->nnodes, sizeof *t);
    assert_non_null(t);
    for (int i = 0; i < g->nnodes; i++) {
        if (!mt_op_is(g->nodes[i].op, MT_F_LEAF))
            continue;
        t[i] = mt_tensor_new(g->nodes[i].type);
        assert_non_null(t[i]);
        for (int64_t k = 0; k < mt_type_numel(&g->nodes[i].type); k++) {
            if (t[i]->type.dtype == MT_DTYPE_F32)
                ((float *)t[i]->data)[k] = (float)rnd_uniform();
            else
                ((double *)t[i]->data)[k] = rnd_uniform();
        }
    }
    return t;
}

static void free_tensors(mt_tensor **t, int n)
{
    for (int i = 0; i < n; i++)
        mt_tensor_free(t[i]);
    mt_free(t);
}

/* The outputs of g on leaf tensors given by name (taken from `by_name`'s graph). */
static mt_tensor **run_outputs(const mt_graph *g, const mt_graph *named, mt_tensor **by_name)
{
    const mt_tensor **leaves = mt_calloc((size_t)g->nnodes + 1, sizeof *leaves);
    mt_tensor **outs = mt_calloc((size_t)g->noutputs, sizeof *outs);
    assert_non_null(leaves);
    assert_non_null(outs);
    for (int i = 0; i < g->nnodes; i++)
        if (mt_op_is(g->nodes[i].op, MT_F_LEAF))
            leaves[i] = by_name[mt_graph_find(named, g->nodes[i].name)];
    mt_diag d;
    mt_diag_init(&d);
    if (mt_interp_run(g, leaves, outs, &d) != MT_OK)
        fail_msg("interp: %s", d.msg);
    mt_free(leaves);
    return outs;
}

/* a and b agree to `tol` (relative above 1, absolute below); NaN matches NaN. */
static int agree(const mt_tensor *a, const mt_tensor *b, double tol)
{
    if (!mt_type_equal(&a->type, &b->type))
        return 0;
    for (int64_t i = 0; i < mt_type_numel(&a->type); i++) {
        double x = element(a, i), y = element(b, i);
        if (isnan(x) || isnan(y)) {
            if (!(isnan(x) && isnan(y)))
                return 0;
        } else if (x != y && !(fabs(x - y) <= tol * fmax(1.0, fabs(x)))) {
            return 0;
        }
    }
    return 1;
}

/* g's outputs before and after `after` (an optimised g) agree on random inputs. */
static void assert_same_numbers(const mt_graph *g, const mt_graph *after, double tol)
{
    mt_tensor **leaves = random_leaves(g);
    mt_tensor **a = run_outputs(g, g, leaves);
    mt_tensor **b = run_outputs(after, g, leaves);
    for (int i = 0; i < g->noutputs; i++)
        if (!agree(a[i], b[i], tol))
            fail_msg("output %d (%%%s) differs after optimisation", i, out_node(g, i)->name);
    free_tensors(a, g->noutputs);
    free_tensors(b, after->noutputs);
    free_tensors(leaves, g->nnodes);
}

/* ---- fold ------------------------------------------------------------------------------- */

static void fold_turns_an_add_of_two_consts_into_one_const(void **state)
{
    (void)state;
    mt_graph *g = mt_graph_new("g");
    int x = mt_input(g, "x", f32(2, 2, 3, 0));
    int a = mt_const(g, 2.0, f32(2, 2, 3, 0));
    int b = mt_const(g, 3.0, f32(1, 3, 0, 0));
    int s = mt_name(g, mt_add(g, a, b), "s");
    int y = mt_name(g, mt_mul(g, x, s), "y");
    outputs(g, 1, y);

    mt_graph *f = apply(mt_pass_fold, g);
    mt_graph *h = apply(mt_pass_dce, f);
    /* x, the folded const, y: the two addends were left for dce, which dropped them. */
    assert_int_equal(h->nnodes, 3);
    int c = mt_graph_find(h, "s");
    assert_true(c >= 0);
    assert_int_equal(h->nodes[c].op, MT_OP_CONST);
    assert_true(h->nodes[c].attrs->value == 5.0);
    assert_true(mt_type_equal(&h->nodes[c].type, &g->nodes[s].type));
    assert_string_equal(out_node(h, 0)->name, "y");
    mt_graph_free(h);
    mt_graph_free(f);
    mt_graph_free(g);
}

/* Every elementwise op on consts folds to what the interpreter computes on whole tensors. */
static void fold_of_elementwise_ops_equals_the_interpreter(void **state)
{
    (void)state;
    static const mt_op unary[] = {MT_OP_NEG, MT_OP_EXP,  MT_OP_LOG,  MT_OP_RELU, MT_OP_SIGMOID,
                                  MT_OP_INV, MT_OP_TANH, MT_OP_SQRT, MT_OP_ABS};
    static const mt_op binary[] = {MT_OP_ADD,     MT_OP_SUB, MT_OP_MUL, MT_OP_DIV, MT_OP_MAXIMUM,
                                   MT_OP_MINIMUM, MT_OP_POW, MT_OP_LT,  MT_OP_GT,  MT_OP_EQ};
    static const double values[] = {0.0, -0.0, 1.0, -2.5, 0.1, 3.0, -60.0, 1e30, INFINITY, NAN};
    const int nv = (int)(sizeof values / sizeof values[0]);
    for (int dt = 0; dt < 2; dt++) {
        mt_type t = dt ? f64(2, 2, 2, 0) : f32(2, 2, 2, 0);
        mt_type r0 = dt ? f64(0, 0, 0, 0) : f32(0, 0, 0, 0);
        mt_graph *g = mt_graph_new("g");
        int outs[1024], n = 0;
        for (int v = 0; v < nv; v++) {
            int c = mt_const(g, values[v], t);
            for (size_t k = 0; k < sizeof unary / sizeof unary[0]; k++)
                outs[n++] = mt_graph_add(g, unary[k], &c, 1, NULL, NULL, NULL, NULL, 0, 0, NULL);
            for (int w = 0; w < nv; w += 3) {
                int in[2] = {c, mt_const(g, values[w], r0)};
                for (size_t k = 0; k < sizeof binary / sizeof binary[0]; k++)
                    outs[n++] =
                        mt_graph_add(g, binary[k], in, 2, NULL, NULL, NULL, NULL, 0, 0, NULL);
                int w3[3] = {in[1], c, mt_const(g, 7.0, t)};
                outs[n++] = mt_where(g, w3[0], w3[1], w3[2]);
            }
        }
        assert_true(n <= 1024);
        assert_int_equal(mt_set_outputs(g, outs, n), 0);
        assert_int_equal(mt_graph_diag(g)->status, MT_OK);

        mt_graph *f = apply(mt_pass_fold, g);
        for (int i = 0; i < n; i++)
            assert_int_equal(out_node(f, i)->op, MT_OP_CONST);
        mt_tensor **a = run_outputs(g, g, NULL);
        mt_tensor **b = run_outputs(f, g, NULL);
        for (int i = 0; i < n; i++)
            if (!agree(a[i], b[i], 0.0))
                fail_msg("%s: folded %%%s is %.17g, the interpreter says %.17g",
                         mt_dtype_name(t.dtype), out_node(g, i)->name, element(b[i], 0),
                         element(a[i], 0));
        free_tensors(a, n);
        free_tensors(b, n);
        mt_graph_free(f);
        mt_graph_free(g);
    }
}

static void fold_folds_movement_ops_and_reductions_of_a_const(void **state)
{
    (void)state;
    mt_graph *g = mt_graph_new("g");
    int c = mt_const(g, 0.1, f32(3, 2, 3, 4));
    int64_t shape[] = {4, 6}, perm[] = {2, 0, 1}, big[] = {5, 2, 3, 4};
    int64_t start[] = {0, 1, 1}, end[] = {2, 3, 3};
    int outs[] = {
        mt_reshape(g, c, 2, shape),
        mt_permute(g, c, 3, perm),
        mt_expand(g, c, 4, big),
        mt_slice(g, c, 3, start, end),
        mt_sum(g, c, 1),
        mt_sum_all(g, c),
        mt_mean(g, c, -1),
        mt_max_all(g, c),
        mt_mean_all(g, c),
    };
    int n = (int)(sizeof outs / sizeof outs[0]);
    assert_int_equal(mt_set_outputs(g, outs, n), 0);
    assert_int_equal(mt_graph_diag(g)->status, MT_OK);

    mt_graph *f = apply(mt_pass_fold, g);
    for (int i = 0; i < n; i++) {
        assert_int_equal(out_node(f, i)->op, MT_OP_CONST);
        assert_true(mt_type_equal(&out_node(f, i)->type, &out_node(g, i)->type));
    }
    assert_true(out_node(f, 0)->attrs->value == (double)0.1f); /* f32 consts hold f32 values */
    assert_true(out_node(f, 5)->attrs->value == (double)(float)((double)0.1f * 24));
    /* The interpreter sums one element at a time; value * count may differ in the last bit. */
    mt_tensor **a = run_outputs(g, g, NULL);
    mt_tensor **b = run_outputs(f, g, NULL);
    for (int i = 0; i < n; i++)
        assert_true(agree(a[i], b[i], 1e-6));
    free_tensors(a, n);
    free_tensors(b, n);
    mt_graph_free(f);
    mt_graph_free(g);
}

static void fold_folds_other_ops_only_when_the_result_is_uniform(void **state)
{
    (void)state;
    mt_graph *g = mt_graph_new("g");
    int one = mt_const(g, 1.0, f32(2, 2, 3, 0));
    int zero = mt_const(g, 0.0, f32(2, 2, 3, 0));
    int w = mt_const(g, 0.5, f32(2, 3, 4, 0));
    int64_t pads[] = {1, 0, 0, 2};
    int pad1 = mt_pad(g, one, 4, pads);  /* ones with a border of zeros: not uniform */
    int pad0 = mt_pad(g, zero, 4, pads); /* zeros all over */
    int cat2[] = {one, zero};
    int mixed = mt_concat(g, 2, cat2, 0);
    int cat3[] = {one, one};
    int same = mt_concat(g, 2, cat3, 1);
    int mm = mt_matmul(g, one, w); /* every element 3 * 1 * 0.5 */
    int r = mt_rand(g, 7, f32(2, 2, 3, 0));
    int rr = mt_add(g, r, zero); /* rand is not a const: no fold */
    outputs(g, 6, pad1, pad0, mixed, same, mm, rr);

    mt_graph *f = apply(mt_pass_fold, g);
    assert_int_equal(out_node(f, 0)->op, MT_OP_PAD);
    assert_int_equal(out_node(f, 1)->op, MT_OP_CONST);
    assert_true(out_node(f, 1)->attrs->value == 0.0);
    assert_int_equal(out_node(f, 2)->op, MT_OP_CONCAT);
    assert_int_equal(out_node(f, 3)->op, MT_OP_CONST);
    assert_int_equal(out_node(f, 4)->op, MT_OP_CONST);
    assert_true(out_node(f, 4)->attrs->value == 1.5);
    assert_int_equal(out_node(f, 5)->op, MT_OP_ADD);
    assert_int_equal(count_op(f, MT_OP_RAND), 1);
    assert_output_names(g, f);
    assert_same_numbers(g, f, 0.0);
    mt_graph_free(f);
    mt_graph_free(g);
}

/* ---- algebraic -------------------------------------------------------------------------- */

static void algebraic_removes_a_multiply_by_one_and_the_output_takes_over_the_name(void **state)
{
    (void)state;
    mt_graph *g = mt_graph_new("g");
    int x = mt_input(g, "x", f32(2, 2, 3, 0));
    int t = mt_name(g, mt_exp(g, x), "t");
    int one = mt_const(g, 1.0, f32(0, 0, 0, 0));
    int y = mt_name(g, mt_mul(g, t, one), "y");
    outputs(g, 1, y);
    (void)t;

    mt_graph *a = apply(mt_pass_algebraic, g);
    mt_graph *h = apply(mt_pass_dce, a);
    assert_int_equal(ncompute(h), 1);
    assert_int_equal(out_node(h, 0)->op, MT_OP_EXP);
    assert_string_equal(out_node(h, 0)->name, "y"); /* %t renamed: the output's name wins */
    assert_int_equal(mt_graph_find(h, "t"), -1);
    mt_graph_free(h);
    mt_graph_free(a);
    mt_graph_free(g);
}

static void an_output_that_becomes_a_leaf_keeps_a_copy_under_its_name(void **state)
{
    (void)state;
    mt_graph *g = mt_graph_new("g");
    int x = mt_input(g, "x", f32(2, 2, 3, 0));
    int zero = mt_const(g, 0.0, f32(2, 2, 3, 0));
    int y = mt_name(g, mt_add(g, x, zero), "y");
    outputs(g, 2, y, x);

    mt_graph *h = optimize(g);
    assert_int_equal(ncompute(h), 1);
    assert_string_equal(out_node(h, 0)->name, "y");
    assert_int_equal(out_node(h, 0)->op, MT_OP_RESHAPE); /* a copy of x */
    assert_int_equal(out_node(h, 0)->in[0], mt_graph_find(h, "x"));
    assert_string_equal(out_node(h, 1)->name, "x");
    assert_same_signature(g, h);
    assert_same_numbers(g, h, 0.0);
    mt_graph_free(h);
    mt_graph_free(g);
}

static void two_outputs_that_become_one_value_keep_both_names(void **state)
{
    (void)state;
    mt_graph *g = mt_graph_new("g");
    int x = mt_input(g, "x", f32(1, 4, 0, 0));
    int e1 = mt_name(g, mt_exp(g, x), "e1");
    int one = mt_const(g, 1.0, f32(0, 0, 0, 0));
    int y1 = mt_name(g, mt_div(g, e1, one), "y1");
    int y2 = mt_name(g, mt_mul(g, one, e1), "y2");
    outputs(g, 3, y1, y2, y1);

    mt_graph *h = optimize(g);
    assert_string_equal(out_node(h, 0)->name, "y1");
    assert_string_equal(out_node(h, 1)->name, "y2");
    assert_string_equal(out_node(h, 2)->name, "y1");
    assert_int_equal(out_node(h, 0)->op, MT_OP_EXP);
    assert_int_equal(out_node(h, 1)->op, MT_OP_RESHAPE);
    assert_int_equal(h->outputs[0], h->outputs[2]);
    assert_int_equal(ncompute(h), 2);
    assert_same_numbers(g, h, 0.0);
    mt_graph_free(h);
    mt_graph_free(g);
}

static void algebraic_expands_when_the_identity_broadcasts(void **state)
{
    (void)state;
    mt_graph *g = mt_graph_new("g");
    int x = mt_input(g, "x", f32(1, 3, 0, 0));
    int zero = mt_const(g, 0.0, f32(2, 2, 3, 0));
    int one = mt_const(g, 1.0, f32(0, 0, 0, 0));
    int a = mt_name(g, mt_add(g, zero, x), "a"); /* f32[2,3]: x is stretched */
    int b = mt_name(g, mt_mul(g, x, one), "b");  /* f32[3]: x itself */
    int y = mt_name(g, mt_sub(g, a, mt_exp(g, b)), "y");
    outputs(g, 1, y);

    mt_graph *h = optimize(g);
    int ia = mt_graph_find(h, "a");
    assert_true(ia >= 0);
    assert_int_equal(h->nodes[ia].op, MT_OP_EXPAND);
    assert_int_equal(h->nodes[ia].in[0], mt_graph_find(h, "x"));
    assert_true(mt_type_equal(&h->nodes[ia].type, &g->nodes[a].type));
    assert_int_equal(mt_graph_find(h, "b"), -1); /* gone: exp reads x */
    assert_int_equal(count_op(h, MT_OP_CONST), 0);
    assert_int_equal(ncompute(h), 3); /* expand, exp, sub */
    assert_same_numbers(g, h, 0.0);
    mt_graph_free(h);
    mt_graph_free(g);
}

static void algebraic_collapses_chains_of_movement_ops_and_double_negation(void **state)
{
    (void)state;
    mt_graph *g = mt_graph_new("g");
    int x = mt_input(g, "x", f32(3, 2, 3, 4));
    int64_t s1[] = {6, 4}, s2[] = {24}, s3[] = {2, 3, 4};
    int r = mt_reshape(g, mt_reshape(g, mt_reshape(g, x, 2, s1), 1, s2), 3, s3); /* -> x */
    int64_t p1[] = {1, 2, 0}, p2[] = {2, 0, 1}, p3[] = {0, 2, 1};
    int pid = mt_permute(g, mt_permute(g, r, 3, p1), 3, p2);  /* identity -> x */
    int pc = mt_permute(g, mt_permute(g, pid, 3, p1), 3, p3); /* one permute */
    int n3 = mt_neg(g, mt_neg(g, mt_neg(g, pc)));             /* one neg */
    int64_t e1[] = {1, 3, 2, 4}, e2[] = {5, 3, 2, 4};
    int ex = mt_expand(g, mt_expand(g, n3, 4, e1), 4, e2); /* one expand */
    int64_t same[] = {5, 3, 2, 4};
    int y = mt_name(g, mt_reshape(g, ex, 4, same), "y"); /* to its own shape: gone */
    outputs(g, 1, y);

    mt_graph *h = optimize(g);
    assert_int_equal(ncompute(h), 3);
    assert_int_equal(count_op(h, MT_OP_PERMUTE), 1);
    assert_int_equal(count_op(h, MT_OP_NEG), 1);
    assert_int_equal(count_op(h, MT_OP_EXPAND), 1);
    const mt_node *p = &h->nodes[h->nodes[h->nodes[h->outputs[0]].in[0]].in[0]];
    assert_int_equal(p->op, MT_OP_PERMUTE);
    assert_int_equal(p->in[0], mt_graph_find(h, "x"));
    /* perm p3 of perm p1: dim i is x's dim p1[p3[i]] = {1, 0, 2}. */
    assert_int_equal(p->attrs->perm.v[0], 1);
    assert_int_equal(p->attrs->perm.v[1], 0);
    assert_int_equal(p->attrs->perm.v[2], 2);
    assert_string_equal(out_node(h, 0)->name, "y");
    assert_same_numbers(g, h, 0.0);
    mt_graph_free(h);
    mt_graph_free(g);
}

static void reductions_over_size_one_axes_become_identities_or_reshapes(void **state)
{
    (void)state;
    mt_graph *g = mt_graph_new("g");
    int x = mt_input(g, "x", f32(3, 2, 1, 3));
    int s = mt_sum(g, x, 1);                 /* -> x */
    int m = mt_mean(g, mt_max(g, s, -2), 1); /* -> x */
    int u = mt_input(g, "u", f32(2, 1, 1, 0));
    int su = mt_name(g, mt_sum_all(g, u), "su"); /* -> reshape u to [] */
    int r0 = mt_input(g, "r0", f32(0, 0, 0, 0));
    int mr = mt_name(g, mt_max_all(g, r0), "mr"); /* -> r0, kept as a copy: r0 is a leaf */
    int y = mt_name(g, mt_exp(g, m), "y");
    outputs(g, 3, y, su, mr);

    mt_graph *h = optimize(g);
    assert_int_equal(count_op(h, MT_OP_SUM) + count_op(h, MT_OP_MEAN) + count_op(h, MT_OP_MAX), 0);
    assert_int_equal(out_node(h, 0)->op, MT_OP_EXP);
    assert_int_equal(out_node(h, 0)->in[0], mt_graph_find(h, "x"));
    assert_int_equal(out_node(h, 1)->op, MT_OP_RESHAPE);
    assert_int_equal(out_node(h, 1)->type.rank, 0);
    assert_int_equal(out_node(h, 2)->op, MT_OP_RESHAPE);
    assert_int_equal(out_node(h, 2)->in[0], mt_graph_find(h, "r0"));
    assert_output_names(g, h);
    assert_same_numbers(g, h, 0.0);
    mt_graph_free(h);
    mt_graph_free(g);
}

static void algebraic_leaves_non_identities_alone(void **state)
{
    (void)state;
    mt_graph *g = mt_graph_new("g");
    int x = mt_input(g, "x", f32(2, 2, 3, 0));
    int two = mt_const(g, 2.0, f32(0, 0, 0, 0));
    int zero = mt_const(g, 0.0, f32(0, 0, 0, 0));
    int one = mt_const(g, 1.0, f32(0, 0, 0, 0));
    int a = mt_mul(g, x, two);
    int b = mt_sub(g, zero, a); /* 0 - x is not x */
    int c = mt_div(g, one, b);  /* 1 / x is not x */
    int d = mt_sum(g, c, 1);    /* axis of size 3 */
    int64_t perm[] = {1, 0};
    int e = mt_permute(g, d, 2, perm);
    outputs(g, 1, e);

    mt_graph *h = apply(mt_pass_algebraic, g);
    assert_true(mt_graph_same(g, h));
    mt_graph_free(h);
    mt_graph_free(g);
}

/* ---- cse -------------------------------------------------------------------------------- */

static void cse_computes_a_repeated_expression_once(void **state)
{
    (void)state;
    mt_graph *g = mt_graph_new("g");
    int x = mt_input(g, "x", f32(2, 2, 3, 0));
    int w = mt_input(g, "w", f32(2, 2, 3, 0)); /* same type as x: never merged with it */
    int a1 = mt_exp(g, mt_add(g, x, w));
    int a2 = mt_exp(g, mt_add(g, x, w));
    int b = mt_add(g, w, x); /* operands in another order: a different node to cse */
    int y = mt_name(g, mt_mul(g, mt_mul(g, a1, a2), b), "y");
    outputs(g, 1, y);

    mt_graph *h = apply(mt_pass_cse, g);
    assert_int_equal(count_op(h, MT_OP_INPUT), 2);
    assert_int_equal(count_op(h, MT_OP_EXP), 1);
    assert_int_equal(count_op(h, MT_OP_ADD), 2);
    assert_int_equal(ncompute(h), 5);
    const mt_node *m = &h->nodes[out_node(h, 0)->in[0]];
    assert_int_equal(m->in[0], m->in[1]); /* exp(x+w) squared */
    assert_same_numbers(g, h, 0.0);
    mt_graph_free(h);
    mt_graph_free(g);
}

static void cse_merges_rands_only_when_seed_and_type_are_equal(void **state)
{
    (void)state;
    mt_graph *g = mt_graph_new("g");
    int r1 = mt_rand(g, 1, f32(1, 8, 0, 0));
    int r2 = mt_rand(g, 2, f32(1, 8, 0, 0));
    int r3 = mt_rand(g, 1, f32(1, 8, 0, 0));
    int r4 = mt_rand(g, 1, f64(1, 8, 0, 0));
    int r5 = mt_rand(g, 1, f32(2, 2, 4, 0));
    int c1 = mt_const(g, 0.5, f32(1, 8, 0, 0));
    int c2 = mt_const(g, 0.5, f32(1, 8, 0, 0));
    int c3 = mt_const(g, -0.5, f32(1, 8, 0, 0));
    int y = mt_name(g, mt_add(g, mt_add(g, r1, r2), r3), "y");
    int z = mt_name(g, mt_add(g, mt_add(g, c1, c2), c3), "z");
    outputs(g, 4, y, z, r4, r5);

    mt_graph *h = apply(mt_pass_cse, g);
    assert_int_equal(count_op(h, MT_OP_RAND), 4); /* r3 is r1; r4 and r5 differ in type */
    assert_int_equal(count_op(h, MT_OP_CONST), 2);
    const mt_node *sum = &h->nodes[out_node(h, 0)->in[0]];
    assert_int_not_equal(sum->in[0], sum->in[1]);
    assert_int_equal(out_node(h, 0)->in[1], sum->in[0]);
    assert_output_names(g, h);
    assert_same_numbers(g, h, 0.0);
    mt_graph_free(h);
    mt_graph_free(g);
}

static void cse_keeps_both_names_of_two_equal_outputs(void **state)
{
    (void)state;
    mt_graph *g = mt_graph_new("g");
    int x = mt_input(g, "x", f32(1, 3, 0, 0));
    int a = mt_name(g, mt_tanh(g, x), "a");
    int b = mt_name(g, mt_tanh(g, x), "b");
    outputs(g, 2, a, b);

    mt_graph *h = optimize(g);
    assert_int_equal(count_op(h, MT_OP_TANH), 1);
    assert_output_names(g, h);
    assert_int_equal(out_node(h, 1)->op, MT_OP_RESHAPE);
    assert_int_equal(out_node(h, 1)->in[0], h->outputs[0]);
    /* The copy is stable: optimising again changes nothing. */
    mt_graph *h2 = optimize(h);
    assert_true(mt_graph_same(h, h2));
    mt_graph_free(h2);
    mt_graph_free(h);
    mt_graph_free(g);
}

/* ---- dce -------------------------------------------------------------------------------- */

static void dce_drops_dead_nodes_but_keeps_every_leaf_in_order(void **state)
{
    (void)state;
    mt_graph *g = mt_graph_new("g");
    int p = mt_param(g, "p", f32(1, 3, 0, 0));
    int x = mt_input(g, "x", f32(1, 3, 0, 0));
    int dead = mt_exp(g, p);
    mt_log(g, dead);
    int unused = mt_input(g, "unused", f64(2, 5, 5, 0));
    int q = mt_param(g, "q", f32(0, 0, 0, 0));
    int y = mt_name(g, mt_relu(g, x), "y");
    outputs(g, 1, y);
    (void)unused;
    (void)q;

    mt_graph *h = apply(mt_pass_dce, g);
    assert_int_equal(h->nnodes, 5);
    assert_int_equal(ncompute(h), 1);
    assert_same_signature(g, h);
    assert_string_equal(h->nodes[0].name, "p");
    assert_string_equal(h->nodes[1].name, "x");
    assert_string_equal(h->nodes[2].name, "unused");
    assert_string_equal(h->nodes[3].name, "q");
    assert_string_equal(out_node(h, 0)->name, "y");
    mt_graph_free(h);
    mt_graph_free(g);
}

/* ---- the pipeline ----------------------------------------------------------------------- */

static void the_default_pipeline_is_fold_algebraic_cse_dce(void **state)
{
    (void)state;
    int n;
    const mt_pass *const *p = mt_passes_default(&n);
    const char *names[] = {"fold", "algebraic", "cse", "dce"};
    assert_int_equal(n, 4);
    for (int i = 0; i < n; i++) {
        assert_string_equal(p[i]->name, names[i]);
        assert_ptr_equal(mt_pass_lookup(names[i]), p[i]);
        assert_non_null(p[i]->doc);
    }
    assert_null(mt_pass_lookup("no-such-pass"));
}

/* A test-local pass that copies the graph and then points an operand forward. */
static mt_status poke(const mt_graph *in, mt_graph **out, mt_diag *d)
{
    mt_status st = mt_pipeline_run(in, NULL, 0, NULL, NULL, out, d);
    if (st != MT_OK)
        return st;
    mt_graph *g = *out;
    for (int i = 0; i < g->nnodes; i++)
        if (g->nodes[i].nin > 0) {
            ((int *)g->nodes[i].in)[0] = g->nnodes - 1 > i ? g->nnodes - 1 : i;
            break;
        }
    return MT_OK;
}

static void record(void *ctx, const mt_pass *pass, const mt_graph *result)
{
    char *log = ctx;
    strcat(log, pass->name);
    strcat(log, mt_graph_verify(result, NULL) == MT_OK ? " ok;" : " BAD;");
}

static void a_pass_that_breaks_the_graph_is_named_as_an_internal_error(void **state)
{
    (void)state;
    mt_graph *g = mt_graph_new("g");
    int x = mt_input(g, "x", f32(1, 3, 0, 0));
    int y = mt_exp(g, mt_neg(g, x));
    outputs(g, 1, y);
    const mt_pass broken = {"poke", poke, "points an operand forward"};
    const mt_pass *passes[] = {mt_pass_lookup("fold"), &broken, mt_pass_lookup("dce")};
    char log[256] = "";
    mt_diag d;
    mt_diag_init(&d);
    mt_graph *out = (mt_graph *)1;
    assert_int_equal(mt_pipeline_run(g, passes, 3, record, log, &out, &d), MT_ERR_INTERNAL);
    assert_null(out);
    assert_int_equal(d.status, MT_ERR_INTERNAL);
    assert_non_null(strstr(d.msg, "pass 'poke' broke the graph: "));
    assert_non_null(strstr(d.msg, "not defined before it"));
    assert_string_equal(log, "fold ok;"); /* the hook sees verified results only */
    mt_graph_free(g);
}

static void the_pipeline_calls_the_hook_after_every_pass(void **state)
{
    (void)state;
    mt_graph *g = mt_graph_new("g");
    int x = mt_input(g, "x", f32(1, 3, 0, 0));
    outputs(g, 1, mt_exp(g, x));
    int n;
    const mt_pass *const *p = mt_passes_default(&n);
    char log[256] = "";
    mt_graph *out = NULL;
    assert_int_equal(mt_pipeline_run(g, p, n, record, log, &out, NULL), MT_OK);
    assert_string_equal(log, "fold ok;algebraic ok;cse ok;dce ok;");
    assert_true(mt_graph_same(g, out));
    mt_graph_free(out);
    /* No passes: still a new graph, equal to the input. */
    assert_int_equal(mt_pipeline_run(g, NULL, 0, NULL, NULL, &out, NULL), MT_OK);
    assert_true(out != g && mt_graph_same(g, out));
    mt_graph_free(out);
    mt_graph_free(g);
}

/* ---- random graphs ---------------------------------------------------------------------- */

/* Adds node `op` if shape inference accepts it; returns its id or -1 (the graph unchanged). */
static int try_add(mt_graph *g, mt_op op, const int *in, int nin, const mt_attrs *a,
                   const mt_type *declared)
{
    mt_diag d;
    mt_diag_init(&d);
    return mt_graph_add(g, op, in, nin, a, NULL, declared, NULL, 0, 0, &d);
}

static mt_type random_type(mt_dtype dt)
{
    static const int64_t sizes[] = {1, 2, 3};
    int64_t dims[MT_MAX_RANK];
    int rank = rnd_int(4);
    for (int i = 0; i < rank; i++)
        dims[i] = sizes[rnd_int(3)];
    return mt_type_make(dt, rank, dims);
}

static int pick(int n) { return n - 1 - rnd_int(n < 6 ? n : 6); } /* favour recent values */

/* A random graph with plenty for every pass to do: constants 0 and 1, duplicates, chains of
 * movement ops, reductions over size-1 axes, rands, dead nodes. */
static mt_graph *random_graph(void)
{
    mt_dtype dt = rnd_int(4) ? MT_DTYPE_F32 : MT_DTYPE_F64;
    mt_graph *g = mt_graph_new("rnd");
    int nleaves = 1 + rnd_int(3);
    for (int i = 0; i < nleaves; i++)
        (rnd_int(2) ? mt_input : mt_param)(g, NULL, random_type(dt));
    static const double consts[] = {0.0, 1.0, 1.0, 0.0, 2.0, -1.0, 0.5};
    int target = 8 + rnd_int(20);
    for (int tries = 0; g->nnodes < nleaves + target && tries < 2000; tries++) {
        int x = pick(g->nnodes), y = pick(g->nnodes);
        const mt_type *tx = &g->nodes[x].type;
        mt_attrs a;
        mt_attrs_init(&a);
        int in[3] = {x, y, pick(g->nnodes)};
        switch (rnd_int(12)) {
        case 0: { /* a constant, often 0 or 1, of x's type or a scalar */
            a.value = consts[rnd_int(7)];
            mt_type t = rnd_int(2) ? *tx : mt_type_make(dt, 0, NULL);
            try_add(g, MT_OP_CONST, NULL, 0, &a, &t);
            break;
        }
        case 1:
            a.seed = rnd_int(2);
            try_add(g, MT_OP_RAND, NULL, 0, &a, tx);
            break;
        case 2: {
            static const mt_op u[] = {MT_OP_NEG,  MT_OP_EXP, MT_OP_RELU, MT_OP_SIGMOID,
                                      MT_OP_TANH, MT_OP_ABS, MT_OP_NEG};
            try_add(g, u[rnd_int(7)], in, 1, NULL, NULL);
            break;
        }
        case 3:
        case 4: {
            static const mt_op b[] = {MT_OP_ADD,     MT_OP_SUB, MT_OP_MUL, MT_OP_DIV,
                                      MT_OP_MAXIMUM, MT_OP_LT,  MT_OP_MUL};
            try_add(g, b[rnd_int(7)], in, 2, NULL, NULL);
            break;
        }
        case 5: /* reshape: flatten, or back to a shape seen before with as many elements */
            if (rnd_int(2)) {
                a.shape.n = 1;
                a.shape.v[0] = -1;
            } else {
                const mt_type *t = &g->nodes[y].type;
                a.shape.n = t->rank;
                for (int i = 0; i < t->rank; i++)
                    a.shape.v[i] = t->dims[i];
            }
            try_add(g, MT_OP_RESHAPE, in, 1, &a, NULL);
            break;
        case 6: /* a random permutation */
            a.perm.n = tx->rank;
            for (int i = 0; i < tx->rank; i++)
                a.perm.v[i] = i;
            for (int i = tx->rank - 1; i > 0; i--) {
                int j = rnd_int(i + 1);
                int64_t s = a.perm.v[i];
                a.perm.v[i] = a.perm.v[j];
                a.perm.v[j] = s;
            }
            try_add(g, MT_OP_PERMUTE, in, 1, &a, NULL);
            break;
        case 7: /* expand: stretch size-1 axes, maybe add a leading one */
            a.shape.n = tx->rank;
            for (int i = 0; i < tx->rank; i++)
                a.shape.v[i] = tx->dims[i] == 1 && rnd_int(2) ? 2 : tx->dims[i];
            if (tx->rank < 4 && rnd_int(2)) {
                memmove(a.shape.v + 1, a.shape.v, (size_t)a.shape.n * sizeof a.shape.v[0]);
                a.shape.v[0] = 2;
                a.shape.n++;
            }
            try_add(g, MT_OP_EXPAND, in, 1, &a, NULL);
            break;
        case 8: { /* reductions, often over a size-1 axis */
            static const mt_op r[] = {MT_OP_SUM, MT_OP_MEAN, MT_OP_MAX};
            a.dim = rnd_int(4) && tx->rank ? rnd_int(tx->rank) : MT_DIM_ALL;
            try_add(g, r[rnd_int(3)], in, 1, &a, NULL);
            break;
        }
        case 9: { /* a duplicate of an earlier node, for cse */
            const mt_node *n = &g->nodes[x];
            if (!mt_op_is(n->op, MT_F_LEAF)) {
                mt_node copy = *n;
                try_add(g, copy.op, copy.in, copy.nin, copy.attrs, &copy.type);
            }
            break;
        }
        case 10: try_add(g, MT_OP_WHERE, in, 3, NULL, NULL); break;
        default: { /* occasionally something heavier */
            int k = rnd_int(3);
            if (k == 0) {
                try_add(g, MT_OP_MATMUL, in, 2, NULL, NULL);
            } else if (k == 1) {
                a.dim = tx->rank ? rnd_int(tx->rank) : 0;
                try_add(g, MT_OP_CONCAT, in, 2, &a, NULL);
            } else {
                a.pads.n = 2 * tx->rank;
                for (int i = 0; i < a.pads.n; i++)
                    a.pads.v[i] = rnd_int(2);
                try_add(g, MT_OP_PAD, in, 1, &a, NULL);
            }
            break;
        }
        }
    }
    int outs[3], nout = 1 + rnd_int(3);
    for (int i = 0; i < nout; i++)
        outs[i] = pick(g->nnodes);
    assert_int_equal(mt_set_outputs(g, outs, nout), 0);
    return g;
}

static void the_pipeline_keeps_numbers_signature_and_names_of_random_graphs(void **state)
{
    (void)state;
    rng_state = test_seed();
    int removed = 0;
    for (int round = 0; round < 1000; round++) {
        mt_graph *g = random_graph();
        assert_int_equal(mt_graph_verify(g, NULL), MT_OK);
        mt_graph *h = optimize(g);
        assert_same_signature(g, h);
        assert_output_names(g, h);
        assert_same_numbers(g, h, 1e-6);
        assert_true(ncompute(h) <= ncompute(g));
        removed += ncompute(g) - ncompute(h);
        /* One round of the pipeline is its fixed point. */
        mt_graph *h2 = optimize(h);
        if (!mt_graph_same(h, h2)) {
            char *a = mt_graph_print(h), *b = mt_graph_print(h2);
            fail_msg("a second round changed the graph:\n%s---\n%s", a, b);
        }
        mt_graph_free(h2);
        mt_graph_free(h);
        mt_graph_free(g);
    }
    assert_true(removed > 1000); /* the generator gives the passes real work */
}

/* ---- out of memory ---------------------------------------------------------------------- */

static void every_pass_reports_out_of_memory_cleanly(void **state)
{
    (void)state;
    rng_state = 12345;
    mt_graph *g = random_graph();
    int n;
    const mt_pass *const *p = mt_passes_default(&n);
    int failures = 0;
    for (long budget = 0;; budget++) {
        mt_test_alloc_fail_after(budget);
        mt_diag d;
        mt_diag_init(&d);
        mt_graph *out = (mt_graph *)1;
        mt_status st = mt_pipeline_run(g, p, n, NULL, NULL, &out, &d);
        mt_test_alloc_restore();
        mt_diag_fini(&d);
        if (st == MT_OK) {
            mt_graph_free(out);
            break;
        }
        assert_int_equal(st, MT_ERR_NOMEM);
        assert_null(out);
        failures++;
    }
    assert_true(failures > 10);
    mt_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fold_turns_an_add_of_two_consts_into_one_const),
        cmocka_unit_test(fold_of_elementwise_ops_equals_the_interpreter),
        cmocka_unit_test(fold_folds_movement_ops_and_reductions_of_a_const),
        cmocka_unit_test(fold_folds_other_ops_only_when_the_result_is_uniform),
        cmocka_unit_test(algebraic_removes_a_multiply_by_one_and_the_output_takes_over_the_name),
        cmocka_unit_test(an_output_that_becomes_a_leaf_keeps_a_copy_under_its_name),
        cmocka_unit_test(two_outputs_that_become_one_value_keep_both_names),
        cmocka_unit_test(algebraic_expands_when_the_identity_broadcasts),
        cmocka_unit_test(algebraic_collapses_chains_of_movement_ops_and_double_negation),
        cmocka_unit_test(reductions_over_size_one_axes_become_identities_or_reshapes),
        cmocka_unit_test(algebraic_leaves_non_identities_alone),
        cmocka_unit_test(cse_computes_a_repeated_expression_once),
        cmocka_unit_test(cse_merges_rands_only_when_seed_and_type_are_equal),
        cmocka_unit_test(cse_keeps_both_names_of_two_equal_outputs),
        cmocka_unit_test(dce_drops_dead_nodes_but_keeps_every_leaf_in_order),
        cmocka_unit_test(the_default_pipeline_is_fold_algebraic_cse_dce),
        cmocka_unit_test(a_pass_that_breaks_the_graph_is_named_as_an_internal_error),
        cmocka_unit_test(the_pipeline_calls_the_hook_after_every_pass),
        cmocka_unit_test(the_pipeline_keeps_numbers_signature_and_names_of_random_graphs),
        cmocka_unit_test(every_pass_reports_out_of_memory_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
