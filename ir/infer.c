/* infer.c - shape inference: the result type of every op from its operands and attributes.
 *
 * This is the single place where SPEC section 2's shape rules live; the parser, the builder
 * and every pass go through it (via mt_graph_add), so no graph with an ill-typed node exists.
 */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ir/graph.h"

static mt_status fail(mt_status st, char *msg, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static mt_status fail(mt_status st, char *msg, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, size, fmt, ap);
    va_end(ap);
    return st;
}

#define FAIL(st, ...) return fail(st, msg, msgsize, __VA_ARGS__)
#define TS(t, buf) mt_type_str((t), (buf), sizeof(buf))

static mt_status check_numel(const char *op, const mt_type *t, char *msg, size_t msgsize)
{
    char a[MT_TYPE_STR_MAX];
    if (t->rank < 0 || t->rank > MT_MAX_RANK)
        FAIL(MT_ERR_SHAPE, "%s: rank %d is over the maximum of %d", op, t->rank, MT_MAX_RANK);
    for (int i = 0; i < t->rank; i++)
        if (t->dims[i] <= 0)
            FAIL(MT_ERR_SHAPE, "%s: dims must be positive, got %s", op, TS(t, a));
    if (mt_type_numel(t) < 0)
        FAIL(MT_ERR_SHAPE, "%s: %s has too many elements", op, TS(t, a));
    return MT_OK;
}

static mt_status infer_contract(mt_op op, const mt_type *const *in, mt_attrs *at, mt_type *out,
                                char *msg, size_t msgsize)
{
    const char *name = mt_op_name(op);
    const mt_type *a = in[0], *b = in[1];
    char sa[MT_TYPE_STR_MAX], sb[MT_TYPE_STR_MAX];
    memset(out, 0, sizeof *out);
    out->dtype = a->dtype;
    if (op == MT_OP_MATMUL) {
        if (a->rank < 2 || b->rank < 2)
            FAIL(MT_ERR_SHAPE, "matmul: operands must have rank >= 2, got %s and %s", TS(a, sa),
                 TS(b, sb));
        if (a->dims[a->rank - 1] != b->dims[b->rank - 2])
            FAIL(MT_ERR_SHAPE, "matmul: inner dims of %s and %s differ", TS(a, sa), TS(b, sb));
        mt_type ba = *a, bb = *b, bo;
        ba.rank -= 2;
        bb.rank -= 2;
        if (!mt_broadcast_shapes(&ba, &bb, &bo))
            FAIL(MT_ERR_SHAPE, "matmul: batch dims of %s and %s do not broadcast", TS(a, sa),
                 TS(b, sb));
        *out = bo;
        out->dims[out->rank++] = a->dims[a->rank - 2];
        out->dims[out->rank++] = b->dims[b->rank - 1];
        return MT_OK;
    }
    int sp = op == MT_OP_CONV1D ? 1 : 2; /* spatial dims */
    if (a->rank != sp + 2 || b->rank != sp + 2)
        FAIL(MT_ERR_SHAPE, "%s: expected x of rank %d and w of rank %d, got %s and %s", name,
             sp + 2, sp + 2, TS(a, sa), TS(b, sb));
    if (a->dims[1] != b->dims[1])
        FAIL(MT_ERR_SHAPE, "%s: input channels of %s and %s differ", name, TS(a, sa), TS(b, sb));
    out->rank = sp + 2;
    out->dims[0] = a->dims[0];
    out->dims[1] = b->dims[0];
    for (int i = 0; i < sp; i++) {
        int64_t s = at->stride[i], p = at->padding[i], k = b->dims[2 + i], l = a->dims[2 + i];
        if (s < 1 || s > MT_MAX_NUMEL)
            FAIL(MT_ERR_SHAPE, "%s: stride must be >= 1, got %lld", name, (long long)s);
        if (p < 0 || p > MT_MAX_NUMEL)
            FAIL(MT_ERR_SHAPE, "%s: padding must be >= 0, got %lld", name, (long long)p);
        if (l + 2 * p < k)
            FAIL(MT_ERR_SHAPE, "%s: kernel %s is larger than the padded input %s", name, TS(b, sb),
                 TS(a, sa));
        out->dims[2 + i] = (l + 2 * p - k) / s + 1;
    }
    if (sp == 1) { /* conv1d has scalar stride and padding: keep the unused slot canonical */
        at->stride[1] = 1;
        at->padding[1] = 0;
    }
    return MT_OK;
}

