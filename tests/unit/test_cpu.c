/* test_cpu.c - the CPU backend against the reference interpreter.
 *
 * Every graph here is compiled with mt_cpu_compile and run on fresh random inputs with 1 and
 * 2 threads and checked against the reference interpreter with mt_check_cpu
 * (tests/support/cpu_check.h, which states the tolerance); the two thread counts must agree
 * bit for bit. Leaves named p... get positive values, q...
 * small integers (ties for eq, zeros for where), the rest uniform values in [-2, 2].
 *
 * The seed is printed; MT_SEED=n reruns a failure.
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

#include "codegen/cpu.h"
#include "codegen/target.h"
#include "ir/alloc.h"
#include "ir/graph.h"
#include "passes/fuse.h"
#include "passes/lower.h"
#include "passes/memplan.h"
#include "passes/pass.h"
#include "runtime/interp.h"
#include "runtime/pool.h"
#include "tests/support/cpu_check.h"
#include "tests/support/random.h"

/* ---- comparing with the interpreter ---------------------------------------------------- */

/* Compiles g, runs it with 1 and 2 threads on random leaves and checks it against the
 * interpreter (tests/support/cpu_check.h). Frees g. `exact`: outputs must equal the
 * interpreter's bit for bit. */
static void check_exact(mt_graph *g, int exact) { mt_check_cpu_random(g, 2, exact); }

static void check(mt_graph *g) { check_exact(g, 0); }

static mt_graph *parse(const char *text)
{
    mt_graph *g = NULL;
    mt_diag d;
    mt_diag_init(&d);
    if (mt_graph_parse(text, strlen(text), "test.mt", &g, &d) != MT_OK)
        fail_msg("parse: line %d: %s", d.line, d.msg);
    return g;
}

static void check_text(const char *text) { check(parse(text)); }

/* ---- shapes ---------------------------------------------------------------------------- */

typedef struct shape {
    int rank;
    int64_t dims[MT_MAX_RANK];
} shape;

/* Ranks 0 to 4 at the awkward sizes 1, 3, 17, 255, 1031. */
static const shape shapes[] = {
    {0, {0}},        {1, {1}},          {1, {3}},           {1, {17}},
    {1, {255}},      {1, {1031}},       {2, {3, 17}},       {2, {1031, 255}},
    {3, {3, 1, 17}}, {3, {17, 3, 255}}, {4, {2, 3, 1, 17}}, {4, {3, 1, 17, 255}},
};
#define NSHAPES (int)(sizeof shapes / sizeof shapes[0])

static mt_type type_of(mt_dtype dt, const shape *s) { return mt_type_make(dt, s->rank, s->dims); }

static const mt_dtype dtypes[2] = {MT_DTYPE_F32, MT_DTYPE_F64};

/* ---- elementwise ----------------------------------------------------------------------- */

static void every_unary_op_matches_at_ranks_0_to_4_and_awkward_sizes(void **state)
{
    (void)state;
    int (*ops[])(mt_graph *, int) = {mt_neg,  mt_exp, mt_relu, mt_sigmoid, mt_inv,
                                     mt_tanh, mt_abs, mt_log,  mt_sqrt};
    for (int t = 0; t < 2; t++)
        for (int s = 0; s < NSHAPES; s++) {
            mt_graph *g = mt_graph_new("unary");
            int x = mt_input(g, "x", type_of(dtypes[t], &shapes[s]));
            int px = mt_input(g, "p", type_of(dtypes[t], &shapes[s]));
            int outs[9];
            for (int i = 0; i < 9; i++)
                outs[i] = ops[i](g, i < 7 ? x : px); /* log and sqrt of positive values */
            mt_set_outputs(g, outs, 9);
            check(g);
        }
}

typedef struct pair {
    shape a, b;
} pair;

/* Broadcasting both ways, across ranks, and against rank 0. */
static const pair pairs[] = {
    {{2, {3, 17}}, {1, {17}}},
    {{1, {17}}, {2, {3, 17}}},
    {{1, {1031}}, {1, {1}}},
    {{0, {0}}, {1, {255}}},
    {{2, {1, 255}}, {2, {17, 1}}},
    {{4, {2, 1, 17, 3}}, {3, {3, 1, 3}}},
    {{3, {1031, 1, 3}}, {3, {1, 17, 3}}},
    {{2, {1031, 255}}, {2, {1031, 255}}},
};

static void binary_ops_broadcast_both_ways(void **state)
{
    (void)state;
    int (*ops[])(mt_graph *, int, int) = {mt_add,     mt_sub, mt_mul, mt_div, mt_maximum,
                                          mt_minimum, mt_lt,  mt_gt,  mt_eq};
    for (int t = 0; t < 2; t++)
        for (size_t s = 0; s < sizeof pairs / sizeof pairs[0]; s++) {
            mt_graph *g = mt_graph_new("binary");
            int a = mt_input(g, "a", type_of(dtypes[t], &pairs[s].a));
            int b = mt_input(g, "b", type_of(dtypes[t], &pairs[s].b));
            int pa = mt_input(g, "pa", type_of(dtypes[t], &pairs[s].a));
            int qa = mt_input(g, "qa", type_of(dtypes[t], &pairs[s].a));
            int qb = mt_input(g, "qb", type_of(dtypes[t], &pairs[s].b));
            int outs[12], n = 0;
            for (int i = 0; i < 9; i++)
                outs[n++] = ops[i](g, a, b);
            outs[n++] = mt_pow(g, pa, b);
            outs[n++] = mt_eq(g, qa, qb);
            outs[n++] = mt_where(g, qa, a, b);
            mt_set_outputs(g, outs, n);
            check(g);
        }
}

static void chains_of_elementwise_ops_with_broadcasts_match(void **state)
{
    (void)state;
    check_text("mtir 1\n"
               "graph chain {\n"
               "  input %x : f32[17,255]\n"
               "  input %b : f32[255]\n"
               "  input %c : f32[17,1]\n"
               "  input %p : f32[]\n"
               "  %a = add %x, %b\n"
               "  %e = exp %c\n"
               "  %m = mul %a, %e\n"
               "  %s = sigmoid %m\n"
               "  %t = tanh %s\n"
               "  %u = sub %t, %p\n"
               "  %w = where %u, %a, %m\n"
               "  %y = maximum %w, %b\n"
               "  output %y, %s\n"
               "}\n");
    check_text("mtir 1\n"
               "graph diamond {\n"
               "  input %x : f64[3,1031]\n"
               "  %a = mul %x, %x\n"
               "  %b = mul %a, %a\n"
               "  %c = mul %b, %b\n"
               "  %d = add %c, %a\n"
               "  %e = div %d, %b\n"
               "  output %e\n"
               "}\n");
}

