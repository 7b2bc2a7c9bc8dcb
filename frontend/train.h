/* train.h - training a model: the loop behind `mtc train` (frontend/train.c), as a C call.
 *
 * The whole training step (forward, backward, optimiser update: passes/optim.h) is one step
 * graph, compiled once and run for every batch with its params and optimiser state kept in
 * the program between runs (the "programs" section of mtc.h). docs/training.md tells the
 * story; SPEC §4 `mtc train` is the contract.
 *
 *     mt_train_options o;
 *     mt_train_defaults(&o);              (SGD lr 0.01, 10 epochs, shuffled, seed 0, cpu)
 *     o.model = "minitorch";              (or "lenet", "m.mt", or o.loss = a graph built in C)
 *     o.data = "xor";
 *     mt_train_result r;
 *     if (mt_train_run(&o, &r, &d) == MT_OK) ... r.epochs[r.nepochs - 1].train_acc ...
 *     mt_train_result_fini(&r);
 *
 * The model is one of, in this order:
 *   o.loss       a loss graph built in C (borrowed): inputs %x and %y, first output the scalar
 *                loss, optionally an output %pred or %logits; o.eval_loss its eval-mode twin
 *                (dropout off) for the test accuracy (NULL: o.loss itself); o.init initial
 *                values for its params by name (NULL or partial: the rest as for a FILE.mt).
 *   o.model      a built-in model name (frontend/models.h) or the path of a FILE.mt loss graph.
 * The data is o.dataset (borrowed) or else o.data, loaded with mt_dataset_load.
 *
 * Initial values, seeded by o.seed: a built-in model's as PyTorch does (mt_module_init); a
 * graph's param without a value in o.init uniform in ±1/sqrt(fan_in) with fan_in = d0 for rank
 * 2 ([in,out], as matmul uses it) and d1*d2*... for rank >= 3 (conv [O,C,K...]), zeros for
 * rank 0 and 1: element i of the j-th param (graph order) is lo + (hi - lo) *
 * mt_rand_f64_at(seed, j, i), rounded once, as mt_module_init draws. Then o.load, when set,
 * replaces every param and state that the file holds (a tensor whose type differs from the
 * model's is an error naming it; tensors that are no param or state are ignored). State the
 * file does not hold starts at zero.
 *
 * Batches: N / B per epoch, in epoch e's order (mt_dataset_order with o.seed and e = 0, 1, ...;
 * in order with o.shuffle 0); a last partial batch is dropped. Each sample is fed as the
 * per-sample shape of %x and %y (784 values feed f32[B,784] or f32[B,1,28,28] alike); data of
 * another dtype than the model's is converted once.
 *
 * Accuracy (NaN where there is nothing to compare): the output %pred (probabilities) or
 * %logits, when it has y's type: argmax against one-hot y, or for y : [B,1], pred > 0.5 /
 * logits > 0 against y > 0.5 (mt_nn_count_correct). Train accuracy counts the epoch's steps'
 * own predictions (made before each step's update). Test accuracy runs the eval-mode loss graph,
 * compiled once for the same target and batch B, with the params after the epoch, over the
 * whole test split: the last partial test batch is padded with zero rows whose predictions are
 * not counted, so every test sample counts (a model whose prediction for one sample depends on
 * the other samples of its batch would see the padding; no built-in model does).
 *
 * A loss that is NaN or infinite stops training with MT_ERR_ARG naming the epoch, the batch and
 * the first node of the loss graph whose value is not finite: the reference interpreter
 * re-runs that batch's loss graph on the params before the failing step (recovered by replaying
 * the epoch's steps from a copy of the params taken at the epoch's start, so the normal path
 * copies nothing per step).
 *
 * Threads: the program's default (MTC_NUM_THREADS, else every core) unless o.threads > 0.
 *
 * Data parallel (o.nranks = R > 1, this process being rank o.rank, with the process's
 * allreduce hook installed: runtime/mpi.h under mpirun): the step graph averages its gradients
 * over the ranks (mt_pass_step with data_parallel), each global batch is R*B consecutive
 * samples of the epoch's order (the same on every rank), rank r trains on the r-th slice of B,
 * and every rank ends each step with the same params. N / (R*B) steps per epoch. An epoch's
 * loss and train accuracy are over all ranks (summed through the hook); samples/s counts every
 * rank's samples; rank 0 alone evaluates the test set (the others report NaN) and only rank 0
 * should save (the caller's choice: o.save is written by whichever rank has it set).
 */
