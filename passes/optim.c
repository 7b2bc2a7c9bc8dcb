/* optim.c - the optimiser as a graph pass: a loss graph in, one training step out.
 *
 * Requires: a well-formed loss graph without updates whose first output holds one element
 * (the loss), and optimiser settings that PyTorch would accept.
 * Guarantees: a step graph (MTIR with `state` and `update` lines) with the loss graph's name,
 * its inputs, params and state in order, exactly its outputs, and for every param it trains an
 * `update %w <- %w.next` computed from the gradient of the loss (passes/autodiff.c) with the
 * formulas of torch.optim: SGD with momentum and weight decay (dampening 0, no Nesterov) and
 * Adam (bias-corrected, weight decay added to the gradient). The optimiser's memory is state
 * named as the CLI contract says (docs/cli.md): `sgd.mom.W`, `adam.m.W`, `adam.v.W` and one
 * step count `adam.t`; all of it starts at zero, which is PyTorch's first step. A rank-0
 * `state %step` of the loss graph (the stream of dropout's rand) counts steps too. With
 * data_parallel, the gradients pass through `allreduce op=mean` first, a few params per
 * collective (buckets).
 *
 * The step graph is ordinary MTIR: the pipeline simplifies and fuses it like any graph, so the
 * update of a weight fuses into the kernel that finishes its gradient.
 */
#include <stdio.h>
#include <string.h>

#include "ir/alloc.h"
#include "passes/optim.h"
#include "passes/pass.h"
#include "passes/rewrite.h"

void mt_optim_defaults(mt_optim *o, mt_optim_kind kind)
{
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->lr = kind == MT_OPTIM_ADAM ? 1e-3 : 0.01;
    o->beta1 = 0.9;
    o->beta2 = 0.999;
    o->eps = 1e-8;
}

typedef struct step {
    mt_graph *h; /* the step graph being built */
    mt_dtype dt; /* of the loss, and of every trained param */
    mt_diag *d;
} step;

/* `name` when it is free in the step graph, else NULL (a fresh name). */
static const char *free_name(const step *s, const char *name)
{
    return mt_graph_find(s->h, name) >= 0 ? NULL : name;
}

static int scalar_of(step *s, double v, mt_dtype dt, const char *name)
{
    mt_attrs a;
    mt_attrs_init(&a);
    a.value = v;
    mt_type t = mt_type_make(dt, 0, NULL);
    return mt_graph_add(s->h, MT_OP_CONST, NULL, 0, &a, name ? free_name(s, name) : NULL, &t, NULL,
                        0, 0, s->d);
}

static int scalar(step *s, double v, const char *name) { return scalar_of(s, v, s->dt, name); }

static int op2(step *s, mt_op op, int a, int b, const char *name)
{
    if (a < 0 || b < 0)
        return -1;
    int in[2] = {a, b};
    return mt_graph_add(s->h, op, in, 2, NULL, name ? free_name(s, name) : NULL, NULL, NULL, 0, 0,
                        s->d);
}

static int op1(step *s, mt_op op, int a, const char *name)
{
    if (a < 0)
        return -1;
    return mt_graph_add(s->h, op, &a, 1, NULL, name ? free_name(s, name) : NULL, NULL, NULL, 0, 0,
                        s->d);
}

/* A new state leaf named PREFIX.W of the param's type. */
static int state_of(step *s, const char *prefix, const mt_node *w)
{
    char name[300];
    snprintf(name, sizeof name, "%s.%s", prefix, w->name);
    if (mt_graph_find(s->h, name) >= 0) {
        mt_diag_set_at(s->d, MT_ERR_ARG, NULL, w->line, w->col,
                       "step: the optimiser's state %%%s is already a value of the loss graph",
                       name);
        return -1;
    }
    return mt_graph_add_leaf(s->h, MT_OP_STATE, name, w->type, NULL, w->line, w->col, s->d);
}

