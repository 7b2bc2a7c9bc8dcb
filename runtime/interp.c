/* interp.c - the reference interpreter: the numeric oracle for every backend (STYLE.md, 7).
 *
 * Every op of SPEC section 2 is one static function of plain loops over dense row-major
 * buffers. Nothing here is fast on purpose: the code should read like the spec.
 *
 * Numerics: an element is read as a double whatever its dtype, the op is computed in double,
 * and the result is rounded once to the node's dtype when it is stored (reductions, matmul
 * and conv accumulate in double and round the final sum). So an f32 result is the correctly
 * rounded f32 of the double computation, at least as accurate as any backend it checks.
 *
 * Shapes: the result type of every node is already on the node (ir/infer.c computed it); the
 * interpreter allocates that type and trusts it. mt_interp_node re-runs shape inference on its
 * operands only to refuse tensors that do not fit the node, so no misuse reads out of bounds.
 */
#include "runtime/interp.h"

#include <math.h>
#include <string.h>

#include "ir/alloc.h"
#include "runtime/collective.h"
#include "runtime/philox.h"

/* ---- element access ------------------------------------------------------------------- */

static double get(const mt_tensor *t, int64_t i)
{
    if (t->type.dtype == MT_DTYPE_F32)
        return ((const float *)t->data)[i];
    return ((const double *)t->data)[i];
}

/* The one rounding step of an op's result. */
static void put(mt_tensor *t, int64_t i, double v)
{
    if (t->type.dtype == MT_DTYPE_F32)
        ((float *)t->data)[i] = (float)v;
    else
        ((double *)t->data)[i] = v;
}

static int64_t numel(const mt_tensor *t) { return mt_type_numel(&t->type); }

/* ---- strided walks -------------------------------------------------------------------- */

/* A walk visits every multi-index of a shape in row-major order and keeps, for each of up to
 * WALK_MAX tensors, the flat offset of that index under the tensor's own per-axis strides.
 * Broadcasting (stride 0), permutation (permuted strides), slicing (a base offset) and writing
 * into a sub-block of a larger tensor (the larger tensor's strides) are all just strides. */
#define WALK_MAX 4

typedef struct walk {
    int rank, n;
    int64_t dims[MT_MAX_RANK];
    int64_t idx[MT_MAX_RANK];
    int64_t strides[WALK_MAX][MT_MAX_RANK];
    int64_t off[WALK_MAX];
} walk;

static void walk_init(walk *w, const mt_type *shape)
{
    memset(w, 0, sizeof *w);
    w->rank = shape->rank;
    for (int i = 0; i < shape->rank; i++)
        w->dims[i] = shape->dims[i];
}

/* Adds a tensor read or written at `base + sum(idx[i] * strides[i])`; returns its slot. */
static int walk_add(walk *w, const int64_t *strides, int64_t base)
{
    int k = w->n++;
    for (int i = 0; i < w->rank; i++)
        w->strides[k][i] = strides[i];
    w->off[k] = base;
    return k;
}

/* Steps to the next multi-index like an odometer: the last axis moves fastest. */
static void walk_next(walk *w)
{
    for (int ax = w->rank - 1; ax >= 0; ax--) {
        w->idx[ax]++;
        for (int k = 0; k < w->n; k++)
            w->off[k] += w->strides[k][ax];
        if (w->idx[ax] < w->dims[ax])
            return;
        for (int k = 0; k < w->n; k++)
            w->off[k] -= w->strides[k][ax] * w->dims[ax];
        w->idx[ax] = 0;
    }
}

/* ---- elementwise ---------------------------------------------------------------------- */

