/* test_data.c - data sets, shuffling and batching (frontend/data.c).
 *
 * The generators' labels are checked against MiniTorch's formulas (MINITORCH.md §2c), written
 * out again here rather than shared with the library. Files (IDX directories, safetensors data
 * files) are written into a temporary directory and removed. The Fashion-MNIST test runs where
 * Debian's dataset-fashion-mnist is installed and is skipped elsewhere. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "frontend/data.h"
#include "ir/alloc.h"
#include "runtime/philox.h"
#include "runtime/tensor.h"
#include "tests/support/failing_alloc.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static char tmpdir[256];

static int make_tmpdir(void **state)
{
    (void)state;
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/mt_data_XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
    (void)state;
    if (rmdir(tmpdir) != 0) {
        fprintf(stderr, "cannot remove %s: %s\n", tmpdir, strerror(errno));
        return -1;
    }
    return 0;
}

static void tmp_path(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", tmpdir, name);
}

static mt_dataset *generate(const char *name, int64_t points, uint64_t seed)
{
    mt_diag d;
    mt_diag_init(&d);
    mt_dataset *ds = NULL;
    if (mt_dataset_generate(name, points, seed, &ds, &d) != MT_OK)
        fail_msg("%s: %s", name, d.msg);
    return ds;
}

static const float *xs(const mt_dataset *ds) { return ds->x->data; }
static const float *ys(const mt_dataset *ds) { return ds->y->data; }

/* MiniTorch's label formulas, on the stored coordinates. */
static int minitorch_label(const char *name, double x1, double x2)
{
    if (strcmp(name, "simple") == 0)
        return x1 < 0.5;
    if (strcmp(name, "diag") == 0)
        return x1 + x2 < 0.5;
    if (strcmp(name, "split") == 0)
        return x1 < 0.2 || x1 > 0.8;
    if (strcmp(name, "xor") == 0)
        return (x1 < 0.5 && x2 > 0.5) || (x1 > 0.5 && x2 < 0.5);
    return (x1 - 0.5) * (x1 - 0.5) + (x2 - 0.5) * (x2 - 0.5) > 0.1; /* circle */
}

/* Expects status `want`, `phrase` in the message and `file` (when not NULL) as the diag's
 * file; *ds must come back NULL. */
static void expect_load_error(const char *what, mt_status want, const char *file,
                              const char *phrase)
{
    mt_diag d;
    mt_diag_init(&d);
    mt_dataset *ds = NULL;
    mt_status st = mt_dataset_load(what, MT_DATA_DEFAULT_POINTS, 0, &ds, &d);
    if (st != want || !strstr(d.msg, phrase) || (file && strcmp(d.file, file) != 0))
        fail_msg("%s: got %s '%s' (file '%s'), expected %s with '%s' in %s", what,
                 mt_status_name(st), d.msg, d.file, mt_status_name(want), phrase,
                 file ? file : "(any)");
    assert_null(ds);
}

/* ---- generators ---------------------------------------------------------------------------- */

static void every_random_generator_labels_its_points_by_minitorchs_formula(void **state)
{
    (void)state;
    const char *names[] = {"simple", "diag", "split", "xor", "circle"};
    for (int g = 0; g < 5; g++) {
        const int64_t counts[] = {1, 50, 1000};
        for (int c = 0; c < 3; c++) {
            int64_t n = counts[c];
            mt_dataset *ds = generate(names[g], n, 7);
            assert_string_equal(ds->name, names[g]);
            assert_int_equal(ds->n, n);
            assert_int_equal(ds->x->type.rank, 2);
            assert_int_equal(ds->x->type.dims[0], n);
            assert_int_equal(ds->x->type.dims[1], 2);
            assert_int_equal(ds->y->type.rank, 2);
            assert_int_equal(ds->y->type.dims[0], n);
            assert_int_equal(ds->y->type.dims[1], 1);
            assert_null(ds->x_test);
            assert_int_equal(ds->n_test, 0);
            int ones = 0;
            for (int64_t i = 0; i < n; i++) {
                double x1 = xs(ds)[2 * i], x2 = xs(ds)[2 * i + 1];
                assert_true(x1 >= 0.0 && x1 < 1.0 && x2 >= 0.0 && x2 < 1.0);
                float want = (float)minitorch_label(names[g], x1, x2);
                if (ys(ds)[i] != want)
                    fail_msg("%s point %lld (%g, %g): label %g, formula %g", names[g], (long long)i,
                             x1, x2, ys(ds)[i], want);
                ones += want == 1.0f;
            }
            /* With 1000 uniform points both classes occur (the smallest has ~12%). */
            if (n == 1000)
                assert_true(ones > 50 && ones < 950);
            mt_dataset_free(ds);
        }
    }
}

