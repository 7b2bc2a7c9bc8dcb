/* cli.c - helpers shared by the subcommands: error printing and argument lists. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
