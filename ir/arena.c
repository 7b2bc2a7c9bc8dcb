/* arena.c - a list of chunks; big requests get a chunk of their own. */
#include "ir/arena.h"

#include <string.h>

#include "ir/alloc.h"

#define CHUNK 16384

struct mt_arena_chunk {
    mt_arena_chunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

void mt_arena_init(mt_arena *a) { a->head = NULL; }

void mt_arena_fini(mt_arena *a)
{
    mt_arena_chunk *c = a->head;
    while (c) {
        mt_arena_chunk *next = c->next;
        mt_free(c);
        c = next;
    }
    a->head = NULL;
}

void *mt_arena_alloc(mt_arena *a, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    if (size == 0)
        size = 16;
    mt_arena_chunk *c = a->head;
    if (!c || c->cap - c->used < size) {
        size_t cap = size > CHUNK ? size : CHUNK;
        mt_arena_chunk *n = mt_malloc(sizeof *n + cap);
        if (!n)
            return NULL;
        n->used = 0;
        n->cap = cap;
        if (c && size > CHUNK) {
            /* Keep filling the current chunk: slip the big one in behind it. */
            n->next = c->next;
            c->next = n;
        } else {
            n->next = c;
            a->head = n;
        }
        c = n;
    }
    void *p = c->data + c->used;
    c->used += size;
    memset(p, 0, size);
    return p;
}

char *mt_arena_strndup(mt_arena *a, const char *s, size_t n)
{
    char *r = mt_arena_alloc(a, n + 1);
    if (r)
        memcpy(r, s, n);
    return r;
}

char *mt_arena_strdup(mt_arena *a, const char *s) { return mt_arena_strndup(a, s, strlen(s)); }
