/* test_nn.c - the layers and losses of frontend/nn.c against PyTorch, plus what PyTorch cannot
 * check bit for bit: initialisation bounds and seeds, dropout's masks, accuracy counts.
 *
 * tests/torch/gen_nn.py ran each layer in PyTorch on seeded data and saved its output and the
 * gradient of sum(out * r) with respect to the input and every param (tests/torch/nn/). Here
 * the same layer is built with the C API, given the same params (mt_module_load), traced,
 * differentiated with mt_pass_grad and run in the interpreter. Losses are checked the same way
 * with the loss itself as the scalar. Keep the case table in step with the script's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "frontend/nn.h"
#include "passes/optim.h"
#include "passes/pass.h"
#include "runtime/interp.h"
#include "runtime/philox.h"

/* |got - want| <= rtol * max(|want|, 1e-2 * the largest |want| of the tensor). */
#define F64_RTOL 1e-10
#define F32_RTOL 1e-4

static double at(const mt_tensor *t, int64_t i)
{
    return t->type.dtype == MT_DTYPE_F32 ? ((const float *)t->data)[i]
                                         : ((const double *)t->data)[i];
}

static void expect_close(const char *cname, const char *what, const mt_tensor *got,
                         const mt_tensor *want)
{
    if (!want)
        fail_msg("%s: the reference has no %s", cname, what);
    if (!mt_type_equal(&got->type, &want->type)) {
        char a[MT_TYPE_STR_MAX], b[MT_TYPE_STR_MAX];
        fail_msg("%s: %s is %s, want %s", cname, what, mt_type_str(&got->type, a, sizeof a),
                 mt_type_str(&want->type, b, sizeof b));
    }
    int64_t n = mt_type_numel(&want->type);
    double scale = 0, rtol = want->type.dtype == MT_DTYPE_F32 ? F32_RTOL : F64_RTOL;
    for (int64_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(at(want, i)));
    for (int64_t i = 0; i < n; i++) {
        double g = at(got, i), w = at(want, i);
        if (!(fabs(g - w) <= rtol * fmax(fabs(w), 1e-2 * scale)))
            fail_msg("%s: %s[%lld] = %.17g, PyTorch %.17g", cname, what, (long long)i, g, w);
    }
}

static mt_tensor_map *reference(const char *cname)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/torch/nn/%s.safetensors", MT_SOURCE_DIR, cname);
    mt_tensor_map *m = NULL;
    mt_diag d;
    mt_diag_init(&d);
    if (mt_safetensors_load(path, &m, &d) != MT_OK)
        fail_msg("%s", d.msg);
    return m;
}

/* Differentiates g (first output the scalar) with respect to `wrt`, runs it on the tensors of
 * `ref` named like g's leaves, and compares every output after the first with ref's tensor of
 * the same name ("out", "grad.x", ...). */
static void run_and_compare(const char *cname, const mt_graph *g, const int *wrt, int nwrt,
                            const mt_tensor_map *ref)
{
    mt_graph *gg = NULL;
    mt_diag d;
    mt_diag_init(&d);
    if (mt_pass_grad(g, wrt, nwrt, &gg, &d) != MT_OK)
        fail_msg("%s: grad: %s", cname, d.msg);
    const mt_tensor **leaves = mt_calloc((size_t)gg->nnodes, sizeof *leaves);
    for (int id = 0; id < gg->nnodes; id++) {
        mt_op op = mt_graph_node_op(gg, id);
        if (op == MT_OP_INPUT || op == MT_OP_PARAM) {
            leaves[id] = mt_tensor_map_get(ref, mt_graph_node_name(gg, id));
            if (!leaves[id])
                fail_msg("%s: no tensor for %%%s", cname, mt_graph_node_name(gg, id));
        }
    }
    mt_tensor **outs = mt_calloc((size_t)gg->noutputs, sizeof *outs);
    if (mt_interp_run(gg, leaves, outs, &d) != MT_OK)
        fail_msg("%s: run: %s", cname, d.msg);
    for (int i = 1; i < gg->noutputs; i++) {
        const char *name = mt_graph_node_name(gg, gg->outputs[i]);
        expect_close(cname, name, outs[i], mt_tensor_map_get(ref, name));
    }
    assert_int_equal(gg->noutputs, 2 + nwrt);
    for (int i = 0; i < gg->noutputs; i++)
        mt_tensor_free(outs[i]);
    mt_free(outs);
    mt_free(leaves);
    mt_graph_free(gg);
}

