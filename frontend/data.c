/* data.c - the data sets of `mtc train` and their shuffling and batching (frontend/data.h).
 *
 * Every data set ends up as tensors in one mt_tensor_map that the mt_dataset owns, so a loader
 * only has to build tensors and put them there; x, y, x_test and y_test point into it. The
 * generators follow MiniTorch's datasets.py (MINITORCH.md §2c) with its unseeded Python RNG
 * replaced by Philox, the generator of the `rand` op, so a data set is reproducible from its
 * seed on any machine. docs/data.md states every formula and mapping used here.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "frontend/data.h"
#include "ir/alloc.h"
#include "runtime/idx.h"
#include "runtime/philox.h"
#include "runtime/tensor.h"

/* Counter word 3 of the shuffle's Philox draws ("SHUF"): the `rand` op's counters have 0
 * there, so the shuffle never reuses the numbers that made the points. */
#define SHUFFLE_TAG UINT32_C(0x53485546)

/* ---- the data set object ------------------------------------------------------------------- */

static mt_dataset *dataset_new(const char *name)
{
    mt_dataset *ds = mt_calloc(1, sizeof *ds);
    if (!ds)
        return NULL;
    ds->name = mt_strdup(name);
    ds->tensors = mt_tensor_map_new();
    if (!ds->name || !ds->tensors) {
        mt_dataset_free(ds);
        return NULL;
    }
    return ds;
}

void mt_dataset_free(mt_dataset *ds)
{
    if (!ds)
        return;
    mt_tensor_map_free(ds->tensors);
    mt_free(ds->name);
    mt_free(ds);
}

/* Points x, y (and the test split, when its tensors are there) at the map's tensors. */
static void dataset_bind(mt_dataset *ds)
{
    ds->x = mt_tensor_map_get(ds->tensors, "x");
    ds->y = mt_tensor_map_get(ds->tensors, "y");
    ds->x_test = mt_tensor_map_get(ds->tensors, "x_test");
    ds->y_test = mt_tensor_map_get(ds->tensors, "y_test");
    if (!ds->x_test || !ds->y_test)
        ds->x_test = ds->y_test = NULL;
    ds->n = ds->x ? ds->x->type.dims[0] : 0;
    ds->n_test = ds->x_test ? ds->x_test->type.dims[0] : 0;
}

/* A zeroed f32 tensor [n, width] put into the map under `name`; NULL when out of memory. */
static float *put_f32(mt_dataset *ds, const char *name, int64_t n, int64_t width)
{
    int64_t dims[2] = {n, width};
    mt_tensor *t = mt_tensor_new(mt_type_make(MT_DTYPE_F32, 2, dims));
    if (!t || mt_tensor_map_put(ds->tensors, name, t) != MT_OK)
        return NULL; /* mt_tensor_map_put frees t on failure */
    return t->data;
}

/* ---- MiniTorch's generators ---------------------------------------------------------------- */

static const char *const generator_names[] = {"simple", "diag", "split", "xor", "circle", "spiral"};
enum { N_GENERATORS = sizeof generator_names / sizeof generator_names[0] };

static int generator_index(const char *name)
{
    for (int i = 0; name && i < N_GENERATORS; i++)
        if (strcasecmp(name, generator_names[i]) == 0)
            return i;
    return -1;
}

int mt_dataset_is_generator(const char *name) { return generator_index(name) >= 0; }

/* MiniTorch's label of point (x1, x2) for generators 0..4, on the stored f32 coordinates in
 * double arithmetic, so the label is the formula's on exactly the point a model sees. */
static float label_of(int gen, double x1, double x2)
{
    switch (gen) {
    case 0: return x1 < 0.5;
    case 1: return x1 + x2 < 0.5;
    case 2: return x1 < 0.2 || x1 > 0.8;
    case 3: return (x1 < 0.5 && x2 > 0.5) || (x1 > 0.5 && x2 < 0.5);
    default: return (x1 - 0.5) * (x1 - 0.5) + (x2 - 0.5) * (x2 - 0.5) > 0.1;
    }
}

