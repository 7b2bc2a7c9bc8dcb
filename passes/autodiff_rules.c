/* autodiff_rules.c - the vector-Jacobian product of every op, written in MTIR ops.
 *
 * Each rule takes dy, the adjoint of a node's result, and emits the nodes that compute the
 * adjoint contribution for one operand. Rules use only ops of SPEC section 2, each of which has
 * a rule here, so a gradient graph can be differentiated again. Notation below: x (or a, b) is
 * the operand, y the node's forward result, dy its adjoint; `0`, `1`, `0.5` are rank-0 consts
 * that broadcast.
 *
 *   neg      -dy                    exp   dy*y            log   dy/x
 *   relu     dy*gt(x,0)             sigmoid dy*(y*(1-y))  inv   -(dy*(y*y))
 *   tanh     dy*(1-y*y)             sqrt  dy/(2*y)        abs   dy*(gt(x,0)-lt(x,0))
 *   add      dy, dy                 sub   dy, -dy         mul   dy*b, dy*a
 *   div      dy/b, -(dy*y)/b
 *   maximum  dy*(gt(a,b)+0.5*eq(a,b)), dy*(lt(a,b)+0.5*eq(a,b))     (ties split evenly)
 *   minimum  dy*(lt(a,b)+0.5*eq(a,b)), dy*(gt(a,b)+0.5*eq(a,b))
 *   pow      dy*where(eq(b,0), 0, b*pow(a,b-1)), dy*where(eq(a,0), 0, y*log(a))
 *   lt gt eq no gradient            where  where(c,dy,0), where(c,0,dy); none to c
 *   sum      expand(dy)             mean  expand(dy/count)
 *   max      mask*(dy/sum(mask)) with mask = eq(x,y)                   (ties split evenly)
 *   reshape  reshape back           permute  inverse permute   expand  unbroadcast
 *   slice    pad with the cut-off widths   pad  slice the original region
 *   concat   slice operand k's range
 *   matmul   dy @ b^T, a^T @ dy (^T: permute of the last two axes), then unbroadcast
 *   conv     dx: conv of the dilated, padded dy with the flipped, channel-swapped w;
 *            dw: conv of x (channels as batch) with the dilated dy as the kernel
 *   avgpool2d  dy/(kh*kw) repeated over each window; maxpool2d  the max rule per window;
 *              the rows and columns the pooling dropped (floor) get zero: pad back
 *   const rand  no operands
 *
 * Every binary and ternary rule, matmul and expand go through mt_ad_unbroadcast, the one place
 * where broadcasting is undone.
 *
 * pow follows PyTorch where a rule has a 0 * inf: d/da is 0 where b == 0 and d/db is 0 where
 * a == 0. d/db is log(a)*a^b, which is nan for a < 0, as in PyTorch.
 */
#include <stdio.h>
#include <string.h>

#include "passes/autodiff.h"

/* Node order: a call below never has two arguments that emit nodes (C leaves the order in which
 * arguments are evaluated unspecified), so the backward graph is the same with every compiler;
 * where two operands are built, the first is a separate statement. */

int mt_ad_differentiable(mt_op op, int k)
{
    if (mt_op_is(op, MT_F_CMP))
        return 0;
    if (op == MT_OP_WHERE)
        return k != 0;
    if (op == MT_OP_RAND) /* the step counter only picks a stream */
        return 0;
    return 1;
}

/* ---- emitting nodes -------------------------------------------------------------------- */

static const mt_type *type_of(const mt_ad *ad, int id) { return mt_graph_node_type(ad->g, id); }

int mt_ad_emit(mt_ad *ad, mt_op op, const int *in, int nin, const mt_attrs *attrs)
{
    for (int i = 0; i < nin; i++)
        if (in[i] < 0)
            return -1;
    int id = mt_graph_add(ad->g, op, in, nin, attrs, NULL, NULL, NULL, 0, 0, ad->d);
    if (id >= 0 && ad->note[0] && mt_graph_set_note(ad->g, id, ad->note) != MT_OK)
        return mt_diag_set(ad->d, MT_ERR_NOMEM, "out of memory"), -1;
    return id;
}

