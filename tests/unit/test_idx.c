/* test_idx.c - the IDX (MNIST format) reader, plain and gzip (runtime/idx.c).
 *
 * Each test writes its file into a fresh temporary directory, reads it back and removes it;
 * every error must name the file (the diag's file) and say what is wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "ir/alloc.h"
#include "runtime/idx.h"
#include "tests/support/failing_alloc.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static char tmpdir[256];

static int make_tmpdir(void **state)
{
    (void)state;
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/mt_idx_XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(tmpdir) ? 0 : -1;
}

/* Fails the run when a test left a file behind. */
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

static void write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* The gzip member (header, deflate data, CRC and length) of data, into out; returns its size. */
static size_t gzip_bytes(const void *data, size_t len, unsigned char *out, size_t cap)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (unsigned char *)data;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t n = zs.total_out;
    deflateEnd(&zs);
    return n;
}

/* An IDX file: magic 00 00 type rank, big-endian dims, then the data (len bytes of it). */
static size_t idx_bytes(unsigned char *out, unsigned type, int rank, const uint32_t *dims,
                        const unsigned char *data, size_t len)
{
    size_t k = 0;
    out[k++] = 0;
    out[k++] = 0;
    out[k++] = (unsigned char)type;
    out[k++] = (unsigned char)rank;
    for (int i = 0; i < rank; i++) {
        out[k++] = (unsigned char)(dims[i] >> 24);
        out[k++] = (unsigned char)(dims[i] >> 16);
        out[k++] = (unsigned char)(dims[i] >> 8);
        out[k++] = (unsigned char)dims[i];
    }
    if (len)
        memcpy(out + k, data, len);
    return k + len;
}

/* The 2x3x4 image file of the tests: bytes 0..23. */
static size_t small_images(unsigned char *out)
{
    unsigned char pixels[24];
    for (int i = 0; i < 24; i++)
        pixels[i] = (unsigned char)(10 * i);
    const uint32_t dims[3] = {2, 3, 4};
    return idx_bytes(out, 0x08, 3, dims, pixels, sizeof pixels);
}

static void check_small_images(const mt_idx *x)
{
    assert_int_equal(x->rank, 3);
    assert_int_equal(x->dims[0], 2);
    assert_int_equal(x->dims[1], 3);
    assert_int_equal(x->dims[2], 4);
    assert_int_equal(x->nbytes, 24);
    for (int i = 0; i < 24; i++)
        assert_int_equal(x->data[i], 10 * i);
}

/* Loads `path`, expects status `want`, the diag naming the file and `phrase` in the message. */
static void expect_error(const char *path, mt_status want, const char *phrase)
{
    mt_diag d;
    mt_diag_init(&d);
    mt_idx *x = (mt_idx *)&d; /* anything but NULL: the call must reset it */
    mt_status st = mt_idx_load(path, &x, &d);
    if (st != want || !strstr(d.msg, phrase) || strcmp(d.file, path) != 0)
        fail_msg("%s: got %s '%s' (file '%s'), expected %s with '%s'", path, mt_status_name(st),
                 d.msg, d.file, mt_status_name(want), phrase);
    assert_null(x);
    mt_diag_fini(&d);
}

/* Writes bytes to a temporary file, expects the error, removes the file. */
static void expect_file_error(const char *name, const void *data, size_t len, mt_status want,
                              const char *phrase)
{
    char path[512];
    tmp_path(path, sizeof path, name);
    write_bytes(path, data, len);
    expect_error(path, want, phrase);
    assert_int_equal(unlink(path), 0);
}

/* ---- reading good files -------------------------------------------------------------------- */

static void a_small_plain_file_reads_back(void **state)
{
    (void)state;
    unsigned char buf[256];
    size_t n = small_images(buf);
    char path[512];
    tmp_path(path, sizeof path, "images-idx3-ubyte");
    write_bytes(path, buf, n);
    mt_diag d;
    mt_diag_init(&d);
    mt_idx *x = NULL;
    assert_int_equal(mt_idx_load(path, &x, &d), MT_OK);
    check_small_images(x);
    mt_idx_free(x);
    assert_int_equal(unlink(path), 0);
}

