/* lower_conv.c - conv1d and conv2d as a GEMM over a patch matrix (im2col).
 *
 * x[N, C, (H,) W] with weight w[O, C, (KH,) KW] -> y[N, O, (OH,) OW]: with P = OH * OW output
 * positions and CK = C * KH * KW taps, each batch entry is the product
 *
 *   y[n] (O x P) = w (O x CK) . patches[n] (CK x P),  patches[n][c,kh,kw][oh,ow] = x[n, c, ih, iw]
 *
 * (ih = oh * sh + kh - ph, iw likewise; 0 in the padding). The kernel becomes up to three:
 *
 *   weights  w copied row-major into a temporary [O, CK], unless it is already a stored buffer
 *            (a param: the product reads it in place as [O, CK]);
 *   patches  one parallel iteration per row (n, c, kh, kw) of the temporary [N, CK, P], which
 *            reads x through its movement ops (the dilation, padding and flips that autodiff's
 *            convolutions are made of stay index arithmetic, as in the direct loops);
 *   product  the kernel proper: one parallel loop over the N * O rows of y seen as [N, O, P]
 *            (mt_kgemm_result_type), each row a GEMM statement with the weights broadcast over
 *            the batch, then the fused epilogue (bias, relu) over the row while it is in cache.
 *
 * y's buffer is written in its own layout [N, O, OH, OW], so nothing is permuted afterwards.
 * Both backward convolutions that autodiff makes (passes/autodiff_rules.c, vjp_conv) are
 * stride-1 convs of this form: dx convolves the dilated, padded dy (N x O x ...) with the
 * flipped weight, and dw convolves x with batch and channels swapped ([C, N, H, W]) by the
 * dilated dy as the kernel ([O, N, ...]), so its sum over the batch is the K = N * OH' * OW'
 * of the product. The GEMM sums every element in one fixed order whichever rows a thread
 * computes, so results do not depend on the thread count.
 *
 * The patch matrix costs N * CK * P elements of memory; a conv whose matrices would exceed the
 * target's im2col_max_bytes keeps the direct loops (lower_contract.c), as does a target
 * without a GEMM.
 */
#include <stdio.h>
#include <string.h>

#include "ir/alloc.h"
#include "passes/lower_conv.h"

typedef struct conv_shape {
    int sp;                   /* spatial axes: 1 or 2 */
    int64_t n, c, o;          /* batch, input channels, output channels */
    int64_t x[2], k[2], y[2]; /* spatial sizes of the input, the kernel and the output */
    int64_t stride[2], pad[2];
    int64_t taps, positions; /* CK = C * prod(k), P = prod(y) */
} conv_shape;

static conv_shape shape_of(const mt_graph *g, const mt_node *n)
{
    const mt_type *tx = &g->nodes[n->in[0]].type, *tw = &g->nodes[n->in[1]].type;
    conv_shape c = {.sp = tx->rank - 2, .n = tx->dims[0], .c = tx->dims[1], .o = tw->dims[0]};
    c.taps = c.c;
    c.positions = 1;
    for (int i = 0; i < c.sp; i++) {
        c.x[i] = tx->dims[2 + i];
        c.k[i] = tw->dims[2 + i];
        c.y[i] = n->type.dims[2 + i];
        c.stride[i] = n->attrs->stride[i];
        c.pad[i] = n->attrs->padding[i];
        c.taps *= c.k[i];
        c.positions *= c.y[i];
    }
    return c;
}

static char *suffixed(const char *note, const char *suffix)
{
    size_t len = strlen(note ? note : "") + strlen(suffix) + 1;
    char *s = mt_malloc(len);
    if (s)
        snprintf(s, len, "%s%s", note ? note : "", suffix);
    return s;
}

/* A temporary of the conv's dtype and shape dims[0 .. rank-1], named after the conv; -1 (and
 * the state marked out of memory) when it cannot be made. */
