/* test_models.c - the built-in models of `mtc train` (frontend/models.c): each builds for a
 * few sizes, verifies, has the graph layout models.h promises, turns into a step graph through
 * mt_pass_step (SGD and Adam), and trains: a few SGD steps on one batch lower its loss.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "frontend/models.h"
#include "passes/optim.h"
#include "runtime/interp.h"
#include "runtime/philox.h"

typedef struct size_case {
    const char *model;
    int64_t batch, features, classes, hidden;
} size_case;

static const size_case cases[] = {
    {"minitorch", 10, 2, 1, 0}, {"minitorch", 3, 2, 1, 100}, {"minitorch", 1, 5, 1, 3},
    {"mlp", 32, 784, 10, 0},    {"mlp", 4, 6, 3, 5},         {"lenet", 16, 784, 10, 0},
    {"lenet", 2, 256, 3, 0},
};

static int64_t dim(const mt_graph *g, int id, int k) { return mt_graph_node_type(g, id)->dims[k]; }

static void check_layout(const size_case *c, const mt_graph *g, const mt_tensor_map *init)
{
    assert_string_equal(mt_graph_name(g), c->model);
    int x = mt_graph_find(g, "x"), y = mt_graph_find(g, "y");
    assert_int_equal(x, 0);
    assert_int_equal(y, 1);
    assert_int_equal(dim(g, x, 0), c->batch);
    assert_int_equal(dim(g, y, 0), c->batch);
    assert_int_equal(dim(g, y, 1), c->classes);
    if (strcmp(c->model, "lenet") == 0) {
        assert_int_equal(mt_graph_node_type(g, x)->rank, 4);
        assert_int_equal(dim(g, x, 1), 1);
        assert_int_equal(dim(g, x, 2) * dim(g, x, 3), c->features);
    } else {
        assert_int_equal(dim(g, x, 1), c->features);
    }
    assert_int_equal(g->noutputs, 2);
    assert_string_equal(mt_graph_node_name(g, g->outputs[0]), "loss");
    assert_int_equal(mt_graph_node_type(g, g->outputs[0])->rank, 0);
    const char *second = strcmp(c->model, "minitorch") == 0 ? "pred" : "logits";
    assert_string_equal(mt_graph_node_name(g, g->outputs[1]), second);
    assert_true(mt_type_equal(mt_graph_node_type(g, g->outputs[1]), mt_graph_node_type(g, y)));
    /* Every param has its initial value under its own name, with its type, in graph order. */
    int nparams = 0;
    for (int id = 0; id < g->nnodes; id++) {
        if (mt_graph_node_op(g, id) != MT_OP_PARAM)
            continue;
        const mt_tensor *t = mt_tensor_map_get(init, mt_graph_node_name(g, id));
        assert_non_null(t);
        assert_string_equal(mt_tensor_map_name(init, nparams), mt_graph_node_name(g, id));
        assert_true(mt_type_equal(mt_tensor_type(t), mt_graph_node_type(g, id)));
        nparams++;
    }
    assert_int_equal(nparams, mt_tensor_map_count(init));
}

static void every_model_builds_verifies_and_steps(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const size_case *c = &cases[i];
        mt_graph *g = NULL, *sg = NULL;
        mt_tensor_map *init = NULL;
        mt_diag d;
        mt_diag_init(&d);
        if (mt_model_build(c->model, c->batch, c->features, c->classes, c->hidden, 1, &g, &init,
                           &d) != MT_OK)
            fail_msg("%s: %s", c->model, d.msg);
        assert_int_equal(mt_graph_verify(g, &d), MT_OK);
        check_layout(c, g, init);
        for (int k = 0; k < 2; k++) {
            mt_optim o;
            mt_optim_defaults(&o, k ? MT_OPTIM_ADAM : MT_OPTIM_SGD);
            o.momentum = k ? 0 : 0.9;
            if (mt_pass_step(g, &o, NULL, 0, &sg, &d) != MT_OK)
                fail_msg("%s step: %s", c->model, d.msg);
            assert_int_equal(mt_graph_verify(sg, &d), MT_OK);
            assert_int_equal(sg->noutputs, 2);
            /* SGD with momentum: every param and its buffer; Adam: every param, m, v and adam.t. */
            int np = mt_tensor_map_count(init);
            assert_int_equal(sg->nupdates, k ? 3 * np + 1 : 2 * np);
            mt_graph_free(sg);
        }
        mt_graph_free(g);
        mt_tensor_map_free(init);
    }
}