static void random_points_are_the_rand_ops_numbers_for_the_seed(void **state)
{
    (void)state;
    uint64_t seed = UINT64_C(0x123456789abcdef);
    mt_dataset *ds = generate("xor", 64, seed);
    for (uint64_t k = 0; k < 128; k++)
        assert_true(xs(ds)[k] == mt_rand_f32(seed, k));
    mt_dataset_free(ds);
}

static void the_same_seed_gives_the_same_points_and_another_seed_others(void **state)
{
    (void)state;
    mt_dataset *a = generate("circle", 200, 1), *b = generate("circle", 200, 1);
    mt_dataset *c = generate("circle", 200, 2), *e = generate("split", 200, 1);
    assert_memory_equal(xs(a), xs(b), 400 * sizeof(float));
    assert_memory_equal(ys(a), ys(b), 200 * sizeof(float));
    /* The points depend on the seed only, not on the data set's name. */
    assert_memory_equal(xs(a), xs(e), 400 * sizeof(float));
    int same = 0;
    for (int i = 0; i < 400; i++)
        same += xs(a)[i] == xs(c)[i];
    assert_true(same < 4);
    mt_dataset_free(a);
    mt_dataset_free(b);
    mt_dataset_free(c);
    mt_dataset_free(e);
}

static void spiral_has_minitorchs_exact_points_half_per_class(void **state)
{
    (void)state;
    mt_dataset *ds = generate("spiral", 50, 99);
    assert_int_equal(ds->n, 50);
    /* h = 25, i = 5: t = 2; (0.1 cos 2 + 0.5, 0.1 sin 2 + 0.5) and (0.1 sin 2 + 0.5,
     * -0.1 cos 2 + 0.5); cos 2 = -0.41614683654714241, sin 2 = 0.90929742682568170. */
    assert_float_equal(xs(ds)[0], 0.45838531634528576, 1e-7);
    assert_float_equal(xs(ds)[1], 0.59092974268256817, 1e-7);
    assert_float_equal(xs(ds)[50], 0.59092974268256817, 1e-7);
    assert_float_equal(xs(ds)[51], 0.54161468365471424, 1e-7);
    for (int k = 0; k < 25; k++) {
        double t = 10.0 * (5 + k) / 25.0;
        assert_float_equal(xs(ds)[2 * k], t * cos(t) / 20 + 0.5, 1e-6);
        assert_float_equal(xs(ds)[2 * k + 1], t * sin(t) / 20 + 0.5, 1e-6);
        assert_float_equal(xs(ds)[2 * (25 + k)], t * sin(t) / 20 + 0.5, 1e-6);
        assert_float_equal(xs(ds)[2 * (25 + k) + 1], -t * cos(t) / 20 + 0.5, 1e-6);
        assert_true(ys(ds)[k] == 0.0f && ys(ds)[25 + k] == 1.0f);
    }
    /* Deterministic: the seed plays no part. */
    mt_dataset *again = generate("spiral", 50, 1);
    assert_memory_equal(xs(ds), xs(again), 100 * sizeof(float));
    mt_dataset_free(again);
    mt_dataset_free(ds);
    ds = generate("spiral", 51, 0); /* odd: N-1 points */
    assert_int_equal(ds->n, 50);
    assert_int_equal(ds->x->type.dims[0], 50);
    mt_dataset_free(ds);
}

