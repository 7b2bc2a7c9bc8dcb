/* autodiff.h - what the reverse-mode pass (autodiff.c) and its rule table (autodiff_rules.c)
 * share. Internal to the passes layer; the public entry point is mt_pass_grad in pass.h.
 */
#ifndef MT_PASSES_AUTODIFF_H
#define MT_PASSES_AUTODIFF_H

#include "ir/graph.h"

/* The state of one mt_pass_grad run, as the rules see it. */
typedef struct mt_ad {
    const mt_graph *src; /* the forward graph, read only */
    mt_graph *g;         /* the graph being built: forward copy, then backward nodes */
    const int *map;      /* src id -> id in g of its forward copy */
    mt_diag *d;
    char note[160]; /* provenance attached to every node emitted; "" for none */
} mt_ad;

/* Whether a gradient flows from a node of op `op` into its operand `k`: not into the operands of
 * comparisons, nor into the condition of `where`. */
int mt_ad_differentiable(mt_op op, int k);

/* Emits one node into ad->g with ad->note attached. Returns its id, or -1 with ad->d filled;
 * any operand id < 0 (an earlier failure) gives -1 too, so rules can chain calls and check once. */
int mt_ad_emit(mt_ad *ad, mt_op op, const int *in, int nin, const mt_attrs *attrs);
/* `const value=v` of shape `shape` (rank 0 for a scalar that broadcasts) in the graph's dtype. */
int mt_ad_const(mt_ad *ad, double v, const mt_type *shape);
/* The broadcasting rule, the one place it lives: sums `v` over every axis along which `to` was
 * stretched (`sum dim=k`), then reshapes to `to` when the ranks differ. Returns v unchanged when
 * it already has type `to`. */
int mt_ad_unbroadcast(mt_ad *ad, int v, const mt_type *to);

/* The vector-Jacobian product of src node `id` for operand `k`: given `dy` (the adjoint of the
 * node, in g, with the node's type), returns an id in g holding the contribution to the adjoint
 * of operand k, with that operand's type. Only called when mt_ad_differentiable(op, k). */
int mt_ad_vjp(mt_ad *ad, int id, int k, int dy);

#endif