int mt_ad_const(mt_ad *ad, double v, const mt_type *shape)
{
    mt_attrs a;
    mt_attrs_init(&a);
    a.value = v;
    int id = mt_graph_add(ad->g, MT_OP_CONST, NULL, 0, &a, NULL, shape, NULL, 0, 0, ad->d);
    if (id >= 0 && ad->note[0] && mt_graph_set_note(ad->g, id, ad->note) != MT_OK)
        return mt_diag_set(ad->d, MT_ERR_NOMEM, "out of memory"), -1;
    return id;
}

/* A rank-0 const in the dtype of `like`. */
static int scalar(mt_ad *ad, double v, int like)
{
    if (like < 0)
        return -1;
    mt_type t = mt_type_make(type_of(ad, like)->dtype, 0, NULL);
    return mt_ad_const(ad, v, &t);
}

static int un(mt_ad *ad, mt_op op, int x) { return mt_ad_emit(ad, op, &x, 1, NULL); }

static int bin(mt_ad *ad, mt_op op, int a, int b)
{
    int in[2] = {a, b};
    return mt_ad_emit(ad, op, in, 2, NULL);
}

static int where(mt_ad *ad, int c, int a, int b)
{
    int in[3] = {c, a, b};
    return mt_ad_emit(ad, MT_OP_WHERE, in, 3, NULL);
}

/* sum or max over axis k (MT_DIM_ALL: everything). */
static int reduce(mt_ad *ad, mt_op op, int x, int64_t k)
{
    mt_attrs a;
    mt_attrs_init(&a);
    a.dim = k;
    return mt_ad_emit(ad, op, &x, 1, &a);
}

static void set_list(mt_ilist *l, int n, const int64_t *v)
{
    l->n = n;
    for (int i = 0; i < n; i++)
        l->v[i] = v[i];
}

static int reshape(mt_ad *ad, int x, int rank, const int64_t *dims)
{
    mt_attrs a;
    mt_attrs_init(&a);
    set_list(&a.shape, rank, dims);
    return mt_ad_emit(ad, MT_OP_RESHAPE, &x, 1, &a);
}

static int expand(mt_ad *ad, int x, const mt_type *to)
{
    mt_attrs a;
    mt_attrs_init(&a);
    set_list(&a.shape, to->rank, to->dims);
    return mt_ad_emit(ad, MT_OP_EXPAND, &x, 1, &a);
}

static int permute(mt_ad *ad, int x, int rank, const int64_t *perm)
{
    mt_attrs a;
    mt_attrs_init(&a);
    set_list(&a.perm, rank, perm);
    return mt_ad_emit(ad, MT_OP_PERMUTE, &x, 1, &a);
}

/* Swaps axes 0 and 1 (conv channels) or the last two (matmul transpose). */
static int swap_axes(mt_ad *ad, int x, int i, int j)
{
    if (x < 0)
        return -1;
    int rank = type_of(ad, x)->rank;
    int64_t perm[MT_MAX_RANK];
    for (int k = 0; k < rank; k++)
        perm[k] = k;
    perm[i] = j;
    perm[j] = i;
    return permute(ad, x, rank, perm);
}

static int slice(mt_ad *ad, int x, int rank, const int64_t *start, const int64_t *end)
{
    mt_attrs a;
    mt_attrs_init(&a);
    set_list(&a.start, rank, start);
    set_list(&a.end, rank, end);
    return mt_ad_emit(ad, MT_OP_SLICE, &x, 1, &a);
}

/* Pads when any width is non-zero; returns x otherwise. */
static int pad(mt_ad *ad, int x, int rank, const int64_t *pads)
{
    int any = 0;
    for (int i = 0; i < 2 * rank; i++)
        any |= pads[i] != 0;
    if (!any)
        return x;
    mt_attrs a;
    mt_attrs_init(&a);
    set_list(&a.pads, 2 * rank, pads);
    return mt_ad_emit(ad, MT_OP_PAD, &x, 1, &a);
}

