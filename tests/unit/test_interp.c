/* test_interp.c - the reference interpreter and the Philox generator behind `rand`.
 *
 * Graphs are built with the public builder and run through mt_interp_run; expected values are
 * worked out by hand in the comments, or by a naive loop written differently from the
 * interpreter's (matmul, conv2d). f32 expectations are the f64 value rounded once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ir/graph.h"
#include "runtime/interp.h"
#include "runtime/philox.h"
#include "tests/support/failing_alloc.h"

/* ---- helpers -------------------------------------------------------------------------- */

static const mt_dtype dtypes[2] = {MT_DTYPE_F32, MT_DTYPE_F64};

static mt_type T(mt_dtype dt, int rank, ...)
{
    int64_t dims[MT_MAX_RANK] = {0};
    va_list ap;
    va_start(ap, rank);
    for (int i = 0; i < rank; i++)
        dims[i] = va_arg(ap, int);
    va_end(ap);
    return mt_type_make(dt, rank, dims);
}

static double at(const mt_tensor *t, int64_t i)
{
    if (t->type.dtype == MT_DTYPE_F32)
        return ((const float *)t->data)[i];
    return ((const double *)t->data)[i];
}

static void set(mt_tensor *t, int64_t i, double v)
{
    if (t->type.dtype == MT_DTYPE_F32)
        ((float *)t->data)[i] = (float)v;
    else
        ((double *)t->data)[i] = v;
}

/* What a value of the computation looks like once stored in dtype dt. */
static double as(mt_dtype dt, double v) { return dt == MT_DTYPE_F32 ? (double)(float)v : v; }

#define MAXN 64

/* A graph under construction, the tensors fed to its leaves and its outputs after a run. */
typedef struct ctx {
    mt_graph *g;
    mt_tensor *feed[MAXN]; /* by node id */
    mt_tensor *out[MAXN];
    int nout;
} ctx;

static ctx *ctx_new(void)
{
    ctx *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->g = mt_graph_new("t");
    assert_non_null(c->g);
    return c;
}

static void ctx_free(ctx *c)
{
    for (int i = 0; i < MAXN; i++) {
        mt_tensor_free(c->feed[i]);
        mt_tensor_free(c->out[i]);
    }
    mt_graph_free(c->g);
    free(c);
}

/* An input of type t holding v (or 0, 1, 2, ... when v is NULL). */
static int input(ctx *c, mt_type t, const double *v)
{
    int id = mt_input(c->g, NULL, t);
    assert_true(id >= 0 && id < MAXN);
    mt_tensor *x = mt_tensor_new(t);
    assert_non_null(x);
    for (int64_t i = 0; i < mt_type_numel(&t); i++)
        set(x, i, v ? v[i] : (double)i);
    c->feed[id] = x;
    return id;
}

static int ok(ctx *c, int id)
{
    if (id < 0)
        print_message("builder: %s\n", mt_graph_diag(c->g)->msg);
    assert_true(id >= 0 && id < MAXN);
    return id;
}

static void run(ctx *c, int n, const int *outs)
{
    assert_int_equal(mt_set_outputs(c->g, outs, n), 0);
    const mt_tensor *leaves[MAXN] = {0};
    for (int i = 0; i < MAXN; i++)
        leaves[i] = c->feed[i];
    mt_diag d;
    mt_diag_init(&d);
    mt_status st = mt_interp_run(c->g, leaves, c->out, &d);
    if (st != MT_OK)
        print_message("interp: %s\n", d.msg);
    assert_int_equal(st, MT_OK);
    c->nout = n;
}

static mt_tensor *run1(ctx *c, int id)
{
    run(c, 1, &id);
    return c->out[0];
}

/* t has type `type` and holds `want` (rounded to its dtype); NaN matches NaN. */
static void expect(const mt_tensor *t, mt_type type, const double *want)
{
    char a[MT_TYPE_STR_MAX], b[MT_TYPE_STR_MAX];
    if (!mt_type_equal(&t->type, &type))
        fail_msg("type %s, expected %s", mt_type_str(&t->type, a, sizeof a),
                 mt_type_str(&type, b, sizeof b));
    for (int64_t i = 0; i < mt_type_numel(&type); i++) {
        double got = at(t, i), w = as(type.dtype, want[i]);
        if (isnan(w) && isnan(got))
            continue;
        if (got != w || signbit(got) != signbit(w))
            fail_msg("element %lld: got %.17g, expected %.17g", (long long)i, got, w);
    }
}

/* One unary op on a fed tensor, for a table of ops. */
static mt_tensor *unary(ctx *c, int (*op)(mt_graph *, int), int x)
{
    return run1(c, ok(c, op(c->g, x)));
}

static unsigned test_seed(void)
{
    const char *env = getenv("MT_SEED");
    unsigned seed = env ? (unsigned)strtoul(env, NULL, 10) : (unsigned)time(NULL);
    printf("seed %u\n", seed);
    return seed;
}

/* xorshift32: small, seedable, good enough for test data. */
static double uniform(uint32_t *s)
{
    uint32_t x = *s ? *s : 1;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return (double)x / 4294967296.0 * 2.0 - 1.0;
}

/* ---- elementwise ---------------------------------------------------------------------- */

static void unary_ops_apply_their_c_definitions_at_ranks_0_and_2(void **state)
{
    (void)state;
    struct {
        int (*build)(mt_graph *, int);
        double (*ref)(double);
    } ops[] = {{mt_exp, exp}, {mt_log, log}, {mt_tanh, tanh}, {mt_sqrt, sqrt}, {mt_abs, fabs}};
    const double v[6] = {0.25, 1.0, 2.5, 3.0, 7.75, 100.0};
    for (int d = 0; d < 2; d++)
        for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
            ctx *c = ctx_new();
            int x = input(c, T(dtypes[d], 2, 2, 3), v);
            mt_tensor *y = unary(c, ops[k].build, x);
            double want[6];
            for (int i = 0; i < 6; i++)
                want[i] = ops[k].ref(as(dtypes[d], v[i]));
            expect(y, T(dtypes[d], 2, 2, 3), want);
            ctx_free(c);

            c = ctx_new();
            x = input(c, T(dtypes[d], 0), &v[2]);
            y = unary(c, ops[k].build, x);
            want[0] = ops[k].ref(v[2]);
            expect(y, T(dtypes[d], 0), want);
            ctx_free(c);
        }
}

