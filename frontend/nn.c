/* nn.c - torch.nn's layers, activations and losses as MTIR, through the builder.
 *
 * Each layer is a module (module.h) whose forward calls one function of this file; the
 * functions are plain builder code, so a model written by hand and a traced model give the same
 * graph. Contract and layouts in nn.h.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/nn.h"

/* Every layer's settings; each layer reads the fields it needs. */
typedef struct nn_cfg {
    int64_t in, out;
    int rank; /* conv: 1 or 2 spatial axes */
    int64_t kernel[2], stride[2], padding[2];
    int bias;
    int dim;
    double p;
    uint64_t seed;
} nn_cfg;

static const nn_cfg *cfg(const mt_module *m) { return m->data; }

static mt_dtype dtype_of(mt_graph *g, int x) { return mt_graph_node_type(g, x)->dtype; }

static int scalar(mt_graph *g, double v, mt_dtype dt)
{
    return mt_const(g, v, mt_type_make(dt, 0, NULL));
}

/* 1 when x is a value of g; else records an error naming `what`. */
static int is_value(mt_graph *g, int x, const char *what)
{
    if (!g || g->diag.status != MT_OK)
        return 0;
    if (x < 0 || x >= g->nnodes) {
        mt_diag_set(&g->diag, MT_ERR_ARG, "%s: operand is not a value", what);
        return 0;
    }
    return 1;
}

/* ---- functions ------------------------------------------------------------------------- */

int mt_nn_linear(mt_graph *g, int x, int w, int b)
{
    int y = mt_matmul(g, x, w);
    return b >= 0 ? mt_add(g, y, b) : y;
}

/* Adds bias [O] to y [N, O, ...] through a reshape to [1, O, 1...]. */
static int add_channel_bias(mt_graph *g, int y, int b)
{
    if (b < 0 || y < 0)
        return y;
    int rank = mt_graph_node_type(g, y)->rank;
    int64_t shape[MT_MAX_RANK] = {1, -1, 1, 1, 1, 1};
    return mt_add(g, y, mt_reshape(g, b, rank, shape));
}

int mt_nn_conv1d(mt_graph *g, int x, int w, int b, int64_t stride, int64_t padding)
{
    if (stride > INT32_MAX || padding > INT32_MAX)
        return g  ? mt_diag_set(&g->diag, MT_ERR_ARG, "conv1d: stride or padding too large"),
               -1 : -1;
    return add_channel_bias(g, mt_conv1d(g, x, w, (int)stride, (int)padding), b);
}

int mt_nn_conv2d(mt_graph *g, int x, int w, int b, const int64_t stride[2],
                 const int64_t padding[2])
{
    return add_channel_bias(g, mt_conv2d(g, x, w, stride, padding), b);
}

int mt_nn_softmax(mt_graph *g, int x, int dim)
{
    int s = mt_sub(g, x, mt_max(g, x, dim));
    int e = mt_exp(g, s);
    return mt_div(g, e, mt_sum(g, e, dim));
}

int mt_nn_logsoftmax(mt_graph *g, int x, int dim)
{
    int s = mt_sub(g, x, mt_max(g, x, dim));
    return mt_sub(g, s, mt_log(g, mt_sum(g, mt_exp(g, s), dim)));
}

int mt_nn_flatten(mt_graph *g, int x)
{
    if (!is_value(g, x, "flatten"))
        return -1;
    const mt_type *t = mt_graph_node_type(g, x);
    if (t->rank < 1)
        return mt_diag_set(&g->diag, MT_ERR_SHAPE, "flatten: needs rank >= 1, got rank 0"), -1;
    int64_t shape[2] = {t->dims[0], -1};
    return mt_reshape(g, x, 2, shape);
}

