/* module.c - the Module tree: parameters and children, named_parameters, train/eval, repr,
 * seeded initial values, and tracing a module's forward into a graph.
 *
 * Sits on top of the builder: a traced model is plain MTIR, and every later stage (autodiff,
 * the optimiser pass, the backends) sees a graph, never a module.
 */
#include <stdio.h>
#include <string.h>

#include "frontend/module.h"
#include "runtime/philox.h"

/* The state of one trace, kept on the module being traced: which module's path is empty, and
 * whether the graph's error already carries a path (the innermost module that saw it wins). */
struct mt_trace {
    const mt_module *root;
    int reported;
};

mt_module *mt_module_new(const char *kind, mt_forward_fn forward)
{
    if (!kind || !kind[0])
        return NULL;
    mt_module *m = mt_calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->kind = mt_strdup(kind);
    if (!m->kind) {
        mt_free(m);
        return NULL;
    }
    m->training = 1;
    m->forward = forward;
    return m;
}

void mt_module_free(mt_module *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->nparams; i++) {
        mt_free(m->params[i].name);
        mt_tensor_free(m->params[i].value);
    }
    for (int i = 0; i < m->nchildren; i++)
        mt_module_free(m->children[i]);
    mt_free(m->params);
    mt_free(m->children);
    mt_free(m->kind);
    mt_free(m->name);
    mt_free(m->data);
    mt_free(m);
}

mt_module *mt_module_child(const mt_module *m, const char *name)
{
    if (!m || !name)
        return NULL;
    for (int i = 0; i < m->nchildren; i++)
        if (strcmp(m->children[i]->name, name) == 0)
            return m->children[i];
    return NULL;
}

mt_parameter *mt_module_param(const mt_module *m, const char *name)
{
    if (!m || !name)
        return NULL;
    for (int i = 0; i < m->nparams; i++)
        if (strcmp(m->params[i].name, name) == 0)
            return &m->params[i];
    return NULL;
}

/* A name that joins into an MTIR value name with dots: letters, digits and '_'. */
static int good_name(const mt_module *m, const char *name)
{
    if (!name || !name[0] || strlen(name) > 128)
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return 0;
    return !mt_module_param(m, name) && !mt_module_child(m, name);
}

int mt_module_add_param(mt_module *m, const char *name, mt_type type, double bound)
{
    if (!m || !good_name(m, name) || type.rank < 0 || type.rank > MT_MAX_RANK)
        return -1;
    if (m->nparams == m->params_cap) {
        int cap = m->params_cap ? 2 * m->params_cap : 4;
        mt_parameter *ps = mt_realloc(m->params, (size_t)cap * sizeof *ps);
        if (!ps)
            return -1;
        m->params = ps;
        m->params_cap = cap;
    }
    mt_parameter p = {mt_strdup(name), mt_tensor_new(type), bound, -1, NULL};
    if (!p.name || !p.value) {
        mt_free(p.name);
        mt_tensor_free(p.value);
        return -1;
    }
    m->params[m->nparams] = p;
    return m->nparams++;
}

mt_module *mt_module_add_child(mt_module *m, const char *name, mt_module *child)
{
    char index[16];
    if (!m || !child || child->parent || child == m) {
        if (child && !child->parent && child != m)
            mt_module_free(child);
        return NULL;
    }
    if (!name) {
        snprintf(index, sizeof index, "%d", m->nchildren);
        name = index;
    }
    if (!good_name(m, name)) {
        mt_module_free(child);
        return NULL;
    }
    if (m->nchildren == m->children_cap) {
        int cap = m->children_cap ? 2 * m->children_cap : 4;
        mt_module **cs = mt_realloc(m->children, (size_t)cap * sizeof *cs);
        if (!cs) {
            mt_module_free(child);
            return NULL;
        }
        m->children = cs;
        m->children_cap = cap;
    }
    char *copy = mt_strdup(name);
    if (!copy) {
        mt_module_free(child);
        return NULL;
    }
    mt_free(child->name);
    child->name = copy;
    child->parent = m;
    m->children[m->nchildren++] = child;
    return child;
}

