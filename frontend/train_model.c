/* train_model.c - the model mt_train_run trains, whichever way it was given (train_model.h).
 *
 * A built-in model is built for the data (its input size and class count come from x and y)
 * twice, traced in train mode and in eval mode, and brings PyTorch-style initial values. A
 * FILE.mt or a graph built in C is taken as it is: its batch is its own, and its inputs are
 * checked against the data so that a mismatch is a message naming both sides rather than a
 * wrong byte count deep in the program API.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "frontend/models.h"
#include "frontend/train_model.h"
#include "runtime/philox.h"
#include "runtime/tensor.h"

/* Values per sample of a tensor or type whose leading dim is the sample index. */
static int64_t per_sample(const mt_type *t) { return t->rank ? mt_type_numel(t) / t->dims[0] : 1; }

static mt_status build_builtin(const mt_train_options *o, const mt_dataset *ds, mt_train_model *m,
                               mt_diag *d)
{
    int64_t features = per_sample(&ds->x->type), classes = per_sample(&ds->y->type);
    m->batch = o->batch ? o->batch : MT_TRAIN_DEFAULT_BATCH;
    mt_module *net = NULL;
    mt_status st = mt_model_new(o->model, features, classes, o->hidden, o->seed, &net, d);
    if (st != MT_OK)
        return st;
    mt_module_train(net);
    st = mt_model_loss_graph(net, m->batch, &m->own_loss, d);
    if (st == MT_OK) {
        mt_module_eval(net);
        st = mt_model_loss_graph(net, m->batch, &m->own_eval, d);
    }
    if (st == MT_OK)
        st = mt_module_state_dict(net, &m->own_init, d);
    mt_module_free(net);
    m->loss = m->own_loss;
    m->eval = m->own_eval;
    m->init = m->own_init;
    return st;
}

static mt_status parse_file(const char *path, mt_train_model *m, mt_diag *d)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        if (errno == ENOENT && !strchr(path, '/') && !strstr(path, ".mt"))
            return mt_diag_set(d, MT_ERR_ARG,
                               "--model: unknown model '%s' (built-in: minitorch, mlp, lenet; or a "
                               "FILE.mt loss graph)",
                               path);
        return mt_diag_set_at(d, MT_ERR_IO, path, 0, 0, "cannot read the model: %s",
                              strerror(errno));
    }
    if (S_ISDIR(sb.st_mode))
        return mt_diag_set_at(d, MT_ERR_ARG, path, 0, 0,
                              "is a directory, not a model (a built-in name or a FILE.mt)");
    mt_status st = mt_graph_parse_file(path, &m->own_loss, d);
    m->loss = m->eval = m->own_loss;
    m->source = path;
    return st;
}

/* An error about the model's graph, located at node `id` when it came from a file. */
static mt_status model_error(const mt_train_model *m, int id, mt_diag *d, const char *msg)
{
    const mt_node *n = id >= 0 ? &m->loss->nodes[id] : NULL;
    if (m->source)
        return mt_diag_set_at(d, MT_ERR_ARG, m->source, n ? n->line : 0, n ? n->col : 0, "%s", msg);
    return mt_diag_set(d, MT_ERR_ARG, "model '%s': %s", mt_graph_name(m->loss), msg);
}

