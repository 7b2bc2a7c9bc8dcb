/* test_stats.c - the cost model behind `mtc dump --stats`, checked against counts by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "ir/alloc.h"
#include "ir/graph.h"
#include "passes/stats.h"

static mt_type f32(int rank, const int64_t *dims) { return mt_type_make(MT_DTYPE_F32, rank, dims); }

static mt_stats stats_of(const mt_graph *g)
{
    mt_stats s;
    assert_int_equal(mt_graph_stats(g, &s, NULL), MT_OK);
    return s;
}

/* x[4,8] -> matmul w1[8,16] -> add b1[16] -> relu -> matmul w2[16,3] = o; sum o dim=1; mean. */
static mt_graph *mlp(void)
{
    mt_graph *g = mt_graph_new("mlp");
    int x = mt_input(g, "x", f32(2, (int64_t[]){4, 8}));
    int w1 = mt_param(g, "w1", f32(2, (int64_t[]){8, 16}));
    int b1 = mt_param(g, "b1", f32(1, (int64_t[]){16}));
    int w2 = mt_param(g, "w2", f32(2, (int64_t[]){16, 3}));
    int h = mt_matmul(g, x, w1);
    int a = mt_add(g, h, b1);
    int y = mt_relu(g, a);
    int o = mt_matmul(g, y, w2);
    int s = mt_sum(g, o, 1);
    int m = mt_mean_all(g, s);
    int outs[] = {o, m};
    assert_int_equal(mt_set_outputs(g, outs, 2), 0);
    assert_int_equal(mt_graph_diag(g)->status, MT_OK);
    return g;
}

static void an_mlp_costs_what_the_hand_count_says(void **state)
{
    (void)state;
    mt_graph *g = mlp();
    mt_stats s = stats_of(g);
    assert_int_equal(s.nodes, 6);
    /* matmul 2*4*16*8 + add 64 + relu 64 + matmul 2*4*3*16 + sum 12 inputs + mean 4 inputs */
    assert_true(s.flops == 1024 + 64 + 64 + 384 + 12 + 4);
    /* In elements, reads + writes: h 32+128+64, a 64+16+64, y 64+64, o 64+48+12, s 12+4,
     * m 4+1; four bytes each. */
    assert_true(s.bytes == 4.0 * (224 + 144 + 128 + 124 + 16 + 5));
    /* Leaves 32+128+16+48 = 224 elements throughout; the most at once is while `a` is written
     * with `h` still live: 224 + 64 + 64. */
    assert_true(s.peak == 4.0 * (224 + 64 + 64));
    mt_graph_free(g);
}

static void contractions_and_pools_count_their_multiply_adds(void **state)
{
    (void)state;
    mt_graph *g = mt_graph_new("g");
    int x = mt_input(g, "x", f32(4, (int64_t[]){2, 3, 8, 8}));
    int w = mt_param(g, "w", f32(4, (int64_t[]){4, 3, 3, 3}));
    int c2 = mt_conv2d(g, x, w, NULL, NULL); /* [2,4,6,6]: 2*2*4*3*3*3*6*6 */
    int x1 = mt_input(g, "x1", f32(3, (int64_t[]){2, 3, 10}));
    int w1 = mt_param(g, "w1", f32(3, (int64_t[]){4, 3, 3}));
    int c1 = mt_conv1d(g, x1, w1, 2, 1);           /* L' = (10 + 2 - 3) / 2 + 1 = 5: 2*2*4*3*3*5 */
    int p = mt_maxpool2d(g, x, (int64_t[]){2, 2}); /* [2,3,4,4], 4 per element */
    int a = mt_input(g, "a", f32(4, (int64_t[]){2, 1, 4, 5}));
    int b = mt_input(g, "b", f32(3, (int64_t[]){3, 5, 6}));
    int mm = mt_matmul(g, a, b);                   /* [2,3,4,6]: batch 6, 2*4*6*5 each */
    int r = mt_reshape(g, mm, 1, (int64_t[]){-1}); /* movement: no FLOPs */
    int outs[] = {c2, c1, p, r};
    assert_int_equal(mt_set_outputs(g, outs, 4), 0);
    assert_int_equal(mt_graph_diag(g)->status, MT_OK);
    mt_stats s = stats_of(g);
    assert_int_equal(s.nodes, 5);
    assert_true(s.flops == 15552 + 720 + 384 + 1440);
    mt_graph_free(g);
}

static void a_value_used_twice_is_freed_once_and_a_dead_one_at_once(void **state)
{
    (void)state;
    mt_graph *g = mt_graph_new("g");
    int x = mt_input(g, "x", f32(1, (int64_t[]){1000}));
    mt_exp(g, x); /* dead: written, then freed */
    int e = mt_neg(g, x);
    int sq = mt_mul(g, e, e); /* frees e once */
    int c = mt_const(g, 2.0, f32(0, NULL));
    int y = mt_add(g, sq, c);
    assert_int_equal(mt_set_outputs(g, &y, 1), 0);
    mt_stats s = stats_of(g);
    assert_int_equal(s.nodes, 5);
    assert_true(s.flops == 1000 * 4.0);
    /* exp 4000+4000, neg 4000+4000, mul 8000+4000, const 4, add 4000+4+4000 */
    assert_true(s.bytes == 8000 + 8000 + 12000 + 4 + 8004);
    /* x, e and sq at once while mul writes; then x, sq, const, y while add writes. */
    assert_true(s.peak == 12004);
    mt_graph_free(g);
}

static void the_table_has_a_header_and_one_row_per_stage(void **state)
{
    (void)state;
    mt_graph *g = mlp();
    mt_stats s = stats_of(g);
    mt_buf b = {0};
    mt_stats_header(&b);
    mt_stats_row(&b, "parsed", &s);
    s.flops = 2.5e9;
    s.bytes = 3.0 * 1024 * 1024;
    s.peak = 12345;
    mt_stats_row(&b, "dce", &s);
    char *t = mt_buf_take(&b);
    assert_non_null(t);
    const char *want = "stage           nodes          flops          bytes           peak\n"
                       "parsed              6      1552 FLOP         2564 B         1408 B\n"
                       "dce                 6     2.50 GFLOP       3.00 MiB      12.06 KiB\n";
    assert_string_equal(t, want);
    mt_free(t);
    mt_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_mlp_costs_what_the_hand_count_says),
        cmocka_unit_test(contractions_and_pools_count_their_multiply_adds),
        cmocka_unit_test(a_value_used_twice_is_freed_once_and_a_dead_one_at_once),
        cmocka_unit_test(the_table_has_a_header_and_one_row_per_stage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