/* Keeps the leading `len` entries of each axis of x (of rank `rank`), from `start`. */
static int crop(mt_ad *ad, int x, int rank, const int64_t *start, const int64_t *len)
{
    if (x < 0)
        return -1;
    int64_t end[MT_MAX_RANK];
    int same = 1;
    for (int i = 0; i < rank; i++) {
        end[i] = start[i] + len[i];
        same &= start[i] == 0 && len[i] == type_of(ad, x)->dims[i];
    }
    return same ? x : slice(ad, x, rank, start, end);
}

int mt_ad_unbroadcast(mt_ad *ad, int v, const mt_type *to)
{
    if (v < 0)
        return -1;
    mt_type t = *type_of(ad, v);
    /* Innermost axes first: each sum then reads along the contiguous axis of what is left
     * (a conv's bias gradient sums [N,C,H,W] over W, H, then N, not over N with a stride). */
    for (int i = t.rank - 1; i >= 0 && v >= 0; i--) {
        int j = to->rank - t.rank + i;
        int64_t want = j >= 0 ? to->dims[j] : 1;
        if (want == t.dims[i])
            continue;
        if (want != 1) {
            char a[MT_TYPE_STR_MAX], b[MT_TYPE_STR_MAX];
            return mt_diag_set(ad->d, MT_ERR_INTERNAL, "grad: %s does not broadcast to %s",
                               mt_type_str(to, a, sizeof a), mt_type_str(&t, b, sizeof b)),
                   -1;
        }
        v = reduce(ad, MT_OP_SUM, v, i);
    }
    if (v >= 0 && type_of(ad, v)->rank != to->rank)
        v = reshape(ad, v, to->rank, to->dims);
    return v;
}

/* ---- elementwise ----------------------------------------------------------------------- */

static int vjp_unary(mt_ad *ad, mt_op op, int x, int y, int dy)
{
    switch (op) {
    case MT_OP_NEG: return un(ad, MT_OP_NEG, dy);
    case MT_OP_EXP: return bin(ad, MT_OP_MUL, dy, y);
    case MT_OP_LOG: return bin(ad, MT_OP_DIV, dy, x);
    case MT_OP_RELU: /* relu'(0) = 0: gt, not ge */
        return bin(ad, MT_OP_MUL, dy, bin(ad, MT_OP_GT, x, scalar(ad, 0, x)));
    case MT_OP_SIGMOID:
        return bin(ad, MT_OP_MUL, dy,
                   bin(ad, MT_OP_MUL, y, bin(ad, MT_OP_SUB, scalar(ad, 1, y), y)));
    case MT_OP_INV: return un(ad, MT_OP_NEG, bin(ad, MT_OP_MUL, dy, bin(ad, MT_OP_MUL, y, y)));
    case MT_OP_TANH: {
        int one = scalar(ad, 1, y);
        return bin(ad, MT_OP_MUL, dy, bin(ad, MT_OP_SUB, one, bin(ad, MT_OP_MUL, y, y)));
    }
    case MT_OP_SQRT: return bin(ad, MT_OP_DIV, dy, bin(ad, MT_OP_MUL, scalar(ad, 2, y), y));
    case MT_OP_ABS: {
        int zero = scalar(ad, 0, x);
        int pos = bin(ad, MT_OP_GT, x, zero);
        int sign = bin(ad, MT_OP_SUB, pos, bin(ad, MT_OP_LT, x, zero));
        return bin(ad, MT_OP_MUL, dy, sign);
    }
    default:
        return mt_diag_set(ad->d, MT_ERR_INTERNAL, "grad: %s is not unary", mt_op_name(op)), -1;
    }
}

/* gt(a,b) + 0.5*eq(a,b): the share of a max (or, with lt, a min) that goes to a. */
static int winner_share(mt_ad *ad, mt_op cmp, int a, int b)
{
    int win = bin(ad, cmp, a, b);
    int half = scalar(ad, 0.5, a);
    int tie = bin(ad, MT_OP_MUL, bin(ad, MT_OP_EQ, a, b), half);
    return bin(ad, MT_OP_ADD, win, tie);
}