int mt_nn_step_counter(mt_graph *g, mt_dtype dt)
{
    if (!g || g->diag.status != MT_OK)
        return -1;
    int k = mt_graph_find(g, "step");
    if (k < 0)
        return mt_state(g, "step", mt_type_make(dt, 0, NULL));
    const mt_type *t = mt_graph_node_type(g, k);
    if (mt_graph_node_op(g, k) != MT_OP_STATE || t->rank != 0 || t->dtype != dt)
        return mt_diag_set(&g->diag, MT_ERR_ARG,
                           "dropout: %%step must be a rank-0 %s state (the step counter)",
                           mt_dtype_name(dt)),
               -1;
    return k;
}

int mt_nn_dropout(mt_graph *g, int x, double p, uint64_t seed, int training)
{
    if (!is_value(g, x, "dropout"))
        return -1;
    if (!(p >= 0 && p <= 1))
        return mt_diag_set(&g->diag, MT_ERR_ARG, "dropout: p must lie in [0, 1], got %g", p), -1;
    if (!training || p == 0)
        return x;
    mt_type t = *mt_graph_node_type(g, x);
    if (p == 1) /* nothing is kept; 1 / (1 - p) would turn the zeros into NaN */
        return mt_mul(g, x, scalar(g, 0, t.dtype));
    int k = mt_nn_step_counter(g, t.dtype);
    int keep = mt_lt(g, mt_rand_at(g, seed, t, k), scalar(g, 1 - p, t.dtype));
    return mt_mul(g, mt_mul(g, x, keep), scalar(g, 1 / (1 - p), t.dtype));
}

/* ---- losses ---------------------------------------------------------------------------- */

int mt_nn_nll(mt_graph *g, int logp, int y)
{
    return mt_neg(g, mt_mean_all(g, mt_sum(g, mt_mul(g, y, logp), 1)));
}

int mt_nn_cross_entropy(mt_graph *g, int logits, int y)
{
    return mt_nn_nll(g, mt_nn_logsoftmax(g, logits, 1), y);
}

int mt_nn_bce(mt_graph *g, int p, int y)
{
    if (!is_value(g, p, "bce"))
        return -1;
    mt_dtype dt = dtype_of(g, p);
    int one = scalar(g, 1, dt), floor = scalar(g, -100, dt);
    int logp = mt_maximum(g, mt_log(g, p), floor);
    int log1mp = mt_maximum(g, mt_log(g, mt_sub(g, one, p)), floor);
    int ll = mt_add(g, mt_mul(g, y, logp), mt_mul(g, mt_sub(g, one, y), log1mp));
    return mt_neg(g, mt_mean_all(g, ll));
}

int mt_nn_bce_logits(mt_graph *g, int z, int y)
{
    if (!is_value(g, z, "bce"))
        return -1;
    mt_dtype dt = dtype_of(g, z);
    int zero = scalar(g, 0, dt), one = scalar(g, 1, dt);
    int softplus_tail = mt_log(g, mt_add(g, one, mt_exp(g, mt_neg(g, mt_abs(g, z)))));
    int l = mt_add(g, mt_sub(g, mt_maximum(g, z, zero), mt_mul(g, z, y)), softplus_tail);
    return mt_mean_all(g, l);
}

int mt_nn_mse(mt_graph *g, int a, int y)
{
    int d = mt_sub(g, a, y);
    return mt_mean_all(g, mt_mul(g, d, d));
}

/* ---- accuracy -------------------------------------------------------------------------- */

static double at(const mt_tensor *t, int64_t i)
{
    return t->type.dtype == MT_DTYPE_F32 ? ((const float *)t->data)[i]
                                         : ((const double *)t->data)[i];
}

static int64_t argmax_row(const mt_tensor *t, int64_t row, int64_t n)
{
    int64_t best = 0;
    for (int64_t j = 1; j < n; j++)
        if (at(t, row * n + j) > at(t, row * n + best))
            best = j;
    return best;
}

int64_t mt_nn_count_correct(const mt_tensor *scores, const mt_tensor *y, double threshold)
{
    if (!scores || !y || y->type.rank != 2 || !mt_type_equal(&scores->type, &y->type))
        return -1;
    int64_t b = y->type.dims[0], c = y->type.dims[1], correct = 0;
    for (int64_t i = 0; i < b; i++) {
        if (c == 1)
            correct += (at(scores, i) > threshold) == (at(y, i) > 0.5);
        else
            correct += argmax_row(scores, i, c) == argmax_row(y, i, c);
    }
    return correct;
}

