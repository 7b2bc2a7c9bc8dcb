/* test_safetensors.c - reading and writing safetensors files (runtime/safetensors.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ir/alloc.h"
#include "ir/type.h"
#include "runtime/tensor.h"
#include "tests/support/failing_alloc.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static char tmpdir[256];
static unsigned seed;

static int make_tmpdir(void **state)
{
    (void)state;
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/mt_safetensors_XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(tmpdir) ? 0 : -1;
}

/* Fails (and so fails the run) when a test left a file behind, a stray temporary file say. */
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

static int dir_entries(const char *dir)
{
    DIR *p = opendir(dir);
    assert_non_null(p);
    int n = 0;
    for (struct dirent *e; (e = readdir(p));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(p);
    return n;
}

static unsigned next_rand(void)
{
    seed = seed * 1103515245u + 12345u;
    return seed >> 8;
}

static mt_tensor *random_tensor(mt_dtype dt, int rank, const int64_t *dims)
{
    mt_tensor *t = mt_tensor_new(mt_type_make(dt, rank, dims));
    assert_non_null(t);
    int64_t n = mt_type_numel(&t->type);
    for (int64_t i = 0; i < n; i++) {
        double v = (double)(int)(next_rand() % 20001u - 10000u) / 1000.0 + 1e-7 * (double)i;
        if (dt == MT_DTYPE_F64)
            ((double *)t->data)[i] = v;
        else
            ((float *)t->data)[i] = (float)v;
    }
    return t;
}

/* 8-byte length, the JSON text, then `ndata` data bytes (0x11, 0x22, ...). Free with free(). */
static unsigned char *build_file(const char *json, size_t ndata, size_t *len)
{
    size_t n = strlen(json);
    *len = 8 + n + ndata;
    unsigned char *b = malloc(*len);
    assert_non_null(b);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)n >> (8 * i));
    memcpy(b + 8, json, n);
    for (size_t i = 0; i < ndata; i++)
        b[8 + n + i] = (unsigned char)(0x11 * (i + 1));
    return b;
}

