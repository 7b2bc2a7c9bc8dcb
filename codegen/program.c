/* program.c - the program API of mtc.h: a graph compiled for a target, fed and read by name.
 *
 * The program owns the storage of its slots; the target (codegen/target.h) owns its compiled
 * form and sees only raw pointers, one per leaf and one per output, resolved here before each
 * run. Every buffer a run needs is allocated before it (params at compile, an input's at its
 * first mt_program_set, an unbound output's at the first run that writes it), so repeated runs
 * allocate nothing here.
 *
 * Params and state live in `own` for the program's whole life, never in a caller's buffer:
 * a step graph's run leaves each updated param or state holding its new value there (the
 * target stores it in place where memory planning proved nothing reads the old value any
 * more, else copies it in after the last kernel), so the next run reads it. A device target
 * (target.h: upload, download) keeps its own copy of each param and state instead: `own` is
 * then brought up to date lazily, copied to the device before the first run after it was
 * stored, and back from it before it is read after a run that updated it.
 */
#include <stdio.h>
#include <string.h>

#include "codegen/target.h"
#include "ir/alloc.h"
#include "ir/type.h"
#include "runtime/tensor.h"

typedef struct slot {
    char *name; /* owned */
    mt_slot_kind kind;
    mt_type type;
    size_t nbytes;
    int node;    /* leaves: the node id in the compiled graph; outputs: -1 */
    void *own;   /* the program's storage (see the file comment); NULL until needed */
    void *bound; /* the caller's buffer: an input's (only read) or an output's; or NULL */
    /* Where the slot's current value lives: for leaves own or bound, for outputs where the last
     * run wrote them; NULL while there is none. */
    const void *value;
    /* Device targets: the device's copy is older than `own` (upload it before the next run),
     * or newer (download it before `own` is read); `updated` by every run (a step graph's
     * update target). */
    int to_device, on_device, updated;
} slot;

struct mt_program {
    const mt_target *target;
    void *impl; /* the target's */
    int nslots, nleaves;
    slot *slots; /* the leaves in graph order, then the outputs */
    int nnodes, noutputs;
    int *output_slot; /* graph output i -> its slot */
    /* A run's pointers, allocated once: by node id, and by graph output. */
    const void **leaves;
    void **outputs;
};

/* ---- compile and free ------------------------------------------------------------------ */

static int leaf_kind(mt_op op)
{
    switch (op) {
    case MT_OP_INPUT: return MT_SLOT_INPUT;
    case MT_OP_PARAM: return MT_SLOT_PARAM;
    case MT_OP_STATE: return MT_SLOT_STATE;
    default: return -1;
    }
}

static const char *kind_name(mt_slot_kind k)
{
    switch (k) {
    case MT_SLOT_INPUT: return "input";
    case MT_SLOT_PARAM: return "param";
    case MT_SLOT_STATE: return "state";
    case MT_SLOT_OUTPUT: return "output";
    }
    return "?";
}

static int add_slot(mt_program *p, const mt_node *n, mt_slot_kind kind)
{
    slot *s = &p->slots[p->nslots++];
    size_t len = strlen(n->name) + 1;
    s->name = mt_malloc(len);
    if (!s->name)
        return 0;
    memcpy(s->name, n->name, len);
    s->kind = kind;
    s->type = n->type;
    s->nbytes = (size_t)mt_type_numel(&n->type) * mt_dtype_size(n->type.dtype);
    s->node = -1;
    return 1;
}

