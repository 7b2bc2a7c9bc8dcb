/* data.h - training data sets for `mtc train` (SPEC §4), and their seeded shuffling and batching.
 *
 * A data set is a pair of tensors x [N, ...] and y [N, ...] whose row i is sample i, and
 * optionally a test split x_test [N_test, ...], y_test [N_test, ...] with the same per-sample
 * shapes. Where it comes from (docs/data.md has the details):
 *
 *   simple diag split xor circle spiral  MiniTorch's 2-D sets (MINITORCH.md §2c): x f32 [N,2],
 *                                        y f32 [N,1] holding 0.0 or 1.0; no test split.
 *                                        The random ones take x = `rand seed=SEED : f32[N,2]`
 *                                        (runtime/philox.h: x[i][j] = mt_rand_f32(seed, 2i+j));
 *                                        spiral is deterministic, N/2 points per class.
 *   fashion-mnist                        Debian's dataset-fashion-mnist, read from
 *                                        MT_FASHION_MNIST_DIR like any IDX directory.
 *   a directory                          MNIST-format IDX files train-images-idx3-ubyte,
 *                                        train-labels-idx1-ubyte (and optionally t10k-*), each
 *                                        plain or .gz: x f32 [N, rows*cols] scaled to [0,1],
 *                                        y f32 [N, C] one-hot, C = largest label + 1.
 *   any other regular file               safetensors holding x and y (optionally x_test and
 *                                        y_test), f32 or f64, fed as they are.
 *
 * Batching never copies the data set: each epoch has an order, a permutation of 0..N-1
 * (mt_dataset_order: identity without shuffling, else Fisher-Yates driven by Philox from
 * (seed, epoch), so every machine and every rank computes the same one), and a batch is the
 * rows order[start .. start+B) gathered into the caller's buffers (mt_dataset_batch). An epoch
 * has N / B batches: the last partial batch is dropped. Batch b of one process starts at b*B.
 * Data parallel over R ranks: global batch b is the R*B consecutive positions from b*R*B, rank
 * r takes its r-th slice of B, so rank r's batch b starts at (b*R + r)*B
 * (mt_dataset_batch_start) and an epoch has N / (R*B) global batches.
 */
#ifndef MT_FRONTEND_DATA_H
#define MT_FRONTEND_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "mtc/mtc.h"

#define MT_DATA_DEFAULT_POINTS 50
/* The most points a generator makes: 2^24 points are 128 MiB of f32 x. */
#define MT_DATA_MAX_POINTS ((int64_t)1 << 24)
/* Where Debian's dataset-fashion-mnist installs its four .gz files. */
#define MT_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

typedef struct mt_dataset {
    char *name;                       /* the name or path it was loaded from (owned) */
    const mt_tensor *x, *y;           /* [N, ...], same dtype; borrowed from `tensors` */
    const mt_tensor *x_test, *y_test; /* [N_test, ...] or both NULL: no test split */
    int64_t n, n_test;                /* N, and N_test (0 without a test split) */
    mt_tensor_map *tensors;           /* owns x, y, x_test, y_test (and whatever else) */
} mt_dataset;

/* Loads a data set by name or path, in this order: one of the six generator names (any
 * case; `points` and `seed` are used only there), "fashion-mnist", an existing directory (IDX
 * files), an existing regular file (safetensors). Write ./split for a file named like a data
 * set. An unknown name that is no file is MT_ERR_ARG naming it. The caller frees *out with
 * mt_dataset_free; *out is NULL on failure. */
mt_status mt_dataset_load(const char *name_or_path, int64_t points, uint64_t seed, mt_dataset **out,
                          mt_diag *d);

/* 1 when `name` is one of simple, diag, split, xor, circle, spiral (any case). */
int mt_dataset_is_generator(const char *name);

/* MiniTorch's generator `name` with `points` points (1..MT_DATA_MAX_POINTS; spiral needs 2 and
 * makes points/2 per class, so an odd count gives points-1). MT_ERR_ARG for an unknown name or
 * a bad count. */
mt_status mt_dataset_generate(const char *name, int64_t points, uint64_t seed, mt_dataset **out,
                              mt_diag *d);

/* The IDX files of directory `dir` (train required, t10k optional but whole). Errors name the
 * file at fault. `name` (copied) is the data set's name; NULL means dir. */
mt_status mt_dataset_load_idx_dir(const char *dir, const char *name, mt_dataset **out, mt_diag *d);

/* A safetensors file holding x and y, optionally x_test and y_test. Checks: x and y present,
 * rank >= 1, the same leading dim and dtype; x_test and y_test both or neither, with the
 * per-sample shapes and dtype of x and y. Errors name the file and the tensor. */
mt_status mt_dataset_load_safetensors(const char *path, mt_dataset **out, mt_diag *d);

void mt_dataset_free(mt_dataset *ds);

/* ---- shuffling and batching ------------------------------------------------------------- */

/* Fills order[0..n) with epoch `epoch`'s order: 0..n-1 when shuffle is 0, else the Fisher-Yates
 * permutation of docs/data.md drawn from Philox keyed by `seed` (a function of seed, epoch and
 * n only). `order` is the caller's array of n entries, reused from epoch to epoch. */
mt_status mt_dataset_order(int64_t n, uint64_t seed, uint32_t epoch, int shuffle, int64_t *order,
                           mt_diag *d);

/* Batches of `batch` samples in an epoch of n: n / batch (0 when batch < 1). */
int64_t mt_dataset_nbatches(int64_t n, int64_t batch);

/* Where rank `rank` of `nranks`'s part of global batch b starts in the order: (b*nranks +
 * rank)*batch. One process is nranks = 1, rank = 0. */
int64_t mt_dataset_batch_start(int64_t b, int64_t batch, int nranks, int rank);

/* Bytes of one sample (row) of t: nbytes / leading dim. */
size_t mt_dataset_row_bytes(const mt_tensor *t);

/* Copies rows order[start], ..., order[start+count-1] of t (rows start..start+count-1 when
 * order is NULL) into dst, which holds count * mt_dataset_row_bytes(t) bytes. MT_ERR_ARG when
 * the range or an order entry is out of bounds. */
mt_status mt_dataset_gather(const mt_tensor *t, const int64_t *order, int64_t start, int64_t count,
                            void *dst, mt_diag *d);

/* The training batch at position `start` of `order` (NULL: in order): count rows of x into
 * x_dst and of y into y_dst. For the test split call mt_dataset_gather on x_test and y_test. */
mt_status mt_dataset_batch(const mt_dataset *ds, const int64_t *order, int64_t start, int64_t count,
                           void *x_dst, void *y_dst, mt_diag *d);

#endif
