/* alloc.h - the library's one allocator hook, used by every layer.
 *
 * All allocations go through mt_realloc so a test can install an allocator that fails the
 * n-th call and check that every error path returns MT_ERR_NOMEM cleanly.
 */
#ifndef MT_IR_ALLOC_H
#define MT_IR_ALLOC_H

#include <stddef.h>

#include "mtc/mtc.h"

void *mt_malloc(size_t size);
void *mt_calloc(size_t n, size_t size); /* NULL on overflow of n * size, too */
void *mt_realloc(void *p, size_t size);
char *mt_strdup(const char *s);
char *mt_strndup(const char *s, size_t n);

/* A growable string for printers. On allocation failure it sets `oom` and stops growing;
 * mt_buf_take then returns NULL. */
typedef struct mt_buf {
    char *data;
    size_t len, cap;
    int oom;
} mt_buf;

void mt_buf_printf(mt_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mt_buf_puts(mt_buf *b, const char *s);
char *mt_buf_take(mt_buf *b); /* the string (owned by the caller) or NULL */
void mt_buf_fini(mt_buf *b);

#endif
