/* cache_dir.c - where the kernel cache lives and whether it may be trusted (cache.h,
 * docs/cache.md "The directory" and "Trust").
 *
 * The cache is a code-loading path: what its entries hold, the process links and runs. So the
 * directory is opened once per load or store and judged by what it is (fstat of the open
 * descriptor, so a rename or symlink swap after the check changes nothing), and entries are
 * opened relative to that descriptor:
 *
 *   the directory   must be a directory owned by this user (the effective uid) and writable
 *                   by nobody else: no group or other write bit. Anyone else who can write it
 *                   can plant code. Refused directories are never read or written; a warning
 *                   naming the directory and the reason goes to stderr once per process.
 *   an entry        must be a regular file owned by this user and writable by nobody else.
 *                   It is opened with O_NOFOLLOW (a symlink is refused, not followed) and
 *                   O_NONBLOCK (a FIFO or device planted under an entry's name cannot block
 *                   the open), and judged by fstat before a byte is read.
 *
 * A symlink to the directory itself is followed on purpose (~/.cache is often one): what is
 * checked is the directory it leads to.
 */
#define _GNU_SOURCE /* O_NOFOLLOW, O_DIRECTORY */
#include "runtime/cache_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ir/alloc.h"
#include "runtime/cache.h"

void mt_cache_note(const char *fmt, ...)
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
            mt_cache_note("cannot create %s: %s", p, strerror(errno));
            ok = 0;
        }
        *s = c;
        if (c == '\0')
            break;
    }
    mt_free(p);
    return ok;
}

static int warned;

/* One warning per process: a refused directory makes every compile slower, and a directory
 * others can write may be an attack, so the user should hear of it even without MTC_DEBUG,
 * but once, not for every compile unit. */
static void warn_untrusted(const char *dir, const char *why)
{
    if (__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED))
        return;
    fprintf(stderr,
            "mtc: warning: kernel cache directory %s is not used: %s; kernels are compiled "
            "without the cache\n",
            dir, why);
}

const char *mt_cache_untrusted(const struct stat *st, int want_dir)
{
    if (want_dir ? !S_ISDIR(st->st_mode) : !S_ISREG(st->st_mode))
        return want_dir ? "not a directory" : "not a regular file";
    if (st->st_uid != geteuid())
        return "owned by another user";
    if (st->st_mode & (S_IWGRP | S_IWOTH))
        return "writable by group or others";
    return NULL;
}

int mt_cache_dir_open(const char *dir, int create)
{
    if (create && !make_dirs(dir))
        return -1;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT)
            mt_cache_note("cannot open %s: %s", dir, strerror(errno));
        return -1;
    }
    struct stat st;
    const char *why = fstat(fd, &st) != 0 ? "cannot stat it" : mt_cache_untrusted(&st, 1);
    if (why) {
        char reason[96];
        if (strcmp(why, "owned by another user") == 0)
            snprintf(reason, sizeof reason, "owned by uid %u, not %u", (unsigned)st.st_uid,
                     (unsigned)geteuid());
        else if (strcmp(why, "writable by group or others") == 0)
            snprintf(reason, sizeof reason, "writable by group or others (mode %04o)",
                     (unsigned)(st.st_mode & 07777));
        else
            snprintf(reason, sizeof reason, "%s", why);
        warn_untrusted(dir, reason);
        mt_cache_note("%s not used: %s", dir, reason);
        close(fd);
        return -1;
    }
    return fd;
}

int mt_cache_entry_open(int dirfd, const char *name)
{
    return openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
}
