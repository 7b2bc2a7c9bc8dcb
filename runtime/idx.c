/* idx.c - the IDX (MNIST format) reader; runtime/idx.h has the format and the checks.
 *
 * The file is read through a small byte source that either copies bytes from the file
 * descriptor or inflates them (zlib's inflate with gzip framing, so the CRC and length of
 * each member are checked). The parser asks the source for exactly what the header allows and
 * then for one byte more, to tell "exactly right" from "trailing data"; nothing else bounds the
 * work, so nothing else is read.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "ir/alloc.h"
#include "runtime/idx.h"

#define IN_CHUNK (64 * 1024)
/* The data buffer starts this big and doubles up to what the header promises. */
#define FIRST_CAP ((size_t)1 << 20)

/* ---- the byte source: plain or inflated --------------------------------------------------- */

typedef struct source {
    const char *path;
    int fd;
    int eof;        /* the file has no more bytes */
    int gzip;       /* the file starts with 1f 8b: inflate it */
    int zs_live;    /* inflateInit2 succeeded: inflateEnd is due */
    int stream_end; /* gzip: the last member ended at the end of the file */
    z_stream zs;
    unsigned char in[IN_CHUNK];
    size_t in_pos, in_len;
} source;

static voidpf zlib_alloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    return mt_calloc(items, size);
}

static void zlib_free(voidpf opaque, voidpf p)
{
    (void)opaque;
    mt_free(p);
}

/* Refills the input buffer when it is empty; sets eof at the end of the file. */
static mt_status fill(source *s, mt_diag *d)
{
    if (s->in_pos < s->in_len || s->eof)
        return MT_OK;
    ssize_t k;
    do
        k = read(s->fd, s->in, sizeof s->in);
    while (k < 0 && errno == EINTR);
    if (k < 0)
        return mt_diag_set_at(d, MT_ERR_IO, s->path, 0, 0, "cannot read: %s", strerror(errno));
    s->in_pos = 0;
    s->in_len = (size_t)k;
    s->eof = k == 0;
    return MT_OK;
}

/* Copies up to n bytes; *got < n only at the end of the file. */
static mt_status read_plain(source *s, unsigned char *buf, size_t n, size_t *got, mt_diag *d)
{
    *got = 0;
    while (*got < n) {
        mt_status st = fill(s, d);
        if (st != MT_OK)
            return st;
        if (s->eof)
            break;
        size_t k = s->in_len - s->in_pos;
        if (k > n - *got)
            k = n - *got;
        memcpy(buf + *got, s->in + s->in_pos, k);
        s->in_pos += k;
        *got += k;
    }
    return MT_OK;
}

/* Inflates up to n bytes; *got < n only where the last gzip member ends with the file. A file
 * that ends inside a member is truncated; bytes after a member must start another member. */
static mt_status read_gzip(source *s, unsigned char *buf, size_t n, size_t *got, mt_diag *d)
{
    *got = 0;
    while (*got < n && !s->stream_end) {
        mt_status st = fill(s, d);
        if (st != MT_OK)
            return st;
        if (s->eof)
            return mt_diag_set_at(d, MT_ERR_PARSE, s->path, 0, 0,
                                  "the gzip stream is truncated (it ends before its last "
                                  "member's end marker)");
        s->zs.next_in = s->in + s->in_pos;
        s->zs.avail_in = (uInt)(s->in_len - s->in_pos);
        size_t want = n - *got;
        s->zs.next_out = buf + *got;
        s->zs.avail_out = want > UINT_MAX ? UINT_MAX : (uInt)want;
        uInt avail_out = s->zs.avail_out;
        int rc = inflate(&s->zs, Z_NO_FLUSH);
        s->in_pos = s->in_len - s->zs.avail_in;
        *got += avail_out - s->zs.avail_out;
        if (rc == Z_MEM_ERROR)
            return mt_diag_set_at(d, MT_ERR_NOMEM, s->path, 0, 0, "out of memory inflating");
        if (rc == Z_STREAM_END) {
            /* Another member may follow (gzip allows concatenation); anything else is not
             * gzip and inflate says so ("incorrect header check"). */
            if ((st = fill(s, d)) != MT_OK)
                return st;
            if (s->eof)
                s->stream_end = 1;
            else if (inflateReset(&s->zs) != Z_OK)
                return mt_diag_set_at(d, MT_ERR_INTERNAL, s->path, 0, 0, "inflateReset failed");
        } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
            return mt_diag_set_at(d, MT_ERR_PARSE, s->path, 0, 0, "corrupt gzip stream: %s",
                                  s->zs.msg ? s->zs.msg : zError(rc));
        }
    }
    return MT_OK;
}