static unsigned char *read_whole(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* Parses `json` + ndata bytes and expects a parse error whose message contains `phrase`. */
static void expect_parse_error(const char *json, size_t ndata, const char *phrase)
{
    size_t len;
    unsigned char *b = build_file(json, ndata, &len);
    mt_diag d;
    mt_diag_init(&d);
    mt_tensor_map *m = (mt_tensor_map *)&d; /* must be reset to NULL */
    mt_status st = mt_safetensors_parse(b, len, "bad.safetensors", &m, &d);
    if (st != MT_ERR_PARSE || !strstr(d.msg, phrase))
        fail_msg("header %s: got %s \"%s\", want a parse error containing \"%s\"", json,
                 mt_status_name(st), d.msg, phrase);
    assert_null(m);
    assert_string_equal(d.file, "bad.safetensors");
    assert_int_equal(d.line, 0);
    assert_null(strchr(d.msg, '\n'));
    mt_diag_fini(&d);
    free(b);
}

/* ---- reading ------------------------------------------------------------------------------ */

static void a_hand_built_file_parses_in_file_order(void **state)
{
    (void)state;
    /* 'b' is listed first but stored second; data starts unaligned (header length 131). */
    const char *json = "{\"b\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[8,16]},"
                       "\"__metadata__\":{\"format\":\"pt\"},"
                       "\"a\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]}}  ";
    size_t len;
    unsigned char *b = build_file(json, 16, &len);
    assert_int_not_equal((8 + strlen(json)) % 8, 0);
    float a[2] = {1.5f, -2.25f};
    double bv = 0.1;
    memcpy(b + 8 + strlen(json), a, 8);
    memcpy(b + 8 + strlen(json) + 8, &bv, 8);

    mt_diag d;
    mt_diag_init(&d);
    mt_tensor_map *m = NULL;
    assert_int_equal(mt_safetensors_parse(b, len, "hand.safetensors", &m, &d), MT_OK);
    assert_int_equal(mt_tensor_map_count(m), 2);
    assert_string_equal(mt_tensor_map_name(m, 0), "a");
    assert_string_equal(mt_tensor_map_name(m, 1), "b");
    const mt_tensor *ta = mt_tensor_map_get(m, "a");
    assert_int_equal(ta->type.dtype, MT_DTYPE_F32);
    assert_int_equal(ta->type.rank, 2);
    assert_int_equal(ta->type.dims[0], 1);
    assert_int_equal(ta->type.dims[1], 2);
    assert_true(((float *)ta->data)[0] == 1.5f && ((float *)ta->data)[1] == -2.25f);
    const mt_tensor *tb = mt_tensor_map_get(m, "b");
    assert_int_equal(tb->type.dtype, MT_DTYPE_F64);
    assert_int_equal(tb->type.rank, 0);
    assert_true(*(double *)tb->data == 0.1);
    mt_tensor_map_free(m);
    free(b);
}

static void a_file_written_by_pytorch_loads_with_its_exact_values(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/tests/golden/torch_written.safetensors", MT_SOURCE_DIR);
    mt_diag d;
    mt_diag_init(&d);
    mt_tensor_map *m = NULL;
    if (mt_safetensors_load(path, &m, &d) != MT_OK)
        fail_msg("%s: %s", d.file, d.msg);
    assert_int_equal(mt_tensor_map_count(m), 3);
    /* Python's writer stores the f64 tensors first (largest alignment), then by name. */
    assert_string_equal(mt_tensor_map_name(m, 0), "grad.w1");
    assert_string_equal(mt_tensor_map_name(m, 1), "scale");
    assert_string_equal(mt_tensor_map_name(m, 2), "layer.weight");

    const mt_tensor *w = mt_tensor_map_get(m, "layer.weight");
    assert_int_equal(w->type.dtype, MT_DTYPE_F32);
    assert_int_equal(w->type.rank, 2);
    assert_int_equal(w->type.dims[0], 3);
    assert_int_equal(w->type.dims[1], 4);
    for (int i = 0; i < 12; i++)
        assert_true(((float *)w->data)[i] == (float)i * 0.25f - 1.5f);

    const mt_tensor *s = mt_tensor_map_get(m, "scale");
    assert_int_equal(s->type.dtype, MT_DTYPE_F64);
    assert_int_equal(s->type.rank, 0);
    assert_true(*(double *)s->data == 0.1);

    const mt_tensor *g = mt_tensor_map_get(m, "grad.w1");
    assert_int_equal(g->type.dtype, MT_DTYPE_F64);
    assert_int_equal(g->type.rank, 3);
    assert_int_equal(g->type.dims[0], 2);
    assert_int_equal(g->type.dims[1], 3);
    assert_int_equal(g->type.dims[2], 4);
    for (int i = 0; i < 24; i++)
        assert_true(((double *)g->data)[i] == (double)i * 0.1);
    mt_tensor_map_free(m);
}

static void a_file_shorter_than_the_length_field_is_a_parse_error(void **state)
{
    (void)state;
    unsigned char b[7] = {0};
    mt_diag d;
    mt_diag_init(&d);
    mt_tensor_map *m = NULL;
    assert_int_equal(mt_safetensors_parse(b, sizeof b, "short.safetensors", &m, &d), MT_ERR_PARSE);
    assert_non_null(strstr(d.msg, "shorter than the 8-byte header length"));
    assert_string_equal(d.file, "short.safetensors");
    assert_null(m);
}

static void a_header_length_past_the_end_of_the_file_is_a_parse_error(void **state)
{
    (void)state;
    size_t len;
    unsigned char *b = build_file("{}", 0, &len);
    mt_diag d;
    mt_tensor_map *m = NULL;
    for (int absurd = 0; absurd < 2; absurd++) {
        b[0] = 3, b[7] = absurd ? 0xff : 0; /* 3 > 2 bytes of header; then ~2^63 */
        mt_diag_init(&d);
        assert_int_equal(mt_safetensors_parse(b, len, "f.safetensors", &m, &d), MT_ERR_PARSE);
        assert_non_null(strstr(d.msg, "runs past the end"));
        assert_null(m);
    }
    free(b);
}

static void malformed_headers_are_parse_errors_that_say_what_is_wrong(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        size_t ndata;
        const char *phrase;
    } cases[] = {
        {"", 0, "header is not valid JSON"},
        {"{\"a\":", 0, "header is not valid JSON"},
        {"{} x", 0, "header is not valid JSON (trailing bytes"},
        {"[1, 2]", 0, "header is not a JSON object"},
        {"\"w\"", 0, "header is not a JSON object"},
        {"{\"w\":3}", 0, "tensor 'w': entry is not an object"},
        {"{\"w\":[]}", 0, "tensor 'w': entry is not an object"},
        {"{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor 'w': missing 'dtype'"},
        {"{\"w\":{\"dtype\":5,\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
         "tensor 'w': 'dtype' is not a string"},
        {"{\"w\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8,
         "tensor 'w': unsupported dtype 'I64' (mtc reads F32 and F64)"},
        {"{\"w\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
         "unsupported dtype 'f32'"},
        {"{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "tensor 'w': missing 'shape'"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,4]}}", 4,
         "tensor 'w': 'shape' is not an array"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4,
         "tensor 'w': shape entry 0 is not a non-negative integer"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2,1.5],\"data_offsets\":[0,4]}}", 4,
         "shape entry 1 is not a non-negative integer"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,4]}}", 4,
         "shape entry 0 is not a non-negative integer"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
         "tensor 'w': rank 7 exceeds the maximum rank 6"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2,0],\"data_offsets\":[0,0]}}", 0,
         "shape entry 1 is 0, but mtc types need positive dims"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1048576,1048576,2],\"data_offsets\":[0,4]}}", 4,
         "tensor 'w': element count overflows"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1e300],\"data_offsets\":[0,4]}}", 4,
         "tensor 'w': element count overflows"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "tensor 'w': missing 'data_offsets'"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4,
         "'data_offsets' is not an array of two integers"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":{\"a\":0,\"b\":4}}}", 4,
         "'data_offsets' is not an array of two integers"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0.5,4]}}", 4,
         "tensor 'w': data_offsets entry 0 is not a non-negative integer"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4,
         "data_offsets entry 0 is not a non-negative integer"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,null]}}", 4,
         "data_offsets entry 1 is not a non-negative integer"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8,
         "tensor 'w': data_offsets begin 8 is after end 4"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8,
         "tensor 'w': data_offsets end 16 is beyond the 8-byte data buffer"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,1e300]}}", 8,
         "beyond the 8-byte data buffer"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 8,
         "tensor 'w': data_offsets cover 4 bytes but f32[2] needs 8"},
        {"{\"w\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
         "data_offsets cover 8 bytes but f64[2] needs 16"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
         12, "tensors 'a' and 'b' overlap"},
        {"{\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
         "\"c\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[16,20]},"
         "\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}",
         20, "tensors 'a' and 'b' overlap"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
         8, "duplicate tensor name 'w'"},
        {"{\"__metadata__\":[],\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
         "'__metadata__' is not an object"},
        {"{\"__metadata__\":{},\"__metadata__\":{}}", 0, "duplicate '__metadata__'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_parse_error(cases[i].json, cases[i].ndata, cases[i].phrase);
}