static void neg_relu_inv_and_abs_handle_signs(void **state)
{
    (void)state;
    const double v[4] = {-2.0, -0.0, 0.5, 4.0};
    for (int d = 0; d < 2; d++) {
        mt_type t = T(dtypes[d], 1, 4);
        ctx *c = ctx_new();
        int x = input(c, t, v);
        expect(unary(c, mt_neg, x), t, (double[]){2.0, 0.0, -0.5, -4.0});
        ctx_free(c);
        c = ctx_new();
        x = input(c, t, v);
        expect(unary(c, mt_relu, x), t, (double[]){0.0, 0.0, 0.5, 4.0});
        ctx_free(c);
        c = ctx_new(); /* NaN passes through relu, as in PyTorch */
        x = input(c, t, (double[]){NAN, -1.0, 1.0, -INFINITY});
        expect(unary(c, mt_relu, x), t, (double[]){NAN, 0.0, 1.0, 0.0});
        ctx_free(c);
        c = ctx_new();
        x = input(c, t, v);
        expect(unary(c, mt_inv, x), t, (double[]){-0.5, -INFINITY, 2.0, 0.25});
        ctx_free(c);
        c = ctx_new();
        x = input(c, t, v);
        expect(unary(c, mt_abs, x), t, (double[]){2.0, 0.0, 0.5, 4.0});
        ctx_free(c);
    }
}

static void sigmoid_is_stable_for_large_magnitudes(void **state)
{
    (void)state;
    const double v[5] = {-1000.0, -2.0, 0.0, 2.0, 1000.0};
    for (int d = 0; d < 2; d++) {
        mt_type t = T(dtypes[d], 1, 5);
        ctx *c = ctx_new();
        int x = input(c, t, v);
        double e2 = exp(-2.0);
        /* exp(1000) overflows: exp(x) / (1 + exp(x)) would give inf/inf = NaN at 1000. */
        expect(unary(c, mt_sigmoid, x), t,
               (double[]){0.0, e2 / (1.0 + e2), 0.5, 1.0 / (1.0 + e2), 1.0});
        ctx_free(c);
    }
}

static void binary_ops_broadcast_a_column_against_a_row(void **state)
{
    (void)state;
    for (int d = 0; d < 2; d++) {
        ctx *c = ctx_new();
        int a = input(c, T(dtypes[d], 2, 4, 1), (double[]){0, 10, 20, 30});
        int b = input(c, T(dtypes[d], 1, 3), (double[]){1, 2, 3});
        int s = ok(c, mt_add(c->g, a, b)), r = ok(c, mt_sub(c->g, b, a));
        run(c, 2, (int[]){s, r});
        expect(c->out[0], T(dtypes[d], 2, 4, 3),
               (double[]){1, 2, 3, 11, 12, 13, 21, 22, 23, 31, 32, 33});
        /* [3] - [4,1]: the row is on the left now, so the signs flip */
        expect(c->out[1], T(dtypes[d], 2, 4, 3),
               (double[]){1, 2, 3, -9, -8, -7, -19, -18, -17, -29, -28, -27});
        ctx_free(c);
    }
}

static void binary_ops_broadcast_a_scalar_against_rank_3_both_ways(void **state)
{
    (void)state;
    for (int d = 0; d < 2; d++) {
        ctx *c = ctx_new();
        int s = input(c, T(dtypes[d], 0), (double[]){100});
        int x = input(c, T(dtypes[d], 3, 2, 2, 2), NULL);
        int l = ok(c, mt_sub(c->g, s, x)), r = ok(c, mt_sub(c->g, x, s));
        int both = ok(c, mt_mul(c->g, s, s));
        run(c, 3, (int[]){l, r, both});
        expect(c->out[0], T(dtypes[d], 3, 2, 2, 2), (double[]){100, 99, 98, 97, 96, 95, 94, 93});
        expect(c->out[1], T(dtypes[d], 3, 2, 2, 2),
               (double[]){-100, -99, -98, -97, -96, -95, -94, -93});
        expect(c->out[2], T(dtypes[d], 0), (double[]){10000});
        ctx_free(c);
    }
}

static void binary_ops_broadcast_middle_axes_of_rank_3_and_rank_2(void **state)
{
    (void)state;
    /* [2,1,3] * [4,1] -> [2,4,3]; out[i,j,k] = a[i,0,k] * b[j,0] */
    ctx *c = ctx_new();
    int a = input(c, T(MT_DTYPE_F64, 3, 2, 1, 3), (double[]){1, 2, 3, 4, 5, 6});
    int b = input(c, T(MT_DTYPE_F64, 2, 4, 1), (double[]){1, 10, 100, 1000});
    mt_tensor *y = run1(c, ok(c, mt_mul(c->g, a, b)));
    double want[24];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++)
            for (int k = 0; k < 3; k++)
                want[(i * 4 + j) * 3 + k] = (double)(i * 3 + k + 1) * pow(10.0, j);
    expect(y, T(MT_DTYPE_F64, 3, 2, 4, 3), want);
    ctx_free(c);
}

static void div_and_pow_follow_c(void **state)
{
    (void)state;
    for (int d = 0; d < 2; d++) {
        mt_type t = T(dtypes[d], 1, 3);
        ctx *c = ctx_new();
        int a = input(c, t, (double[]){2, 9, 4});
        int b = input(c, t, (double[]){3, 0.5, -1});
        int p = ok(c, mt_pow(c->g, a, b)), q = ok(c, mt_div(c->g, a, b));
        run(c, 2, (int[]){p, q});
        expect(c->out[0], t, (double[]){8, 3, 0.25});
        expect(c->out[1], t, (double[]){2.0 / 3.0, 18, -4});
        ctx_free(c);
    }
}

static void maximum_and_minimum_propagate_nan(void **state)
{
    (void)state;
    for (int d = 0; d < 2; d++) {
        mt_type t = T(dtypes[d], 1, 4);
        ctx *c = ctx_new();
        int a = input(c, t, (double[]){1, NAN, 3, -7});
        int b = input(c, t, (double[]){2, 2, NAN, 5});
        int hi = ok(c, mt_maximum(c->g, a, b)), lo = ok(c, mt_minimum(c->g, a, b));
        run(c, 2, (int[]){hi, lo});
        expect(c->out[0], t, (double[]){2, NAN, NAN, 5});
        expect(c->out[1], t, (double[]){1, NAN, NAN, -7});
        ctx_free(c);
    }
}

static void comparisons_give_one_or_zero_and_nan_compares_false(void **state)
{
    (void)state;
    for (int d = 0; d < 2; d++) {
        ctx *c = ctx_new();
        int a = input(c, T(dtypes[d], 2, 2, 2), (double[]){1, 2, 3, NAN});
        int b = input(c, T(dtypes[d], 1, 2), (double[]){2, NAN});
        int lt = ok(c, mt_lt(c->g, a, b)), gt = ok(c, mt_gt(c->g, a, b));
        int eq = ok(c, mt_eq(c->g, a, a));
        run(c, 3, (int[]){lt, gt, eq});
        expect(c->out[0], T(dtypes[d], 2, 2, 2), (double[]){1, 0, 0, 0});
        expect(c->out[1], T(dtypes[d], 2, 2, 2), (double[]){0, 0, 1, 0});
        expect(c->out[2], T(dtypes[d], 2, 2, 2), (double[]){1, 1, 1, 0});
        ctx_free(c);
    }
}