static void nan_and_infinities_follow_the_interpreter(void **state)
{
    (void)state;
    for (int t = 0; t < 2; t++) {
        mt_graph *g = mt_graph_new("special");
        mt_type ty = mt_type_make(dtypes[t], 1, (int64_t[]){6});
        int x = mt_input(g, "x", ty);
        int nan = mt_const(g, NAN, ty), inf = mt_const(g, INFINITY, ty);
        int xn = mt_add(g, x, nan);
        int outs[] = {mt_relu(g, xn),
                      mt_maximum(g, x, xn),
                      mt_minimum(g, xn, x),
                      mt_max(g, xn, 0),
                      mt_sigmoid(g, inf),
                      mt_sigmoid(g, mt_neg(g, inf)),
                      mt_exp(g, mt_neg(g, inf)),
                      mt_max_all(g, x)};
        mt_set_outputs(g, outs, 8);
        check(g);
    }
}

/* ---- reductions ------------------------------------------------------------------------ */

/* Row maxima (a vectorised loop of integer keys, codegen/llvm/emit_reduce.c) next to row sums
 * of the same rows (one kernel): a NaN in the vector part or in the remainder, rows of -inf,
 * of zeros of both signs under negative values, +inf with a NaN, and all NaN. */
static void row_maxima_with_nans_zeros_and_infinities_follow_the_interpreter(void **state)
{
    (void)state;
    enum { ROWS = 7, LEN = 1031 };
    for (int t = 0; t < 2; t++) {
        mt_graph *g = mt_graph_new("specials");
        mt_type ty = mt_type_make(dtypes[t], 2, (int64_t[]){ROWS, LEN});
        int x = mt_input(g, "x", ty);
        int outs[3] = {mt_max(g, x, 1), mt_sum(g, x, 1), mt_max_all(g, x)};
        mt_set_outputs(g, outs, 3);
        mt_tensor *in = mt_tensor_new(ty);
        assert_non_null(in);
        for (int r = 0; r < ROWS; r++)
            for (int c = 0; c < LEN; c++) {
                double v = -1.0 - (double)((r * 31 + c * 17) % 97) / 8;
                if (r == 0 && c == 500)
                    v = NAN;
                if (r == 1 && c == LEN - 1)
                    v = -NAN;
                if (r == 2)
                    v = -INFINITY;
                if (r == 3 && c % 5 == 1)
                    v = c % 2 ? -0.0 : 0.0;
                if (r == 4)
                    v = c == 3 ? INFINITY : c == 900 ? NAN : v;
                if (r == 5)
                    v = NAN;
                if (r == 6 && c == 700)
                    v = 1e30;
                if (t == 0)
                    ((float *)mt_tensor_data(in))[r * LEN + c] = (float)v;
                else
                    ((double *)mt_tensor_data(in))[r * LEN + c] = v;
            }
        const mt_tensor *leaves[8] = {in}; /* by node id: x is node 0 */
        mt_check_cpu(g, leaves, 2, 0);
        mt_tensor_free(in);
        mt_graph_free(g);
    }
}

/* Sum, max and mean along one axis of one producer share a kernel (passes/fuse.c); along every
 * axis, at every rank, whole tensors too (whose reductions are split across threads, each
 * sibling on its own). */
static void sibling_reductions_of_a_producer_match_along_every_axis(void **state)
{
    (void)state;
    static const shape rs[] = {
        {1, {1031}}, {2, {17, 255}}, {3, {3, 17, 70}}, {4, {2, 3, 5, 17}}, {2, {70001, 3}}};
    for (int t = 0; t < 2; t++)
        for (size_t s = 0; s < sizeof rs / sizeof rs[0]; s++)
            for (int k = -1; k < rs[s].rank; k++) {
                mt_graph *g = mt_graph_new("siblings");
                int x = mt_input(g, "x", type_of(dtypes[t], &rs[s]));
                int e = mt_exp(g, mt_tanh(g, mt_sigmoid(g, x)));
                int outs[3];
                if (k < 0) {
                    outs[0] = mt_sum_all(g, e);
                    outs[1] = mt_max_all(g, e);
                    outs[2] = mt_mean_all(g, e);
                } else {
                    outs[0] = mt_sum(g, e, k);
                    outs[1] = mt_max(g, e, k);
                    outs[2] = mt_mean(g, e, k);
                }
                mt_set_outputs(g, outs, 3);
                check(g);
            }
}

static void reductions_match_over_every_axis_and_whole_tensors(void **state)
{
    (void)state;
    static const shape rs[] = {{1, {1031}},        {2, {17, 255}}, {3, {3, 17, 1031}},
                               {4, {2, 3, 5, 17}}, {1, {1}},       {2, {1031, 3}}};
    int (*ops[])(mt_graph *, int, int) = {mt_sum, mt_max, mt_mean};
    int (*all[])(mt_graph *, int) = {mt_sum_all, mt_max_all, mt_mean_all};
    for (int t = 0; t < 2; t++)
        for (size_t s = 0; s < sizeof rs / sizeof rs[0]; s++) {
            mt_graph *g = mt_graph_new("reduce");
            int x = mt_input(g, "x", type_of(dtypes[t], &rs[s]));
            int outs[32], n = 0;
            for (int o = 0; o < 3; o++) {
                outs[n++] = all[o](g, x);
                for (int k = 0; k < rs[s].rank; k++)
                    outs[n++] = ops[o](g, x, k == 0 ? -rs[s].rank : k); /* negative dims too */
            }
            mt_set_outputs(g, outs, n);
            check(g);
        }
}

/* Every reduction length the GPU renderer treats differently: below a warp (1, 3, 17: one
 * work-item per result, or whole in every work-item of a group), a group of 64 (255), of 256
 * (1031) and long rows (70001), along the last axis and a leading one, with few and many
 * results, sums (f64 partials) and maxima (NaN-propagating selects). */
static void reductions_of_every_length_match(void **state)
{
    (void)state;
    static const int64_t lens[] = {1, 3, 17, 255, 1031, 70001};
    for (int t = 0; t < 2; t++)
        for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
            int64_t rows = lens[i] > 2000 ? 3 : 37;
            shape sh = {2, {rows, lens[i]}};
            mt_graph *g = mt_graph_new("lengths");
            int x = mt_input(g, "x", type_of(dtypes[t], &sh));
            int outs[6] = {mt_sum(g, x, 1), mt_max(g, x, 1), mt_mean(g, x, 1),
                           mt_sum(g, x, 0), mt_max(g, x, 0), mt_sum_all(g, x)};
            mt_set_outputs(g, outs, 6);
            check(g);
        }
}

