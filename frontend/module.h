/* module.h - the Module tree of MiniTorch and PyTorch, and tracing a module into MTIR.
 *
 * A module has a kind ("Linear"), a name within its parent ("fc2"), parameters (each a name, a
 * type and an initial value the module owns), child modules in insertion order, a `training`
 * flag and a forward function. Building a model is building a tree:
 *
 *     mt_module *net = mt_module_new("Net", NULL);
 *     mt_module_add_child(net, "conv1", mt_nn_conv2d_new(1, 8, k5, s1, p0, 1, MT_DTYPE_F32));
 *     ...
 *     mt_module_init(net, seed);           (PyTorch's default initialisation, seeded)
 *
 * Tracing (mt_module_trace) declares every parameter as a `param` leaf of a graph, named by its
 * dotted path in named_parameters order (`conv1.weight`, `fc2.bias`: the names checkpoints use
 * too), then calls forward on symbolic values: value ids of the graph. What forward emits
 * through the builder (mtc.h) is the model as MTIR. The builder keeps the first error on the
 * graph; the trace prefixes it with the path of the module whose forward raised it:
 * `fc2: matmul: inner dims of f32[64,120] and f32[84,10] differ`.
 *
 * Ownership: a module owns its parameters' tensors and its children; mt_module_free frees the
 * subtree. mt_module_add_child takes the child. Strings passed in are copied.
 */
#ifndef MT_FRONTEND_MODULE_H
#define MT_FRONTEND_MODULE_H

#include "ir/alloc.h"
#include "ir/graph.h"
#include "runtime/tensor.h"

typedef struct mt_module mt_module;

/* A module's forward: reads its inputs (value ids of g), emits ops through the builder and
 * returns the id of its result, or -1 with the error kept on g (mt_graph_diag). A forward
 * reaches its parameters with mt_module_param_id and calls children with mt_module_call. */
typedef int (*mt_forward_fn)(mt_module *m, mt_graph *g, const int *in, int nin);

/* The `(...)` part of the module's repr line, PyTorch's extra_repr: "in_features=2, ...". */
typedef void (*mt_extra_repr_fn)(const mt_module *m, mt_buf *b);

/* How mt_module_init draws a parameter: uniform on [-bound, bound), or zeros when bound is 0. */
typedef struct mt_parameter {
    char *name;       /* within its module: "weight" */
    mt_tensor *value; /* the initial value, owned; its type is the param's type */
    double bound;     /* init: uniform(-bound, bound); 0 for zeros */
    int id;           /* its value id in `graph` (the last graph it was declared into), or -1 */
    const mt_graph *graph;
} mt_parameter;

struct mt_module {
    char *kind;        /* "Linear"; what repr prints */
    char *name;        /* within the parent; NULL for a root */
    mt_module *parent; /* NULL for a root */
    mt_parameter *params;
    int nparams, params_cap;
    mt_module **children; /* in insertion order */
    int nchildren, children_cap;
    int training; /* 1 after mt_module_new and mt_module_train, 0 after mt_module_eval */
    mt_forward_fn forward;
    mt_extra_repr_fn extra_repr; /* NULL: nothing between the parentheses */
    void *data;                  /* the layer's settings (a flat struct), freed with mt_free */
    struct mt_trace *trace;      /* set on the root of a trace while it runs */
};

/* A module with no parameters or children. `kind` must be non-empty. `forward` may be NULL (a
 * container whose forward is never called; calling it is an error, as in MiniTorch). NULL when
 * out of memory. */
mt_module *mt_module_new(const char *kind, mt_forward_fn forward);
void mt_module_free(mt_module *m); /* frees the subtree; NULL is fine */

/* Adds a parameter of type `type` (zeros; `bound` as in mt_parameter) and returns its index, or
 * -1 (out of memory, a bad type, or a name that is empty, contains '.', or is taken by another
 * parameter or child of m). */
int mt_module_add_param(mt_module *m, const char *name, mt_type type, double bound);
/* Adds `child` (owned from now on, also on failure) under `name`; NULL `name` gives the next
 * index ("0", "1", ... as nn.Sequential). Returns child, or NULL on failure (out of memory, a
 * name as above). A child that already has a parent is refused and stays with that parent. */
