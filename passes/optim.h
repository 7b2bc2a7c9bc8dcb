/* optim.h - optimisers as a graph pass (passes/optim.c): `mtc step`.
 *
 * mt_pass_step turns a loss graph into its training step: forward, backward and the
 * optimiser's update of every trained param, as one step graph that compiles once and runs
 * for every batch with its params and optimiser state kept in place.
 */
#ifndef MT_PASSES_OPTIM_H
#define MT_PASSES_OPTIM_H

#include "ir/graph.h"

typedef enum mt_optim_kind { MT_OPTIM_SGD, MT_OPTIM_ADAM } mt_optim_kind;

/* torch.optim's settings, with its defaults from mt_optim_defaults. */
typedef struct mt_optim {
    mt_optim_kind kind;
    double lr;           /* SGD 0.01, Adam 0.001 */
    double momentum;     /* SGD only; 0: no momentum buffer */
    double weight_decay; /* added to the gradient: g + weight_decay * w */
    double beta1, beta2; /* Adam: 0.9, 0.999 */
    double eps;          /* Adam: 1e-8 */
    int data_parallel;   /* average every gradient over the ranks first (allreduce) */
} mt_optim;

void mt_optim_defaults(mt_optim *o, mt_optim_kind kind);

/* The step graph of `loss` (borrowed), training the params `wrt` (value ids of loss; NULL or
 * 0 for every param). *out is NULL on failure. */
mt_status mt_pass_step(const mt_graph *loss, const mt_optim *o, const int *wrt, int nwrt,
                       mt_graph **out, mt_diag *d);

#endif