static void generator_names_ignore_case_and_bad_counts_are_errors(void **state)
{
    (void)state;
    mt_dataset *ds = generate("Xor", 10, 0);
    assert_string_equal(ds->name, "xor");
    mt_dataset_free(ds);
    assert_true(mt_dataset_is_generator("SPIRAL"));
    assert_false(mt_dataset_is_generator("fashion-mnist"));
    mt_diag d;
    mt_diag_init(&d);
    ds = (mt_dataset *)&d;
    assert_int_equal(mt_dataset_generate("split", 0, 0, &ds, &d), MT_ERR_ARG);
    assert_null(ds);
    assert_non_null(strstr(d.msg, "--points 0"));
    mt_diag_init(&d);
    assert_int_equal(mt_dataset_generate("spiral", 1, 0, &ds, &d), MT_ERR_ARG);
    mt_diag_init(&d);
    assert_int_equal(mt_dataset_generate("split", MT_DATA_MAX_POINTS + 1, 0, &ds, &d), MT_ERR_ARG);
    mt_diag_init(&d);
    assert_int_equal(mt_dataset_generate("moons", 10, 0, &ds, &d), MT_ERR_ARG);
    assert_non_null(strstr(d.msg, "unknown data set 'moons'"));
}

static void loading_by_name_finds_generators_and_reports_unknown_names(void **state)
{
    (void)state;
    mt_dataset *ds = NULL;
    assert_int_equal(mt_dataset_load("split", 30, 5, &ds, NULL), MT_OK);
    assert_int_equal(ds->n, 30);
    mt_dataset_free(ds);
    expect_load_error("no-such-data-set", MT_ERR_ARG, NULL, "unknown data set 'no-such-data-set'");
    expect_load_error("", MT_ERR_ARG, NULL, "no data set named");
    expect_load_error("/dev/null", MT_ERR_IO, "/dev/null", "not a regular file or directory");
}

/* ---- shuffling and batching ---------------------------------------------------------------- */

static void is_permutation(const int64_t *order, int64_t n)
{
    char *seen = calloc((size_t)n + 1, 1);
    assert_non_null(seen);
    for (int64_t i = 0; i < n; i++) {
        assert_true(order[i] >= 0 && order[i] < n);
        assert_false(seen[order[i]]);
        seen[order[i]] = 1;
    }
    free(seen);
}

static void shuffling_gives_a_reproducible_permutation_per_seed_and_epoch(void **state)
{
    (void)state;
    enum { N = 1000 };
    static int64_t a[N], b[N], c[N], e[N];
    assert_int_equal(mt_dataset_order(N, 42, 3, 1, a, NULL), MT_OK);
    assert_int_equal(mt_dataset_order(N, 42, 3, 1, b, NULL), MT_OK);
    assert_int_equal(mt_dataset_order(N, 42, 4, 1, c, NULL), MT_OK);
    assert_int_equal(mt_dataset_order(N, 43, 3, 1, e, NULL), MT_OK);
    is_permutation(a, N);
    is_permutation(c, N);
    is_permutation(e, N);
    assert_memory_equal(a, b, sizeof a);
    int fixed = 0, same_c = 0, same_e = 0;
    for (int i = 0; i < N; i++) {
        fixed += a[i] == i;
        same_c += a[i] == c[i];
        same_e += a[i] == e[i];
    }
    /* A random permutation has about one fixed point; 10 is far in the tail. */
    assert_true(fixed < 10 && same_c < 10 && same_e < 10);
    assert_int_equal(mt_dataset_order(N, 42, 3, 0, a, NULL), MT_OK);
    for (int i = 0; i < N; i++)
        assert_int_equal(a[i], i);
    assert_int_equal(mt_dataset_order(0, 1, 0, 1, NULL, NULL), MT_OK);
    assert_int_equal(mt_dataset_order(1, 1, 0, 1, a, NULL), MT_OK);
    assert_int_equal(a[0], 0);
    assert_int_equal(mt_dataset_order(-1, 1, 0, 1, a, NULL), MT_ERR_ARG);
}

/* All 6 orders of 3 items come up about equally often over 6000 epochs. */
static void shuffling_draws_every_order_about_equally_often(void **state)
{
    (void)state;
    int counts[6] = {0};
    for (uint32_t epoch = 0; epoch < 6000; epoch++) {
        int64_t o[3];
        assert_int_equal(mt_dataset_order(3, 9, epoch, 1, o, NULL), MT_OK);
        is_permutation(o, 3);
        int code = (int)(o[0] * 2 + (o[1] > o[2]));
        counts[code]++;
    }
    for (int i = 0; i < 6; i++)
        if (counts[i] < 850 || counts[i] > 1150) /* 1000 +- 5 sigma */
            fail_msg("order %d drawn %d times of 6000", i, counts[i]);
}

