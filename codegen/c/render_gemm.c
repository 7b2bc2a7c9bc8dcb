/* render_gemm.c - GEMM statements in C-style source: a tiled local-memory kernel with the fused
 * epilogue, or a row at a time (render.h).
 *
 * The GPU targets describe themselves with has_gemm = 1, so lowering writes a matmul (and a
 * convolution, through its patch matrix: passes/lower_conv.c) as a parallel loop over the rows
 * of C whose body is `gemm C row r = A . B` followed by the epilogue (bias, relu, ...) over the
 * row. A kernel of exactly that form whose epilogue touches each element of the row on its own
 * is rendered tiled (mt_c_gemm_tiled):
 *
 *   - a work-group of 256 work-items (16 x 16) per tile of TM x TN elements of C, TM = TN =
 *     16 R, each work-item holding an R x R block of sums in registers (R = 4, 2 or 1 by the
 *     size of C, so small products still make several groups); tiles in a grid-stride loop;
 *   - K in steps of 16: the group copies a 16-deep slice of A's rows and B's columns into local
 *     memory (zero outside the matrices), waits, and every work-item adds the slice's 16
 *     products to each of its sums in order of k, then waits again;
 *   - each work-item then stores its elements of C and runs the epilogue's statements for each
 *     of them, with the row and column loop variables set to the element's.
 *
 * Every element of C is a sum over k = 0, 1, ..., K-1 in that order, in C's own type, whatever
 * the tile size, the device or the dialect; the row-at-a-time rendering (any other GEMM
 * statement) adds in the same order, so the two give the same bits.
 *
 * The epilogue qualifies when it is the row's declarations and parallel loops over the row's
 * N columns whose bodies only declare and store, no buffer the kernel writes overlaps another,
 * and every load of a written buffer and every store is at the element's own index r * N + j
 * (checked by evaluating the index at every element of C up to 2^16, else on a 256 x 256 grid
 * spread over it).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "codegen/c/render.h"
#include "ir/type.h"

#define THREADS 256 /* 16 x 16 */
#define SIDE 16
#define TK 16

typedef struct gemm_shape {
    const mt_kstmt *row;  /* the parallel loop over the rows of C */
    const mt_kstmt *gemm; /* its first statement */
    int64_t M, N, K, batches;
    int reg; /* R: each work-item's block of sums is R x R */
} gemm_shape;

static void shape_of(const mt_kgemm *g, int64_t rows, gemm_shape *s)
{
    s->M = g->ta.dims[g->ta.rank - 2];
    s->K = g->ta.dims[g->ta.rank - 1];
    s->N = g->tb.dims[g->tb.rank - 1];
    s->batches = rows / s->M;
    int64_t elems = rows * s->N;
    s->reg = elems >= (int64_t)1 << 20 ? 4 : elems >= (int64_t)1 << 16 ? 2 : 1;
}

/* ---- the epilogue's indices ------------------------------------------------------------ */

/* The value of i64 expression x with loop r at rv and loop j at jv; 0 in *ok when x uses
 * anything else or an operation outside index arithmetic. */
static int64_t eval(const mt_kexpr *x, int r, int64_t rv, int j, int64_t jv, int *ok)
{
    if (!*ok || !x || x->type != MT_KT_I64)
        return *ok = 0, 0;
    if (x->op == MT_KX_CONST)
        return x->c.i;
    if (x->op == MT_KX_VAR && (x->id == r || x->id == j))
        return x->id == r ? rv : jv;
    if (x->nargs != 2)
        return *ok = 0, 0;
    int64_t a = eval(x->args[0], r, rv, j, jv, ok), b = eval(x->args[1], r, rv, j, jv, ok);
    switch (x->op) {
    case MT_KX_ADD: return a + b;
    case MT_KX_SUB: return a - b;
    case MT_KX_MUL: return a * b;
    case MT_KX_DIV: return b > 0 ? a / b : (*ok = 0);
    case MT_KX_MOD: return b > 0 ? a % b : (*ok = 0);
    case MT_KX_MIN: return a < b ? a : b;
    case MT_KX_MAX: return a > b ? a : b;
    default: return *ok = 0, 0;
    }
}

/* The i-th of n points spread over [0, size): all of them when size <= n (ends included). */
static int64_t spread(int64_t i, int64_t n, int64_t size)
{
    return size <= n ? i : i * (size - 1) / (n - 1);
}

/* Whether index x is r * N + j: at every element when C has at most 2^16, else on a grid of
 * 256 rows by 256 columns spread over C (the first and last of each included). */