/* ---- layers against PyTorch ------------------------------------------------------------ */

static mt_module *make_layer(const char *name)
{
    const int64_t k32[2] = {3, 2}, s21[2] = {2, 1}, p10[2] = {1, 0}, k5[2] = {5, 5}, s1[2] = {1, 1},
                  p0[2] = {0, 0}, k3[2] = {3, 3}, p1[2] = {1, 1}, k2[2] = {2, 2}, k23[2] = {2, 3};
    const mt_dtype f64 = MT_DTYPE_F64, f32 = MT_DTYPE_F32;
#define IS(s) (strcmp(name, s) == 0)
    /* The settings of LAYERS in gen_nn.py, case by case. */
    mt_module *m = IS("linear")             ? mt_nn_linear_new(4, 5, 1, f64)
                   : IS("linear_batched")   ? mt_nn_linear_new(4, 2, 1, f64)
                   : IS("linear_nobias")    ? mt_nn_linear_new(4, 2, 0, f64)
                   : IS("linear_f32")       ? mt_nn_linear_new(6, 3, 1, f32)
                   : IS("conv1d")           ? mt_nn_conv1d_new(3, 4, 3, 2, 1, 1, f64)
                   : IS("conv1d_nobias")    ? mt_nn_conv1d_new(2, 3, 4, 1, 0, 0, f64)
                   : IS("conv2d")           ? mt_nn_conv2d_new(3, 4, k32, s21, p10, 1, f64)
                   : IS("conv2d_lenet")     ? mt_nn_conv2d_new(1, 2, k5, s1, p0, 1, f64)
                   : IS("conv2d_f32")       ? mt_nn_conv2d_new(2, 3, k3, s1, p1, 1, f32)
                   : IS("relu")             ? mt_nn_relu_new()
                   : IS("sigmoid")          ? mt_nn_sigmoid_new()
                   : IS("tanh")             ? mt_nn_tanh_new()
                   : IS("softmax")          ? mt_nn_softmax_new(1)
                   : IS("softmax_last")     ? mt_nn_softmax_new(-1)
                   : IS("logsoftmax")       ? mt_nn_logsoftmax_new(1)
                   : IS("logsoftmax_first") ? mt_nn_logsoftmax_new(0)
                   : IS("flatten")          ? mt_nn_flatten_new()
                   : IS("avgpool2d")        ? mt_nn_avgpool2d_new(k2)
                   : IS("maxpool2d")        ? mt_nn_maxpool2d_new(k23)
                                            : NULL;
#undef IS
    if (m)
        return m;
    fail_msg("no layer case %s", name);
    return NULL;
}

static const char *const layer_cases[] = {
    "linear",           "linear_batched", "linear_nobias", "linear_f32",   "conv1d",
    "conv1d_nobias",    "conv2d",         "conv2d_lenet",  "conv2d_f32",   "relu",
    "sigmoid",          "tanh",           "softmax",       "softmax_last", "logsoftmax",
    "logsoftmax_first", "flatten",        "avgpool2d",     "maxpool2d",
};