static void reductions_fuse_with_producers_and_consumers(void **state)
{
    (void)state;
    /* softmax along rows, layer norm, a variance, and a sum of squares. */
    check_text("mtir 1\n"
               "graph softmax {\n"
               "  input %x : f32[255,1031]\n"
               "  %m = max %x dim=1\n"
               "  %d = sub %x, %m\n"
               "  %e = exp %d\n"
               "  %s = sum %e dim=1\n"
               "  %y = div %e, %s\n"
               "  output %y\n"
               "}\n");
    check_text("mtir 1\n"
               "graph layernorm {\n"
               "  input %x : f64[17,1031]\n"
               "  param %g : f64[1031]\n"
               "  %mu = mean %x dim=-1\n"
               "  %d = sub %x, %mu\n"
               "  %sq = mul %d, %d\n"
               "  %var = mean %sq dim=-1\n"
               "  %eps = const value=1e-5 : f64[]\n"
               "  %ve = add %var, %eps\n"
               "  %sd = sqrt %ve\n"
               "  %n = div %d, %sd\n"
               "  %y = mul %n, %g\n"
               "  output %y, %var\n"
               "}\n");
    check_text("mtir 1\n"
               "graph colnorm {\n"
               "  input %x : f32[1031,17]\n"
               "  %s = sum %x dim=0\n"
               "  %y = div %x, %s\n"
               "  %t = mul %x, %x\n"
               "  %z = sum %t\n"
               "  %w = sub %x, %z\n"
               "  output %y, %w\n"
               "}\n");
}

static void large_reductions_with_few_results_are_split_across_threads(void **state)
{
    (void)state;
    const char *text = "mtir 1\n"
                       "graph big {\n"
                       "  input %x : f32[1031,255]\n"
                       "  input %y : f64[40000,3]\n"
                       "  %e = mul %x, %x\n"
                       "  %s = sum %e\n"
                       "  %m = max %x\n"
                       "  %c = mean %y dim=0\n"
                       "  %t = permute %y perm=[1,0]\n"
                       "  %u = sum %t dim=1\n"
                       "  output %s, %m, %c, %u\n"
                       "}\n";
    mt_graph *g = parse(text);
    mt_diag d;
    mt_diag_init(&d);
    char *k = mt_cpu_dump_kernels(g, &d);
    assert_non_null(k);
    assert_non_null(strstr(k, "%s: mul sum (partials)"));
    assert_non_null(strstr(k, "%c: mean (combined)"));
    mt_free(k);
    check(g);
}

/* Sums and maxima over an axis that is not the contiguous one run strip-mined, a block of
 * results at a time (codegen/llvm/emit_reduce.c): blocks that end inside a thread's share,
 * shares split at a block's middle, nested parallel loops, and epilogues must all give the
 * interpreter's numbers and the same bits on 1 and 2 threads. */
static void reductions_over_an_outer_axis_match_across_block_and_share_edges(void **state)
{
    (void)state;
    /* 5000 results: more than one block of f64 accumulators (4096), split over 2 threads. */
    check_text("mtir 1\n"
               "graph outer {\n"
               "  input %x : f32[9,5000]\n"
               "  input %y : f64[3,17,100]\n"
               "  %s = sum %x dim=0\n"
               "  %m = max %x dim=0\n"
               "  %e = exp %x\n"
               "  %t = mean %e dim=0\n"
               "  %u = sum %y dim=1\n"
               "  %v = max %y dim=0\n"
               "  %w = sqrt %t\n"
               "  output %s, %m, %w, %u, %v\n"
               "}\n");
    /* Few rows, many results: the blocks are split over threads at any point. */
    check_text("mtir 1\n"
               "graph wide {\n"
               "  input %x : f32[2,40000]\n"
               "  %s = sum %x dim=0\n"
               "  output %s\n"
               "}\n");
}

/* ---- movement -------------------------------------------------------------------------- */

/* A permutation of outer axes reads the flat index at the first and last elements and at
 * the inner rows' ends, but not in between: the GPU renderer's float4 loads must not take it
 * for an elementwise read (a convnet's gradient once did), at a size it checks exhaustively
 * and at one where it samples. */
static void permuted_outer_axes_are_not_flat_reads(void **state)
{
    (void)state;
    check_text("mtir 1\n"
               "graph swap {\n"
               "  input %x : f32[2,3,8,8]\n"
               "  %p = permute %x perm=[1,0,2,3]\n"
               "  %y = relu %p\n"
               "  output %y\n"
               "}\n");
    check_text("mtir 1\n"
               "graph swap_big {\n"
               "  input %x : f32[2,3,130,132]\n"
               "  input %b : f32[132]\n"
               "  %p = permute %x perm=[1,0,2,3]\n"
               "  %y = add %p, %b\n"
               "  output %y\n"
               "}\n");
}

static void movement_chains_become_index_arithmetic(void **state)
{
    (void)state;
    /* permute -> reshape -> slice -> expand, feeding arithmetic and a reduction. */
    check_text("mtir 1\n"
               "graph moves {\n"
               "  input %x : f32[3,17,20]\n"
               "  input %b : f32[1,51,5]\n"
               "  %p = permute %x perm=[2,0,1]\n"
               "  %r = reshape %p shape=[4,5,51]\n"
               "  %s = slice %r start=[1,0,0] end=[2,5,51]\n"
               "  %t = permute %s perm=[0,2,1]\n"
               "  %e = expand %t shape=[2,3,51,5]\n"
               "  %y = add %e, %b\n"
               "  %z = sum %e dim=2\n"
               "  %f = reshape %x shape=[1020]\n"
               "  %u = reshape %f shape=[60,17]\n"
               "  %v = exp %u\n"
               "  output %y, %z, %v, %r\n"
               "}\n");
    check_text("mtir 1\n"
               "graph pads {\n"
               "  input %x : f64[3,17]\n"
               "  input %w : f64[5,17]\n"
               "  %p = pad %x pads=[1,2,0,3]\n"
               "  %q = pad %w pads=[0,1,2,1]\n"
               "  %c = concat %p, %q, %p dim=0\n"
               "  %y = mul %c, %c\n"
               "  %z = sum %c dim=1\n"
               "  %k = concat %x, %x dim=1\n"
               "  output %y, %z, %c, %k\n"
               "}\n");
}

static void outputs_may_be_leaves_views_constants_or_repeated(void **state)
{
    (void)state;
    check_text("mtir 1\n"
               "graph outs {\n"
               "  input %x : f32[17,3]\n"
               "  %t = permute %x perm=[1,0]\n"
               "  %c = const value=2.5 : f32[4]\n"
               "  %y = exp %x\n"
               "  output %x, %t, %c, %y, %y, %x\n"
               "}\n");
}

/* ---- contractions ---------------------------------------------------------------------- */