static void batching_drops_the_last_partial_batch(void **state)
{
    (void)state;
    assert_int_equal(mt_dataset_nbatches(50, 10), 5);
    assert_int_equal(mt_dataset_nbatches(53, 10), 5);
    assert_int_equal(mt_dataset_nbatches(9, 10), 0);
    assert_int_equal(mt_dataset_nbatches(9, 0), 0);
    mt_dataset *ds = generate("diag", 53, 3);
    int64_t order[53];
    assert_int_equal(mt_dataset_order(53, 11, 0, 1, order, NULL), MT_OK);
    float x[10][2], y[10];
    int64_t nb = mt_dataset_nbatches(ds->n, 10);
    int used = 0;
    for (int64_t b = 0; b < nb; b++) {
        int64_t start = mt_dataset_batch_start(b, 10, 1, 0);
        assert_int_equal(mt_dataset_batch(ds, order, start, 10, x, y, NULL), MT_OK);
        for (int i = 0; i < 10; i++) {
            int64_t r = order[start + i];
            assert_true(x[i][0] == xs(ds)[2 * r] && x[i][1] == xs(ds)[2 * r + 1]);
            assert_true(y[i] == ys(ds)[r]);
            used++;
        }
    }
    assert_int_equal(used, 50);
    /* A batch past the end is an error, not a read out of bounds. */
    mt_diag d;
    mt_diag_init(&d);
    assert_int_equal(mt_dataset_batch(ds, order, 50, 10, x, y, &d), MT_ERR_ARG);
    assert_non_null(strstr(d.msg, "outside the 53 samples"));
    /* Without an order the batch is rows start.. in turn. */
    assert_int_equal(mt_dataset_batch(ds, NULL, 20, 10, x, y, NULL), MT_OK);
    assert_true(x[0][0] == xs(ds)[40] && y[9] == ys(ds)[29]);
    mt_dataset_free(ds);
}

static void data_parallel_ranks_split_each_global_batch_in_order(void **state)
{
    (void)state;
    enum { R = 3, B = 4, N = 50 };
    mt_dataset *ds = generate("simple", N, 8);
    int64_t order[N];
    assert_int_equal(mt_dataset_order(N, 5, 2, 1, order, NULL), MT_OK);
    int64_t nglobal = mt_dataset_nbatches(N, (int64_t)R * B);
    assert_int_equal(nglobal, 4);
    for (int64_t b = 0; b < nglobal; b++) {
        float whole[R * B][2], part[B][2], y[R * B];
        assert_int_equal(mt_dataset_batch(ds, order, b * R * B, R * B, whole, y, NULL), MT_OK);
        for (int r = 0; r < R; r++) {
            int64_t start = mt_dataset_batch_start(b, B, R, r);
            assert_int_equal(mt_dataset_gather(ds->x, order, start, B, part, NULL), MT_OK);
            assert_memory_equal(part, whole[r * B], sizeof part);
        }
    }
    mt_dataset_free(ds);
}

/* ---- safetensors data files ---------------------------------------------------------------- */

static mt_tensor *f32_tensor(int rank, const int64_t *dims, float base)
{
    mt_tensor *t = mt_tensor_new(mt_type_make(MT_DTYPE_F32, rank, dims));
    assert_non_null(t);
    float *p = t->data;
    for (int64_t i = 0; i < mt_type_numel(&t->type); i++)
        p[i] = base + (float)i;
    return t;
}