static double sigmoid(double x)
{
    /* exp of a large positive argument overflows; pick the form whose exp argument is <= 0. */
    if (x >= 0)
        return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

static double apply_unary(mt_op op, double x)
{
    switch (op) {
    case MT_OP_NEG: return -x;
    case MT_OP_EXP: return exp(x);
    case MT_OP_LOG: return log(x);
    case MT_OP_RELU: return isnan(x) ? x : x > 0 ? x : 0.0; /* NaN propagates, as in PyTorch */
    case MT_OP_SIGMOID: return sigmoid(x);
    case MT_OP_INV: return 1.0 / x;
    case MT_OP_TANH: return tanh(x);
    case MT_OP_SQRT: return sqrt(x);
    case MT_OP_ABS: return fabs(x);
    default: return NAN; /* unreachable: eval_node dispatches on MT_F_UNARY */
    }
}

static double apply_binary(mt_op op, double a, double b)
{
    switch (op) {
    case MT_OP_ADD: return a + b;
    case MT_OP_SUB: return a - b;
    case MT_OP_MUL: return a * b;
    case MT_OP_DIV: return a / b;
    /* PyTorch's maximum/minimum propagate NaN, unlike C's fmax/fmin. */
    case MT_OP_MAXIMUM: return isnan(a) || isnan(b) ? NAN : (a > b ? a : b);
    case MT_OP_MINIMUM: return isnan(a) || isnan(b) ? NAN : (a < b ? a : b);
    case MT_OP_POW: return pow(a, b);
    case MT_OP_LT: return a < b ? 1.0 : 0.0;
    case MT_OP_GT: return a > b ? 1.0 : 0.0;
    case MT_OP_EQ: return a == b ? 1.0 : 0.0;
    default: return NAN; /* unreachable: eval_node dispatches on MT_F_BINARY */
    }
}

static void eval_unary(const mt_node *n, const mt_tensor *x, mt_tensor *out)
{
    int64_t count = numel(out);
    for (int64_t i = 0; i < count; i++)
        put(out, i, apply_unary(n->op, get(x, i)));
}

static void eval_binary(const mt_node *n, const mt_tensor *a, const mt_tensor *b, mt_tensor *out)
{
    int64_t sa[MT_MAX_RANK], sb[MT_MAX_RANK];
    mt_broadcast_strides(&a->type, &out->type, sa);
    mt_broadcast_strides(&b->type, &out->type, sb);
    walk w;
    walk_init(&w, &out->type);
    int ia = walk_add(&w, sa, 0), ib = walk_add(&w, sb, 0);
    int64_t count = numel(out);
    for (int64_t i = 0; i < count; i++, walk_next(&w))
        put(out, i, apply_binary(n->op, get(a, w.off[ia]), get(b, w.off[ib])));
}

static void eval_where(const mt_tensor *c, const mt_tensor *a, const mt_tensor *b, mt_tensor *out)
{
    int64_t sc[MT_MAX_RANK], sa[MT_MAX_RANK], sb[MT_MAX_RANK];
    mt_broadcast_strides(&c->type, &out->type, sc);
    mt_broadcast_strides(&a->type, &out->type, sa);
    mt_broadcast_strides(&b->type, &out->type, sb);
    walk w;
    walk_init(&w, &out->type);
    int ic = walk_add(&w, sc, 0), ia = walk_add(&w, sa, 0), ib = walk_add(&w, sb, 0);
    int64_t count = numel(out);
    for (int64_t i = 0; i < count; i++, walk_next(&w))
        put(out, i, get(c, w.off[ic]) != 0 ? get(a, w.off[ia]) : get(b, w.off[ib]));
}

/* ---- reductions ----------------------------------------------------------------------- */

/* x is viewed as [outer, len, inner] with the reduced axis in the middle; a full reduction is
 * the view [1, numel, 1]. Output element (o, i) sits at o * inner + i in both cases. */
static void eval_reduce(const mt_node *n, const mt_tensor *x, mt_tensor *out)
{
    int64_t outer = 1, len = numel(x), inner = 1;
    if (n->attrs->dim != MT_DIM_ALL) {
        int k = mt_axis(n->attrs->dim, x->type.rank);
        outer = 1;
        for (int i = 0; i < k; i++)
            outer *= x->type.dims[i];
        len = x->type.dims[k];
        inner = 1;
        for (int i = k + 1; i < x->type.rank; i++)
            inner *= x->type.dims[i];
    }
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t i = 0; i < inner; i++) {
            double acc = n->op == MT_OP_MAX ? -INFINITY : 0.0;
            for (int64_t j = 0; j < len; j++) {
                double v = get(x, (o * len + j) * inner + i);
                if (n->op != MT_OP_MAX)
                    acc += v;
                else if (isnan(v) || v > acc) /* NaN propagates, as in PyTorch */
                    acc = v;
            }
            if (n->op == MT_OP_MEAN)
                acc /= (double)len;
            put(out, o * inner + i, acc);
        }
    }
}

/* ---- data movement -------------------------------------------------------------------- */

/* Reshape never moves data: row-major order is the same before and after. */
static void eval_reshape(const mt_tensor *x, mt_tensor *out)
{
    memcpy(out->data, x->data, x->nbytes);
}

