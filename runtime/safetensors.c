/* safetensors.c - reading and writing tensors in the safetensors format (SPEC §3).
 *
 * A file is an 8-byte little-endian header length N, N bytes of JSON mapping each tensor name
 * to {"dtype", "shape", "data_offsets": [begin, end]} (plus an optional "__metadata__" object),
 * then the data buffer; offsets count from the start of that buffer. This is how every mtc tool
 * gets inputs, outputs and weights in and out, so the reader trusts nothing: each malformed
 * field is an MT_ERR_PARSE naming the file and the tensor. The writer produces what the Python
 * `safetensors` package produces (contiguous data in map order, header padded with spaces to a
 * multiple of 8, "__metadata__": {"format": "pt"}), so PyTorch loads mtc's files.
 *
 * Byte order: the format is little-endian and so is every host mtc targets (x86-64, aarch64);
 * tensor data is copied byte for byte and the build refuses a big-endian host rather than
 * silently writing byte-swapped files. The header length is decoded byte by byte anyway.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "ir/alloc.h"
#include "ir/type.h"
#include "runtime/outfile.h"
#include "runtime/tensor.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c copies tensor data as little-endian bytes: add byte swapping for this host"
#endif

/* JSON numbers are doubles; integers are exact up to 2^53, which bounds every offset and dim. */
#define MAX_JSON_INT 9007199254740992.0

/* ---- cJSON's allocations -------------------------------------------------------------------
 *
 * cJSON keeps its allocator in a process-wide global, so the hooks are installed once, under
 * pthread_once, which makes installation race-free when several threads parse at once. The
 * hooks are wrappers that call mt_malloc/mt_free at call time, so a later mt_set_allocator (a
 * test's failing allocator) takes effect without reinstalling. cJSON reports an allocation
 * failure and a syntax error alike (a NULL result), so the wrapper records failures in a
 * thread-local flag that the reader checks to return MT_ERR_NOMEM rather than MT_ERR_PARSE. */

static _Thread_local int json_oom;

static void *json_malloc(size_t size)
{
    void *p = mt_malloc(size);
    if (!p)
        json_oom = 1;
    return p;
}

static void json_free(void *p) { mt_free(p); }

static pthread_once_t json_hooks_once = PTHREAD_ONCE_INIT;

static void install_json_hooks(void)
{
    cJSON_Hooks hooks = {json_malloc, json_free};
    cJSON_InitHooks(&hooks);
}

/* ---- reading ------------------------------------------------------------------------------ */

typedef struct entry {
    const char *name; /* borrowed from the cJSON tree */
    int index;        /* position in the header, to keep sorting deterministic */
    mt_type type;
    uint64_t begin, end;
} entry;

/* What a JSON value is as an index or a dim. */
enum json_int { JSON_INT_OK, JSON_INT_BAD, JSON_INT_HUGE };

static enum json_int json_uint(const cJSON *v, uint64_t *out)
{
    if (!cJSON_IsNumber(v))
        return JSON_INT_BAD;
    double x = v->valuedouble;
    if (!(x >= 0))
        return JSON_INT_BAD;
    if (x > MAX_JSON_INT)
        return JSON_INT_HUGE;
    if ((double)(uint64_t)x != x)
        return JSON_INT_BAD;
    *out = (uint64_t)x;
    return JSON_INT_OK;
}

static mt_status read_dtype(const cJSON *obj, const char *fname, const char *name, mt_dtype *dt,
                            mt_diag *d)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "dtype");
    if (!v)
        return mt_diag_set_at(d, MT_ERR_PARSE, fname, 0, 0, "tensor '%s': missing 'dtype'", name);
    if (!cJSON_IsString(v))
        return mt_diag_set_at(d, MT_ERR_PARSE, fname, 0, 0, "tensor '%s': 'dtype' is not a string",
                              name);
    if (strcmp(v->valuestring, "F32") == 0)
        *dt = MT_DTYPE_F32;
    else if (strcmp(v->valuestring, "F64") == 0)
        *dt = MT_DTYPE_F64;
    else
        return mt_diag_set_at(d, MT_ERR_PARSE, fname, 0, 0,
                              "tensor '%s': unsupported dtype '%s' (mtc reads F32 and F64)", name,
                              v->valuestring);
    return MT_OK;
}