static void matmul_matches_with_batch_broadcast_and_epilogues(void **state)
{
    (void)state;
    static const struct {
        shape a, b;
    } mm[] = {
        {{2, {17, 1031}}, {2, {1031, 3}}},     {{2, {1, 1}}, {2, {1, 1}}},
        {{4, {2, 1, 3, 17}}, {3, {5, 17, 4}}}, {{2, {255, 17}}, {3, {3, 17, 255}}},
        {{3, {3, 1, 17}}, {2, {17, 1}}},
    };
    for (int t = 0; t < 2; t++)
        for (size_t s = 0; s < sizeof mm / sizeof mm[0]; s++) {
            mt_graph *g = mt_graph_new("mm");
            int a = mt_input(g, "a", type_of(dtypes[t], &mm[s].a));
            int b = mt_input(g, "b", type_of(dtypes[t], &mm[s].b));
            int m = mt_matmul(g, a, b);
            const mt_type *tm = mt_graph_node_type(g, m);
            int64_t n = tm->dims[tm->rank - 1];
            int bias = mt_param(g, "bias", mt_type_make(dtypes[t], 1, &n));
            int y = mt_relu(g, mt_add(g, m, bias));
            int outs[] = {m, y};
            mt_set_outputs(g, outs, 2);
            check(g);
            g = mt_graph_new("mm_epilogue");
            a = mt_input(g, "a", type_of(dtypes[t], &mm[s].a));
            b = mt_input(g, "b", type_of(dtypes[t], &mm[s].b));
            m = mt_matmul(g, a, b);
            bias = mt_param(g, "bias", mt_type_make(dtypes[t], 1, &n));
            outs[0] = mt_relu(g, mt_add(g, m, bias));
            mt_set_outputs(g, outs, 1);
            check(g);
        }
    check_text("mtir 1\n"
               "graph mlp {\n"
               "  input %x : f32[33,17]\n"
               "  param %w1 : f32[31,17]\n"
               "  param %w2 : f32[31,5]\n"
               "  %wt = permute %w1 perm=[1,0]\n"
               "  %h = matmul %x, %wt\n"
               "  %r = tanh %h\n"
               "  %y = matmul %r, %w2\n"
               "  %s = sigmoid %y\n"
               "  output %s\n"
               "}\n");
}

/* The GPU renderer's tiled GEMM picks its register block by the size of C (1x1, 2x2 and 4x4
 * per work-item: fewer than 2^16, 2^16 and 2^20 elements); each size with ragged tiles, a
 * transposed operand, a batch broadcast and the fused bias + relu epilogue. */
static void matmuls_of_every_tile_size_match(void **state)
{
    (void)state;
    static const char *const graphs[] = {
        "mtir 1\n"
        "graph tile2 {\n"
        "  input %a : f32[300,17]\n"
        "  input %b : f32[17,301]\n"
        "  param %c : f32[301]\n"
        "  %p = matmul %a, %b\n"
        "  %q = add %p, %c\n"
        "  %r = relu %q\n"
        "  output %r\n"
        "}\n",
        "mtir 1\n"
        "graph tile4 {\n"
        "  input %a : f32[1031,5]\n"
        "  input %b : f32[1030,5]\n"
        "  %bt = permute %b perm=[1,0]\n"
        "  %p = matmul %a, %bt\n"
        "  output %p\n"
        "}\n",
        "mtir 1\n"
        "graph batched {\n"
        "  input %a : f64[3,67,129]\n"
        "  input %b : f64[67,200]\n"
        "  %at = permute %a perm=[0,2,1]\n"
        "  %p = matmul %at, %b\n"
        "  %s = sigmoid %p\n"
        "  output %s\n"
        "}\n",
    };
    for (size_t i = 0; i < sizeof graphs / sizeof graphs[0]; i++)
        check_text(graphs[i]);
}

static void convolutions_and_pooling_match_with_stride_and_padding(void **state)
{
    (void)state;
    for (int t = 0; t < 2; t++) {
        const char *dt = t ? "f64" : "f32";
        char text[2048];
        snprintf(text, sizeof text,
                 "mtir 1\n"
                 "graph conv {\n"
                 "  input %%x : %s[2,3,17]\n"
                 "  param %%w : %s[4,3,5]\n"
                 "  param %%b : %s[4,1]\n"
                 "  %%a = conv1d %%x, %%w stride=2 padding=3\n"
                 "  %%c = conv1d %%x, %%w\n"
                 "  %%y = add %%a, %%b\n"
                 "  %%r = relu %%y\n"
                 "  output %%r, %%c\n"
                 "}\n",
                 dt, dt, dt);
        check_text(text);
        snprintf(text, sizeof text,
                 "mtir 1\n"
                 "graph conv2 {\n"
                 "  input %%x : %s[2,3,17,13]\n"
                 "  param %%w : %s[5,3,3,4]\n"
                 "  param %%b : %s[5,1,1]\n"
                 "  %%a = conv2d %%x, %%w stride=[2,1] padding=[1,2]\n"
                 "  %%y = add %%a, %%b\n"
                 "  %%r = relu %%y\n"
                 "  %%m = maxpool2d %%r kernel=[2,3]\n"
                 "  %%v = avgpool2d %%x kernel=[3,2]\n"
                 "  %%s = sigmoid %%v\n"
                 "  %%c = conv2d %%x, %%w\n"
                 "  output %%m, %%s, %%c\n"
                 "}\n",
                 dt, dt, dt);
        check_text(text);
    }
}

/* ---- sources --------------------------------------------------------------------------- */

static void rand_is_bit_identical_to_the_interpreter(void **state)
{
    (void)state;
    for (int t = 0; t < 2; t++) {
        const char *dt = t ? "f64" : "f32";
        char text[1024];
        snprintf(text, sizeof text,
                 "mtir 1\n"
                 "graph r {\n"
                 "  %%a = rand seed=0 : %s[1031,3]\n"
                 "  %%b = rand seed=8589934597 : %s[17]\n"
                 "  %%c = rand seed=12345 : %s[]\n"
                 "  output %%a, %%b, %%c\n"
                 "}\n",
                 dt, dt, dt);
        check_exact(parse(text), 1);
        /* Fused into a broadcasting consumer, element i still uses its own index. */
        snprintf(text, sizeof text,
                 "mtir 1\n"
                 "graph rb {\n"
                 "  input %%x : %s[255,17]\n"
                 "  %%r = rand seed=7 : %s[17]\n"
                 "  %%y = add %%x, %%r\n"
                 "  output %%y\n"
                 "}\n",
                 dt, dt);
        check_text(text);
    }
}

/* ---- gradients ------------------------------------------------------------------------- */

static void check_gradient(const char *text)
{
    mt_graph *g = parse(text), *gg = NULL;
    mt_diag d;
    mt_diag_init(&d);
    if (mt_pass_grad(g, NULL, 0, &gg, &d) != MT_OK)
        fail_msg("grad: %s", d.msg);
    mt_graph_free(g);
    check(gg);
}

