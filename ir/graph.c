/* graph.c - creating graphs and appending nodes; the name table. */
#include "ir/graph.h"

#include <stdio.h>
#include <string.h>

#include "ir/alloc.h"

mt_graph *mt_graph_new(const char *name)
{
    mt_graph *g = mt_calloc(1, sizeof *g);
    if (!g)
        return NULL;
    mt_arena_init(&g->arena);
    mt_diag_init(&g->diag);
    g->name = mt_arena_strdup(&g->arena, name ? name : "main");
    if (!g->name) {
        mt_graph_free(g);
        return NULL;
    }
    return g;
}

void mt_graph_free(mt_graph *g)
{
    if (!g)
        return;
    mt_arena_fini(&g->arena);
    mt_free(g->nodes);
    mt_free(g->table);
    mt_free(g->updates);
    mt_diag_fini(&g->diag);
    mt_free(g);
}

const char *mt_graph_name(const mt_graph *g) { return g->name; }
const mt_diag *mt_graph_diag(const mt_graph *g) { return &g->diag; }
int mt_graph_nnodes(const mt_graph *g) { return g->nnodes; }
mt_op mt_graph_node_op(const mt_graph *g, int id) { return g->nodes[id].op; }
const mt_type *mt_graph_node_type(const mt_graph *g, int id) { return &g->nodes[id].type; }
const char *mt_graph_node_name(const mt_graph *g, int id) { return g->nodes[id].name; }
int mt_graph_nupdates(const mt_graph *g) { return g->nupdates; }

int mt_graph_update(const mt_graph *g, int i, int *target, int *value)
{
    if (i < 0 || i >= g->nupdates)
        return -1;
    *target = g->updates[i].target;
    *value = g->updates[i].value;
    return 0;
}

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

int mt_graph_find(const mt_graph *g, const char *name)
{
    if (!g->table)
        return -1;
    uint32_t mask = (uint32_t)g->table_cap - 1;
    for (uint32_t i = hash(name) & mask;; i = (i + 1) & mask) {
        int id = g->table[i];
        if (id < 0)
            return -1;
        if (strcmp(g->nodes[id].name, name) == 0)
            return id;
    }
}

static int table_insert(mt_graph *g, int id)
{
    if (2 * (g->nnodes + 1) > g->table_cap) {
        int cap = g->table_cap ? 2 * g->table_cap : 64;
        int *t = mt_malloc((size_t)cap * sizeof *t);
        if (!t)
            return 0;
        for (int i = 0; i < cap; i++)
            t[i] = -1;
        mt_free(g->table);
        g->table = t;
        g->table_cap = cap;
        for (int i = 0; i < g->nnodes; i++)
            if (i != id)
                table_insert(g, i);
    }
    uint32_t mask = (uint32_t)g->table_cap - 1;
    uint32_t i = hash(g->nodes[id].name) & mask;
    while (g->table[i] >= 0)
        i = (i + 1) & mask;
    g->table[i] = id;
    return 1;
}

/* The longest value name a graph holds. Names that passes derive from others (grad.W,
 * adam.m.W, sgd.mom.W.next) are built in buffers with room for this plus their prefix, and are
 * refused here when they grow past it, so every name a graph holds prints and parses back
 * (ir/parse.c reads names of any length and leaves the limit to this file). */
#define MAX_NAME_LEN 255

static int name_too_long(const char *s) { return strnlen(s, MAX_NAME_LEN + 1) > MAX_NAME_LEN; }