static mt_status read_shape(const cJSON *obj, const char *fname, const char *name, mt_type *t,
                            mt_diag *d)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "shape");
    if (!v)
        return mt_diag_set_at(d, MT_ERR_PARSE, fname, 0, 0, "tensor '%s': missing 'shape'", name);
    if (!cJSON_IsArray(v))
        return mt_diag_set_at(d, MT_ERR_PARSE, fname, 0, 0, "tensor '%s': 'shape' is not an array",
                              name);
    int rank = cJSON_GetArraySize(v);
    if (rank > MT_MAX_RANK)
        return mt_diag_set_at(d, MT_ERR_PARSE, fname, 0, 0,
                              "tensor '%s': rank %d exceeds the maximum rank %d", name, rank,
                              MT_MAX_RANK);
    t->rank = rank;
    int64_t numel = 1;
    int i = 0;
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        uint64_t dim = 0;
        enum json_int r = json_uint(e, &dim);
        if (r == JSON_INT_BAD)
            return mt_diag_set_at(d, MT_ERR_PARSE, fname, 0, 0,
                                  "tensor '%s': shape entry %d is not a non-negative integer", name,
                                  i);
        if (r == JSON_INT_OK && dim == 0)
            return mt_diag_set_at(d, MT_ERR_PARSE, fname, 0, 0,
                                  "tensor '%s': shape entry %d is 0, but mtc types need positive "
                                  "dims (zero-size tensors are not supported)",
                                  name, i);
        if (r == JSON_INT_HUGE || (int64_t)dim > MT_MAX_NUMEL / numel)
            return mt_diag_set_at(d, MT_ERR_PARSE, fname, 0, 0,
                                  "tensor '%s': element count overflows (more than 2^40 elements)",
                                  name);
        t->dims[i] = (int64_t)dim;
        numel *= (int64_t)dim;
    }
    return MT_OK;
}

static mt_status read_offsets(const cJSON *obj, const char *fname, const char *name,
                              uint64_t bufsize, entry *e, mt_diag *d)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "data_offsets");
    if (!v)
        return mt_diag_set_at(d, MT_ERR_PARSE, fname, 0, 0, "tensor '%s': missing 'data_offsets'",
                              name);
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2)
        return mt_diag_set_at(d, MT_ERR_PARSE, fname, 0, 0,
                              "tensor '%s': 'data_offsets' is not an array of two integers", name);
    uint64_t off[2] = {0, 0};
    int i = 0;
    for (const cJSON *x = v->child; x; x = x->next, i++) {
        enum json_int r = json_uint(x, &off[i]);
        if (r == JSON_INT_BAD)
            return mt_diag_set_at(
                d, MT_ERR_PARSE, fname, 0, 0,
                "tensor '%s': data_offsets entry %d is not a non-negative integer", name, i);
        if (r == JSON_INT_HUGE)
            return mt_diag_set_at(d, MT_ERR_PARSE, fname, 0, 0,
                                  "tensor '%s': data_offsets entry %d is beyond the %" PRIu64
                                  "-byte data buffer",
                                  name, i, bufsize);
    }
    if (off[0] > off[1])
        return mt_diag_set_at(d, MT_ERR_PARSE, fname, 0, 0,
                              "tensor '%s': data_offsets begin %" PRIu64 " is after end %" PRIu64,
                              name, off[0], off[1]);
    if (off[1] > bufsize)
        return mt_diag_set_at(d, MT_ERR_PARSE, fname, 0, 0,
                              "tensor '%s': data_offsets end %" PRIu64 " is beyond the %" PRIu64
                              "-byte data buffer",
                              name, off[1], bufsize);
    uint64_t need = (uint64_t)mt_type_numel(&e->type) * mt_dtype_size(e->type.dtype);
    if (off[1] - off[0] != need) {
        char ty[MT_TYPE_STR_MAX];
        return mt_diag_set_at(d, MT_ERR_PARSE, fname, 0, 0,
                              "tensor '%s': data_offsets cover %" PRIu64
                              " bytes but %s needs %" PRIu64,
                              name, off[1] - off[0], mt_type_str(&e->type, ty, sizeof ty), need);
    }
    e->begin = off[0];
    e->end = off[1];
    return MT_OK;
}

static mt_status read_entry(const cJSON *obj, const char *fname, uint64_t bufsize, entry *e,
                            mt_diag *d)
{
    if (!cJSON_IsObject(obj))
        return mt_diag_set_at(d, MT_ERR_PARSE, fname, 0, 0, "tensor '%s': entry is not an object",
                              e->name);
    memset(&e->type, 0, sizeof e->type);
    mt_status st = read_dtype(obj, fname, e->name, &e->type.dtype, d);
    if (st == MT_OK)
        st = read_shape(obj, fname, e->name, &e->type, d);
    if (st == MT_OK)
        st = read_offsets(obj, fname, e->name, bufsize, e, d);
    return st;
}