static void set_training(mt_module *m, int on)
{
    if (!m)
        return;
    m->training = on;
    for (int i = 0; i < m->nchildren; i++)
        set_training(m->children[i], on);
}

void mt_module_train(mt_module *m) { set_training(m, 1); }
void mt_module_eval(mt_module *m) { set_training(m, 0); }

/* ---- named_parameters ---------------------------------------------------------------- */

static int visit(const mt_module *m, char *prefix, size_t len, size_t size, mt_param_visit_fn fn,
                 void *ctx)
{
    for (int i = 0; i < m->nparams; i++) {
        snprintf(prefix + len, size - len, "%s", m->params[i].name);
        int r = fn(ctx, prefix, &m->params[i]);
        if (r)
            return r;
    }
    for (int i = 0; i < m->nchildren; i++) {
        int n = snprintf(prefix + len, size - len, "%s.", m->children[i]->name);
        size_t next = len + (size_t)n < size ? len + (size_t)n : size - 1;
        int r = visit(m->children[i], prefix, next, size, fn, ctx);
        if (r)
            return r;
    }
    prefix[len] = '\0';
    return 0;
}

int mt_module_visit_params(const mt_module *m, mt_param_visit_fn fn, void *ctx)
{
    char prefix[1024] = "";
    return m ? visit(m, prefix, 0, sizeof prefix, fn, ctx) : 0;
}

static int count_one(void *ctx, const char *dotted, mt_parameter *p)
{
    (void)dotted;
    (void)p;
    ++*(int *)ctx;
    return 0;
}

int mt_module_nparams(const mt_module *m)
{
    int n = 0;
    mt_module_visit_params(m, count_one, &n);
    return n;
}

typedef struct find_at {
    int want, seen;
    char *name;
    size_t size;
    mt_parameter *found;
} find_at;

static int stop_at(void *ctx, const char *dotted, mt_parameter *p)
{
    find_at *f = ctx;
    if (f->seen++ != f->want)
        return 0;
    if (f->name)
        snprintf(f->name, f->size, "%s", dotted);
    f->found = p;
    return 1;
}

mt_parameter *mt_module_param_at(const mt_module *m, int i, char *name, size_t size)
{
    find_at f = {i, 0, name, size, NULL};
    if (i < 0)
        return NULL;
    mt_module_visit_params(m, stop_at, &f);
    return f.found;
}

/* ---- repr ------------------------------------------------------------------------------ */

static void spaces(mt_buf *b, int n)
{
    for (int i = 0; i < n; i++)
        mt_buf_puts(b, " ");
}

/* torch.nn.Module.__repr__: one line when there are no children, else the extra_repr and each
 * `(name): child` on lines of their own, indented two more than the parent. */
static void repr(const mt_module *m, mt_buf *b, int indent)
{
    mt_buf_printf(b, "%s(", m->kind);
    mt_buf extra = {0};
    if (m->extra_repr)
        m->extra_repr(m, &extra);
    if (extra.oom)
        b->oom = 1;
    if (m->nchildren == 0) {
        if (extra.len)
            mt_buf_puts(b, extra.data);
    } else {
        mt_buf_puts(b, "\n");
        if (extra.len) {
            spaces(b, indent + 2);
            mt_buf_printf(b, "%s\n", extra.data);
        }
        for (int i = 0; i < m->nchildren; i++) {
            spaces(b, indent + 2);
            mt_buf_printf(b, "(%s): ", m->children[i]->name);
            repr(m->children[i], b, indent + 2);
            mt_buf_puts(b, "\n");
        }
        spaces(b, indent);
    }
    mt_buf_puts(b, ")");
    mt_buf_fini(&extra);
}

char *mt_module_repr(const mt_module *m)
{
    if (!m)
        return NULL;
    mt_buf b = {0};
    repr(m, &b, 0);
    return mt_buf_take(&b);
}

/* ---- initial values -------------------------------------------------------------------- */

typedef struct init_ctx {
    uint64_t seed;
    uint64_t stream; /* the parameter's index in named_parameters order */
} init_ctx;

