/* cache.c - the kernel cache's entries: their format and files (cache.h, docs/cache.md).
 *
 * Entry layout, integers little-endian:
 *
 *   0   8  magic "MTCKOBJ\x1a"
 *   8   4  format version (MT_CACHE_FORMAT)
 *   12  4  zlib crc32 of the payload
 *   16  8  payload length in bytes
 *   24  32 the key (SHA-256 digest), so a file copied under another name is not trusted
 *   56  .. the payload: an ELF object file for the host
 *
 * Every header field is checked against what it must be, and the file's size against the
 * length, so a truncation or a flipped bit anywhere is caught (the CRC covers the payload).
 *
 * Atomicity: a writer creates `.<hex>.<pid>.<random>.tmp` with O_EXCL in the cache directory,
 * writes and fsyncs it, then rename()s it over `<hex>.o`. rename is atomic within a file
 * system, so a reader sees the old entry, no entry, or the whole new one; two processes
 * storing the same key at once each rename a complete file of identical contents. A reader
 * that finds a bad entry deletes it only if the path still names the file it read, so it
 * never deletes an entry another process has just put in place.
 */
#include "runtime/cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "ir/alloc.h"

static const unsigned char magic[8] = {'M', 'T', 'C', 'K', 'O', 'B', 'J', 0x1a};

/* Entries larger than this are not objects mtc wrote; refuse to read them into memory. */
#define MAX_PAYLOAD ((uint64_t)1 << 30)

static long n_hits, n_misses, n_stores, n_rejected;

static void count(long *c) { __atomic_fetch_add(c, 1, __ATOMIC_RELAXED); }

void mt_cache_counters_get(mt_cache_counters *out)
{
    out->hits = __atomic_load_n(&n_hits, __ATOMIC_RELAXED);
    out->misses = __atomic_load_n(&n_misses, __ATOMIC_RELAXED);
    out->stores = __atomic_load_n(&n_stores, __ATOMIC_RELAXED);
    out->rejected = __atomic_load_n(&n_rejected, __ATOMIC_RELAXED);
}

/* The cache's only voice: problems with it never fail a compile, so they are notes for
 * whoever debugs a slow start (MTC_DEBUG=1). */
__attribute__((format(printf, 1, 2))) static void note(const char *fmt, ...)
{
    const char *env = getenv("MTC_DEBUG");
    if (!env || !*env || strcmp(env, "0") == 0)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "mtc: cache: %s\n", line);
}

int mt_cache_enabled(void)
{
    const char *env = getenv("MTC_CACHE");
    if (!env)
        return 1;
    return !(strcmp(env, "0") == 0 || strcasecmp(env, "off") == 0 || strcasecmp(env, "no") == 0 ||
             strcasecmp(env, "false") == 0);
}

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 1;
    char *s = mt_malloc(n);
    if (s)
        snprintf(s, n, "%s%s", a, b);
    return s;
}

char *mt_cache_dir(void)
{
    const char *env = getenv("MTC_CACHE_DIR");
    if (env && *env)
        return mt_strdup(env);
    /* The XDG spec ignores relative paths in XDG_CACHE_HOME. */
    env = getenv("XDG_CACHE_HOME");
    if (env && env[0] == '/')
        return join(env, "/mtc");
    env = getenv("HOME");
    if (env && *env)
        return join(env, "/.cache/mtc");
    return NULL;
}

/* ---- entries --------------------------------------------------------------------------- */

char *mt_cache_entry_path(const mt_cache_key *k)
{
    char *dir = mt_cache_dir();
    if (!dir)
        return NULL;
    char name[2 * MT_SHA256_BYTES + 8];
    snprintf(name, sizeof name, "/%s.o", k->hex);
    char *path = join(dir, name);
    mt_free(dir);
    return path;
}

/* ---- the header ------------------------------------------------------------------------ */

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint32_t crc_of(const void *data, size_t len)
{
    return (uint32_t)crc32_z(crc32_z(0, Z_NULL, 0), data, len);
}

static void header_make(unsigned char h[MT_CACHE_HEADER_BYTES], const mt_cache_key *k,
                        const void *obj, size_t len)
{
    memcpy(h, magic, 8);
    put32(h + 8, MT_CACHE_FORMAT);
    put32(h + 12, crc_of(obj, len));
    put64(h + 16, len);
    memcpy(h + 24, k->digest, MT_SHA256_BYTES);
}

/* ---- reading --------------------------------------------------------------------------- */

static int read_all(int fd, void *buf, size_t len)
{
    unsigned char *p = buf;
    while (len) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        p += n;
        len -= (size_t)n;
    }
    return 1;
}

/* Why the open entry fd (of fstat `st`) is not a valid entry for k, or NULL when it is; on
 * success *obj and *len hold the payload. */
