/* graph.h - the graph IR: SSA nodes in definition order, owned by one arena.
 *
 * A node is a value: its id is its index in `nodes`, and operands always have smaller ids
 * (definition before use), so the node array is already a topological order. Leaves
 * (input, param, state) are nodes too. Nodes are never removed: a pass builds a new graph.
 *
 * A step graph also has updates: `update %p <- %v` says that after a run the param or state
 * p takes the value of node v. Every node of the run reads the old p; the graph stays a pure
 * function from (params, state, inputs) to (new params, new state, outputs).
 */
#ifndef MT_IR_GRAPH_H
#define MT_IR_GRAPH_H

#include "ir/arena.h"
#include "ir/op.h"
#include "ir/type.h"

typedef struct mt_node {
    mt_op op;
    const char *name; /* value name without '%', unique in the graph; arena */
    mt_type type;
    int nin;
    const int *in; /* operand ids, all smaller than this node's id; arena */
    /* Never NULL: mt_attrs_default() for the many nodes with default attributes, else a copy
     * in the graph's arena, so a node costs its attributes only when it has some
     * (docs/scaling.md: an inline mt_attrs was 600 of a node's 700 bytes). */
    const mt_attrs *attrs;
    int line, col;    /* where MTIR defined it; 0 for built nodes */
    const char *note; /* optional comment printed after the node (provenance); arena */
} mt_node;

/* `update %target <- %value`, where MTIR wrote it (0 for built ones). */
typedef struct mt_update_line {
    int target; /* a param or state leaf */
    int value;  /* any node of the same type */
    int line, col;
} mt_update_line;

struct mt_graph {
    mt_arena arena;
    const char *name; /* arena */
    mt_node *nodes;   /* mt_realloc'd: ids must stay dense */
    int nnodes, cap;
    int *outputs; /* arena */
    int noutputs;
    int has_outputs;
    mt_update_line *updates; /* mt_realloc'd, in the order they were added */
    int nupdates, updates_cap;
    int *table;    /* name hash table of node ids, -1 when empty; mt_realloc'd */
    int table_cap; /* a power of two */
    int fresh;     /* counter for generated names */
    mt_diag diag;  /* first builder error */
};

/* Adds a node after shape inference. `in` and `attrs` are copied (attrs may be NULL for
 * defaults); `name` NULL picks a fresh one. `declared`, when non-NULL, must equal the inferred
 * type (const and rand take their type from it). Errors go to `d` (the graph's own diag when
 * `d` is NULL) with the given source location (file may be NULL) and return -1. */
int mt_graph_add(mt_graph *g, mt_op op, const int *in, int nin, const mt_attrs *attrs,
                 const char *name, const mt_type *declared, const char *file, int line, int col,
                 mt_diag *d);
/* Adds an input or param leaf. */
int mt_graph_add_leaf(mt_graph *g, mt_op op, const char *name, mt_type type, const char *file,
                      int line, int col, mt_diag *d);
/* Adds `update %target <- %value`: target must be a param or state without an update yet,
 * value a node of the same type, and neither an output. Errors carry the location. */
mt_status mt_graph_add_update(mt_graph *g, int target, int value, const char *file, int line,
                              int col, mt_diag *d);
/* The update of leaf `target`, or NULL. */
const mt_update_line *mt_graph_update_of(const mt_graph *g, int target);
/* Whether node id is one of the graph's outputs. */
int mt_graph_is_output(const mt_graph *g, int id);
/* Sets the graph's outputs (copied). */
mt_status mt_graph_set_outputs(mt_graph *g, const int *ids, int n, mt_diag *d);
/* Adds to dst a copy of src's node `id` with its operands mapped through `map` (src id -> dst id).
 * Leaves stay leaves. The name is kept when it is free in dst, else a fresh one is picked. */
int mt_graph_copy_node(mt_graph *dst, const mt_graph *src, int id, const int *map, mt_diag *d);
/* Renames value id (the name must be valid and free). */
mt_status mt_graph_rename(mt_graph *g, int id, const char *name, mt_diag *d);
/* Attaches a comment to node id (copied). */
mt_status mt_graph_set_note(mt_graph *g, int id, const char *note);

/* A pointer into g->nodes (this, or &g->nodes[id].type) is invalidated by the next node added to
 * g: copy what you need (an mt_type is a value) before adding nodes. */
static inline const mt_node *mt_graph_node(const mt_graph *g, int id) { return &g->nodes[id]; }

/* Computes the result type of `op` on operand types `in`. May rewrite attrs into canonical form
 * (reshape's -1 resolved). On error fills msg ("add: shapes f32[4,3] and f32[5] do not
 * broadcast") and returns MT_ERR_SHAPE or MT_ERR_TYPE. For const and rand the result is
 * `*declared`, which must then be non-NULL. */
mt_status mt_infer_type(mt_op op, const mt_type *const *in, int nin, mt_attrs *attrs,
                        const mt_type *declared, mt_type *out, char *msg, size_t msgsize);

/* Printing options for mt_graph_print_ex. */
#define MT_PRINT_NOTES 1u /* print each node's note as a trailing comment */
char *mt_graph_print_ex(const mt_graph *g, unsigned flags);

#endif