/* ---- layers ---------------------------------------------------------------------------- */

/* The one input of a layer, or -1 with an error naming the layer. */
static int one_input(mt_module *m, mt_graph *g, const int *in, int nin)
{
    if (nin != 1 || !in)
        return mt_diag_set(&g->diag, MT_ERR_ARG, "%s takes 1 input, got %d", m->kind, nin), -1;
    return in[0];
}

static mt_module *layer(const char *kind, mt_forward_fn forward, mt_extra_repr_fn extra,
                        const nn_cfg *c)
{
    mt_module *m = mt_module_new(kind, forward);
    if (!m)
        return NULL;
    m->extra_repr = extra;
    m->data = mt_malloc(sizeof *c);
    if (!m->data) {
        mt_module_free(m);
        return NULL;
    }
    memcpy(m->data, c, sizeof *c);
    return m;
}

/* Python's repr of a float: the shortest digits that read back, with ".0" when integral. */
static void put_float(mt_buf *b, double v)
{
    char s[32];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(s, sizeof s, "%.*g", prec, v);
        if (strtod(s, NULL) == v)
            break;
    }
    mt_buf_puts(b, s);
    if (!strpbrk(s, ".eni"))
        mt_buf_puts(b, ".0");
}

static int linear_forward(mt_module *m, mt_graph *g, const int *in, int nin)
{
    int x = one_input(m, g, in, nin);
    int w = mt_module_param_id(m, g, "weight");
    int b = cfg(m)->bias ? mt_module_param_id(m, g, "bias") : -1;
    if (x < 0 || w < 0 || (cfg(m)->bias && b < 0))
        return -1;
    return mt_nn_linear(g, x, w, b);
}

static void linear_repr(const mt_module *m, mt_buf *b)
{
    mt_buf_printf(b, "in_features=%lld, out_features=%lld, bias=%s", (long long)cfg(m)->in,
                  (long long)cfg(m)->out, cfg(m)->bias ? "True" : "False");
}

/* Weight and bias with PyTorch's default bound 1/sqrt(fan_in), drawn with seed 0. */
static mt_module *with_weights(mt_module *m, const int64_t *wdims, int wrank, int64_t out, int bias,
                               int64_t fan_in, mt_dtype dt)
{
    double bound = 1 / sqrt((double)fan_in);
    if (!m || mt_module_add_param(m, "weight", mt_type_make(dt, wrank, wdims), bound) < 0 ||
        (bias && mt_module_add_param(m, "bias", mt_type_make(dt, 1, &out), bound) < 0)) {
        mt_module_free(m);
        return NULL;
    }
    mt_module_init(m, 0);
    return m;
}

static int good_dtype(mt_dtype dt) { return dt == MT_DTYPE_F32 || dt == MT_DTYPE_F64; }

mt_module *mt_nn_linear_new(int64_t in, int64_t out, int bias, mt_dtype dt)
{
    if (in < 1 || out < 1 || !good_dtype(dt))
        return NULL;
    nn_cfg c = {.in = in, .out = out, .bias = bias != 0};
    int64_t wdims[2] = {in, out};
    return with_weights(layer("Linear", linear_forward, linear_repr, &c), wdims, 2, out, bias, in,
                        dt);
}

static int conv_forward(mt_module *m, mt_graph *g, const int *in, int nin)
{
    const nn_cfg *c = cfg(m);
    int x = one_input(m, g, in, nin);
    int w = mt_module_param_id(m, g, "weight");
    int b = c->bias ? mt_module_param_id(m, g, "bias") : -1;
    if (x < 0 || w < 0 || (c->bias && b < 0))
        return -1;
    if (c->rank == 1)
        return mt_nn_conv1d(g, x, w, b, c->stride[0], c->padding[0]);
    return mt_nn_conv2d(g, x, w, b, c->stride, c->padding);
}