/* The slots of g: every leaf, then every output once. 0 when out of memory. */
static int make_slots(mt_program *p, const mt_graph *g)
{
    p->slots = mt_calloc((size_t)g->nnodes + (size_t)g->noutputs + 1, sizeof *p->slots);
    p->output_slot = mt_calloc((size_t)g->noutputs + 1, sizeof *p->output_slot);
    p->leaves = mt_calloc((size_t)g->nnodes + 1, sizeof *p->leaves);
    p->outputs = mt_calloc((size_t)g->noutputs + 1, sizeof *p->outputs);
    if (!p->slots || !p->output_slot || !p->leaves || !p->outputs)
        return 0;
    p->nnodes = g->nnodes;
    p->noutputs = g->noutputs;
    for (int id = 0; id < g->nnodes; id++) {
        int kind = leaf_kind(g->nodes[id].op);
        if (kind < 0)
            continue;
        if (!add_slot(p, &g->nodes[id], (mt_slot_kind)kind))
            return 0;
        slot *s = &p->slots[p->nslots - 1];
        s->node = id;
        /* Params and state start at zero and are always there. */
        if (kind != MT_SLOT_INPUT) {
            if (!(s->own = mt_calloc(1, s->nbytes)))
                return 0;
            s->value = s->own;
            s->to_device = 1;
        }
        for (int u = 0; u < g->nupdates; u++)
            s->updated |= g->updates[u].target == id;
    }
    p->nleaves = p->nslots;
    for (int i = 0; i < g->noutputs; i++) {
        const mt_node *n = &g->nodes[g->outputs[i]];
        int found = -1;
        for (int k = p->nleaves; k < p->nslots && found < 0; k++)
            if (!strcmp(p->slots[k].name, n->name))
                found = k;
        if (found < 0) {
            if (!add_slot(p, n, MT_SLOT_OUTPUT))
                return 0;
            found = p->nslots - 1;
        }
        p->output_slot[i] = found;
    }
    return 1;
}

void mt_program_free(mt_program *p)
{
    if (!p)
        return;
    if (p->impl)
        p->target->free(p->impl);
    for (int i = 0; i < p->nslots; i++) {
        mt_free(p->slots[i].name);
        mt_free(p->slots[i].own);
    }
    mt_free(p->slots);
    mt_free(p->output_slot);
    mt_free(p->leaves);
    mt_free(p->outputs);
    mt_free(p);
}

/* "interp, cpu, cuda or opencl". */
static void list_targets(char *buf, size_t size)
{
    size_t at = 0;
    buf[0] = 0;
    for (int i = 0; mt_target_name(i) && at < size; i++) {
        const char *sep = i == 0 ? "" : mt_target_name(i + 1) ? ", " : " or ";
        int n = snprintf(buf + at, size - at, "%s%s", sep, mt_target_name(i));
        at += n > 0 ? (size_t)n : 0;
    }
}

mt_status mt_program_compile(const mt_graph *g, const char *target, mt_program **out, mt_diag *d)
{
    *out = NULL;
    if (!g || !target)
        return mt_diag_set(d, MT_ERR_ARG, "mt_program_compile: %s is NULL",
                           !g ? "the graph" : "the target name");
    const mt_target *t = mt_target_lookup(target);
    if (!t) {
        char names[128];
        list_targets(names, sizeof names);
        return mt_diag_set(d, MT_ERR_ARG, "unknown target '%s' (%s)", target, names);
    }
    if (!t->compile)
        return mt_diag_set(d, MT_ERR_UNSUPPORTED, "target '%s' is not available in this build",
                           target);
    if (mt_graph_diag(g)->status != MT_OK)
        return mt_diag_set(d, MT_ERR_ARG, "the graph has a builder error: %s",
                           mt_graph_diag(g)->msg);
    mt_status st = mt_graph_verify(g, d);
    if (st != MT_OK)
        return st;
    mt_program *p = mt_calloc(1, sizeof *p);
    if (!p)
        return mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
    p->target = t;
    if (!make_slots(p, g))
        st = mt_diag_set(d, MT_ERR_NOMEM, "out of memory for the slots of '%s'", g->name);
    if (st == MT_OK)
        st = t->compile(g, &p->impl, d);
    if (st != MT_OK) {
        mt_program_free(p);
        return st;
    }
    *out = p;
    return MT_OK;
}

const char *mt_program_target(const mt_program *p) { return p->target->name; }

mt_status mt_program_set_kernel_timer(mt_program *p, mt_kernel_timer timer, void *ctx, mt_diag *d)
{
    if (!p->target->set_timer)
        return mt_diag_set(d, MT_ERR_UNSUPPORTED, "target '%s' cannot time its kernels",
                           p->target->name);
    p->target->set_timer(p->impl, timer, ctx);
    return MT_OK;
}

void *mt_program_impl(const mt_program *p) { return p->impl; }

mt_status mt_program_set_threads(mt_program *p, int n, mt_diag *d)
{
    if (n < 1)
        return mt_diag_set(d, MT_ERR_ARG, "thread count must be >= 1, got %d", n);
    return p->target->set_threads ? p->target->set_threads(p->impl, n, d) : MT_OK;
}

/* ---- introspection --------------------------------------------------------------------- */

int mt_program_nslots(const mt_program *p) { return p->nslots; }