static void where_broadcasts_all_three_operands(void **state)
{
    (void)state;
    for (int d = 0; d < 2; d++) {
        ctx *c = ctx_new();
        /* any nonzero condition picks a, NaN included */
        int cond = input(c, T(dtypes[d], 2, 4, 1), (double[]){1, 0, -2, NAN});
        int a = input(c, T(dtypes[d], 2, 1, 3), (double[]){10, 11, 12});
        int b = input(c, T(dtypes[d], 0), (double[]){-1});
        mt_tensor *y = run1(c, ok(c, mt_where(c->g, cond, a, b)));
        expect(y, T(dtypes[d], 2, 4, 3),
               (double[]){10, 11, 12, -1, -1, -1, 10, 11, 12, 10, 11, 12});
        ctx_free(c);
    }
}

static void f32_results_are_rounded_once_from_double(void **state)
{
    (void)state;
    /* In f32, 1 + 2^-24 rounds back to 1 (a tie, to even), so adding 2^-24 twice one f32 step at
     * a time gives 1. Accumulating in double gives 1 + 2^-23, which f32 holds exactly. */
    ctx *c = ctx_new();
    int x = input(c, T(MT_DTYPE_F32, 1, 3), (double[]){1, 0x1p-24, 0x1p-24});
    int s = ok(c, mt_sum_all(c->g, x));
    mt_tensor *y = run1(c, s);
    expect(y, T(MT_DTYPE_F32, 0), (double[]){1 + 0x1p-23});
    ctx_free(c);
}

/* ---- reductions ----------------------------------------------------------------------- */

static void reductions_keep_the_axis_and_accept_negative_dims(void **state)
{
    (void)state;
    const double v[6] = {1, 2, 3, 4, 5, 6}; /* [[1,2,3],[4,5,6]] */
    for (int d = 0; d < 2; d++) {
        ctx *c = ctx_new();
        int x = input(c, T(dtypes[d], 2, 2, 3), v);
        int outs[] = {ok(c, mt_sum(c->g, x, 0)),  ok(c, mt_sum(c->g, x, -1)),
                      ok(c, mt_mean(c->g, x, 1)), ok(c, mt_max(c->g, x, -2)),
                      ok(c, mt_sum_all(c->g, x)), ok(c, mt_mean_all(c->g, x)),
                      ok(c, mt_max_all(c->g, x))};
        run(c, 7, outs);
        expect(c->out[0], T(dtypes[d], 2, 1, 3), (double[]){5, 7, 9});
        expect(c->out[1], T(dtypes[d], 2, 2, 1), (double[]){6, 15});
        expect(c->out[2], T(dtypes[d], 2, 2, 1), (double[]){2, 5});
        expect(c->out[3], T(dtypes[d], 2, 1, 3), (double[]){4, 5, 6});
        expect(c->out[4], T(dtypes[d], 0), (double[]){21});
        expect(c->out[5], T(dtypes[d], 0), (double[]){3.5});
        expect(c->out[6], T(dtypes[d], 0), (double[]){6});
        ctx_free(c);
    }
}

static void reductions_over_each_axis_of_rank_3(void **state)
{
    (void)state;
    /* x[i,j,k] = 12i + 4j + k */
    ctx *c = ctx_new();
    int x = input(c, T(MT_DTYPE_F64, 3, 2, 3, 4), NULL);
    int outs[] = {ok(c, mt_sum(c->g, x, 1)), ok(c, mt_max(c->g, x, -3)),
                  ok(c, mt_mean(c->g, x, 2))};
    run(c, 3, outs);
    /* sum over j: 36i + 12 + 3k */
    expect(c->out[0], T(MT_DTYPE_F64, 3, 2, 1, 4), (double[]){12, 15, 18, 21, 48, 51, 54, 57});
    /* max over i: 12 + 4j + k */
    double want[12];
    for (int i = 0; i < 12; i++)
        want[i] = 12 + i;
    expect(c->out[1], T(MT_DTYPE_F64, 3, 1, 3, 4), want);
    /* mean over k: 12i + 4j + 1.5 */
    expect(c->out[2], T(MT_DTYPE_F64, 3, 2, 3, 1), (double[]){1.5, 5.5, 9.5, 13.5, 17.5, 21.5});
    ctx_free(c);
}

static void reductions_of_rank_0_and_rank_1(void **state)
{
    (void)state;
    for (int d = 0; d < 2; d++) {
        ctx *c = ctx_new();
        int s = input(c, T(dtypes[d], 0), (double[]){7});
        int v = input(c, T(dtypes[d], 1, 3), (double[]){1, 2, 4});
        int outs[] = {ok(c, mt_sum_all(c->g, s)), ok(c, mt_mean_all(c->g, s)),
                      ok(c, mt_sum(c->g, v, -1)), ok(c, mt_mean(c->g, v, 0))};
        run(c, 4, outs);
        expect(c->out[0], T(dtypes[d], 0), (double[]){7});
        expect(c->out[1], T(dtypes[d], 0), (double[]){7});
        expect(c->out[2], T(dtypes[d], 1, 1), (double[]){7});
        expect(c->out[3], T(dtypes[d], 1, 1), (double[]){7.0 / 3.0});
        ctx_free(c);
    }
}

static void max_starts_below_every_value_and_propagates_nan(void **state)
{
    (void)state;
    ctx *c = ctx_new();
    int neg = input(c, T(MT_DTYPE_F32, 1, 3), (double[]){-3, -1, -2});
    int late = input(c, T(MT_DTYPE_F32, 1, 3), (double[]){1, NAN, 3});
    int early = input(c, T(MT_DTYPE_F32, 2, 2, 2), (double[]){NAN, 1, 5, NAN});
    int outs[] = {ok(c, mt_max_all(c->g, neg)), ok(c, mt_max_all(c->g, late)),
                  ok(c, mt_max(c->g, early, 1)), ok(c, mt_max_all(c->g, early))};
    run(c, 4, outs);
    expect(c->out[0], T(MT_DTYPE_F32, 0), (double[]){-1});
    expect(c->out[1], T(MT_DTYPE_F32, 0), (double[]){NAN});
    expect(c->out[2], T(MT_DTYPE_F32, 2, 2, 1), (double[]){NAN, NAN});
    expect(c->out[3], T(MT_DTYPE_F32, 0), (double[]){NAN});
    ctx_free(c);
}