static int temp(mt_lower_state *s, const char *suffix, int rank, const int64_t *dims)
{
    const mt_node *n = &s->g->nodes[s->core];
    mt_type t = mt_type_make(n->type.dtype, rank, dims);
    char name[300];
    snprintf(name, sizeof name, "%s.%s", n->name, suffix);
    int b = mt_kprog_add_buf(s->p, MT_KBUF_TEMP, &t, s->core, name);
    if (b < 0)
        s->oom = 1;
    return b;
}

/* The weights kernel: w's value, whatever movement ops it is made of, stored row-major into
 * buffer `out` (w's own shape, read by the product as [O, CK]). */
static void copy_weights(mt_lower_state *s, int w, int out)
{
    const mt_type *t = &s->g->nodes[w].type;
    mt_kexpr *idx[MT_MAX_RANK], *var[MT_MAX_RANK];
    int last = t->rank - 1, nl = mt_lower_open_outer(s, t, last, idx, var);
    idx[last] = var[nl++] = mt_lower_open(s, t->dims[last], MT_KLOOP_PARALLEL);
    mt_lower_emit(s, mt_ks_store(s->p, out, mt_lower_flat(s, t, idx), mt_lower_value(s, w, idx)));
    mt_lower_close_outer(s, var, nl);
}

/* The patches kernel: row r = (n, c, kh, kw) of buffer `out` ([N, CK, P]) holds, at output
 * position (oh, ow), x[n, c, oh * sh + kh - ph, ow * sw + kw - pw], or 0 in the padding.
 * Indices are clamped so that the load stays in bounds whichever way the select goes. */
static void copy_patches(mt_lower_state *s, const conv_shape *c, int x, int out)
{
    mt_kprog *p = s->p;
    const mt_type *tx = &s->g->nodes[x].type;
    mt_kexpr *r = mt_lower_open(s, c->n * c->taps, MT_KLOOP_PARALLEL);
    mt_kexpr *xi[MT_MAX_RANK];
    xi[0] = mt_kx_binary(p, MT_KX_DIV, r, mt_kx_int(p, c->taps));
    mt_kexpr *tap = mt_kx_binary(p, MT_KX_MOD, r, mt_kx_int(p, c->taps));
    int64_t kk = c->taps / c->c; /* taps per channel */
    xi[1] = mt_kx_binary(p, MT_KX_DIV, tap, mt_kx_int(p, kk));
    mt_kexpr *kpos[2], *ypos[2], *yvar[2];
    int64_t inner = 1;
    for (int i = c->sp - 1; i >= 0; i--) {
        kpos[i] = mt_kx_binary(p, MT_KX_MOD, mt_kx_binary(p, MT_KX_DIV, tap, mt_kx_int(p, inner)),
                               mt_kx_int(p, c->k[i]));
        inner *= c->k[i];
    }
    mt_kexpr *valid = mt_kx_uint(p, MT_KT_BOOL, 1);
    for (int i = 0; i < c->sp; i++) {
        ypos[i] = yvar[i] = mt_lower_open(s, c->y[i], MT_KLOOP_PARALLEL);
        mt_kexpr *at = mt_kx_binary(p, MT_KX_ADD,
                                    mt_kx_binary(p, MT_KX_MUL, ypos[i], mt_kx_int(p, c->stride[i])),
                                    mt_kx_binary(p, MT_KX_SUB, kpos[i], mt_kx_int(p, c->pad[i])));
        valid =
            mt_kx_binary(p, MT_KX_AND, valid,
                         mt_kx_binary(p, MT_KX_AND, mt_kx_binary(p, MT_KX_GE, at, mt_kx_int(p, 0)),
                                      mt_kx_binary(p, MT_KX_LT, at, mt_kx_int(p, c->x[i]))));
        xi[2 + i] =
            mt_kx_binary(p, MT_KX_MAX, mt_kx_binary(p, MT_KX_MIN, at, mt_kx_int(p, c->x[i] - 1)),
                         mt_kx_int(p, 0));
    }
    mt_kexpr *v = mt_kx_select(p, valid, mt_lower_value(s, x, xi),
                               mt_kx_float(p, mt_ktype_of(tx->dtype), 0.0));
    mt_kexpr *at = r;
    for (int i = 0; i < c->sp; i++)
        at = mt_kx_binary(p, MT_KX_ADD, mt_kx_binary(p, MT_KX_MUL, at, mt_kx_int(p, c->y[i])),
                          ypos[i]);
    mt_lower_emit(s, mt_ks_store(p, out, at, v));
    for (int i = c->sp - 1; i >= 0; i--)
        mt_lower_close(s, yvar[i]);
    mt_lower_close(s, r);
}