static const char *validate(int fd, const struct stat *st, const mt_cache_key *k, void **obj,
                            size_t *len)
{
    unsigned char h[MT_CACHE_HEADER_BYTES];
    if (!S_ISREG(st->st_mode))
        return "not a regular file";
    if (st->st_size < MT_CACHE_HEADER_BYTES || !read_all(fd, h, sizeof h))
        return "truncated header";
    if (memcmp(h, magic, 8) != 0)
        return "bad magic";
    if (get32(h + 8) != MT_CACHE_FORMAT)
        return "other format version";
    if (memcmp(h + 24, k->digest, MT_SHA256_BYTES) != 0)
        return "key does not match the file name";
    uint64_t n = get64(h + 16);
    if (n == 0 || n > MAX_PAYLOAD)
        return "implausible payload length";
    if ((uint64_t)st->st_size != MT_CACHE_HEADER_BYTES + n)
        return (uint64_t)st->st_size < MT_CACHE_HEADER_BYTES + n ? "truncated payload"
                                                                 : "trailing bytes";
    void *data = mt_malloc((size_t)n);
    if (!data)
        return "out of memory";
    if (!read_all(fd, data, (size_t)n)) {
        mt_free(data);
        return "short read";
    }
    if (crc_of(data, (size_t)n) != get32(h + 12)) {
        mt_free(data);
        return "payload CRC mismatch";
    }
    *obj = data;
    *len = (size_t)n;
    return NULL;
}

/* Deletes path if it still names the file `st` describes: another process may have renamed
 * a good entry over the bad one since we opened it. */
static void remove_if_same(const char *path, const struct stat *st)
{
    struct stat now;
    if (lstat(path, &now) == 0 && now.st_dev == st->st_dev && now.st_ino == st->st_ino &&
        unlink(path) != 0)
        note("cannot delete %s: %s", path, strerror(errno));
}

int mt_cache_load(const mt_cache_key *k, void **obj, size_t *len)
{
    *obj = NULL;
    *len = 0;
    if (!mt_cache_enabled())
        return 0;
    char *path = mt_cache_entry_path(k);
    if (!path) {
        count(&n_misses);
        return 0;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno != ENOENT)
            note("cannot open %s: %s", path, strerror(errno));
        mt_free(path);
        count(&n_misses);
        return 0;
    }
    struct stat st;
    int have_st = fstat(fd, &st) == 0;
    const char *why = have_st ? validate(fd, &st, k, obj, len) : "cannot stat";
    close(fd);
    if (why) {
        note("rejected %s: %s", path, why);
        /* Running out of memory is not the entry's fault. */
        if (have_st && strcmp(why, "out of memory") != 0) {
            remove_if_same(path, &st);
            count(&n_rejected);
        }
        count(&n_misses);
    } else {
        count(&n_hits);
    }
    mt_free(path);
    return why == NULL;
}

/* ---- writing --------------------------------------------------------------------------- */

/* mkdir -p: creates each missing component, private to this user. */
static int make_dirs(const char *dir)
{
    char *p = mt_strdup(dir);
    if (!p)
        return 0;
    int ok = 1;
    for (char *s = p + 1; ok; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            note("cannot create %s: %s", p, strerror(errno));
            ok = 0;
        }
        *s = c;
        if (c == '\0')
            break;
    }
    mt_free(p);
    return ok;
}

/* The cache holds machine code this process will run: a directory someone else can write to
 * could feed it any code, so only our own, not world-writable, directories are used. */
static int dir_usable(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        note("%s is not a directory", dir);
        return 0;
    }
    if (st.st_uid != geteuid() || (st.st_mode & S_IWOTH)) {
        note("%s is not owned by this user or is writable by others: not used", dir);
        return 0;
    }
    return 1;
}

static int write_all(int fd, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        p += n;
        len -= (size_t)n;
    }
    return 1;
}

static uint64_t random_suffix(void)
{
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        r = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15u ^ (uint64_t)ts.tv_sec;
    }
    return r;
}

/* Creates a fresh temporary file in dir; its path goes to tmp. -1 on failure. */
static int create_temp(const char *dir, const mt_cache_key *k, char *tmp, size_t size)
{
    for (int attempt = 0; attempt < 8; attempt++) {
        snprintf(tmp, size, "%s/.%s.%ld.%016llx.tmp", dir, k->hex, (long)getpid(),
                 (unsigned long long)random_suffix());
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

int mt_cache_store(const mt_cache_key *k, const void *obj, size_t len)
{
    if (!mt_cache_enabled() || len == 0 || (uint64_t)len > MAX_PAYLOAD)
        return 0;
    char *dir = mt_cache_dir();
    if (!dir) {
        note("no cache directory: set MTC_CACHE_DIR or HOME");
        return 0;
    }
    int stored = 0;
    char *path = mt_cache_entry_path(k);
    size_t tmp_size = strlen(dir) + 2 * MT_SHA256_BYTES + 64;
    char *tmp = mt_malloc(tmp_size);
    if (path && tmp && make_dirs(dir) && dir_usable(dir)) {
        int fd = create_temp(dir, k, tmp, tmp_size);
        if (fd < 0) {
            note("cannot create a file in %s: %s", dir, strerror(errno));
        } else {
            unsigned char h[MT_CACHE_HEADER_BYTES];
            header_make(h, k, obj, len);
            int ok = write_all(fd, h, sizeof h) && write_all(fd, obj, len) && fsync(fd) == 0;
            int err = errno;
            if (close(fd) != 0 && ok) {
                ok = 0;
                err = errno;
            }
            if (ok && rename(tmp, path) != 0) {
                ok = 0;
                err = errno;
            }
            if (!ok) {
                note("cannot write %s: %s", path, strerror(err));
                unlink(tmp);
            }
            stored = ok;
        }
    }
    if (stored)
        count(&n_stores);
    mt_free(tmp);
    mt_free(path);
    mt_free(dir);
    return stored;
}

void mt_cache_remove(const mt_cache_key *k)
{
    char *path = mt_cache_entry_path(k);
    if (path && unlink(path) != 0 && errno != ENOENT)
        note("cannot delete %s: %s", path, strerror(errno));
    mt_free(path);
}