static void every_layer_matches_pytorch_in_value_and_gradient(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof layer_cases / sizeof layer_cases[0]; c++) {
        const char *cname = layer_cases[c];
        mt_tensor_map *ref = reference(cname);
        mt_module *m = make_layer(cname);
        int nloaded = -1;
        mt_diag d;
        mt_diag_init(&d);
        if (mt_module_load(m, ref, &nloaded, &d) != MT_OK)
            fail_msg("%s: %s", cname, d.msg);
        assert_int_equal(nloaded, m->nparams);

        mt_graph *g = mt_graph_new(cname);
        int wrt[3];
        wrt[0] = mt_input(g, "x", *mt_tensor_type(mt_tensor_map_get(ref, "x")));
        int out = mt_module_trace(m, g, wrt, 1);
        if (out < 0)
            fail_msg("%s: %s", cname, mt_graph_diag(g)->msg);
        for (int i = 0; i < m->nparams; i++)
            wrt[1 + i] = m->params[i].id;
        out = mt_name(g, out, "out");
        int r = mt_input(g, "r", *mt_graph_node_type(g, out));
        int outs[2] = {mt_sum_all(g, mt_mul(g, out, r)), out};
        mt_set_outputs(g, outs, 2);
        assert_int_equal(mt_graph_diag(g)->status, MT_OK);
        run_and_compare(cname, g, wrt, 1 + m->nparams, ref);
        mt_graph_free(g);
        mt_module_free(m);
        mt_tensor_map_free(ref);
    }
}

static void every_loss_matches_pytorch_in_value_and_gradient(void **state)
{
    (void)state;
    struct {
        const char *name;
        int (*loss)(mt_graph *, int, int);
    } cases[] = {
        {"cross_entropy", mt_nn_cross_entropy},
        {"nll", mt_nn_nll},
        {"bce", mt_nn_bce},
        {"bce_logits", mt_nn_bce_logits},
        {"mse", mt_nn_mse},
        {"cross_entropy_f32", mt_nn_cross_entropy},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        mt_tensor_map *ref = reference(cases[c].name);
        mt_graph *g = mt_graph_new(cases[c].name);
        int x = mt_input(g, "x", *mt_tensor_type(mt_tensor_map_get(ref, "x")));
        int y = mt_input(g, "y", *mt_tensor_type(mt_tensor_map_get(ref, "y")));
        int loss = cases[c].loss(g, x, y);
        assert_int_equal(mt_graph_node_type(g, loss)->rank, 0);
        int outs[2] = {
            loss, mt_name(g, mt_mul(g, loss, mt_const(g, 1, *mt_graph_node_type(g, loss))), "out")};
        mt_set_outputs(g, outs, 2);
        assert_int_equal(mt_graph_diag(g)->status, MT_OK);
        run_and_compare(cases[c].name, g, &x, 1, ref);
        mt_graph_free(g);
        mt_tensor_map_free(ref);
    }
}

static void bce_stays_finite_at_probabilities_of_zero_and_one(void **state)
{
    (void)state;
    int64_t dims[2] = {2, 1};
    mt_type t = mt_type_make(MT_DTYPE_F32, 2, dims);
    mt_graph *g = mt_graph_new("bce");
    int p = mt_input(g, "p", t), y = mt_input(g, "y", t);
    int loss = mt_nn_bce(g, p, y);
    mt_set_outputs(g, &loss, 1);
    mt_tensor *pt = mt_tensor_new(t), *yt = mt_tensor_new(t), *out = NULL;
    float *pv = mt_tensor_data(pt), *yv = mt_tensor_data(yt);
    pv[0] = 1; /* right and certain: loss 0 */
    yv[0] = 1;
    pv[1] = 1; /* wrong and certain: log clamped at -100, as nn.BCELoss */
    yv[1] = 0;
    const mt_tensor *leaves[2] = {pt, yt};
    mt_diag d;
    mt_diag_init(&d);
    assert_int_equal(mt_interp_run(g, leaves, &out, &d), MT_OK);
    assert_float_equal(*(float *)mt_tensor_data(out), 50.0, 1e-5);
    mt_tensor_free(out);
    mt_tensor_free(pt);
    mt_tensor_free(yt);
    mt_graph_free(g);
}

/* ---- initialisation -------------------------------------------------------------------- */