static int valid_name(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

/* Appends a node with everything but the table entry; returns its id or -1. */
static int append(mt_graph *g, const mt_node *n, const char *name, const char *file, mt_diag *d)
{
    char fresh[32];
    if (!name) {
        do
            snprintf(fresh, sizeof fresh, "%d", g->fresh++);
        while (mt_graph_find(g, fresh) >= 0);
        name = fresh;
    } else if (name_too_long(name)) {
        mt_diag_set_at(d, MT_ERR_ARG, file, n->line, n->col,
                       "value name '%%%.40s...' is longer than %d characters", name, MAX_NAME_LEN);
        return -1;
    } else if (!valid_name(name)) {
        mt_diag_set_at(d, MT_ERR_ARG, file, n->line, n->col,
                       "bad value name '%%%s': use letters, digits, '_' and '.'", name);
        return -1;
    } else if (mt_graph_find(g, name) >= 0) {
        mt_diag_set_at(d, MT_ERR_PARSE, file, n->line, n->col, "value '%%%s' is already defined",
                       name);
        return -1;
    }
    if (g->nnodes == g->cap) {
        int cap = g->cap ? 2 * g->cap : 32;
        mt_node *nodes = mt_realloc(g->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes) {
            mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
            return -1;
        }
        g->nodes = nodes;
        g->cap = cap;
    }
    int id = g->nnodes;
    g->nodes[id] = *n;
    g->nodes[id].name = mt_arena_strdup(&g->arena, name);
    if (!g->nodes[id].name || !table_insert(g, id)) {
        mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
        return -1;
    }
    g->nnodes++;
    return id;
}

int mt_graph_add(mt_graph *g, mt_op op, const int *in, int nin, const mt_attrs *attrs,
                 const char *name, const mt_type *declared, const char *file, int line, int col,
                 mt_diag *d)
{
    if (!d)
        d = &g->diag;
    if (d->status != MT_OK)
        return -1;
    if ((int)op < 0 || op >= MT_OP_COUNT || mt_op_is(op, MT_F_LEAF))
        return mt_diag_set_at(d, MT_ERR_ARG, file, line, col, "not an op: %d", (int)op), -1;
    const mt_op_info *info = mt_op_get(op);
    if (!mt_op_arity_ok(info, nin) && nin <= 64) {
        if (info->arity == MT_ARITY_OPTIONAL)
            mt_diag_set_at(d, MT_ERR_PARSE, file, line, col,
                           "%s: expected no operand or one, got %d", info->text, nin);
        else
            mt_diag_set_at(d, MT_ERR_PARSE, file, line, col, "%s: expected %s%d operand%s, got %d",
                           info->text, info->arity < 0 ? "at least " : "",
                           info->arity < 0 ? 1 : info->arity, info->arity == 1 ? "" : "s", nin);
        return -1;
    }
    const mt_type *types[64];
    if (nin > 64) {
        mt_diag_set_at(d, MT_ERR_PARSE, file, line, col, "%s: too many operands (%d, at most 64)",
                       info->text, nin);
        return -1;
    }
    for (int i = 0; i < nin; i++) {
        if (in[i] < 0 || in[i] >= g->nnodes) {
            mt_diag_set_at(d, MT_ERR_ARG, file, line, col, "%s: operand %d is not a value",
                           info->text, i);
            return -1;
        }
        types[i] = &g->nodes[in[i]].type;
    }
    mt_node n;
    memset(&n, 0, sizeof n);
    n.op = op;
    mt_attrs at;
    if (attrs)
        at = *attrs;
    else
        mt_attrs_init(&at);
    n.line = line;
    n.col = col;
    char msg[MT_DIAG_MSG];
    mt_status st = mt_infer_type(op, types, nin, &at, declared, &n.type, msg, sizeof msg);
    if (st != MT_OK) {
        mt_diag_set_at(d, st, file, line, col, "%s", msg);
        d->node = g->nnodes;
        return -1;
    }
    if (declared && !mt_type_equal(declared, &n.type)) {
        char a[MT_TYPE_STR_MAX], b[MT_TYPE_STR_MAX];
        mt_diag_set_at(d, MT_ERR_TYPE, file, line, col, "%s: declared type %s but the result is %s",
                       info->text, mt_type_str(declared, a, sizeof a),
                       mt_type_str(&n.type, b, sizeof b));
        return -1;
    }
    n.attrs = mt_attrs_default();
    if (!mt_attrs_equal(&at, n.attrs)) {
        mt_attrs *copy = mt_arena_alloc(&g->arena, sizeof *copy);
        if (!copy) {
            mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
            return -1;
        }
        *copy = at;
        n.attrs = copy;
    }
    int *ins = mt_arena_alloc(&g->arena, (size_t)nin * sizeof *ins);
    if (!ins) {
        mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
        return -1;
    }
    if (nin)
        memcpy(ins, in, (size_t)nin * sizeof *ins);
    n.nin = nin;
    n.in = ins;
    return append(g, &n, name, file, d);
}

int mt_graph_add_leaf(mt_graph *g, mt_op op, const char *name, mt_type type, const char *file,
                      int line, int col, mt_diag *d)
{
    if (!d)
        d = &g->diag;
    if (d->status != MT_OK)
        return -1;
    if ((int)op < 0 || op >= MT_OP_COUNT || !mt_op_is(op, MT_F_LEAF))
        return mt_diag_set(d, MT_ERR_ARG, "not a leaf op: %s", mt_op_name(op)), -1;
    if (type.rank < 0 || type.rank > MT_MAX_RANK || mt_type_numel(&type) < 0 ||
        (type.dtype != MT_DTYPE_F32 && type.dtype != MT_DTYPE_F64)) {
        mt_diag_set_at(d, MT_ERR_TYPE, file, line, col, "%s: invalid type", mt_op_name(op));
        return -1;
    }
    mt_node n;
    memset(&n, 0, sizeof n);
    n.op = op;
    n.attrs = mt_attrs_default();
    n.type = type;
    n.line = line;
    n.col = col;
    n.in = NULL;
    return append(g, &n, name, file, d);
}

mt_status mt_graph_set_outputs(mt_graph *g, const int *ids, int n, mt_diag *d)
{
    if (!d)
        d = &g->diag;
    if (d->status != MT_OK)
        return d->status;
    if (n < 1)
        return mt_diag_set(d, MT_ERR_ARG, "a graph needs at least one output");
    for (int i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= g->nnodes)
            return mt_diag_set(d, MT_ERR_ARG, "output %d is not a value", i);
        if (mt_graph_update_of(g, ids[i]))
            return mt_diag_set_at(d, MT_ERR_ARG, NULL, g->nodes[ids[i]].line, g->nodes[ids[i]].col,
                                  "%%%s has an update, so it cannot also be an output (its new "
                                  "value is written under its name)",
                                  g->nodes[ids[i]].name);
    }
    int *outs = mt_arena_alloc(&g->arena, (size_t)n * sizeof *outs);
    if (!outs)
        return mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
    memcpy(outs, ids, (size_t)n * sizeof *outs);
    g->outputs = outs;
    g->noutputs = n;
    g->has_outputs = 1;
    return MT_OK;
}