static void a_missing_file_is_an_io_error_naming_it(void **state)
{
    (void)state;
    char path[512];
    tmp_path(path, sizeof path, "absent.safetensors");
    mt_diag d;
    mt_diag_init(&d);
    mt_tensor_map *m = NULL;
    assert_int_equal(mt_safetensors_load(path, &m, &d), MT_ERR_IO);
    assert_null(m);
    assert_string_equal(d.file, path);
    assert_non_null(strstr(d.msg, strerror(ENOENT)));
}

static void a_directory_is_an_io_error_not_a_crash(void **state)
{
    (void)state;
    mt_diag d;
    mt_diag_init(&d);
    mt_tensor_map *m = NULL;
    assert_int_equal(mt_safetensors_load(tmpdir, &m, &d), MT_ERR_IO);
    assert_null(m);
    assert_string_equal(d.file, tmpdir);
}

/* ---- a save killed midway ------------------------------------------------------------------ */

enum { CKPT_NUMEL = 1 << 21 }; /* 8 MB: a save takes long enough to be killed inside it */

static mt_tensor_map *checkpoint_of(float v)
{
    int64_t n = CKPT_NUMEL;
    mt_tensor *t = mt_tensor_new(mt_type_make(MT_DTYPE_F32, 1, &n));
    mt_tensor_map *m = mt_tensor_map_new();
    if (!t || !m || mt_tensor_map_put(m, "w", t) != MT_OK)
        return NULL;
    float *x = mt_tensor_data(t);
    for (int64_t i = 0; i < n; i++)
        x[i] = v;
    return m;
}