static void eval_permute(const mt_node *n, const mt_tensor *x, mt_tensor *out)
{
    int64_t xs[MT_MAX_RANK], read[MT_MAX_RANK];
    mt_type_strides(&x->type, xs);
    /* Moving one step along result axis i moves one step along input axis perm[i]. */
    for (int i = 0; i < out->type.rank; i++)
        read[i] = xs[n->attrs->perm.v[i]];
    walk w;
    walk_init(&w, &out->type);
    int ix = walk_add(&w, read, 0);
    int64_t count = numel(out);
    for (int64_t i = 0; i < count; i++, walk_next(&w))
        put(out, i, get(x, w.off[ix]));
}

static void eval_expand(const mt_tensor *x, mt_tensor *out)
{
    int64_t read[MT_MAX_RANK];
    mt_broadcast_strides(&x->type, &out->type, read);
    walk w;
    walk_init(&w, &out->type);
    int ix = walk_add(&w, read, 0);
    int64_t count = numel(out);
    for (int64_t i = 0; i < count; i++, walk_next(&w))
        put(out, i, get(x, w.off[ix]));
}

static void eval_slice(const mt_node *n, const mt_tensor *x, mt_tensor *out)
{
    int64_t xs[MT_MAX_RANK], base = 0;
    mt_type_strides(&x->type, xs);
    for (int i = 0; i < x->type.rank; i++)
        base += n->attrs->start.v[i] * xs[i];
    walk w;
    walk_init(&w, &out->type);
    int ix = walk_add(&w, xs, base);
    int64_t count = numel(out);
    for (int64_t i = 0; i < count; i++, walk_next(&w))
        put(out, i, get(x, w.off[ix]));
}

/* Walks x and writes each element into out at the same index shifted by the `before` pads;
 * the rest of out keeps the zeros mt_tensor_new put there. */
static void eval_pad(const mt_node *n, const mt_tensor *x, mt_tensor *out)
{
    int64_t os[MT_MAX_RANK], base = 0;
    mt_type_strides(&out->type, os);
    for (int i = 0; i < x->type.rank; i++)
        base += n->attrs->pads.v[2 * i] * os[i];
    walk w;
    walk_init(&w, &x->type);
    int io = walk_add(&w, os, base);
    int64_t count = numel(x);
    for (int64_t i = 0; i < count; i++, walk_next(&w))
        put(out, w.off[io], get(x, i));
}

/* Each operand is a block of out starting at the running offset along axis k. */
static void eval_concat(const mt_node *n, const mt_tensor *const *in, mt_tensor *out)
{
    int k = mt_axis(n->attrs->dim, out->type.rank);
    int64_t os[MT_MAX_RANK], at = 0;
    mt_type_strides(&out->type, os);
    for (int j = 0; j < n->nin; j++) {
        const mt_tensor *x = in[j];
        walk w;
        walk_init(&w, &x->type);
        int io = walk_add(&w, os, at * os[k]);
        int64_t count = numel(x);
        for (int64_t i = 0; i < count; i++, walk_next(&w))
            put(out, w.off[io], get(x, i));
        at += x->type.dims[k];
    }
}

/* ---- contractions --------------------------------------------------------------------- */

/* a[..., M, K] @ b[..., K, N] -> out[..., M, N]; the batch dims broadcast like any
 * elementwise op, counted in whole matrices. */
static void eval_matmul(const mt_tensor *a, const mt_tensor *b, mt_tensor *out)
{
    const mt_type *ta = &a->type, *tb = &b->type, *to = &out->type;
    int64_t M = ta->dims[ta->rank - 2], K = ta->dims[ta->rank - 1], N = tb->dims[tb->rank - 1];
    mt_type ba = *ta, bb = *tb, bo = *to;
    ba.rank -= 2;
    bb.rank -= 2;
    bo.rank -= 2;
    int64_t sa[MT_MAX_RANK], sb[MT_MAX_RANK], so[MT_MAX_RANK];
    mt_broadcast_strides(&ba, &bo, sa);
    mt_broadcast_strides(&bb, &bo, sb);
    mt_type_strides(&bo, so);
    for (int i = 0; i < bo.rank; i++) {
        sa[i] *= M * K;
        sb[i] *= K * N;
        so[i] *= M * N;
    }
    walk w;
    walk_init(&w, &bo);
    int ia = walk_add(&w, sa, 0), ib = walk_add(&w, sb, 0), io = walk_add(&w, so, 0);
    int64_t batches = mt_type_numel(&bo);
    for (int64_t t = 0; t < batches; t++, walk_next(&w)) {
        for (int64_t m = 0; m < M; m++) {
            for (int64_t j = 0; j < N; j++) {
                double acc = 0.0;
                for (int64_t k = 0; k < K; k++)
                    acc += get(a, w.off[ia] + m * K + k) * get(b, w.off[ib] + k * N + j);
                put(out, w.off[io] + m * N + j, acc);
            }
        }
    }
}