static int draw(void *ctx, const char *dotted, mt_parameter *p)
{
    (void)dotted;
    init_ctx *c = ctx;
    uint64_t stream = c->stream++;
    int64_t n = mt_type_numel(&p->value->type);
    for (int64_t i = 0; i < n; i++) {
        double v = 0;
        if (p->bound > 0)
            v = -p->bound + 2 * p->bound * mt_rand_f64_at(c->seed, stream, (uint64_t)i);
        if (p->value->type.dtype == MT_DTYPE_F32)
            ((float *)p->value->data)[i] = (float)v;
        else
            ((double *)p->value->data)[i] = v;
    }
    return 0;
}

void mt_module_init(mt_module *m, uint64_t seed)
{
    init_ctx c = {seed, 0};
    mt_module_visit_params(m, draw, &c);
}

typedef struct dict_ctx {
    mt_tensor_map *map;
    mt_diag *d;
} dict_ctx;

static int put_copy(void *ctx, const char *dotted, mt_parameter *p)
{
    dict_ctx *c = ctx;
    mt_tensor *t = mt_tensor_clone(p->value);
    if (!t || mt_tensor_map_put(c->map, dotted, t) != MT_OK) /* put owns t, also on failure */
        return mt_diag_set(c->d, MT_ERR_NOMEM, "out of memory"), 1;
    return 0;
}

mt_status mt_module_state_dict(const mt_module *m, mt_tensor_map **out, mt_diag *d)
{
    *out = NULL;
    if (!m)
        return mt_diag_set(d, MT_ERR_ARG, "state_dict: no module");
    dict_ctx c = {mt_tensor_map_new(), d};
    if (!c.map)
        return mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
    if (mt_module_visit_params(m, put_copy, &c)) {
        mt_tensor_map_free(c.map);
        return MT_ERR_NOMEM;
    }
    *out = c.map;
    return MT_OK;
}

typedef struct load_ctx {
    const mt_tensor_map *map;
    mt_tensor **copies; /* one slot per parameter in walk order; NULL: keep the old value */
    int i;
    mt_diag *d;
    mt_status st;
} load_ctx;

static int check_and_copy(void *ctx, const char *dotted, mt_parameter *p)
{
    load_ctx *c = ctx;
    int i = c->i++;
    const mt_tensor *t = mt_tensor_map_get(c->map, dotted);
    if (!t)
        return 0;
    if (!mt_type_equal(&t->type, &p->value->type)) {
        char a[MT_TYPE_STR_MAX], b[MT_TYPE_STR_MAX];
        c->st = mt_diag_set(c->d, MT_ERR_TYPE, "load: %s is %s in the model but %s in the file",
                            dotted, mt_type_str(&p->value->type, a, sizeof a),
                            mt_type_str(&t->type, b, sizeof b));
        return 1;
    }
    c->copies[i] = mt_tensor_clone(t);
    if (!c->copies[i]) {
        c->st = mt_diag_set(c->d, MT_ERR_NOMEM, "out of memory");
        return 1;
    }
    return 0;
}

static int swap_in(void *ctx, const char *dotted, mt_parameter *p)
{
    (void)dotted;
    load_ctx *c = ctx;
    mt_tensor *t = c->copies[c->i++];
    if (t) {
        mt_tensor_free(p->value);
        p->value = t;
    }
    return 0;
}

mt_status mt_module_load(mt_module *m, const mt_tensor_map *map, int *nloaded, mt_diag *d)
{
    if (nloaded)
        *nloaded = 0;
    if (!m || !map)
        return mt_diag_set(d, MT_ERR_ARG, "load: no module or no tensors");
    int n = mt_module_nparams(m);
    load_ctx c = {map, mt_calloc((size_t)n + 1, sizeof(mt_tensor *)), 0, d, MT_OK};
    if (!c.copies)
        return mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
    /* Copy everything first, so a bad type or a failed copy leaves the module as it was. */
    if (mt_module_visit_params(m, check_and_copy, &c)) {
        for (int i = 0; i < n; i++)
            mt_tensor_free(c.copies[i]);
        mt_free(c.copies);
        return c.st;
    }
    c.i = 0;
    mt_module_visit_params(m, swap_in, &c);
    for (int i = 0; nloaded && i < n; i++)
        *nloaded += c.copies[i] != NULL;
    mt_free(c.copies);
    return MT_OK;
}

