/* type.c - dtypes, shapes and NumPy broadcasting. */
#include "ir/type.h"

#include <stdio.h>
#include <string.h>

size_t mt_dtype_size(mt_dtype dt) { return dt == MT_DTYPE_F64 ? 8 : 4; }

const char *mt_dtype_name(mt_dtype dt) { return dt == MT_DTYPE_F64 ? "f64" : "f32"; }

mt_type mt_type_make(mt_dtype dt, int rank, const int64_t *dims)
{
    mt_type t;
    memset(&t, 0, sizeof t);
    t.dtype = dt;
    t.rank = rank;
    for (int i = 0; i < rank && i < MT_MAX_RANK; i++)
        t.dims[i] = dims[i];
    return t;
}

int64_t mt_type_numel(const mt_type *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++) {
        if (t->dims[i] <= 0 || n > MT_MAX_NUMEL / t->dims[i])
            return -1;
        n *= t->dims[i];
    }
    return n;
}

int mt_type_equal(const mt_type *a, const mt_type *b)
{
    if (a->dtype != b->dtype || a->rank != b->rank)
        return 0;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i])
            return 0;
    return 1;
}

char *mt_type_str(const mt_type *t, char *buf, size_t size)
{
    size_t n = (size_t)snprintf(buf, size, "%s[", mt_dtype_name(t->dtype));
    for (int i = 0; i < t->rank && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%lld", i ? "," : "", (long long)t->dims[i]);
    if (n < size)
        snprintf(buf + n, size - n, "]");
    return buf;
}

void mt_type_strides(const mt_type *t, int64_t *strides)
{
    int64_t s = 1;
    for (int i = t->rank - 1; i >= 0; i--) {
        strides[i] = s;
        s *= t->dims[i];
    }
}

int mt_broadcast_shapes(const mt_type *a, const mt_type *b, mt_type *out)
{
    mt_type r;
    memset(&r, 0, sizeof r);
    r.dtype = a->dtype;
    r.rank = a->rank > b->rank ? a->rank : b->rank;
    for (int i = 0; i < r.rank; i++) {
        int ia = a->rank - r.rank + i, ib = b->rank - r.rank + i;
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return 0;
        r.dims[i] = da == 1 ? db : da;
    }
    *out = r;
    return 1;
}

void mt_broadcast_strides(const mt_type *in, const mt_type *out, int64_t *strides)
{
    int64_t own[MT_MAX_RANK];
    mt_type_strides(in, own);
    for (int i = 0; i < out->rank; i++) {
        int j = in->rank - out->rank + i;
        strides[i] = (j < 0 || in->dims[j] == 1) ? 0 : own[j];
    }
}

int mt_axis(int64_t k, int rank)
{
    if (k < -rank || k >= rank)
        return -1;
    return (int)(k < 0 ? k + rank : k);
}