/* Writes a safetensors file of the given tensors (name, rank, dims...; NULL name ends). */
static void write_data_file(const char *path, const char *const *names, const int *ranks,
                            int64_t (*dims)[4], const mt_dtype *dtypes)
{
    mt_tensor_map *m = mt_tensor_map_new();
    assert_non_null(m);
    for (int i = 0; names[i]; i++) {
        mt_tensor *t = dtypes && dtypes[i] == MT_DTYPE_F64
                           ? mt_tensor_new(mt_type_make(MT_DTYPE_F64, ranks[i], dims[i]))
                           : f32_tensor(ranks[i], dims[i], 100.0f * (float)i);
        assert_non_null(t);
        assert_int_equal(mt_tensor_map_put(m, names[i], t), MT_OK);
    }
    mt_diag d;
    mt_diag_init(&d);
    if (mt_safetensors_save(path, m, &d) != MT_OK)
        fail_msg("%s", d.msg);
    mt_tensor_map_free(m);
}

static void a_safetensors_file_with_a_test_split_loads_as_it_is(void **state)
{
    (void)state;
    char path[512];
    tmp_path(path, sizeof path, "data.safetensors");
    const char *names[] = {"x", "y", "x_test", "y_test", "extra", NULL};
    const int ranks[] = {3, 2, 3, 2, 1};
    int64_t dims[][4] = {{6, 2, 3}, {6, 4}, {2, 2, 3}, {2, 4}, {1}};
    write_data_file(path, names, ranks, dims, NULL);
    mt_dataset *ds = NULL;
    mt_diag d;
    mt_diag_init(&d);
    if (mt_dataset_load(path, 0, 0, &ds, &d) != MT_OK)
        fail_msg("%s", d.msg);
    assert_string_equal(ds->name, path);
    assert_int_equal(ds->n, 6);
    assert_int_equal(ds->n_test, 2);
    assert_int_equal(ds->x->type.rank, 3);
    assert_int_equal(mt_dataset_row_bytes(ds->x), 6 * sizeof(float));
    assert_int_equal(mt_dataset_row_bytes(ds->y), 4 * sizeof(float));
    float x[2][6], y[2][4];
    const int64_t order[6] = {5, 4, 3, 2, 1, 0};
    assert_int_equal(mt_dataset_batch(ds, order, 0, 2, x, y, NULL), MT_OK);
    assert_true(x[0][0] == 30.0f && x[1][5] == 29.0f && y[0][0] == 120.0f);
    assert_int_equal(mt_dataset_gather(ds->y_test, NULL, 1, 1, y, NULL), MT_OK);
    assert_true(y[0][0] == 304.0f);
    mt_dataset_free(ds);
    assert_int_equal(unlink(path), 0);
}

