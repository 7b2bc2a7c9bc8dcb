/* test_step.c - step graphs: `state` leaves, `update` lines, and rand's step counter.
 *
 * A step graph is one training step as a pure function of (params, state, inputs): every read
 * sees the old values, and the updates are the new ones. These tests check that reading of the
 * IR in the interpreter against steps computed by hand, that the simplification passes carry
 * updates through, and that rand with a step counter keeps today's numbers at k = 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "codegen/cpu.h"
#include "ir/alloc.h"
#include "ir/graph.h"
#include "passes/pass.h"
#include "runtime/interp.h"
#include "runtime/philox.h"

static mt_graph *parse(const char *text)
{
    mt_diag d;
    mt_diag_init(&d);
    mt_graph *g = NULL;
    if (mt_graph_parse(text, strlen(text), "step.mt", &g, &d) != MT_OK)
        fail_msg("%s:%d:%d: %s", d.file, d.line, d.col, d.msg);
    mt_diag_fini(&d);
    return g;
}

static mt_tensor *vec(int n, const float *v)
{
    int64_t dims[1] = {n};
    mt_tensor *t = mt_tensor_new(mt_type_make(MT_DTYPE_F32, n ? 1 : 0, dims));
    memcpy(t->data, v, (size_t)(n ? n : 1) * sizeof(float));
    return t;
}

/* loss = sum(x * w); its gradient with respect to w is x; SGD with lr 0.5. */
static const char sgd_text[] = "mtir 1\n"
                               "graph sgd {\n"
                               "  input %x : f32[3]\n"
                               "  param %w : f32[3]\n"
                               "  %xw = mul %x, %w\n"
                               "  %loss = sum %xw\n"
                               "  %lr = const value=0.5 : f32[]\n"
                               "  %step = mul %x, %lr\n"
                               "  %w.new = sub %w, %step\n"
                               "  update %w <- %w.new\n"
                               "  output %loss\n"
                               "}\n";

static void an_sgd_step_reads_the_old_weights_and_returns_the_new_ones(void **state)
{
    (void)state;
    mt_graph *g = parse(sgd_text);
    assert_int_equal(g->nupdates, 1);
    const mt_tensor *leaves[16] = {0};
    float x[3] = {1, 2, 3}, w[3] = {0.5f, -1, 2};
    mt_tensor *tx = vec(3, x), *tw = vec(3, w);
    leaves[mt_graph_find(g, "x")] = tx;
    leaves[mt_graph_find(g, "w")] = tw;
    mt_tensor *out[1], *upd[1];
    mt_diag d;
    mt_diag_init(&d);
    assert_int_equal(mt_interp_step(g, leaves, out, upd, &d), MT_OK);
    /* The loss uses the weights before the step: 0.5 - 2 + 6. */
    assert_float_equal(((float *)out[0]->data)[0], 4.5f, 0);
    for (int i = 0; i < 3; i++)
        assert_float_equal(((float *)upd[0]->data)[i], w[i] - 0.5f * x[i], 0);
    mt_tensor_free(out[0]);
    mt_tensor_free(upd[0]);
    mt_tensor_free(tx);
    mt_tensor_free(tw);
    mt_graph_free(g);
}

static void a_state_nobody_feeds_starts_at_zero_and_counts_steps(void **state)
{
    (void)state;
    mt_graph *g = parse("mtir 1\n"
                        "graph counter {\n"
                        "  state %n : f32[]\n"
                        "  %one = const value=1 : f32[]\n"
                        "  %next = add %n, %one\n"
                        "  %twice = mul %n, %one\n"
                        "  update %n <- %next\n"
                        "  output %twice\n"
                        "}\n");
    const mt_tensor *leaves[8] = {0};
    mt_tensor *out[1], *upd[1] = {NULL}, *fed = NULL;
    mt_diag d;
    mt_diag_init(&d);
    for (int step = 0; step < 3; step++) {
        leaves[mt_graph_find(g, "n")] = fed; /* NULL on the first step: zeros */
        assert_int_equal(mt_interp_step(g, leaves, out, upd, &d), MT_OK);
        assert_float_equal(((float *)out[0]->data)[0], (float)step, 0);
        assert_float_equal(((float *)upd[0]->data)[0], (float)step + 1, 0);
        mt_tensor_free(out[0]);
        mt_tensor_free(fed);
        fed = upd[0];
    }
    mt_tensor_free(fed);
    mt_graph_free(g);
}

static void the_simplification_passes_keep_every_update_and_its_name(void **state)
{
    (void)state;
    mt_graph *g = parse(sgd_text), *opt = NULL;
    int n;
    const mt_pass *const *passes = mt_passes_default(&n);
    mt_diag d;
    mt_diag_init(&d);
    assert_int_equal(mt_pipeline_run(g, passes, n, NULL, NULL, &opt, &d), MT_OK);
    assert_int_equal(opt->nupdates, 1);
    assert_string_equal(opt->nodes[opt->updates[0].target].name, "w");
    /* dce must not drop the update's value although no output reads it. */
    assert_string_equal(opt->nodes[opt->updates[0].value].name, "w.new");
    char *text = mt_graph_print(opt);
    assert_non_null(strstr(text, "update %w <- %w.new\n  output %loss\n"));
    mt_free(text);
    mt_graph_free(opt);
    mt_graph_free(g);
}

static void grad_refuses_a_step_graph_and_points_at_its_first_update(void **state)
{
    (void)state;
    mt_graph *g = parse(sgd_text), *gg = NULL;
    mt_diag d;
    mt_diag_init(&d);
    assert_int_equal(mt_pass_grad(g, NULL, 0, &gg, &d), MT_ERR_ARG);
    assert_null(gg);
    assert_int_equal(d.line, 10);
    assert_int_equal(d.col, 10);
    assert_non_null(strstr(d.msg, "step graph"));
    mt_graph_free(g);
}