mt_module *mt_module_add_child(mt_module *m, const char *name, mt_module *child);

/* Lookups by name: NULL / -1 when absent. */
mt_module *mt_module_child(const mt_module *m, const char *name);
mt_parameter *mt_module_param(const mt_module *m, const char *name);

/* Sets `training` on m and every descendant (MiniTorch's Module.train / eval). */
void mt_module_train(mt_module *m);
void mt_module_eval(mt_module *m);

/* ---- named_parameters ---------------------------------------------------------------- */

/* MiniTorch's named_parameters order: m's own parameters in insertion order, then each child's
 * (recursively), with dotted names relative to m: `p1`, `a.p2`, `b.c.p3`. */
int mt_module_nparams(const mt_module *m); /* the whole subtree */
/* The i-th parameter of that walk (0 <= i < mt_module_nparams(m)), or NULL. When `name` is not
 * NULL it receives the dotted name (truncated to `size`). */
mt_parameter *mt_module_param_at(const mt_module *m, int i, char *name, size_t size);

/* Calls fn for every parameter in named_parameters order; stops at the first non-zero return
 * and returns it. */
typedef int (*mt_param_visit_fn)(void *ctx, const char *dotted, mt_parameter *p);
int mt_module_visit_params(const mt_module *m, mt_param_visit_fn fn, void *ctx);

/* PyTorch's repr of the tree, e.g.
 *     Net(
 *       (conv1): Conv2d(1, 8, kernel_size=(5, 5), stride=(1, 1))
 *       (fc1): Linear(in_features=256, out_features=64, bias=True)
 *     )
 * The caller frees it with mt_free; NULL when out of memory. */
char *mt_module_repr(const mt_module *m);

/* ---- initial values -------------------------------------------------------------------- */

/* Draws every parameter of the subtree afresh, PyTorch's defaults as each layer set them
 * (nn.h): the parameter with index j in named_parameters order (relative to m) takes element
 * i = lo + (hi - lo) * mt_rand_f64_at(seed, j, i) (runtime/philox.h), with lo = -bound,
 * hi = bound, rounded once to the param's dtype; bound 0 gives zeros. So the same tree and
 * seed give the same numbers on every machine, and a layer's numbers depend only on its place
 * in the tree. Layer constructors call it with seed 0 on the new layer. */
void mt_module_init(mt_module *m, uint64_t seed);

/* A map of copies of every initial value, under the dotted names, in named_parameters order:
 * what a checkpoint (`--save`) holds and what a program binds. *out is NULL on failure. */
mt_status mt_module_state_dict(const mt_module *m, mt_tensor_map **out, mt_diag *d);
/* Replaces the initial value of every parameter named in `map` by a copy (`--load`); the type
 * must match exactly (an error names the parameter and both types). Parameters absent from
 * `map` keep theirs; names in `map` that are no parameter are ignored. *nloaded (may be NULL)
 * receives how many were replaced. On error no parameter has changed. */
mt_status mt_module_load(mt_module *m, const mt_tensor_map *map, int *nloaded, mt_diag *d);

/* ---- tracing --------------------------------------------------------------------------- */

/* Declares every parameter of m's subtree as a `param` leaf of g named by its dotted path,
 * in named_parameters order, then calls m's forward on `in` (nin value ids of g). Returns the
 * forward's result id, or -1 with the first error on g's diag, prefixed by the dotted path of
 * the module that raised it (nothing for m itself). After the call every parameter's `id`
 * refers to g, so forward may be called again on g (mt_module_call) sharing the weights. */
int mt_module_trace(mt_module *m, mt_graph *g, const int *in, int nin);
/* The first half of mt_module_trace: only declares the params. Returns 0 or -1. */
int mt_module_declare(mt_module *m, mt_graph *g);
/* Calls m's forward (m's params must be declared into g). What forwards use to call their
 * children: an error raised inside gets m's path as its prefix unless a descendant's call
 * already prefixed it. */
int mt_module_call(mt_module *m, mt_graph *g, const int *in, int nin);
/* The value id of m's parameter `name` in g, or -1 with an error on g (no such parameter, or
 * not declared into g). */
int mt_module_param_id(mt_module *m, mt_graph *g, const char *name);

#endif