static void a_labels_file_of_rank_one_reads_back(void **state)
{
    (void)state;
    const unsigned char labels[5] = {3, 1, 4, 1, 5};
    const uint32_t dims[1] = {5};
    unsigned char buf[64];
    size_t n = idx_bytes(buf, 0x08, 1, dims, labels, 5);
    assert_int_equal(buf[2] << 8 | buf[3], 0x0801);
    char path[512];
    tmp_path(path, sizeof path, "labels-idx1-ubyte");
    write_bytes(path, buf, n);
    mt_idx *x = NULL;
    assert_int_equal(mt_idx_load(path, &x, NULL), MT_OK);
    assert_int_equal(x->rank, 1);
    assert_int_equal(x->dims[0], 5);
    assert_memory_equal(x->data, labels, 5);
    mt_idx_free(x);
    assert_int_equal(unlink(path), 0);
}

static void a_gzip_file_reads_back_whatever_its_name(void **state)
{
    (void)state;
    unsigned char raw[256], gz[512];
    size_t n = gzip_bytes(raw, small_images(raw), gz, sizeof gz);
    const char *names[] = {"images-idx3-ubyte.gz", "images-no-suffix"};
    for (int i = 0; i < 2; i++) {
        char path[512];
        tmp_path(path, sizeof path, names[i]);
        write_bytes(path, gz, n);
        mt_idx *x = NULL;
        assert_int_equal(mt_idx_load(path, &x, NULL), MT_OK);
        check_small_images(x);
        mt_idx_free(x);
        assert_int_equal(unlink(path), 0);
    }
}

static void a_gzip_file_of_two_members_reads_as_their_concatenation(void **state)
{
    (void)state;
    unsigned char raw[256], gz[1024];
    size_t n = small_images(raw);
    size_t cut = 11; /* inside the dims */
    size_t a = gzip_bytes(raw, cut, gz, sizeof gz);
    size_t b = gzip_bytes(raw + cut, n - cut, gz + a, sizeof gz - a);
    char path[512];
    tmp_path(path, sizeof path, "two-members.gz");
    write_bytes(path, gz, a + b);
    mt_idx *x = NULL;
    assert_int_equal(mt_idx_load(path, &x, NULL), MT_OK);
    check_small_images(x);
    mt_idx_free(x);
    assert_int_equal(unlink(path), 0);
}

/* A file bigger than the reader's first buffer and its input chunk, to cross both. */
static void a_file_larger_than_the_read_buffers_reads_back(void **state)
{
    (void)state;
    const uint32_t dims[3] = {40, 200, 200}; /* 1.6 MB */
    size_t len = 40u * 200u * 200u;
    unsigned char *pixels = malloc(len), *file = malloc(len + 64), *gz = malloc(len + 1024);
    assert_true(pixels && file && gz);
    for (size_t i = 0; i < len; i++)
        pixels[i] = (unsigned char)(i * 2654435761u >> 13);
    size_t n = idx_bytes(file, 0x08, 3, dims, pixels, len);
    size_t ngz = gzip_bytes(file, n, gz, len + 1024);
    char path[512];
    tmp_path(path, sizeof path, "big");
    for (int zipped = 0; zipped < 2; zipped++) {
        write_bytes(path, zipped ? gz : file, zipped ? ngz : n);
        mt_idx *x = NULL;
        assert_int_equal(mt_idx_load(path, &x, NULL), MT_OK);
        assert_int_equal(x->nbytes, len);
        assert_memory_equal(x->data, pixels, len);
        mt_idx_free(x);
    }
    assert_int_equal(unlink(path), 0);
    free(pixels);
    free(file);
    free(gz);
}

/* ---- errors -------------------------------------------------------------------------------- */

static void a_bad_magic_is_an_error_naming_the_file(void **state)
{
    (void)state;
    unsigned char buf[256];
    size_t n = small_images(buf);
    buf[0] = 0x12;
    expect_file_error("badmagic", buf, n, MT_ERR_PARSE, "not an IDX file");
}

static void a_type_byte_other_than_unsigned_byte_is_an_error(void **state)
{
    (void)state;
    unsigned char buf[256];
    size_t n = small_images(buf);
    buf[2] = 0x0D; /* float */
    expect_file_error("floats", buf, n, MT_ERR_PARSE, "type byte 0x0d (float)");
    buf[2] = 0x42;
    expect_file_error("nonsense", buf, n, MT_ERR_PARSE, "type byte 0x42");
}