/* ---- data movement -------------------------------------------------------------------- */

static void permute_reshape_slice_expand_chain(void **state)
{
    (void)state;
    for (int d = 0; d < 2; d++) {
        ctx *c = ctx_new();
        int x = input(c, T(dtypes[d], 2, 2, 3), NULL);             /* [[0,1,2],[3,4,5]] */
        int p = ok(c, mt_permute(c->g, x, 2, (int64_t[]){1, 0}));  /* [[0,3],[1,4],[2,5]] */
        int r = ok(c, mt_reshape(c->g, p, 2, (int64_t[]){2, -1})); /* [[0,3,1],[4,2,5]] */
        int s =
            ok(c, mt_slice(c->g, r, 2, (int64_t[]){0, 1}, (int64_t[]){2, 3})); /* [[3,1],[2,5]] */
        int r2 = ok(c, mt_reshape(c->g, s, 3, (int64_t[]){2, 1, 2}));
        int e = ok(c, mt_expand(c->g, r2, 4, (int64_t[]){3, 2, 2, 2}));
        run(c, 4, (int[]){p, r, s, e});
        expect(c->out[0], T(dtypes[d], 2, 3, 2), (double[]){0, 3, 1, 4, 2, 5});
        expect(c->out[1], T(dtypes[d], 2, 2, 3), (double[]){0, 3, 1, 4, 2, 5});
        expect(c->out[2], T(dtypes[d], 2, 2, 2), (double[]){3, 1, 2, 5});
        double want[24];
        for (int i = 0; i < 3; i++) {
            const double block[8] = {3, 1, 3, 1, 2, 5, 2, 5};
            memcpy(want + 8 * i, block, sizeof block);
        }
        expect(c->out[3], T(dtypes[d], 4, 3, 2, 2, 2), want);
        ctx_free(c);
    }
}

static void permute_of_rank_4_reads_input_dim_perm_i(void **state)
{
    (void)state;
    /* x[2,3,4,5] = iota; perm [3,1,0,2] gives out[a,b,c,d] = x[c,b,d,a] */
    ctx *c = ctx_new();
    int x = input(c, T(MT_DTYPE_F64, 4, 2, 3, 4, 5), NULL);
    mt_tensor *y = run1(c, ok(c, mt_permute(c->g, x, 4, (int64_t[]){3, 1, 0, 2})));
    double want[120];
    int i = 0;
    for (int a = 0; a < 5; a++)
        for (int b = 0; b < 3; b++)
            for (int cc = 0; cc < 2; cc++)
                for (int dd = 0; dd < 4; dd++)
                    want[i++] = cc * 60 + b * 20 + dd * 5 + a;
    expect(y, T(MT_DTYPE_F64, 4, 5, 3, 2, 4), want);
    ctx_free(c);
}

static void slice_with_negative_bounds_counts_from_the_end(void **state)
{
    (void)state;
    ctx *c = ctx_new();
    int x = input(c, T(MT_DTYPE_F32, 3, 2, 3, 4), NULL); /* 12i + 4j + k */
    int s = ok(c, mt_slice(c->g, x, 3, (int64_t[]){1, -2, 0}, (int64_t[]){2, 3, -1}));
    mt_tensor *y = run1(c, s);
    expect(y, T(MT_DTYPE_F32, 3, 1, 2, 3), (double[]){16, 17, 18, 20, 21, 22});
    ctx_free(c);
}

static void expand_adds_leading_dims_and_stretches_ones(void **state)
{
    (void)state;
    for (int d = 0; d < 2; d++) {
        ctx *c = ctx_new();
        int s = input(c, T(dtypes[d], 0), (double[]){5});
        int v = input(c, T(dtypes[d], 2, 3, 1), (double[]){1, 2, 3});
        int es = ok(c, mt_expand(c->g, s, 2, (int64_t[]){2, 3}));
        int ev = ok(c, mt_expand(c->g, v, 3, (int64_t[]){2, 3, 2}));
        run(c, 2, (int[]){es, ev});
        expect(c->out[0], T(dtypes[d], 2, 2, 3), (double[]){5, 5, 5, 5, 5, 5});
        expect(c->out[1], T(dtypes[d], 3, 2, 3, 2), (double[]){1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3});
        ctx_free(c);
    }
}

static void pad_puts_zeros_before_and_after_each_axis(void **state)
{
    (void)state;
    for (int d = 0; d < 2; d++) {
        ctx *c = ctx_new();
        int m = input(c, T(dtypes[d], 2, 2, 2), (double[]){1, 2, 3, 4});
        int v = input(c, T(dtypes[d], 1, 2), (double[]){5, 6});
        int s = input(c, T(dtypes[d], 3, 1, 1, 1), (double[]){7});
        int pm = ok(c, mt_pad(c->g, m, 4, (int64_t[]){1, 0, 0, 2}));
        int pv = ok(c, mt_pad(c->g, v, 2, (int64_t[]){2, 1}));
        int ps = ok(c, mt_pad(c->g, s, 6, (int64_t[]){0, 1, 1, 0, 1, 1}));
        run(c, 3, (int[]){pm, pv, ps});
        expect(c->out[0], T(dtypes[d], 2, 3, 4), (double[]){0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0});
        expect(c->out[1], T(dtypes[d], 1, 5), (double[]){0, 0, 5, 6, 0});
        /* [2,2,3]: the 7 lands at [0,1,1] */
        expect(c->out[2], T(dtypes[d], 3, 2, 2, 3), (double[]){0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0});
        ctx_free(c);
    }
}

static void concat_joins_along_negative_and_leading_dims(void **state)
{
    (void)state;
    for (int d = 0; d < 2; d++) {
        ctx *c = ctx_new();
        int a = input(c, T(dtypes[d], 2, 2, 1), (double[]){1, 2});
        int b = input(c, T(dtypes[d], 2, 2, 2), (double[]){3, 4, 5, 6});
        int x = input(c, T(dtypes[d], 2, 1, 2), (double[]){1, 2});
        int z = input(c, T(dtypes[d], 2, 1, 2), (double[]){7, 8});
        int v = input(c, T(dtypes[d], 1, 1), (double[]){9});
        int last = ok(c, mt_concat(c->g, 2, (int[]){a, b}, -1));
        int rows = ok(c, mt_concat(c->g, 3, (int[]){x, b, z}, 0));
        int flat = ok(c, mt_concat(c->g, 3, (int[]){v, v, v}, 0));
        run(c, 3, (int[]){last, rows, flat});
        expect(c->out[0], T(dtypes[d], 2, 2, 3), (double[]){1, 3, 4, 2, 5, 6});
        expect(c->out[1], T(dtypes[d], 2, 4, 2), (double[]){1, 2, 3, 4, 5, 6, 7, 8});
        expect(c->out[2], T(dtypes[d], 1, 3), (double[]){9, 9, 9});
        ctx_free(c);
    }
}

