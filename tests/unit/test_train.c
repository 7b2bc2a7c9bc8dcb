/* test_train.c - the training loop (frontend/train.c) through its C call, mt_train_run.
 *
 * The main check follows PyTorch: tests/torch/gen_optim.py trained the model of
 * tests/torch/optim/mlp.mt for 20 batches of 8 with torch.optim in four settings. Here those
 * 20 batches, concatenated into one data file of 160 samples, are one epoch of mtc's training
 * loop in order (shuffle off), from the same initial params (--load), and the params after it
 * must match PyTorch's to a relative error below 1e-4. The other tests pin down what the loop
 * measures (accuracy over a partial last test batch), what it reports (callbacks, the epoch and
 * batch and node of a loss that is not finite) and that every allocation failure is clean.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/train.h"
#include "ir/alloc.h"
#include "ir/graph.h"
#include "runtime/tensor.h"
#include "tests/support/failing_alloc.h"

#define STEPS 20
#define BATCH 8

static void source_path(char *buf, size_t size, const char *rel)
{
    snprintf(buf, size, "%s/%s", MT_SOURCE_DIR, rel);
}

static mt_tensor_map *load_tensors(const char *rel)
{
    char path[1024];
    source_path(path, sizeof path, rel);
    mt_diag d;
    mt_diag_init(&d);
    mt_tensor_map *m = NULL;
    if (mt_safetensors_load(path, &m, &d) != MT_OK)
        fail_msg("%s", d.msg);
    return m;
}

/* The batches x.S and y.S of the references, concatenated into x [160,4] and y [160,3], saved
 * to a fresh file whose path goes into `path`. */