static mt_status source_read(source *s, unsigned char *buf, size_t n, size_t *got, mt_diag *d)
{
    return s->gzip ? read_gzip(s, buf, n, got, d) : read_plain(s, buf, n, got, d);
}

/* Opens the file and looks at its first bytes to choose plain or gzip. */
static mt_status source_open(source *s, const char *path, mt_diag *d)
{
    s->path = path;
    do
        s->fd = open(path, O_RDONLY | O_CLOEXEC);
    while (s->fd < 0 && errno == EINTR);
    if (s->fd < 0)
        return mt_diag_set_at(d, MT_ERR_IO, path, 0, 0, "cannot open: %s", strerror(errno));
    struct stat sb;
    if (fstat(s->fd, &sb) != 0)
        return mt_diag_set_at(d, MT_ERR_IO, path, 0, 0, "cannot stat: %s", strerror(errno));
    if (S_ISDIR(sb.st_mode))
        return mt_diag_set_at(d, MT_ERR_IO, path, 0, 0, "is a directory, not an IDX file");
    mt_status st = fill(s, d);
    if (st != MT_OK)
        return st;
    s->gzip = s->in_len >= 2 && s->in[0] == 0x1f && s->in[1] == 0x8b;
    if (s->gzip) {
        s->zs.zalloc = zlib_alloc;
        s->zs.zfree = zlib_free;
        /* 16 + MAX_WBITS: gzip framing only (we saw its magic), with its CRC checked. */
        int rc = inflateInit2(&s->zs, 16 + MAX_WBITS);
        if (rc == Z_MEM_ERROR)
            return mt_diag_set_at(d, MT_ERR_NOMEM, path, 0, 0, "out of memory inflating");
        if (rc != Z_OK)
            return mt_diag_set_at(d, MT_ERR_INTERNAL, path, 0, 0, "inflateInit2 failed: %s",
                                  zError(rc));
        s->zs_live = 1;
    }
    return MT_OK;
}

static void source_close(source *s)
{
    if (s->zs_live)
        inflateEnd(&s->zs);
    if (s->fd >= 0)
        close(s->fd);
}

/* ---- the IDX parser ------------------------------------------------------------------------ */

static const char *type_name(unsigned t)
{
    switch (t) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "short";
    case 0x0C: return "int";
    case 0x0D: return "float";
    case 0x0E: return "double";
    default: return "no IDX type";
    }
}

/* Checks the magic and dims and fills x's rank, dims and nbytes. */
static mt_status read_header(source *s, mt_idx *x, mt_diag *d)
{
    const char *path = s->path;
    const char *what = s->gzip ? " (after decompression)" : "";
    unsigned char magic[4];
    size_t got;
    mt_status st = source_read(s, magic, 4, &got, d);
    if (st != MT_OK)
        return st;
    if (got < 4)
        return mt_diag_set_at(d, MT_ERR_PARSE, path, 0, 0,
                              "too short for an IDX header: %zu bytes%s", got, what);
    if (magic[0] != 0 || magic[1] != 0)
        return mt_diag_set_at(d, MT_ERR_PARSE, path, 0, 0,
                              "not an IDX file: magic bytes %02x %02x %02x %02x, expected 00 00 "
                              "08 RANK (0x00000803 for images, 0x00000801 for labels)",
                              magic[0], magic[1], magic[2], magic[3]);
    if (magic[2] != MT_IDX_U8)
        return mt_diag_set_at(d, MT_ERR_PARSE, path, 0, 0,
                              "IDX type byte 0x%02x (%s) is not supported: mtc reads unsigned "
                              "bytes (0x08) only",
                              magic[2], type_name(magic[2]));
    x->rank = magic[3];
    if (x->rank < 1 || x->rank > MT_IDX_MAX_RANK)
        return mt_diag_set_at(d, MT_ERR_PARSE, path, 0, 0, "IDX rank %d is outside 1..%d", x->rank,
                              MT_IDX_MAX_RANK);
    unsigned char raw[4 * MT_IDX_MAX_RANK];
    size_t want = 4 * (size_t)x->rank;
    if ((st = source_read(s, raw, want, &got, d)) != MT_OK)
        return st;
    if (got < want)
        return mt_diag_set_at(d, MT_ERR_PARSE, path, 0, 0,
                              "truncated IDX header: %d dims need %zu bytes, the file has %zu%s",
                              x->rank, want, got, what);
    size_t n = 1;
    for (int i = 0; i < x->rank; i++) {
        const unsigned char *p = raw + 4 * i;
        uint32_t dim = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        if (dim == 0)
            return mt_diag_set_at(d, MT_ERR_PARSE, path, 0, 0, "IDX dim %d is 0", i);
        if (dim > MT_IDX_MAX_BYTES / n)
            return mt_diag_set_at(d, MT_ERR_PARSE, path, 0, 0,
                                  "IDX dims hold more than %zu bytes (dim %d is %u): too large",
                                  MT_IDX_MAX_BYTES, i, dim);
        n *= dim;
        x->dims[i] = dim;
    }
    x->nbytes = n;
    return MT_OK;
}