/* "(5, 5)" or "(3,)", Python's tuple repr. */
static void put_tuple(mt_buf *b, const int64_t *v, int n)
{
    mt_buf_puts(b, "(");
    for (int i = 0; i < n; i++)
        mt_buf_printf(b, "%s%lld", i ? ", " : "", (long long)v[i]);
    mt_buf_puts(b, n == 1 ? ",)" : ")");
}

static void conv_repr(const mt_module *m, mt_buf *b)
{
    const nn_cfg *c = cfg(m);
    mt_buf_printf(b, "%lld, %lld, kernel_size=", (long long)c->in, (long long)c->out);
    put_tuple(b, c->kernel, c->rank);
    mt_buf_puts(b, ", stride=");
    put_tuple(b, c->stride, c->rank);
    if (c->padding[0] || (c->rank == 2 && c->padding[1])) {
        mt_buf_puts(b, ", padding=");
        put_tuple(b, c->padding, c->rank);
    }
    if (!c->bias)
        mt_buf_puts(b, ", bias=False");
}

static mt_module *conv_new(int rank, int64_t in, int64_t out, const int64_t *kernel,
                           const int64_t *stride, const int64_t *padding, int bias, mt_dtype dt)
{
    if (in < 1 || out < 1 || !good_dtype(dt) || !kernel || !stride || !padding)
        return NULL;
    nn_cfg c = {.in = in, .out = out, .rank = rank, .bias = bias != 0};
    int64_t wdims[4] = {out, in, 1, 1}, fan_in = in;
    for (int i = 0; i < rank; i++) {
        if (kernel[i] < 1 || stride[i] < 1 || padding[i] < 0)
            return NULL;
        c.kernel[i] = kernel[i];
        c.stride[i] = stride[i];
        c.padding[i] = padding[i];
        wdims[2 + i] = kernel[i];
        fan_in *= kernel[i];
    }
    return with_weights(layer(rank == 1 ? "Conv1d" : "Conv2d", conv_forward, conv_repr, &c), wdims,
                        2 + rank, out, bias, fan_in, dt);
}

mt_module *mt_nn_conv1d_new(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                            int64_t padding, int bias, mt_dtype dt)
{
    return conv_new(1, in, out, &kernel, &stride, &padding, bias, dt);
}

mt_module *mt_nn_conv2d_new(int64_t in, int64_t out, const int64_t kernel[2],
                            const int64_t stride[2], const int64_t padding[2], int bias,
                            mt_dtype dt)
{
    return conv_new(2, in, out, kernel, stride, padding, bias, dt);
}

/* Activations and other one-input layers without weights. */
static int relu_forward(mt_module *m, mt_graph *g, const int *in, int nin)
{
    return mt_relu(g, one_input(m, g, in, nin));
}

static int sigmoid_forward(mt_module *m, mt_graph *g, const int *in, int nin)
{
    return mt_sigmoid(g, one_input(m, g, in, nin));
}

static int tanh_forward(mt_module *m, mt_graph *g, const int *in, int nin)
{
    return mt_tanh(g, one_input(m, g, in, nin));
}

static int softmax_forward(mt_module *m, mt_graph *g, const int *in, int nin)
{
    return mt_nn_softmax(g, one_input(m, g, in, nin), cfg(m)->dim);
}

static int logsoftmax_forward(mt_module *m, mt_graph *g, const int *in, int nin)
{
    return mt_nn_logsoftmax(g, one_input(m, g, in, nin), cfg(m)->dim);
}

static void dim_repr(const mt_module *m, mt_buf *b) { mt_buf_printf(b, "dim=%d", cfg(m)->dim); }

mt_module *mt_nn_relu_new(void)
{
    nn_cfg c = {0};
    return layer("ReLU", relu_forward, NULL, &c);
}

mt_module *mt_nn_sigmoid_new(void)
{
    nn_cfg c = {0};
    return layer("Sigmoid", sigmoid_forward, NULL, &c);
}

mt_module *mt_nn_tanh_new(void)
{
    nn_cfg c = {0};
    return layer("Tanh", tanh_forward, NULL, &c);
}

