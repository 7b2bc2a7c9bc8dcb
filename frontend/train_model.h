/* train_model.h - what mt_train_run trains, resolved against its data (frontend/train_model.c).
 *
 * Internal to frontend/train*.c. A model comes from a built-in name, a FILE.mt or a graph built
 * in C (train.h); whichever it is, the loop sees the same thing: a loss graph with inputs %x
 * and %y checked against the data, its eval-mode twin, the batch, and initial values.
 */
#ifndef MT_FRONTEND_TRAIN_MODEL_H
#define MT_FRONTEND_TRAIN_MODEL_H

#include "frontend/train.h"
#include "ir/graph.h"

typedef struct mt_train_model {
    const mt_graph *loss, *eval;   /* the train-mode and eval-mode loss graphs */
    mt_graph *own_loss, *own_eval; /* what this struct owns of them */
    const mt_tensor_map *init;     /* initial values by name (may be NULL or partial) */
    mt_tensor_map *own_init;
    const char *source; /* the FILE.mt for messages, or NULL */
    int64_t batch;
    int x, y;         /* input ids in loss */
    int score;        /* the output %pred or %logits usable for accuracy, or -1 */
    double threshold; /* for y : [B,1]: 0.5 for %pred, 0 for %logits */
} mt_train_model;

/* Resolves o's model for data set ds: builds or parses the loss graph (and its eval twin),
 * checks its inputs against the data (names, batch, per-sample sizes) and o.batch, and finds
 * the accuracy output. On failure m holds nothing to free. */
mt_status mt_train_model_resolve(const mt_train_options *o, const mt_dataset *ds, mt_train_model *m,
                                 mt_diag *d);
void mt_train_model_fini(mt_train_model *m);

/* Sets every param of program p (compiled from a graph with m->loss's params) to its initial
 * value: m->init's tensor of the same name, else the seeded FILE.mt rule of train.h. */
mt_status mt_train_model_init(const mt_train_model *m, uint64_t seed, mt_program *p, mt_diag *d);

/* ds with x, y, x_test and y_test converted to the dtypes of the model's %x and %y, as a new
 * data set (*out, owned by the caller), or *out NULL when no conversion is needed. */
mt_status mt_train_model_convert(const mt_train_model *m, const mt_dataset *ds, mt_dataset **out,
                                 mt_diag *d);

#endif
