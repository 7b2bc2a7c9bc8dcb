/* test_module.c - the Module tree (frontend/module.c): named_parameters order and names,
 * train/eval on a subtree, PyTorch's repr, initial values by seed, state_dict and load, and
 * tracing: params declared by dotted path, errors located at the layer that raised them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "frontend/nn.h"
#include "runtime/philox.h"
#include "tests/support/failing_alloc.h"

static mt_type f32(int rank, int64_t d0, int64_t d1)
{
    int64_t dims[2] = {d0, d1};
    return mt_type_make(MT_DTYPE_F32, rank, dims);
}

/* MiniTorch's docs example: p1 on the root, p2 on child a, p3 on b's child c. */
static mt_module *minitorch_tree(void)
{
    mt_module *root = mt_module_new("Module1", NULL);
    mt_module *a = mt_module_add_child(root, "a", mt_module_new("Module2", NULL));
    mt_module *b = mt_module_add_child(root, "b", mt_module_new("Module3", NULL));
    mt_module *c = mt_module_add_child(b, "c", mt_module_new("Module4", NULL));
    assert_non_null(c);
    assert_int_equal(mt_module_add_param(c, "p3", f32(0, 0, 0), 0), 0);
    assert_int_equal(mt_module_add_param(a, "p2", f32(1, 10, 0), 0), 0);
    assert_int_equal(mt_module_add_param(root, "p1", f32(1, 5, 0), 0), 0);
    return root;
}

static void named_parameters_walks_own_params_then_children_with_dotted_names(void **state)
{
    (void)state;
    mt_module *root = minitorch_tree();
    const char *want[] = {"p1", "a.p2", "b.c.p3"};
    assert_int_equal(mt_module_nparams(root), 3);
    for (int i = 0; i < 3; i++) {
        char name[64];
        mt_parameter *p = mt_module_param_at(root, i, name, sizeof name);
        assert_non_null(p);
        assert_string_equal(name, want[i]);
    }
    assert_null(mt_module_param_at(root, 3, NULL, 0));
    /* Relative to a subtree, names start below it. */
    char name[64];
    mt_module_param_at(mt_module_child(root, "b"), 0, name, sizeof name);
    assert_string_equal(name, "c.p3");
    mt_module_free(root);
}

static void layer_params_come_before_later_siblings_as_in_pytorch(void **state)
{
    (void)state;
    const int64_t k[2] = {5, 5}, s[2] = {1, 1}, p[2] = {0, 0};
    mt_module *net = mt_module_new("Net", NULL);
    mt_module_add_child(net, "conv1", mt_nn_conv2d_new(1, 8, k, s, p, 1, MT_DTYPE_F32));
    mt_module *seq = mt_module_add_child(net, "body", mt_nn_sequential_new());
    mt_module_add_child(seq, NULL, mt_nn_linear_new(4, 3, 1, MT_DTYPE_F32));
    mt_module_add_child(seq, NULL, mt_nn_relu_new());
    mt_module_add_child(seq, NULL, mt_nn_linear_new(3, 2, 0, MT_DTYPE_F32));
    mt_module_add_child(net, "fc2", mt_nn_linear_new(2, 2, 1, MT_DTYPE_F32));
    const char *want[] = {"conv1.weight",  "conv1.bias", "body.0.weight", "body.0.bias",
                          "body.2.weight", "fc2.weight", "fc2.bias"};
    assert_int_equal(mt_module_nparams(net), 7);
    for (int i = 0; i < 7; i++) {
        char name[64];
        assert_non_null(mt_module_param_at(net, i, name, sizeof name));
        assert_string_equal(name, want[i]);
    }
    mt_module_free(net);
}

static void bad_or_taken_names_and_adopted_children_are_refused(void **state)
{
    (void)state;
    mt_module *root = minitorch_tree();
    assert_int_equal(mt_module_add_param(root, "p1", f32(0, 0, 0), 0), -1);
    assert_int_equal(mt_module_add_param(root, "a", f32(0, 0, 0), 0), -1); /* a child's name */
    assert_int_equal(mt_module_add_param(root, "x.y", f32(0, 0, 0), 0), -1);
    assert_int_equal(mt_module_add_param(root, "", f32(0, 0, 0), 0), -1);
    assert_null(mt_module_add_child(root, "p1", mt_module_new("M", NULL)));
    assert_null(mt_module_add_child(root, "b", mt_module_new("M", NULL)));
    /* A child that already has a parent stays where it is. */
    assert_null(mt_module_add_child(root, "again", mt_module_child(root, "a")));
    assert_non_null(mt_module_child(root, "a"));
    assert_null(mt_module_new("", NULL));
    assert_int_equal(mt_module_nparams(root), 3);
    mt_module_free(root);
}