/* Reads exactly x->nbytes of data, growing the buffer with what arrives, then checks that
 * nothing follows. */
static mt_status read_data(source *s, mt_idx *x, mt_diag *d)
{
    const char *what = s->gzip ? " (after decompression)" : "";
    size_t have = 0, cap = 0;
    while (have < x->nbytes) {
        if (have == cap) {
            size_t next = cap ? 2 * cap : FIRST_CAP;
            if (next > x->nbytes)
                next = x->nbytes;
            uint8_t *p = mt_realloc(x->data, next);
            if (!p)
                return mt_diag_set_at(d, MT_ERR_NOMEM, s->path, 0, 0,
                                      "out of memory reading %zu bytes", x->nbytes);
            x->data = p;
            cap = next;
        }
        size_t want = cap - have, got;
        mt_status st = source_read(s, x->data + have, want, &got, d);
        if (st != MT_OK)
            return st;
        have += got;
        if (got < want)
            break;
    }
    if (have < x->nbytes)
        return mt_diag_set_at(d, MT_ERR_PARSE, s->path, 0, 0,
                              "truncated IDX data: the header promises %zu bytes, the file "
                              "holds %zu%s",
                              x->nbytes, have, what);
    unsigned char extra;
    size_t got;
    mt_status st = source_read(s, &extra, 1, &got, d);
    if (st != MT_OK)
        return st;
    if (got)
        return mt_diag_set_at(d, MT_ERR_PARSE, s->path, 0, 0,
                              "trailing data: the file holds more than the %zu bytes its IDX "
                              "header promises%s",
                              x->nbytes, what);
    return MT_OK;
}

mt_status mt_idx_load(const char *path, mt_idx **out, mt_diag *d)
{
    if (!out)
        return mt_diag_set(d, MT_ERR_ARG, "mt_idx_load: out is NULL");
    *out = NULL;
    if (!path)
        return mt_diag_set(d, MT_ERR_ARG, "mt_idx_load: path is NULL");
    /* The source holds a 64 KiB input buffer: on the heap, not the stack. */
    source *s = mt_calloc(1, sizeof *s);
    mt_idx *x = mt_calloc(1, sizeof *x);
    if (!s || !x) {
        mt_free(s);
        mt_free(x);
        return mt_diag_set_at(d, MT_ERR_NOMEM, path, 0, 0, "out of memory");
    }
    s->fd = -1;
    mt_status st = source_open(s, path, d);
    if (st == MT_OK)
        st = read_header(s, x, d);
    if (st == MT_OK)
        st = read_data(s, x, d);
    source_close(s);
    mt_free(s);
    if (st != MT_OK) {
        mt_idx_free(x);
        return st;
    }
    *out = x;
    return MT_OK;
}

void mt_idx_free(mt_idx *x)
{
    if (!x)
        return;
    mt_free(x->data);
    mt_free(x);
}
