/* outfile.c - writing an output file without destroying what the path names (outfile.h).
 *
 * Every file mtc writes for a user goes through here: safetensors outputs and checkpoints
 * (runtime/safetensors.c) and MTIR text (tools/cli.c). The rules are those of a careful shell
 * redirection plus atomicity: what the path is decides how it is written. Renaming a new file
 * over the path is only right for a regular file; done to a FIFO it disconnects the reader,
 * done to a symlink it replaces the link and never writes its target, done as root to
 * /dev/null it turns the system's /dev/null into a regular file.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ir/alloc.h"
#include "runtime/outfile.h"

/* Linux's own limit on symlinks followed in one lookup. */
#define MAX_LINK_HOPS 40

static int write_fd(int fd, const mt_span *parts, int nparts)
{
    for (int i = 0; i < nparts; i++) {
        const char *p = parts[i].data;
        size_t len = parts[i].len;
        while (len > 0) {
            ssize_t n = write(fd, p, len);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return 0;
            if (n == 0) {
                errno = EIO; /* no progress and no reason: do not spin */
                return 0;
            }
            p += n;
            len -= (size_t)n;
        }
    }
    return 1;
}

/* The descriptor a path names when it is one of the process's own (/dev/stdout, /dev/fd/N),
 * else -1. Opening such a path anew would not do: for a file the shell opened it starts again
 * at offset 0, and replacing it would lose what the shell already wrote there. */
static int own_descriptor(const char *path)
{
    if (!strcmp(path, "/dev/stdout"))
        return 1;
    if (!strcmp(path, "/dev/stderr"))
        return 2;
    const char *num = !strncmp(path, "/dev/fd/", 8)          ? path + 8
                      : !strncmp(path, "/proc/self/fd/", 14) ? path + 14
                                                             : NULL;
    if (!num || *num < '0' || *num > '9')
        return -1;
    char *end;
    errno = 0;
    long fd = strtol(num, &end, 10);
    return *end || errno || fd > INT_MAX ? -1 : (int)fd;
}

static mt_status write_descriptor(int fd, const char *name, const mt_span *parts, int nparts,
                                  mt_diag *d)
{
    if (fd == 1)
        fflush(stdout);
    else if (fd == 2)
        fflush(stderr);
    if (!write_fd(fd, parts, nparts))
        return mt_diag_set_at(d, MT_ERR_IO, name, 0, 0, "write failed: %s", strerror(errno));
    return MT_OK;
}

/* Where a chain of symlinks starting at `path` ends (a copy of path when it is no link): a new
 * string in *out, or *fd when a hop names one of the process's own descriptors. */
static mt_status follow_links(const char *path, char **out, int *fd, mt_diag *d)
{
    *out = NULL;
    char *cur = mt_strdup(path);
    for (int hops = 0; cur; hops++) {
        struct stat sb;
        if ((*fd = own_descriptor(cur)) >= 0 || lstat(cur, &sb) != 0 || !S_ISLNK(sb.st_mode)) {
            *out = cur; /* a missing path is created; other errors show when it is opened */
            return MT_OK;
        }
        char link[PATH_MAX];
        ssize_t n = hops < MAX_LINK_HOPS ? readlink(cur, link, sizeof link - 1) : -1;
        if (n < 0) {
            mt_free(cur);
            return mt_diag_set_at(d, MT_ERR_IO, path, 0, 0, "cannot follow the link: %s",
                                  strerror(hops < MAX_LINK_HOPS ? errno : ELOOP));
        }
        link[n] = 0;
        /* A relative target counts from the folder that holds the link. */
        const char *slash = strrchr(cur, '/');
        size_t dirlen = link[0] == '/' || !slash ? 0 : (size_t)(slash - cur) + 1;
        char *next = mt_malloc(dirlen + (size_t)n + 1);
        if (next) {
            memcpy(next, cur, dirlen);
            memcpy(next + dirlen, link, (size_t)n + 1);
        }
        mt_free(cur);
        cur = next;
    }
    return mt_diag_set_at(d, MT_ERR_NOMEM, path, 0, 0, "out of memory");
}