static void write_concatenated_data(char *path, size_t size)
{
    mt_tensor_map *src = load_tensors("tests/torch/optim/data.safetensors");
    mt_tensor_map *out = mt_tensor_map_new();
    const char *names[2] = {"x", "y"};
    int64_t widths[2] = {4, 3};
    for (int k = 0; k < 2; k++) {
        int64_t dims[2] = {STEPS * BATCH, widths[k]};
        mt_tensor *t = mt_tensor_new(mt_type_make(MT_DTYPE_F32, 2, dims));
        size_t part = (size_t)(BATCH * widths[k]) * sizeof(float);
        for (int s = 0; s < STEPS; s++) {
            char n[16];
            snprintf(n, sizeof n, "%s.%d", names[k], s);
            const mt_tensor *b = mt_tensor_map_get(src, n);
            assert_non_null(b);
            assert_int_equal(b->nbytes, part);
            memcpy((char *)t->data + (size_t)s * part, b->data, part);
        }
        assert_int_equal(mt_tensor_map_put(out, names[k], t), MT_OK);
    }
    snprintf(path, size, "/tmp/mtc_test_train_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    mt_diag d;
    mt_diag_init(&d);
    assert_int_equal(mt_safetensors_save(path, out, &d), MT_OK);
    mt_tensor_map_free(out);
    mt_tensor_map_free(src);
}

/* Largest |got - want| / max(|want|, 1e-3) over the elements. */
static double rel_err(const mt_tensor *got, const mt_tensor *want)
{
    double worst = 0;
    int64_t n = mt_type_numel(&want->type);
    for (int64_t i = 0; i < n; i++) {
        double a = ((const float *)got->data)[i], b = ((const float *)want->data)[i];
        double e = fabs(a - b) / fmax(fabs(b), 1e-3);
        worst = e > worst ? e : worst;
    }
    return worst;
}

static void follow_torch(const char *target, const char *name, const mt_optim *optim)
{
    char model[1024], init[1024], data[64], rel[256];
    source_path(model, sizeof model, "tests/torch/optim/mlp.mt");
    source_path(init, sizeof init, "tests/torch/optim/data.safetensors");
    write_concatenated_data(data, sizeof data);
    mt_train_options o;
    mt_train_defaults(&o);
    o.model = model;
    o.data = data;
    o.load = init; /* its w1, b1, w2, b2; the batches x.S, y.S in it are ignored */
    o.epochs = 1;
    o.shuffle = 0;
    o.optim = *optim;
    o.target = target;
    mt_train_result r;
    mt_diag d;
    mt_diag_init(&d);
    if (mt_train_run(&o, &r, &d) != MT_OK)
        fail_msg("%s", d.msg);
    unlink(data);
    assert_int_equal(r.nepochs, 1);
    assert_int_equal(r.info.batch, BATCH);
    assert_int_equal(r.info.nbatches, STEPS);
    snprintf(rel, sizeof rel, "tests/torch/optim/%s.safetensors", name);
    mt_tensor_map *want = load_tensors(rel);
    double worst = 0, mean = 0;
    const char *params[] = {"w1", "b1", "w2", "b2"};
    for (int i = 0; i < 4; i++) {
        const mt_tensor *got = mt_tensor_map_get(r.params, params[i]);
        assert_non_null(got);
        double e = rel_err(got, mt_tensor_map_get(want, params[i]));
        worst = e > worst ? e : worst;
    }
    for (int s = 0; s < STEPS; s++) {
        char n[16];
        snprintf(n, sizeof n, "loss.%d", s);
        mean += ((const float *)mt_tensor_map_get(want, n)->data)[0] / STEPS;
    }
    double loss_err = fabs(r.epochs[0].loss - mean) / mean;
    printf("%s on %s: params after %d steps within %.3g, mean loss within %.3g\n", name, target,
           STEPS, worst, loss_err);
    assert_true(worst < 1e-4);
    assert_true(loss_err < 1e-4);
    /* The checkpoint holds the optimiser's state too. */
    if (optim->kind == MT_OPTIM_ADAM)
        assert_non_null(mt_tensor_map_get(r.params, "adam.m.w1"));
    else if (optim->momentum > 0)
        assert_non_null(mt_tensor_map_get(r.params, "sgd.mom.b2"));
    mt_tensor_map_free(want);
    mt_train_result_fini(&r);
}

static void training_in_order_follows_torch_optim_for_20_steps(void **state)
{
    (void)state;
    mt_optim o;
    mt_optim_defaults(&o, MT_OPTIM_SGD);
    o.lr = 0.1;
    follow_torch("cpu", "sgd", &o);
    follow_torch("interp", "sgd", &o);
    o.lr = 0.05;
    o.momentum = 0.9;
    o.weight_decay = 0.01;
    follow_torch("cpu", "sgd_momentum", &o);
    mt_optim_defaults(&o, MT_OPTIM_ADAM);
    o.lr = 0.01;
    follow_torch("cpu", "adam", &o);
    o.lr = 0.02;
    o.beta1 = 0.8;
    o.beta2 = 0.99;
    o.eps = 1e-6;
    o.weight_decay = 0.05;
    follow_torch("cpu", "adam_decay", &o);
}

/* ---- a tiny model built in C --------------------------------------------------------------- */

/* logits = x @ w for x : [4,2], w : [2,1]; the loss is the mean squared error against y. With
 * w = [1, -1] the model says "1" exactly where x1 > x2. */
static mt_graph *tiny_model(void)
{
    mt_graph *g = mt_graph_new("tiny");
    int64_t xd[2] = {4, 2}, yd[2] = {4, 1}, wd[2] = {2, 1};
    int x = mt_input(g, "x", mt_type_make(MT_DTYPE_F32, 2, xd));
    int y = mt_input(g, "y", mt_type_make(MT_DTYPE_F32, 2, yd));
    int w = mt_param(g, "w", mt_type_make(MT_DTYPE_F32, 2, wd));
    int z = mt_name(g, mt_matmul(g, x, w), "logits");
    int e = mt_sub(g, z, y);
    int loss = mt_name(g, mt_mean_all(g, mt_mul(g, e, e)), "loss");
    int outs[2] = {loss, z};
    mt_set_outputs(g, outs, 2);
    assert_int_equal(mt_graph_diag(g)->status, MT_OK);
    return g;
}

static mt_tensor *matrix(int64_t rows, int64_t cols, const float *v)
{
    int64_t dims[2] = {rows, cols};
    mt_tensor *t = mt_tensor_new(mt_type_make(MT_DTYPE_F32, 2, dims));
    memcpy(t->data, v, t->nbytes);
    return t;
}

/* 8 training points and 7 test points (one batch of 4 and a partial one of 3). The model with
 * w = [1, -1] gets 6 of 8 training points and 5 of 7 test points right. */
static mt_dataset *tiny_data(void)
{
    const float x[16] = {2, 1, 1, 2, 3, 0, 0, 3, 5, 4, 4, 5, 1, 0, 0, 1};
    const float y[8] = {1, 0, 1, 0, 1, 1, 1, 1}; /* rows 5 and 7 wrong */
    const float xt[14] = {2, 1, 1, 2, 3, 0, 0, 3, 5, 4, 4, 5, 1, 0};
    const float yt[7] = {1, 0, 1, 0, 0, 0, 0}; /* rows 4 and 6 wrong; 6 is in the last batch */
    mt_dataset *ds = mt_calloc(1, sizeof *ds);
    ds->name = mt_strdup("tiny");
    ds->tensors = mt_tensor_map_new();
    mt_tensor_map_put(ds->tensors, "x", matrix(8, 2, x));
    mt_tensor_map_put(ds->tensors, "y", matrix(8, 1, y));
    mt_tensor_map_put(ds->tensors, "x_test", matrix(7, 2, xt));
    mt_tensor_map_put(ds->tensors, "y_test", matrix(7, 1, yt));
    ds->x = mt_tensor_map_get(ds->tensors, "x");
    ds->y = mt_tensor_map_get(ds->tensors, "y");
    ds->x_test = mt_tensor_map_get(ds->tensors, "x_test");
    ds->y_test = mt_tensor_map_get(ds->tensors, "y_test");
    ds->n = 8;
    ds->n_test = 7;
    return ds;
}

typedef struct counts {
    int starts, batches, epochs;
} counts;

static void count_start(void *ctx, const mt_train_info *info)
{
    counts *c = ctx;
    c->starts++;
    assert_int_equal(info->nbatches, 2);
    assert_int_equal(info->test, 7);
    assert_true(info->has_accuracy);
}
static void count_batch(void *ctx, const mt_train_progress *p)
{
    counts *c = ctx;
    c->batches++;
    assert_int_equal(p->batch, (c->batches - 1) % 2 + 1);
}
static void count_epoch(void *ctx, const mt_train_epoch *e, int epochs)
{
    counts *c = ctx;
    c->epochs++;
    assert_int_equal(e->epoch, c->epochs);
    assert_int_equal(epochs, 3);
}

static void accuracy_counts_every_test_sample_of_a_partial_last_batch(void **state)
{
    (void)state;
    mt_graph *g = tiny_model();
    mt_dataset *ds = tiny_data();
    mt_tensor_map *init = mt_tensor_map_new();
    const float w[2] = {1, -1};
    mt_tensor_map_put(init, "w", matrix(2, 1, w));
    mt_train_options o;
    mt_train_defaults(&o);
    o.loss = g;
    o.init = init;
    o.dataset = ds;
    o.epochs = 3;
    o.optim.lr = 0; /* the params stay w, so the counts above hold every epoch */
    counts c = {0};
    o.callbacks = (mt_train_callbacks){count_start, count_batch, count_epoch, &c};
    const char *targets[2] = {"cpu", "interp"};
    for (int k = 0; k < 2; k++) {
        memset(&c, 0, sizeof c);
        o.target = targets[k];
        mt_train_result r;
        mt_diag d;
        mt_diag_init(&d);
        if (mt_train_run(&o, &r, &d) != MT_OK)
            fail_msg("%s", d.msg);
        assert_int_equal(c.starts, 1);
        assert_int_equal(c.batches, 6);
        assert_int_equal(c.epochs, 3);
        assert_int_equal(r.nepochs, 3);
        for (int e = 0; e < 3; e++) {
            assert_true(fabs(r.epochs[e].train_acc - 6.0 / 8) < 1e-12);
            assert_true(fabs(r.epochs[e].test_acc - 5.0 / 7) < 1e-12);
        }
        mt_train_result_fini(&r);
    }
    mt_tensor_map_free(init);
    mt_dataset_free(ds);
    mt_graph_free(g);
}

static void a_loss_that_is_not_finite_names_epoch_batch_and_node(void **state)
{
    (void)state;
    mt_graph *g = tiny_model();
    mt_dataset *ds = tiny_data();
    mt_train_options o;
    mt_train_defaults(&o);
    o.loss = g;
    o.dataset = ds;
    o.epochs = 5;
    o.optim.lr = 1e6; /* diverges: the squared error overflows f32 within a few steps */
    o.shuffle = 0;
    mt_train_result r;
    mt_diag d;
    mt_diag_init(&d);
    assert_int_equal(mt_train_run(&o, &r, &d), MT_ERR_ARG);
    printf("%s\n", d.msg);
    assert_non_null(strstr(d.msg, "model 'tiny': training stopped at epoch "));
    assert_non_null(strstr(d.msg, "the first value that is not finite is %"));
    assert_true(d.node >= 0);
    assert_null(r.params);
    mt_train_result_fini(&r);
    mt_dataset_free(ds);
    mt_graph_free(g);
}

static void every_allocation_failure_is_a_clean_error(void **state)
{
    (void)state;
    mt_graph *g = tiny_model();
    mt_dataset *ds = tiny_data();
    mt_train_options o;
    mt_train_defaults(&o);
    o.loss = g;
    o.dataset = ds;
    o.epochs = 2;
    o.target = "interp";
    mt_train_result r;
    mt_diag d;
    mt_diag_init(&d);
    mt_test_alloc_fail_nth(0);
    assert_int_equal(mt_train_run(&o, &r, &d), MT_OK);
    mt_train_result_fini(&r);
    mt_test_alloc_restore();
    long calls = mt_test_alloc_calls();
    for (long n = 1; n <= calls; n++) {
        mt_diag_init(&d);
        mt_test_alloc_fail_nth(n);
        mt_status st = mt_train_run(&o, &r, &d);
        mt_train_result_fini(&r);
        mt_diag_fini(&d);
        mt_test_alloc_restore();
        if (mt_test_alloc_failed())
            assert_int_not_equal(st, MT_OK);
        assert_int_equal(mt_test_alloc_live(), 0);
    }
    printf("walked %ld allocations\n", calls);
    mt_dataset_free(ds);
    mt_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(training_in_order_follows_torch_optim_for_20_steps),
        cmocka_unit_test(accuracy_counts_every_test_sample_of_a_partial_last_batch),
        cmocka_unit_test(a_loss_that_is_not_finite_names_epoch_batch_and_node),
        cmocka_unit_test(every_allocation_failure_is_a_clean_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