static void model_graphs_print_and_parse_back_to_the_same_text(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mt_graph *g = NULL, *back = NULL;
        mt_tensor_map *init = NULL;
        mt_diag d;
        mt_diag_init(&d);
        assert_int_equal(mt_model_build(cases[i].model, cases[i].batch, cases[i].features,
                                        cases[i].classes, cases[i].hidden, 0, &g, &init, &d),
                         MT_OK);
        char *text = mt_graph_print(g);
        assert_int_equal(mt_graph_parse(text, strlen(text), "model.mt", &back, &d), MT_OK);
        char *again = mt_graph_print(back);
        assert_string_equal(text, again);
        mt_free(text);
        mt_free(again);
        mt_graph_free(back);
        mt_graph_free(g);
        mt_tensor_map_free(init);
    }
}

static void the_same_seed_gives_the_same_weights_and_another_seed_others(void **state)
{
    (void)state;
    mt_graph *g = NULL;
    mt_tensor_map *a = NULL, *b = NULL, *c = NULL;
    assert_int_equal(mt_model_build("mlp", 2, 12, 3, 8, 7, &g, &a, NULL), MT_OK);
    mt_graph_free(g);
    assert_int_equal(mt_model_build("mlp", 5, 12, 3, 8, 7, &g, &b, NULL), MT_OK);
    mt_graph_free(g);
    assert_int_equal(mt_model_build("mlp", 2, 12, 3, 8, 8, &g, &c, NULL), MT_OK);
    mt_graph_free(g);
    for (int i = 0; i < mt_tensor_map_count(a); i++) {
        const mt_tensor *ta = mt_tensor_map_at(a, i), *tb = mt_tensor_map_at(b, i),
                        *tc = mt_tensor_map_at(c, i);
        assert_memory_equal(mt_tensor_data(ta), mt_tensor_data(tb), mt_tensor_nbytes(ta));
        assert_true(memcmp(mt_tensor_data(ta), mt_tensor_data(tc), mt_tensor_nbytes(ta)) != 0);
    }
    mt_tensor_map_free(a);
    mt_tensor_map_free(b);
    mt_tensor_map_free(c);
}