static void check_bounds(const mt_parameter *p, double bound)
{
    int64_t n = mt_type_numel(&p->value->type);
    double lo = 0, hi = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = at(p->value, i);
        assert_true(v >= -bound && v <= bound);
        lo = fmin(lo, v);
        hi = fmax(hi, v);
    }
    /* Uniform over the whole range, not a narrower one. */
    if (n >= 40)
        assert_true(lo < -0.8 * bound && hi > 0.8 * bound);
}

static void layers_start_uniform_within_one_over_sqrt_fan_in(void **state)
{
    (void)state;
    const int64_t k32[2] = {3, 2}, s1[2] = {1, 1}, p0[2] = {0, 0};
    mt_module *lin = mt_nn_linear_new(7, 50, 1, MT_DTYPE_F32);
    mt_module *c1 = mt_nn_conv1d_new(3, 40, 5, 1, 0, 1, MT_DTYPE_F64);
    mt_module *c2 = mt_nn_conv2d_new(3, 50, k32, s1, p0, 1, MT_DTYPE_F32);
    double b_lin = 1 / sqrt(7.0), b_c1 = 1 / sqrt(15.0), b_c2 = 1 / sqrt(18.0);
    assert_true(fabs(lin->params[0].bound - b_lin) < 1e-15);
    assert_true(fabs(c1->params[0].bound - b_c1) < 1e-15);
    assert_true(fabs(c2->params[1].bound - b_c2) < 1e-15);
    check_bounds(&lin->params[0], b_lin);
    check_bounds(&lin->params[1], b_lin);
    check_bounds(&c1->params[0], b_c1);
    check_bounds(&c1->params[1], b_c1);
    check_bounds(&c2->params[0], b_c2);
    check_bounds(&c2->params[1], b_c2);
    assert_int_equal(lin->params[0].value->type.dims[0], 7); /* [in, out] */
    assert_int_equal(c2->params[0].value->type.dims[3], 2);  /* [O, C, KH, KW] */
    mt_module_free(lin);
    mt_module_free(c1);
    mt_module_free(c2);
}

static void init_is_reproducible_by_seed_and_differs_across_seeds(void **state)
{
    (void)state;
    mt_module *a = mt_nn_linear_new(5, 6, 1, MT_DTYPE_F32);
    mt_module *b = mt_nn_linear_new(5, 6, 1, MT_DTYPE_F32);
    size_t nb = mt_tensor_nbytes(a->params[0].value);
    /* Constructors draw with seed 0. */
    assert_memory_equal(a->params[0].value->data, b->params[0].value->data, nb);
    mt_module_init(a, 42);
    assert_true(memcmp(a->params[0].value->data, b->params[0].value->data, nb) != 0);
    mt_module_init(b, 42);
    assert_memory_equal(a->params[0].value->data, b->params[0].value->data, nb);
    assert_memory_equal(a->params[1].value->data, b->params[1].value->data, 6 * sizeof(float));
    /* Weight and bias use different streams: their first draws differ in unit terms. */
    double w0 = at(a->params[0].value, 0) / a->params[0].bound;
    double b0 = at(a->params[1].value, 0) / a->params[1].bound;
    assert_true(fabs(w0 - b0) > 1e-6);
    mt_module_free(a);
    mt_module_free(b);
}

/* ---- dropout --------------------------------------------------------------------------- */

