/* alloc.c - the allocator hook and the growable string buffer. */
#include "ir/alloc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *libc_realloc(void *ctx, void *p, size_t size)
{
    (void)ctx;
    if (size == 0) {
        free(p);
        return NULL;
    }
    return realloc(p, size);
}

static mt_allocator current = {libc_realloc, NULL};

void mt_set_allocator(const mt_allocator *a)
{
    if (a)
        current = *a;
    else
        current = (mt_allocator){libc_realloc, NULL};
}

void *mt_realloc(void *p, size_t size)
{
    if (size == 0)
        size = 1; /* a zero-size request is still a live allocation for the caller */
    return current.realloc(current.ctx, p, size);
}

void *mt_malloc(size_t size) { return mt_realloc(NULL, size); }

void *mt_calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = mt_malloc(n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void mt_free(void *p)
{
    if (p)
        current.realloc(current.ctx, p, 0);
}

char *mt_strndup(const char *s, size_t n)
{
    char *r = mt_malloc(n + 1);
    if (!r)
        return NULL;
    memcpy(r, s, n);
    r[n] = 0;
    return r;
}

char *mt_strdup(const char *s) { return mt_strndup(s, strlen(s)); }

static int buf_reserve(mt_buf *b, size_t extra)
{
    if (b->oom)
        return 0;
    if (b->len + extra + 1 <= b->cap)
        return 1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *d = mt_realloc(b->data, cap);
    if (!d) {
        b->oom = 1;
        return 0;
    }
    b->data = d;
    b->cap = cap;
    return 1;
}

void mt_buf_printf(mt_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0 || !buf_reserve(b, (size_t)n))
        return;
    if ((size_t)n < sizeof small) {
        memcpy(b->data + b->len, small, (size_t)n + 1);
    } else {
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

void mt_buf_puts(mt_buf *b, const char *s)
{
    size_t n = strlen(s);
    if (!buf_reserve(b, n))
        return;
    memcpy(b->data + b->len, s, n + 1);
    b->len += n;
}

char *mt_buf_take(mt_buf *b)
{
    if (b->oom || !buf_reserve(b, 0)) {
        mt_buf_fini(b);
        return NULL;
    }
    b->data[b->len] = 0;
    char *s = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}

void mt_buf_fini(mt_buf *b)
{
    mt_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}
