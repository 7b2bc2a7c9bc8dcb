/* train.c - the training loop behind `mtc train` (train.h; SPEC §4).
 *
 * Setup resolves the model against the data (train_model.c), turns the loss graph into its
 * step graph (mt_pass_step), compiles it once through the program API, and sets the params:
 * initial values, then --load. Each step gathers one batch into two buffers the program
 * borrows as %x and %y (mt_program_bind_input: no copy), runs, and reads the loss and the
 * predictions back; the params and optimiser state never leave the program. After each epoch
 * the eval-mode loss graph, compiled once, gets a copy of the params and scores the test split.
 *
 * Nothing is copied per step. At each epoch's start the params and state are copied once; when
 * a loss turns out NaN or infinite, the epoch is replayed from that copy up to the failing
 * step, and the reference interpreter evaluates that step's loss graph node by node to name
 * the first value that is not finite.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "frontend/nn.h"
#include "frontend/train_model.h"
#include "ir/op.h"
#include "runtime/collective.h"
#include "runtime/interp.h"
#include "runtime/tensor.h"

typedef struct trainer {
    const mt_train_options *o;
    const char *target; /* o->target, or "cpu" */
    mt_train_result *r;
    mt_train_model m;
    const mt_dataset *ds;         /* the data as fed */
    mt_dataset *own_ds, *conv_ds; /* loaded here; converted to the model's dtypes */
    mt_graph *step;
    mt_program *p, *ev; /* the step program; the eval program (NULL without a test split) */
    const char *loss_name, *score_name;
    int64_t *order;
    void *xbuf, *ybuf; /* one batch, bound as %x and %y of both programs */
    size_t xbytes, ybytes;
    int64_t nbatches;
    int nranks, rank; /* data parallel: 1 and 0 for one process */
    /* The params and state at the epoch's start, slot by slot (NULL for other slots). */
    void **snap;
    int nslots;
} trainer;