/* MiniTorch's spiral: h = N/2; for i in 5..5+h-1, t = 10 i / h; class 0 at
 * (t cos t / 20 + 0.5, t sin t / 20 + 0.5), class 1 at (t sin t / 20 + 0.5, -t cos t / 20 + 0.5);
 * all class 0 points first. */
static void make_spiral(int64_t h, float *x, float *y)
{
    for (int64_t k = 0; k < h; k++) {
        double t = 10.0 * (double)(5 + k) / (double)h;
        double c = t * cos(t) / 20.0, s = t * sin(t) / 20.0;
        x[2 * k] = (float)(c + 0.5);
        x[2 * k + 1] = (float)(s + 0.5);
        y[k] = 0.0f;
        x[2 * (h + k)] = (float)(s + 0.5);
        x[2 * (h + k) + 1] = (float)(-c + 0.5);
        y[h + k] = 1.0f;
    }
}

mt_status mt_dataset_generate(const char *name, int64_t points, uint64_t seed, mt_dataset **out,
                              mt_diag *d)
{
    if (!out)
        return mt_diag_set(d, MT_ERR_ARG, "mt_dataset_generate: out is NULL");
    *out = NULL;
    int gen = generator_index(name);
    if (gen < 0)
        return mt_diag_set(d, MT_ERR_ARG,
                           "unknown data set '%s' (generators: simple, diag, split, xor, "
                           "circle, spiral)",
                           name ? name : "(null)");
    int spiral = gen == 5;
    if (points < 1 + spiral || points > MT_DATA_MAX_POINTS)
        return mt_diag_set(d, MT_ERR_ARG, "%s: --points %lld is outside %d..%lld",
                           generator_names[gen], (long long)points, 1 + spiral,
                           (long long)MT_DATA_MAX_POINTS);
    int64_t n = spiral ? points / 2 * 2 : points;
    mt_dataset *ds = dataset_new(generator_names[gen]);
    float *x = ds ? put_f32(ds, "x", n, 2) : NULL;
    float *y = x ? put_f32(ds, "y", n, 1) : NULL;
    if (!y) {
        mt_dataset_free(ds);
        return mt_diag_set(d, MT_ERR_NOMEM, "%s: out of memory for %lld points",
                           generator_names[gen], (long long)n);
    }
    if (spiral) {
        make_spiral(n / 2, x, y);
    } else {
        for (int64_t i = 0; i < n; i++) {
            x[2 * i] = mt_rand_f32(seed, 2 * (uint64_t)i);
            x[2 * i + 1] = mt_rand_f32(seed, 2 * (uint64_t)i + 1);
            y[i] = label_of(gen, x[2 * i], x[2 * i + 1]);
        }
    }
    dataset_bind(ds);
    *out = ds;
    return MT_OK;
}

/* ---- IDX directories (MNIST, Fashion-MNIST) ------------------------------------------------ */

/* dir/base, or dir/base.gz when only that exists; "" in path when neither does. */
static mt_status find_idx(const char *dir, const char *base, char *path, size_t size, mt_diag *d)
{
    const char *suffix[] = {"", ".gz"};
    path[0] = '\0';
    for (int i = 0; i < 2; i++) {
        char p[4096];
        int len = snprintf(p, sizeof p, "%s/%s%s", dir, base, suffix[i]);
        if (len < 0 || (size_t)len >= sizeof p || (size_t)len >= size)
            return mt_diag_set_at(d, MT_ERR_ARG, dir, 0, 0, "path too long");
        struct stat sb;
        if (stat(p, &sb) == 0) {
            memcpy(path, p, (size_t)len + 1);
            return MT_OK;
        }
    }
    return MT_OK;
}

/* Reads one images file and its labels file into x [N, features] and y [N, C] (C is decided by
 * the caller from both splits, so the labels are kept as bytes until then). */
typedef struct idx_split {
    char images_path[4096], labels_path[4096];
    mt_idx *images, *labels;
} idx_split;

