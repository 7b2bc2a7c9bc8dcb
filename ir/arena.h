/* arena.h - bump allocation for everything a graph owns; freed all at once. */
#ifndef MT_IR_ARENA_H
#define MT_IR_ARENA_H

#include <stddef.h>

typedef struct mt_arena_chunk mt_arena_chunk;

typedef struct mt_arena {
    mt_arena_chunk *head;
} mt_arena;

void mt_arena_init(mt_arena *a);
void mt_arena_fini(mt_arena *a);
/* 16-byte aligned, zeroed; NULL when out of memory. */
void *mt_arena_alloc(mt_arena *a, size_t size);
char *mt_arena_strndup(mt_arena *a, const char *s, size_t n);
char *mt_arena_strdup(mt_arena *a, const char *s);

#endif