/* The geometry of a 2-d convolution; conv1d is the case H = KH = 1. */
typedef struct conv_shape {
    int64_t N, C, H, W; /* x */
    int64_t O, KH, KW;  /* w is [O, C, KH, KW] */
    int64_t OH, OW;     /* out is [N, O, OH, OW] */
    int64_t sh, sw, ph, pw;
} conv_shape;

/* Cross-correlation, as PyTorch's F.conv2d without bias: taps that land in the zero padding
 * contribute nothing and are skipped. */
static void conv_loops(const conv_shape *s, const mt_tensor *x, const mt_tensor *w, mt_tensor *out)
{
    for (int64_t n = 0; n < s->N; n++)
        for (int64_t o = 0; o < s->O; o++)
            for (int64_t oh = 0; oh < s->OH; oh++)
                for (int64_t ow = 0; ow < s->OW; ow++) {
                    double acc = 0.0;
                    for (int64_t c = 0; c < s->C; c++)
                        for (int64_t kh = 0; kh < s->KH; kh++) {
                            int64_t h = oh * s->sh - s->ph + kh;
                            if (h < 0 || h >= s->H)
                                continue;
                            for (int64_t kw = 0; kw < s->KW; kw++) {
                                int64_t iw = ow * s->sw - s->pw + kw;
                                if (iw < 0 || iw >= s->W)
                                    continue;
                                double xv = get(x, ((n * s->C + c) * s->H + h) * s->W + iw);
                                double wv = get(w, ((o * s->C + c) * s->KH + kh) * s->KW + kw);
                                acc += xv * wv;
                            }
                        }
                    put(out, ((n * s->O + o) * s->OH + oh) * s->OW + ow, acc);
                }
}

static void eval_conv1d(const mt_node *n, const mt_tensor *x, const mt_tensor *w, mt_tensor *out)
{
    const int64_t *xd = x->type.dims, *wd = w->type.dims, *od = out->type.dims;
    conv_shape s = {
        .N = xd[0],
        .C = xd[1],
        .H = 1,
        .W = xd[2],
        .O = wd[0],
        .KH = 1,
        .KW = wd[2],
        .OH = 1,
        .OW = od[2],
        .sh = 1,
        .sw = n->attrs->stride[0],
        .ph = 0,
        .pw = n->attrs->padding[0],
    };
    conv_loops(&s, x, w, out);
}

static void eval_conv2d(const mt_node *n, const mt_tensor *x, const mt_tensor *w, mt_tensor *out)
{
    const int64_t *xd = x->type.dims, *wd = w->type.dims, *od = out->type.dims;
    conv_shape s = {
        .N = xd[0],
        .C = xd[1],
        .H = xd[2],
        .W = xd[3],
        .O = wd[0],
        .KH = wd[2],
        .KW = wd[3],
        .OH = od[2],
        .OW = od[3],
        .sh = n->attrs->stride[0],
        .sw = n->attrs->stride[1],
        .ph = n->attrs->padding[0],
        .pw = n->attrs->padding[1],
    };
    conv_loops(&s, x, w, out);
}

/* ---- pooling -------------------------------------------------------------------------- */

/* Windows of kernel size with stride equal to the kernel; rows and columns past the last
 * whole window are dropped (the output dims were floored by shape inference). */
static void eval_pool(const mt_node *n, const mt_tensor *x, mt_tensor *out)
{
    int64_t N = x->type.dims[0], C = x->type.dims[1], H = x->type.dims[2], W = x->type.dims[3];
    int64_t OH = out->type.dims[2], OW = out->type.dims[3];
    int64_t kh = n->attrs->kernel[0], kw = n->attrs->kernel[1];
    for (int64_t nc = 0; nc < N * C; nc++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                double acc = n->op == MT_OP_MAXPOOL2D ? -INFINITY : 0.0;
                for (int64_t i = 0; i < kh; i++)
                    for (int64_t j = 0; j < kw; j++) {
                        double v = get(x, (nc * H + oh * kh + i) * W + ow * kw + j);
                        if (n->op == MT_OP_AVGPOOL2D)
                            acc += v;
                        else if (isnan(v) || v > acc) /* NaN propagates, as in PyTorch */
                            acc = v;
                    }
                if (n->op == MT_OP_AVGPOOL2D)
                    acc /= (double)(kh * kw);
                put(out, (nc * OH + oh) * OW + ow, acc);
            }
}