static mt_status load_split(const char *dir, const char *prefix, int required, idx_split *s,
                            mt_diag *d)
{
    char images[64], labels[64];
    snprintf(images, sizeof images, "%s-images-idx3-ubyte", prefix);
    snprintf(labels, sizeof labels, "%s-labels-idx1-ubyte", prefix);
    mt_status st = find_idx(dir, images, s->images_path, sizeof s->images_path, d);
    if (st == MT_OK)
        st = find_idx(dir, labels, s->labels_path, sizeof s->labels_path, d);
    if (st != MT_OK)
        return st;
    int have_images = s->images_path[0] != '\0', have_labels = s->labels_path[0] != '\0';
    if (!have_images && !have_labels && !required)
        return MT_OK;
    if (!have_images || !have_labels)
        return mt_diag_set_at(d, MT_ERR_IO, dir, 0, 0, "no %s or %s.gz in this directory",
                              have_images ? labels : images, have_images ? labels : images);
    if ((st = mt_idx_load(s->images_path, &s->images, d)) != MT_OK)
        return st;
    if ((st = mt_idx_load(s->labels_path, &s->labels, d)) != MT_OK)
        return st;
    if (s->images->rank != 3)
        return mt_diag_set_at(d, MT_ERR_PARSE, s->images_path, 0, 0,
                              "expected images (IDX magic 0x00000803, rank 3: [N, rows, cols]), "
                              "found rank %d",
                              s->images->rank);
    if (s->labels->rank != 1)
        return mt_diag_set_at(d, MT_ERR_PARSE, s->labels_path, 0, 0,
                              "expected labels (IDX magic 0x00000801, rank 1: [N]), found rank %d",
                              s->labels->rank);
    if (s->labels->dims[0] != s->images->dims[0])
        return mt_diag_set_at(
            d, MT_ERR_PARSE, s->labels_path, 0, 0, "holds %lld labels but %s holds %lld images",
            (long long)s->labels->dims[0], s->images_path, (long long)s->images->dims[0]);
    return MT_OK;
}

static int max_label(const mt_idx *labels)
{
    int m = 0;
    for (size_t i = 0; labels && i < labels->nbytes; i++)
        m = labels->data[i] > m ? labels->data[i] : m;
    return m;
}

/* Converts a loaded split into x (pixels / 255) and one-hot y, put under the given names. */
static mt_status put_split(mt_dataset *ds, const idx_split *s, int classes, const char *xname,
                           const char *yname, mt_diag *d)
{
    int64_t n = s->images->dims[0];
    int64_t features = s->images->dims[1] * s->images->dims[2];
    float *x = put_f32(ds, xname, n, features);
    float *y = x ? put_f32(ds, yname, n, classes) : NULL;
    if (!y)
        return mt_diag_set_at(d, MT_ERR_NOMEM, s->images_path, 0, 0, "out of memory");
    for (size_t i = 0; i < s->images->nbytes; i++)
        x[i] = (float)s->images->data[i] / 255.0f;
    for (int64_t i = 0; i < n; i++)
        y[i * classes + s->labels->data[i]] = 1.0f;
    return MT_OK;
}

mt_status mt_dataset_load_idx_dir(const char *dir, const char *name, mt_dataset **out, mt_diag *d)
{
    if (!out)
        return mt_diag_set(d, MT_ERR_ARG, "mt_dataset_load_idx_dir: out is NULL");
    *out = NULL;
    if (!dir)
        return mt_diag_set(d, MT_ERR_ARG, "mt_dataset_load_idx_dir: dir is NULL");
    idx_split *sp = mt_calloc(2, sizeof *sp); /* train, test: 16 KiB of paths, so on the heap */
    mt_dataset *ds = sp ? dataset_new(name ? name : dir) : NULL;
    if (!ds) {
        mt_free(sp);
        return mt_diag_set_at(d, MT_ERR_NOMEM, dir, 0, 0, "out of memory");
    }
    mt_status st = load_split(dir, "train", 1, &sp[0], d);
    if (st == MT_OK)
        st = load_split(dir, "t10k", 0, &sp[1], d);
    if (st == MT_OK && sp[1].images &&
        (sp[1].images->dims[1] != sp[0].images->dims[1] ||
         sp[1].images->dims[2] != sp[0].images->dims[2]))
        st = mt_diag_set_at(d, MT_ERR_PARSE, sp[1].images_path, 0, 0,
                            "holds %lldx%lld images but %s holds %lldx%lld",
                            (long long)sp[1].images->dims[1], (long long)sp[1].images->dims[2],
                            sp[0].images_path, (long long)sp[0].images->dims[1],
                            (long long)sp[0].images->dims[2]);
    if (st == MT_OK) {
        int a = max_label(sp[0].labels), b = max_label(sp[1].labels);
        int classes = (a > b ? a : b) + 1;
        st = put_split(ds, &sp[0], classes, "x", "y", d);
        if (st == MT_OK && sp[1].images)
            st = put_split(ds, &sp[1], classes, "x_test", "y_test", d);
    }
    for (int i = 0; i < 2; i++) {
        mt_idx_free(sp[i].images);
        mt_idx_free(sp[i].labels);
    }
    mt_free(sp);
    if (st != MT_OK) {
        mt_dataset_free(ds);
        return st;
    }
    dataset_bind(ds);
    *out = ds;
    return MT_OK;
}