static int by_name(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

static int by_begin(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

/* Checks the header's tensors against each other and against the buffer, then copies each into
 * a new map in file order (by begin offset), so that a load-save round trip is stable. */
static mt_status read_tensors(const cJSON *root, const unsigned char *buf, uint64_t bufsize,
                              const char *fname, mt_tensor_map **out, mt_diag *d)
{
    int n = 0, nmeta = 0;
    for (const cJSON *c = root->child; c; c = c->next) {
        if (strcmp(c->string, "__metadata__") != 0) {
            n++;
            continue;
        }
        if (++nmeta > 1)
            return mt_diag_set_at(d, MT_ERR_PARSE, fname, 0, 0, "duplicate '__metadata__'");
        if (!cJSON_IsObject(c))
            return mt_diag_set_at(d, MT_ERR_PARSE, fname, 0, 0, "'__metadata__' is not an object");
    }
    entry *es = mt_calloc((size_t)(n ? n : 1), sizeof *es);
    if (!es)
        return mt_diag_set_at(d, MT_ERR_NOMEM, fname, 0, 0, "out of memory reading the header");
    mt_status st = MT_OK;
    int i = 0;
    for (const cJSON *c = root->child; c && st == MT_OK; c = c->next) {
        if (strcmp(c->string, "__metadata__") == 0)
            continue;
        es[i].name = c->string;
        es[i].index = i;
        st = read_entry(c, fname, bufsize, &es[i], d);
        i++;
    }
    if (st == MT_OK && n > 1) {
        /* cJSON keeps every duplicate key; a file with two 'w's has no single meaning. */
        qsort(es, (size_t)n, sizeof *es, by_name);
        for (i = 1; i < n && st == MT_OK; i++)
            if (strcmp(es[i - 1].name, es[i].name) == 0)
                st = mt_diag_set_at(d, MT_ERR_PARSE, fname, 0, 0, "duplicate tensor name '%s'",
                                    es[i].name);
        qsort(es, (size_t)n, sizeof *es, by_begin);
        /* Every range is non-empty (dims are positive), so neighbours suffice. */
        for (i = 1; i < n && st == MT_OK; i++)
            if (es[i].begin < es[i - 1].end)
                st = mt_diag_set_at(d, MT_ERR_PARSE, fname, 0, 0,
                                    "tensors '%s' and '%s' overlap: bytes [%" PRIu64 ", %" PRIu64
                                    ") and [%" PRIu64 ", %" PRIu64 ")",
                                    es[i - 1].name, es[i].name, es[i - 1].begin, es[i - 1].end,
                                    es[i].begin, es[i].end);
    }
    mt_tensor_map *m = NULL;
    if (st == MT_OK) {
        m = mt_tensor_map_new();
        if (!m)
            st = MT_ERR_NOMEM;
    }
    for (i = 0; i < n && st == MT_OK; i++) {
        mt_tensor *t = mt_tensor_new(es[i].type);
        if (!t) {
            st = MT_ERR_NOMEM;
            break;
        }
        /* The file gives no alignment guarantee: copy rather than point into it. */
        memcpy(t->data, buf + es[i].begin, t->nbytes);
        st = mt_tensor_map_put(m, es[i].name, t);
    }
    mt_free(es);
    if (st == MT_ERR_NOMEM)
        mt_diag_set_at(d, st, fname, 0, 0, "out of memory reading tensors");
    if (st != MT_OK) {
        mt_tensor_map_free(m);
        return st;
    }
    *out = m;
    return MT_OK;
}

static int is_json_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

mt_status mt_safetensors_parse(const void *data, size_t len, const char *filename,
                               mt_tensor_map **out, mt_diag *d)
{
    if (out)
        *out = NULL;
    if (!out || (!data && len))
        return mt_diag_set_at(d, MT_ERR_ARG, filename, 0, 0,
                              "mt_safetensors_parse: NULL data or output");
    const unsigned char *p = data;
    if (len < 8)
        return mt_diag_set_at(d, MT_ERR_PARSE, filename, 0, 0,
                              "file is %zu bytes, shorter than the 8-byte header length", len);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | p[i];
    if (hlen > len - 8)
        return mt_diag_set_at(d, MT_ERR_PARSE, filename, 0, 0,
                              "header length %" PRIu64 " runs past the end of the %zu-byte file",
                              hlen, len);

    /* A NUL-terminated copy: cJSON then never reads past the header, even at a syntax error. */
    char *text = mt_strndup((const char *)p + 8, (size_t)hlen);
    if (!text)
        return mt_diag_set_at(d, MT_ERR_NOMEM, filename, 0, 0, "out of memory reading the header");
    pthread_once(&json_hooks_once, install_json_hooks);
    json_oom = 0;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, (size_t)hlen, &end, 0);
    mt_status st = MT_OK;
    if (!root && json_oom) {
        st = mt_diag_set_at(d, MT_ERR_NOMEM, filename, 0, 0, "out of memory reading the header");
    } else if (!root) {
        st = mt_diag_set_at(d, MT_ERR_PARSE, filename, 0, 0,
                            "header is not valid JSON (error near header byte %td)",
                            end ? end - text : (ptrdiff_t)0);
    } else {
        /* Writers pad the header with spaces; anything else after the JSON is garbage. */
        for (const char *q = end; q < text + hlen && st == MT_OK; q++)
            if (!is_json_space((unsigned char)*q))
                st = mt_diag_set_at(d, MT_ERR_PARSE, filename, 0, 0,
                                    "header is not valid JSON (trailing bytes at header byte %td)",
                                    q - text);
        if (st == MT_OK && !cJSON_IsObject(root))
            st = mt_diag_set_at(d, MT_ERR_PARSE, filename, 0, 0, "header is not a JSON object");
        if (st == MT_OK)
            st = read_tensors(root, p + 8 + hlen, len - 8 - hlen, filename, out, d);
    }
    cJSON_Delete(root);
    mt_free(text);
    return st;
}

/* The longest JSON header read from a file: the limit of the safetensors format's reference
 * implementation (100 MB). */
#define MAX_HEADER ((uint64_t)100 << 20)

/* Appends up to `want` bytes from f to buf (growing it with the bytes that arrive, never
 * ahead of them, so a length no data backs costs nothing). */
static mt_status read_up_to(FILE *f, unsigned char **buf, size_t *len, size_t *cap, uint64_t want,
                            const char *path, mt_diag *d)
{
    while (want > 0) {
        if (*len == *cap) {
            size_t ncap = *cap <= SIZE_MAX / 2 ? 2 * *cap : SIZE_MAX;
            unsigned char *b = ncap > *cap ? mt_realloc(*buf, ncap) : NULL;
            if (!b)
                return mt_diag_set_at(d, MT_ERR_NOMEM, path, 0, 0,
                                      "out of memory reading the file");
            *buf = b;
            *cap = ncap;
        }
        size_t room = *cap - *len;
        size_t ask = want < room ? (size_t)want : room;
        size_t got = fread(*buf + *len, 1, ask, f);
        *len += got;
        want -= got;
        if (got == 0 && ferror(f))
            return mt_diag_set_at(d, MT_ERR_IO, path, 0, 0, "cannot read: %s", strerror(errno));
        if (got == 0)
            break; /* the end: the parser reports what is missing */
    }
    return MT_OK;
}

/* Where the data of the header text[0 .. n) says its last tensor ends (the largest
 * data_offsets end), or 0 when the header does not parse (the parser then says why). */
static uint64_t data_end(const char *text, size_t n)
{
    pthread_once(&json_hooks_once, install_json_hooks);
    cJSON *root = cJSON_ParseWithLength(text, n);
    uint64_t end = 0;
    for (const cJSON *e = root ? root->child : NULL; e; e = e->next) {
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
        const cJSON *last = cJSON_IsArray(o) ? cJSON_GetArrayItem(o, 1) : NULL;
        if (cJSON_IsNumber(last) && last->valuedouble > (double)end &&
            last->valuedouble <= MAX_JSON_INT)
            end = (uint64_t)last->valuedouble;
    }
    cJSON_Delete(root);
    return end;
}

mt_status mt_safetensors_load(const char *path, mt_tensor_map **out, mt_diag *d)
{
    if (out)
        *out = NULL;
    if (!path || !out)
        return mt_diag_set(d, MT_ERR_ARG, "mt_safetensors_load: NULL path or output");
    FILE *f = fopen(path, "rb");
    if (!f)
        return mt_diag_set_at(d, MT_ERR_IO, path, 0, 0, "cannot open: %s", strerror(errno));
    /* Reads only what the format allows, so an endless input (/dev/zero, /dev/urandom, a FIFO)
     * stops early: the 8-byte length, a header of at most MAX_HEADER bytes, then the data up to
     * the largest end the header names, and one byte more so that trailing bytes are still
     * reported. A regular file is read whole (its size is known), as before. */
    size_t len = 0, cap = 1 << 16;
    struct stat sb;
    int regular = fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode);
    if (regular && sb.st_size > 0 && (uint64_t)sb.st_size < SIZE_MAX)
        cap = (size_t)sb.st_size + 1;
    unsigned char *buf = mt_malloc(cap);
    mt_status st =
        buf ? MT_OK : mt_diag_set_at(d, MT_ERR_NOMEM, path, 0, 0, "out of memory reading the file");
    if (st == MT_OK && regular) {
        st = read_up_to(f, &buf, &len, &cap, UINT64_MAX, path, d);
    } else if (st == MT_OK) {
        st = read_up_to(f, &buf, &len, &cap, 8, path, d);
        uint64_t hlen = 0;
        for (int i = 7; i >= 0 && len == 8; i--)
            hlen = hlen << 8 | buf[i];
        if (st == MT_OK && hlen > MAX_HEADER)
            st = mt_diag_set_at(d, MT_ERR_PARSE, path, 0, 0,
                                "header length %" PRIu64 " is over the format's limit of %" PRIu64
                                " bytes",
                                hlen, MAX_HEADER);
        if (st == MT_OK && len == 8)
            st = read_up_to(f, &buf, &len, &cap, hlen, path, d);
        if (st == MT_OK && len == 8 + hlen)
            st =
                read_up_to(f, &buf, &len, &cap, data_end((const char *)buf + 8, hlen) + 1, path, d);
    }
    fclose(f);
    if (st == MT_OK)
        st = mt_safetensors_parse(buf, len, path, out, d);
    mt_free(buf);
    return st;
}