/* The contribution to operand k before unbroadcasting: it has the result's shape. */
static int vjp_binary(mt_ad *ad, mt_op op, int k, int a, int b, int y, int dy)
{
    switch (op) {
    case MT_OP_ADD: return dy;
    case MT_OP_SUB: return k == 0 ? dy : un(ad, MT_OP_NEG, dy);
    case MT_OP_MUL: return bin(ad, MT_OP_MUL, dy, k == 0 ? b : a);
    case MT_OP_DIV:
        if (k == 0)
            return bin(ad, MT_OP_DIV, dy, b);
        return un(ad, MT_OP_NEG, bin(ad, MT_OP_DIV, bin(ad, MT_OP_MUL, dy, y), b));
    case MT_OP_MAXIMUM:
        return bin(ad, MT_OP_MUL, dy,
                   k == 0 ? winner_share(ad, MT_OP_GT, a, b) : winner_share(ad, MT_OP_LT, a, b));
    case MT_OP_MINIMUM:
        return bin(ad, MT_OP_MUL, dy,
                   k == 0 ? winner_share(ad, MT_OP_LT, a, b) : winner_share(ad, MT_OP_GT, a, b));
    case MT_OP_POW: {
        int zero = scalar(ad, 0, a);
        if (k == 0) { /* b * a^(b-1), and 0 where b == 0 (not 0 * a^-1, which is nan at a = 0) */
            int d = bin(ad, MT_OP_MUL, b,
                        bin(ad, MT_OP_POW, a, bin(ad, MT_OP_SUB, b, scalar(ad, 1, b))));
            return bin(ad, MT_OP_MUL, dy, where(ad, bin(ad, MT_OP_EQ, b, zero), zero, d));
        }
        /* a^b * log(a), and 0 where a == 0 (not 0 * -inf) */
        int d = bin(ad, MT_OP_MUL, y, un(ad, MT_OP_LOG, a));
        return bin(ad, MT_OP_MUL, dy, where(ad, bin(ad, MT_OP_EQ, a, zero), zero, d));
    }
    default:
        return mt_diag_set(ad->d, MT_ERR_INTERNAL, "grad: %s is not binary", mt_op_name(op)), -1;
    }
}

/* ---- reductions and data movement ------------------------------------------------------ */

static int vjp_reduce(mt_ad *ad, const mt_node *n, int x, int y, int dy, const mt_type *xt)
{
    switch (n->op) {
    case MT_OP_SUM: return expand(ad, dy, xt);
    case MT_OP_MEAN: {
        double count = (double)mt_type_numel(xt) / (double)mt_type_numel(&n->type);
        return expand(ad, bin(ad, MT_OP_DIV, dy, scalar(ad, count, dy)), xt);
    }
    default: { /* max: every element equal to the max shares the adjoint evenly */
        int mask = bin(ad, MT_OP_EQ, x, y);
        int count = reduce(ad, MT_OP_SUM, mask, n->attrs->dim);
        return bin(ad, MT_OP_MUL, mask, bin(ad, MT_OP_DIV, dy, count));
    }
    }
}

static int vjp_move(mt_ad *ad, const mt_node *n, int k, int dy, const mt_type *xt)
{
    const mt_attrs *at = n->attrs;
    int r = xt->rank;
    int64_t v[2 * MT_MAX_RANK];
    switch (n->op) {
    case MT_OP_RESHAPE: return reshape(ad, dy, r, xt->dims);
    case MT_OP_PERMUTE:
        for (int i = 0; i < r; i++)
            v[at->perm.v[i]] = i;
        return permute(ad, dy, r, v);
    case MT_OP_EXPAND: return mt_ad_unbroadcast(ad, dy, xt);
    case MT_OP_SLICE: /* start and end are stored normalized by shape inference */
        for (int i = 0; i < r; i++) {
            v[2 * i] = at->start.v[i];
            v[2 * i + 1] = xt->dims[i] - at->end.v[i];
        }
        return pad(ad, dy, r, v);
    case MT_OP_PAD:
        for (int i = 0; i < r; i++)
            v[i] = at->pads.v[2 * i];
        return crop(ad, dy, r, v, xt->dims);
    case MT_OP_CONCAT: {
        int axis = mt_axis(at->dim, r);
        for (int i = 0; i < r; i++)
            v[i] = 0;
        for (int j = 0; j < k; j++)
            v[axis] += mt_graph_node(ad->src, n->in[j])->type.dims[axis];
        return crop(ad, dy, r, v, xt->dims);
    }
    default:
        return mt_diag_set(ad->d, MT_ERR_INTERNAL, "grad: %s is not a movement op",
                           mt_op_name(n->op)),
               -1;
    }
}