/* The value of a checkpoint that loads whole and holds one value everywhere; -1 if not. */
static float whole_checkpoint_value(const char *path)
{
    mt_diag d;
    mt_diag_init(&d);
    mt_tensor_map *m = NULL;
    if (mt_safetensors_load(path, &m, &d) != MT_OK)
        return -1;
    const mt_tensor *t = mt_tensor_map_get(m, "w");
    float v = -1;
    if (t && mt_type_numel(mt_tensor_type(t)) == CKPT_NUMEL) {
        const float *x = mt_tensor_data(t);
        v = x[0];
        for (int64_t i = 1; i < CKPT_NUMEL && v >= 0; i++)
            if (x[i] != v)
                v = -1;
    }
    mt_tensor_map_free(m);
    return v;
}

static void remove_every_file_in_tmpdir(void)
{
    DIR *p = opendir(tmpdir);
    assert_non_null(p);
    char path[512];
    for (struct dirent *e; (e = readdir(p));)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            tmp_path(path, sizeof path, e->d_name);
            unlink(path);
        }
    closedir(p);
}

/* `mtc train --save` writes through mt_safetensors_save: a kill -9 at any moment of a save
 * leaves the previous checkpoint or the new one, whole, never a mix or a truncated file. */
static void a_save_killed_midway_leaves_a_whole_checkpoint(void **state)
{
    (void)state;
    char path[512];
    tmp_path(path, sizeof path, "ckpt.safetensors");
    mt_diag d;
    mt_diag_init(&d);
    mt_tensor_map *first = checkpoint_of(1);
    assert_non_null(first);
    assert_int_equal(mt_safetensors_save(path, first, &d), MT_OK);
    mt_tensor_map_free(first);
    float last = 1;
    for (int round = 0; round < 6; round++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) { /* saves ever larger values until killed */
            alarm(20);
            for (float v = last + 1;; v++) {
                mt_tensor_map *m = checkpoint_of(v);
                if (!m || mt_safetensors_save(path, m, &d) != MT_OK)
                    _exit(1);
                mt_tensor_map_free(m);
            }
        }
        struct timespec pause = {0, (long)(5 + next_rand() % 40) * 1000000L};
        nanosleep(&pause, NULL);
        kill(pid, SIGKILL);
        int status = 0;
        waitpid(pid, &status, 0);
        assert_true(WIFSIGNALED(status));
        float v = whole_checkpoint_value(path);
        assert_true(v >= last); /* whole (not -1), and never older than the one before */
        last = v;
    }
    remove_every_file_in_tmpdir(); /* a killed save may leave its temporary file */
}

/* ---- writing and round trips --------------------------------------------------------------- */

static mt_tensor_map *map_of_every_rank(void)
{
    static const int64_t dims[] = {3, 1, 4, 2};
    mt_tensor_map *m = mt_tensor_map_new();
    assert_non_null(m);
    for (int rank = 0; rank <= 4; rank++) {
        for (int dt = 0; dt < 2; dt++) {
            char name[32];
            snprintf(name, sizeof name, "%s.rank%d", dt ? "f64" : "f32", rank);
            mt_tensor *t = random_tensor(dt ? MT_DTYPE_F64 : MT_DTYPE_F32, rank, dims);
            assert_int_equal(mt_tensor_map_put(m, name, t), MT_OK);
        }
    }
    return m;
}

static void assert_maps_equal(const mt_tensor_map *a, const mt_tensor_map *b)
{
    assert_int_equal(mt_tensor_map_count(a), mt_tensor_map_count(b));
    for (int i = 0; i < mt_tensor_map_count(a); i++) {
        assert_string_equal(mt_tensor_map_name(a, i), mt_tensor_map_name(b, i));
        const mt_tensor *x = mt_tensor_map_at(a, i), *y = mt_tensor_map_at(b, i);
        assert_true(mt_type_equal(&x->type, &y->type));
        assert_int_equal(x->nbytes, y->nbytes);
        assert_memory_equal(x->data, y->data, x->nbytes);
    }
}

