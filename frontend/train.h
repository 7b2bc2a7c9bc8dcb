/* train.h - training a model: the loop behind `mtc train` (frontend/train.c).
 *
 * The whole training step (forward, backward, optimiser update: passes/optim.h) is one step
 * graph, compiled once and run for every batch with its params and optimiser state kept in
 * the program between runs.
 */
#ifndef MT_FRONTEND_TRAIN_H
#define MT_FRONTEND_TRAIN_H

#include "mtc/mtc.h"

/* What one epoch measured. Accuracies are NaN where there are no labels to compare. */
typedef struct mt_train_epoch {
    int epoch;            /* 1-based */
    double loss;          /* mean loss over the epoch's steps */
    double train_acc;     /* fraction of the epoch's training samples classified correctly */
    double test_acc;      /* fraction of the test set correct after the epoch, in eval mode */
    double samples_per_s; /* training samples per second of the steps alone */
} mt_train_epoch;

#endif