static void train_and_eval_set_the_flag_on_the_whole_subtree(void **state)
{
    (void)state;
    mt_module *root = minitorch_tree();
    mt_module *b = mt_module_child(root, "b"), *c = mt_module_child(b, "c");
    mt_module *a = mt_module_child(root, "a");
    assert_true(root->training && a->training && b->training && c->training);
    mt_module_eval(root);
    assert_false(root->training || a->training || b->training || c->training);
    mt_module_train(b);
    assert_true(b->training && c->training);
    assert_false(root->training || a->training);
    mt_module_free(root);
}

static void repr_matches_pytorch_for_nested_modules(void **state)
{
    (void)state;
    mt_module *root = minitorch_tree();
    char *s = mt_module_repr(root);
    assert_string_equal(s,
                        "Module1(\n  (a): Module2()\n  (b): Module3(\n    (c): Module4()\n  )\n)");
    mt_free(s);
    mt_module_free(root);
}

static void repr_matches_pytorch_for_every_layer(void **state)
{
    (void)state;
    /* The text PyTorch 1.13 prints for the same nn.Module. */
    const char *want = "Net(\n"
                       "  (conv1): Conv2d(1, 8, kernel_size=(5, 5), stride=(1, 1))\n"
                       "  (c1): Conv1d(3, 4, kernel_size=(3,), stride=(2,), padding=(1,), "
                       "bias=False)\n"
                       "  (pool): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, "
                       "ceil_mode=False)\n"
                       "  (p2): MaxPool2d(kernel_size=(2, 3), stride=(2, 3), padding=0, "
                       "dilation=1, ceil_mode=False)\n"
                       "  (avg): AvgPool2d(kernel_size=2, stride=2, padding=0)\n"
                       "  (drop): Dropout(p=0.25, inplace=False)\n"
                       "  (seq): Sequential(\n"
                       "    (0): Linear(in_features=3, out_features=4, bias=True)\n"
                       "    (1): ReLU()\n"
                       "    (2): Sigmoid()\n"
                       "    (3): Tanh()\n"
                       "    (4): Softmax(dim=1)\n"
                       "    (5): LogSoftmax(dim=-1)\n"
                       "    (6): Flatten(start_dim=1, end_dim=-1)\n"
                       "  )\n"
                       "  (c2): Conv2d(2, 3, kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), "
                       "bias=False)\n"
                       ")";
    const int64_t k5[2] = {5, 5}, s1[2] = {1, 1}, p0[2] = {0, 0}, k2[2] = {2, 2}, k23[2] = {2, 3},
                  k32[2] = {3, 2}, s21[2] = {2, 1}, p10[2] = {1, 0};
    mt_module *net = mt_module_new("Net", NULL);
    mt_module_add_child(net, "conv1", mt_nn_conv2d_new(1, 8, k5, s1, p0, 1, MT_DTYPE_F32));
    mt_module_add_child(net, "c1", mt_nn_conv1d_new(3, 4, 3, 2, 1, 0, MT_DTYPE_F32));
    mt_module_add_child(net, "pool", mt_nn_maxpool2d_new(k2));
    mt_module_add_child(net, "p2", mt_nn_maxpool2d_new(k23));
    mt_module_add_child(net, "avg", mt_nn_avgpool2d_new(k2));
    mt_module_add_child(net, "drop", mt_nn_dropout_new(0.25, 1));
    mt_module *seq = mt_module_add_child(net, "seq", mt_nn_sequential_new());
    mt_module_add_child(seq, NULL, mt_nn_linear_new(3, 4, 1, MT_DTYPE_F32));
    mt_module_add_child(seq, NULL, mt_nn_relu_new());
    mt_module_add_child(seq, NULL, mt_nn_sigmoid_new());
    mt_module_add_child(seq, NULL, mt_nn_tanh_new());
    mt_module_add_child(seq, NULL, mt_nn_softmax_new(1));
    mt_module_add_child(seq, NULL, mt_nn_logsoftmax_new(-1));
    mt_module_add_child(seq, NULL, mt_nn_flatten_new());
    mt_module_add_child(net, "c2", mt_nn_conv2d_new(2, 3, k32, s21, p10, 0, MT_DTYPE_F32));
    char *s = mt_module_repr(net);
    assert_string_equal(s, want);
    mt_free(s);
    mt_module_free(net);
}