static mt_status infer_move(mt_op op, const mt_type *const *in, int nin, mt_attrs *at, mt_type *out,
                            char *msg, size_t msgsize)
{
    const char *name = mt_op_name(op);
    const mt_type *x = in[0];
    char sx[MT_TYPE_STR_MAX];
    *out = *x;
    switch (op) {
    case MT_OP_RESHAPE: {
        mt_ilist *s = &at->shape;
        if (s->n > MT_MAX_RANK)
            FAIL(MT_ERR_SHAPE, "reshape: rank %d is over the maximum of %d", s->n, MT_MAX_RANK);
        int hole = -1;
        int64_t known = 1;
        for (int i = 0; i < s->n; i++) {
            if (s->v[i] == -1) {
                if (hole >= 0)
                    FAIL(MT_ERR_SHAPE, "reshape: only one -1 is allowed");
                hole = i;
            } else if (s->v[i] <= 0) {
                FAIL(MT_ERR_SHAPE, "reshape: dims must be positive or -1, got %lld",
                     (long long)s->v[i]);
            } else if (known > MT_MAX_NUMEL / s->v[i]) {
                FAIL(MT_ERR_SHAPE, "reshape: shape has too many elements");
            } else {
                known *= s->v[i];
            }
        }
        int64_t n = mt_type_numel(x);
        if (hole >= 0) {
            if (n % known != 0)
                FAIL(MT_ERR_SHAPE, "reshape: cannot infer -1 for %s", TS(x, sx));
            s->v[hole] = n / known;
            known = n;
        }
        if (known != n)
            FAIL(MT_ERR_SHAPE, "reshape: %s has %lld elements but the shape has %lld", TS(x, sx),
                 (long long)n, (long long)known);
        out->rank = s->n;
        for (int i = 0; i < s->n; i++)
            out->dims[i] = s->v[i];
        return MT_OK;
    }
    case MT_OP_PERMUTE: {
        const mt_ilist *p = &at->perm;
        if (p->n != x->rank)
            FAIL(MT_ERR_SHAPE, "permute: perm has %d entries for %s", p->n, TS(x, sx));
        int seen[MT_MAX_RANK] = {0};
        for (int i = 0; i < p->n; i++) {
            if (p->v[i] < 0 || p->v[i] >= x->rank || seen[p->v[i]]++)
                FAIL(MT_ERR_SHAPE, "permute: perm is not a permutation of 0..%d", x->rank - 1);
            out->dims[i] = x->dims[p->v[i]];
        }
        return MT_OK;
    }
    case MT_OP_EXPAND: {
        const mt_ilist *s = &at->shape;
        if (s->n > MT_MAX_RANK || s->n < x->rank)
            FAIL(MT_ERR_SHAPE, "expand: cannot expand %s to rank %d", TS(x, sx), s->n);
        out->rank = s->n;
        for (int i = 0; i < s->n; i++) {
            int j = x->rank - s->n + i;
            if (s->v[i] <= 0)
                FAIL(MT_ERR_SHAPE, "expand: dims must be positive, got %lld", (long long)s->v[i]);
            if (j >= 0 && x->dims[j] != 1 && x->dims[j] != s->v[i])
                FAIL(MT_ERR_SHAPE, "expand: %s does not broadcast to the shape (axis %d)",
                     TS(x, sx), i);
            out->dims[i] = s->v[i];
        }
        return check_numel(name, out, msg, msgsize);
    }
    case MT_OP_SLICE: {
        mt_ilist *st = &at->start, *en = &at->end;
        if (st->n != x->rank || en->n != x->rank)
            FAIL(MT_ERR_SHAPE, "slice: start and end need %d entries each for %s", x->rank,
                 TS(x, sx));
        for (int i = 0; i < x->rank; i++) {
            int64_t d = x->dims[i];
            /* Negative indices count from the end, as in Python; stored normalized. */
            if (st->v[i] < 0 && st->v[i] >= -d)
                st->v[i] += d;
            if (en->v[i] < 0 && en->v[i] >= -d)
                en->v[i] += d;
            if (st->v[i] < 0 || en->v[i] > d || st->v[i] >= en->v[i])
                FAIL(MT_ERR_SHAPE, "slice: axis %d range [%lld,%lld) is empty or outside %s", i,
                     (long long)st->v[i], (long long)en->v[i], TS(x, sx));
            out->dims[i] = en->v[i] - st->v[i];
        }
        return MT_OK;
    }
    case MT_OP_PAD: {
        const mt_ilist *p = &at->pads;
        if (p->n != 2 * x->rank)
            FAIL(MT_ERR_SHAPE, "pad: pads needs %d entries for %s", 2 * x->rank, TS(x, sx));
        for (int i = 0; i < x->rank; i++) {
            int64_t b = p->v[2 * i], a = p->v[2 * i + 1];
            if (b < 0 || a < 0 || b > MT_MAX_NUMEL || a > MT_MAX_NUMEL)
                FAIL(MT_ERR_SHAPE, "pad: pads must be >= 0");
            out->dims[i] = x->dims[i] + b + a;
        }
        return check_numel(name, out, msg, msgsize);
    }
    case MT_OP_CONCAT: {
        int k = mt_axis(at->dim, x->rank);
        if (at->dim == MT_DIM_ALL)
            FAIL(MT_ERR_SHAPE, "concat: dim is required");
        if (k < 0)
            FAIL(MT_ERR_SHAPE, "concat: dim %lld is out of range for %s", (long long)at->dim,
                 TS(x, sx));
        for (int i = 1; i < nin; i++) {
            const mt_type *y = in[i];
            char sy[MT_TYPE_STR_MAX];
            if (y->rank != x->rank)
                FAIL(MT_ERR_SHAPE, "concat: ranks of %s and %s differ", TS(x, sx), TS(y, sy));
            for (int j = 0; j < x->rank; j++)
                if (j != k && y->dims[j] != x->dims[j])
                    FAIL(MT_ERR_SHAPE, "concat: %s and %s differ off axis %d", TS(x, sx), TS(y, sy),
                         k);
            out->dims[k] += y->dims[k];
        }
        return check_numel(name, out, msg, msgsize);
    }
    default: FAIL(MT_ERR_INTERNAL, "%s: not a movement op", name);
    }
}