static int own_index(const mt_kexpr *x, int r, int j, int64_t rows, int64_t N, int64_t M)
{
    (void)M;
    int64_t nr = rows * N <= 65536 ? rows : rows < 256 ? rows : 256;
    int64_t nc = rows * N <= 65536 ? N : N < 256 ? N : 256;
    for (int64_t a = 0; a < nr; a++)
        for (int64_t b = 0; b < nc; b++) {
            int64_t rv = spread(a, nr, rows), jv = spread(b, nc, N);
            int ok = 1;
            if (eval(x, r, rv, j, jv, &ok) != rv * N + jv || !ok)
                return 0;
        }
    return 1;
}

typedef struct echeck {
    const mt_kernel *k;
    int r, j;
    int64_t rows, N, M;
    int ok;
    int budget;
} echeck;

/* Loads of written buffers in x are at the element's own index. */
static void check_loads(echeck *e, const mt_kexpr *x)
{
    if (!x || !e->ok)
        return;
    if (--e->budget < 0) {
        e->ok = 0;
        return;
    }
    if (x->op == MT_KX_LOAD && (mt_kernel_access(e->k, x->id) & MT_KACC_WRITE) &&
        !own_index(x->args[0], e->r, e->j, e->rows, e->N, e->M))
        e->ok = 0;
    for (int i = 0; i < x->nargs; i++)
        check_loads(e, x->args[i]);
}

/* ---- which kernels are tiled ----------------------------------------------------------- */

static int tiled_shape(const mt_kernel *k, gemm_shape *s)
{
    const mt_kstmt *row = k->body;
    if (!row || row->next || row->kind != MT_KS_FOR || !(row->flags & MT_KLOOP_PARALLEL))
        return 0;
    const mt_kstmt *g = row->body;
    if (!g || g->kind != MT_KS_GEMM || g->index->op != MT_KX_VAR || g->index->id != row->id)
        return 0;
    for (int i = 0; i < k->nbufs; i++)
        if ((k->access[i] & MT_KACC_WRITE) && !(k->access[i] & MT_KACC_NOALIAS))
            return 0;
    memset(s, 0, sizeof *s);
    s->row = row;
    s->gemm = g;
    shape_of(g->gemm, row->trip, s);
    echeck e = {k, row->id, -1, row->trip, s->N, s->M, 1, 1 << 20};
    for (const mt_kstmt *t = g->next; t && e.ok; t = t->next) {
        if (t->kind == MT_KS_DECL) {
            check_loads(&e, t->value);
            continue;
        }
        if (t->kind != MT_KS_FOR || !(t->flags & MT_KLOOP_PARALLEL) || t->trip != s->N)
            return 0;
        e.j = t->id;
        for (const mt_kstmt *b = t->body; b && e.ok; b = b->next) {
            if (b->kind != MT_KS_DECL && b->kind != MT_KS_STORE)
                return 0;
            check_loads(&e, b->value);
            if (b->kind == MT_KS_STORE && !own_index(b->index, e.r, e.j, e.rows, e.N, e.M))
                return 0;
        }
    }
    return e.ok;
}

static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

int64_t mt_c_gemm_tiles(const mt_kernel *k)
{
    gemm_shape s;
    if (!tiled_shape(k, &s))
        return 0;
    int64_t side = SIDE * s.reg;
    return s.batches * cdiv(s.M, side) * cdiv(s.N, side);
}

/* ---- rendering ------------------------------------------------------------------------- */