int mt_program_find(const mt_program *p, const char *name)
{
    for (int i = 0; name && i < p->nslots; i++)
        if (!strcmp(p->slots[i].name, name))
            return i;
    return -1;
}

static const slot *slot_at(const mt_program *p, int i)
{
    return i >= 0 && i < p->nslots ? &p->slots[i] : NULL;
}

const char *mt_program_slot_name(const mt_program *p, int i)
{
    const slot *s = slot_at(p, i);
    return s ? s->name : NULL;
}

mt_slot_kind mt_program_slot_kind(const mt_program *p, int i)
{
    const slot *s = slot_at(p, i);
    return s ? s->kind : (mt_slot_kind)-1;
}

const mt_type *mt_program_slot_type(const mt_program *p, int i)
{
    const slot *s = slot_at(p, i);
    return s ? &s->type : NULL;
}

size_t mt_program_slot_nbytes(const mt_program *p, int i)
{
    const slot *s = slot_at(p, i);
    return s ? s->nbytes : 0;
}

/* ---- feeding and reading by name ------------------------------------------------------- */

/* The leaf (input, param or state) named `name`, or NULL with d set. `call` names the API call
 * in the message. */
static slot *find_leaf(mt_program *p, const char *name, const char *call, mt_diag *d)
{
    for (int i = 0; name && i < p->nleaves; i++)
        if (!strcmp(p->slots[i].name, name))
            return &p->slots[i];
    int other = mt_program_find(p, name);
    if (other >= 0)
        mt_diag_set(d, MT_ERR_ARG, "%s: %%%s is an output: runs write it", call, name);
    else
        mt_diag_set(d, MT_ERR_ARG, "%s: the program has no input, param or state named '%s'", call,
                    name ? name : "(null)");
    return NULL;
}

/* Checks the caller's byte count and pointer against slot s. */
static mt_status check_bytes(const slot *s, const void *data, size_t nbytes, const char *call,
                             mt_diag *d)
{
    char t[MT_TYPE_STR_MAX];
    if (nbytes != s->nbytes)
        return mt_diag_set(d, MT_ERR_ARG, "%s: %%%s is %s (%zu bytes) but %zu bytes were given",
                           call, s->name, mt_type_str(&s->type, t, sizeof t), s->nbytes, nbytes);
    if (!data)
        return mt_diag_set(d, MT_ERR_ARG, "%s: the data for %%%s is NULL", call, s->name);
    return MT_OK;
}

/* Copies into the slot's own storage, allocated on first use. */
static mt_status store(slot *s, const void *data, mt_diag *d)
{
    if (!s->own && !(s->own = mt_malloc(s->nbytes)))
        return mt_diag_set(d, MT_ERR_NOMEM, "out of memory for %%%s", s->name);
    if (data)
        memcpy(s->own, data, s->nbytes);
    else
        memset(s->own, 0, s->nbytes);
    s->bound = NULL;
    s->value = s->own;
    s->to_device = 1;
    s->on_device = 0;
    return MT_OK;
}

mt_status mt_program_set(mt_program *p, const char *name, const void *data, size_t nbytes,
                         mt_diag *d)
{
    slot *s = find_leaf(p, name, "mt_program_set", d);
    if (!s)
        return MT_ERR_ARG;
    mt_status st = check_bytes(s, data, nbytes, "mt_program_set", d);
    return st == MT_OK ? store(s, data, d) : st;
}

/* "tensor 'x' is f64[2,3] but %x is declared f32[2,3]" (at `source` when there is one). */
static mt_status check_tensor(const slot *s, const mt_tensor *t, const char *source, mt_diag *d)
{
    if (mt_type_equal(&t->type, &s->type))
        return MT_OK;
    char a[MT_TYPE_STR_MAX], b[MT_TYPE_STR_MAX];
    return mt_diag_set_at(d, MT_ERR_ARG, source, 0, 0, "tensor '%s' is %s but %%%s is declared %s",
                          s->name, mt_type_str(&t->type, a, sizeof a), s->name,
                          mt_type_str(&s->type, b, sizeof b));
}

mt_status mt_program_set_tensor(mt_program *p, const char *name, const mt_tensor *t, mt_diag *d)
{
    slot *s = find_leaf(p, name, "mt_program_set_tensor", d);
    if (!s)
        return MT_ERR_ARG;
    if (!t)
        return mt_diag_set(d, MT_ERR_ARG, "mt_program_set_tensor: the tensor for %%%s is NULL",
                           name);
    mt_status st = check_tensor(s, t, NULL, d);
    return st == MT_OK ? store(s, t->data, d) : st;
}