/* %x and %y are the only inputs, they hold one batch, and it fits o.batch and the data. */
static mt_status check_inputs(const mt_train_options *o, const mt_dataset *ds, mt_train_model *m,
                              mt_diag *d)
{
    const mt_graph *g = m->loss;
    char msg[MT_DIAG_MSG], a[MT_TYPE_STR_MAX], b[MT_TYPE_STR_MAX];
    m->x = mt_graph_find(g, "x");
    m->y = mt_graph_find(g, "y");
    for (int id = 0; id < g->nnodes; id++) {
        if (g->nodes[id].op == MT_OP_INPUT && id != m->x && id != m->y) {
            snprintf(msg, sizeof msg,
                     "input %%%s: a model for mtc train has exactly two inputs, %%x (a batch of "
                     "samples) and %%y (their labels)",
                     g->nodes[id].name);
            return model_error(m, id, d, msg);
        }
    }
    if (m->x < 0 || m->y < 0 || g->nodes[m->x].op != MT_OP_INPUT ||
        g->nodes[m->y].op != MT_OP_INPUT)
        return model_error(m, -1, d,
                           "a model for mtc train needs inputs %x (a batch of samples) and %y "
                           "(their labels)");
    const mt_type *tx = &g->nodes[m->x].type, *ty = &g->nodes[m->y].type;
    if (tx->rank < 1 || ty->rank < 1 || tx->dims[0] != ty->dims[0]) {
        snprintf(msg, sizeof msg, "%%x : %s and %%y : %s must share their leading (batch) dim",
                 mt_type_str(tx, a, sizeof a), mt_type_str(ty, b, sizeof b));
        return model_error(m, m->y, d, msg);
    }
    if (o->batch && o->batch != tx->dims[0]) {
        snprintf(msg, sizeof msg, "the model's batch is %lld (%%x : %s), not --batch %lld",
                 (long long)tx->dims[0], mt_type_str(tx, a, sizeof a), (long long)o->batch);
        return model_error(m, m->x, d, msg);
    }
    m->batch = tx->dims[0];
    const mt_tensor *data[2] = {ds->x, ds->y};
    const mt_type *want[2] = {tx, ty};
    for (int k = 0; k < 2; k++) {
        int64_t have = per_sample(&data[k]->type), need = per_sample(want[k]);
        if (have != need) {
            snprintf(msg, sizeof msg,
                     "data '%s' has %lld values per sample (%s) but %%%s : %s takes %lld",
                     k ? "y" : "x", (long long)have, mt_type_str(&data[k]->type, a, sizeof a),
                     k ? "y" : "x", mt_type_str(want[k], b, sizeof b), (long long)need);
            return model_error(m, k ? m->y : m->x, d, msg);
        }
    }
    if (g->noutputs < 1)
        return model_error(m, -1, d, "the model has no outputs (the first must be the loss)");
    return MT_OK;
}

/* The output %pred or %logits, when it has y's type [B, C]. */
static void find_score(mt_train_model *m)
{
    const mt_graph *g = m->loss;
    m->score = -1;
    for (int i = 1; i < g->noutputs; i++) {
        const mt_node *n = &g->nodes[g->outputs[i]];
        int pred = strcmp(n->name, "pred") == 0, logits = strcmp(n->name, "logits") == 0;
        if ((pred || logits) && n->type.rank == 2 &&
            mt_type_equal(&n->type, &g->nodes[m->y].type)) {
            m->score = g->outputs[i];
            m->threshold = pred ? 0.5 : 0.0;
            return;
        }
    }
}

mt_status mt_train_model_resolve(const mt_train_options *o, const mt_dataset *ds, mt_train_model *m,
                                 mt_diag *d)
{
    memset(m, 0, sizeof *m);
    mt_status st;
    if (o->loss) {
        m->loss = o->loss;
        m->eval = o->eval_loss ? o->eval_loss : o->loss;
        m->init = o->init;
        st = MT_OK;
    } else if (!o->model) {
        st = mt_diag_set(d, MT_ERR_ARG, "train: no model given");
    } else if (mt_model_is_builtin(o->model)) {
        st = build_builtin(o, ds, m, d);
    } else {
        st = parse_file(o->model, m, d);
    }
    if (st == MT_OK)
        st = check_inputs(o, ds, m, d);
    if (st != MT_OK) {
        mt_train_model_fini(m);
        return st;
    }
    find_score(m);
    return MT_OK;
}

void mt_train_model_fini(mt_train_model *m)
{
    if (m->own_eval != m->own_loss)
        mt_graph_free(m->own_eval);
    mt_graph_free(m->own_loss);
    mt_tensor_map_free(m->own_init);
    memset(m, 0, sizeof *m);
}

/* The bound of the FILE.mt rule (train.h): 1/sqrt(fan_in), or 0 for zeros. */
static double init_bound(const mt_type *t)
{
    if (t->rank < 2)
        return 0;
    int64_t fan_in = t->dims[0];
    if (t->rank >= 3)
        fan_in = mt_type_numel(t) / t->dims[0];
    return 1 / sqrt((double)fan_in);
}