/* ---- contractions --------------------------------------------------------------------- */

static void matmul_of_two_matrices(void **state)
{
    (void)state;
    for (int d = 0; d < 2; d++) {
        ctx *c = ctx_new();
        int a = input(c, T(dtypes[d], 2, 2, 2), (double[]){1, 2, 3, 4});
        int b = input(c, T(dtypes[d], 2, 2, 2), (double[]){5, 6, 7, 8});
        mt_tensor *y = run1(c, ok(c, mt_matmul(c->g, a, b)));
        expect(y, T(dtypes[d], 2, 2, 2), (double[]){19, 22, 43, 50});
        ctx_free(c);
    }
}

static void matmul_broadcasts_batch_dims_like_a_naive_loop(void **state)
{
    (void)state;
    uint32_t rng = test_seed();
    /* [2,1,3,4] @ [5,4,2] -> [2,5,3,2]: a's batch [2,1] against b's [5] */
    double av[2 * 3 * 4], bv[5 * 4 * 2];
    for (size_t i = 0; i < sizeof av / sizeof av[0]; i++)
        av[i] = uniform(&rng);
    for (size_t i = 0; i < sizeof bv / sizeof bv[0]; i++)
        bv[i] = uniform(&rng);
    for (int d = 0; d < 2; d++) {
        ctx *c = ctx_new();
        int a = input(c, T(dtypes[d], 4, 2, 1, 3, 4), av);
        int b = input(c, T(dtypes[d], 3, 5, 4, 2), bv);
        mt_tensor *y = run1(c, ok(c, mt_matmul(c->g, a, b)));
        double want[2 * 5 * 3 * 2];
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 5; j++)
                for (int m = 0; m < 3; m++)
                    for (int n = 0; n < 2; n++) {
                        double acc = 0;
                        for (int k = 0; k < 4; k++)
                            acc += as(dtypes[d], av[(i * 3 + m) * 4 + k]) *
                                   as(dtypes[d], bv[(j * 4 + k) * 2 + n]);
                        want[((i * 5 + j) * 3 + m) * 2 + n] = acc;
                    }
        expect(y, T(dtypes[d], 4, 2, 5, 3, 2), want);
        ctx_free(c);
    }
}

static void conv1d_with_stride_and_padding(void **state)
{
    (void)state;
    for (int d = 0; d < 2; d++) {
        ctx *c = ctx_new();
        /* padded x = [0,1,2,3,4,5,0]; windows at 0, 2, 4 of w = [1,0,-1]:
         * 0-2 = -2, 2-4 = -2, 4-0 = 4 */
        int x = input(c, T(dtypes[d], 3, 1, 1, 5), (double[]){1, 2, 3, 4, 5});
        int w = input(c, T(dtypes[d], 3, 1, 1, 3), (double[]){1, 0, -1});
        mt_tensor *y = run1(c, ok(c, mt_conv1d(c->g, x, w, 2, 1)));
        expect(y, T(dtypes[d], 3, 1, 1, 3), (double[]){-2, -2, 4});
        ctx_free(c);
    }
}

static void conv1d_sums_over_input_channels_for_each_output_channel(void **state)
{
    (void)state;
    ctx *c = ctx_new();
    /* sample 0: ch0 = [1,2,3,4], ch1 = [10,20,30,40]; sample 1 is twice sample 0 */
    int x = input(c, T(MT_DTYPE_F64, 3, 2, 2, 4),
                  (double[]){1, 2, 3, 4, 10, 20, 30, 40, 2, 4, 6, 8, 20, 40, 60, 80});
    /* o0 = x0[l] + x0[l+1] + x1[l+1]; o1 = x0[l] - x0[l+1] + 0.5 x1[l] */
    int w = input(c, T(MT_DTYPE_F64, 3, 2, 2, 2), (double[]){1, 1, 0, 1, 1, -1, 0.5, 0});
    mt_tensor *y = run1(c, ok(c, mt_conv1d(c->g, x, w, 1, 0)));
    expect(y, T(MT_DTYPE_F64, 3, 2, 2, 3), (double[]){23, 35, 47, 4, 9, 14, 46, 70, 94, 8, 18, 28});
    ctx_free(c);
}

static void conv2d_with_stride_and_padding(void **state)
{
    (void)state;
    const double nine[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    for (int d = 0; d < 2; d++) {
        ctx *c = ctx_new();
        int x = input(c, T(dtypes[d], 4, 1, 1, 3, 3), nine);
        int diag = input(c, T(dtypes[d], 4, 1, 1, 2, 2), (double[]){1, 0, 0, 1});
        int w = input(c, T(dtypes[d], 4, 1, 1, 2, 2), (double[]){1, 2, 3, 4});
        /* x padded by 1 all round, 2x2 windows at rows/cols 0 and 2, summing the diagonal:
         * 0+1, 0+3, 0+7, 5+9 */
        int sq = ok(c, mt_conv2d(c->g, x, diag, (int64_t[]){2, 2}, (int64_t[]){1, 1}));
        /* stride [1,2], padding [0,1]: rows of x become [0,a,b,c,0]; windows at cols 0 and 2:
         * [0,1;0,4].w = 18, [2,3;5,6].w = 47, [0,4;0,7].w = 36, [5,6;8,9].w = 77 */
        int rect = ok(c, mt_conv2d(c->g, x, w, (int64_t[]){1, 2}, (int64_t[]){0, 1}));
        run(c, 2, (int[]){sq, rect});
        expect(c->out[0], T(dtypes[d], 4, 1, 1, 2, 2), (double[]){1, 3, 7, 14});
        expect(c->out[1], T(dtypes[d], 4, 1, 1, 2, 2), (double[]){18, 47, 36, 77});
        ctx_free(c);
    }
}

static void conv2d_matches_a_naive_loop_over_an_explicitly_padded_input(void **state)
{
    (void)state;
    uint32_t rng = test_seed();
    enum { N = 2, C = 2, H = 5, W = 4, O = 3, KH = 3, KW = 2, SH = 2, SW = 1, PH = 1, PW = 2 };
    enum { HP = H + 2 * PH, WP = W + 2 * PW, OH = (HP - KH) / SH + 1, OW = (WP - KW) / SW + 1 };
    double xv[N * C * H * W], wv[O * C * KH * KW];
    for (size_t i = 0; i < sizeof xv / sizeof xv[0]; i++)
        xv[i] = uniform(&rng);
    for (size_t i = 0; i < sizeof wv / sizeof wv[0]; i++)
        wv[i] = uniform(&rng);
    double padded[N][C][HP][WP] = {{{{0}}}};
    for (int n = 0; n < N; n++)
        for (int ch = 0; ch < C; ch++)
            for (int h = 0; h < H; h++)
                for (int w = 0; w < W; w++)
                    padded[n][ch][h + PH][w + PW] = xv[((n * C + ch) * H + h) * W + w];
    double want[N * O * OH * OW];
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++)
            for (int i = 0; i < OH; i++)
                for (int j = 0; j < OW; j++) {
                    double acc = 0;
                    for (int ch = 0; ch < C; ch++)
                        for (int a = 0; a < KH; a++)
                            for (int b = 0; b < KW; b++)
                                acc += padded[n][ch][i * SH + a][j * SW + b] *
                                       wv[((o * C + ch) * KH + a) * KW + b];
                    want[((n * O + o) * OH + i) * OW + j] = acc;
                }
    ctx *c = ctx_new();
    int x = input(c, T(MT_DTYPE_F64, 4, N, C, H, W), xv);
    int w = input(c, T(MT_DTYPE_F64, 4, O, C, KH, KW), wv);
    mt_tensor *y = run1(c, ok(c, mt_conv2d(c->g, x, w, (int64_t[]){SH, SW}, (int64_t[]){PH, PW})));
    /* Same products, same order of the channel/row/column sums: the results agree exactly. */
    expect(y, T(MT_DTYPE_F64, 4, N, O, OH, OW), want);
    ctx_free(c);
}