int mt_graph_is_output(const mt_graph *g, int id)
{
    for (int i = 0; i < g->noutputs; i++)
        if (g->outputs[i] == id)
            return 1;
    return 0;
}

const mt_update_line *mt_graph_update_of(const mt_graph *g, int target)
{
    for (int i = 0; i < g->nupdates; i++)
        if (g->updates[i].target == target)
            return &g->updates[i];
    return NULL;
}

mt_status mt_graph_add_update(mt_graph *g, int target, int value, const char *file, int line,
                              int col, mt_diag *d)
{
    if (!d)
        d = &g->diag;
    if (d->status != MT_OK)
        return d->status;
    if (target < 0 || target >= g->nnodes || value < 0 || value >= g->nnodes)
        return mt_diag_set_at(d, MT_ERR_ARG, file, line, col, "update: not a value");
    const mt_node *t = &g->nodes[target], *v = &g->nodes[value];
    if (t->op != MT_OP_PARAM && t->op != MT_OP_STATE)
        return mt_diag_set_at(d, MT_ERR_ARG, file, line, col,
                              "update: %%%s is %s %s, not a param or state", t->name,
                              t->op == MT_OP_INPUT ? "an" : "a", mt_op_name(t->op));
    if (mt_graph_update_of(g, target))
        return mt_diag_set_at(d, MT_ERR_ARG, file, line, col, "update: %%%s already has an update",
                              t->name);
    if (!mt_type_equal(&t->type, &v->type)) {
        char a[MT_TYPE_STR_MAX], b[MT_TYPE_STR_MAX];
        return mt_diag_set_at(d, MT_ERR_TYPE, file, line, col, "update: %%%s is %s but %%%s is %s",
                              t->name, mt_type_str(&t->type, a, sizeof a), v->name,
                              mt_type_str(&v->type, b, sizeof b));
    }
    if (mt_graph_is_output(g, target))
        return mt_diag_set_at(d, MT_ERR_ARG, file, line, col,
                              "update: %%%s is an output, so it cannot also have an update",
                              t->name);
    if (g->nupdates == g->updates_cap) {
        int cap = g->updates_cap ? 2 * g->updates_cap : 8;
        mt_update_line *u = mt_realloc(g->updates, (size_t)cap * sizeof *u);
        if (!u)
            return mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
        g->updates = u;
        g->updates_cap = cap;
    }
    g->updates[g->nupdates++] = (mt_update_line){target, value, line, col};
    return MT_OK;
}