static mt_status infer(mt_op op, const mt_type *const *in, int nin, mt_attrs *at,
                       const mt_type *declared, mt_type *out, char *msg, size_t msgsize)
{
    const char *name = mt_op_name(op);
    char sa[MT_TYPE_STR_MAX], sb[MT_TYPE_STR_MAX];
    for (int i = 1; i < nin; i++)
        if (in[i]->dtype != in[0]->dtype)
            FAIL(MT_ERR_TYPE, "%s: operand dtypes %s and %s differ", name,
                 mt_dtype_name(in[0]->dtype), mt_dtype_name(in[i]->dtype));
    memset(out, 0, sizeof *out);
    unsigned f = mt_op_get(op)->flags;

    if (f & MT_F_SOURCE) {
        if (!declared)
            FAIL(MT_ERR_TYPE, "%s: the result type is required", name);
        if (op == MT_OP_RAND && at->seed < 0)
            FAIL(MT_ERR_SHAPE, "rand: seed must be >= 0");
        /* The step counter picks the stream: one number, in the result's dtype. */
        if (op == MT_OP_RAND && nin == 1 && (in[0]->rank != 0 || in[0]->dtype != declared->dtype))
            FAIL(MT_ERR_TYPE, "rand: the step counter must be %s[], got %s",
                 mt_dtype_name(declared->dtype), TS(in[0], sa));
        /* An f32 tensor holds the f32 nearest to `value`: keep exactly that, so the printer can
         * print it in its shortest f32 form and the text reads back to the same graph. */
        if (op == MT_OP_CONST && declared->dtype == MT_DTYPE_F32 && fabs(at->value) <= FLT_MAX)
            at->value = (double)(float)at->value;
        *out = *declared;
        return check_numel(name, out, msg, msgsize);
    }
    if (f & (MT_F_UNARY | MT_F_COLLECTIVE)) {
        *out = *in[0];
        return MT_OK;
    }
    if (f & (MT_F_BINARY | MT_F_TERNARY)) {
        *out = *in[0];
        for (int i = 1; i < nin; i++) {
            mt_type r;
            if (!mt_broadcast_shapes(out, in[i], &r))
                FAIL(MT_ERR_SHAPE, "%s: shapes %s and %s do not broadcast", name, TS(out, sa),
                     TS(in[i], sb));
            *out = r;
        }
        return MT_OK;
    }
    if (f & MT_F_REDUCE) {
        const mt_type *x = in[0];
        if (at->dim == MT_DIM_ALL) {
            out->dtype = x->dtype;
            out->rank = 0;
            return MT_OK;
        }
        int k = mt_axis(at->dim, x->rank);
        if (k < 0)
            FAIL(MT_ERR_SHAPE, "%s: dim %lld is out of range for %s", name, (long long)at->dim,
                 TS(x, sa));
        *out = *x;
        out->dims[k] = 1;
        return MT_OK;
    }
    if (f & MT_F_MOVE)
        return infer_move(op, in, nin, at, out, msg, msgsize);
    if (f & MT_F_CONTRACT)
        return infer_contract(op, in, at, out, msg, msgsize);
    if (f & MT_F_POOL) {
        const mt_type *x = in[0];
        if (x->rank != 4)
            FAIL(MT_ERR_SHAPE, "%s: expected x of rank 4, got %s", name, TS(x, sa));
        *out = *x;
        for (int i = 0; i < 2; i++) {
            if (at->kernel[i] < 1)
                FAIL(MT_ERR_SHAPE, "%s: kernel must be >= 1", name);
            if (at->kernel[i] > x->dims[2 + i])
                FAIL(MT_ERR_SHAPE, "%s: kernel [%lld,%lld] is larger than %s", name,
                     (long long)at->kernel[0], (long long)at->kernel[1], TS(x, sa));
            out->dims[2 + i] = x->dims[2 + i] / at->kernel[i];
        }
        return MT_OK;
    }
    FAIL(MT_ERR_INTERNAL, "%s: no shape rule", name);
}

mt_status mt_infer_type(mt_op op, const mt_type *const *in, int nin, mt_attrs *at,
                        const mt_type *declared, mt_type *out, char *msg, size_t msgsize)
{
    mt_status st = infer(op, in, nin, at, declared, out, msg, msgsize);
    /* Every rule's result obeys the same size limit as a declared type (padding, conv and
     * concat can grow a value past it), so no later stage sees an overflowing count. */
    if (st == MT_OK)
        st = check_numel(mt_op_name(op), out, msg, msgsize);
    return st;
}
