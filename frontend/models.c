/* models.c - the built-in models of `mtc train`: their module trees and loss graphs.
 *
 * Architectures and graph layout in models.h. A model is an ordinary module tree built from
 * nn.h's layers; its loss graph is that tree traced on symbolic inputs %x and %y, plus the loss,
 * so `mtc train` and a FILE.mt model meet in the same place: a loss graph for mt_pass_step.
 */
#include <math.h>
#include <string.h>

#include "frontend/models.h"
#include "frontend/nn.h"

typedef enum model_kind { MODEL_MINITORCH, MODEL_MLP, MODEL_LENET } model_kind;

static const char *const model_names[] = {"minitorch", "mlp", "lenet"};

/* What the loss graph needs to know about the data, kept on the root module. */
typedef struct model_cfg {
    model_kind kind;
    int64_t features, classes;
    int64_t side; /* lenet: the square image's side */
} model_cfg;

static int kind_of(const char *name)
{
    for (int i = 0; name && i < 3; i++)
        if (strcmp(name, model_names[i]) == 0)
            return i;
    return -1;
}

int mt_model_is_builtin(const char *name) { return kind_of(name) >= 0; }

static mt_module *child(mt_module *m, const char *name) { return mt_module_child(m, name); }

/* The child `name` on x, followed by ReLU. */
static int layer_relu(mt_module *m, mt_graph *g, const char *name, int x)
{
    return mt_relu(g, mt_module_call(child(m, name), g, &x, 1));
}

static int minitorch_forward(mt_module *m, mt_graph *g, const int *in, int nin)
{
    (void)nin;
    int h = layer_relu(m, g, "layer1", in[0]);
    h = layer_relu(m, g, "layer2", h);
    return mt_module_call(child(m, "layer3"), g, &h, 1);
}

static int mlp_forward(mt_module *m, mt_graph *g, const int *in, int nin)
{
    (void)nin;
    int h = layer_relu(m, g, "fc1", mt_nn_flatten(g, in[0]));
    h = layer_relu(m, g, "fc2", h);
    return mt_module_call(child(m, "fc3"), g, &h, 1);
}

static int lenet_forward(mt_module *m, mt_graph *g, const int *in, int nin)
{
    (void)nin;
    const int64_t pool[2] = {2, 2};
    int h = mt_maxpool2d(g, layer_relu(m, g, "conv1", in[0]), pool);
    h = mt_maxpool2d(g, layer_relu(m, g, "conv2", h), pool);
    h = layer_relu(m, g, "fc1", mt_nn_flatten(g, h));
    return mt_module_call(child(m, "fc2"), g, &h, 1);
}

static const mt_forward_fn model_forwards[] = {minitorch_forward, mlp_forward, lenet_forward};

static int add(mt_module *m, const char *name, mt_module *layer)
{
    return mt_module_add_child(m, name, layer) != NULL;
}

/* The children of each model; 0 when out of memory. */
static int build_minitorch(mt_module *m, int64_t f, int64_t h)
{
    return add(m, "layer1", mt_nn_linear_new(f, h, 1, MT_DTYPE_F32)) &&
           add(m, "layer2", mt_nn_linear_new(h, h, 1, MT_DTYPE_F32)) &&
           add(m, "layer3", mt_nn_linear_new(h, 1, 1, MT_DTYPE_F32));
}

static int build_mlp(mt_module *m, int64_t f, int64_t h, int64_t c)
{
    return add(m, "fc1", mt_nn_linear_new(f, h, 1, MT_DTYPE_F32)) &&
           add(m, "fc2", mt_nn_linear_new(h, h / 2, 1, MT_DTYPE_F32)) &&
           add(m, "fc3", mt_nn_linear_new(h / 2, c, 1, MT_DTYPE_F32));
}

static int build_lenet(mt_module *m, int64_t side, int64_t c)
{
    const int64_t k[2] = {5, 5}, s[2] = {1, 1}, p[2] = {0, 0};
    int64_t s2 = ((side - 4) / 2 - 4) / 2;
    return add(m, "conv1", mt_nn_conv2d_new(1, 8, k, s, p, 1, MT_DTYPE_F32)) &&
           add(m, "conv2", mt_nn_conv2d_new(8, 16, k, s, p, 1, MT_DTYPE_F32)) &&
           add(m, "fc1", mt_nn_linear_new(16 * s2 * s2, 64, 1, MT_DTYPE_F32)) &&
           add(m, "fc2", mt_nn_linear_new(64, c, 1, MT_DTYPE_F32));
}

/* The square side of `features`, or 0 when it is not a square. */
static int64_t square_side(int64_t features)
{
    int64_t s = (int64_t)llround(sqrt((double)features));
    return s * s == features ? s : 0;
}