/* ---- sources -------------------------------------------------------------------------- */

static void eval_const(const mt_node *n, mt_tensor *out)
{
    int64_t count = numel(out);
    for (int64_t i = 0; i < count; i++)
        put(out, i, n->attrs->value);
}

/* Element i (flat, row-major) is a pure function of (seed, i): see docs/rand.md. */
/* `rand`, and `rand %k` whose step counter k selects the stream (docs/rand.md). */
static void eval_rand(const mt_node *n, const mt_tensor *k, mt_tensor *out)
{
    uint64_t seed = (uint64_t)n->attrs->seed;
    uint64_t stream = k ? mt_rand_stream(get(k, 0)) : 0;
    int64_t count = numel(out);
    for (int64_t i = 0; i < count; i++) {
        if (out->type.dtype == MT_DTYPE_F32)
            ((float *)out->data)[i] = mt_rand_f32_at(seed, stream, (uint64_t)i);
        else
            ((double *)out->data)[i] = mt_rand_f64_at(seed, stream, (uint64_t)i);
    }
}

/* ---- one node ------------------------------------------------------------------------- */

static void eval_node(const mt_node *n, const mt_tensor *const *in, mt_tensor *out)
{
    unsigned f = mt_op_get(n->op)->flags;
    if (f & MT_F_UNARY) {
        eval_unary(n, in[0], out);
        return;
    }
    if (f & MT_F_BINARY) {
        eval_binary(n, in[0], in[1], out);
        return;
    }
    if (f & MT_F_REDUCE) {
        eval_reduce(n, in[0], out);
        return;
    }
    switch (n->op) {
    case MT_OP_WHERE: eval_where(in[0], in[1], in[2], out); break;
    case MT_OP_RESHAPE: eval_reshape(in[0], out); break;
    case MT_OP_PERMUTE: eval_permute(n, in[0], out); break;
    case MT_OP_EXPAND: eval_expand(in[0], out); break;
    case MT_OP_SLICE: eval_slice(n, in[0], out); break;
    case MT_OP_PAD: eval_pad(n, in[0], out); break;
    case MT_OP_CONCAT: eval_concat(n, in, out); break;
    case MT_OP_MATMUL: eval_matmul(in[0], in[1], out); break;
    case MT_OP_CONV1D: eval_conv1d(n, in[0], in[1], out); break;
    case MT_OP_CONV2D: eval_conv2d(n, in[0], in[1], out); break;
    case MT_OP_AVGPOOL2D:
    case MT_OP_MAXPOOL2D: eval_pool(n, in[0], out); break;
    case MT_OP_CONST: eval_const(n, out); break;
    case MT_OP_RAND: eval_rand(n, n->nin ? in[0] : NULL, out); break;
    case MT_OP_ALLREDUCE: memcpy(out->data, in[0]->data, out->nbytes); break;
    default: break; /* leaves never get here: mt_interp_node refuses them */
    }
}

/* Refuses operands that do not produce the node's type, so the loops above can index without
 * bounds checks. */
static mt_status check_operands(const mt_node *n, const mt_tensor *const *in, mt_diag *d)
{
    const mt_type *types[16], **tp = types;
    mt_status st = MT_OK;
    if (n->nin > 16) {
        tp = mt_malloc((size_t)n->nin * sizeof *tp);
        if (!tp)
            return mt_diag_set(d, MT_ERR_NOMEM, "interp: out of memory at %%%s", n->name);
    }
    for (int i = 0; i < n->nin && st == MT_OK; i++) {
        if (!in || !in[i])
            st = mt_diag_set(d, MT_ERR_ARG, "interp: %%%s: operand %d is missing", n->name, i);
        else
            tp[i] = &in[i]->type;
    }
    if (st == MT_OK) {
        mt_attrs attrs = *n->attrs;
        mt_type t;
        char msg[MT_DIAG_MSG];
        st = mt_infer_type(n->op, tp, n->nin, &attrs, &n->type, &t, msg, sizeof msg);
        if (st != MT_OK) {
            st = mt_diag_set(d, MT_ERR_ARG, "interp: %%%s: %s", n->name, msg);
        } else if (!mt_type_equal(&t, &n->type)) {
            char a[MT_TYPE_STR_MAX], b[MT_TYPE_STR_MAX];
            st = mt_diag_set(d, MT_ERR_ARG, "interp: %%%s: operands give %s, the node is %s",
                             n->name, mt_type_str(&t, a, sizeof a),
                             mt_type_str(&n->type, b, sizeof b));
        }
    }
    if (tp != types)
        mt_free(tp);
    return st;
}