static void bad_sizes_and_names_are_errors_that_name_the_model(void **state)
{
    (void)state;
    struct {
        const char *model;
        int64_t batch, features, classes, hidden;
        const char *msg;
    } bad[] = {
        {"resnet", 4, 784, 10, 0, "unknown model 'resnet'"},
        {"lenet", 4, 783, 10, 0, "lenet: reads each sample as a square image"},
        {"lenet", 4, 144, 10, 0, "lenet: reads each sample as a square image"},
        {"minitorch", 4, 2, 2, 0, "minitorch: labels must be one column"},
        {"mlp", 4, 784, 1, 0, "mlp: needs one-hot labels"},
        {"mlp", 4, 784, 10, 1, "mlp: hidden size must be at least 2"},
        {"mlp", 0, 784, 10, 0, "mlp: bad batch size 0"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mt_graph *g = (mt_graph *)1;
        mt_tensor_map *init = (mt_tensor_map *)1;
        mt_diag d;
        mt_diag_init(&d);
        assert_int_equal(mt_model_build(bad[i].model, bad[i].batch, bad[i].features, bad[i].classes,
                                        bad[i].hidden, 0, &g, &init, &d),
                         MT_ERR_ARG);
        assert_null(g);
        assert_null(init);
        if (strncmp(d.msg, bad[i].msg, strlen(bad[i].msg)) != 0)
            fail_msg("got '%s', want '%s...'", d.msg, bad[i].msg);
    }
}

/* Runs step graph `sg` `steps` times on one batch, feeding its updates back; returns the first
 * and last loss. */
static void train_on_one_batch(const mt_graph *sg, const mt_tensor_map *init, mt_tensor *x,
                               mt_tensor *y, int steps, double *first, double *last)
{
    mt_tensor **held = mt_calloc((size_t)sg->nnodes, sizeof *held);
    const mt_tensor **leaves = mt_calloc((size_t)sg->nnodes, sizeof *leaves);
    for (int i = 0; i < mt_tensor_map_count(init); i++)
        held[mt_graph_find(sg, mt_tensor_map_name(init, i))] =
            mt_tensor_clone(mt_tensor_map_at(init, i));
    mt_diag d;
    mt_diag_init(&d);
    for (int s = 0; s < steps; s++) {
        for (int id = 0; id < sg->nnodes; id++)
            leaves[id] = held[id];
        leaves[mt_graph_find(sg, "x")] = x;
        leaves[mt_graph_find(sg, "y")] = y;
        mt_tensor *outs[2], **upd = mt_calloc((size_t)sg->nupdates, sizeof *upd);
        if (mt_interp_step(sg, leaves, outs, upd, &d) != MT_OK)
            fail_msg("%s", d.msg);
        double loss = *(const float *)mt_tensor_data(outs[0]);
        assert_true(isfinite(loss));
        if (s == 0)
            *first = loss;
        *last = loss;
        for (int u = 0; u < sg->nupdates; u++) {
            mt_tensor_free(held[sg->updates[u].target]);
            held[sg->updates[u].target] = upd[u];
        }
        mt_tensor_free(outs[0]);
        mt_tensor_free(outs[1]);
        mt_free(upd);
    }
    for (int id = 0; id < sg->nnodes; id++)
        mt_tensor_free(held[id]);
    mt_free(held);
    mt_free(leaves);
}

static void a_few_sgd_steps_on_one_batch_lower_every_models_loss(void **state)
{
    (void)state;
    const size_case small[] = {
        {"minitorch", 8, 2, 1, 10}, {"mlp", 8, 16, 3, 16}, {"lenet", 4, 256, 3, 0}};
    for (int i = 0; i < 3; i++) {
        const size_case *c = &small[i];
        mt_graph *g = NULL, *sg = NULL;
        mt_tensor_map *init = NULL;
        mt_diag d;
        mt_diag_init(&d);
        assert_int_equal(mt_model_build(c->model, c->batch, c->features, c->classes, c->hidden, 3,
                                        &g, &init, &d),
                         MT_OK);
        mt_optim o;
        mt_optim_defaults(&o, MT_OPTIM_SGD);
        o.lr = 0.1;
        assert_int_equal(mt_pass_step(g, &o, NULL, 0, &sg, &d), MT_OK);
        mt_tensor *x = mt_tensor_new(*mt_graph_node_type(g, mt_graph_find(g, "x")));
        mt_tensor *y = mt_tensor_new(*mt_graph_node_type(g, mt_graph_find(g, "y")));
        float *xv = mt_tensor_data(x), *yv = mt_tensor_data(y);
        for (int64_t k = 0; k < c->batch * c->features; k++)
            xv[k] = mt_rand_f32(99, (uint64_t)k);
        for (int64_t b = 0; b < c->batch; b++)
            yv[b * c->classes + (c->classes == 1 ? 0 : b % c->classes)] =
                c->classes == 1 ? (float)(b % 2) : 1.0f;
        double first = 0, last = 0;
        train_on_one_batch(sg, init, x, y, 20, &first, &last);
        printf("%s: loss %.4f -> %.4f after 20 steps\n", c->model, first, last);
        assert_true(last < first);
        mt_tensor_free(x);
        mt_tensor_free(y);
        mt_graph_free(sg);
        mt_graph_free(g);
        mt_tensor_map_free(init);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_model_builds_verifies_and_steps),
        cmocka_unit_test(model_graphs_print_and_parse_back_to_the_same_text),
        cmocka_unit_test(the_same_seed_gives_the_same_weights_and_another_seed_others),
        cmocka_unit_test(bad_sizes_and_names_are_errors_that_name_the_model),
        cmocka_unit_test(a_few_sgd_steps_on_one_batch_lower_every_models_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
