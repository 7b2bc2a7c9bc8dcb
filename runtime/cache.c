/* cache.c - the kernel cache's entries: their format and files (cache.h, docs/cache.md).
 *
 * Entry layout, integers little-endian:
 *
 *   0   8  magic "MTCKOBJ\x1a"
 *   8   4  format version (MT_CACHE_FORMAT)
 *   12  4  zero (reserved)
 *   16  8  payload length in bytes
 *   24  32 the key (SHA-256 digest), so a file copied under another name is not trusted
 *   56  32 the seal: SHA-256 of the key and the payload (cache_key.c: mt_cache_seal)
 *   88  .. the payload: an ELF object file for the host
 *
 * Every header field is checked against what it must be, and the file's size against the
 * length, so a truncation or a flipped bit anywhere is caught (the seal covers the payload and
 * binds it to the key). Before any of that the directory and the entry must be trusted
 * (cache_dir.c): this user's own, writable by nobody else, the entry a regular file reached
 * without a symlink and opened without blocking.
 *
 * Atomicity: a writer creates `.<hex>.<pid>.<random>.tmp` with O_EXCL in the cache directory,
 * writes and fsyncs it, then renames it over `<hex>.o`. rename is atomic within a file
 * system, so a reader sees the old entry, no entry, or the whole new one; two processes
 * storing the same key at once each rename a complete file of identical contents. A reader
 * that finds a bad entry deletes it only if the name still names the file it read, so it
 * never deletes an entry another process has just put in place. Both work relative to a
 * descriptor of the directory they checked.
 */
#include "runtime/cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ir/alloc.h"
#include "runtime/cache_dir.h"

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

int mt_cache_enabled(void)
{
    const char *env = getenv("MTC_CACHE");
    if (!env)
        return 1;
    return !(strcmp(env, "0") == 0 || strcasecmp(env, "off") == 0 || strcasecmp(env, "no") == 0 ||
             strcasecmp(env, "false") == 0);
}

/* ---- entries --------------------------------------------------------------------------- */

/* The file name of k's entry within the directory. */
static void entry_name(const mt_cache_key *k, char name[2 * MT_SHA256_BYTES + 3])
{
    snprintf(name, 2 * MT_SHA256_BYTES + 3, "%s.o", k->hex);
}