static void init_draws_param_j_from_philox_stream_j_of_the_seed(void **state)
{
    (void)state;
    mt_module *net = mt_module_new("Net", NULL);
    mt_module_add_child(net, "fc1", mt_nn_linear_new(3, 4, 1, MT_DTYPE_F32));
    mt_module_add_child(net, "fc2", mt_nn_linear_new(4, 2, 1, MT_DTYPE_F64));
    mt_module_init(net, 1234);
    for (int j = 0; j < 4; j++) {
        mt_parameter *p = mt_module_param_at(net, j, NULL, 0);
        int64_t n = mt_type_numel(&p->value->type);
        for (int64_t i = 0; i < n; i++) {
            double u = mt_rand_f64_at(1234, (uint64_t)j, (uint64_t)i);
            double want = -p->bound + 2 * p->bound * u;
            if (p->value->type.dtype == MT_DTYPE_F32)
                assert_true(((float *)p->value->data)[i] == (float)want);
            else
                assert_true(((double *)p->value->data)[i] == want);
        }
    }
    mt_module_free(net);
}

static void state_dict_copies_values_and_load_replaces_those_named(void **state)
{
    (void)state;
    mt_module *net = mt_module_new("Net", NULL);
    mt_module_add_child(net, "fc1", mt_nn_linear_new(3, 4, 1, MT_DTYPE_F32));
    mt_module_add_child(net, "fc2", mt_nn_linear_new(4, 2, 1, MT_DTYPE_F32));
    mt_module_init(net, 5);
    mt_tensor_map *sd = NULL;
    mt_diag d;
    mt_diag_init(&d);
    assert_int_equal(mt_module_state_dict(net, &sd, &d), MT_OK);
    assert_int_equal(mt_tensor_map_count(sd), 4);
    assert_string_equal(mt_tensor_map_name(sd, 2), "fc2.weight");

    /* Load into a differently seeded twin: only the params present in the map change. */
    mt_module *twin = mt_module_new("Net", NULL);
    mt_module_add_child(twin, "fc1", mt_nn_linear_new(3, 4, 1, MT_DTYPE_F32));
    mt_module_add_child(twin, "fc2", mt_nn_linear_new(4, 2, 1, MT_DTYPE_F32));
    mt_module_init(twin, 6);
    mt_tensor_map *part = mt_tensor_map_new();
    mt_tensor_map_put(part, "fc1.bias", mt_tensor_clone(mt_tensor_map_get(sd, "fc1.bias")));
    mt_tensor_map_put(part, "unrelated", mt_tensor_new(f32(1, 2, 0)));
    int n = -1;
    assert_int_equal(mt_module_load(twin, part, &n, &d), MT_OK);
    assert_int_equal(n, 1);
    mt_parameter *b = mt_module_param(mt_module_child(twin, "fc1"), "bias");
    assert_memory_equal(b->value->data, mt_tensor_data(mt_tensor_map_get(sd, "fc1.bias")), 16);
    mt_parameter *w = mt_module_param(mt_module_child(twin, "fc1"), "weight");
    assert_true(memcmp(w->value->data, mt_tensor_data(mt_tensor_map_get(sd, "fc1.weight")), 48));

    /* A wrong type is an error naming the param, and nothing changes. */
    mt_tensor_map_put(part, "fc1.weight", mt_tensor_new(f32(2, 4, 3)));
    mt_tensor_map_put(part, "fc1.bias", mt_tensor_new(f32(1, 4, 0)));
    assert_int_equal(mt_module_load(twin, part, &n, &d), MT_ERR_TYPE);
    assert_string_equal(d.msg,
                        "load: fc1.weight is f32[3,4] in the model but f32[4,3] in the file");
    assert_memory_equal(b->value->data, mt_tensor_data(mt_tensor_map_get(sd, "fc1.bias")), 16);
    mt_tensor_map_free(part);
    mt_tensor_map_free(sd);
    mt_module_free(twin);
    mt_module_free(net);
}

