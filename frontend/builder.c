/* builder.c - the C builder API: one call per op of SPEC section 2.
 *
 * Each call checks shapes through mt_graph_add and returns a value id, or -1 with the error
 * kept on the graph (mt_graph_diag). After the first error every call returns -1, so a model
 * can be built in straight-line code and checked once at the end.
 */
#include <string.h>

#include "ir/graph.h"

static int node(mt_graph *g, mt_op op, const int *in, int nin, const mt_attrs *a,
                const mt_type *declared)
{
    if (!g)
        return -1;
    return mt_graph_add(g, op, in, nin, a, NULL, declared, NULL, 0, 0, NULL);
}

static int unary(mt_graph *g, mt_op op, int x) { return node(g, op, &x, 1, NULL, NULL); }

static int binary(mt_graph *g, mt_op op, int a, int b)
{
    int in[2] = {a, b};
    return node(g, op, in, 2, NULL, NULL);
}

static int set_list(mt_graph *g, mt_ilist *l, int n, const int64_t *v, const char *what)
{
    if (n < 0 || n > 2 * MT_MAX_RANK || (n > 0 && !v)) {
        mt_diag_set(&g->diag, MT_ERR_ARG, "%s: bad list of %d entries", what, n);
        return 0;
    }
    l->n = n;
    for (int i = 0; i < n; i++)
        l->v[i] = v[i];
    return 1;
}

int mt_input(mt_graph *g, const char *name, mt_type type)
{
    return g ? mt_graph_add_leaf(g, MT_OP_INPUT, name, type, NULL, 0, 0, NULL) : -1;
}

int mt_param(mt_graph *g, const char *name, mt_type type)
{
    return g ? mt_graph_add_leaf(g, MT_OP_PARAM, name, type, NULL, 0, 0, NULL) : -1;
}

int mt_state(mt_graph *g, const char *name, mt_type type)
{
    return g ? mt_graph_add_leaf(g, MT_OP_STATE, name, type, NULL, 0, 0, NULL) : -1;
}

int mt_update(mt_graph *g, int target, int value)
{
    if (!g || mt_graph_add_update(g, target, value, NULL, 0, 0, NULL) != MT_OK)
        return -1;
    return 0;
}

int mt_set_outputs(mt_graph *g, const int *ids, int n)
{
    if (!g || mt_graph_set_outputs(g, ids, n, NULL) != MT_OK)
        return -1;
    return 0;
}

int mt_name(mt_graph *g, int id, const char *name)
{
    if (!g || g->diag.status != MT_OK)
        return -1;
    return mt_graph_rename(g, id, name, NULL) == MT_OK ? id : -1;
}

int mt_neg(mt_graph *g, int x) { return unary(g, MT_OP_NEG, x); }
int mt_exp(mt_graph *g, int x) { return unary(g, MT_OP_EXP, x); }
int mt_log(mt_graph *g, int x) { return unary(g, MT_OP_LOG, x); }
int mt_relu(mt_graph *g, int x) { return unary(g, MT_OP_RELU, x); }
int mt_sigmoid(mt_graph *g, int x) { return unary(g, MT_OP_SIGMOID, x); }
int mt_inv(mt_graph *g, int x) { return unary(g, MT_OP_INV, x); }
int mt_tanh(mt_graph *g, int x) { return unary(g, MT_OP_TANH, x); }
int mt_sqrt(mt_graph *g, int x) { return unary(g, MT_OP_SQRT, x); }
int mt_abs(mt_graph *g, int x) { return unary(g, MT_OP_ABS, x); }

int mt_add(mt_graph *g, int a, int b) { return binary(g, MT_OP_ADD, a, b); }
int mt_sub(mt_graph *g, int a, int b) { return binary(g, MT_OP_SUB, a, b); }
int mt_mul(mt_graph *g, int a, int b) { return binary(g, MT_OP_MUL, a, b); }
int mt_div(mt_graph *g, int a, int b) { return binary(g, MT_OP_DIV, a, b); }
int mt_maximum(mt_graph *g, int a, int b) { return binary(g, MT_OP_MAXIMUM, a, b); }
int mt_minimum(mt_graph *g, int a, int b) { return binary(g, MT_OP_MINIMUM, a, b); }
int mt_pow(mt_graph *g, int a, int b) { return binary(g, MT_OP_POW, a, b); }
int mt_lt(mt_graph *g, int a, int b) { return binary(g, MT_OP_LT, a, b); }
int mt_gt(mt_graph *g, int a, int b) { return binary(g, MT_OP_GT, a, b); }
int mt_eq(mt_graph *g, int a, int b) { return binary(g, MT_OP_EQ, a, b); }

int mt_where(mt_graph *g, int c, int a, int b)
{
    int in[3] = {c, a, b};
    return node(g, MT_OP_WHERE, in, 3, NULL, NULL);
}

static int reduce(mt_graph *g, mt_op op, int x, int64_t dim)
{
    mt_attrs a;
    mt_attrs_init(&a);
    a.dim = dim;
    return node(g, op, &x, 1, &a, NULL);
}