static mt_status check_options(const mt_optim *o, mt_diag *d)
{
    if (!(o->lr >= 0))
        return mt_diag_set(d, MT_ERR_ARG, "step: invalid learning rate %g (must be >= 0)", o->lr);
    if (!(o->weight_decay >= 0))
        return mt_diag_set(d, MT_ERR_ARG, "step: invalid weight decay %g (must be >= 0)",
                           o->weight_decay);
    if (o->kind == MT_OPTIM_SGD && !(o->momentum >= 0))
        return mt_diag_set(d, MT_ERR_ARG, "step: invalid momentum %g (must be >= 0)", o->momentum);
    if (o->kind == MT_OPTIM_ADAM) {
        if (!(o->beta1 >= 0 && o->beta1 < 1))
            return mt_diag_set(d, MT_ERR_ARG, "step: invalid beta1 %g (must be in [0, 1))",
                               o->beta1);
        if (!(o->beta2 >= 0 && o->beta2 < 1))
            return mt_diag_set(d, MT_ERR_ARG, "step: invalid beta2 %g (must be in [0, 1))",
                               o->beta2);
        if (!(o->eps >= 0))
            return mt_diag_set(d, MT_ERR_ARG, "step: invalid eps %g (must be >= 0)", o->eps);
    }
    return MT_OK;
}

/* The params to train: `wrt` (each must be a param of the loss's dtype), or every param. */
static mt_status pick_params(const mt_graph *g, const int *wrt, int nwrt, int *out, int *n,
                             mt_diag *d)
{
    mt_dtype dt = g->nodes[g->outputs[0]].type.dtype;
    *n = 0;
    for (int i = 0; i < (wrt && nwrt ? nwrt : g->nnodes); i++) {
        int id = wrt && nwrt ? wrt[i] : i;
        const mt_node *w = &g->nodes[id];
        if (w->op != MT_OP_PARAM) {
            if (wrt && nwrt)
                return mt_diag_set_at(d, MT_ERR_ARG, NULL, w->line, w->col,
                                      "step: %%%s is %s %s, not a param", w->name,
                                      w->op == MT_OP_INPUT ? "an" : "a", mt_op_name(w->op));
            continue;
        }
        if (w->type.dtype != dt)
            return mt_diag_set_at(d, MT_ERR_TYPE, NULL, w->line, w->col,
                                  "step: param %%%s is %s but the loss is %s", w->name,
                                  mt_dtype_name(w->type.dtype), mt_dtype_name(dt));
        for (int j = 0; j < *n; j++)
            if (out[j] == id)
                return mt_diag_set(d, MT_ERR_ARG, "step: %%%s is listed twice", w->name);
        out[(*n)++] = id;
    }
    return MT_OK;
}

/* ---- data parallel --------------------------------------------------------------------- */

/* Gradients are averaged over the ranks in buckets of at most this many elements, as
 * PyTorch's DDP does: one collective per bucket, not one per param. */
#define BUCKET_ELEMS (INT64_C(1) << 22)

static int node_with(step *s, mt_op op, const int *in, int nin, const mt_attrs *a, const char *name)
{
    for (int i = 0; i < nin; i++)
        if (in[i] < 0)
            return -1;
    return mt_graph_add(s->h, op, in, nin, a, name ? free_name(s, name) : NULL, NULL, NULL, 0, 0,
                        s->d);
}

/* grads[first .. last) flattened, joined, averaged over the ranks in one allreduce, and cut
 * back into their shapes; grads[i] is replaced by the averaged one. */
static void reduce_bucket(step *s, int *grads, int first, int last, int bucket)
{
    mt_attrs a;
    int flat[64], nflat = 0, joined;
    char name[64];
    snprintf(name, sizeof name, "grad.bucket%d", bucket);
    if (last - first == 1) {
        joined = grads[first];
    } else {
        for (int i = first; i < last; i++) {
            mt_attrs_init(&a);
            a.shape.n = 1;
            a.shape.v[0] = mt_type_numel(&s->h->nodes[grads[i]].type);
            flat[nflat++] = node_with(s, MT_OP_RESHAPE, &grads[i], 1, &a, NULL);
        }
        mt_attrs_init(&a);
        a.dim = 0;
        joined = node_with(s, MT_OP_CONCAT, flat, nflat, &a, name);
    }
    mt_attrs_init(&a);
    a.reduce = MT_REDUCE_MEAN;
    snprintf(name, sizeof name, "grad.bucket%d.mean", bucket);
    int mean = node_with(s, MT_OP_ALLREDUCE, &joined, 1, &a, name);
    if (last - first == 1) {
        grads[first] = mean;
        return;
    }
    int64_t at = 0;
    for (int i = first; i < last; i++) {
        if (grads[i] < 0 || mean < 0)
            return;
        mt_type t = s->h->nodes[grads[i]].type;
        int64_t n = mt_type_numel(&t);
        mt_attrs_init(&a);
        a.start.n = a.end.n = 1;
        a.start.v[0] = at;
        a.end.v[0] = at + n;
        int piece = node_with(s, MT_OP_SLICE, &mean, 1, &a, NULL);
        mt_attrs_init(&a);
        a.shape.n = t.rank;
        for (int k = 0; k < t.rank; k++)
            a.shape.v[k] = t.dims[k];
        grads[i] = node_with(s, MT_OP_RESHAPE, &piece, 1, &a, NULL);
        at += n;
    }
}