static void gradient_graphs_of_an_mlp_and_a_conv_net_match(void **state)
{
    (void)state;
    check_gradient("mtir 1\n"
                   "graph mlp {\n"
                   "  input %x : f32[17,31]\n"
                   "  input %t : f32[17,3]\n"
                   "  param %w1 : f32[31,16]\n"
                   "  param %b1 : f32[16]\n"
                   "  param %w2 : f32[16,3]\n"
                   "  param %b2 : f32[3]\n"
                   "  %h = matmul %x, %w1\n"
                   "  %a = add %h, %b1\n"
                   "  %r = relu %a\n"
                   "  %o = matmul %r, %w2\n"
                   "  %y = add %o, %b2\n"
                   "  %m = max %y dim=1\n"
                   "  %z = sub %y, %m\n"
                   "  %e = exp %z\n"
                   "  %s = sum %e dim=1\n"
                   "  %l = log %s\n"
                   "  %lp = sub %z, %l\n"
                   "  %c = mul %lp, %t\n"
                   "  %n = mean %c\n"
                   "  %loss = neg %n\n"
                   "  output %loss\n"
                   "}\n");
    check_gradient("mtir 1\n"
                   "graph cnn {\n"
                   "  input %x : f64[2,3,9,9]\n"
                   "  param %w : f64[4,3,3,3]\n"
                   "  param %b : f64[4,1,1]\n"
                   "  param %v : f64[64,5]\n"
                   "  param %k : f64[2,3,3]\n"
                   "  %c = conv2d %x, %w stride=1 padding=1\n"
                   "  %a = add %c, %b\n"
                   "  %r = tanh %a\n"
                   "  %p = maxpool2d %r kernel=[2,2]\n"
                   "  %f = reshape %p shape=[2,64]\n"
                   "  %o = matmul %f, %v\n"
                   "  %s = mul %o, %o\n"
                   "  %x1 = slice %x start=[0,0,0,0] end=[2,3,1,9]\n"
                   "  %x2 = reshape %x1 shape=[2,3,9]\n"
                   "  %c1 = conv1d %x2, %k stride=2 padding=1\n"
                   "  %q = avgpool2d %a kernel=[3,3]\n"
                   "  %l1 = sum %s\n"
                   "  %l2 = sum %c1\n"
                   "  %l3 = mean %q\n"
                   "  %l12 = add %l1, %l2\n"
                   "  %loss = add %l12, %l3\n"
                   "  output %loss\n"
                   "}\n");
}

/* ---- random graphs --------------------------------------------------------------------- */

static int pick(int n) { return (int)(mt_test_uniform01() * n) % n; }

static mt_type shape_of(mt_graph *g, int id) { return *mt_graph_node_type(g, id); }

/* An input broadcastable against t: some dims set to 1, maybe fewer leading dims. */
static int broadcast_partner(mt_graph *g, mt_type t, int *ninputs)
{
    mt_type u = t;
    int drop = pick(t.rank + 1) / 2;
    u.rank = t.rank - drop;
    for (int a = 0; a < u.rank; a++)
        u.dims[a] = pick(3) == 0 ? 1 : t.dims[a + drop];
    char name[16];
    snprintf(name, sizeof name, "in%d", (*ninputs)++);
    return mt_input(g, name, u);
}

/* One random op on x (or on x and a partner); -1 to skip. Values stay bounded: no inf or
 * NaN for the comparison to trip on. */
static int random_op(mt_graph *g, int x, int *ninputs)
{
    mt_type t = shape_of(g, x);
    int64_t n = mt_type_numel(&t);
    int one = mt_const(g, 1.0, mt_type_make(t.dtype, 0, NULL));
    switch (pick(12)) {
    case 0: return mt_sigmoid(g, mt_neg(g, x));
    case 1: return mt_exp(g, mt_tanh(g, x));
    case 2: return mt_log(g, mt_add(g, mt_abs(g, x), one));
    case 3: return mt_inv(g, mt_add(g, mt_relu(g, x), one));
    case 4: {
        int b = broadcast_partner(g, t, ninputs);
        int (*ops[])(mt_graph *, int, int) = {mt_add,     mt_sub,     mt_mul,
                                              mt_maximum, mt_minimum, mt_lt};
        return pick(2) ? ops[pick(6)](g, x, b) : ops[pick(6)](g, b, x);
    }
    case 5: {
        int b = broadcast_partner(g, t, ninputs);
        return mt_where(g, mt_gt(g, x, b), x, mt_sqrt(g, mt_abs(g, b)));
    }
    case 6: {
        if (t.rank == 0)
            return mt_sum_all(g, x);
        int (*ops[])(mt_graph *, int, int) = {mt_sum, mt_max, mt_mean};
        return pick(4) ? ops[pick(3)](g, x, pick(t.rank)) : mt_mean_all(g, x);
    }
    case 7: {
        if (t.rank < 2)
            return -1;
        int64_t perm[MT_MAX_RANK];
        for (int a = 0; a < t.rank; a++)
            perm[a] = a;
        for (int a = t.rank - 1; a > 0; a--) {
            int b = pick(a + 1);
            int64_t tmp = perm[a];
            perm[a] = perm[b];
            perm[b] = tmp;
        }
        return mt_permute(g, x, t.rank, perm);
    }
    case 8: {
        /* Merge two adjacent axes, or flatten, or split off a factor of 2. */
        int64_t dims[MT_MAX_RANK];
        int r = 0;
        if (t.rank >= 2 && pick(2)) {
            int a = pick(t.rank - 1);
            for (int i = 0; i < t.rank; i++)
                if (i == a + 1)
                    dims[r - 1] *= t.dims[i];
                else
                    dims[r++] = t.dims[i];
        } else if (n % 2 == 0 && n > 2) {
            dims[r++] = 2;
            dims[r++] = n / 2;
        } else {
            dims[r++] = n;
        }
        return mt_reshape(g, x, r, dims);
    }
    case 9: {
        if (t.rank == 0)
            return -1;
        int64_t st[MT_MAX_RANK], en[MT_MAX_RANK], pads[2 * MT_MAX_RANK];
        for (int a = 0; a < t.rank; a++) {
            st[a] = pick((int)t.dims[a]);
            en[a] = st[a] + 1 + pick((int)(t.dims[a] - st[a]));
            pads[2 * a] = pick(3);
            pads[2 * a + 1] = pick(2);
        }
        return pick(2) ? mt_slice(g, x, t.rank, st, en) : mt_pad(g, x, 2 * t.rank, pads);
    }
    case 10: {
        if (n > 512)
            return -1;
        if (t.rank > 0 && pick(2)) {
            int xs[2] = {x, mt_neg(g, x)};
            return mt_concat(g, 2, xs, pick(t.rank));
        }
        int64_t dims[MT_MAX_RANK];
        int r = 0;
        if (t.rank < 4)
            dims[r++] = 2;
        for (int a = 0; a < t.rank; a++)
            dims[r++] = t.dims[a] == 1 ? 3 : t.dims[a];
        return mt_expand(g, x, r, dims);
    }
    default: {
        if (t.rank < 2 || n > 1024)
            return -1;
        int64_t wd[2] = {t.dims[t.rank - 1], 1 + pick(5)};
        char name[16];
        snprintf(name, sizeof name, "in%d", (*ninputs)++);
        int w = mt_input(g, name, mt_type_make(t.dtype, 2, wd));
        return pick(3) ? mt_matmul(g, x, w)
                       : mt_add(g, mt_matmul(g, x, w),
                                mt_rand(g, (uint64_t)pick(1000), mt_type_make(t.dtype, 1, &wd[1])));
    }
    }
}