mt_status mt_graph_set_note(mt_graph *g, int id, const char *note)
{
    if (id < 0 || id >= g->nnodes)
        return MT_ERR_ARG;
    char *s = mt_arena_strdup(&g->arena, note);
    if (!s)
        return MT_ERR_NOMEM;
    /* A note is a comment on one line: never let it end the line early. */
    for (char *p = s; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    g->nodes[id].note = s;
    return MT_OK;
}

int mt_graph_copy_node(mt_graph *dst, const mt_graph *src, int id, const int *map, mt_diag *d)
{
    const mt_node *n = &src->nodes[id];
    const char *name = mt_graph_find(dst, n->name) >= 0 ? NULL : n->name;
    if (mt_op_is(n->op, MT_F_LEAF))
        return mt_graph_add_leaf(dst, n->op, name, n->type, NULL, n->line, n->col, d);
    int in[64];
    for (int i = 0; i < n->nin; i++)
        in[i] = map[n->in[i]];
    const mt_type *declared = mt_op_is(n->op, MT_F_SOURCE) ? &n->type : NULL;
    return mt_graph_add(dst, n->op, in, n->nin, n->attrs, name, declared, NULL, n->line, n->col, d);
}

mt_status mt_graph_rename(mt_graph *g, int id, const char *name, mt_diag *d)
{
    if (!d)
        d = &g->diag;
    if (id < 0 || id >= g->nnodes || !name)
        return mt_diag_set(d, MT_ERR_ARG, "rename: no value %d", id);
    int other = mt_graph_find(g, name);
    if (other == id)
        return MT_OK;
    if (other >= 0)
        return mt_diag_set(d, MT_ERR_ARG, "rename: '%%%s' is already taken", name);
    if (name_too_long(name))
        return mt_diag_set(d, MT_ERR_ARG, "value name '%%%.40s...' is longer than %d characters",
                           name, MAX_NAME_LEN);
    if (!valid_name(name))
        return mt_diag_set(d, MT_ERR_ARG, "rename: bad value name '%s'", name);
    const char *copy = mt_arena_strdup(&g->arena, name);
    if (!copy)
        return mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
    g->nodes[id].name = copy;
    /* Rebuild the table: open addressing has no delete. */
    for (int i = 0; i < g->table_cap; i++)
        g->table[i] = -1;
    uint32_t mask = (uint32_t)g->table_cap - 1;
    for (int i = 0; i < g->nnodes; i++) {
        uint32_t j = hash(g->nodes[i].name) & mask;
        while (g->table[j] >= 0)
            j = (j + 1) & mask;
        g->table[j] = i;
    }
    return MT_OK;
}