/* ---- pooling -------------------------------------------------------------------------- */

static void pools_drop_the_rows_and_columns_past_the_last_window(void **state)
{
    (void)state;
    /* channel 0 = [[1..5],[6..10],[11..15]], channel 1 = its negation; kernel 2x2 on 3x5
     * gives 1x2 windows: [1,2;6,7] and [3,4;8,9] */
    double v[30];
    for (int i = 0; i < 15; i++) {
        v[i] = i + 1;
        v[15 + i] = -(i + 1);
    }
    for (int d = 0; d < 2; d++) {
        ctx *c = ctx_new();
        int x = input(c, T(dtypes[d], 4, 1, 2, 3, 5), v);
        int avg = ok(c, mt_avgpool2d(c->g, x, (int64_t[]){2, 2}));
        int mx = ok(c, mt_maxpool2d(c->g, x, (int64_t[]){2, 2}));
        int tall = ok(c, mt_maxpool2d(c->g, x, (int64_t[]){3, 1}));
        run(c, 3, (int[]){avg, mx, tall});
        expect(c->out[0], T(dtypes[d], 4, 1, 2, 1, 2), (double[]){4, 6, -4, -6});
        expect(c->out[1], T(dtypes[d], 4, 1, 2, 1, 2), (double[]){7, 9, -1, -3});
        expect(c->out[2], T(dtypes[d], 4, 1, 2, 1, 5),
               (double[]){11, 12, 13, 14, 15, -1, -2, -3, -4, -5});
        ctx_free(c);
    }
}

static void maxpool_propagates_nan(void **state)
{
    (void)state;
    ctx *c = ctx_new();
    int x = input(c, T(MT_DTYPE_F32, 4, 1, 1, 2, 4), (double[]){1, 2, 3, 4, 5, NAN, 7, 8});
    mt_tensor *y = run1(c, ok(c, mt_maxpool2d(c->g, x, (int64_t[]){2, 2})));
    expect(y, T(MT_DTYPE_F32, 4, 1, 1, 1, 2), (double[]){NAN, 8});
    ctx_free(c);
}

/* ---- sources -------------------------------------------------------------------------- */

static void const_fills_every_element_rounded_to_the_dtype(void **state)
{
    (void)state;
    for (int d = 0; d < 2; d++) {
        ctx *c = ctx_new();
        int k = ok(c, mt_const(c->g, 0.1, T(dtypes[d], 2, 2, 2)));
        int s = ok(c, mt_const(c->g, -INFINITY, T(dtypes[d], 0)));
        run(c, 2, (int[]){k, s});
        expect(c->out[0], T(dtypes[d], 2, 2, 2), (double[]){0.1, 0.1, 0.1, 0.1});
        expect(c->out[1], T(dtypes[d], 0), (double[]){-INFINITY});
        ctx_free(c);
    }
}