static void random_graphs_match_the_interpreter(void **state)
{
    (void)state;
    for (int round = 0; round < 40; round++) {
        mt_graph *g = mt_graph_new("random");
        mt_dtype dt = dtypes[pick(2)];
        int ninputs = 0, pool[64], npool = 0;
        for (int i = 0; i < 2; i++) {
            int64_t dims[MT_MAX_RANK];
            int rank = pick(5);
            for (int a = 0; a < rank; a++)
                dims[a] = 1 + pick(5);
            char name[16];
            snprintf(name, sizeof name, "in%d", ninputs++);
            pool[npool++] = mt_input(g, name, mt_type_make(dt, rank, dims));
        }
        while (npool < 16) {
            int y = random_op(g, pool[pick(npool)], &ninputs);
            if (y >= 0 && mt_type_numel(mt_graph_node_type(g, y)) <= 4096)
                pool[npool++] = y;
            if (mt_graph_diag(g)->status != MT_OK)
                fail_msg("round %d: the generator built a bad op: %s", round,
                         mt_graph_diag(g)->msg);
        }
        int outs[3] = {pool[npool - 1], pool[2 + pick(npool - 3)], pool[2 + pick(npool - 3)]};
        mt_set_outputs(g, outs, 3);
        check(g);
    }
}

/* ---- threads, memory, errors ----------------------------------------------------------- */

static void mtc_num_threads_sets_the_default_pool_size(void **state)
{
    (void)state;
    const char *old = getenv("MTC_NUM_THREADS");
    char *saved = old ? strdup(old) : NULL;
    setenv("MTC_NUM_THREADS", "3", 1);
    assert_int_equal(mt_pool_default_threads(), 3);
    mt_pool *p = mt_pool_new(0);
    assert_non_null(p);
    assert_int_equal(mt_pool_size(p), 3);
    mt_pool_free(p);
    setenv("MTC_NUM_THREADS", "zero", 1);
    assert_true(mt_pool_default_threads() >= 1);
    if (saved)
        setenv("MTC_NUM_THREADS", saved, 1);
    else
        unsetenv("MTC_NUM_THREADS");
    free(saved);
}

static void add_task(void *ctx, int64_t t) { __atomic_fetch_add((int64_t *)ctx, t + 1, 0); }

static void the_pool_runs_every_task_once(void **state)
{
    (void)state;
    mt_pool *p = mt_pool_new(4);
    assert_non_null(p);
    for (int round = 0; round < 20; round++) {
        int64_t sum = 0;
        mt_pool_run(p, add_task, &sum, 1000);
        assert_int_equal(sum, 1000 * 1001 / 2);
    }
    /* Jobs back to back while the workers spin, after pauses long enough for them to sleep,
     * and with fewer tasks than threads: a worker that wakes after the caller has done every
     * task must not run one. */
    for (int round = 0; round < 300; round++) {
        int64_t sum = 0, n = 1 + round % 7;
        if (round % 50 == 0)
            nanosleep(&(struct timespec){0, 2000000}, NULL);
        mt_pool_run(p, add_task, &sum, n);
        assert_int_equal(sum, n * (n + 1) / 2);
    }
    mt_pool_free(p);
}

static void memory_planning_reuses_dead_buffers_and_works_in_place(void **state)
{
    (void)state;
    /* Each sum reads its operand in a reduction loop, so every value is a stored temporary;
     * only two are live at a time. The exp of a stored value rewrites it in place. */
    const char *text = "mtir 1\n"
                       "graph chain {\n"
                       "  input %x : f32[64,1031]\n"
                       "  %a = exp %x\n"
                       "  %s1 = sum %a dim=1\n"
                       "  %b = sub %a, %s1\n"
                       "  %s2 = sum %b dim=1\n"
                       "  %c = sub %b, %s2\n"
                       "  %s3 = sum %c dim=1\n"
                       "  %d = sub %c, %s3\n"
                       "  %e = log %d\n"
                       "  output %e\n"
                       "}\n";
    mt_graph *g = parse(text);
    mt_diag d;
    mt_diag_init(&d);
    mt_fusion *f = NULL;
    mt_kprog *p = NULL;
    assert_int_equal(mt_fuse(g, &f, &d), MT_OK);
    assert_int_equal(mt_lower(g, f, mt_target_desc_cpu(), &p, &d), MT_OK);
    assert_int_equal(mt_memplan(p, &d), MT_OK);
    int64_t one = 64 * 1031 * 4;
    assert_true(p->temp_bytes >= 3 * one);
    assert_true(p->arena_bytes <= 2 * one + 2 * MT_ARENA_ALIGN);
    for (int b = 0; b < p->nbufs; b++)
        if (p->bufs[b].kind == MT_KBUF_TEMP)
            assert_true(p->bufs[b].offset % MT_ARENA_ALIGN == 0);
    mt_kprog_free(p);
    mt_fusion_free(f);
    check(g);

    /* %t dies in the kernel of %u, which reads it only where it writes: %u takes its place. */
    g = parse("mtir 1\n"
              "graph inplace {\n"
              "  input %x : f64[64,1031]\n"
              "  %t = exp %x\n"
              "  %s = sum %t dim=1\n"
              "  %u = neg %t\n"
              "  %v = sum %u dim=1\n"
              "  %w = sum %u dim=0\n"
              "  output %s, %v, %w\n"
              "}\n");
    assert_int_equal(mt_fuse(g, &f, &d), MT_OK);
    assert_int_equal(mt_lower(g, f, mt_target_desc_cpu(), &p, &d), MT_OK);
    assert_int_equal(mt_memplan(p, &d), MT_OK);
    assert_int_equal(p->ninplace, 1);
    assert_int_equal(p->arena_bytes, 64 * 1031 * 8);
    mt_kprog_free(p);
    mt_fusion_free(f);
    check(g);
}

