/* lower_contract.c - the loop nests of matmul and conv kernels, with their epilogues.
 *
 * Matmul: a[..., M, K] @ b[..., K, N] -> c[..., M, N]. The kernel is one parallel loop over
 * the rows of c, numbered across batches (B*M of them, B the product of the batch dims); its
 * body is a GEMM statement for the row (ir/kernel.h: a product of buffers, which the LLVM
 * renderer turns into one call of a packed, register-blocked GEMM per range of rows,
 * codegen/llvm/gemm.c), then the fused elementwise epilogue over the row. A target without a
 * GEMM of its own (has_gemm = 0) gets the same row loop with plain loops in place of the
 * statement (plain_row). The operands are
 * read in place: each is a stored node's buffer, possibly transposed (a permute of the last
 * two axes) or broadcast along batch axes (mt_fuse_gemm_view; fusion stores any other).
 *
 * Conv on a target with a GEMM: a product over a patch matrix (lower_conv.c), unless the
 * matrix would be too big. Otherwise, direct loops:
 * x[N, C, (H,) W] with weight w[O, C, (KH,) KW] -> [N, O, (OH,) OW]. The kernel loops
 * over every output axis but the last (the outermost parallel); for each such row it zeroes
 * the row in the root's buffer, accumulates the products into it with the output's last axis
 * innermost (contiguous, so LLVM vectorizes it), then runs the fused elementwise epilogue
 * over the finished row while it is still in cache. Sums accumulate in the output's dtype, in
 * order of (c, kh, kw), the same for every thread count.
 */
#include "passes/lower_contract.h"

#include "passes/lower_conv.h"

static mt_kexpr *flat_with(mt_lower_state *s, const mt_type *t, mt_kexpr *const *idx, int axis,
                           mt_kexpr *v)
{
    mt_kexpr *i[MT_MAX_RANK];
    for (int a = 0; a < t->rank; a++)
        i[a] = a == axis ? v : idx[a];
    return mt_lower_flat(s, t, i);
}

/* Opens loops over axes 0 .. rank-2 of t into idx; returns how many for close_rows. */
static int open_rows(mt_lower_state *s, const mt_type *t, mt_kexpr **idx, mt_kexpr **var)
{
    return mt_lower_open_outer(s, t, t->rank - 1, idx, var);
}

static void close_rows(mt_lower_state *s, int n, mt_kexpr **var)
{
    mt_lower_close_outer(s, var, n);
}

/* row[j] = 0 for every j of the last axis. */
static void zero_row(mt_lower_state *s, int out, const mt_type *t, mt_kexpr *const *idx)
{
    int last = t->rank - 1;
    mt_kexpr *j = mt_lower_open(s, t->dims[last], MT_KLOOP_PARALLEL);
    mt_lower_emit(s, mt_ks_store(s->p, out, flat_with(s, t, idx, last, j),
                                 mt_kx_float(s->p, mt_ktype_of(t->dtype), 0.0)));
    mt_lower_close(s, j);
}

/* row[j] += a * x(j) for every j: `x` gives the other factor at j. */
typedef mt_kexpr *(*factor_fn)(mt_lower_state *s, const void *ctx, mt_kexpr *j);

static void accumulate_row(mt_lower_state *s, int out, const mt_type *t, mt_kexpr *const *idx,
                           mt_kexpr *a, factor_fn x, const void *ctx)
{
    int last = t->rank - 1;
    mt_ktype kt = mt_ktype_of(t->dtype);
    mt_kexpr *j = mt_lower_open(s, t->dims[last], MT_KLOOP_PARALLEL);
    mt_kexpr *at = flat_with(s, t, idx, last, j);
    mt_kexpr *sum = mt_kx_binary(s->p, MT_KX_ADD, mt_kx_load(s->p, out, kt, at),
                                 mt_kx_binary(s->p, MT_KX_MUL, a, x(s, ctx, j)));
    mt_lower_emit(s, mt_ks_store(s->p, out, at, sum));
    mt_lower_close(s, j);
}

static void epilogue_row(mt_lower_state *s, const mt_type *t, mt_kexpr **idx)
{
    int last = t->rank - 1;
    mt_kexpr *j = mt_lower_open(s, t->dims[last], MT_KLOOP_PARALLEL);
    idx[last] = j;
    mt_lower_epilogue(s, idx);
    mt_lower_close(s, j);
}

/* ---- matmul ---------------------------------------------------------------------------- */

/* The operand's buffer as the product reads it; 0 (a bug: fusion stores every operand that is
 * not such a view) when it has none. */