/* ---- matmul and convolution ------------------------------------------------------------ */

static int vjp_matmul(mt_ad *ad, int k, int a, int b, int dy, const mt_type *xt)
{
    int v;
    if (k == 0) {
        int rb = type_of(ad, b)->rank;
        v = bin(ad, MT_OP_MATMUL, dy, swap_axes(ad, b, rb - 2, rb - 1));
    } else {
        int ra = type_of(ad, a)->rank;
        v = bin(ad, MT_OP_MATMUL, swap_axes(ad, a, ra - 2, ra - 1), dy);
    }
    return mt_ad_unbroadcast(ad, v, xt);
}

static int conv(mt_ad *ad, mt_op op, int x, int w, const int64_t *padding)
{
    mt_attrs a;
    mt_attrs_init(&a);
    a.padding[0] = padding[0];
    a.padding[1] = op == MT_OP_CONV2D ? padding[1] : 0;
    int in[2] = {x, w};
    return mt_ad_emit(ad, op, in, 2, &a);
}

/* Inserts s-1 zeros between neighbours along each spatial axis of v[N,C,L...]: the adjoint of a
 * strided conv seen as a stride-1 conv. Result length (L-1)*s+1. Via reshape to [N,C,L,1,...],
 * pad of the size-1 axes to s, reshape back to [N,C,L*s,...], and a slice of the s-1 trailing
 * zeros. */
static int dilate(mt_ad *ad, int v, int sp, const int64_t *s)
{
    if (v < 0 || (s[0] == 1 && (sp == 1 || s[1] == 1)))
        return v;
    const mt_type *t = type_of(ad, v);
    int64_t split[MT_MAX_RANK], pads[2 * MT_MAX_RANK] = {0}, joined[MT_MAX_RANK],
                                         zero[MT_MAX_RANK] = {0}, len[MT_MAX_RANK];
    split[0] = joined[0] = len[0] = t->dims[0];
    split[1] = joined[1] = len[1] = t->dims[1];
    for (int i = 0; i < sp; i++) {
        int64_t l = t->dims[2 + i];
        split[2 + 2 * i] = l;
        split[3 + 2 * i] = 1;
        pads[2 * (3 + 2 * i) + 1] = s[i] - 1;
        joined[2 + i] = l * s[i];
        len[2 + i] = (l - 1) * s[i] + 1;
    }
    v = reshape(ad, v, 2 + 2 * sp, split);
    v = pad(ad, v, 2 + 2 * sp, pads);
    v = reshape(ad, v, 2 + sp, joined);
    return crop(ad, v, 2 + sp, zero, len);
}

/* conv1d and conv2d, x[N,C,L...] * w[O,C,K...] -> y[N,O,L'...] with stride s and padding p:
 *   y[n,o,i] = sum_{c,t} xp[n,c,i*s+t] w[o,c,t],   xp = x padded by p,  Lp = L+2p.
 * dx (col2im): cols[n,c,t,i] = sum_o w[o,c,t] dy[n,o,i] is one matmul of w as [C*K, O] by dy
 * as [N, O, P] (P output positions), and xp[n,c,i*s+t] collects cols[n,c,t,i]: per tap t,
 * cols[..,t,..] dilated by the stride and shifted by t - p into x's frame, summed over the
 * taps in order. That is C*K*O*P multiply-adds per image; the transposed conv over the dilated,
 * padded dy would do C*O*K*Lp, most of them on padding zeros, through a patch matrix about
 * K*Lp/P times the size of x.
 * dw: dw[o,c,t] = sum_{n,i} xp[n,c,t+i*s] dy[n,o,i] is a stride-1 conv of x with channels and
 * batch swapped ([C,N,L]) by the dilated dy as the kernel ([O,N,D], D = (L'-1)s+1), padding p;
 * it yields [C,O,K+r] with r = Lp-((L'-1)s+K) taps no window reached, cropped to K and
 * permuted to [O,C,K]. */