mt_status mt_program_load(mt_program *p, const mt_tensor_map *m, const char *source, mt_diag *d)
{
    if (!m)
        return mt_diag_set(d, MT_ERR_ARG, "mt_program_load: the tensor map is NULL");
    /* Everything is checked before anything is set. */
    for (int i = 0; i < p->nleaves; i++) {
        const slot *s = &p->slots[i];
        const mt_tensor *t = mt_tensor_map_get(m, s->name);
        if (!t && s->kind != MT_SLOT_STATE)
            return mt_diag_set_at(d, MT_ERR_ARG, source, 0, 0, "missing tensor '%s' for %s %%%s",
                                  s->name, kind_name(s->kind), s->name);
        mt_status st = t ? check_tensor(s, t, source, d) : MT_OK;
        if (st != MT_OK)
            return st;
    }
    for (int i = 0; i < p->nleaves; i++) {
        const mt_tensor *t = mt_tensor_map_get(m, p->slots[i].name);
        mt_status st = store(&p->slots[i], t ? t->data : NULL, d);
        if (st != MT_OK)
            return st;
    }
    return MT_OK;
}

mt_status mt_program_bind_input(mt_program *p, const char *name, const void *data, size_t nbytes,
                                mt_diag *d)
{
    slot *s = find_leaf(p, name, "mt_program_bind_input", d);
    if (!s)
        return MT_ERR_ARG;
    if (s->kind != MT_SLOT_INPUT)
        return mt_diag_set(d, MT_ERR_ARG,
                           "mt_program_bind_input: %%%s is a %s: the program keeps it, set it "
                           "with mt_program_set",
                           name, kind_name(s->kind));
    if (!data) {
        s->bound = NULL;
        s->value = s->own;
        return MT_OK;
    }
    mt_status st = check_bytes(s, data, nbytes, "mt_program_bind_input", d);
    if (st != MT_OK)
        return st;
    s->bound = (void *)data; /* only ever read */
    s->value = data;
    return MT_OK;
}

mt_status mt_program_bind_output(mt_program *p, const char *name, void *data, size_t nbytes,
                                 mt_diag *d)
{
    slot *s = NULL;
    for (int i = p->nleaves; name && i < p->nslots && !s; i++)
        if (!strcmp(p->slots[i].name, name))
            s = &p->slots[i];
    if (!s)
        return mt_diag_set(
            d, MT_ERR_ARG, "mt_program_bind_output: the program has no output named '%s'%s",
            name ? name : "(null)",
            mt_program_find(p, name) >= 0 ? " (it is an input, param or state)" : "");
    mt_status st = data ? check_bytes(s, data, nbytes, "mt_program_bind_output", d) : MT_OK;
    if (st == MT_OK)
        s->bound = data;
    return st;
}

/* Brings `own` of a param or state up to date with a device target's copy. The program is
 * logically const: its value does not change, only where it is held. */
static mt_status sync_host(const mt_program *p, const slot *s, mt_diag *d)
{
    if (!s->on_device)
        return MT_OK;
    mt_status st = p->target->download(p->impl, s->node, s->own, d);
    if (st == MT_OK)
        ((slot *)s)->on_device = 0;
    return st;
}

/* The slot named `name` with a value, or NULL with d set. */
static const slot *readable(const mt_program *p, const char *name, const char *call, mt_diag *d)
{
    const slot *s = slot_at(p, mt_program_find(p, name));
    if (!s)
        mt_diag_set(d, MT_ERR_ARG, "%s: the program has no value named '%s'", call,
                    name ? name : "(null)");
    else if (!s->value)
        mt_diag_set(d, MT_ERR_ARG, "%s: %%%s has no value yet: %s", call, name,
                    s->kind == MT_SLOT_OUTPUT ? "run the program first" : "set or bind it first");
    return s && s->value ? s : NULL;
}

mt_status mt_program_get(const mt_program *p, const char *name, void *dst, size_t nbytes,
                         mt_diag *d)
{
    const slot *s = readable(p, name, "mt_program_get", d);
    if (!s)
        return MT_ERR_ARG;
    mt_status st = check_bytes(s, dst, nbytes, "mt_program_get", d);
    if (st == MT_OK)
        st = sync_host(p, s, d);
    if (st == MT_OK)
        memcpy(dst, s->value, s->nbytes);
    return st;
}