/* The product kernel's body: row r = (n, o) of y by the GEMM statement, then the epilogue over
 * the row's positions. */
static void product(mt_lower_state *s, const conv_shape *c, const mt_kgemm *gm)
{
    mt_kprog *p = s->p;
    mt_kexpr *r = mt_lower_open(s, c->n * c->o, MT_KLOOP_PARALLEL);
    mt_lower_emit(s, mt_ks_gemm(p, gm, r));
    if (s->root != s->core) {
        mt_kexpr *idx[MT_MAX_RANK], *var[2];
        idx[0] = mt_kx_binary(p, MT_KX_DIV, r, mt_kx_int(p, c->o));
        idx[1] = mt_kx_binary(p, MT_KX_MOD, r, mt_kx_int(p, c->o));
        for (int i = 0; i < c->sp; i++)
            idx[2 + i] = var[i] = mt_lower_open(s, c->y[i], MT_KLOOP_PARALLEL);
        mt_lower_epilogue(s, idx);
        for (int i = c->sp - 1; i >= 0; i--)
            mt_lower_close(s, var[i]);
    }
    mt_lower_close(s, r);
}

int mt_lower_conv_gemm(mt_lower_state *s, const char *note)
{
    const mt_graph *g = s->g;
    const mt_node *n = &g->nodes[s->core];
    if (!s->t->has_gemm || (n->op != MT_OP_CONV1D && n->op != MT_OP_CONV2D))
        return 0;
    conv_shape c = shape_of(g, n);
    int x = n->in[0], w = n->in[1];
    int w_stored = s->buf_of[w] >= 0;
    int64_t elem = mt_dtype_size(n->type.dtype);
    int64_t bytes = c.n * c.taps * c.positions * elem + (w_stored ? 0 : c.o * c.taps * elem);
    if (bytes > s->t->im2col_max_bytes)
        return 0;

    /* The product's operands: the weights as [O, CK], the patches as [batch..., CK, P] with
     * the batch axes of y seen as [N, O, P]. */
    mt_kgemm gm = {.c = s->buf_of[s->root]};
    int64_t wdims[2] = {c.o, c.taps};
    gm.ta = mt_type_make(n->type.dtype, 2, wdims);
    int64_t pdims[2] = {c.taps, c.positions};
    gm.tb = mt_type_make(n->type.dtype, 2, pdims);
    mt_type tc;
    if (!mt_kgemm_result_type(&gm, &s->p->bufs[gm.c].type, &tc)) {
        if (!s->bug)
            s->bug = "a conv's result does not hold its product";
        return 1;
    }
    gm.tb = tc;
    gm.tb.dims[tc.rank - 2] = c.taps;
    gm.tb.dims[tc.rank - 1] = c.positions;

    char *note_w = suffixed(note, " (weights)"), *note_p = suffixed(note, " (patches)");
    if (!note_w || !note_p)
        s->oom = 1;
    int root = s->root;
    gm.a =
        w_stored ? s->buf_of[w] : temp(s, "weights", g->nodes[w].type.rank, g->nodes[w].type.dims);
    gm.b = temp(s, "patches", gm.tb.rank, gm.tb.dims);
    if (!s->oom && !w_stored) {
        mt_lower_begin(s, s->core, s->core);
        copy_weights(s, w, gm.a);
        mt_lower_finish(s, note_w);
    }
    if (!s->oom) {
        mt_lower_begin(s, s->core, s->core);
        copy_patches(s, &c, x, gm.b);
        mt_lower_finish(s, note_p);
        mt_lower_begin(s, root, s->core);
        product(s, &c, &gm);
    }
    mt_free(note_w);
    mt_free(note_p);
    return 1;
}