static void missing_or_mistyped_leaves_are_errors_that_name_the_value(void **state)
{
    (void)state;
    mt_graph *g = parse("mtir 1\n"
                        "graph g {\n"
                        "  input %x : f32[3]\n"
                        "  %y = exp %x\n"
                        "  output %y\n"
                        "}\n");
    mt_diag d;
    mt_diag_init(&d);
    mt_cpu_program *p = NULL;
    assert_int_equal(mt_cpu_compile(g, &p, &d), MT_OK);
    const mt_tensor *leaves[2] = {NULL, NULL};
    mt_tensor *out[1] = {(mt_tensor *)1};
    assert_int_equal(mt_cpu_run(p, leaves, out, &d), MT_ERR_ARG);
    assert_null(out[0]);
    assert_non_null(strstr(d.msg, "%x"));
    mt_diag_fini(&d);
    mt_diag_init(&d);
    mt_tensor *wrong = mt_tensor_new(mt_type_make(MT_DTYPE_F64, 1, (int64_t[]){3}));
    leaves[0] = wrong;
    assert_int_equal(mt_cpu_run(p, leaves, out, &d), MT_ERR_ARG);
    assert_non_null(strstr(d.msg, "f64[3]"));
    assert_int_equal(mt_cpu_set_threads(p, 0, &d), MT_ERR_ARG);
    mt_tensor_free(wrong);
    mt_cpu_free(p);
    mt_graph_free(g);
    mt_diag_fini(&d);
}

static void dumps_show_kernels_and_optimised_llvm(void **state)
{
    (void)state;
    mt_graph *g = parse("mtir 1\n"
                        "graph dump {\n"
                        "  input %x : f32[64,256]\n"
                        "  %y = relu %x\n"
                        "  %s = sum %y dim=1\n"
                        "  output %s\n"
                        "}\n");
    mt_diag d;
    mt_diag_init(&d);
    char *fused = mt_cpu_dump_fused(g, 1, &d), *kernels = mt_cpu_dump_kernels(g, &d),
         *llvm = mt_cpu_dump_llvm(g, &d);
    assert_non_null(fused);
    assert_non_null(kernels);
    assert_non_null(llvm);
    assert_non_null(strstr(fused, "# fused graph dump: 1 kernel"));
    assert_non_null(strstr(kernels, "for i0 in 0..64 parallel"));
    assert_non_null(strstr(kernels, "reduce"));
    assert_non_null(strstr(llvm, "define void @dump_k0("));
    assert_non_null(strstr(llvm, " x float>")); /* vectorised, at the host's width */
    mt_stats s;
    assert_int_equal(mt_cpu_stats(g, &s, &d), MT_OK);
    assert_int_equal(s.nodes, 1);
    assert_true(s.peak >= 64 * 256 * 4 + 64 * 4);
    mt_free(fused);
    mt_free(kernels);
    mt_free(llvm);
    mt_graph_free(g);
    mt_diag_fini(&d);
}

static void a_sum_over_rows_is_vectorised_across_the_contiguous_axis_without_gathers(void **state)
{
    (void)state;
    mt_graph *g = parse("mtir 1\n"
                        "graph cols {\n"
                        "  input %x : f32[512,256]\n"
                        "  %s = sum %x dim=0\n"
                        "  output %s\n"
                        "}\n");
    mt_diag d;
    mt_diag_init(&d);
    char *llvm = mt_cpu_dump_llvm(g, &d);
    assert_non_null(llvm);
    /* Vector loads of x's rows and vector adds of the f64 accumulators; the strided loop that
     * this replaces was vectorised with gathers on hosts that have them. */
    assert_non_null(strstr(llvm, " x float>, <"));
    assert_non_null(strstr(llvm, "fadd <"));
    assert_null(strstr(llvm, "gather"));
    mt_free(llvm);
    mt_graph_free(g);
    mt_diag_fini(&d);
}

/* A step graph with kernels that always run whole (called by the entry), one big enough for
 * the pool (dispatched back to the executor), and updates. */
static const char *entry_step = "mtir 1\n"
                                "graph estep {\n"
                                "  input %x : f32[256,200]\n"
                                "  input %y : f32[256,1]\n"
                                "  param %w : f32[200,1]\n"
                                "  state %mom : f32[200,1]\n"
                                "  %p = matmul %x, %w : f32[256,1]\n"
                                "  %d = sub %p, %y\n"
                                "  %sq = mul %d, %d\n"
                                "  %loss = mean %sq\n"
                                "  %xt = permute %x perm=[1,0]\n"
                                "  %g = matmul %xt, %d : f32[200,1]\n"
                                "  %mu = const value=0.9 : f32[]\n"
                                "  %m0 = mul %mom, %mu\n"
                                "  %m1 = add %m0, %g\n"
                                "  %lr = const value=0.001 : f32[]\n"
                                "  %s = mul %m1, %lr\n"
                                "  %w1 = sub %w, %s\n"
                                "  %z = tanh %x\n"
                                "  update %w <- %w1\n"
                                "  update %mom <- %m1\n"
                                "  output %loss, %z\n"
                                "}\n";

typedef struct timed {
    int calls, next, in_order;
} timed;

static void count_kernel(void *ctx, int k, int64_t ns)
{
    timed *t = ctx;
    t->in_order &= k == t->next && ns >= 0;
    t->calls++;
    t->next = k + 1;
}

