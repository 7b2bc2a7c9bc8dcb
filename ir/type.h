/* type.h - dtypes, shapes and broadcasting. */
#ifndef MT_IR_TYPE_H
#define MT_IR_TYPE_H

#include <stddef.h>

#include "mtc/mtc.h"

/* Largest element count a type may have: keeps byte counts (x 8) and index arithmetic far
 * from int64 overflow. */
#define MT_MAX_NUMEL (INT64_C(1) << 40)

int mt_type_equal(const mt_type *a, const mt_type *b);
/* "f32[2,3]" into buf; returns buf. 64 bytes always suffice. */
char *mt_type_str(const mt_type *t, char *buf, size_t size);
#define MT_TYPE_STR_MAX 160
/* Row-major element strides of t. */
void mt_type_strides(const mt_type *t, int64_t *strides);
/* NumPy broadcast of a and b (same dtype expected); 0 when they do not broadcast. */
int mt_broadcast_shapes(const mt_type *a, const mt_type *b, mt_type *out);
/* Strides for reading `in` while iterating over `out` when `in` broadcasts to `out`:
 * 0 on stretched axes, aligned from the right; out->rank entries. */
void mt_broadcast_strides(const mt_type *in, const mt_type *out, int64_t *strides);
/* Normalizes axis k (negative counts from the end) for rank r; -1 when out of range. */
int mt_axis(int64_t k, int rank);

#endif