static void a_rank_of_zero_or_above_the_limit_is_an_error(void **state)
{
    (void)state;
    unsigned char buf[256];
    size_t n = small_images(buf);
    buf[3] = 0;
    expect_file_error("rank0", buf, n, MT_ERR_PARSE, "rank 0 is outside");
    buf[3] = MT_IDX_MAX_RANK + 1;
    expect_file_error("rank7", buf, n, MT_ERR_PARSE, "rank 7 is outside");
}

static void a_zero_dim_is_an_error(void **state)
{
    (void)state;
    const uint32_t dims[3] = {2, 0, 4};
    unsigned char buf[64];
    size_t n = idx_bytes(buf, 0x08, 3, dims, NULL, 0);
    expect_file_error("zerodim", buf, n, MT_ERR_PARSE, "dim 1 is 0");
}

static void dims_whose_product_overflows_or_passes_the_cap_are_an_error(void **state)
{
    (void)state;
    unsigned char buf[64];
    const uint32_t huge[3] = {0xffffffffu, 0xffffffffu, 0xffffffffu};
    size_t n = idx_bytes(buf, 0x08, 3, huge, NULL, 0);
    expect_file_error("overflow", buf, n, MT_ERR_PARSE, "too large");
    const uint32_t big[2] = {1u << 16, (1u << 14) + 1}; /* just over 1 GiB */
    n = idx_bytes(buf, 0x08, 2, big, NULL, 0);
    expect_file_error("overcap", buf, n, MT_ERR_PARSE, "too large");
}

static void a_truncated_header_is_an_error(void **state)
{
    (void)state;
    unsigned char buf[256];
    small_images(buf);
    expect_file_error("short2", buf, 2, MT_ERR_PARSE, "too short for an IDX header: 2 bytes");
    expect_file_error("short9", buf, 9, MT_ERR_PARSE, "truncated IDX header");
    expect_file_error("empty", buf, 0, MT_ERR_PARSE, "too short for an IDX header: 0 bytes");
}

static void truncated_data_is_an_error_plain_and_gzip(void **state)
{
    (void)state;
    unsigned char buf[256], gz[512];
    size_t n = small_images(buf);
    expect_file_error("truncated", buf, n - 1, MT_ERR_PARSE,
                      "the header promises 24 bytes, the file holds 23");
    size_t ngz = gzip_bytes(buf, n - 5, gz, sizeof gz);
    expect_file_error("truncated.gz", gz, ngz, MT_ERR_PARSE,
                      "the file holds 19 (after decompression)");
}

static void trailing_data_is_an_error_plain_and_gzip(void **state)
{
    (void)state;
    unsigned char buf[256], gz[512];
    size_t n = small_images(buf);
    buf[n] = 7;
    expect_file_error("trailing", buf, n + 1, MT_ERR_PARSE, "trailing data");
    size_t ngz = gzip_bytes(buf, n + 1, gz, sizeof gz);
    expect_file_error("trailing.gz", gz, ngz, MT_ERR_PARSE, "trailing data");
}

static void a_truncated_gzip_stream_is_an_error(void **state)
{
    (void)state;
    unsigned char buf[256], gz[512];
    size_t n = small_images(buf);
    size_t ngz = gzip_bytes(buf, n, gz, sizeof gz);
    /* Without its 8-byte trailer the data is all there but unchecked; cut deeper too. */
    expect_file_error("notrailer.gz", gz, ngz - 8, MT_ERR_PARSE, "gzip stream is truncated");
    expect_file_error("cut.gz", gz, ngz / 2, MT_ERR_PARSE, "gzip stream is truncated");
    expect_file_error("magiconly.gz", gz, 2, MT_ERR_PARSE, "gzip stream is truncated");
}

static void a_corrupt_gzip_stream_or_trailing_garbage_is_an_error(void **state)
{
    (void)state;
    unsigned char buf[256], gz[512];
    size_t n = small_images(buf);
    size_t ngz = gzip_bytes(buf, n, gz, sizeof gz);
    gz[ngz - 6] ^= 0xff; /* the CRC */
    expect_file_error("badcrc.gz", gz, ngz, MT_ERR_PARSE, "corrupt gzip stream");
    gz[ngz - 6] ^= 0xff;
    memcpy(gz + ngz, "junk", 4);
    expect_file_error("junk.gz", gz, ngz + 4, MT_ERR_PARSE, "corrupt gzip stream");
}