/* With --data-parallel every gradient is replaced by its mean over the ranks, so R ranks that
 * each see B samples take the step of one process that sees all R*B (for a mean loss). */
static mt_status average_over_ranks(step *s, int *grads, int np)
{
    int first = 0, bucket = 0;
    int64_t size = 0;
    for (int i = 0; i <= np; i++) {
        int64_t n = i < np ? mt_type_numel(&s->h->nodes[grads[i]].type) : 0;
        if (i > first && (i == np || size + n > BUCKET_ELEMS || i - first == 64)) {
            reduce_bucket(s, grads, first, i, bucket++);
            first = i;
            size = 0;
        }
        size += n;
    }
    for (int i = 0; i < np; i++)
        if (grads[i] < 0)
            return mt_rewrite_err(s->d);
    return MT_OK;
}

/* The constants every param's update shares, made once. */
typedef struct consts {
    int lr, momentum, wd, beta1, beta2, one_minus_b1, one_minus_b2, eps, one;
    int t_next, step_size, bc2_sqrt; /* Adam: this step's count and bias corrections */
} consts;

static mt_status make_consts(step *s, const mt_optim *o, consts *c, int t)
{
    memset(c, -1, sizeof *c);
    const char *p = o->kind == MT_OPTIM_ADAM ? "adam" : "sgd";
    char name[64];
    snprintf(name, sizeof name, "%s.lr", p);
    c->lr = scalar(s, o->lr, name);
    if (o->weight_decay != 0) {
        snprintf(name, sizeof name, "%s.weight_decay", p);
        c->wd = scalar(s, o->weight_decay, name);
    }
    if (o->kind == MT_OPTIM_SGD) {
        if (o->momentum != 0)
            c->momentum = scalar(s, o->momentum, "sgd.momentum");
        return s->d->status;
    }
    /* PyTorch: bias_correction1 = 1 - beta1^t, step_size = lr / bias_correction1,
     * denom = sqrt(v) / sqrt(1 - beta2^t) + eps. */
    c->one = scalar(s, 1, "adam.one");
    c->beta1 = scalar(s, o->beta1, "adam.beta1");
    c->beta2 = scalar(s, o->beta2, "adam.beta2");
    c->one_minus_b1 = scalar(s, 1 - o->beta1, "adam.one_minus_beta1");
    c->one_minus_b2 = scalar(s, 1 - o->beta2, "adam.one_minus_beta2");
    c->eps = scalar(s, o->eps, "adam.eps");
    c->t_next = op2(s, MT_OP_ADD, t, c->one, "adam.t.next");
    int bc1 = op2(s, MT_OP_SUB, c->one, op2(s, MT_OP_POW, c->beta1, c->t_next, NULL),
                  "adam.bias_correction1");
    int bc2 = op2(s, MT_OP_SUB, c->one, op2(s, MT_OP_POW, c->beta2, c->t_next, NULL),
                  "adam.bias_correction2");
    c->step_size = op2(s, MT_OP_DIV, c->lr, bc1, "adam.step_size");
    c->bc2_sqrt = op1(s, MT_OP_SQRT, bc2, "adam.bias_correction2_sqrt");
    return s->d->status;
}

/* The new value of param w (step graph id) whose gradient is g; its optimiser state leaves
 * are `st[0..1]`. Adds the state updates. */