/* A FIFO or character device: written through, never replaced. */
static mt_status write_through(const char *target, const char *path, const mt_span *parts,
                               int nparts, mt_diag *d)
{
    int fd = open(target, O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return mt_diag_set_at(d, MT_ERR_IO, path, 0, 0, "cannot open for writing: %s",
                              strerror(errno));
    struct stat sb;
    int ok = fstat(fd, &sb) == 0 && (S_ISFIFO(sb.st_mode) || S_ISCHR(sb.st_mode));
    if (!ok) { /* swapped for something else between the stat and the open */
        close(fd);
        return mt_diag_set_at(d, MT_ERR_IO, path, 0, 0, "cannot write: it changed while opening");
    }
    ok = write_fd(fd, parts, nparts);
    int err = errno;
    if (close(fd) != 0 && ok) {
        ok = 0;
        err = errno;
    }
    if (!ok)
        return mt_diag_set_at(d, MT_ERR_IO, path, 0, 0, "write failed: %s", strerror(err));
    return MT_OK;
}

/* A regular file or a new path: a new file beside it, renamed over it. `old` is the file's
 * stat, NULL when there is none. */
static mt_status replace(const char *target, const struct stat *old, const char *path,
                         const mt_span *parts, int nparts, mt_diag *d)
{
    /* O_EXCL with the pid and a counter makes the temporary name ours. A new file is created
     * 0666 for the umask to trim; a replaced one starts private and takes the old mode before
     * any data is in it. */
    static atomic_uint counter;
    size_t tlen = strlen(target) + 64;
    char *tmp = mt_malloc(tlen);
    if (!tmp)
        return mt_diag_set_at(d, MT_ERR_NOMEM, path, 0, 0, "out of memory");
    int fd = -1;
    for (int tries = 0; tries < 100 && fd < 0; tries++) {
        snprintf(tmp, tlen, "%s.tmp-%ld-%u", target, (long)getpid(), atomic_fetch_add(&counter, 1));
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, old ? 0600 : 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        mt_status st = mt_diag_set_at(d, MT_ERR_IO, path, 0, 0,
                                      "cannot create a file beside it: %s", strerror(errno));
        mt_free(tmp);
        return st;
    }
    int ok = 1;
    if (old) {
        /* The owner first: changing it clears set-id bits that the mode then restores. Only
         * root may give a file away, so a failure here is no error. */
        if ((old->st_uid != geteuid() || old->st_gid != getegid()) &&
            fchown(fd, old->st_uid, old->st_gid) != 0)
            errno = 0; /* not root: the new file stays ours */
        ok = fchmod(fd, old->st_mode & 07777) == 0;
    }
    ok = ok && write_fd(fd, parts, nparts) && fsync(fd) == 0;
    int err = errno;
    if (close(fd) != 0 && ok) {
        ok = 0;
        err = errno;
    }
    if (ok && rename(tmp, target) != 0) {
        ok = 0;
        err = errno;
    }
    mt_status st = MT_OK;
    if (!ok) {
        unlink(tmp);
        st = mt_diag_set_at(d, MT_ERR_IO, path, 0, 0, "write failed: %s", strerror(err));
    }
    mt_free(tmp);
    return st;
}

mt_status mt_outfile_write(const char *path, const mt_span *parts, int nparts, mt_diag *d)
{
    if (!parts && nparts > 0)
        return mt_diag_set(d, MT_ERR_ARG, "mt_outfile_write: NULL parts");
    if (!path)
        return write_descriptor(1, "<stdout>", parts, nparts, d);
    int fd = -1;
    char *target = NULL;
    mt_status st = follow_links(path, &target, &fd, d);
    if (st != MT_OK)
        return st;
    struct stat sb;
    if (fd >= 0)
        st = write_descriptor(fd, path, parts, nparts, d);
    else if (stat(target, &sb) != 0)
        st = errno == ENOENT
                 ? replace(target, NULL, path, parts, nparts, d)
                 : mt_diag_set_at(d, MT_ERR_IO, path, 0, 0, "cannot write: %s", strerror(errno));
    else if (S_ISREG(sb.st_mode))
        st = replace(target, &sb, path, parts, nparts, d);
    else if (S_ISFIFO(sb.st_mode) || S_ISCHR(sb.st_mode))
        st = write_through(target, path, parts, nparts, d);
    else if (S_ISDIR(sb.st_mode))
        st = mt_diag_set_at(d, MT_ERR_IO, path, 0, 0, "cannot write: %s", strerror(EISDIR));
    else
        st = mt_diag_set_at(d, MT_ERR_IO, path, 0, 0,
                            "cannot write: not a regular file, FIFO or character device");
    mt_free(target);
    return st;
}