char *mt_cache_entry_path(const mt_cache_key *k)
{
    char *dir = mt_cache_dir();
    if (!dir)
        return NULL;
    char name[2 * MT_SHA256_BYTES + 3];
    entry_name(k, name);
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = mt_malloc(n);
    if (path)
        snprintf(path, n, "%s/%s", dir, name);
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

static void header_make(unsigned char h[MT_CACHE_HEADER_BYTES], const mt_cache_key *k,
                        const void *obj, size_t len)
{
    memcpy(h, magic, 8);
    put32(h + 8, MT_CACHE_FORMAT);
    put32(h + 12, 0);
    put64(h + 16, len);
    memcpy(h + 24, k->digest, MT_SHA256_BYTES);
    mt_cache_seal(k, obj, len, h + 56);
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
 * success *obj and *len hold the payload. Nothing is read from a file that is not trusted. */
static const char *validate(int fd, const struct stat *st, const mt_cache_key *k, void **obj,
                            size_t *len)
{
    unsigned char h[MT_CACHE_HEADER_BYTES];
    const char *why = mt_cache_untrusted(st, 0);
    if (why)
        return why;
    if (st->st_size < MT_CACHE_HEADER_BYTES || !read_all(fd, h, sizeof h))
        return "truncated header";
    if (memcmp(h, magic, 8) != 0)
        return "bad magic";
    if (get32(h + 8) != MT_CACHE_FORMAT)
        return "other format version";
    if (get32(h + 12) != 0)
        return "reserved field not zero";
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
    unsigned char seal[MT_SHA256_BYTES];
    mt_cache_seal(k, data, (size_t)n, seal);
    if (memcmp(seal, h + 56, MT_SHA256_BYTES) != 0) {
        mt_free(data);
        return "the seal does not match the key and payload";
    }
    *obj = data;
    *len = (size_t)n;
    return NULL;
}

/* Deletes `name` if it still names the file `st` describes: another process may have renamed
 * a good entry over the bad one since we opened it. */
static void remove_if_same(int dirfd, const char *name, const struct stat *st)
{
    struct stat now;
    if (fstatat(dirfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 && now.st_dev == st->st_dev &&
        now.st_ino == st->st_ino && unlinkat(dirfd, name, 0) != 0)
        mt_cache_note("cannot delete %s: %s", name, strerror(errno));
}

/* Opens and validates k's entry in the trusted directory dirfd; see mt_cache_load. */
static int load_from(int dirfd, const char *dir, const mt_cache_key *k, void **obj, size_t *len)
{
    char name[2 * MT_SHA256_BYTES + 3];
    entry_name(k, name);
    int fd = mt_cache_entry_open(dirfd, name);
    if (fd < 0) {
        int err = errno;
        if (err == ENOENT)
            return 0;
        mt_cache_note("cannot open %s/%s: %s", dir, name, strerror(err));
        /* A symlink (ELOOP) is never followed: it goes, and the store puts an entry there. */
        struct stat lst;
        if (err == ELOOP && fstatat(dirfd, name, &lst, AT_SYMLINK_NOFOLLOW) == 0) {
            remove_if_same(dirfd, name, &lst);
            count(&n_rejected);
        }
        return 0;
    }
    struct stat st;
    int have_st = fstat(fd, &st) == 0;
    const char *why = have_st ? validate(fd, &st, k, obj, len) : "cannot stat";
    close(fd);
    if (!why)
        return 1;
    mt_cache_note("rejected %s/%s: %s", dir, name, why);
    /* Running out of memory is not the entry's fault. */
    if (have_st && strcmp(why, "out of memory") != 0) {
        remove_if_same(dirfd, name, &st);
        count(&n_rejected);
    }
    return 0;
}

int mt_cache_load(const mt_cache_key *k, void **obj, size_t *len)
{
    *obj = NULL;
    *len = 0;
    if (!mt_cache_enabled())
        return 0;
    char *dir = mt_cache_dir();
    int dirfd = dir ? mt_cache_dir_open(dir, 0) : -1;
    int hit = dirfd >= 0 && load_from(dirfd, dir, k, obj, len);
    if (dirfd >= 0)
        close(dirfd);
    mt_free(dir);
    count(hit ? &n_hits : &n_misses);
    return hit;
}

/* ---- writing --------------------------------------------------------------------------- */

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

#define TMP_NAME (2 * MT_SHA256_BYTES + 48)

/* Creates a fresh temporary file in the directory dirfd; its name goes to tmp. -1 on failure. */
static int create_temp(int dirfd, const mt_cache_key *k, char tmp[TMP_NAME])
{
    for (int attempt = 0; attempt < 8; attempt++) {
        snprintf(tmp, TMP_NAME, ".%s.%ld.%016llx.tmp", k->hex, (long)getpid(),
                 (unsigned long long)random_suffix());
        int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

/* Writes k's entry into the trusted directory dirfd; 1 when stored. */
static int store_in(int dirfd, const char *dir, const mt_cache_key *k, const void *obj, size_t len)
{
    char tmp[TMP_NAME], name[2 * MT_SHA256_BYTES + 3];
    entry_name(k, name);
    int fd = create_temp(dirfd, k, tmp);
    if (fd < 0) {
        mt_cache_note("cannot create a file in %s: %s", dir, strerror(errno));
        return 0;
    }
    unsigned char h[MT_CACHE_HEADER_BYTES];
    header_make(h, k, obj, len);
    int ok = write_all(fd, h, sizeof h) && write_all(fd, obj, len) && fsync(fd) == 0;
    int err = errno;
    if (close(fd) != 0 && ok) {
        ok = 0;
        err = errno;
    }
    if (ok && renameat(dirfd, tmp, dirfd, name) != 0) {
        ok = 0;
        err = errno;
    }
    if (!ok) {
        mt_cache_note("cannot write %s/%s: %s", dir, name, strerror(err));
        unlinkat(dirfd, tmp, 0);
    }
    return ok;
}

int mt_cache_store(const mt_cache_key *k, const void *obj, size_t len)
{
    if (!mt_cache_enabled() || len == 0 || (uint64_t)len > MAX_PAYLOAD)
        return 0;
    char *dir = mt_cache_dir();
    if (!dir) {
        mt_cache_note("no cache directory: set MTC_CACHE_DIR or HOME");
        return 0;
    }
    int dirfd = mt_cache_dir_open(dir, 1);
    int stored = dirfd >= 0 && store_in(dirfd, dir, k, obj, len);
    if (dirfd >= 0)
        close(dirfd);
    if (stored)
        count(&n_stores);
    mt_free(dir);
    return stored;
}

void mt_cache_remove(const mt_cache_key *k)
{
    char *dir = mt_cache_dir();
    int dirfd = dir ? mt_cache_dir_open(dir, 0) : -1;
    char name[2 * MT_SHA256_BYTES + 3];
    entry_name(k, name);
    if (dirfd >= 0 && unlinkat(dirfd, name, 0) != 0 && errno != ENOENT)
        mt_cache_note("cannot delete %s/%s: %s", dir, name, strerror(errno));
    if (dirfd >= 0)
        close(dirfd);
    mt_free(dir);
}
