/* cli.c - helpers shared by the subcommands: error printing and argument lists. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>

#include "ir/alloc.h"
#include "runtime/outfile.h"
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

int mtc_write_text(const char *path, const char *text, mt_diag *d)
{
    mt_span all = {text, strlen(text)};
    return mt_outfile_write(path, &all, 1, d) == MT_OK;
}

int mtc_close_stdout(int rc)
{
    /* stdio keeps what it could not write and tries again at fclose, so fclose's errno is the
     * reason even when the first failure was long ago. A stdout closed by the shell (>&-) is
     * no error for a command that wrote nothing to it (as gnulib's close_stdout has it). */
    int pending = __fpending(stdout) != 0, failed = ferror(stdout);
    errno = 0;
    int close_failed = fclose(stdout) != 0;
    if (!failed && (!close_failed || (!pending && errno == EBADF)))
        return rc;
    mt_diag d;
    mt_diag_init(&d);
    if (close_failed && errno)
        mt_diag_set_at(&d, MT_ERR_IO, "<stdout>", 0, 0, "write failed: %s", strerror(errno));
    else
        mt_diag_set_at(&d, MT_ERR_IO, "<stdout>", 0, 0,
                       "write failed: an earlier write failed and its reason is lost");
    mtc_fail(&d);
    mt_diag_fini(&d);
    return rc ? rc : 1;
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

int mtc_wrt_ids(const mt_graph *g, const char *list, const char *file, int **ids, int *n,
                mt_diag *d)
{
    *ids = NULL;
    *n = 0;
    if (!list)
        return 1;
    int cap = mt_graph_nnodes(g) + 1;
    *ids = mt_calloc((size_t)cap, sizeof **ids);
    if (!*ids) {
        mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
        return 0;
    }
    *n = mtc_value_list(g, list, *ids, cap, d);
    if (*n > 0)
        return 1;
    char msg[MT_DIAG_MSG];
    memcpy(msg, d->msg, sizeof msg);
    if (*n == 0)
        mt_diag_set(d, MT_ERR_ARG, "no values given");
    snprintf(d->msg, sizeof d->msg, "--wrt: %.400s", *n ? msg : "no values given");
    if (file)
        snprintf(d->file, sizeof d->file, "%s", file);
    mt_free(*ids);
    *ids = NULL;
    *n = 0;
    return 0;
}

int mtc_write_graph(const char *path, const mt_graph *g, mt_diag *d)
{
    char *text = mt_graph_print(g);
    if (!text) {
        mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
        return 0;
    }
    int ok = mtc_write_text(path, text, d);
    mt_free(text);
    return ok;
}