static void philox_matches_the_random123_known_answers(void **state)
{
    (void)state;
    /* Random123 kat_vectors, "philox4x32 10" lines: counter, key, expected output. */
    static const uint32_t kat[3][10] = {
        {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
        {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d,
         0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09,
         0x94fdcceb, 0x5001e420, 0x24126ea1},
    };
    for (int t = 0; t < 3; t++) {
        uint32_t out[4];
        mt_philox4x32_10(&kat[t][0], &kat[t][4], out);
        for (int i = 0; i < 4; i++)
            assert_int_equal(out[i], kat[t][6 + i]);
    }
}

static void rand_words_put_the_seed_in_the_key_and_the_index_in_the_counter(void **state)
{
    (void)state;
    uint64_t seed = (UINT64_C(0x299f31d0) << 32) | 0xa4093822, i = 0x85a308d3243f6a88;
    uint32_t got[4], want[4];
    mt_rand_words(seed, i, got);
    mt_philox4x32_10((const uint32_t[4]){0x243f6a88, 0x85a308d3, 0, 0},
                     (const uint32_t[2]){0xa4093822, 0x299f31d0}, want);
    for (int k = 0; k < 4; k++)
        assert_int_equal(got[k], want[k]);
}

static void rand_f32_and_f64_take_the_documented_bits(void **state)
{
    (void)state;
    /* counter 0, key 0: w0 = 0x6627e8d5, w1 = 0xe169c58d */
    assert_true(mt_rand_f32(0, 0) == (float)(0x6627e8d5u >> 8) * 0x1p-24f);
    assert_true(mt_rand_f64(0, 0) == (double)((UINT64_C(0x6627e8d5e169c58d)) >> 11) * 0x1p-53);
    /* the worked example of docs/rand.md */
    assert_true(mt_rand_f32(0, 0) == 0.39904642105102539f);
    assert_true(mt_rand_f64(0, 0) == 0.3990464708489645);
    for (uint64_t i = 0; i < 1000; i++) {
        uint32_t w[4];
        mt_rand_words(7, i, w);
        double f64 = mt_rand_f64(7, i);
        assert_true(mt_rand_f32(7, i) == (float)(w[0] >> 8) * 0x1p-24f);
        assert_true(f64 == (double)((((uint64_t)w[0] << 32) | w[1]) >> 11) * 0x1p-53);
        /* so the f32 value is the f64 value truncated to 24 bits, never rounded up */
        assert_true((double)mt_rand_f32(7, i) == floor(f64 * 0x1p24) * 0x1p-24);
    }
}

static void rand_is_a_pure_function_of_seed_and_flat_index(void **state)
{
    (void)state;
    for (int d = 0; d < 2; d++) {
        ctx *c = ctx_new();
        int a = ok(c, mt_rand(c->g, 42, T(dtypes[d], 2, 2, 3)));
        int b = ok(c, mt_rand(c->g, 42, T(dtypes[d], 1, 6)));
        int other = ok(c, mt_rand(c->g, 43, T(dtypes[d], 1, 6)));
        int big = ok(c, mt_rand(c->g, (UINT64_C(1) << 32) + 42, T(dtypes[d], 1, 6)));
        run(c, 4, (int[]){a, b, other, big});
        for (int i = 0; i < 6; i++) {
            double want = dtypes[d] == MT_DTYPE_F32 ? mt_rand_f32(42, (uint64_t)i)
                                                    : mt_rand_f64(42, (uint64_t)i);
            assert_true(at(c->out[0], i) == want);
            assert_true(at(c->out[1], i) == want); /* the shape does not matter */
            assert_true(at(c->out[2], i) != want);
            assert_true(at(c->out[3], i) != want); /* the seed's high word is in the key */
        }
        ctx_free(c);
    }
}

static void rand_runs_are_deterministic(void **state)
{
    (void)state;
    mt_tensor *first[2] = {0};
    for (int r = 0; r < 2; r++) {
        ctx *c = ctx_new();
        int x = ok(c, mt_rand(c->g, 1234, T(MT_DTYPE_F64, 3, 2, 3, 4)));
        run1(c, x);
        first[r] = c->out[0];
        c->out[0] = NULL;
        ctx_free(c);
    }
    assert_memory_equal(first[0]->data, first[1]->data, first[0]->nbytes);
    mt_tensor_free(first[0]);
    mt_tensor_free(first[1]);
}

static void rand_is_uniform_in_the_unit_interval(void **state)
{
    (void)state;
    enum { COUNT = 100000 };
    for (int d = 0; d < 2; d++) {
        ctx *c = ctx_new();
        int x = ok(c, mt_rand(c->g, 2024, T(dtypes[d], 1, COUNT)));
        mt_tensor *y = run1(c, x);
        double sum = 0, lo = 1, hi = 0;
        int below_quarter = 0;
        for (int i = 0; i < COUNT; i++) {
            double v = at(y, i);
            assert_true(v >= 0.0 && v < 1.0);
            sum += v;
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
            below_quarter += v < 0.25;
        }
        /* The mean of 10^5 uniforms has standard deviation sqrt(1/12/10^5) ~ 0.0009. */
        assert_true(fabs(sum / COUNT - 0.5) < 0.005);
        assert_true(abs(below_quarter - COUNT / 4) < 1000);
        assert_true(lo < 0.001 && hi > 0.999);
        ctx_free(c);
    }
}

/* ---- whole graphs --------------------------------------------------------------------- */

static void eval_returns_every_value_with_leaves_copied(void **state)
{
    (void)state;
    ctx *c = ctx_new();
    int x = input(c, T(MT_DTYPE_F64, 1, 3), (double[]){1, 2, 3});
    int y = ok(c, mt_mul(c->g, x, x));
    int z = ok(c, mt_sum_all(c->g, y));
    assert_int_equal(mt_set_outputs(c->g, &z, 1), 0);
    const mt_tensor *leaves[MAXN] = {0};
    leaves[x] = c->feed[x];
    mt_tensor *values[3];
    mt_diag d;
    mt_diag_init(&d);
    assert_int_equal(mt_interp_eval(c->g, leaves, values, &d), MT_OK);
    assert_true(values[x] != c->feed[x]);
    expect(values[x], T(MT_DTYPE_F64, 1, 3), (double[]){1, 2, 3});
    expect(values[y], T(MT_DTYPE_F64, 1, 3), (double[]){1, 4, 9});
    expect(values[z], T(MT_DTYPE_F64, 0), (double[]){14});
    for (int i = 0; i < 3; i++)
        mt_tensor_free(values[i]);
    ctx_free(c);
}

static void run_gives_each_output_slot_its_own_tensor(void **state)
{
    (void)state;
    ctx *c = ctx_new();
    int x = input(c, T(MT_DTYPE_F32, 1, 2), (double[]){1, 2});
    int y = ok(c, mt_neg(c->g, x));
    run(c, 4, (int[]){y, x, y, x});
    expect(c->out[0], T(MT_DTYPE_F32, 1, 2), (double[]){-1, -2});
    expect(c->out[1], T(MT_DTYPE_F32, 1, 2), (double[]){1, 2});
    expect(c->out[2], T(MT_DTYPE_F32, 1, 2), (double[]){-1, -2});
    expect(c->out[3], T(MT_DTYPE_F32, 1, 2), (double[]){1, 2});
    assert_true(c->out[0] != c->out[2] && c->out[1] != c->out[3]);
    assert_true(c->out[1] != c->feed[x]);
    ctx_free(c); /* frees every slot: a shared tensor would be a double free */
}

static void missing_or_mistyped_leaves_are_errors_that_name_the_value(void **state)
{
    (void)state;
    ctx *c = ctx_new();
    int x = mt_input(c->g, "x", T(MT_DTYPE_F32, 1, 3));
    int w = mt_param(c->g, "w", T(MT_DTYPE_F32, 1, 3));
    int y = ok(c, mt_add(c->g, x, w));
    assert_int_equal(mt_set_outputs(c->g, &y, 1), 0);
    mt_tensor *good = mt_tensor_new(T(MT_DTYPE_F32, 1, 3));
    mt_tensor *wrong = mt_tensor_new(T(MT_DTYPE_F64, 1, 3));
    const mt_tensor *leaves[MAXN] = {0};
    mt_tensor *values[3] = {0}, *outs[1];
    mt_diag d;

    leaves[x] = good; /* w missing */
    mt_diag_init(&d);
    assert_int_equal(mt_interp_eval(c->g, leaves, values, &d), MT_ERR_ARG);
    assert_non_null(strstr(d.msg, "%w"));
    assert_int_equal(d.node, w);
    for (int i = 0; i < 3; i++)
        assert_null(values[i]);

    leaves[w] = wrong;
    mt_diag_init(&d);
    assert_int_equal(mt_interp_run(c->g, leaves, outs, &d), MT_ERR_ARG);
    assert_non_null(strstr(d.msg, "%w"));
    assert_non_null(strstr(d.msg, "f64[3]"));
    assert_null(outs[0]);

    mt_tensor_free(good);
    mt_tensor_free(wrong);
    ctx_free(c);
}

static void interp_node_refuses_operands_that_do_not_fit_the_node(void **state)
{
    (void)state;
    ctx *c = ctx_new();
    int x = input(c, T(MT_DTYPE_F32, 2, 2, 3), NULL);
    int y = ok(c, mt_exp(c->g, x));
    mt_tensor *transposed = mt_tensor_new(T(MT_DTYPE_F32, 2, 3, 2));
    mt_tensor *wide = mt_tensor_new(T(MT_DTYPE_F64, 2, 2, 3));
    mt_tensor sentinel, *out = &sentinel; /* must come back NULL */
    mt_diag d;
    mt_diag_init(&d);
    const mt_tensor *in[1] = {transposed};
    assert_int_equal(mt_interp_node(mt_graph_node(c->g, y), in, &out, &d), MT_ERR_ARG);
    assert_null(out);
    in[0] = wide;
    mt_diag_init(&d);
    assert_int_equal(mt_interp_node(mt_graph_node(c->g, y), in, &out, &d), MT_ERR_ARG);
    in[0] = c->feed[x];
    mt_diag_init(&d);
    assert_int_equal(mt_interp_node(mt_graph_node(c->g, y), in, &out, &d), MT_OK);
    expect(out, T(MT_DTYPE_F32, 2, 2, 3), (double[]){1, exp(1), exp(2), exp(3), exp(4), exp(5)});
    mt_tensor_free(out);
    mt_tensor_free(transposed);
    mt_tensor_free(wide);
    ctx_free(c);
}

/* ---- allocation failure --------------------------------------------------------------- */

static void run_returns_nomem_cleanly_whichever_allocation_fails(void **state)
{
    (void)state;
    ctx *c = ctx_new();
    int x = input(c, T(MT_DTYPE_F32, 2, 2, 3), NULL);
    int big = input(c, T(MT_DTYPE_F32, 2, 3, 4), NULL);
    int e = ok(c, mt_exp(c->g, x));
    int s = ok(c, mt_sum(c->g, e, -1));
    int m = ok(c, mt_matmul(c->g, x, big));
    int k = ok(c, mt_concat(c->g, 3, (int[]){m, m, e}, 1));
    int r = ok(c, mt_rand(c->g, 3, T(MT_DTYPE_F32, 1, 4)));
    ok(c, mt_neg(c->g, r)); /* dead: computed and dropped */
    int outs[] = {s, k, x, s};
    assert_int_equal(mt_set_outputs(c->g, outs, 4), 0);
    const mt_tensor *leaves[MAXN] = {0};
    leaves[x] = c->feed[x];
    leaves[big] = c->feed[big];

    int failures = 0;
    for (long fail_at = 1;; fail_at++) {
        mt_tensor *got[4] = {0};
        mt_diag d;
        mt_diag_init(&d);
        mt_test_alloc_fail_nth(fail_at);
        mt_status st = mt_interp_run(c->g, leaves, got, &d);
        for (int i = 0; i < 4; i++)
            mt_tensor_free(got[i]);
        mt_test_alloc_restore();
        assert_int_equal(mt_test_alloc_live(), 0);
        if (!mt_test_alloc_failed()) { /* nothing failed: the run is complete */
            assert_int_equal(st, MT_OK);
            break;
        }
        assert_int_equal(st, MT_ERR_NOMEM);
        assert_int_equal(d.status, MT_ERR_NOMEM);
        for (int i = 0; i < 4; i++)
            assert_null(got[i]);
        failures++;
    }
    assert_true(failures > 10);
    ctx_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unary_ops_apply_their_c_definitions_at_ranks_0_and_2),
        cmocka_unit_test(neg_relu_inv_and_abs_handle_signs),
        cmocka_unit_test(sigmoid_is_stable_for_large_magnitudes),
        cmocka_unit_test(binary_ops_broadcast_a_column_against_a_row),
        cmocka_unit_test(binary_ops_broadcast_a_scalar_against_rank_3_both_ways),
        cmocka_unit_test(binary_ops_broadcast_middle_axes_of_rank_3_and_rank_2),
        cmocka_unit_test(div_and_pow_follow_c),
        cmocka_unit_test(maximum_and_minimum_propagate_nan),
        cmocka_unit_test(comparisons_give_one_or_zero_and_nan_compares_false),
        cmocka_unit_test(where_broadcasts_all_three_operands),
        cmocka_unit_test(f32_results_are_rounded_once_from_double),
        cmocka_unit_test(reductions_keep_the_axis_and_accept_negative_dims),
        cmocka_unit_test(reductions_over_each_axis_of_rank_3),
        cmocka_unit_test(reductions_of_rank_0_and_rank_1),
        cmocka_unit_test(max_starts_below_every_value_and_propagates_nan),
        cmocka_unit_test(permute_reshape_slice_expand_chain),
        cmocka_unit_test(permute_of_rank_4_reads_input_dim_perm_i),
        cmocka_unit_test(slice_with_negative_bounds_counts_from_the_end),
        cmocka_unit_test(expand_adds_leading_dims_and_stretches_ones),
        cmocka_unit_test(pad_puts_zeros_before_and_after_each_axis),
        cmocka_unit_test(concat_joins_along_negative_and_leading_dims),
        cmocka_unit_test(matmul_of_two_matrices),
        cmocka_unit_test(matmul_broadcasts_batch_dims_like_a_naive_loop),
        cmocka_unit_test(conv1d_with_stride_and_padding),
        cmocka_unit_test(conv1d_sums_over_input_channels_for_each_output_channel),
        cmocka_unit_test(conv2d_with_stride_and_padding),
        cmocka_unit_test(conv2d_matches_a_naive_loop_over_an_explicitly_padded_input),
        cmocka_unit_test(pools_drop_the_rows_and_columns_past_the_last_window),
        cmocka_unit_test(maxpool_propagates_nan),
        cmocka_unit_test(const_fills_every_element_rounded_to_the_dtype),
        cmocka_unit_test(philox_matches_the_random123_known_answers),
        cmocka_unit_test(rand_words_put_the_seed_in_the_key_and_the_index_in_the_counter),
        cmocka_unit_test(rand_f32_and_f64_take_the_documented_bits),
        cmocka_unit_test(rand_is_a_pure_function_of_seed_and_flat_index),
        cmocka_unit_test(rand_runs_are_deterministic),
        cmocka_unit_test(rand_is_uniform_in_the_unit_interval),
        cmocka_unit_test(eval_returns_every_value_with_leaves_copied),
        cmocka_unit_test(run_gives_each_output_slot_its_own_tensor),
        cmocka_unit_test(missing_or_mistyped_leaves_are_errors_that_name_the_value),
        cmocka_unit_test(interp_node_refuses_operands_that_do_not_fit_the_node),
        cmocka_unit_test(run_returns_nomem_cleanly_whichever_allocation_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