/* ---- safetensors data files ---------------------------------------------------------------- */

static int same_sample_shape(const mt_tensor *a, const mt_tensor *b)
{
    if (a->type.rank != b->type.rank)
        return 0;
    for (int i = 1; i < a->type.rank; i++)
        if (a->type.dims[i] != b->type.dims[i])
            return 0;
    return 1;
}

static void shape_str(const mt_tensor *t, char *buf, size_t size)
{
    int k = snprintf(buf, size, "%s[", mt_dtype_name(t->type.dtype));
    for (int i = 0; i < t->type.rank && k > 0 && (size_t)k < size; i++)
        k += snprintf(buf + k, size - (size_t)k, i ? ",%lld" : "%lld", (long long)t->type.dims[i]);
    if (k > 0 && (size_t)k < size)
        snprintf(buf + k, size - (size_t)k, "]");
}

/* x/y (or x_test/y_test): present, rank >= 1, one leading dim, one dtype. */
static mt_status check_pair(const char *path, const mt_tensor *x, const mt_tensor *y,
                            const char *xn, const char *yn, mt_diag *d)
{
    const char *missing = !x ? xn : !y ? yn : NULL;
    if (missing)
        return mt_diag_set_at(d, MT_ERR_ARG, path, 0, 0,
                              "no tensor '%s' (a data file holds x and y, optionally x_test and "
                              "y_test)",
                              missing);
    const mt_tensor *scalar = x->type.rank == 0 ? x : y->type.rank == 0 ? y : NULL;
    if (scalar)
        return mt_diag_set_at(d, MT_ERR_SHAPE, path, 0, 0,
                              "tensor '%s' is rank 0: a data tensor's rows are its samples",
                              scalar == x ? xn : yn);
    char xs[128], ys[128];
    shape_str(x, xs, sizeof xs);
    shape_str(y, ys, sizeof ys);
    if (x->type.dims[0] != y->type.dims[0])
        return mt_diag_set_at(d, MT_ERR_SHAPE, path, 0, 0,
                              "tensors '%s' %s and '%s' %s differ in their leading (sample) dim",
                              xn, xs, yn, ys);
    if (x->type.dtype != y->type.dtype)
        return mt_diag_set_at(d, MT_ERR_TYPE, path, 0, 0,
                              "tensors '%s' %s and '%s' %s differ in dtype", xn, xs, yn, ys);
    return MT_OK;
}

/* A test tensor must look like its training tensor but for the sample count. */
static mt_status check_test(const char *path, const mt_tensor *train, const mt_tensor *test,
                            const char *trn, const char *tn, mt_diag *d)
{
    if (test->type.dtype == train->type.dtype && same_sample_shape(train, test))
        return MT_OK;
    char a[128], b[128];
    shape_str(train, a, sizeof a);
    shape_str(test, b, sizeof b);
    return mt_diag_set_at(d, MT_ERR_SHAPE, path, 0, 0,
                          "tensor '%s' %s does not match '%s' %s but for the sample count", tn, b,
                          trn, a);
}

