/* cli.c - helpers shared by the subcommands: error printing and argument lists. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/cmd.h"

int mtc_fail(const mt_diag *d)
{
    char buf[MT_DIAG_MSG + MT_DIAG_FILE + 64];
    mt_diag_format(d, buf, sizeof buf);
    fprintf(stderr, "%s\n", buf);
    if (d->log && d->log[0])
        fprintf(stderr, "%s\n", d->log);
    return 1;
}

int mtc_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "mtc %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(see 'mtc %s --help')\n", cmd);
    va_end(ap);
    return 2;
}

int mtc_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return 1;
    return 0;
}

int mtc_value_list(const mt_graph *g, const char *list, int *ids, int max, mt_diag *d)
{
    int n = 0;
    const char *p = list;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char name[256];
        if (len == 0 || len >= sizeof name) {
            mt_diag_set(d, MT_ERR_ARG, "bad value list '%s'", list);
            return -1;
        }
        memcpy(name, p[0] == '%' ? p + 1 : p, p[0] == '%' ? len - 1 : len);
        name[p[0] == '%' ? len - 1 : len] = 0;
        int id = mt_graph_find(g, name);
        if (id < 0) {
            mt_diag_set(d, MT_ERR_ARG, "no value '%%%s' in graph '%s'", name, mt_graph_name(g));
            return -1;
        }
        if (n == max) {
            mt_diag_set(d, MT_ERR_ARG, "too many values in '%s'", list);
            return -1;
        }
        ids[n++] = id;
        p += len;
        if (*p == ',')
            p++;
    }
    return n;
}

static int write_all(int fd, const char *text, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, text, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        text += n;
        len -= (size_t)n;
    }
    return 1;
}

int mtc_write_text(const char *path, const char *text, mt_diag *d)
{
    size_t len = strlen(text);
    if (!path) {
        if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0) {
            mt_diag_set_at(d, MT_ERR_IO, "<stdout>", 0, 0, "write failed: %s", strerror(errno));
            return 0;
        }
        return 1;
    }
    struct stat sb;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) { /* a FIFO, /dev/stdout, a device */
        int fd = open(path, O_WRONLY);
        int ok = fd >= 0 && write_all(fd, text, len);
        int err = errno;
        if (fd >= 0 && close(fd) != 0 && ok) {
            ok = 0;
            err = errno;
        }
        if (!ok)
            mt_diag_set_at(d, MT_ERR_IO, path, 0, 0, "cannot write: %s", strerror(err));
        return ok;
    }
    /* Through a symlink, the file it names is the one replaced. */
    char real[PATH_MAX];
    const char *target = realpath(path, real) ? real : path;
    char tmp[PATH_MAX + 16];
    if (snprintf(tmp, sizeof tmp, "%s.tmpXXXXXX", target) >= (int)sizeof tmp) {
        mt_diag_set_at(d, MT_ERR_IO, path, 0, 0, "path too long");
        return 0;
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        mt_diag_set_at(d, MT_ERR_IO, path, 0, 0, "cannot create a file beside it: %s",
                       strerror(errno));
        return 0;
    }
    /* mkstemp makes the file 0600: give it the mode a plain create (or the old file) has. */
    mode_t mask = umask(0);
    umask(mask);
    struct stat old;
    mode_t mode = stat(target, &old) == 0 ? old.st_mode & 07777 : 0666 & ~mask;
    int ok = fchmod(fd, mode) == 0 && write_all(fd, text, len) && fsync(fd) == 0;
    int err = errno;
    if (close(fd) != 0 && ok) {
        ok = 0;
        err = errno;
    }
    if (ok && rename(tmp, target) != 0) {
        ok = 0;
        err = errno;
    }
    if (!ok) {
        unlink(tmp);
        mt_diag_set_at(d, MT_ERR_IO, path, 0, 0, "write failed: %s", strerror(err));
    }
    return ok;
}

int mtc_parse_double(const char *cmd, const char *flag, const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno == ERANGE) {
        mtc_usage_error(cmd, "%s: '%s' is not a number", flag, s);
        return 0;
    }
    *out = v;
    return 1;
}