mt_status mt_train_model_init(const mt_train_model *m, uint64_t seed, mt_program *p, mt_diag *d)
{
    const mt_graph *g = m->loss;
    uint64_t stream = 0;
    for (int id = 0; id < g->nnodes; id++) {
        const mt_node *n = &g->nodes[id];
        if (n->op != MT_OP_PARAM)
            continue;
        uint64_t j = stream++;
        const mt_tensor *given = m->init ? mt_tensor_map_get(m->init, n->name) : NULL;
        if (given && !mt_type_equal(&given->type, &n->type)) {
            char a[MT_TYPE_STR_MAX], b[MT_TYPE_STR_MAX];
            return mt_diag_set(
                d, MT_ERR_ARG, "initial value of %%%s is %s but the model declares %s", n->name,
                mt_type_str(&given->type, a, sizeof a), mt_type_str(&n->type, b, sizeof b));
        }
        mt_tensor *fresh = NULL;
        if (!given) {
            fresh = mt_tensor_new(n->type);
            if (!fresh)
                return mt_diag_set(d, MT_ERR_NOMEM, "out of memory for %%%s", n->name);
            double bound = init_bound(&n->type);
            int64_t count = mt_type_numel(&n->type);
            for (int64_t i = 0; i < count; i++) {
                double v =
                    bound > 0 ? -bound + 2 * bound * mt_rand_f64_at(seed, j, (uint64_t)i) : 0;
                if (n->type.dtype == MT_DTYPE_F32)
                    ((float *)fresh->data)[i] = (float)v;
                else
                    ((double *)fresh->data)[i] = v;
            }
            given = fresh;
        }
        mt_status st = mt_program_set(p, n->name, given->data, given->nbytes, d);
        mt_tensor_free(fresh);
        if (st != MT_OK)
            return st;
    }
    return MT_OK;
}

/* t converted to dtype dt, under `name` in map. */
static mt_status put_converted(mt_tensor_map *map, const char *name, const mt_tensor *t,
                               mt_dtype dt, mt_diag *d)
{
    mt_type type = t->type;
    type.dtype = dt;
    mt_tensor *c = mt_tensor_new(type);
    if (!c)
        return mt_diag_set(d, MT_ERR_NOMEM, "out of memory converting data '%s'", name);
    int64_t n = mt_type_numel(&type);
    for (int64_t i = 0; i < n; i++) {
        double v = t->type.dtype == MT_DTYPE_F32 ? ((const float *)t->data)[i]
                                                 : ((const double *)t->data)[i];
        if (dt == MT_DTYPE_F32)
            ((float *)c->data)[i] = (float)v;
        else
            ((double *)c->data)[i] = v;
    }
    return mt_tensor_map_put(map, name, c) == MT_OK
               ? MT_OK
               : mt_diag_set(d, MT_ERR_NOMEM, "out of memory converting data '%s'", name);
}

mt_status mt_train_model_convert(const mt_train_model *m, const mt_dataset *ds, mt_dataset **out,
                                 mt_diag *d)
{
    *out = NULL;
    mt_dtype dx = m->loss->nodes[m->x].type.dtype, dy = m->loss->nodes[m->y].type.dtype;
    if (ds->x->type.dtype == dx && ds->y->type.dtype == dy)
        return MT_OK;
    mt_dataset *c = mt_calloc(1, sizeof *c);
    if (!c || !(c->tensors = mt_tensor_map_new()) || !(c->name = mt_strdup(ds->name))) {
        mt_dataset_free(c);
        return mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
    }
    const char *names[4] = {"x", "y", "x_test", "y_test"};
    const mt_tensor *src[4] = {ds->x, ds->y, ds->x_test, ds->y_test};
    mt_status st = MT_OK;
    for (int k = 0; k < 4 && st == MT_OK; k++)
        if (src[k])
            st = put_converted(c->tensors, names[k], src[k], k % 2 ? dy : dx, d);
    if (st != MT_OK) {
        mt_dataset_free(c);
        return st;
    }
    c->x = mt_tensor_map_get(c->tensors, "x");
    c->y = mt_tensor_map_get(c->tensors, "y");
    c->x_test = mt_tensor_map_get(c->tensors, "x_test");
    c->y_test = mt_tensor_map_get(c->tensors, "y_test");
    c->n = ds->n;
    c->n_test = ds->n_test;
    *out = c;
    return MT_OK;
}