mt_status mt_interp_node(const mt_node *n, const mt_tensor *const *in, mt_tensor **out, mt_diag *d)
{
    *out = NULL;
    if (mt_op_is(n->op, MT_F_LEAF))
        return mt_diag_set(d, MT_ERR_ARG, "interp: %%%s is a %s: it has no rule to compute it",
                           n->name, mt_op_name(n->op));
    mt_status st = check_operands(n, in, d);
    if (st != MT_OK)
        return st;
    mt_tensor *t = mt_tensor_new(n->type);
    if (!t)
        return mt_diag_set(d, MT_ERR_NOMEM, "interp: out of memory for %%%s", n->name);
    eval_node(n, in, t);
    /* The local value is in t: the process group reduces it in place (one rank: as is). */
    if (mt_op_is(n->op, MT_F_COLLECTIVE) &&
        (st = mt_collective_allreduce(t->data, (size_t)numel(t), t->type.dtype,
                                      (int)n->attrs->reduce, d)) != MT_OK) {
        mt_tensor_free(t);
        return st;
    }
    *out = t;
    return MT_OK;
}

/* ---- whole graphs --------------------------------------------------------------------- */

static mt_status take_leaf(const mt_node *n, const mt_tensor *leaf, mt_tensor **out, mt_diag *d)
{
    if (!leaf && n->op == MT_OP_STATE) { /* state nobody fed starts at zero */
        *out = mt_tensor_new(n->type);
        return *out ? MT_OK
                    : mt_diag_set(d, MT_ERR_NOMEM, "interp: out of memory for %%%s", n->name);
    }
    if (!leaf)
        return mt_diag_set(d, MT_ERR_ARG, "interp: no tensor for %s %%%s", mt_op_name(n->op),
                           n->name);
    if (!mt_type_equal(&leaf->type, &n->type)) {
        char a[MT_TYPE_STR_MAX], b[MT_TYPE_STR_MAX];
        return mt_diag_set(d, MT_ERR_ARG, "interp: tensor for %%%s is %s but it is declared %s",
                           n->name, mt_type_str(&leaf->type, a, sizeof a),
                           mt_type_str(&n->type, b, sizeof b));
    }
    *out = mt_tensor_clone(leaf);
    if (!*out)
        return mt_diag_set(d, MT_ERR_NOMEM, "interp: out of memory copying %%%s", n->name);
    return MT_OK;
}

static mt_status eval_one(const mt_graph *g, int id, const mt_tensor *const *leaves,
                          mt_tensor **values, mt_diag *d)
{
    const mt_node *n = &g->nodes[id];
    if (mt_op_is(n->op, MT_F_LEAF))
        return take_leaf(n, leaves ? leaves[id] : NULL, &values[id], d);
    const mt_tensor *small[16], **in = small;
    if (n->nin > 16) {
        in = mt_malloc((size_t)n->nin * sizeof *in);
        if (!in)
            return mt_diag_set(d, MT_ERR_NOMEM, "interp: out of memory at %%%s", n->name);
    }
    for (int i = 0; i < n->nin; i++)
        in[i] = values[n->in[i]];
    mt_status st = mt_interp_node(n, in, &values[id], d);
    if (in != small)
        mt_free((void *)in);
    return st;
}

/* Evaluates the nodes in order. When `last_use` is given, a value is freed right after the
 * last node that reads it (or at once when nothing reads it), so only live values are held. */