static void a_nonexistent_path_is_an_io_error_naming_it(void **state)
{
    (void)state;
    char path[512];
    tmp_path(path, sizeof path, "no-such-file");
    expect_error(path, MT_ERR_IO, "cannot open");
}

static void a_directory_is_an_error_naming_it(void **state)
{
    (void)state;
    expect_error(tmpdir, MT_ERR_IO, "is a directory");
}

static void dev_zero_fails_fast_instead_of_reading_forever(void **state)
{
    (void)state;
    expect_error("/dev/zero", MT_ERR_PARSE, "type byte 0x00");
}

/* A small gzip file whose header promises far more than it holds reads only what is there. */
static void a_header_promising_more_than_the_file_holds_is_reported_as_truncated(void **state)
{
    (void)state;
    const uint32_t dims[2] = {1u << 15, 1u << 15}; /* 1 GiB promised, 3 bytes present */
    unsigned char buf[64], gz[256];
    size_t n = idx_bytes(buf, 0x08, 2, dims, (const unsigned char *)"abc", 3);
    size_t ngz = gzip_bytes(buf, n, gz, sizeof gz);
    expect_file_error("liar.gz", gz, ngz, MT_ERR_PARSE, "the file holds 3 (after decompression)");
}

static void every_allocation_failure_is_a_clean_error(void **state)
{
    (void)state;
    unsigned char raw[256], gz[512];
    size_t ngz = gzip_bytes(raw, small_images(raw), gz, sizeof gz);
    char path[512];
    tmp_path(path, sizeof path, "oom.gz");
    write_bytes(path, gz, ngz);
    mt_test_alloc_fail_nth(0);
    mt_idx *x = NULL;
    assert_int_equal(mt_idx_load(path, &x, NULL), MT_OK);
    mt_idx_free(x);
    long total = mt_test_alloc_calls();
    mt_test_alloc_restore();
    assert_true(total >= 4); /* source, idx, zlib state and window, data */
    for (long k = 1; k <= total; k++) {
        mt_diag d;
        mt_diag_init(&d);
        mt_test_alloc_fail_nth(k);
        x = NULL;
        mt_status st = mt_idx_load(path, &x, &d);
        mt_test_alloc_restore();
        if (st != MT_ERR_NOMEM || x || mt_test_alloc_live() != 0)
            fail_msg("allocation %ld of %ld failing gave %s (%s), %ld blocks leaked", k, total,
                     mt_status_name(st), d.msg, mt_test_alloc_live());
    }
    assert_int_equal(unlink(path), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_small_plain_file_reads_back),
        cmocka_unit_test(a_labels_file_of_rank_one_reads_back),
        cmocka_unit_test(a_gzip_file_reads_back_whatever_its_name),
        cmocka_unit_test(a_gzip_file_of_two_members_reads_as_their_concatenation),
        cmocka_unit_test(a_file_larger_than_the_read_buffers_reads_back),
        cmocka_unit_test(a_bad_magic_is_an_error_naming_the_file),
        cmocka_unit_test(a_type_byte_other_than_unsigned_byte_is_an_error),
        cmocka_unit_test(a_rank_of_zero_or_above_the_limit_is_an_error),
        cmocka_unit_test(a_zero_dim_is_an_error),
        cmocka_unit_test(dims_whose_product_overflows_or_passes_the_cap_are_an_error),
        cmocka_unit_test(a_truncated_header_is_an_error),
        cmocka_unit_test(truncated_data_is_an_error_plain_and_gzip),
        cmocka_unit_test(trailing_data_is_an_error_plain_and_gzip),
        cmocka_unit_test(a_truncated_gzip_stream_is_an_error),
        cmocka_unit_test(a_corrupt_gzip_stream_or_trailing_garbage_is_an_error),
        cmocka_unit_test(a_nonexistent_path_is_an_io_error_naming_it),
        cmocka_unit_test(a_directory_is_an_error_naming_it),
        cmocka_unit_test(dev_zero_fails_fast_instead_of_reading_forever),
        cmocka_unit_test(a_header_promising_more_than_the_file_holds_is_reported_as_truncated),
        cmocka_unit_test(every_allocation_failure_is_a_clean_error),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