/* ---- writing ------------------------------------------------------------------------------ */

static void put_json_string(mt_buf *b, const char *s)
{
    mt_buf_puts(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            mt_buf_printf(b, "\\%c", *p);
        else if (*p < 0x20)
            mt_buf_printf(b, "\\u%04x", *p);
        else
            mt_buf_printf(b, "%c", *p);
    }
    mt_buf_puts(b, "\"");
}

/* The header text, integers printed exactly, padded with spaces so the data starts at a multiple
 * of 8 bytes (as the Python package writes it). NULL when out of memory. */
static char *build_header(const mt_tensor_map *m, size_t *hlen)
{
    mt_buf b = {0};
    mt_buf_puts(&b, "{\"__metadata__\":{\"format\":\"pt\"}");
    uint64_t off = 0;
    for (int i = 0; i < mt_tensor_map_count(m); i++) {
        const mt_tensor *t = mt_tensor_map_at(m, i);
        mt_buf_puts(&b, ",");
        put_json_string(&b, mt_tensor_map_name(m, i));
        mt_buf_printf(&b, ":{\"dtype\":\"%s\",\"shape\":[",
                      t->type.dtype == MT_DTYPE_F64 ? "F64" : "F32");
        for (int k = 0; k < t->type.rank; k++)
            mt_buf_printf(&b, "%s%" PRId64, k ? "," : "", t->type.dims[k]);
        mt_buf_printf(&b, "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}", off,
                      off + (uint64_t)t->nbytes);
        off += t->nbytes;
    }
    mt_buf_puts(&b, "}");
    while (b.len % 8 != 0 && !b.oom)
        mt_buf_puts(&b, " ");
    *hlen = b.len;
    return mt_buf_take(&b);
}