mt_status mt_dataset_load_safetensors(const char *path, mt_dataset **out, mt_diag *d)
{
    if (!out)
        return mt_diag_set(d, MT_ERR_ARG, "mt_dataset_load_safetensors: out is NULL");
    *out = NULL;
    if (!path)
        return mt_diag_set(d, MT_ERR_ARG, "mt_dataset_load_safetensors: path is NULL");
    mt_dataset *ds = dataset_new(path);
    if (!ds)
        return mt_diag_set_at(d, MT_ERR_NOMEM, path, 0, 0, "out of memory");
    mt_tensor_map_free(ds->tensors);
    ds->tensors = NULL;
    mt_status st = mt_safetensors_load(path, &ds->tensors, d);
    if (st != MT_OK) {
        mt_dataset_free(ds);
        return st;
    }
    const mt_tensor_map *m = ds->tensors;
    const mt_tensor *x = mt_tensor_map_get(m, "x"), *y = mt_tensor_map_get(m, "y");
    const mt_tensor *xt = mt_tensor_map_get(m, "x_test"), *yt = mt_tensor_map_get(m, "y_test");
    st = check_pair(path, x, y, "x", "y", d);
    if (st == MT_OK && (xt || yt))
        st = check_pair(path, xt, yt, "x_test", "y_test", d);
    if (st == MT_OK && xt)
        st = check_test(path, x, xt, "x", "x_test", d);
    if (st == MT_OK && yt)
        st = check_test(path, y, yt, "y", "y_test", d);
    if (st != MT_OK) {
        mt_dataset_free(ds);
        return st;
    }
    dataset_bind(ds);
    *out = ds;
    return MT_OK;
}

/* ---- lookup by name ------------------------------------------------------------------------ */

/* Whether the file starts like an IDX file or a gzip stream, neither of which is safetensors:
 * then the user most likely named one IDX file instead of its directory. */
static int looks_like_idx(const char *path)
{
    unsigned char head[4] = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    return (n >= 2 && head[0] == 0x1f && head[1] == 0x8b) ||
           (n == 4 && head[0] == 0 && head[1] == 0 && head[2] == 0x08);
}

mt_status mt_dataset_load(const char *name_or_path, int64_t points, uint64_t seed, mt_dataset **out,
                          mt_diag *d)
{
    if (!out)
        return mt_diag_set(d, MT_ERR_ARG, "mt_dataset_load: out is NULL");
    *out = NULL;
    if (!name_or_path || !*name_or_path)
        return mt_diag_set(d, MT_ERR_ARG, "mt_dataset_load: no data set named");
    if (mt_dataset_is_generator(name_or_path))
        return mt_dataset_generate(name_or_path, points, seed, out, d);
    if (strcmp(name_or_path, "fashion-mnist") == 0) {
        struct stat sb;
        if (stat(MT_FASHION_MNIST_DIR, &sb) != 0 || !S_ISDIR(sb.st_mode))
            return mt_diag_set(d, MT_ERR_IO,
                               "fashion-mnist: %s is missing: install Debian's "
                               "dataset-fashion-mnist (scripts/setup.sh does)",
                               MT_FASHION_MNIST_DIR);
        return mt_dataset_load_idx_dir(MT_FASHION_MNIST_DIR, "fashion-mnist", out, d);
    }
    struct stat sb;
    if (stat(name_or_path, &sb) != 0) {
        if (errno == ENOENT)
            return mt_diag_set(d, MT_ERR_ARG,
                               "unknown data set '%s': not one of simple, diag, split, xor, "
                               "circle, spiral, fashion-mnist, and no such file or directory",
                               name_or_path);
        return mt_diag_set_at(d, MT_ERR_IO, name_or_path, 0, 0, "cannot stat: %s", strerror(errno));
    }
    if (S_ISDIR(sb.st_mode))
        return mt_dataset_load_idx_dir(name_or_path, NULL, out, d);
    if (!S_ISREG(sb.st_mode))
        return mt_diag_set_at(d, MT_ERR_IO, name_or_path, 0, 0,
                              "not a regular file or directory: a data set is a safetensors "
                              "file or a directory of IDX files");
    if (looks_like_idx(name_or_path))
        return mt_diag_set_at(d, MT_ERR_ARG, name_or_path, 0, 0,
                              "an IDX or gzip file, not a safetensors data file: name the "
                              "directory that holds train-images-idx3-ubyte and "
                              "train-labels-idx1-ubyte instead");
    return mt_dataset_load_safetensors(name_or_path, out, d);
}