static int vjp_conv_dx(mt_ad *ad, const mt_node *n, int w, int dy)
{
    int sp = n->op == MT_OP_CONV1D ? 1 : 2, r = 2 + sp;
    const mt_type xt = mt_graph_node(ad->src, n->in[0])->type;
    const mt_type wt = mt_graph_node(ad->src, n->in[1])->type;
    const mt_type yt = n->type;
    int64_t s[2] = {n->attrs->stride[0], n->attrs->stride[1]};
    int64_t taps = 1, positions = 1, cdims[MT_MAX_RANK] = {xt.dims[0], xt.dims[1]};
    int64_t ydims[MT_MAX_RANK] = {xt.dims[0], xt.dims[1]};
    for (int i = 0; i < sp; i++) {
        taps *= wt.dims[2 + i];
        positions *= yt.dims[2 + i];
        cdims[2 + i] = wt.dims[2 + i];
        cdims[r + i] = ydims[2 + i] = yt.dims[2 + i];
    }
    int64_t wdims[2] = {wt.dims[0], xt.dims[1] * taps},
            ddims[3] = {yt.dims[0], yt.dims[1], positions};
    int wm = swap_axes(ad, reshape(ad, w, 2, wdims), 0, 1);
    int cols = reshape(ad, bin(ad, MT_OP_MATMUL, wm, reshape(ad, dy, 3, ddims)), r + sp, cdims);
    int acc = -1;
    for (int64_t t = 0; t < taps && cols >= 0; t++) {
        int64_t start[MT_MAX_RANK] = {0}, end[MT_MAX_RANK], pads[2 * MT_MAX_RANK] = {0};
        int64_t from[MT_MAX_RANK] = {0};
        memcpy(end, cdims, sizeof end);
        for (int i = sp - 1, rest = (int)t; i >= 0; rest /= (int)wt.dims[2 + i], i--) {
            start[2 + i] = rest % wt.dims[2 + i];
            end[2 + i] = start[2 + i] + 1;
        }
        int v = dilate(ad, reshape(ad, slice(ad, cols, r + sp, start, end), r, ydims), sp, s);
        for (int i = 0; i < sp; i++) {
            /* Dilated entry d lands on x's index before + d. */
            int64_t before = start[2 + i] - n->attrs->padding[i];
            int64_t after = xt.dims[2 + i] - before - ((yt.dims[2 + i] - 1) * s[i] + 1);
            pads[2 * (2 + i)] = before > 0 ? before : 0;
            pads[2 * (2 + i) + 1] = after > 0 ? after : 0;
            from[2 + i] = before < 0 ? -before : 0;
        }
        v = crop(ad, pad(ad, v, r, pads), r, from, xt.dims);
        acc = acc < 0 ? v : bin(ad, MT_OP_ADD, acc, v);
    }
    return acc;
}

static int vjp_conv(mt_ad *ad, const mt_node *n, int k, int x, int w, int dy)
{
    if (k == 0)
        return vjp_conv_dx(ad, n, w, dy);
    int sp = n->op == MT_OP_CONV1D ? 1 : 2, r = 2 + sp;
    const mt_type *wt = &mt_graph_node(ad->src, n->in[1])->type;
    int64_t start[MT_MAX_RANK] = {0}, len[MT_MAX_RANK];
    memcpy(len, wt->dims, sizeof len);
    len[0] = wt->dims[1];
    len[1] = wt->dims[0];
    int d = dilate(ad, dy, sp, n->attrs->stride);
    int xs = swap_axes(ad, x, 0, 1);                                        /* [C,N,L...] */
    int v = conv(ad, n->op, xs, swap_axes(ad, d, 0, 1), n->attrs->padding); /* [C,O,K+r...] */
    return swap_axes(ad, crop(ad, v, r, start, len), 0, 1);
}

/* ---- pooling --------------------------------------------------------------------------- */

/* avgpool2d and maxpool2d over windows kh x kw with stride = kernel: x[N,C,H,W] -> [N,C,Ho,Wo].
 * Working on the window view [N,C,Ho,kh,Wo,kw] of x's covered region [N,C,Ho*kh,Wo*kw] keeps
 * both rules elementwise with broadcasting; the uncovered rows and columns are padded back. */