static int update_param(step *s, const mt_optim *o, const consts *c, const mt_node *wn, int w,
                        int g, const int *st)
{
    char name[300];
    if (c->wd >= 0)
        g = op2(s, MT_OP_ADD, g, op2(s, MT_OP_MUL, c->wd, w, NULL), NULL);
    int delta; /* w.next = w - delta */
    if (o->kind == MT_OPTIM_SGD) {
        delta = g;
        if (c->momentum >= 0) {
            snprintf(name, sizeof name, "sgd.mom.%s.next", wn->name);
            int buf = op2(s, MT_OP_ADD, op2(s, MT_OP_MUL, c->momentum, st[0], NULL), g, name);
            if (buf < 0 || mt_graph_add_update(s->h, st[0], buf, NULL, 0, 0, s->d) != MT_OK)
                return -1;
            delta = buf;
        }
        delta = op2(s, MT_OP_MUL, c->lr, delta, NULL);
    } else {
        snprintf(name, sizeof name, "adam.m.%s.next", wn->name);
        int m = op2(s, MT_OP_ADD, op2(s, MT_OP_MUL, c->beta1, st[0], NULL),
                    op2(s, MT_OP_MUL, c->one_minus_b1, g, NULL), name);
        snprintf(name, sizeof name, "adam.v.%s.next", wn->name);
        int v = op2(s, MT_OP_ADD, op2(s, MT_OP_MUL, c->beta2, st[1], NULL),
                    op2(s, MT_OP_MUL, c->one_minus_b2, op2(s, MT_OP_MUL, g, g, NULL), NULL), name);
        if (m < 0 || v < 0 || mt_graph_add_update(s->h, st[0], m, NULL, 0, 0, s->d) != MT_OK ||
            mt_graph_add_update(s->h, st[1], v, NULL, 0, 0, s->d) != MT_OK)
            return -1;
        int denom =
            op2(s, MT_OP_ADD, op2(s, MT_OP_DIV, op1(s, MT_OP_SQRT, v, NULL), c->bc2_sqrt, NULL),
                c->eps, NULL);
        delta = op2(s, MT_OP_MUL, c->step_size, op2(s, MT_OP_DIV, m, denom, NULL), NULL);
    }
    snprintf(name, sizeof name, "%s.next", wn->name);
    return op2(s, MT_OP_SUB, w, delta, name);
}

/* Copies the gradient graph's leaves, then the optimiser's new state leaves (after them, so
 * the signature reads leaves first), then everything else; then appends the updates. */
static mt_status build(step *s, const mt_graph *gg, const mt_graph *loss, const mt_optim *o,
                       const int *params, int np, int *map, int *st)
{
    for (int pass = 0; pass < 2; pass++)
        for (int id = 0; id < gg->nnodes; id++) {
            if (mt_op_is(gg->nodes[id].op, MT_F_LEAF) != (pass == 0))
                continue;
            map[id] = mt_graph_copy_node(s->h, gg, id, map, s->d);
            if (map[id] < 0)
                return mt_rewrite_err(s->d);
            if (pass == 1)
                continue;
            if (id + 1 < gg->nnodes && mt_op_is(gg->nodes[id + 1].op, MT_F_LEAF))
                continue;
            /* After the last leaf: the optimiser's state. */
            int t = -1;
            if (o->kind == MT_OPTIM_ADAM) {
                if (mt_graph_find(s->h, "adam.t") >= 0)
                    return mt_diag_set(s->d, MT_ERR_ARG,
                                       "step: the optimiser's state %%adam.t is already a value "
                                       "of the loss graph");
                t = mt_graph_add_leaf(s->h, MT_OP_STATE, "adam.t", mt_type_make(s->dt, 0, NULL),
                                      NULL, 0, 0, s->d);
            }
            for (int i = 0; i < np; i++) {
                const mt_node *w = &loss->nodes[params[i]];
                st[2 * i] = st[2 * i + 1] = -1;
                if (o->kind == MT_OPTIM_SGD && o->momentum != 0)
                    st[2 * i] = state_of(s, "sgd.mom", w);
                if (o->kind == MT_OPTIM_ADAM) {
                    st[2 * i] = state_of(s, "adam.m", w);
                    st[2 * i + 1] = state_of(s, "adam.v", w);
                }
            }
            st[2 * np] = t;
            if (s->d->status != MT_OK)
                return s->d->status;
        }
    return MT_OK;
}