static void line(mt_c_rctx *c, int ind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void line(mt_c_rctx *c, int ind, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    mt_c_indent(c->b, ind);
    mt_buf_puts(c->b, text);
    mt_buf_puts(c->b, "\n");
}

/* `const i64 aoff = ..., boff = ...;`: the element offsets of batch `bt` (a C variable) in A
 * and B, broadcast along C's batch axes as matmul's are. */
static void batch_offsets(mt_c_rctx *c, const mt_kgemm *g, int64_t M, int64_t N, int64_t K, int ind)
{
    const char *i64 = c->dl->types[MT_KT_I64];
    mt_type tc;
    if (!mt_kgemm_result_type(g, &c->p->bufs[g->c].type, &tc)) {
        c->fail = mt_diag_set(c->d, MT_ERR_INTERNAL, "%s: a product does not fit its result",
                              c->dl->name);
        return;
    }
    mt_type bc = tc, ba = g->ta, bb = g->tb;
    bc.rank -= 2;
    ba.rank -= 2;
    bb.rank -= 2;
    int64_t sa[MT_MAX_RANK], sb[MT_MAX_RANK], sc[MT_MAX_RANK];
    mt_broadcast_strides(&ba, &bc, sa);
    mt_broadcast_strides(&bb, &bc, sb);
    mt_type_strides(&bc, sc);
    for (int op = 0; op < 2; op++) {
        const int64_t *st = op ? sb : sa;
        int64_t size = op ? K * N : M * K;
        mt_c_indent(c->b, ind);
        mt_buf_printf(c->b, "const %s %s = 0", i64, op ? "boff" : "aoff");
        for (int i = 0; i < bc.rank; i++)
            if (st[i])
                mt_buf_printf(c->b, " + (bt / %lld %% %lld) * %lld", (long long)sc[i],
                              (long long)bc.dims[i], (long long)(st[i] * size));
        mt_buf_puts(c->b, ";\n");
    }
}

/* A[m, k] and B[k, j] of the batch (C variables named by the arguments). */
static void a_at(mt_buf *b, const mt_kgemm *g, int64_t M, int64_t K, const char *m, const char *k)
{
    if (g->trans_a)
        mt_buf_printf(b, "b%d[aoff + %s * %lld + %s]", g->a, k, (long long)M, m);
    else
        mt_buf_printf(b, "b%d[aoff + %s * %lld + %s]", g->a, m, (long long)K, k);
}

static void b_at(mt_buf *b, const mt_kgemm *g, int64_t K, int64_t N, const char *k, const char *j)
{
    if (g->trans_b)
        mt_buf_printf(b, "b%d[boff + %s * %lld + %s]", g->b, j, (long long)K, k);
    else
        mt_buf_printf(b, "b%d[boff + %s * %lld + %s]", g->b, k, (long long)N, j);
}

void mt_c_render_gemm_row(mt_c_rctx *c, const mt_kstmt *s, int ind)
{
    const mt_kgemm *g = s->gemm;
    gemm_shape sh;
    shape_of(g, 1, &sh);
    int64_t M = sh.M, N = sh.N, K = sh.K;
    const char *i64 = c->dl->types[MT_KT_I64];
    const char *t = c->dl->types[mt_ktype_of(g->ta.dtype)];
    line(c, ind, "{");
    mt_c_indent(c->b, ind + 1);
    mt_buf_printf(c->b, "const %s gr = ", i64);
    mt_c_render_expr(c->b, c->dl, c->m, s->index, 1);
    mt_buf_puts(c->b, ";\n");
    line(c, ind + 1, "const %s bt = gr / %lld, gm = gr %% %lld;", i64, (long long)M, (long long)M);
    line(c, ind + 1, "(void)bt; /* no batch axes: no offsets */");
    batch_offsets(c, g, M, N, K, ind + 1);
    line(c, ind + 1, "for (%s gj = 0; gj < %lld; gj++) {", i64, (long long)N);
    line(c, ind + 2, "%s acc = 0;", t);
    line(c, ind + 2, "for (%s gk = 0; gk < %lld; gk++)", i64, (long long)K);
    mt_c_indent(c->b, ind + 3);
    mt_buf_puts(c->b, "acc = acc + ");
    a_at(c->b, g, M, K, "gm", "gk");
    mt_buf_puts(c->b, " * ");
    b_at(c->b, g, K, N, "gk", "gj");
    mt_buf_puts(c->b, ";\n");
    line(c, ind + 2, "b%d[gr * %lld + gj] = acc;", g->c, (long long)N);
    line(c, ind + 1, "}");
    line(c, ind, "}");
}

/* The epilogue of element (r, j): the row's declarations and each column loop's body. */
static void epilogue(mt_c_rctx *c, const gemm_shape *s, int ind)
{
    const char *i64 = c->dl->types[MT_KT_I64];
    if (!s->gemm->next)
        return;
    /* Declarations and stores name the row variable; unused ones would warn. */
    line(c, ind, "const %s i%d = gr;", i64, s->row->id);
    line(c, ind, "(void)i%d;", s->row->id);
    for (const mt_kstmt *t = s->gemm->next; t && c->fail == MT_OK; t = t->next) {
        if (t->kind == MT_KS_DECL) {
            mt_c_render_stmt(c, t, ind);
            continue;
        }
        line(c, ind, "{");
        line(c, ind + 1, "const %s i%d = gj;", i64, t->id);
        mt_c_render_block(c, t->body, ind + 1);
        line(c, ind, "}");
    }
}

void mt_c_render_gemm_kernel(mt_c_rctx *c, const mt_kernel *k)
{
    gemm_shape s;
    if (!tiled_shape(k, &s))
        return;
    const mt_c_dialect *dl = c->dl;
    const mt_kgemm *g = s.gemm->gemm;
    const char *i64 = dl->types[MT_KT_I64];
    const char *t = dl->types[mt_ktype_of(g->ta.dtype)];
    int R = s.reg, side = SIDE * s.reg;
    int64_t M = s.M, N = s.N, K = s.K;
    int64_t tm = cdiv(M, side), tn = cdiv(N, side);
    line(c, 1, "%s%s As[%d], Bs[%d];", dl->local, t, TK * side, TK * side);
    line(c, 1, "const %s lid = %s;", i64, dl->local_id);
    line(c, 1, "const %s ty = lid / %d, tx = lid %% %d;", i64, SIDE, SIDE);
    line(c, 1, "for (%s tile = %s; tile < %lld; tile += %s) {", i64, dl->group_id,
         (long long)(s.batches * tm * tn), dl->group_num);
    line(c, 2, "const %s bt = tile / %lld;", i64, (long long)(tm * tn));
    line(c, 2, "const %s m0 = tile / %lld %% %lld * %d, n0 = tile %% %lld * %d;", i64,
         (long long)tn, (long long)tm, side, (long long)tn, side);
    batch_offsets(c, g, M, N, K, 2);
    line(c, 2, "%s acc[%d];", t, R * R);
    line(c, 2, "for (int e = 0; e < %d; e++)", R * R);
    line(c, 3, "acc[e] = 0;");
    line(c, 2, "for (%s k0 = 0; k0 < %lld; k0 += %d) {", i64, (long long)K, TK);
    /* The slices: TK x side elements each, read along the operand's contiguous axis. */
    for (int op = 0; op < 2; op++) {
        int along_k = op ? g->trans_b : !g->trans_a; /* the buffer's rows run along k */
        const char *arr = op ? "Bs" : "As", *x = op ? "gj" : "gm";
        line(c, 2 + 1, "for (int e = 0; e < %d; e++) {", TK * side / THREADS);
        line(c, 4, "const %s f = lid + %d * e;", i64, THREADS);
        if (along_k)
            line(c, 4, "const %s kk = f %% %d, xx = f / %d;", i64, TK, TK);
        else
            line(c, 4, "const %s kk = f / %d, xx = f %% %d;", i64, side, side);
        line(c, 4, "const %s gk = k0 + kk, %s = %s + xx;", i64, x, op ? "n0" : "m0");
        mt_c_indent(c->b, 4);
        mt_buf_printf(c->b, "%s[kk * %d + xx] = gk < %lld && %s < %lld ? ", arr, side, (long long)K,
                      x, (long long)(op ? N : M));
        if (op)
            b_at(c->b, g, K, N, "gk", "gj");
        else
            a_at(c->b, g, M, K, "gm", "gk");
        mt_buf_printf(c->b, " : (%s)0;\n", t);
        line(c, 3, "}");
    }
    line(c, 3, "%s;", dl->barrier);
    line(c, 3, "for (int kk = 0; kk < %d; kk++) {", TK);
    line(c, 4, "%s a[%d], b[%d];", t, R, R);
    line(c, 4, "for (int e = 0; e < %d; e++) {", R);
    line(c, 5, "a[e] = As[kk * %d + ty + %d * e];", side, SIDE);
    line(c, 5, "b[e] = Bs[kk * %d + tx + %d * e];", side, SIDE);
    line(c, 4, "}");
    line(c, 4, "for (int p = 0; p < %d; p++)", R);
    line(c, 5, "for (int q = 0; q < %d; q++)", R);
    line(c, 6, "acc[p * %d + q] = acc[p * %d + q] + a[p] * b[q];", R, R);
    line(c, 3, "}");
    line(c, 3, "%s;", dl->barrier);
    line(c, 2, "}");
    line(c, 2, "for (int p = 0; p < %d; p++)", R);
    line(c, 3, "for (int q = 0; q < %d; q++) {", R);
    line(c, 4, "const %s gm = m0 + ty + %d * p, gj = n0 + tx + %d * q;", i64, SIDE, SIDE);
    line(c, 4, "if (gm < %lld && gj < %lld) {", (long long)M, (long long)N);
    line(c, 5, "const %s gr = bt * %lld + gm;", i64, (long long)M);
    line(c, 5, "b%d[gr * %lld + gj] = acc[p * %d + q];", g->c, (long long)N, R);
    epilogue(c, &s, 5);
    line(c, 4, "}");
    line(c, 3, "}");
    line(c, 1, "}");
}