/* ---- tracing --------------------------------------------------------------------------- */

static int net_forward(mt_module *m, mt_graph *g, const int *in, int nin)
{
    (void)nin;
    int h = mt_relu(g, mt_module_call(mt_module_child(m, "fc1"), g, in, 1));
    return mt_module_call(mt_module_child(m, "fc2"), g, &h, 1);
}

static mt_module *net_of(int64_t in, int64_t hidden, int64_t fc2_in, int64_t out)
{
    mt_module *net = mt_module_new("Net", net_forward);
    mt_module_add_child(net, "fc1", mt_nn_linear_new(in, hidden, 1, MT_DTYPE_F32));
    mt_module_add_child(net, "fc2", mt_nn_linear_new(fc2_in, out, 1, MT_DTYPE_F32));
    return net;
}

static void trace_declares_params_by_dotted_path_before_the_forward(void **state)
{
    (void)state;
    mt_module *net = net_of(10, 120, 120, 10);
    mt_graph *g = mt_graph_new("net");
    int x = mt_input(g, "x", f32(2, 64, 10));
    int y = mt_module_trace(net, g, &x, 1);
    assert_true(y > 0);
    const char *names[] = {"x", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"};
    for (int i = 0; i < 5; i++) {
        assert_string_equal(mt_graph_node_name(g, i), names[i]);
        assert_int_equal(mt_graph_node_op(g, i), i ? MT_OP_PARAM : MT_OP_INPUT);
    }
    assert_int_equal(mt_graph_node_type(g, y)->dims[1], 10);
    /* Calling the model again on the same graph shares the weights. */
    int y2 = mt_module_call(net, g, &x, 1);
    assert_true(y2 > y);
    assert_int_equal(mt_graph_find(g, "fc1.weight"), 1);
    mt_set_outputs(g, &y2, 1);
    mt_diag d;
    mt_diag_init(&d);
    assert_int_equal(mt_graph_verify(g, &d), MT_OK);
    mt_graph_free(g);
    mt_module_free(net);
}

static void a_shape_error_inside_a_layer_names_the_layer_path(void **state)
{
    (void)state;
    mt_module *net = net_of(10, 120, 84, 10);
    mt_graph *g = mt_graph_new("net");
    int x = mt_input(g, "x", f32(2, 64, 10));
    assert_int_equal(mt_module_trace(net, g, &x, 1), -1);
    assert_int_equal(mt_graph_diag(g)->status, MT_ERR_SHAPE);
    assert_string_equal(mt_graph_diag(g)->msg,
                        "fc2: matmul: inner dims of f32[64,120] and f32[84,10] differ");
    mt_graph_free(g);
    mt_module_free(net);

    /* Deeper: a Sequential inside a model. */
    mt_module *outer = mt_nn_sequential_new();
    mt_module *body = mt_module_add_child(outer, "body", mt_nn_sequential_new());
    mt_module_add_child(body, NULL, mt_nn_linear_new(4, 3, 1, MT_DTYPE_F32));
    mt_module_add_child(body, NULL, mt_nn_relu_new());
    mt_module_add_child(body, NULL, mt_nn_linear_new(5, 2, 1, MT_DTYPE_F32));
    g = mt_graph_new("seq");
    x = mt_input(g, "x", f32(2, 7, 4));
    assert_int_equal(mt_module_trace(outer, g, &x, 1), -1);
    assert_string_equal(mt_graph_diag(g)->msg,
                        "body.2: matmul: inner dims of f32[7,3] and f32[5,2] differ");
    mt_graph_free(g);
    mt_module_free(outer);
}

static void an_error_in_the_traced_modules_own_forward_has_no_prefix(void **state)
{
    (void)state;
    mt_module *lin = mt_nn_linear_new(4, 3, 1, MT_DTYPE_F32);
    mt_graph *g = mt_graph_new("one");
    int x = mt_input(g, "x", f32(2, 2, 5));
    assert_int_equal(mt_module_trace(lin, g, &x, 1), -1);
    assert_string_equal(mt_graph_diag(g)->msg,
                        "matmul: inner dims of f32[2,5] and f32[4,3] differ");
    mt_graph_free(g);
    mt_module_free(lin);
}

static void forwards_without_a_trace_or_a_forward_are_errors(void **state)
{
    (void)state;
    mt_module *lin = mt_nn_linear_new(4, 3, 1, MT_DTYPE_F32);
    mt_graph *g = mt_graph_new("g");
    int x = mt_input(g, "x", f32(2, 2, 4));
    assert_int_equal(mt_module_call(lin, g, &x, 1), -1);
    assert_string_equal(mt_graph_diag(g)->msg,
                        "parameter 'weight' is not declared in graph 'g' (trace the model "
                        "with mt_module_trace)");
    mt_graph_free(g);

    mt_module *root = minitorch_tree(); /* containers without a forward, as in MiniTorch */
    g = mt_graph_new("g");
    x = mt_input(g, "x", f32(2, 2, 4));
    assert_int_equal(mt_module_trace(root, g, &x, 1), -1);
    assert_string_equal(mt_graph_diag(g)->msg, "Module1 has no forward");
    mt_graph_free(g);

    g = mt_graph_new("g");
    x = mt_input(g, "x", f32(2, 2, 4));
    mt_module_declare(lin, g);
    int two[2] = {x, x};
    assert_int_equal(mt_module_call(lin, g, two, 2), -1);
    assert_string_equal(mt_graph_diag(g)->msg, "Linear takes 1 input, got 2");
    mt_graph_free(g);
    mt_module_free(root);
    mt_module_free(lin);
}

static void building_and_tracing_a_model_survives_every_allocation_failure(void **state)
{
    (void)state;
    int failures = 0;
    for (long n = 1;; n++) {
        mt_test_alloc_fail_nth(n);
        mt_module *net = mt_module_new("Net", net_forward);
        mt_module_add_child(net, "fc1", mt_nn_linear_new(3, 4, 1, MT_DTYPE_F32));
        mt_module_add_child(net, "fc2", mt_nn_linear_new(4, 2, 1, MT_DTYPE_F32));
        char *s = mt_module_repr(net);
        mt_tensor_map *sd = NULL;
        mt_module_state_dict(net, &sd, NULL);
        mt_graph *g = mt_graph_new("g");
        int x = g ? mt_input(g, "x", f32(2, 5, 3)) : -1;
        int y = net && g ? mt_module_trace(net, g, &x, 1) : -1;
        mt_graph_free(g);
        mt_tensor_map_free(sd);
        mt_free(s);
        mt_module_free(net);
        mt_test_alloc_restore();
        assert_int_equal(mt_test_alloc_live(), 0);
        if (!mt_test_alloc_failed()) {
            assert_true(y >= 0);
            break;
        }
        failures++;
    }
    assert_true(failures > 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(named_parameters_walks_own_params_then_children_with_dotted_names),
        cmocka_unit_test(layer_params_come_before_later_siblings_as_in_pytorch),
        cmocka_unit_test(bad_or_taken_names_and_adopted_children_are_refused),
        cmocka_unit_test(train_and_eval_set_the_flag_on_the_whole_subtree),
        cmocka_unit_test(repr_matches_pytorch_for_nested_modules),
        cmocka_unit_test(repr_matches_pytorch_for_every_layer),
        cmocka_unit_test(init_draws_param_j_from_philox_stream_j_of_the_seed),
        cmocka_unit_test(state_dict_copies_values_and_load_replaces_those_named),
        cmocka_unit_test(trace_declares_params_by_dotted_path_before_the_forward),
        cmocka_unit_test(a_shape_error_inside_a_layer_names_the_layer_path),
        cmocka_unit_test(an_error_in_the_traced_modules_own_forward_has_no_prefix),
        cmocka_unit_test(forwards_without_a_trace_or_a_forward_are_errors),
        cmocka_unit_test(building_and_tracing_a_model_survives_every_allocation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