mt_status mt_pass_step(const mt_graph *loss, const mt_optim *o, const int *wrt, int nwrt,
                       mt_graph **out, mt_diag *d)
{
    *out = NULL;
    mt_status st = check_options(o, d);
    if (st != MT_OK)
        return st;
    if (loss->nupdates > 0)
        return mt_diag_set_at(d, MT_ERR_ARG, NULL, loss->updates[0].line, loss->updates[0].col,
                              "step: '%s' is a step graph already", loss->name);
    if (!loss->has_outputs || loss->noutputs < 1)
        return mt_diag_set(d, MT_ERR_ARG, "step: the graph has no output");
    int *params = mt_calloc((size_t)loss->nnodes + 1, sizeof *params);
    if (!params)
        return mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
    int np = 0;
    mt_graph *gg = NULL;
    st = pick_params(loss, wrt, nwrt, params, &np, d);
    if (st == MT_OK && np == 0)
        st = mt_diag_set(d, MT_ERR_ARG, "step: '%s' has no param to train", loss->name);
    if (st == MT_OK)
        st = mt_pass_grad(loss, params, np, &gg, d);
    int *map = NULL, *state = NULL;
    step s = {mt_graph_new(loss->name), loss->nodes[loss->outputs[0]].type.dtype, d};
    if (st == MT_OK) {
        map = mt_calloc((size_t)gg->nnodes + 1, sizeof *map);
        state = mt_calloc(2 * (size_t)np + 1, sizeof *state);
        if (!map || !state || !s.h)
            st = mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
    }
    if (st == MT_OK)
        st = build(&s, gg, loss, o, params, np, map, state);
    consts c;
    if (st == MT_OK)
        st = make_consts(&s, o, &c, state[2 * np]);
    /* The gradient graph's outputs: the loss graph's, then grad.W for each param in order. */
    int *next = st == MT_OK ? mt_calloc((size_t)np + 1, sizeof *next) : NULL;
    if (st == MT_OK && !next)
        st = mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
    /* The gradients, averaged over the ranks first with --data-parallel. */
    for (int i = 0; i < np && st == MT_OK; i++)
        next[i] = map[gg->outputs[loss->noutputs + i]];
    if (st == MT_OK && o->data_parallel)
        st = average_over_ranks(&s, next, np);
    for (int i = 0; i < np && st == MT_OK; i++) {
        int w = map[mt_graph_find(gg, loss->nodes[params[i]].name)];
        next[i] = update_param(&s, o, &c, &loss->nodes[params[i]], w, next[i], &state[2 * i]);
        if (next[i] < 0)
            st = mt_rewrite_err(d);
    }
    int *outs = st == MT_OK ? mt_calloc((size_t)loss->noutputs, sizeof *outs) : NULL;
    if (st == MT_OK && !outs)
        st = mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
    for (int i = 0; i < loss->noutputs && st == MT_OK; i++)
        outs[i] = map[gg->outputs[i]];
    if (st == MT_OK)
        st = mt_graph_set_outputs(s.h, outs, loss->noutputs, d);
    mt_free(outs);
    for (int i = 0; i < np && st == MT_OK; i++)
        st = mt_graph_add_update(s.h, map[mt_graph_find(gg, loss->nodes[params[i]].name)], next[i],
                                 NULL, 0, 0, d);
    if (st == MT_OK && o->kind == MT_OPTIM_ADAM)
        st = mt_graph_add_update(s.h, state[2 * np], c.t_next, NULL, 0, 0, d);
    int counter = mt_graph_find(loss, "step");
    if (st == MT_OK && counter >= 0 && loss->nodes[counter].op == MT_OP_STATE &&
        loss->nodes[counter].type.rank == 0) {
        int k = map[mt_graph_find(gg, "step")];
        int one = scalar_of(&s, 1, loss->nodes[counter].type.dtype, NULL);
        int k_next = op2(&s, MT_OP_ADD, k, one, "step.next");
        st = k_next < 0 ? mt_rewrite_err(d) : mt_graph_add_update(s.h, k, k_next, NULL, 0, 0, d);
    }
    mt_free(next);
    mt_free(map);
    mt_free(state);
    mt_free(params);
    mt_graph_free(gg);
    if (st != MT_OK) {
        mt_graph_free(s.h);
        return st;
    }
    *out = s.h;
    return MT_OK;
}