/* ---- tracing --------------------------------------------------------------------------- */

typedef struct declare_ctx {
    mt_graph *g;
} declare_ctx;

static int declare_one(void *ctx, const char *dotted, mt_parameter *p)
{
    mt_graph *g = ((declare_ctx *)ctx)->g;
    p->id = mt_param(g, dotted, p->value->type);
    p->graph = g;
    return p->id < 0;
}

int mt_module_declare(mt_module *m, mt_graph *g)
{
    if (!g)
        return -1;
    if (!m)
        return mt_diag_set(&g->diag, MT_ERR_ARG, "trace: no module"), -1;
    declare_ctx c = {g};
    return mt_module_visit_params(m, declare_one, &c) ? -1 : 0;
}

/* The dotted path of m below `root` ("" for root itself) into buf. */
static void path_of(const mt_module *m, const mt_module *root, char *buf, size_t size)
{
    if (!m || m == root || !m->parent) {
        buf[0] = '\0';
        return;
    }
    path_of(m->parent, root, buf, size);
    size_t len = strlen(buf);
    snprintf(buf + len, size - len, "%s%s", len ? "." : "", m->name);
}

static struct mt_trace *trace_of(const mt_module *m)
{
    for (; m; m = m->parent)
        if (m->trace)
            return m->trace;
    return NULL;
}

int mt_module_call(mt_module *m, mt_graph *g, const int *in, int nin)
{
    if (!g)
        return -1;
    if (!m)
        return mt_diag_set(&g->diag, MT_ERR_ARG, "call of no module"), -1;
    if (g->diag.status != MT_OK)
        return -1;
    /* A call outside any trace starts one, so errors are still located below m. */
    struct mt_trace local = {m, 0}, *t = trace_of(m);
    if (!t) {
        m->trace = &local;
        t = &local;
    }
    int r = -1;
    if (!m->forward)
        mt_diag_set(&g->diag, MT_ERR_ARG, "%s has no forward", m->kind);
    else
        r = m->forward(m, g, in, nin);
    if (r < 0 && g->diag.status == MT_OK)
        mt_diag_set(&g->diag, MT_ERR_INTERNAL, "%s: forward gave no value and no error", m->kind);
    if (g->diag.status != MT_OK && !t->reported) {
        t->reported = 1;
        char path[256], msg[MT_DIAG_MSG];
        path_of(m, t->root, path, sizeof path);
        if (path[0]) {
            /* Built piece by piece: the message is cut at MT_DIAG_MSG, never overrun. */
            size_t n = strlen(path);
            memcpy(msg, path, n);
            msg[n++] = ':';
            msg[n++] = ' ';
            for (const char *p = g->diag.msg; *p && n + 1 < sizeof msg; p++)
                msg[n++] = *p;
            msg[n] = '\0';
            memcpy(g->diag.msg, msg, n + 1);
        }
    }
    if (t == &local)
        m->trace = NULL;
    return g->diag.status == MT_OK ? r : -1;
}

int mt_module_trace(mt_module *m, mt_graph *g, const int *in, int nin)
{
    if (mt_module_declare(m, g) < 0)
        return -1;
    return mt_module_call(m, g, in, nin);
}

int mt_module_param_id(mt_module *m, mt_graph *g, const char *name)
{
    if (!g || g->diag.status != MT_OK)
        return -1;
    mt_parameter *p = mt_module_param(m, name);
    if (!p)
        return mt_diag_set(&g->diag, MT_ERR_ARG, "%s has no parameter '%s'", m ? m->kind : "?",
                           name ? name : "(null)"),
               -1;
    if (p->graph != g || p->id < 0)
        return mt_diag_set(&g->diag, MT_ERR_ARG,
                           "parameter '%s' is not declared in graph '%s' (trace the model with "
                           "mt_module_trace)",
                           name, mt_graph_name(g)),
               -1;
    return p->id;
}
