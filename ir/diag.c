/* diag.c - errors as values: the first error wins and carries its location. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ir/alloc.h"
#include "mtc/mtc.h"

void mt_diag_init(mt_diag *d)
{
    memset(d, 0, sizeof *d);
    d->node = -1;
}

void mt_diag_fini(mt_diag *d)
{
    mt_free(d->log);
    d->log = NULL;
}

static mt_status vset(mt_diag *d, mt_status st, const char *file, int line, int col,
                      const char *fmt, va_list ap)
{
    if (!d || d->status != MT_OK)
        return st;
    d->status = st;
    snprintf(d->file, sizeof d->file, "%s", file ? file : "");
    d->line = line;
    d->col = col;
    vsnprintf(d->msg, sizeof d->msg, fmt, ap);
    /* Messages are one line: a stray newline from a backend would break "file:line: msg". */
    for (char *p = d->msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return st;
}

mt_status mt_diag_set(mt_diag *d, mt_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset(d, st, NULL, 0, 0, fmt, ap);
    va_end(ap);
    return st;
}

mt_status mt_diag_set_at(mt_diag *d, mt_status st, const char *file, int line, int col,
                         const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset(d, st, file, line, col, fmt, ap);
    va_end(ap);
    return st;
}

void mt_diag_format(const mt_diag *d, char *buf, size_t size)
{
    if (d->file[0] && d->line > 0)
        snprintf(buf, size, "%s:%d:%d: %s", d->file, d->line, d->col, d->msg);
    else if (d->file[0])
        snprintf(buf, size, "%s: %s", d->file, d->msg);
    else
        snprintf(buf, size, "%s", d->msg);
}

const char *mt_status_name(mt_status st)
{
    switch (st) {
    case MT_OK: return "ok";
    case MT_ERR_PARSE: return "parse error";
    case MT_ERR_SHAPE: return "shape error";
    case MT_ERR_TYPE: return "type error";
    case MT_ERR_UNSUPPORTED: return "unsupported";
    case MT_ERR_BACKEND: return "backend error";
    case MT_ERR_NOMEM: return "out of memory";
    case MT_ERR_IO: return "i/o error";
    case MT_ERR_ARG: return "bad argument";
    case MT_ERR_INTERNAL: return "internal error";
    }
    return "?";
}