static mt_status eval_graph(const mt_graph *g, const mt_tensor *const *leaves, mt_tensor **values,
                            const int *last_use, mt_diag *d)
{
    for (int id = 0; id < g->nnodes; id++)
        values[id] = NULL;
    mt_status st = MT_OK;
    for (int id = 0; id < g->nnodes && st == MT_OK; id++) {
        int had_error = d && d->status != MT_OK;
        st = eval_one(g, id, leaves, values, d);
        if (st != MT_OK) {
            if (d && !had_error)
                d->node = id;
            break;
        }
        if (!last_use)
            continue;
        const mt_node *n = &g->nodes[id];
        for (int i = 0; i < n->nin; i++) {
            int j = n->in[i];
            if (last_use[j] == id && values[j]) { /* an operand may appear twice */
                mt_tensor_free(values[j]);
                values[j] = NULL;
            }
        }
        if (last_use[id] < id) {
            mt_tensor_free(values[id]);
            values[id] = NULL;
        }
    }
    if (st != MT_OK)
        for (int id = 0; id < g->nnodes; id++) {
            mt_tensor_free(values[id]);
            values[id] = NULL;
        }
    return st;
}

mt_status mt_interp_eval(const mt_graph *g, const mt_tensor *const *leaves, mt_tensor **values,
                         mt_diag *d)
{
    return eval_graph(g, leaves, values, NULL, d);
}

/* Takes the values of `ids` (n of them) out of `values` into `dst`; an id listed twice gets
 * its own copy the second time. */
static mt_status take_values(const mt_graph *g, const int *ids, int n, mt_tensor **values,
                             mt_tensor **dst, mt_diag *d)
{
    for (int k = 0; k < n; k++) {
        int id = ids[k];
        if (values[id]) {
            dst[k] = values[id];
            values[id] = NULL;
            continue;
        }
        int first = 0;
        while (ids[first] != id)
            first++;
        dst[k] = mt_tensor_clone(dst[first]);
        if (!dst[k])
            return mt_diag_set(d, MT_ERR_NOMEM, "interp: out of memory copying %%%s",
                               g->nodes[id].name);
    }
    return MT_OK;
}

mt_status mt_interp_step(const mt_graph *g, const mt_tensor *const *leaves, mt_tensor **outputs,
                         mt_tensor **updates, mt_diag *d)
{
    int nu = updates ? g->nupdates : 0, nkeep = g->noutputs + nu;
    for (int k = 0; k < g->noutputs; k++)
        outputs[k] = NULL;
    for (int k = 0; k < nu; k++)
        updates[k] = NULL;
    mt_tensor **values = mt_calloc((size_t)g->nnodes, sizeof *values);
    int *last_use = mt_calloc((size_t)g->nnodes, sizeof *last_use);
    int *keep = mt_calloc((size_t)nkeep + 1, sizeof *keep);
    mt_tensor **kept = mt_calloc((size_t)nkeep + 1, sizeof *kept);
    mt_status st = MT_OK;
    if (!values || !last_use || !keep || !kept) {
        st = mt_diag_set(d, MT_ERR_NOMEM, "interp: out of memory");
        goto done;
    }
    for (int k = 0; k < nkeep; k++)
        keep[k] = k < g->noutputs ? g->outputs[k] : g->updates[k - g->noutputs].value;
    /* last_use: the last node reading each value; -1 when none does, g->nnodes for a value
     * the caller gets (kept to the end). */
    for (int id = 0; id < g->nnodes; id++) {
        last_use[id] = -1;
        const mt_node *n = &g->nodes[id];
        for (int i = 0; i < n->nin; i++)
            last_use[n->in[i]] = id;
    }
    for (int k = 0; k < nkeep; k++)
        last_use[keep[k]] = g->nnodes;
    st = eval_graph(g, leaves, values, last_use, d);
    if (st == MT_OK)
        st = take_values(g, keep, nkeep, values, kept, d);
    for (int k = 0; k < nkeep; k++) {
        mt_tensor **slot = k < g->noutputs ? &outputs[k] : &updates[k - g->noutputs];
        *slot = st == MT_OK ? kept[k] : NULL;
        if (st != MT_OK)
            mt_tensor_free(kept[k]);
    }
done:
    if (values)
        for (int id = 0; id < g->nnodes; id++)
            mt_tensor_free(values[id]);
    mt_free(values);
    mt_free(last_use);
    mt_free(keep);
    mt_free(kept);
    return st;
}

mt_status mt_interp_run(const mt_graph *g, const mt_tensor *const *leaves, mt_tensor **outputs,
                        mt_diag *d)
{
    return mt_interp_step(g, leaves, outputs, NULL, d);
}
