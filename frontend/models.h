/* models.h - the built-in models of `mtc train` (SPEC section 4) as modules and loss graphs.
 *
 *   minitorch  MiniTorch's Module 3 network: layer1 Linear(F, H), ReLU, layer2 Linear(H, H),
 *              ReLU, layer3 Linear(H, 1), sigmoid; binary cross-entropy. H defaults to 10.
 *              Labels y : [B, 1] (classes must be 1); F is 2 for MiniTorch's data sets.
 *   mlp        fc1 Linear(F, H), ReLU, fc2 Linear(H, H/2), ReLU, fc3 Linear(H/2, classes);
 *              softmax cross-entropy. H defaults to 256 (at least 2).
 *   lenet      conv1 Conv2d(1, 8, 5x5), ReLU, 2x2 max-pool, conv2 Conv2d(8, 16, 5x5), ReLU,
 *              2x2 max-pool, flatten, fc1 Linear(16*S2*S2, 64), ReLU, fc2 Linear(64, classes);
 *              softmax cross-entropy. Each sample is one square channel: F = S*S (784 -> 28x28;
 *              S2 = ((S-4)/2 - 4)/2 must be >= 1, so S >= 16). `hidden` is ignored.
 *
 * Every model is f32. Its params are named by their module paths (`layer1.weight`,
 * `conv2.bias`, `fc1.weight`; Linear weights [in, out]) and initialised as PyTorch does,
 * seeded (nn.h, mt_module_init).
 *
 * The loss graph of a model, one batch of B samples (graph name = the model's name):
 *   input %x : f32[B, F] (minitorch, mlp) or f32[B, 1, S, S] (lenet)
 *   input %y : f32[B, 1] (minitorch) or f32[B, classes] one-hot (mlp, lenet)
 *   the params, in named_parameters order
 *   output %loss (rank 0, the first output), then %pred : f32[B, 1] (minitorch: sigmoid
 *   probabilities) or %logits : f32[B, classes] (mlp, lenet)
 * minitorch's loss is the binary cross-entropy of sigmoid(z) computed from the logits z in the
 * stable form (mt_nn_bce_logits): the same numbers as nn.BCELoss wherever those are finite, and
 * no infinite loss or NaN gradient when a probability rounds to 0 or 1 in f32.
 * mt_pass_step (passes/optim.h) turns it into the training step.
 */
#ifndef MT_FRONTEND_MODELS_H
#define MT_FRONTEND_MODELS_H

#include "frontend/module.h"

/* Whether `name` is a built-in model. */
int mt_model_is_builtin(const char *name);

/* The module tree of model `name` for samples of `features` values and `classes` classes
 * (the width of y), with `hidden` units (0: the model's default), initialised with `seed`.
 * Errors (unknown name, sizes that do not fit the model) are MT_ERR_ARG with a message naming
 * the model; *out is NULL then. The caller frees *out with mt_module_free. */
mt_status mt_model_new(const char *name, int64_t features, int64_t classes, int64_t hidden,
                       uint64_t seed, mt_module **out, mt_diag *d);

/* The loss graph (layout above) of a module made by mt_model_new, for batches of `batch`
 * samples, traced in the module's current mode (mt_module_train / mt_module_eval). */
mt_status mt_model_loss_graph(mt_module *m, int64_t batch, mt_graph **out, mt_diag *d);

/* Both at once: the loss graph of model `name` and the initial value of every param under its
 * name (what `mtc train` feeds, saves and loads). On failure both are NULL. */
mt_status mt_model_build(const char *name, int64_t batch, int64_t features, int64_t classes,
                         int64_t hidden, uint64_t seed, mt_graph **loss, mt_tensor_map **init,
                         mt_diag *d);

#endif