#ifndef MT_FRONTEND_TRAIN_H
#define MT_FRONTEND_TRAIN_H

#include "frontend/data.h"
#include "passes/optim.h"
#include "mtc/mtc.h"

#define MT_TRAIN_DEFAULT_EPOCHS 10
#define MT_TRAIN_DEFAULT_BATCH 32 /* built-in models; a graph's batch is its own */

/* What one epoch measured. Accuracies are NaN where there are no labels to compare. */
typedef struct mt_train_epoch {
    int epoch;            /* 1-based */
    double loss;          /* mean loss over the epoch's steps */
    double train_acc;     /* fraction of the epoch's training samples classified correctly */
    double test_acc;      /* fraction of the test set correct after the epoch, in eval mode */
    double samples_per_s; /* training samples per second of the steps alone */
} mt_train_epoch;

/* What is known once the step graph is compiled, before the first step. */
typedef struct mt_train_info {
    const char *model;       /* the loss graph's name */
    const char *data;        /* the data set's name or path */
    int64_t samples, test;   /* N and N_test (0: no test split) */
    int64_t batch, nbatches; /* B and N / B */
    int epochs;
    int has_accuracy; /* 1 when the model has %pred or %logits that fits y */
    double compile_s; /* seconds to build, differentiate and compile the programs */
} mt_train_info;

/* Progress within an epoch, after each step. */
typedef struct mt_train_progress {
    int epoch, epochs;       /* 1-based */
    int64_t batch, nbatches; /* steps done in this epoch (1..nbatches) */
    double loss;             /* mean loss of this epoch's steps so far */
    double samples_per_s;    /* of this epoch's steps so far */
    double elapsed_s;        /* seconds of this epoch's steps so far */
} mt_train_progress;

typedef struct mt_train_callbacks {
    void (*start)(void *ctx, const mt_train_info *info);
    void (*batch)(void *ctx, const mt_train_progress *p); /* after every step: keep it cheap */
    void (*epoch)(void *ctx, const mt_train_epoch *e, int epochs);
    void *ctx;
} mt_train_callbacks;

typedef struct mt_train_options {
    const char *model;            /* built-in name or FILE.mt (when loss is NULL) */
    const mt_graph *loss;         /* a loss graph built in C, borrowed; NULL: model */
    const mt_graph *eval_loss;    /* loss's eval-mode twin, borrowed; NULL: loss */
    const mt_tensor_map *init;    /* initial values for loss's params, borrowed; may be NULL */
    const char *data;             /* a name or path for mt_dataset_load (when dataset is NULL) */
    const mt_dataset *dataset;    /* borrowed; NULL: data */
    int epochs;                   /* >= 0; default 10 */
    int64_t batch;                /* 0: 32 for built-in models, a graph's own batch otherwise */
    mt_optim optim;               /* default: SGD, lr 0.01 */
    int64_t hidden;               /* built-in models; 0: the model's default */
    int64_t points;               /* generated data sets; default 50 */
    uint64_t seed;                /* init, generated data and shuffling; default 0 */
    int shuffle;                  /* default 1 */
    const char *target;           /* "cpu" (default) or "interp" */
    int threads;                  /* > 0: threads per run; 0: the program's default */
    const char *load;             /* W.safetensors to start from, or NULL */
    const char *save;             /* where to write every param and state at the end, or NULL */
    int nranks, rank;             /* data parallel (see below); 0 or 1 rank: one process */
    mt_train_callbacks callbacks; /* any may be NULL */
} mt_train_options;

void mt_train_defaults(mt_train_options *o);

typedef struct mt_train_result {
    mt_train_epoch *epochs; /* the epochs completed, also when training failed; owned */
    int nepochs;
    mt_tensor_map *params; /* every param and state after the last epoch (NULL on failure) */
    mt_train_info info;    /* its strings point into the result; valid until _fini */
    char *model, *data;    /* owned copies behind info.model and info.data */
} mt_train_result;

/* Trains as the options say. *r is always initialised (free it with mt_train_result_fini); on
 * failure it holds the epochs completed before the error. o.save is written atomically after
 * the last epoch (mt_safetensors_save), only on success. */
mt_status mt_train_run(const mt_train_options *o, mt_train_result *r, mt_diag *d);
void mt_train_result_fini(mt_train_result *r);

#endif