static void f32_and_f64_tensors_of_ranks_0_to_4_round_trip_through_a_file(void **state)
{
    (void)state;
    char path[512];
    tmp_path(path, sizeof path, "roundtrip.safetensors");
    mt_tensor_map *m = map_of_every_rank();
    mt_diag d;
    mt_diag_init(&d);
    assert_int_equal(mt_safetensors_save(path, m, &d), MT_OK);
    mt_tensor_map *back = NULL;
    assert_int_equal(mt_safetensors_load(path, &back, &d), MT_OK);
    assert_maps_equal(m, back);

    /* Saving what was loaded gives the same bytes: the order is stable. */
    size_t n1, n2;
    unsigned char *first = read_whole(path, &n1);
    assert_int_equal(mt_safetensors_save(path, back, &d), MT_OK);
    unsigned char *second = read_whole(path, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(first, second, n1);
    free(first);
    free(second);
    mt_tensor_map_free(back);
    mt_tensor_map_free(m);
    assert_int_equal(unlink(path), 0);
}

static void the_written_header_is_padded_integer_json_with_pt_metadata(void **state)
{
    (void)state;
    char path[512];
    tmp_path(path, sizeof path, "header.safetensors");
    mt_tensor_map *m = mt_tensor_map_new();
    int64_t big = 1000000, small[] = {2, 3};
    assert_int_equal(mt_tensor_map_put(m, "s", mt_tensor_new(mt_type_make(MT_DTYPE_F64, 0, NULL))),
                     MT_OK);
    assert_int_equal(
        mt_tensor_map_put(m, "big", mt_tensor_new(mt_type_make(MT_DTYPE_F32, 1, &big))), MT_OK);
    assert_int_equal(
        mt_tensor_map_put(m, "q\"\\\n", mt_tensor_new(mt_type_make(MT_DTYPE_F32, 2, small))),
        MT_OK);
    mt_diag d;
    mt_diag_init(&d);
    assert_int_equal(mt_safetensors_save(path, m, &d), MT_OK);

    size_t len;
    unsigned char *b = read_whole(path, &len);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | b[i];
    assert_int_equal(hlen % 8, 0);
    assert_int_equal(len, 8 + hlen + 8 + 4000000 + 24);
    char *header = strndup((char *)b + 8, hlen);
    const char *want =
        "{\"__metadata__\":{\"format\":\"pt\"},"
        "\"s\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[0,8]},"
        "\"big\":{\"dtype\":\"F32\",\"shape\":[1000000],\"data_offsets\":[8,4000008]},"
        "\"q\\\"\\\\\\u000a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[4000008,4000032]"
        "}}";
    assert_memory_equal(header, want, strlen(want));
    for (size_t i = strlen(want); i < hlen; i++)
        assert_int_equal(header[i], ' ');

    mt_tensor_map *back = NULL;
    assert_int_equal(mt_safetensors_load(path, &back, &d), MT_OK);
    assert_maps_equal(m, back);
    mt_tensor_map_free(back);
    mt_tensor_map_free(m);
    free(header);
    free(b);
    assert_int_equal(unlink(path), 0);
}

static void an_empty_map_round_trips(void **state)
{
    (void)state;
    char path[512];
    tmp_path(path, sizeof path, "empty.safetensors");
    mt_tensor_map *m = mt_tensor_map_new();
    mt_diag d;
    mt_diag_init(&d);
    assert_int_equal(mt_safetensors_save(path, m, &d), MT_OK);
    mt_tensor_map *back = NULL;
    assert_int_equal(mt_safetensors_load(path, &back, &d), MT_OK);
    assert_int_equal(mt_tensor_map_count(back), 0);
    mt_tensor_map_free(back);
    mt_tensor_map_free(m);
    assert_int_equal(unlink(path), 0);
}

static void a_tensor_named_metadata_is_refused_on_save(void **state)
{
    (void)state;
    char path[512];
    tmp_path(path, sizeof path, "meta.safetensors");
    mt_tensor_map *m = mt_tensor_map_new();
    assert_int_equal(
        mt_tensor_map_put(m, "__metadata__", mt_tensor_new(mt_type_make(MT_DTYPE_F32, 0, NULL))),
        MT_OK);
    mt_diag d;
    mt_diag_init(&d);
    assert_int_equal(mt_safetensors_save(path, m, &d), MT_ERR_ARG);
    assert_non_null(strstr(d.msg, "reserved"));
    assert_int_equal(access(path, F_OK), -1);
    mt_tensor_map_free(m);
}

static void a_failed_save_names_the_path_and_leaves_no_temporary_file(void **state)
{
    (void)state;
    mt_tensor_map *m = map_of_every_rank();
    mt_diag d;

    char path[512];
    tmp_path(path, sizeof path, "no/such/dir.safetensors");
    mt_diag_init(&d);
    assert_int_equal(mt_safetensors_save(path, m, &d), MT_ERR_IO);
    assert_string_equal(d.file, path);
    assert_non_null(strstr(d.msg, strerror(ENOENT)));

    /* A directory is refused, and no temporary file is left beside it. */
    tmp_path(path, sizeof path, "adir");
    assert_int_equal(mkdir(path, 0700), 0);
    char inner[600];
    snprintf(inner, sizeof inner, "%s/x", path);
    FILE *f = fopen(inner, "w");
    assert_non_null(f);
    fclose(f);
    mt_diag_init(&d);
    assert_int_equal(mt_safetensors_save(path, m, &d), MT_ERR_IO);
    assert_string_equal(d.file, path);
    assert_non_null(strstr(d.msg, "cannot write"));
    assert_int_equal(dir_entries(tmpdir), 1);
    assert_int_equal(unlink(inner), 0);
    assert_int_equal(rmdir(path), 0);
    mt_tensor_map_free(m);
}

static void every_truncation_of_a_valid_file_fails_cleanly(void **state)
{
    (void)state;
    char path[512];
    tmp_path(path, sizeof path, "trunc.safetensors");
    mt_tensor_map *m = map_of_every_rank();
    mt_diag d;
    mt_diag_init(&d);
    assert_int_equal(mt_safetensors_save(path, m, &d), MT_OK);
    size_t len;
    unsigned char *full = read_whole(path, &len);
    for (size_t n = 0; n < len; n++) {
        /* A fresh heap copy of exactly n bytes, so ASan sees any read past the end. */
        unsigned char *b = malloc(n ? n : 1);
        memcpy(b, full, n);
        mt_tensor_map *out = NULL;
        mt_diag_init(&d);
        mt_status st = mt_safetensors_parse(b, n, "trunc.safetensors", &out, &d);
        if (st != MT_ERR_PARSE)
            fail_msg("prefix of %zu of %zu bytes: got %s", n, len, mt_status_name(st));
        assert_null(out);
        assert_string_equal(d.file, "trunc.safetensors");
        free(b);
    }
    mt_tensor_map *out = NULL;
    mt_diag_init(&d);
    assert_int_equal(mt_safetensors_parse(full, len, "trunc.safetensors", &out, &d), MT_OK);
    assert_maps_equal(m, out);
    mt_tensor_map_free(out);
    mt_tensor_map_free(m);
    free(full);
    assert_int_equal(unlink(path), 0);
}

/* ---- allocation failure -------------------------------------------------------------------- */

static void cjson_allocates_through_the_mt_allocator(void **state)
{
    (void)state;
    /* Any parse installs the hooks. */
    size_t len;
    unsigned char *b = build_file("{}", 0, &len);
    mt_tensor_map *m = NULL;
    assert_int_equal(mt_safetensors_parse(b, len, "x", &m, NULL), MT_OK);
    mt_tensor_map_free(m);
    free(b);

    mt_test_alloc_fail_nth(0); /* counts, fails nothing */
    cJSON *j = cJSON_Parse("{\"a\":[1,2,3]}");
    long during = mt_test_alloc_live();
    cJSON_Delete(j);
    mt_test_alloc_restore();
    assert_non_null(j);
    assert_true(during > 0);
    assert_int_equal(mt_test_alloc_live(), 0);
}

static void parse_survives_every_allocation_failure(void **state)
{
    (void)state;
    char path[512];
    tmp_path(path, sizeof path, "oom.safetensors");
    mt_tensor_map *m = map_of_every_rank();
    mt_diag d;
    mt_diag_init(&d);
    assert_int_equal(mt_safetensors_save(path, m, &d), MT_OK);
    size_t len;
    unsigned char *b = read_whole(path, &len);

    mt_test_alloc_fail_nth(0); /* counts, fails nothing */
    mt_tensor_map *out = NULL;
    assert_int_equal(mt_safetensors_parse(b, len, "oom", &out, &d), MT_OK);
    mt_tensor_map_free(out);
    long total = mt_test_alloc_calls();
    assert_int_equal(mt_test_alloc_live(), 0);

    int failures = 0;
    for (long n = 1; n <= total; n++) {
        mt_test_alloc_fail_nth(n);
        out = NULL;
        mt_diag_init(&d);
        mt_status st = mt_safetensors_parse(b, len, "oom", &out, &d);
        if (st == MT_ERR_NOMEM) {
            failures++;
            assert_null(out);
            assert_string_equal(d.file, "oom");
        } else if (st == MT_OK) {
            assert_maps_equal(m, out);
            mt_tensor_map_free(out);
        } else {
            mt_test_alloc_restore();
            fail_msg("allocation %ld of %ld failing gave %s: %s", n, total, mt_status_name(st),
                     d.msg);
        }
        if (mt_test_alloc_live() != 0) {
            mt_test_alloc_restore();
            fail_msg("allocation %ld of %ld failing leaked %ld blocks", n, total,
                     mt_test_alloc_live());
        }
    }
    mt_test_alloc_restore();
    assert_true(failures > 0);
    mt_tensor_map_free(m);
    free(b);
    assert_int_equal(unlink(path), 0);
}

static void save_and_load_survive_every_allocation_failure(void **state)
{
    (void)state;
    char path[512];
    tmp_path(path, sizeof path, "oomsave.safetensors");
    mt_tensor_map *m = map_of_every_rank();
    mt_test_alloc_fail_nth(0); /* counts, fails nothing */
    mt_diag d;
    mt_diag_init(&d);
    assert_int_equal(mt_safetensors_save(path, m, &d), MT_OK);
    mt_tensor_map *out = NULL;
    assert_int_equal(mt_safetensors_load(path, &out, &d), MT_OK);
    mt_tensor_map_free(out);
    long total = mt_test_alloc_calls();
    assert_int_equal(unlink(path), 0);

    for (long n = 1; n <= total; n++) {
        mt_test_alloc_fail_nth(n);
        mt_diag_init(&d);
        mt_status st = mt_safetensors_save(path, m, &d);
        if (st == MT_OK) {
            out = NULL;
            st = mt_safetensors_load(path, &out, &d);
            if (st == MT_OK)
                mt_tensor_map_free(out);
        }
        int leftover = dir_entries(tmpdir);
        unlink(path);
        if ((st != MT_OK && st != MT_ERR_NOMEM) || mt_test_alloc_live() != 0) {
            mt_test_alloc_restore();
            fail_msg("allocation %ld of %ld failing: %s (%s), %ld blocks leaked", n, total,
                     mt_status_name(st), d.msg, mt_test_alloc_live());
        }
        /* A failed save leaves nothing; a successful one leaves exactly the target. */
        assert_true(leftover == 0 || leftover == 1);
    }
    mt_test_alloc_restore();
    mt_tensor_map_free(m);
}

int main(void)
{
    const char *env = getenv("MT_SEED");
    seed = env && *env ? (unsigned)strtoul(env, NULL, 10) : (unsigned)time(NULL);
    printf("seed %u\n", seed);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_hand_built_file_parses_in_file_order),
        cmocka_unit_test(a_file_written_by_pytorch_loads_with_its_exact_values),
        cmocka_unit_test(a_file_shorter_than_the_length_field_is_a_parse_error),
        cmocka_unit_test(a_header_length_past_the_end_of_the_file_is_a_parse_error),
        cmocka_unit_test(malformed_headers_are_parse_errors_that_say_what_is_wrong),
        cmocka_unit_test(a_missing_file_is_an_io_error_naming_it),
        cmocka_unit_test(a_directory_is_an_io_error_not_a_crash),
        cmocka_unit_test(a_save_killed_midway_leaves_a_whole_checkpoint),
        cmocka_unit_test(f32_and_f64_tensors_of_ranks_0_to_4_round_trip_through_a_file),
        cmocka_unit_test(the_written_header_is_padded_integer_json_with_pt_metadata),
        cmocka_unit_test(an_empty_map_round_trips),
        cmocka_unit_test(a_tensor_named_metadata_is_refused_on_save),
        cmocka_unit_test(a_failed_save_names_the_path_and_leaves_no_temporary_file),
        cmocka_unit_test(every_truncation_of_a_valid_file_fails_cleanly),
        cmocka_unit_test(cjson_allocates_through_the_mt_allocator),
        cmocka_unit_test(parse_survives_every_allocation_failure),
        cmocka_unit_test(save_and_load_survive_every_allocation_failure),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