const void *mt_program_data(const mt_program *p, const char *name)
{
    const slot *s = slot_at(p, mt_program_find(p, name));
    return s && sync_host(p, s, NULL) == MT_OK ? s->value : NULL;
}

mt_status mt_program_outputs(const mt_program *p, mt_tensor_map **out, mt_diag *d)
{
    *out = NULL;
    mt_tensor_map *m = mt_tensor_map_new();
    if (!m)
        return mt_diag_set(d, MT_ERR_NOMEM, "out of memory collecting outputs");
    for (int i = p->nleaves; i < p->nslots; i++) {
        const slot *s = &p->slots[i];
        if (!s->value) {
            mt_tensor_map_free(m);
            return mt_diag_set(d, MT_ERR_ARG,
                               "mt_program_outputs: %%%s has no value yet: run the program first",
                               s->name);
        }
        mt_tensor *t = mt_tensor_new(s->type);
        if (t)
            memcpy(t->data, s->value, s->nbytes);
        if (!t || mt_tensor_map_put(m, s->name, t) != MT_OK) {
            mt_tensor_map_free(m);
            return mt_diag_set(d, MT_ERR_NOMEM, "out of memory collecting outputs");
        }
    }
    *out = m;
    return MT_OK;
}

mt_status mt_program_params(const mt_program *p, mt_tensor_map **out, mt_diag *d)
{
    *out = NULL;
    mt_tensor_map *m = mt_tensor_map_new();
    if (!m)
        return mt_diag_set(d, MT_ERR_NOMEM, "out of memory collecting params");
    for (int i = 0; i < p->nleaves; i++) {
        const slot *s = &p->slots[i];
        if (s->kind != MT_SLOT_PARAM && s->kind != MT_SLOT_STATE)
            continue;
        mt_status st = sync_host(p, s, d);
        if (st != MT_OK) {
            mt_tensor_map_free(m);
            return st;
        }
        mt_tensor *t = mt_tensor_new(s->type);
        if (t)
            memcpy(t->data, s->value, s->nbytes);
        if (!t || mt_tensor_map_put(m, s->name, t) != MT_OK) {
            mt_tensor_map_free(m);
            return mt_diag_set(d, MT_ERR_NOMEM, "out of memory collecting params");
        }
    }
    *out = m;
    return MT_OK;
}

/* ---- running --------------------------------------------------------------------------- */

mt_status mt_program_run(mt_program *p, mt_diag *d)
{
    for (int i = 0; i < p->nleaves; i++) {
        const slot *s = &p->slots[i];
        if (!s->value)
            return mt_diag_set(d, MT_ERR_ARG,
                               "mt_program_run: input %%%s is not set (mt_program_set or "
                               "mt_program_bind_input)",
                               s->name);
        p->leaves[s->node] = s->value;
    }
    for (int i = p->nleaves; i < p->nslots; i++) {
        slot *s = &p->slots[i];
        if (!s->bound && !s->own && !(s->own = mt_malloc(s->nbytes)))
            return mt_diag_set(d, MT_ERR_NOMEM, "out of memory for output %%%s", s->name);
        s->value = NULL; /* until the run has written it */
    }
    for (int i = 0; i < p->noutputs; i++) {
        const slot *s = &p->slots[p->output_slot[i]];
        p->outputs[i] = s->bound ? s->bound : s->own;
    }
    /* A device target gets the params and state stored since its last run. */
    for (int i = 0; p->target->upload && i < p->nleaves; i++) {
        slot *s = &p->slots[i];
        if (!s->to_device || s->kind == MT_SLOT_INPUT)
            continue;
        mt_status st = p->target->upload(p->impl, s->node, s->own, d);
        if (st != MT_OK)
            return st;
        s->to_device = 0;
    }
    mt_status st = p->target->run(p->impl, p->leaves, p->outputs, d);
    if (st == MT_OK)
        for (int i = 0; i < p->noutputs; i++)
            p->slots[p->output_slot[i]].value = p->outputs[i];
    for (int i = 0; st == MT_OK && p->target->download && i < p->nleaves; i++)
        p->slots[i].on_device |= p->slots[i].updated;
    return st;
}