/* Runs dropout(p) on ones [100, 100] with %step = `step`; returns the output. */
static mt_tensor *dropout_ones(double p, double step, int training, int *has_step)
{
    int64_t dims[2] = {100, 100};
    mt_type t = mt_type_make(MT_DTYPE_F32, 2, dims);
    mt_module *drop = mt_nn_dropout_new(p, 7);
    if (!training)
        mt_module_eval(drop);
    mt_graph *g = mt_graph_new("drop");
    int x = mt_input(g, "x", t);
    int y = mt_module_trace(drop, g, &x, 1);
    assert_true(y >= 0);
    if (!training)
        assert_int_equal(y, x); /* the identity: no node at all */
    else
        y = mt_add(g, y, mt_const(g, 0, mt_type_make(MT_DTYPE_F32, 0, NULL)));
    mt_set_outputs(g, &y, 1);
    int k = mt_graph_find(g, "step");
    *has_step = k >= 0;
    mt_tensor *xt = mt_tensor_new(t), *kt = mt_tensor_new(mt_type_make(MT_DTYPE_F32, 0, NULL));
    for (int i = 0; i < 10000; i++)
        ((float *)xt->data)[i] = 1;
    *(float *)kt->data = (float)step;
    const mt_tensor **leaves = mt_calloc((size_t)g->nnodes, sizeof *leaves);
    leaves[x] = xt;
    if (k >= 0)
        leaves[k] = kt;
    mt_tensor *out = NULL;
    mt_diag d;
    mt_diag_init(&d);
    if (mt_interp_run(g, leaves, &out, &d) != MT_OK)
        fail_msg("%s", d.msg);
    mt_free(leaves);
    mt_tensor_free(xt);
    mt_tensor_free(kt);
    mt_graph_free(g);
    mt_module_free(drop);
    return out;
}

static void dropout_in_eval_mode_is_the_identity(void **state)
{
    (void)state;
    int has_step;
    mt_tensor *out = dropout_ones(0.5, 0, 0, &has_step);
    assert_false(has_step);
    for (int i = 0; i < 10000; i++)
        assert_true(((float *)out->data)[i] == 1);
    mt_tensor_free(out);
}

static void dropout_in_training_zeroes_about_p_and_scales_the_rest(void **state)
{
    (void)state;
    int has_step;
    mt_tensor *out = dropout_ones(0.3, 0, 1, &has_step);
    assert_true(has_step);
    int zeros = 0;
    for (int i = 0; i < 10000; i++) {
        float v = ((float *)out->data)[i];
        if (v == 0)
            zeros++;
        else
            assert_true(v == (float)(1 / (1 - 0.3)));
        /* The mask is rand's stream `step` of the layer's seed (runtime/philox.h). */
        assert_true((v != 0) == (mt_rand_f32_at(7, 0, (uint64_t)i) < (float)(1 - 0.3)));
    }
    /* Binomial(10000, 0.3): mean 3000, sd 46; five sd either side. */
    printf("dropout p=0.3 zeroed %d of 10000\n", zeros);
    assert_true(zeros > 3000 - 230 && zeros < 3000 + 230);
    mt_tensor_free(out);
}

static void dropout_draws_a_new_mask_for_each_step_and_the_same_for_the_same_step(void **state)
{
    (void)state;
    int has_step;
    mt_tensor *a = dropout_ones(0.5, 3, 1, &has_step), *b = dropout_ones(0.5, 3, 1, &has_step);
    mt_tensor *c = dropout_ones(0.5, 4, 1, &has_step);
    assert_memory_equal(a->data, b->data, a->nbytes);
    int differ = 0;
    for (int i = 0; i < 10000; i++)
        differ += ((float *)a->data)[i] != ((float *)c->data)[i];
    assert_true(differ > 4000 && differ < 6000); /* independent masks differ in half the places */
    mt_tensor_free(a);
    mt_tensor_free(b);
    mt_tensor_free(c);
}

static void dropout_at_p_zero_and_one(void **state)
{
    (void)state;
    int has_step;
    mt_tensor *none = dropout_ones(0, 0, 1, &has_step), *all = dropout_ones(1, 0, 1, &has_step);
    for (int i = 0; i < 10000; i++) {
        assert_true(((float *)none->data)[i] == 1);
        assert_true(((float *)all->data)[i] == 0);
    }
    mt_tensor_free(none);
    mt_tensor_free(all);
    assert_null(mt_nn_dropout_new(1.5, 0));
    assert_null(mt_nn_dropout_new(-0.1, 0));
}

