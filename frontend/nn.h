/* nn.h - layers, activations and losses: torch.nn and torch.nn.functional over the builder.
 *
 * Two forms, as in PyTorch:
 *  - functions `mt_nn_<op>(g, x, ...)` emit MTIR for one operation on value ids of g and return
 *    the result's id, or -1 with the error kept on g (like every builder call, so a model can
 *    be written in straight-line code and checked once);
 *  - constructors `mt_nn_<layer>_new(...)` return a module (frontend/module.h) whose forward
 *    takes one input and calls the function; layers with weights own them. They return NULL
 *    for bad arguments (a size < 1, p outside [0, 1]) or when out of memory.
 *
 * Layouts: Linear's weight is [in, out] (MiniTorch's; forward is x @ W + b, so x may have any
 * leading batch dims) and its bias [out]. Conv weights are PyTorch's [O, C, K...] and the bias
 * [O], added through a reshape to [1, O, 1] or [1, O, 1, 1].
 *
 * Initialisation (what a constructor draws with seed 0, and mt_module_init with any seed):
 * PyTorch's defaults, i.e. Kaiming-uniform with a = sqrt(5) for the weights and the uniform
 * bias rule, which both come to uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)), with fan_in = in for
 * Linear and C * K (conv1d) or C * KH * KW (conv2d) for conv. Parameter j of the tree (in
 * named_parameters order) uses Philox stream j of the seed; see mt_module_init.
 *
 * Reductions follow MTIR: `dim` may be negative, and the class axis of the losses is 1
 * ([B, classes] logits against one-hot [B, classes] labels).
 */
#ifndef MT_FRONTEND_NN_H
#define MT_FRONTEND_NN_H

#include "frontend/module.h"

/* ---- layers ---------------------------------------------------------------------------- */

/* Linear(in, out, bias): weight [in, out], bias [out] (when `bias`). */
mt_module *mt_nn_linear_new(int64_t in, int64_t out, int bias, mt_dtype dt);
/* Conv1d(in, out, kernel, stride, padding, bias): x[N, C, L] -> [N, O, L']. */
mt_module *mt_nn_conv1d_new(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                            int64_t padding, int bias, mt_dtype dt);
/* Conv2d: x[N, C, H, W] -> [N, O, H', W']; kernel, stride and padding per axis (h, w). */
mt_module *mt_nn_conv2d_new(int64_t in, int64_t out, const int64_t kernel[2],
                            const int64_t stride[2], const int64_t padding[2], int bias,
                            mt_dtype dt);
mt_module *mt_nn_relu_new(void);
mt_module *mt_nn_sigmoid_new(void);
mt_module *mt_nn_tanh_new(void);
mt_module *mt_nn_softmax_new(int dim);
mt_module *mt_nn_logsoftmax_new(int dim);
/* Dropout(p): see mt_nn_dropout; `seed` picks the masks (give each dropout layer its own). */
mt_module *mt_nn_dropout_new(double p, uint64_t seed);
/* Flatten(start_dim=1): [N, ...] -> [N, rest]. */
mt_module *mt_nn_flatten_new(void);
/* Pools with stride equal to the kernel, no padding, floor (MTIR's avgpool2d, maxpool2d). */
mt_module *mt_nn_avgpool2d_new(const int64_t kernel[2]);
mt_module *mt_nn_maxpool2d_new(const int64_t kernel[2]);
/* Sequential: forward runs the children in insertion order; add them with
 * mt_module_add_child(seq, NULL, layer) to name them "0", "1", ... as nn.Sequential does. */
mt_module *mt_nn_sequential_new(void);

/* ---- functions ------------------------------------------------------------------------- */

/* x @ w (+ b when b >= 0). */
int mt_nn_linear(mt_graph *g, int x, int w, int b);
/* conv (+ b reshaped to [1, O, 1] or [1, O, 1, 1] when b >= 0). */
int mt_nn_conv1d(mt_graph *g, int x, int w, int b, int64_t stride, int64_t padding);
int mt_nn_conv2d(mt_graph *g, int x, int w, int b, const int64_t stride[2],
                 const int64_t padding[2]);
/* Max-subtracted: s = x - max(x, dim); softmax = exp(s) / sum(exp(s), dim) and
 * logsoftmax = s - log(sum(exp(s), dim)). */
int mt_nn_softmax(mt_graph *g, int x, int dim);
int mt_nn_logsoftmax(mt_graph *g, int x, int dim);
/* [N, ...] -> [N, rest]. */
int mt_nn_flatten(mt_graph *g, int x);

/* Dropout with probability p: the identity when !training or p == 0; zeros when p == 1; else
 * x * mask / (1 - p) with mask = lt(rand_at(seed, shape of x, %step), 1 - p), so each element
 * is kept with probability 1 - p. %step is the graph's step counter (mt_nn_step_counter):
 * `mtc step` adds 1 to it every step, so every step draws a fresh mask, the same one on every
 * backend and run for the same seed and step. */
int mt_nn_dropout(mt_graph *g, int x, double p, uint64_t seed, int training);
/* The rank-0 `state %step` of g in dtype dt, declared on first use (a step graph made by
 * mt_pass_step increments it). -1 with an error on g when `step` names something else. */
int mt_nn_step_counter(mt_graph *g, mt_dtype dt);

/* ---- losses (each a rank-0 value) ------------------------------------------------------ */

/* Softmax cross-entropy of logits [B, C] against one-hot (or any probability) labels [B, C]:
 * -mean over B of sum over C of y * logsoftmax(logits, 1) (nn.CrossEntropyLoss with
 * probability targets). */
int mt_nn_cross_entropy(mt_graph *g, int logits, int y);
/* The same on log-probabilities: -mean(sum(y * logp, 1)) (nn.NLLLoss on one-hot labels). */
int mt_nn_nll(mt_graph *g, int logp, int y);
/* Binary cross-entropy of probabilities p: -mean(y log p + (1 - y) log(1 - p)), each log
 * clamped at -100 as nn.BCELoss does, so p of exactly 0 or 1 gives a finite loss. */
int mt_nn_bce(mt_graph *g, int p, int y);
/* The same loss of p = sigmoid(z) computed from the logits z in the stable form of
 * nn.BCEWithLogitsLoss: mean(max(z, 0) - z y + log(1 + exp(-|z|))); its gradient is
 * (sigmoid(z) - y) / n even where sigmoid(z) rounds to 0 or 1. */
int mt_nn_bce_logits(mt_graph *g, int z, int y);
/* mean((a - y)^2) (nn.MSELoss). */
int mt_nn_mse(mt_graph *g, int a, int y);

/* ---- accuracy (on computed tensors, not in the graph) ---------------------------------- */

/* How many of the B samples are classified correctly. With y : [B, C], C > 1 (one-hot), the
 * argmax of scores[b] (the first on ties) against that of y[b]; with y : [B, 1], scores[b] >
 * threshold against y[b] > 0.5 (threshold 0.5 for probabilities, 0 for logits). scores must
 * have y's shape. -1 when the shapes do not fit. */
int64_t mt_nn_count_correct(const mt_tensor *scores, const mt_tensor *y, double threshold);

#endif