static int operand(mt_lower_state *s, int id, int *buf, mt_type *type, int *trans)
{
    mt_fuse_view v;
    if (!mt_fuse_gemm_view(s->g, s->f->role, id, &v) || s->buf_of[v.node] < 0) {
        if (!s->bug)
            s->bug = "a matmul operand is not a buffer";
        return 0;
    }
    *buf = s->buf_of[v.node];
    *type = v.type;
    *trans = v.trans;
    return 1;
}

/* Row idx[0 .. rank-2] of C = A . B as plain loops, for a target without a GEMM of its own
 * (mt_target_desc.has_gemm = 0): each column j in parallel sums A[..., m, k] * B[..., k, j]
 * over k in an f64 accumulator, read through mt_lower_value (so transposed and broadcast
 * operands are the index maps of their movement ops), then stores it rounded to C's dtype. */
static void plain_row(mt_lower_state *s, const mt_type *t, mt_kexpr **idx)
{
    mt_kprog *p = s->p;
    const mt_node *n = &s->g->nodes[s->core];
    const mt_type *ta = &s->g->nodes[n->in[0]].type, *tb = &s->g->nodes[n->in[1]].type;
    int last = t->rank - 1;
    int64_t K = ta->dims[ta->rank - 1];
    /* The operands over C's batch axes: [..., M, K] and [..., K, N]. */
    mt_type fa = *t, fb = *t;
    fa.dims[last] = K;
    fb.dims[last - 1] = K;
    mt_kexpr *j = mt_lower_open(s, t->dims[last], MT_KLOOP_PARALLEL);
    mt_kexpr *acc = mt_lower_let(s, MT_KT_F64, mt_kx_float(p, MT_KT_F64, 0.0));
    mt_kexpr *k = mt_lower_open(s, K, MT_KLOOP_REDUCE);
    mt_kexpr *ia[MT_MAX_RANK], *ib[MT_MAX_RANK], *xa[MT_MAX_RANK], *xb[MT_MAX_RANK];
    for (int a = 0; a < last; a++)
        ia[a] = ib[a] = idx[a];
    ia[last] = k;
    ib[last - 1] = k;
    ib[last] = j;
    mt_lower_broadcast(s, ta, &fa, ia, xa);
    mt_lower_broadcast(s, tb, &fb, ib, xb);
    mt_kexpr *prod =
        mt_kx_binary(p, MT_KX_MUL, mt_kx_cast(p, MT_KT_F64, mt_lower_value(s, n->in[0], xa)),
                     mt_kx_cast(p, MT_KT_F64, mt_lower_value(s, n->in[1], xb)));
    mt_lower_emit(s, mt_ks_set(p, acc ? acc->id : 0, mt_kx_binary(p, MT_KX_ADD, acc, prod)));
    mt_lower_close(s, k);
    mt_kexpr *cidx[MT_MAX_RANK];
    for (int a = 0; a < last; a++)
        cidx[a] = idx[a];
    cidx[last] = j;
    mt_lower_emit(s, mt_ks_store(p, s->buf_of[s->root], mt_lower_flat(s, t, cidx),
                                 mt_kx_cast(p, mt_ktype_of(t->dtype), acc)));
    mt_lower_close(s, j);
}

/* One parallel loop over the rows of C, batch-major (the GEMM's row numbering): each row is
 * computed by the product, then run through the epilogue while it is in cache. */
static void lower_matmul(mt_lower_state *s)
{
    const mt_graph *g = s->g;
    const mt_node *n = &g->nodes[s->core];
    mt_kgemm gm = {.c = s->buf_of[s->root]};
    if (!operand(s, n->in[0], &gm.a, &gm.ta, &gm.trans_a) ||
        !operand(s, n->in[1], &gm.b, &gm.tb, &gm.trans_b))
        return;
    const mt_type *t = &n->type;
    int last = t->rank - 1;
    int64_t rows = mt_type_numel(t) / t->dims[last];
    mt_kexpr *r = mt_lower_open(s, rows, MT_KLOOP_PARALLEL);
    mt_kexpr *idx[MT_MAX_RANK];
    int64_t inner = 1;
    for (int a = last - 1; a >= 0; a--) {
        idx[a] =
            mt_kx_binary(s->p, MT_KX_MOD, mt_kx_binary(s->p, MT_KX_DIV, r, mt_kx_int(s->p, inner)),
                         mt_kx_int(s->p, t->dims[a]));
        inner *= t->dims[a];
    }
    if (s->t->has_gemm)
        mt_lower_emit(s, mt_ks_gemm(s->p, &gm, r));
    else
        plain_row(s, t, idx);
    if (s->root != s->core)
        epilogue_row(s, t, idx);
    mt_lower_close(s, r);
}

/* ---- conv1d, conv2d -------------------------------------------------------------------- */