mt_status mt_safetensors_save(const char *path, const mt_tensor_map *m, mt_diag *d)
{
    if (!path || !m)
        return mt_diag_set(d, MT_ERR_ARG, "mt_safetensors_save: NULL path or map");
    for (int i = 0; i < mt_tensor_map_count(m); i++)
        if (strcmp(mt_tensor_map_name(m, i), "__metadata__") == 0)
            return mt_diag_set_at(d, MT_ERR_ARG, path, 0, 0,
                                  "cannot write a tensor named '__metadata__': the name is "
                                  "reserved for the header's metadata");
    size_t hlen = 0;
    char *header = build_header(m, &hlen);
    int n = mt_tensor_map_count(m);
    mt_span *parts = header ? mt_calloc((size_t)n + 2, sizeof *parts) : NULL;
    if (!parts) {
        mt_free(header);
        return mt_diag_set_at(d, MT_ERR_NOMEM, path, 0, 0, "out of memory writing the file");
    }
    unsigned char lenbytes[8];
    for (int i = 0; i < 8; i++)
        lenbytes[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    parts[0] = (mt_span){lenbytes, 8};
    parts[1] = (mt_span){header, hlen};
    for (int i = 0; i < n; i++)
        parts[i + 2] = (mt_span){mt_tensor_map_at(m, i)->data, mt_tensor_map_at(m, i)->nbytes};
    /* Atomic over a regular file, through to a FIFO or device, symlinks followed. */
    mt_status st = mt_outfile_write(path, parts, n + 2, d);
    mt_free(parts);
    mt_free(header);
    return st;
}