mt_module *mt_nn_softmax_new(int dim)
{
    nn_cfg c = {.dim = dim};
    return layer("Softmax", softmax_forward, dim_repr, &c);
}

mt_module *mt_nn_logsoftmax_new(int dim)
{
    nn_cfg c = {.dim = dim};
    return layer("LogSoftmax", logsoftmax_forward, dim_repr, &c);
}

static int dropout_forward(mt_module *m, mt_graph *g, const int *in, int nin)
{
    return mt_nn_dropout(g, one_input(m, g, in, nin), cfg(m)->p, cfg(m)->seed, m->training);
}

static void dropout_repr(const mt_module *m, mt_buf *b)
{
    mt_buf_puts(b, "p=");
    put_float(b, cfg(m)->p);
    mt_buf_puts(b, ", inplace=False");
}

mt_module *mt_nn_dropout_new(double p, uint64_t seed)
{
    if (!(p >= 0 && p <= 1))
        return NULL;
    nn_cfg c = {.p = p, .seed = seed};
    return layer("Dropout", dropout_forward, dropout_repr, &c);
}

static int flatten_forward(mt_module *m, mt_graph *g, const int *in, int nin)
{
    return mt_nn_flatten(g, one_input(m, g, in, nin));
}

static void flatten_repr(const mt_module *m, mt_buf *b)
{
    (void)m;
    mt_buf_puts(b, "start_dim=1, end_dim=-1");
}

mt_module *mt_nn_flatten_new(void)
{
    nn_cfg c = {0};
    return layer("Flatten", flatten_forward, flatten_repr, &c);
}

static int avgpool_forward(mt_module *m, mt_graph *g, const int *in, int nin)
{
    return mt_avgpool2d(g, one_input(m, g, in, nin), cfg(m)->kernel);
}

static int maxpool_forward(mt_module *m, mt_graph *g, const int *in, int nin)
{
    return mt_maxpool2d(g, one_input(m, g, in, nin), cfg(m)->kernel);
}

/* PyTorch prints a square kernel as one int and a rectangular one as a tuple. */
static void put_size(mt_buf *b, const int64_t k[2])
{
    if (k[0] == k[1])
        mt_buf_printf(b, "%lld", (long long)k[0]);
    else
        put_tuple(b, k, 2);
}

static void avgpool_repr(const mt_module *m, mt_buf *b)
{
    mt_buf_puts(b, "kernel_size=");
    put_size(b, cfg(m)->kernel);
    mt_buf_puts(b, ", stride=");
    put_size(b, cfg(m)->kernel);
    mt_buf_puts(b, ", padding=0");
}

static void maxpool_repr(const mt_module *m, mt_buf *b)
{
    avgpool_repr(m, b);
    mt_buf_puts(b, ", dilation=1, ceil_mode=False");
}

static mt_module *pool_new(const char *kind, mt_forward_fn f, mt_extra_repr_fn r,
                           const int64_t kernel[2])
{
    if (!kernel || kernel[0] < 1 || kernel[1] < 1)
        return NULL;
    nn_cfg c = {.kernel = {kernel[0], kernel[1]}};
    return layer(kind, f, r, &c);
}

mt_module *mt_nn_avgpool2d_new(const int64_t kernel[2])
{
    return pool_new("AvgPool2d", avgpool_forward, avgpool_repr, kernel);
}

mt_module *mt_nn_maxpool2d_new(const int64_t kernel[2])
{
    return pool_new("MaxPool2d", maxpool_forward, maxpool_repr, kernel);
}

static int sequential_forward(mt_module *m, mt_graph *g, const int *in, int nin)
{
    if (m->nchildren == 0)
        return one_input(m, g, in, nin);
    int x = mt_module_call(m->children[0], g, in, nin);
    for (int i = 1; i < m->nchildren && x >= 0; i++)
        x = mt_module_call(m->children[i], g, &x, 1);
    return x;
}

mt_module *mt_nn_sequential_new(void) { return mt_module_new("Sequential", sequential_forward); }