int mt_sum(mt_graph *g, int x, int dim) { return reduce(g, MT_OP_SUM, x, dim); }
int mt_max(mt_graph *g, int x, int dim) { return reduce(g, MT_OP_MAX, x, dim); }
int mt_mean(mt_graph *g, int x, int dim) { return reduce(g, MT_OP_MEAN, x, dim); }
int mt_sum_all(mt_graph *g, int x) { return reduce(g, MT_OP_SUM, x, MT_DIM_ALL); }
int mt_max_all(mt_graph *g, int x) { return reduce(g, MT_OP_MAX, x, MT_DIM_ALL); }
int mt_mean_all(mt_graph *g, int x) { return reduce(g, MT_OP_MEAN, x, MT_DIM_ALL); }

int mt_reshape(mt_graph *g, int x, int n, const int64_t *shape)
{
    mt_attrs a;
    mt_attrs_init(&a);
    if (!g || !set_list(g, &a.shape, n, shape, "reshape"))
        return -1;
    return node(g, MT_OP_RESHAPE, &x, 1, &a, NULL);
}

int mt_permute(mt_graph *g, int x, int n, const int64_t *perm)
{
    mt_attrs a;
    mt_attrs_init(&a);
    if (!g || !set_list(g, &a.perm, n, perm, "permute"))
        return -1;
    return node(g, MT_OP_PERMUTE, &x, 1, &a, NULL);
}

int mt_expand(mt_graph *g, int x, int n, const int64_t *shape)
{
    mt_attrs a;
    mt_attrs_init(&a);
    if (!g || !set_list(g, &a.shape, n, shape, "expand"))
        return -1;
    return node(g, MT_OP_EXPAND, &x, 1, &a, NULL);
}

int mt_slice(mt_graph *g, int x, int n, const int64_t *start, const int64_t *end)
{
    mt_attrs a;
    mt_attrs_init(&a);
    if (!g || !set_list(g, &a.start, n, start, "slice") || !set_list(g, &a.end, n, end, "slice"))
        return -1;
    return node(g, MT_OP_SLICE, &x, 1, &a, NULL);
}

int mt_pad(mt_graph *g, int x, int n, const int64_t *pads)
{
    mt_attrs a;
    mt_attrs_init(&a);
    if (!g || !set_list(g, &a.pads, n, pads, "pad"))
        return -1;
    return node(g, MT_OP_PAD, &x, 1, &a, NULL);
}

int mt_concat(mt_graph *g, int n, const int *xs, int dim)
{
    mt_attrs a;
    mt_attrs_init(&a);
    a.dim = dim;
    if (!g || n < 1 || !xs) {
        if (g)
            mt_diag_set(&g->diag, MT_ERR_ARG, "concat: needs at least one operand");
        return -1;
    }
    return node(g, MT_OP_CONCAT, xs, n, &a, NULL);
}

int mt_matmul(mt_graph *g, int a, int b) { return binary(g, MT_OP_MATMUL, a, b); }

int mt_conv1d(mt_graph *g, int x, int w, int stride, int padding)
{
    mt_attrs a;
    mt_attrs_init(&a);
    a.stride[0] = stride;
    a.padding[0] = padding;
    int in[2] = {x, w};
    return node(g, MT_OP_CONV1D, in, 2, &a, NULL);
}

int mt_conv2d(mt_graph *g, int x, int w, const int64_t stride[2], const int64_t padding[2])
{
    mt_attrs a;
    mt_attrs_init(&a);
    for (int i = 0; i < 2; i++) {
        a.stride[i] = stride ? stride[i] : 1;
        a.padding[i] = padding ? padding[i] : 0;
    }
    int in[2] = {x, w};
    return node(g, MT_OP_CONV2D, in, 2, &a, NULL);
}

static int pool(mt_graph *g, mt_op op, int x, const int64_t kernel[2])
{
    mt_attrs a;
    mt_attrs_init(&a);
    if (!kernel) {
        if (g)
            mt_diag_set(&g->diag, MT_ERR_ARG, "%s: kernel is required", mt_op_name(op));
        return -1;
    }
    a.kernel[0] = kernel[0];
    a.kernel[1] = kernel[1];
    return node(g, op, &x, 1, &a, NULL);
}

int mt_avgpool2d(mt_graph *g, int x, const int64_t kernel[2])
{
    return pool(g, MT_OP_AVGPOOL2D, x, kernel);
}

int mt_maxpool2d(mt_graph *g, int x, const int64_t kernel[2])
{
    return pool(g, MT_OP_MAXPOOL2D, x, kernel);
}

int mt_const(mt_graph *g, double value, mt_type type)
{
    mt_attrs a;
    mt_attrs_init(&a);
    a.value = value;
    return node(g, MT_OP_CONST, NULL, 0, &a, &type);
}

int mt_rand_at(mt_graph *g, uint64_t seed, mt_type type, int k)
{
    mt_attrs a;
    mt_attrs_init(&a);
    if (seed > (uint64_t)INT64_MAX) {
        if (g)
            mt_diag_set(&g->diag, MT_ERR_ARG, "rand: seed must be below 2^63");
        return -1;
    }
    a.seed = (int64_t)seed;
    return node(g, MT_OP_RAND, &k, k >= 0 ? 1 : 0, &a, &type);
}

int mt_rand(mt_graph *g, uint64_t seed, mt_type type) { return mt_rand_at(g, seed, type, -1); }