static int vjp_pool(mt_ad *ad, const mt_node *n, int x, int y, int dy, const mt_type *xt)
{
    int64_t kh = n->attrs->kernel[0], kw = n->attrs->kernel[1];
    int64_t N = xt->dims[0], C = xt->dims[1], H = xt->dims[2], W = xt->dims[3];
    int64_t Ho = H / kh, Wo = W / kw;
    int64_t windows[6] = {N, C, Ho, kh, Wo, kw}, cells[6] = {N, C, Ho, 1, Wo, 1};
    int64_t covered[4] = {N, C, Ho * kh, Wo * kw}, zero[4] = {0, 0, 0, 0};
    int64_t pads[8] = {0, 0, 0, 0, 0, H - Ho * kh, 0, W - Wo * kw};
    int v;
    if (n->op == MT_OP_AVGPOOL2D) {
        v = bin(ad, MT_OP_DIV, dy, scalar(ad, (double)(kh * kw), dy));
        mt_type wt = mt_type_make(xt->dtype, 6, windows);
        v = expand(ad, reshape(ad, v, 6, cells), &wt);
    } else {
        int xw = reshape(ad, crop(ad, x, 4, zero, covered), 6, windows);
        int mask = bin(ad, MT_OP_EQ, xw, reshape(ad, y, 6, cells));
        int count = reduce(ad, MT_OP_SUM, reduce(ad, MT_OP_SUM, mask, 3), 5);
        v = bin(ad, MT_OP_MUL, mask, bin(ad, MT_OP_DIV, reshape(ad, dy, 6, cells), count));
    }
    return pad(ad, reshape(ad, v, 4, covered), 4, pads);
}

/* ---- the dispatch ---------------------------------------------------------------------- */

int mt_ad_vjp(mt_ad *ad, int id, int k, int dy)
{
    const mt_node *n = mt_graph_node(ad->src, id);
    const mt_type *xt = &mt_graph_node(ad->src, n->in[k])->type;
    int x = ad->map[n->in[k]], y = ad->map[id];
    int a = ad->map[n->in[0]], b = n->nin > 1 ? ad->map[n->in[1]] : -1;
    if (dy < 0)
        return -1;
    if (mt_op_is(n->op, MT_F_UNARY))
        return vjp_unary(ad, n->op, x, y, dy);
    if (mt_op_is(n->op, MT_F_BINARY))
        return mt_ad_unbroadcast(ad, vjp_binary(ad, n->op, k, a, b, y, dy), xt);
    switch (n->op) {
    case MT_OP_WHERE: {
        int zero = scalar(ad, 0, dy);
        int v = k == 1 ? where(ad, a, dy, zero) : where(ad, a, zero, dy);
        return mt_ad_unbroadcast(ad, v, xt);
    }
    case MT_OP_SUM:
    case MT_OP_MAX:
    case MT_OP_MEAN: return vjp_reduce(ad, n, x, y, dy, xt);
    case MT_OP_RESHAPE:
    case MT_OP_PERMUTE:
    case MT_OP_EXPAND:
    case MT_OP_SLICE:
    case MT_OP_PAD:
    case MT_OP_CONCAT: return vjp_move(ad, n, k, dy, xt);
    case MT_OP_MATMUL: return vjp_matmul(ad, k, a, b, dy, xt);
    case MT_OP_CONV1D:
    case MT_OP_CONV2D: return vjp_conv(ad, n, k, a, b, dy);
    case MT_OP_AVGPOOL2D:
    case MT_OP_MAXPOOL2D: return vjp_pool(ad, n, x, y, dy, xt);
    case MT_OP_ALLREDUCE: {
        /* Every rank's output depends on every rank's input with weight 1 (sum) or 1/R
         * (mean): the adjoint is reduced the same way. */
        mt_attrs at;
        mt_attrs_init(&at);
        at.reduce = n->attrs->reduce;
        return mt_graph_add(ad->g, MT_OP_ALLREDUCE, &dy, 1, &at, NULL, NULL, NULL, 0, 0, ad->d);
    }
    default:
        return mt_diag_set(ad->d, MT_ERR_INTERNAL, "grad: no rule for %s", mt_op_name(n->op)), -1;
    }
}