static void the_verifier_rejects_an_update_whose_type_changed(void **state)
{
    (void)state;
    mt_graph *g = parse(sgd_text);
    mt_diag d;
    mt_diag_init(&d);
    assert_int_equal(mt_graph_verify(g, &d), MT_OK);
    g->updates[0].value = mt_graph_find(g, "loss"); /* what a broken pass might leave */
    assert_int_equal(mt_graph_verify(g, &d), MT_ERR_INTERNAL);
    assert_non_null(strstr(d.msg, "update of %w"));
    mt_graph_free(g);
}

static void the_builder_makes_state_and_updates(void **state)
{
    (void)state;
    mt_graph *g = mt_graph_new("b");
    int64_t dims[1] = {2};
    mt_type t = mt_type_make(MT_DTYPE_F64, 1, dims);
    int m = mt_state(g, "m", t);
    int x = mt_input(g, "x", t);
    int y = mt_add(g, m, x);
    assert_int_equal(mt_update(g, m, y), 0);
    assert_int_equal(mt_update(g, m, y), -1); /* twice */
    assert_non_null(strstr(mt_graph_diag(g)->msg, "already has an update"));
    mt_graph_free(g);

    g = mt_graph_new("b");
    x = mt_input(g, "x", t);
    assert_int_equal(mt_update(g, x, x), -1);
    assert_non_null(strstr(mt_graph_diag(g)->msg, "not a param or state"));
    mt_graph_free(g);
}

/* rand %k with k = 0 is plain rand; other k give the stream of floor(k), on both backends. */
static const char rand_text[] = "mtir 1\n"
                                "graph r {\n"
                                "  input %k : f32[]\n"
                                "  %plain = rand seed=11 : f32[5,7]\n"
                                "  %at = rand %k seed=11 : f32[5,7]\n"
                                "  output %plain, %at\n"
                                "}\n";

static void run_rand(const char *target, float k, mt_tensor **out)
{
    mt_graph *g = parse(rand_text);
    float kv[1] = {k};
    mt_tensor *tk = vec(0, kv);
    const mt_tensor *leaves[8] = {0};
    leaves[mt_graph_find(g, "k")] = tk;
    mt_diag d;
    mt_diag_init(&d);
    if (!strcmp(target, "interp")) {
        assert_int_equal(mt_interp_run(g, leaves, out, &d), MT_OK);
    } else {
        mt_cpu_program *p = NULL;
        assert_int_equal(mt_cpu_compile(g, &p, &d), MT_OK);
        assert_int_equal(mt_cpu_run(p, leaves, out, &d), MT_OK);
        mt_cpu_free(p);
    }
    mt_tensor_free(tk);
    mt_graph_free(g);
}

static void rand_with_a_step_counter_of_zero_keeps_the_plain_stream(void **state)
{
    (void)state;
    const char *targets[] = {"interp", "cpu"};
    for (int t = 0; t < 2; t++) {
        mt_tensor *out[2];
        run_rand(targets[t], 0.0f, out);
        assert_memory_equal(out[0]->data, out[1]->data, 35 * sizeof(float));
        for (int i = 0; i < 35; i++)
            assert_true(((float *)out[0]->data)[i] == mt_rand_f32(11, (uint64_t)i));
        mt_tensor_free(out[0]);
        mt_tensor_free(out[1]);
    }
}

static void rand_with_a_step_counter_draws_the_stream_of_its_floor(void **state)
{
    (void)state;
    const char *targets[] = {"interp", "cpu"};
    const float ks[] = {3.0f, 3.75f, -2.0f, 16777216.0f};
    const uint64_t streams[] = {3, 3, 0, 16777216};
    for (int t = 0; t < 2; t++)
        for (int j = 0; j < 4; j++) {
            mt_tensor *out[2];
            run_rand(targets[t], ks[j], out);
            for (int i = 0; i < 35; i++)
                assert_true(((float *)out[1]->data)[i] ==
                            mt_rand_f32_at(11, streams[j], (uint64_t)i));
            if (streams[j] != 0)
                assert_memory_not_equal(out[0]->data, out[1]->data, 35 * sizeof(float));
            mt_tensor_free(out[0]);
            mt_tensor_free(out[1]);
        }
}

static void the_stream_of_a_counter_is_its_floor_clamped(void **state)
{
    (void)state;
    assert_true(mt_rand_stream(0.0) == 0);
    assert_true(mt_rand_stream(0.999) == 0);
    assert_true(mt_rand_stream(7.5) == 7);
    assert_true(mt_rand_stream(-3.0) == 0);
    assert_true(mt_rand_stream(0.0 / 0.0) == 0);
    assert_true(mt_rand_stream(1e300) == UINT64_C(1) << 53);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_sgd_step_reads_the_old_weights_and_returns_the_new_ones),
        cmocka_unit_test(a_state_nobody_feeds_starts_at_zero_and_counts_steps),
        cmocka_unit_test(the_simplification_passes_keep_every_update_and_its_name),
        cmocka_unit_test(grad_refuses_a_step_graph_and_points_at_its_first_update),
        cmocka_unit_test(the_verifier_rejects_an_update_whose_type_changed),
        cmocka_unit_test(the_builder_makes_state_and_updates),
        cmocka_unit_test(rand_with_a_step_counter_of_zero_keeps_the_plain_stream),
        cmocka_unit_test(rand_with_a_step_counter_draws_the_stream_of_its_floor),
        cmocka_unit_test(the_stream_of_a_counter_is_its_floor_clamped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
