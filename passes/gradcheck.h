/* gradcheck.h - checking autodiff against central differences in f64.
 *
 * The numeric oracle for the gradient pass, shared by `mtc gradcheck` and the unit tests. The
 * graphs handled here are f64 (mt_gradcheck_to_f64 makes one) and run on the reference
 * interpreter. Leaves arrays are indexed by node id, as in runtime/interp.h.
 */
#ifndef MT_PASSES_GRADCHECK_H
#define MT_PASSES_GRADCHECK_H

#include <stdint.h>

#include "ir/graph.h"
#include "runtime/tensor.h"

/* Rebuilds g with every value in f64: the types of inputs and params and the declared types of
 * const and rand change, everything else (names, attributes, outputs, notes) is kept. */
mt_status mt_gradcheck_to_f64(const mt_graph *g, mt_graph **out, mt_diag *d);

/* Fills t with values uniform in [lo, hi) drawn from a splitmix64 stream at *state. */
void mt_gradcheck_fill(mt_tensor *t, uint64_t *state, double lo, double hi);

/* A new tensor for every input and param of g (other slots NULL; the caller frees them):
 * uniform(-1,1), except uniform(0.5,1.5) for a leaf that is directly the operand of log, sqrt
 * or inv, the base of pow or the divisor of div, so that those stay finite and smooth. */
mt_status mt_gradcheck_random_leaves(const mt_graph *g, uint64_t seed, mt_tensor **leaves,
                                     mt_diag *d);

/* The gradient of g's first output (f64, one element) with respect to the leaf `wrt` by
 * central differences: (f(x + eps e_i) - f(x - eps e_i)) / (2 eps) for each element i. *out is
 * a new tensor of the leaf's type. */
mt_status mt_gradcheck_numeric(const mt_graph *g, const mt_tensor *const *leaves, int wrt,
                               double eps, mt_tensor **out, mt_diag *d);

/* Whether an analytic value a agrees with a numeric value n: |a - n| <= tol * max(1, |n|),
 * i.e. an absolute tolerance for small gradients and a relative one for large. */
int mt_gradcheck_close(double a, double n, double tol);

typedef struct mt_gradcheck_result {
    int wrt;        /* node id of the leaf in g */
    double max_abs; /* max over elements of |analytic - numeric| */
    double max_rel; /* max of |analytic - numeric| / max(|analytic|, |numeric|) (0 when both 0) */
    int ok;         /* every element is mt_gradcheck_close */
} mt_gradcheck_result;

/* Differentiates g (f64) with mt_pass_grad with respect to wrt[0..nwrt), runs the gradient
 * graph on the interpreter and compares each gradient with mt_gradcheck_numeric. `res` has
 * nwrt slots. */
mt_status mt_gradcheck_compare(const mt_graph *g, const mt_tensor *const *leaves, const int *wrt,
                               int nwrt, double eps, double tol, mt_gradcheck_result *res,
                               mt_diag *d);

typedef struct mt_gradcheck_node {
    int node;       /* the first node (in id order) whose rule disagrees; -1 when none does */
    int operand;    /* which of its operands */
    double max_abs; /* as in mt_gradcheck_result */
    double max_rel;
} mt_gradcheck_node;

/* Checks every node's vector-Jacobian rule in place: for node y = op(x0, x1, ...) of g (f64)
 * with the operand values it has on `leaves`, builds the one-node graph
 * L = sum(op(x0, x1, ...) * r), r random (from `seed`), and compares its gradients with respect
 * to each differentiable operand, which are the rule applied to r, with central differences.
 * Fills *bad with the first node that disagrees. */
mt_status mt_gradcheck_nodes(const mt_graph *g, const mt_tensor *const *leaves, uint64_t seed,
                             double eps, double tol, mt_gradcheck_node *bad, mt_diag *d);

#endif