typedef struct conv_ctx {
    int x; /* node of the input */
    const mt_type *tx;
    mt_kexpr *n, *c, *ih; /* ih: the input row (conv2d), NULL for conv1d */
    mt_kexpr *valid_h;    /* the input row is inside the image */
    mt_kexpr *kw;
    int64_t sw, pw;
} conv_ctx;

/* x at (n, c, ih, ow * sw + kw - pw), or 0 in the padding. Indices are clamped so that the
 * load stays in bounds whichever way the select goes. */
static mt_kexpr *conv_x(mt_lower_state *s, const void *ctx, mt_kexpr *ow)
{
    const conv_ctx *c = ctx;
    mt_kprog *p = s->p;
    int r = c->tx->rank;
    int64_t W = c->tx->dims[r - 1];
    mt_kexpr *iw = mt_kx_binary(p, MT_KX_ADD, mt_kx_binary(p, MT_KX_MUL, ow, mt_kx_int(p, c->sw)),
                                mt_kx_binary(p, MT_KX_SUB, c->kw, mt_kx_int(p, c->pw)));
    mt_kexpr *valid =
        mt_kx_binary(p, MT_KX_AND, c->valid_h,
                     mt_kx_binary(p, MT_KX_AND, mt_kx_binary(p, MT_KX_GE, iw, mt_kx_int(p, 0)),
                                  mt_kx_binary(p, MT_KX_LT, iw, mt_kx_int(p, W))));
    mt_kexpr *i[MT_MAX_RANK] = {c->n, c->c};
    if (c->ih)
        i[2] = c->ih;
    i[r - 1] = mt_kx_binary(p, MT_KX_MAX, mt_kx_binary(p, MT_KX_MIN, iw, mt_kx_int(p, W - 1)),
                            mt_kx_int(p, 0));
    mt_kexpr *v = mt_lower_value(s, c->x, i);
    mt_ktype kt = mt_ktype_of(c->tx->dtype);
    return mt_kx_select(p, valid, v, mt_kx_float(p, kt, 0.0));
}

static void lower_conv(mt_lower_state *s)
{
    const mt_graph *g = s->g;
    mt_kprog *p = s->p;
    const mt_node *n = &g->nodes[s->core];
    const mt_type *tx = &g->nodes[n->in[0]].type, *tw = &g->nodes[n->in[1]].type, *t = &n->type;
    int two = n->op == MT_OP_CONV2D;
    int out = s->buf_of[s->root];
    mt_kexpr *idx[MT_MAX_RANK], *var[MT_MAX_RANK];
    int nrows = open_rows(s, t, idx, var);
    zero_row(s, out, t, idx);
    conv_ctx c = {.x = n->in[0],
                  .tx = tx,
                  .n = idx[0],
                  .sw = n->attrs->stride[two],
                  .pw = n->attrs->padding[two]};
    c.valid_h = mt_kx_uint(p, MT_KT_BOOL, 1);
    mt_kexpr *ci = mt_lower_open(s, tx->dims[1], 0);
    c.c = ci;
    mt_kexpr *kh = NULL;
    if (two) {
        kh = mt_lower_open(s, tw->dims[2], 0);
        int64_t H = tx->dims[2];
        mt_kexpr *ih = mt_kx_binary(
            p, MT_KX_ADD, mt_kx_binary(p, MT_KX_MUL, idx[2], mt_kx_int(p, n->attrs->stride[0])),
            mt_kx_binary(p, MT_KX_SUB, kh, mt_kx_int(p, n->attrs->padding[0])));
        c.valid_h = mt_kx_binary(p, MT_KX_AND, mt_kx_binary(p, MT_KX_GE, ih, mt_kx_int(p, 0)),
                                 mt_kx_binary(p, MT_KX_LT, ih, mt_kx_int(p, H)));
        c.ih = mt_kx_binary(p, MT_KX_MAX, mt_kx_binary(p, MT_KX_MIN, ih, mt_kx_int(p, H - 1)),
                            mt_kx_int(p, 0));
    }
    mt_kexpr *kw = mt_lower_open(s, tw->dims[tw->rank - 1], 0);
    c.kw = kw;
    mt_kexpr *wi[MT_MAX_RANK] = {idx[1], ci};
    if (two)
        wi[2] = kh;
    wi[tw->rank - 1] = kw;
    mt_kexpr *w = mt_lower_value(s, n->in[1], wi);
    accumulate_row(s, out, t, idx, w, conv_x, &c);
    mt_lower_close(s, kw);
    if (two)
        mt_lower_close(s, kh);
    mt_lower_close(s, ci);
    epilogue_row(s, t, idx);
    close_rows(s, nrows, var);
}

void mt_lower_contract(mt_lower_state *s, const char *note)
{
    if (s->g->nodes[s->core].op == MT_OP_MATMUL)
        lower_matmul(s);
    else if (!mt_lower_conv_gemm(s, note))
        lower_conv(s);
}
