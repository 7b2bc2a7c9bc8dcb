/* memplan.h - memory planning for a kernel program (passes/memplan.c). */
#ifndef MT_PASSES_MEMPLAN_H
#define MT_PASSES_MEMPLAN_H

#include "ir/kernel.h"

/* Every byte offset in the arena is a multiple of this: whole cache lines, and aligned for
 * any vector load. */
#define MT_ARENA_ALIGN 64

/* Gives every temporary buffer of p an offset in one arena (p->arena_bytes long), reusing
 * the memory of buffers whose last reader has run, and computing a kernel in place over an
 * operand it replaces element for element. Sets MT_KACC_NOALIAS on every buffer of a kernel
 * that no other buffer of that kernel overlaps. Fills p->temp_bytes and p->ninplace. */
mt_status mt_memplan(mt_kprog *p, mt_diag *d);

#endif