void mt_train_defaults(mt_train_options *o)
{
    memset(o, 0, sizeof *o);
    o->epochs = MT_TRAIN_DEFAULT_EPOCHS;
    mt_optim_defaults(&o->optim, MT_OPTIM_SGD);
    o->points = MT_DATA_DEFAULT_POINTS;
    o->shuffle = 1;
    o->target = "cpu";
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* A tensor struct over someone else's buffer, for the calls that take tensors. */
static mt_tensor view(mt_type type, const void *data)
{
    /* Only read: the callees take const tensors. */
    mt_tensor t = {type, (size_t)mt_type_numel(&type) * mt_dtype_size(type.dtype), (void *)data};
    return t;
}

static double scalar_at(const void *data, mt_dtype dt)
{
    return dt == MT_DTYPE_F32 ? *(const float *)data : *(const double *)data;
}

/* ---- setup ------------------------------------------------------------------------------- */

static mt_status load_data(trainer *t, mt_diag *d)
{
    const mt_train_options *o = t->o;
    if (o->dataset) {
        t->ds = o->dataset;
    } else if (!o->data) {
        return mt_diag_set(d, MT_ERR_ARG, "train: no data given");
    } else {
        mt_status st = mt_dataset_load(o->data, o->points, o->seed, &t->own_ds, d);
        if (st != MT_OK)
            return st;
        t->ds = t->own_ds;
    }
    if (!t->ds->x || !t->ds->y)
        return mt_diag_set(d, MT_ERR_ARG, "data '%s' has no x and y", t->ds->name);
    return MT_OK;
}

/* Every param and state that `path` holds replaces the program's; others are ignored. */
static mt_status load_weights(trainer *t, const char *path, mt_diag *d)
{
    mt_tensor_map *w = NULL;
    mt_status st = mt_safetensors_load(path, &w, d);
    for (int i = 0; st == MT_OK && i < mt_tensor_map_count(w); i++) {
        const char *name = mt_tensor_map_name(w, i);
        int slot = mt_program_find(t->p, name);
        mt_slot_kind kind = mt_program_slot_kind(t->p, slot);
        if (slot < 0 || (kind != MT_SLOT_PARAM && kind != MT_SLOT_STATE))
            continue;
        const mt_tensor *x = mt_tensor_map_at(w, i);
        const mt_type *want = mt_program_slot_type(t->p, slot);
        if (!mt_type_equal(&x->type, want)) {
            char a[MT_TYPE_STR_MAX], b[MT_TYPE_STR_MAX];
            st = mt_diag_set_at(
                d, MT_ERR_ARG, path, 0, 0, "tensor '%s' is %s but the model's %s %%%s is %s", name,
                mt_type_str(&x->type, a, sizeof a), kind == MT_SLOT_PARAM ? "param" : "state", name,
                mt_type_str(want, b, sizeof b));
            break;
        }
        st = mt_program_set(t->p, name, x->data, x->nbytes, d);
    }
    mt_tensor_map_free(w);
    return st;
}

static mt_status bind_batch(trainer *t, mt_program *p, mt_diag *d)
{
    mt_status st = mt_program_bind_input(p, "x", t->xbuf, t->xbytes, d);
    return st == MT_OK ? mt_program_bind_input(p, "y", t->ybuf, t->ybytes, d) : st;
}

/* The eval program: the eval-mode graph must read %x and %y as the train graph does and have
 * the same accuracy output. */
static mt_status compile_eval(trainer *t, mt_diag *d)
{
    const mt_graph *e = t->m.eval, *g = t->m.loss;
    const char *in[2] = {"x", "y"};
    for (int k = 0; k < 2; k++) {
        int id = mt_graph_find(e, in[k]);
        const mt_type *want = &g->nodes[k ? t->m.y : t->m.x].type;
        if (id < 0 || e->nodes[id].op != MT_OP_INPUT || !mt_type_equal(&e->nodes[id].type, want))
            return mt_diag_set(d, MT_ERR_ARG,
                               "the eval-mode graph '%s' does not read %%%s as the model does",
                               mt_graph_name(e), in[k]);
    }
    int s = mt_graph_find(e, t->score_name);
    if (s < 0 || !mt_graph_is_output(e, s))
        return mt_diag_set(d, MT_ERR_ARG, "the eval-mode graph '%s' has no output %%%s",
                           mt_graph_name(e), t->score_name);
    mt_status st = mt_program_compile(e, t->target, &t->ev, d);
    if (st == MT_OK && t->o->threads > 0)
        st = mt_program_set_threads(t->ev, t->o->threads, d);
    return st == MT_OK ? bind_batch(t, t->ev, d) : st;
}

static mt_status setup(trainer *t, mt_diag *d)
{
    const mt_train_options *o = t->o;
    if (o->epochs < 0 || o->batch < 0)
        return mt_diag_set(d, MT_ERR_ARG, "train: bad epochs %d or batch %lld", o->epochs,
                           (long long)o->batch);
    double t0 = now_s();
    mt_status st = load_data(t, d);
    if (st == MT_OK)
        st = mt_train_model_resolve(o, t->ds, &t->m, d);
    if (st == MT_OK)
        st = mt_train_model_convert(&t->m, t->ds, &t->conv_ds, d);
    if (st != MT_OK)
        return st;
    if (t->conv_ds)
        t->ds = t->conv_ds;
    const mt_graph *g = t->m.loss;
    t->loss_name = g->nodes[g->outputs[0]].name;
    t->score_name = t->m.score >= 0 ? g->nodes[t->m.score].name : NULL;
    t->nranks = o->nranks > 1 ? o->nranks : 1;
    t->rank = t->nranks > 1 ? o->rank : 0;
    t->nbatches = mt_dataset_nbatches(t->ds->n, t->m.batch * t->nranks);
    if (t->nbatches < 1)
        return mt_diag_set(d, MT_ERR_ARG,
                           "data '%s' has %lld samples, fewer than one batch of %lld", t->ds->name,
                           (long long)t->ds->n, (long long)(t->m.batch * t->nranks));
    mt_optim optim = o->optim;
    optim.data_parallel = t->nranks > 1;
    st = mt_pass_step(g, &optim, NULL, 0, &t->step, d);
    if (st != MT_OK) {
        if (t->m.source && !d->file[0]) /* the pass names values; the file locates them */
            snprintf(d->file, sizeof d->file, "%s", t->m.source);
        return st;
    }
    st = mt_program_compile(t->step, t->target, &t->p, d);
    if (st == MT_OK && o->threads > 0)
        st = mt_program_set_threads(t->p, o->threads, d);
    if (st != MT_OK)
        return st;
    t->xbytes = (size_t)t->m.batch * mt_dataset_row_bytes(t->ds->x);
    t->ybytes = (size_t)t->m.batch * mt_dataset_row_bytes(t->ds->y);
    t->xbuf = mt_calloc(1, t->xbytes);
    t->ybuf = mt_calloc(1, t->ybytes);
    t->order = mt_calloc((size_t)t->ds->n, sizeof *t->order);
    t->nslots = mt_program_nslots(t->p);
    t->snap = mt_calloc((size_t)t->nslots, sizeof *t->snap);
    if (!t->xbuf || !t->ybuf || !t->order || !t->snap)
        return mt_diag_set(d, MT_ERR_NOMEM, "out of memory for the batch buffers");
    st = bind_batch(t, t->p, d);
    if (st == MT_OK && t->ds->x_test && t->score_name)
        st = compile_eval(t, d);
    if (st == MT_OK)
        st = mt_train_model_init(&t->m, o->seed, t->p, d);
    if (st == MT_OK && o->load)
        st = load_weights(t, o->load, d);
    t->r->info.compile_s = now_s() - t0;
    return st;
}

/* ---- steps ------------------------------------------------------------------------------- */

/* Runs step b of the epoch's order: its loss into *loss, and how many of its samples the
 * model classified correctly into *correct (0 without an accuracy output). */
static mt_status run_step(trainer *t, int64_t b, double *loss, int64_t *correct, mt_diag *d)
{
    const mt_graph *g = t->m.loss;
    mt_status st =
        mt_dataset_batch(t->ds, t->order, mt_dataset_batch_start(b, t->m.batch, t->nranks, t->rank),
                         t->m.batch, t->xbuf, t->ybuf, d);
    if (st == MT_OK)
        st = mt_program_run(t->p, d);
    if (st != MT_OK)
        return st;
    *loss = scalar_at(mt_program_data(t->p, t->loss_name), g->nodes[g->outputs[0]].type.dtype);
    *correct = 0;
    if (t->score_name) {
        mt_tensor s = view(g->nodes[t->m.score].type, mt_program_data(t->p, t->score_name));
        mt_tensor y = view(g->nodes[t->m.y].type, t->ybuf);
        *correct = mt_nn_count_correct(&s, &y, t->m.threshold);
    }
    return MT_OK;
}

/* Copies every param and state of the step program (at the epoch's start) or puts the copy
 * back (restore). */
static mt_status snapshot(trainer *t, int restore, mt_diag *d)
{
    for (int s = 0; s < t->nslots; s++) {
        mt_slot_kind kind = mt_program_slot_kind(t->p, s);
        if (kind != MT_SLOT_PARAM && kind != MT_SLOT_STATE)
            continue;
        const char *name = mt_program_slot_name(t->p, s);
        size_t n = mt_program_slot_nbytes(t->p, s);
        if (restore) {
            mt_status st = mt_program_set(t->p, name, t->snap[s], n, d);
            if (st != MT_OK)
                return st;
            continue;
        }
        if (!t->snap[s] && !(t->snap[s] = mt_malloc(n)))
            return mt_diag_set(d, MT_ERR_NOMEM, "out of memory for a copy of %%%s", name);
        mt_status st = mt_program_get(t->p, name, t->snap[s], n, d);
        if (st != MT_OK)
            return st;
    }
    return MT_OK;
}

/* The error for a loss that is not finite at step b (0-based) of epoch `epoch` (1-based): the
 * params before that step are recovered by replaying the epoch from its snapshot, then the
 * interpreter evaluates the loss graph on them and that batch. */
static mt_status diagnose(trainer *t, int epoch, int64_t b, double loss, mt_diag *d)
{
    const mt_graph *g = t->m.loss;
    char where[160];
    snprintf(where, sizeof where,
             "training stopped at epoch %d, batch %lld of %lld: the loss is %s", epoch,
             (long long)b + 1, (long long)t->nbatches,
             isnan(loss) ? "nan"
             : loss > 0  ? "inf"
                         : "-inf");
    mt_status st = snapshot(t, 1, d);
    double l;
    int64_t c;
    for (int64_t k = 0; st == MT_OK && k < b; k++)
        st = run_step(t, k, &l, &c, d);
    if (st == MT_OK)
        st = mt_dataset_batch(t->ds, t->order,
                              mt_dataset_batch_start(b, t->m.batch, t->nranks, t->rank), t->m.batch,
                              t->xbuf, t->ybuf, d);
    const mt_tensor **leaves = mt_calloc((size_t)g->nnodes, sizeof *leaves);
    mt_tensor *views = mt_calloc((size_t)g->nnodes, sizeof *views);
    mt_tensor **values = mt_calloc((size_t)g->nnodes, sizeof *values);
    if (st == MT_OK && (!leaves || !views || !values))
        st = mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
    for (int id = 0; st == MT_OK && id < g->nnodes; id++) {
        const mt_node *n = &g->nodes[id];
        const void *data = id == t->m.x   ? t->xbuf
                           : id == t->m.y ? t->ybuf
                           : n->op == MT_OP_PARAM || n->op == MT_OP_STATE
                               ? mt_program_data(t->p, n->name)
                               : NULL;
        if (data) {
            views[id] = view(n->type, data);
            leaves[id] = &views[id];
        }
    }
    if (st == MT_OK)
        st = mt_interp_eval(g, leaves, values, d);
    int bad = -1;
    for (int id = 0; st == MT_OK && bad < 0 && id < g->nnodes; id++) {
        const mt_tensor *v = values[id];
        int64_t n = mt_type_numel(&v->type);
        for (int64_t i = 0; i < n && bad < 0; i++)
            if (!isfinite(v->type.dtype == MT_DTYPE_F32 ? ((const float *)v->data)[i]
                                                        : ((const double *)v->data)[i]))
                bad = id;
    }
    for (int id = 0; values && id < g->nnodes; id++)
        mt_tensor_free(values[id]);
    mt_free(values);
    mt_free(views);
    mt_free(leaves);
    if (st != MT_OK)
        return st;
    const char *src = t->m.source;
    if (bad < 0)
        return src ? mt_diag_set_at(d, MT_ERR_ARG, src, 0, 0,
                                    "%s on target %s, but the reference interpreter finds every "
                                    "value of this step finite",
                                    where, mt_program_target(t->p))
                   : mt_diag_set(d, MT_ERR_ARG,
                                 "model '%s': %s on target %s, but the reference interpreter "
                                 "finds every value of this step finite",
                                 mt_graph_name(g), where, mt_program_target(t->p));
    const mt_node *n = &g->nodes[bad];
    const char *kind = n->op == MT_OP_PARAM   ? "param"
                       : n->op == MT_OP_INPUT ? "input"
                       : n->op == MT_OP_STATE ? "state"
                                              : mt_op_name(n->op);
    d->node = bad;
    if (src)
        return mt_diag_set_at(d, MT_ERR_ARG, src, n->line, n->col,
                              "%s; the first value that is not finite is %%%s (node %d, %s)", where,
                              n->name, bad, kind);
    return mt_diag_set(d, MT_ERR_ARG,
                       "model '%s': %s; the first value that is not finite is %%%s (node %d, %s)",
                       mt_graph_name(g), where, n->name, bad, kind);
}

/* The fraction of the test split the eval program classifies correctly, with the step
 * program's current params. The last partial batch is padded with zero rows not counted. */
static mt_status evaluate(trainer *t, double *acc, mt_diag *d)
{
    mt_status st = MT_OK;
    for (int s = 0; st == MT_OK && s < mt_program_nslots(t->ev); s++) {
        mt_slot_kind kind = mt_program_slot_kind(t->ev, s);
        if (kind != MT_SLOT_PARAM && kind != MT_SLOT_STATE)
            continue;
        const char *name = mt_program_slot_name(t->ev, s);
        const void *v = mt_program_data(t->p, name);
        if (!v)
            return mt_diag_set(d, MT_ERR_ARG, "the eval-mode graph's %%%s is not in the model",
                               name);
        st = mt_program_set(t->ev, name, v, mt_program_slot_nbytes(t->ev, s), d);
    }
    const mt_graph *g = t->m.loss;
    const mt_dataset *ds = t->ds;
    int64_t B = t->m.batch, correct = 0;
    for (int64_t start = 0; st == MT_OK && start < ds->n_test; start += B) {
        int64_t count = ds->n_test - start < B ? ds->n_test - start : B;
        if (count < B) {
            memset(t->xbuf, 0, t->xbytes);
            memset(t->ybuf, 0, t->ybytes);
        }
        st = mt_dataset_gather(ds->x_test, NULL, start, count, t->xbuf, d);
        if (st == MT_OK)
            st = mt_dataset_gather(ds->y_test, NULL, start, count, t->ybuf, d);
        if (st == MT_OK)
            st = mt_program_run(t->ev, d);
        if (st != MT_OK)
            break;
        mt_type st_type = g->nodes[t->m.score].type, y_type = g->nodes[t->m.y].type;
        st_type.dims[0] = y_type.dims[0] = count;
        mt_tensor s = view(st_type, mt_program_data(t->ev, t->score_name));
        mt_tensor y = view(y_type, t->ybuf);
        correct += mt_nn_count_correct(&s, &y, t->m.threshold);
    }
    *acc = (double)correct / (double)ds->n_test;
    return st;
}

/* ---- the loop ---------------------------------------------------------------------------- */

static mt_status train_epoch(trainer *t, int e, mt_train_epoch *out, mt_diag *d)
{
    const mt_train_options *o = t->o;
    mt_status st = mt_dataset_order(t->ds->n, o->seed, (uint32_t)e, o->shuffle, t->order, d);
    if (st == MT_OK)
        st = snapshot(t, 0, d);
    double sum = 0, busy = 0;
    int64_t correct = 0;
    mt_train_progress pr = {e + 1, o->epochs, 0, t->nbatches, 0, 0, 0};
    for (int64_t b = 0; st == MT_OK && b < t->nbatches; b++) {
        double t0 = now_s(), loss;
        int64_t c;
        st = run_step(t, b, &loss, &c, d);
        busy += now_s() - t0;
        if (st != MT_OK)
            break;
        if (!isfinite(loss))
            return diagnose(t, e + 1, b, loss, d);
        sum += loss;
        correct += c;
        if (o->callbacks.batch) {
            pr.batch = b + 1;
            pr.loss = sum / (double)(b + 1);
            pr.elapsed_s = busy;
            pr.samples_per_s =
                busy > 0 ? (double)(b + 1) * (double)(t->m.batch * t->nranks) / busy : 0;
            o->callbacks.batch(o->callbacks.ctx, &pr);
        }
    }
    if (st != MT_OK)
        return st;
    /* Over every rank: their losses and counts summed through the process's allreduce. */
    double totals[2] = {sum, (double)correct};
    if (t->nranks > 1 &&
        (st = mt_collective_allreduce(totals, 2, MT_DTYPE_F64, MT_REDUCE_SUM, d)) != MT_OK)
        return st;
    sum = totals[0];
    correct = (int64_t)totals[1];
    int64_t samples = t->nbatches * t->m.batch * t->nranks;
    out->epoch = e + 1;
    out->loss = sum / (double)(t->nbatches * t->nranks);
    out->train_acc = t->score_name ? (double)correct / (double)samples : NAN;
    out->test_acc = NAN;
    out->samples_per_s = busy > 0 ? (double)samples / busy : 0;
    if (t->ev && t->rank == 0)
        st = evaluate(t, &out->test_acc, d);
    return st;
}

static void trainer_fini(trainer *t)
{
    for (int s = 0; t->snap && s < t->nslots; s++)
        mt_free(t->snap[s]);
    mt_free(t->snap);
    mt_program_free(t->ev);
    mt_program_free(t->p);
    mt_graph_free(t->step);
    mt_free(t->order);
    mt_free(t->xbuf);
    mt_free(t->ybuf);
    mt_train_model_fini(&t->m);
    mt_dataset_free(t->conv_ds);
    mt_dataset_free(t->own_ds);
}

mt_status mt_train_run(const mt_train_options *o, mt_train_result *r, mt_diag *d)
{
    memset(r, 0, sizeof *r);
    trainer t = {0};
    t.o = o;
    t.target = o->target ? o->target : "cpu";
    t.r = r;
    mt_status st = setup(&t, d);
    if (st == MT_OK) {
        r->model = mt_strdup(mt_graph_name(t.m.loss));
        r->data = mt_strdup(t.ds->name ? t.ds->name : "");
        if (!r->model || !r->data)
            st = mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
    }
    if (st == MT_OK) {
        mt_train_info *info = &r->info;
        info->model = r->model;
        info->data = r->data;
        info->samples = t.ds->n;
        info->test = t.ev ? t.ds->n_test : 0;
        info->batch = t.m.batch;
        info->nbatches = t.nbatches;
        info->epochs = o->epochs;
        info->has_accuracy = t.score_name != NULL;
        if (o->callbacks.start)
            o->callbacks.start(o->callbacks.ctx, info);
    }
    int cap = 0;
    for (int e = 0; st == MT_OK && e < o->epochs; e++) {
        if (e == cap) { /* grown as epochs complete: --epochs may be large */
            cap = cap ? (cap > o->epochs / 2 ? o->epochs : 2 * cap)
                      : (o->epochs < 64 ? o->epochs : 64);
            mt_train_epoch *more = mt_realloc(r->epochs, (size_t)cap * sizeof *more);
            if (!more) {
                st = mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
                break;
            }
            r->epochs = more;
        }
        st = train_epoch(&t, e, &r->epochs[e], d);
        if (st != MT_OK)
            break;
        r->nepochs = e + 1;
        if (o->callbacks.epoch)
            o->callbacks.epoch(o->callbacks.ctx, &r->epochs[e], o->epochs);
    }
    if (st == MT_OK)
        st = mt_program_params(t.p, &r->params, d);
    if (st == MT_OK && o->save)
        st = mt_safetensors_save(o->save, r->params, d);
    if (st != MT_OK) {
        mt_tensor_map_free(r->params);
        r->params = NULL;
    }
    trainer_fini(&t);
    return st;
}

void mt_train_result_fini(mt_train_result *r)
{
    mt_free(r->epochs);
    mt_tensor_map_free(r->params);
    mt_free(r->model);
    mt_free(r->data);
    memset(r, 0, sizeof *r);
}