/* ---- shuffling and batching ---------------------------------------------------------------- */

/* The high 64 bits of a * b, from 32-bit halves (ISO C has no 128-bit integer). */
static uint64_t mulhi64(uint64_t a, uint64_t b)
{
    uint64_t a_lo = (uint32_t)a, a_hi = a >> 32, b_lo = (uint32_t)b, b_hi = b >> 32;
    uint64_t lo_lo = a_lo * b_lo, hi_lo = a_hi * b_lo, lo_hi = a_lo * b_hi;
    uint64_t cross = (lo_lo >> 32) + (uint32_t)hi_lo + lo_hi;
    return a_hi * b_hi + (hi_lo >> 32) + (cross >> 32);
}

mt_status mt_dataset_order(int64_t n, uint64_t seed, uint32_t epoch, int shuffle, int64_t *order,
                           mt_diag *d)
{
    if (n < 0 || (n > 0 && !order))
        return mt_diag_set(d, MT_ERR_ARG, "mt_dataset_order: bad arguments (n %lld)", (long long)n);
    for (int64_t i = 0; i < n; i++)
        order[i] = i;
    if (!shuffle)
        return MT_OK;
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    for (int64_t j = n - 1; j > 0; j--) {
        const uint32_t ctr[4] = {(uint32_t)j, (uint32_t)((uint64_t)j >> 32), epoch, SHUFFLE_TAG};
        uint32_t w[4];
        mt_philox4x32_10(ctr, key, w);
        /* k uniform in 0..j: the high word of a 64-bit draw times j+1 (bias at most n / 2^64). */
        int64_t k = (int64_t)mulhi64((uint64_t)w[0] << 32 | w[1], (uint64_t)j + 1);
        int64_t tmp = order[j];
        order[j] = order[k];
        order[k] = tmp;
    }
    return MT_OK;
}

int64_t mt_dataset_nbatches(int64_t n, int64_t batch) { return batch < 1 || n < 0 ? 0 : n / batch; }

int64_t mt_dataset_batch_start(int64_t b, int64_t batch, int nranks, int rank)
{
    return (b * nranks + rank) * batch;
}

size_t mt_dataset_row_bytes(const mt_tensor *t)
{
    if (!t || t->type.rank < 1)
        return 0;
    return t->nbytes / (size_t)t->type.dims[0];
}

mt_status mt_dataset_gather(const mt_tensor *t, const int64_t *order, int64_t start, int64_t count,
                            void *dst, mt_diag *d)
{
    if (!t || t->type.rank < 1 || (count > 0 && !dst))
        return mt_diag_set(d, MT_ERR_ARG, "mt_dataset_gather: bad arguments");
    int64_t n = t->type.dims[0];
    if (start < 0 || count < 0 || start > n - count)
        return mt_diag_set(d, MT_ERR_ARG,
                           "mt_dataset_gather: rows %lld..%lld are outside the %lld samples",
                           (long long)start, (long long)(start + count - 1), (long long)n);
    size_t row = mt_dataset_row_bytes(t);
    const unsigned char *src = t->data;
    unsigned char *out = dst;
    for (int64_t i = 0; i < count; i++) {
        int64_t r = order ? order[start + i] : start + i;
        if (r < 0 || r >= n)
            return mt_diag_set(d, MT_ERR_ARG, "mt_dataset_gather: order[%lld] = %lld is not a row",
                               (long long)(start + i), (long long)r);
        memcpy(out + (size_t)i * row, src + (size_t)r * row, row);
    }
    return MT_OK;
}

mt_status mt_dataset_batch(const mt_dataset *ds, const int64_t *order, int64_t start, int64_t count,
                           void *x_dst, void *y_dst, mt_diag *d)
{
    if (!ds)
        return mt_diag_set(d, MT_ERR_ARG, "mt_dataset_batch: no data set");
    mt_status st = mt_dataset_gather(ds->x, order, start, count, x_dst, d);
    if (st == MT_OK)
        st = mt_dataset_gather(ds->y, order, start, count, y_dst, d);
    return st;
}