/* Three steps of entry_step on the same data; *timer non-NULL: timed (walking the kernels). */
static mt_program *three_steps(timed *timer)
{
    mt_diag d;
    mt_diag_init(&d);
    mt_graph *g = parse(entry_step);
    mt_program *p = NULL;
    assert_int_equal(mt_program_compile(g, "cpu", &p, &d), MT_OK);
    assert_int_equal(mt_program_set_threads(p, 2, &d), MT_OK);
    assert_true(mt_cpu_has_entry(mt_program_impl(p)));
    static float x[256 * 200], y[256], w[200];
    for (int i = 0; i < 256 * 200; i++)
        x[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
    for (int i = 0; i < 256; i++)
        y[i] = (float)(i % 7) - 3.0f;
    for (int i = 0; i < 200; i++)
        w[i] = (float)(i % 13) / 13.0f;
    assert_int_equal(mt_program_set(p, "x", x, sizeof x, &d), MT_OK);
    assert_int_equal(mt_program_set(p, "y", y, sizeof y, &d), MT_OK);
    assert_int_equal(mt_program_set(p, "w", w, sizeof w, &d), MT_OK);
    if (timer)
        assert_int_equal(mt_program_set_kernel_timer(p, count_kernel, timer, &d), MT_OK);
    for (int i = 0; i < 3; i++) {
        if (timer)
            timer->next = 0;
        assert_int_equal(mt_program_run(p, &d), MT_OK);
    }
    mt_graph_free(g);
    return p;
}

static void a_program_runs_through_its_entry_as_the_timed_walk_does(void **state)
{
    (void)state;
    timed t = {0, 0, 1};
    mt_program *a = three_steps(NULL), *b = three_steps(&t);
    int nk = mt_cpu_kernels(mt_program_impl(b))->nkernels;
    assert_true(nk > 2);
    assert_int_equal(t.calls, 3 * nk); /* every kernel of every run, in order */
    assert_true(t.in_order);
    static const char *names[] = {"loss", "z", "w", "mom"};
    for (int i = 0; i < 4; i++) {
        int slot = mt_program_find(a, names[i]);
        size_t n = mt_program_slot_nbytes(a, slot);
        assert_memory_equal(mt_program_data(a, names[i]), mt_program_data(b, names[i]), n);
    }
    /* The updates landed: w moved. */
    assert_true(((const float *)mt_program_data(a, "w"))[1] != 1.0f / 13.0f);
    mt_program_free(a);
    mt_program_free(b);
}

static void the_cpu_target_is_in_the_static_table_and_runs_a_graph(void **state)
{
    (void)state;
    mt_graph *g = parse("mtir 1\n"
                        "graph g {\n"
                        "  input %x : f64[2]\n"
                        "  %y = mul %x, %x\n"
                        "  output %y\n"
                        "}\n");
    mt_diag d;
    mt_diag_init(&d);
    mt_program *p = NULL;
    assert_int_equal(mt_program_compile(g, "cpu", &p, &d), MT_OK);
    assert_string_equal(mt_program_target(p), "cpu");
    const double x[2] = {3, -0.5};
    double y[2] = {0, 0};
    assert_int_equal(mt_program_set(p, "x", x, sizeof x, &d), MT_OK);
    assert_int_equal(mt_program_run(p, &d), MT_OK);
    assert_int_equal(mt_program_get(p, "y", y, sizeof y, &d), MT_OK);
    assert_true(y[0] == 9 && y[1] == 0.25);
    mt_program_free(p);
    mt_graph_free(g);
    mt_diag_fini(&d);
}

#ifdef MT_TEST_TARGET
/* Built a second time as test_opencl_conformance (tests/CMakeLists.txt): the same graphs on
 * another target through the program API (mt_check_target), skipped (exit 77) where that
 * target has no device here. */
static int target_available(void)
{
    mt_graph *g =
        parse("mtir 1\ngraph probe {\n  input %x : f32[3]\n  %y = exp %x\n  output %y\n}\n");
    mt_program *p = NULL;
    mt_diag d;
    mt_diag_init(&d);
    mt_status st = mt_program_compile(g, MT_TEST_TARGET, &p, &d);
    if (st != MT_OK)
        printf("skipped: %s\n", d.msg);
    mt_program_free(p);
    mt_graph_free(g);
    mt_diag_fini(&d);
    return st == MT_OK;
}

int main(void)
{
    mt_test_seed();
    if (getenv("MT_TEST_FILTER"))
        cmocka_set_test_filter(getenv("MT_TEST_FILTER"));
    if (!target_available())
        return 77;
    mt_check_target = MT_TEST_TARGET;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_unary_op_matches_at_ranks_0_to_4_and_awkward_sizes),
        cmocka_unit_test(binary_ops_broadcast_both_ways),
        cmocka_unit_test(chains_of_elementwise_ops_with_broadcasts_match),
        cmocka_unit_test(nan_and_infinities_follow_the_interpreter),
        cmocka_unit_test(row_maxima_with_nans_zeros_and_infinities_follow_the_interpreter),
        cmocka_unit_test(sibling_reductions_of_a_producer_match_along_every_axis),
        cmocka_unit_test(reductions_match_over_every_axis_and_whole_tensors),
        cmocka_unit_test(reductions_of_every_length_match),
        cmocka_unit_test(reductions_fuse_with_producers_and_consumers),
        cmocka_unit_test(reductions_over_an_outer_axis_match_across_block_and_share_edges),
        cmocka_unit_test(large_reductions_with_few_results_are_split_across_threads),
        cmocka_unit_test(movement_chains_become_index_arithmetic),
        cmocka_unit_test(permuted_outer_axes_are_not_flat_reads),
        cmocka_unit_test(outputs_may_be_leaves_views_constants_or_repeated),
        cmocka_unit_test(matmul_matches_with_batch_broadcast_and_epilogues),
        cmocka_unit_test(matmuls_of_every_tile_size_match),
        cmocka_unit_test(convolutions_and_pooling_match_with_stride_and_padding),
        cmocka_unit_test(rand_is_bit_identical_to_the_interpreter),
        cmocka_unit_test(gradient_graphs_of_an_mlp_and_a_conv_net_match),
        cmocka_unit_test(random_graphs_match_the_interpreter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
#else
int main(void)
{
    mt_test_seed();
    if (getenv("MT_TEST_FILTER")) /* e.g. MT_TEST_FILTER='matmul*' */
        cmocka_set_test_filter(getenv("MT_TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_unary_op_matches_at_ranks_0_to_4_and_awkward_sizes),
        cmocka_unit_test(binary_ops_broadcast_both_ways),
        cmocka_unit_test(chains_of_elementwise_ops_with_broadcasts_match),
        cmocka_unit_test(nan_and_infinities_follow_the_interpreter),
        cmocka_unit_test(row_maxima_with_nans_zeros_and_infinities_follow_the_interpreter),
        cmocka_unit_test(sibling_reductions_of_a_producer_match_along_every_axis),
        cmocka_unit_test(reductions_match_over_every_axis_and_whole_tensors),
        cmocka_unit_test(reductions_of_every_length_match),
        cmocka_unit_test(reductions_fuse_with_producers_and_consumers),
        cmocka_unit_test(reductions_over_an_outer_axis_match_across_block_and_share_edges),
        cmocka_unit_test(large_reductions_with_few_results_are_split_across_threads),
        cmocka_unit_test(movement_chains_become_index_arithmetic),
        cmocka_unit_test(permuted_outer_axes_are_not_flat_reads),
        cmocka_unit_test(outputs_may_be_leaves_views_constants_or_repeated),
        cmocka_unit_test(matmul_matches_with_batch_broadcast_and_epilogues),
        cmocka_unit_test(matmuls_of_every_tile_size_match),
        cmocka_unit_test(convolutions_and_pooling_match_with_stride_and_padding),
        cmocka_unit_test(rand_is_bit_identical_to_the_interpreter),
        cmocka_unit_test(gradient_graphs_of_an_mlp_and_a_conv_net_match),
        cmocka_unit_test(random_graphs_match_the_interpreter),
        cmocka_unit_test(mtc_num_threads_sets_the_default_pool_size),
        cmocka_unit_test(the_pool_runs_every_task_once),
        cmocka_unit_test(memory_planning_reuses_dead_buffers_and_works_in_place),
        cmocka_unit_test(missing_or_mistyped_leaves_are_errors_that_name_the_value),
        cmocka_unit_test(dumps_show_kernels_and_optimised_llvm),
        cmocka_unit_test(a_sum_over_rows_is_vectorised_across_the_contiguous_axis_without_gathers),
        cmocka_unit_test(the_cpu_target_is_in_the_static_table_and_runs_a_graph),
        cmocka_unit_test(a_program_runs_through_its_entry_as_the_timed_walk_does),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
