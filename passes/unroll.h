/* unroll.h - tiny reduction loops unrolled (unroll.c). */
#ifndef MT_PASSES_UNROLL_H
#define MT_PASSES_UNROLL_H

#include "ir/kernel.h"

/* Replaces every reduction loop of p of at most `max_trip` iterations whose body holds no
 * other loop (after its own inner loops are unrolled) by one copy of its body per iteration,
 * in order, each in a loop of one iteration with the variable replaced by its value. */
mt_status mt_unroll_reductions(mt_kprog *p, int64_t max_trip, mt_diag *d);

#endif