static void safetensors_data_file_errors_name_the_file_and_the_tensor(void **state)
{
    (void)state;
    char path[512];
    tmp_path(path, sizeof path, "bad.safetensors");
    struct {
        const char *names[4];
        int ranks[3];
        int64_t dims[3][4];
        mt_dtype dtypes[3];
        mt_status want;
        const char *phrase;
    } cases[] = {
        {{"x", NULL}, {2}, {{4, 2}}, {0}, MT_ERR_ARG, "no tensor 'y'"},
        {{"y", NULL}, {2}, {{4, 2}}, {0}, MT_ERR_ARG, "no tensor 'x'"},
        {{"x", "y", NULL},
         {2, 2},
         {{4, 2}, {5, 1}},
         {0},
         MT_ERR_SHAPE,
         "'x' f32[4,2] and 'y' f32[5,1] differ in their leading (sample) dim"},
        {{"x", "y", NULL},
         {2, 2},
         {{4, 2}, {4, 1}},
         {MT_DTYPE_F32, MT_DTYPE_F64},
         MT_ERR_TYPE,
         "differ in dtype"},
        {{"x", "y", "x_test", NULL},
         {2, 2, 2},
         {{4, 2}, {4, 1}, {2, 2}},
         {0},
         MT_ERR_ARG,
         "no tensor 'y_test'"},
        {{"x", "y", "y_test", NULL},
         {2, 2, 2},
         {{4, 2}, {4, 1}, {2, 1}},
         {0},
         MT_ERR_ARG,
         "no tensor 'x_test'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_data_file(path, cases[i].names, cases[i].ranks, cases[i].dims, cases[i].dtypes);
        expect_load_error(path, cases[i].want, path, cases[i].phrase);
    }
    /* A test split must match the training tensors but for the sample count. */
    const char *names[] = {"x", "y", "x_test", "y_test", NULL};
    const int ranks[] = {2, 2, 2, 2};
    int64_t dims[][4] = {{4, 2}, {4, 1}, {3, 3}, {3, 1}};
    write_data_file(path, names, ranks, dims, NULL);
    expect_load_error(path, MT_ERR_SHAPE, path,
                      "'x_test' f32[3,3] does not match 'x' f32[4,2] but for the sample count");
    /* Not safetensors at all. */
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("hello", f);
    fclose(f);
    expect_load_error(path, MT_ERR_PARSE, path, "");
    assert_int_equal(unlink(path), 0);
}

/* ---- IDX directories ----------------------------------------------------------------------- */

/* Writes an IDX file, gzip-compressed when the name ends in .gz. */
static void write_idx(const char *dir, const char *name, int rank, const uint32_t *dims,
                      const unsigned char *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unsigned char head[4 + 4 * 3] = {0, 0, 0x08, (unsigned char)rank};
    for (int i = 0; i < rank; i++)
        for (int k = 0; k < 4; k++)
            head[4 + 4 * i + k] = (unsigned char)(dims[i] >> (24 - 8 * k));
    size_t hlen = 4 + 4 * (size_t)rank;
    if (strstr(name, ".gz")) {
        gzFile g = gzopen(path, "wb");
        assert_non_null(g);
        assert_int_equal(gzwrite(g, head, (unsigned)hlen), (int)hlen);
        assert_int_equal(gzwrite(g, data, (unsigned)len), (int)len);
        assert_int_equal(gzclose(g), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(head, 1, hlen, f), hlen);
        assert_int_equal(fwrite(data, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
    }
}

static void remove_in(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(unlink(path), 0);
}

static void an_idx_directory_loads_scaled_pixels_and_one_hot_labels(void **state)
{
    (void)state;
    char dir[512];
    tmp_path(dir, sizeof dir, "mnist");
    assert_int_equal(mkdir(dir, 0700), 0);
    unsigned char pixels[5 * 2 * 3], labels[5] = {0, 3, 1, 3, 2}, tlabels[2] = {4, 0};
    for (int i = 0; i < 30; i++)
        pixels[i] = (unsigned char)(i * 255 / 29);
    const uint32_t idims[3] = {5, 2, 3}, ldims[1] = {5}, tidims[3] = {2, 2, 3}, tldims[1] = {2};
    write_idx(dir, "train-images-idx3-ubyte.gz", 3, idims, pixels, 30);
    write_idx(dir, "train-labels-idx1-ubyte.gz", 1, ldims, labels, 5);
    write_idx(dir, "t10k-images-idx3-ubyte", 3, tidims, pixels, 12);
    write_idx(dir, "t10k-labels-idx1-ubyte", 1, tldims, tlabels, 2);
    mt_dataset *ds = NULL;
    mt_diag d;
    mt_diag_init(&d);
    if (mt_dataset_load(dir, 0, 0, &ds, &d) != MT_OK)
        fail_msg("%s: %s", d.file, d.msg);
    assert_int_equal(ds->n, 5);
    assert_int_equal(ds->n_test, 2);
    assert_int_equal(ds->x->type.dims[1], 6);
    /* Classes: the largest label of both splits (4, in the test split) plus one. */
    assert_int_equal(ds->y->type.dims[1], 5);
    assert_int_equal(ds->y_test->type.dims[1], 5);
    for (int i = 0; i < 30; i++)
        assert_float_equal(xs(ds)[i], pixels[i] / 255.0, 1e-7);
    assert_true(xs(ds)[0] == 0.0f && xs(ds)[29] == 1.0f);
    for (int i = 0; i < 5; i++)
        for (int c = 0; c < 5; c++)
            assert_true(ys(ds)[i * 5 + c] == (c == labels[i] ? 1.0f : 0.0f));
    const float *yt = ds->y_test->data;
    assert_true(yt[4] == 1.0f && yt[5] == 1.0f);
    mt_dataset_free(ds);

    /* Without t10k files there is no test split. */
    remove_in(dir, "t10k-images-idx3-ubyte");
    remove_in(dir, "t10k-labels-idx1-ubyte");
    /* One IDX file named alone is pointed at its directory. */
    char file[1024];
    snprintf(file, sizeof file, "%s/train-labels-idx1-ubyte.gz", dir);
    expect_load_error(file, MT_ERR_ARG, file, "name the directory");
    assert_int_equal(mt_dataset_load(dir, 0, 0, &ds, NULL), MT_OK);
    assert_null(ds->x_test);
    assert_int_equal(ds->n_test, 0);
    assert_int_equal(ds->y->type.dims[1], 4);
    mt_dataset_free(ds);
    remove_in(dir, "train-images-idx3-ubyte.gz");
    remove_in(dir, "train-labels-idx1-ubyte.gz");
    assert_int_equal(rmdir(dir), 0);
}

static void idx_directory_errors_name_the_file_at_fault(void **state)
{
    (void)state;
    char dir[512], labels_path[600], images_path[600];
    tmp_path(dir, sizeof dir, "broken");
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(labels_path, sizeof labels_path, "%s/train-labels-idx1-ubyte", dir);
    snprintf(images_path, sizeof images_path, "%s/train-images-idx3-ubyte", dir);
    unsigned char bytes[24] = {0};
    const uint32_t idims[3] = {4, 2, 3}, ldims[1] = {3}, flat[2] = {4, 6};
    expect_load_error(dir, MT_ERR_IO, dir, "no train-images-idx3-ubyte or");
    write_idx(dir, "train-images-idx3-ubyte", 3, idims, bytes, 24);
    expect_load_error(dir, MT_ERR_IO, dir, "no train-labels-idx1-ubyte or");
    write_idx(dir, "train-labels-idx1-ubyte", 1, ldims, bytes, 3);
    expect_load_error(dir, MT_ERR_PARSE, labels_path, "holds 3 labels but");
    write_idx(dir, "train-labels-idx1-ubyte", 3, idims, bytes, 24);
    expect_load_error(dir, MT_ERR_PARSE, labels_path, "expected labels");
    remove_in(dir, "train-labels-idx1-ubyte");
    write_idx(dir, "train-labels-idx1-ubyte", 1, idims, bytes, 4);
    write_idx(dir, "train-images-idx3-ubyte", 2, flat, bytes, 24);
    expect_load_error(dir, MT_ERR_PARSE, images_path, "expected images");
    write_idx(dir, "train-images-idx3-ubyte", 3, idims, bytes, 20); /* truncated */
    expect_load_error(dir, MT_ERR_PARSE, images_path, "truncated IDX data");
    write_idx(dir, "train-images-idx3-ubyte", 3, idims, bytes, 24);
    write_idx(dir, "t10k-images-idx3-ubyte", 3, idims, bytes, 24);
    expect_load_error(dir, MT_ERR_IO, dir, "no t10k-labels-idx1-ubyte or");
    remove_in(dir, "t10k-images-idx3-ubyte");
    remove_in(dir, "train-images-idx3-ubyte");
    remove_in(dir, "train-labels-idx1-ubyte");
    assert_int_equal(rmdir(dir), 0);
}

static void every_allocation_failure_while_loading_is_a_clean_error(void **state)
{
    (void)state;
    char dir[512];
    tmp_path(dir, sizeof dir, "oom");
    assert_int_equal(mkdir(dir, 0700), 0);
    unsigned char bytes[24] = {1, 2, 3};
    const uint32_t idims[3] = {4, 2, 3}, ldims[1] = {4};
    write_idx(dir, "train-images-idx3-ubyte.gz", 3, idims, bytes, 24);
    write_idx(dir, "train-labels-idx1-ubyte", 1, ldims, bytes, 4);
    const char *what[] = {dir, "spiral"};
    for (int w = 0; w < 2; w++) {
        mt_dataset *ds = NULL;
        mt_test_alloc_fail_nth(0);
        assert_int_equal(mt_dataset_load(what[w], 10, 0, &ds, NULL), MT_OK);
        mt_dataset_free(ds);
        long total = mt_test_alloc_calls();
        mt_test_alloc_restore();
        for (long k = 1; k <= total; k++) {
            mt_diag d;
            mt_diag_init(&d);
            mt_test_alloc_fail_nth(k);
            ds = NULL;
            mt_status st = mt_dataset_load(what[w], 10, 0, &ds, &d);
            mt_test_alloc_restore();
            if (st != MT_ERR_NOMEM || ds || mt_test_alloc_live() != 0)
                fail_msg("%s: allocation %ld of %ld failing gave %s (%s), %ld blocks leaked",
                         what[w], k, total, mt_status_name(st), d.msg, mt_test_alloc_live());
        }
    }
    remove_in(dir, "train-images-idx3-ubyte.gz");
    remove_in(dir, "train-labels-idx1-ubyte");
    assert_int_equal(rmdir(dir), 0);
}

/* ---- Fashion-MNIST (where Debian's package is installed) ----------------------------------- */

static void fashion_mnist_has_60000_and_10000_images_in_unit_range_with_one_hot_labels(void **state)
{
    (void)state;
    struct stat sb;
    if (stat(MT_FASHION_MNIST_DIR, &sb) != 0) {
        print_message("dataset-fashion-mnist is not installed: skipped\n");
        skip();
    }
    mt_dataset *ds = NULL;
    mt_diag d;
    mt_diag_init(&d);
    if (mt_dataset_load("fashion-mnist", 0, 0, &ds, &d) != MT_OK)
        fail_msg("%s: %s", d.file, d.msg);
    assert_string_equal(ds->name, "fashion-mnist");
    assert_int_equal(ds->n, 60000);
    assert_int_equal(ds->n_test, 10000);
    assert_int_equal(ds->x->type.dims[1], 784);
    assert_int_equal(ds->y->type.dims[1], 10);
    const mt_tensor *xs_[2] = {ds->x, ds->x_test}, *ys_[2] = {ds->y, ds->y_test};
    for (int s = 0; s < 2; s++) {
        const float *x = xs_[s]->data, *y = ys_[s]->data;
        int64_t n = xs_[s]->type.dims[0];
        float lo = 1.0f, hi = 0.0f;
        for (int64_t i = 0; i < n * 784; i++) {
            lo = x[i] < lo ? x[i] : lo;
            hi = x[i] > hi ? x[i] : hi;
        }
        assert_true(lo == 0.0f && hi == 1.0f);
        int64_t per_class[10] = {0};
        for (int64_t i = 0; i < n; i++) {
            int ones = 0, cls = -1;
            for (int c = 0; c < 10; c++) {
                assert_true(y[i * 10 + c] == 0.0f || y[i * 10 + c] == 1.0f);
                if (y[i * 10 + c] == 1.0f) {
                    ones++;
                    cls = c;
                }
            }
            assert_int_equal(ones, 1);
            per_class[cls]++;
        }
        /* Fashion-MNIST is balanced: 6000 (train) or 1000 (test) images per class. */
        for (int c = 0; c < 10; c++)
            assert_int_equal(per_class[c], n / 10);
    }
    mt_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_random_generator_labels_its_points_by_minitorchs_formula),
        cmocka_unit_test(random_points_are_the_rand_ops_numbers_for_the_seed),
        cmocka_unit_test(the_same_seed_gives_the_same_points_and_another_seed_others),
        cmocka_unit_test(spiral_has_minitorchs_exact_points_half_per_class),
        cmocka_unit_test(generator_names_ignore_case_and_bad_counts_are_errors),
        cmocka_unit_test(loading_by_name_finds_generators_and_reports_unknown_names),
        cmocka_unit_test(shuffling_gives_a_reproducible_permutation_per_seed_and_epoch),
        cmocka_unit_test(shuffling_draws_every_order_about_equally_often),
        cmocka_unit_test(batching_drops_the_last_partial_batch),
        cmocka_unit_test(data_parallel_ranks_split_each_global_batch_in_order),
        cmocka_unit_test(a_safetensors_file_with_a_test_split_loads_as_it_is),
        cmocka_unit_test(safetensors_data_file_errors_name_the_file_and_the_tensor),
        cmocka_unit_test(an_idx_directory_loads_scaled_pixels_and_one_hot_labels),
        cmocka_unit_test(idx_directory_errors_name_the_file_at_fault),
        cmocka_unit_test(every_allocation_failure_while_loading_is_a_clean_error),
        cmocka_unit_test(
            fashion_mnist_has_60000_and_10000_images_in_unit_range_with_one_hot_labels),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