mt_status mt_model_new(const char *name, int64_t features, int64_t classes, int64_t hidden,
                       uint64_t seed, mt_module **out, mt_diag *d)
{
    *out = NULL;
    int kind = kind_of(name);
    if (kind < 0)
        return mt_diag_set(d, MT_ERR_ARG, "unknown model '%s' (built-in: minitorch, mlp, lenet)",
                           name ? name : "(null)");
    const char *mn = model_names[kind];
    model_cfg c = {(model_kind)kind, features, classes, 0};
    if (features < 1 || features > (INT64_C(1) << 40))
        return mt_diag_set(d, MT_ERR_ARG, "%s: bad input size %lld", mn, (long long)features);
    if (hidden < 0 || hidden > (INT64_C(1) << 30))
        return mt_diag_set(d, MT_ERR_ARG, "%s: bad hidden size %lld", mn, (long long)hidden);
    if (kind == MODEL_MINITORCH && classes != 1)
        return mt_diag_set(d, MT_ERR_ARG,
                           "minitorch: labels must be one column of 0/1 (y : [B,1]), got %lld",
                           (long long)classes);
    if (kind != MODEL_MINITORCH && (classes < 2 || classes > (INT64_C(1) << 30)))
        return mt_diag_set(d, MT_ERR_ARG,
                           "%s: needs one-hot labels of at least 2 classes, got %lld", mn,
                           (long long)classes);
    if (hidden == 0)
        hidden = kind == MODEL_MINITORCH ? 10 : 256;
    if (kind == MODEL_MLP && hidden < 2)
        return mt_diag_set(d, MT_ERR_ARG, "mlp: hidden size must be at least 2, got %lld",
                           (long long)hidden);
    if (kind == MODEL_LENET) {
        c.side = square_side(features);
        if (c.side < 16)
            return mt_diag_set(d, MT_ERR_ARG,
                               "lenet: reads each sample as a square image of side >= 16, but "
                               "it has %lld values",
                               (long long)features);
    }
    mt_module *m = mt_module_new(kind == MODEL_LENET ? "LeNet"
                                 : kind == MODEL_MLP ? "MLP"
                                                     : "Network",
                                 model_forwards[kind]);
    int ok = m && (m->data = mt_malloc(sizeof c)) != NULL;
    if (ok) {
        memcpy(m->data, &c, sizeof c);
        ok = kind == MODEL_MINITORCH ? build_minitorch(m, features, hidden)
             : kind == MODEL_MLP     ? build_mlp(m, features, hidden, classes)
                                     : build_lenet(m, c.side, classes);
    }
    if (!ok) {
        mt_module_free(m);
        return mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
    }
    mt_module_init(m, seed);
    *out = m;
    return MT_OK;
}

static const model_cfg *model_of(const mt_module *m)
{
    if (!m || !m->data)
        return NULL;
    for (int i = 0; i < 3; i++)
        if (m->forward == model_forwards[i])
            return m->data;
    return NULL;
}

mt_status mt_model_loss_graph(mt_module *m, int64_t batch, mt_graph **out, mt_diag *d)
{
    *out = NULL;
    const model_cfg *c = model_of(m);
    if (!c)
        return mt_diag_set(d, MT_ERR_ARG, "loss graph: not a built-in model");
    const char *mn = model_names[c->kind];
    if (batch < 1 || batch > (INT64_C(1) << 30))
        return mt_diag_set(d, MT_ERR_ARG, "%s: bad batch size %lld", mn, (long long)batch);
    mt_graph *g = mt_graph_new(mn);
    if (!g)
        return mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
    int64_t xd[4] = {batch, c->features}, yd[2] = {batch, c->classes};
    int xrank = 2;
    if (c->kind == MODEL_LENET) {
        xd[1] = 1;
        xd[2] = xd[3] = c->side;
        xrank = 4;
    }
    int x = mt_input(g, "x", mt_type_make(MT_DTYPE_F32, xrank, xd));
    int y = mt_input(g, "y", mt_type_make(MT_DTYPE_F32, 2, yd));
    int z = x >= 0 && y >= 0 ? mt_module_trace(m, g, &x, 1) : -1;
    int outs[2] = {-1, -1};
    if (c->kind == MODEL_MINITORCH) {
        outs[0] = mt_nn_bce_logits(g, z, y);
        outs[1] = mt_name(g, mt_sigmoid(g, z), "pred");
    } else {
        outs[0] = mt_nn_cross_entropy(g, z, y);
        outs[1] = mt_name(g, z, "logits");
    }
    mt_name(g, outs[0], "loss");
    mt_set_outputs(g, outs, 2);
    mt_status st = mt_graph_diag(g)->status;
    if (st == MT_OK)
        st = mt_graph_verify(g, d);
    else
        mt_diag_set(d, st, "%s: %s", mn, mt_graph_diag(g)->msg);
    if (st != MT_OK) {
        mt_graph_free(g);
        return st;
    }
    *out = g;
    return MT_OK;
}

mt_status mt_model_build(const char *name, int64_t batch, int64_t features, int64_t classes,
                         int64_t hidden, uint64_t seed, mt_graph **loss, mt_tensor_map **init,
                         mt_diag *d)
{
    *loss = NULL;
    *init = NULL;
    mt_module *m = NULL;
    mt_status st = mt_model_new(name, features, classes, hidden, seed, &m, d);
    if (st == MT_OK)
        st = mt_model_loss_graph(m, batch, loss, d);
    if (st == MT_OK && (st = mt_module_state_dict(m, init, d)) != MT_OK) {
        mt_graph_free(*loss);
        *loss = NULL;
    }
    mt_module_free(m);
    return st;
}