static void two_dropouts_share_one_step_counter_that_the_step_graph_advances(void **state)
{
    (void)state;
    int64_t dims[2] = {4, 3};
    mt_type t = mt_type_make(MT_DTYPE_F32, 2, dims);
    mt_graph *g = mt_graph_new("net");
    int x = mt_input(g, "x", t), w = mt_param(g, "w", t);
    int h = mt_nn_dropout(g, mt_mul(g, x, w), 0.5, 1, 1);
    h = mt_nn_dropout(g, h, 0.25, 2, 1);
    int loss = mt_sum_all(g, h);
    mt_set_outputs(g, &loss, 1);
    assert_int_equal(mt_graph_diag(g)->status, MT_OK);
    int nstate = 0;
    for (int id = 0; id < g->nnodes; id++)
        nstate += mt_graph_node_op(g, id) == MT_OP_STATE;
    assert_int_equal(nstate, 1);
    mt_optim o;
    mt_optim_defaults(&o, MT_OPTIM_SGD);
    mt_graph *sg = NULL;
    mt_diag d;
    mt_diag_init(&d);
    assert_int_equal(mt_pass_step(g, &o, NULL, 0, &sg, &d), MT_OK);
    int k = mt_graph_find(sg, "step");
    assert_non_null(mt_graph_update_of(sg, k));
    mt_graph_free(sg);

    /* A %step that is not a rank-0 state of the dtype is an error. */
    mt_graph *bad = mt_graph_new("bad");
    x = mt_input(bad, "step", t);
    assert_int_equal(mt_nn_dropout(bad, x, 0.5, 1, 1), -1);
    assert_string_equal(mt_graph_diag(bad)->msg,
                        "dropout: %step must be a rank-0 f32 state (the step counter)");
    mt_graph_free(bad);
    mt_graph_free(g);
}

/* ---- accuracy -------------------------------------------------------------------------- */

static mt_tensor *matrix(int64_t r, int64_t c, const float *v)
{
    int64_t dims[2] = {r, c};
    mt_tensor *t = mt_tensor_new(mt_type_make(MT_DTYPE_F32, 2, dims));
    memcpy(t->data, v, (size_t)(r * c) * sizeof *v);
    return t;
}

static void accuracy_counts_argmax_hits_and_thresholded_binary_hits(void **state)
{
    (void)state;
    const float s[] = {0.1f, 0.7f, 0.2f, 2, 1, 0, -1, -1, 3};
    const float y[] = {0, 1, 0, 0, 1, 0, 0, 0, 1};
    mt_tensor *st = matrix(3, 3, s), *yt = matrix(3, 3, y);
    assert_int_equal(mt_nn_count_correct(st, yt, 0), 2);
    const float p[] = {0.9f, 0.2f, 0.6f, 0.4f}, yb[] = {1, 0, 0, 0};
    mt_tensor *pt = matrix(4, 1, p), *ybt = matrix(4, 1, yb);
    assert_int_equal(mt_nn_count_correct(pt, ybt, 0.5), 3);
    assert_int_equal(mt_nn_count_correct(pt, yt, 0.5), -1);
    mt_tensor_free(st);
    mt_tensor_free(yt);
    mt_tensor_free(pt);
    mt_tensor_free(ybt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_layer_matches_pytorch_in_value_and_gradient),
        cmocka_unit_test(every_loss_matches_pytorch_in_value_and_gradient),
        cmocka_unit_test(bce_stays_finite_at_probabilities_of_zero_and_one),
        cmocka_unit_test(layers_start_uniform_within_one_over_sqrt_fan_in),
        cmocka_unit_test(init_is_reproducible_by_seed_and_differs_across_seeds),
        cmocka_unit_test(dropout_in_eval_mode_is_the_identity),
        cmocka_unit_test(dropout_in_training_zeroes_about_p_and_scales_the_rest),
        cmocka_unit_test(dropout_draws_a_new_mask_for_each_step_and_the_same_for_the_same_step),
        cmocka_unit_test(dropout_at_p_zero_and_one),
        cmocka_unit_test(two_dropouts_share_one_step_counter_that_the_step_graph_advances),
        cmocka_unit_test(accuracy_counts_argmax_hits_and_thresholded_binary_hits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
