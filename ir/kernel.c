/* kernel.c - building kernel IR: programs, buffers, expressions with index simplification,
 * statements. The printer is ir/kernel_print.c; a kernel's buffer list, ir/kernel_bufs.c.
 *
 * Index expressions come out of lowering as compositions of movement ops: a reshape turns
 * indices into a flat offset and back with / and %, a pad or concat clamps with min and max.
 * The constructors here fold what is provably redundant (x % n where 0 <= x < n, the
 * (a*n + b) / n = a split, clamps that never bite) using conservative value ranges, so a
 * kernel over contiguous data indexes it with plain affine expressions that LLVM vectorizes.
 */
#include "ir/kernel.h"

#include <math.h>
#include <string.h>

#include "ir/alloc.h"
#include "ir/type.h"

/* ---- programs and buffers -------------------------------------------------------------- */

mt_kprog *mt_kprog_new(const char *name)
{
    mt_kprog *p = mt_calloc(1, sizeof *p);
    if (!p)
        return NULL;
    mt_arena_init(&p->arena);
    p->exec.gemm_rows = 1;
    p->name = mt_arena_strdup(&p->arena, name ? name : "main");
    if (!p->name) {
        mt_kprog_free(p);
        return NULL;
    }
    return p;
}

void mt_kprog_free(mt_kprog *p)
{
    if (!p)
        return;
    mt_arena_fini(&p->arena);
    mt_free(p->bufs);
    mt_free(p->kernels);
    mt_free(p);
}

int mt_kprog_add_buf(mt_kprog *p, mt_kbuf_kind kind, const mt_type *type, int node,
                     const char *name)
{
    if (p->nbufs == p->bufs_cap) {
        int cap = p->bufs_cap ? 2 * p->bufs_cap : 16;
        mt_kbuf *b = mt_realloc(p->bufs, (size_t)cap * sizeof *b);
        if (!b)
            return -1;
        p->bufs = b;
        p->bufs_cap = cap;
    }
    const char *copy = mt_arena_strdup(&p->arena, name ? name : "");
    if (!copy)
        return -1;
    mt_kbuf *b = &p->bufs[p->nbufs];
    memset(b, 0, sizeof *b);
    b->kind = kind;
    b->type = *type;
    b->numel = mt_type_numel(type);
    b->node = node;
    b->output = -1;
    b->offset = -1;
    b->name = copy;
    return p->nbufs++;
}

int mt_kprog_add_kernel(mt_kprog *p, const mt_kernel *k)
{
    if (p->nkernels == p->kernels_cap) {
        int cap = p->kernels_cap ? 2 * p->kernels_cap : 16;
        mt_kernel *ks = mt_realloc(p->kernels, (size_t)cap * sizeof *ks);
        if (!ks)
            return -1;
        p->kernels = ks;
        p->kernels_cap = cap;
    }
    p->kernels[p->nkernels] = *k;
    return p->nkernels++;
}

int mt_kernel_is_parallel(const mt_kernel *k)
{
    return k->body && !k->body->next && k->body->kind == MT_KS_FOR &&
           (k->body->flags & MT_KLOOP_PARALLEL);
}

const mt_kgemm *mt_kernel_gemm(const mt_kernel *k)
{
    if (!mt_kernel_is_parallel(k))
        return NULL;
    const mt_kstmt *s = k->body->body;
    if (!s || s->kind != MT_KS_GEMM || s->index->op != MT_KX_VAR || s->index->id != k->body->id)
        return NULL;
    return s->gemm;
}

int64_t mt_kgemm_row_macs(const mt_kgemm *g)
{
    return g->tb.dims[g->tb.rank - 2] * g->tb.dims[g->tb.rank - 1];
}

int mt_kgemm_result_type(const mt_kgemm *g, const mt_type *buf, mt_type *out)
{
    if (g->ta.rank < 2 || g->tb.rank < 2 || buf->rank < 1)
        return 0;
    int64_t M = g->ta.dims[g->ta.rank - 2], N = g->tb.dims[g->tb.rank - 1];
    int r = buf->rank;
    *out = *buf;
    if (r >= 2 && buf->dims[r - 2] == M && buf->dims[r - 1] == N)
        return 1;
    int64_t tail = 1;
    int k = r;
    while (k > 0 && tail < M * N)
        tail *= buf->dims[--k];
    if (tail != M * N || k + 2 > MT_MAX_RANK)
        return 0;
    out->rank = k + 2;
    out->dims[k] = M;
    out->dims[k + 1] = N;
    return 1;
}

/* ---- types ----------------------------------------------------------------------------- */

mt_ktype mt_ktype_of(mt_dtype dt) { return dt == MT_DTYPE_F64 ? MT_KT_F64 : MT_KT_F32; }

const char *mt_ktype_name(mt_ktype t)
{
    static const char *const names[] = {"bool", "i64", "u32", "u64", "f32", "f64"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

static int is_float(mt_ktype t) { return t == MT_KT_F32 || t == MT_KT_F64; }

/* ---- value ranges ---------------------------------------------------------------------- */

#define LO_UNKNOWN INT64_MIN
#define HI_UNKNOWN INT64_MAX

static int ranged(const mt_kexpr *e) { return e->lo != LO_UNKNOWN && e->hi != HI_UNKNOWN; }

static int is_const(const mt_kexpr *e, int64_t v)
{
    return e->op == MT_KX_CONST && !is_float(e->type) && e->c.i == v;
}

static int is_iconst(const mt_kexpr *e) { return e->op == MT_KX_CONST && e->type == MT_KT_I64; }

static void set_unknown(mt_kexpr *e)
{
    e->lo = LO_UNKNOWN;
    e->hi = HI_UNKNOWN;
}

/* The range of a op b for i64 operands; unknown on any overflow. */
static void range_binary(mt_kexpr *e, const mt_kexpr *a, const mt_kexpr *b)
{
    set_unknown(e);
    if (!ranged(a) || !ranged(b))
        return;
    int64_t r[4];
    switch (e->op) {
    case MT_KX_ADD:
        if (__builtin_add_overflow(a->lo, b->lo, &e->lo) ||
            __builtin_add_overflow(a->hi, b->hi, &e->hi))
            set_unknown(e);
        return;
    case MT_KX_SUB:
        if (__builtin_sub_overflow(a->lo, b->hi, &e->lo) ||
            __builtin_sub_overflow(a->hi, b->lo, &e->hi))
            set_unknown(e);
        return;
    case MT_KX_MUL:
        if (__builtin_mul_overflow(a->lo, b->lo, &r[0]) ||
            __builtin_mul_overflow(a->lo, b->hi, &r[1]) ||
            __builtin_mul_overflow(a->hi, b->lo, &r[2]) ||
            __builtin_mul_overflow(a->hi, b->hi, &r[3]))
            return;
        e->lo = e->hi = r[0];
        for (int i = 1; i < 4; i++) {
            e->lo = r[i] < e->lo ? r[i] : e->lo;
            e->hi = r[i] > e->hi ? r[i] : e->hi;
        }
        return;
    case MT_KX_DIV:
        if (a->lo >= 0 && b->lo > 0) {
            e->lo = a->lo / b->hi;
            e->hi = a->hi / b->lo;
        }
        return;
    case MT_KX_MOD:
        if (a->lo >= 0 && b->lo > 0) {
            e->lo = 0;
            e->hi = a->hi < b->hi - 1 ? a->hi : b->hi - 1;
        }
        return;
    case MT_KX_MIN:
        e->lo = a->lo < b->lo ? a->lo : b->lo;
        e->hi = a->hi < b->hi ? a->hi : b->hi;
        return;
    case MT_KX_MAX:
        e->lo = a->lo > b->lo ? a->lo : b->lo;
        e->hi = a->hi > b->hi ? a->hi : b->hi;
        return;
    default: return;
    }
}

/* ---- constructors ---------------------------------------------------------------------- */

static mt_kexpr *node(mt_kprog *p, mt_kop op, mt_ktype t)
{
    mt_kexpr *e = mt_arena_alloc(&p->arena, sizeof *e);
    if (!e)
        return NULL;
    e->op = op;
    e->type = t;
    set_unknown(e);
    return e;
}

mt_kexpr *mt_kx_int(mt_kprog *p, int64_t v)
{
    mt_kexpr *e = node(p, MT_KX_CONST, MT_KT_I64);
    if (e) {
        e->c.i = v;
        e->lo = e->hi = v;
    }
    return e;
}

mt_kexpr *mt_kx_uint(mt_kprog *p, mt_ktype t, uint64_t v)
{
    mt_kexpr *e = node(p, MT_KX_CONST, t);
    if (!e)
        return NULL;
    if (t == MT_KT_U32)
        v &= 0xffffffffu;
    else if (t == MT_KT_BOOL)
        v = v != 0;
    e->c.i = (int64_t)v;
    return e;
}

mt_kexpr *mt_kx_float(mt_kprog *p, mt_ktype t, double v)
{
    mt_kexpr *e = node(p, MT_KX_CONST, t);
    if (e)
        e->c.f = t == MT_KT_F32 ? (double)(float)v : v;
    return e;
}

mt_kexpr *mt_kx_var(mt_kprog *p, int loop, int64_t trip)
{
    if (trip == 1)
        return mt_kx_int(p, 0);
    mt_kexpr *e = node(p, MT_KX_VAR, MT_KT_I64);
    if (e) {
        e->id = loop;
        e->lo = 0;
        e->hi = trip - 1;
    }
    return e;
}

mt_kexpr *mt_kx_scalar(mt_kprog *p, int scalar, mt_ktype t)
{
    mt_kexpr *e = node(p, MT_KX_SCALAR, t);
    if (e)
        e->id = scalar;
    return e;
}

mt_kexpr *mt_kx_load(mt_kprog *p, int buf, mt_ktype t, mt_kexpr *index)
{
    if (!index)
        return NULL;
    mt_kexpr *e = node(p, MT_KX_LOAD, t);
    if (e) {
        e->id = buf;
        e->nargs = 1;
        e->args[0] = index;
    }
    return e;
}

mt_kexpr *mt_kx_unary(mt_kprog *p, mt_kop op, mt_kexpr *a)
{
    if (!a)
        return NULL;
    if (op == MT_KX_NOT && a->op == MT_KX_CONST)
        return mt_kx_uint(p, MT_KT_BOOL, !a->c.i);
    mt_kexpr *e = node(p, op, a->type);
    if (e) {
        e->nargs = 1;
        e->args[0] = a;
    }
    return e;
}

mt_kexpr *mt_kx_cast(mt_kprog *p, mt_ktype t, mt_kexpr *a)
{
    if (!a)
        return NULL;
    if (a->type == t)
        return a;
    if (a->op == MT_KX_CONST && !is_float(a->type) && !is_float(t)) {
        if (t == MT_KT_I64)
            return mt_kx_int(p, a->c.i);
        return mt_kx_uint(p, t, (uint64_t)a->c.i);
    }
    mt_kexpr *e = node(p, MT_KX_CAST, t);
    if (e) {
        e->nargs = 1;
        e->args[0] = a;
        if (t == MT_KT_I64 && a->type == MT_KT_U32) {
            e->lo = 0;
            e->hi = UINT32_MAX;
        }
    }
    return e;
}

static mt_kexpr *make_binary(mt_kprog *p, mt_kop op, mt_kexpr *a, mt_kexpr *b)
{
    int cmp = op >= MT_KX_LT && op <= MT_KX_NE;
    mt_kexpr *e = node(p, op, cmp ? MT_KT_BOOL : a->type);
    if (!e)
        return NULL;
    e->nargs = 2;
    e->args[0] = a;
    e->args[1] = b;
    if (e->type == MT_KT_I64)
        range_binary(e, a, b);
    return e;
}

/* A sum of terms coef * e (e NULL for a constant), flattened from nested adds and
 * multiplications by constants. */
typedef struct term {
    mt_kexpr *e;
    int64_t k;
} term;

#define MAX_TERMS 24

/* Appends the terms of scale * x; returns the new count or -1 when it does not fit. */
static int collect_terms(mt_kexpr *x, int64_t scale, term *t, int n)
{
    if (n < 0)
        return -1;
    if (x->op == MT_KX_ADD && x->type == MT_KT_I64) {
        n = collect_terms(x->args[0], scale, t, n);
        return collect_terms(x->args[1], scale, t, n);
    }
    int64_t k = scale;
    if (x->op == MT_KX_MUL && x->type == MT_KT_I64 && is_iconst(x->args[1])) {
        if (__builtin_mul_overflow(scale, x->args[1]->c.i, &k))
            return -1;
        return collect_terms(x->args[0], k, t, n);
    }
    if (n == MAX_TERMS)
        return -1;
    if (is_iconst(x)) {
        if (__builtin_mul_overflow(scale, x->c.i, &k))
            return -1;
        t[n].e = NULL;
        t[n].k = k;
        return n + 1;
    }
    t[n].e = x;
    t[n].k = k;
    return n + 1;
}

/* The range of a sum of terms; 0 when unknown. */
static int terms_range(const term *t, int n, int64_t *lo, int64_t *hi)
{
    int64_t l = 0, h = 0;
    for (int i = 0; i < n; i++) {
        int64_t a, b;
        if (!t[i].e) {
            a = b = t[i].k;
        } else {
            if (!ranged(t[i].e) || __builtin_mul_overflow(t[i].e->lo, t[i].k, &a) ||
                __builtin_mul_overflow(t[i].e->hi, t[i].k, &b))
                return 0;
            if (a > b) {
                int64_t s = a;
                a = b;
                b = s;
            }
        }
        if (__builtin_add_overflow(l, a, &l) || __builtin_add_overflow(h, b, &h))
            return 0;
    }
    *lo = l;
    *hi = h;
    return 1;
}

static mt_kexpr *build_terms(mt_kprog *p, const term *t, int n)
{
    mt_kexpr *sum = mt_kx_int(p, 0);
    for (int i = 0; i < n; i++) {
        mt_kexpr *x = t[i].e ? mt_kx_binary(p, MT_KX_MUL, t[i].e, mt_kx_int(p, t[i].k))
                             : mt_kx_int(p, t[i].k);
        sum = mt_kx_binary(p, MT_KX_ADD, sum, x);
    }
    return sum;
}

static int64_t gcd64(int64_t a, int64_t b)
{
    while (b) {
        int64_t r = a % b;
        a = b;
        b = r;
    }
    return a;
}

/* x / c or x % c when no term of x is a multiple of c, but x = g*B + s with g dividing c and
 * 0 <= s < g: then x / c = B / (c/g) and x % c = (B % (c/g))*g + s. This is a reshape that
 * regroups digits, e.g. (24*i + j) / 48 = i / 2 for j in [0, 24), which reshapes between
 * [.., 12, 2, 12, 2] and [.., 24, 24] leave behind. NULL when no divisor g of c splits x. */
static mt_kexpr *divmod_digit(mt_kprog *p, mt_kop op, const term *t, int n, int64_t c)
{
    for (int i = 0; i < n; i++) {
        int64_t g = t[i].k > 0 ? gcd64(c, t[i].k) : 1;
        if (g <= 1 || g == c)
            continue;
        term big[MAX_TERMS], small[MAX_TERMS];
        int nb = 0, ns = 0;
        for (int j = 0; j < n; j++) {
            if (t[j].k % g == 0) {
                big[nb] = t[j];
                big[nb++].k /= g;
            } else {
                small[ns++] = t[j];
            }
        }
        int64_t lo, hi;
        if (!terms_range(small, ns, &lo, &hi) || lo < 0 || hi >= g ||
            !terms_range(big, nb, &lo, &hi) || lo < 0)
            continue;
        mt_kexpr *q = build_terms(p, big, nb);
        if (op == MT_KX_DIV)
            return mt_kx_binary(p, MT_KX_DIV, q, mt_kx_int(p, c / g));
        return mt_kx_binary(p, MT_KX_ADD,
                            mt_kx_binary(p, MT_KX_MUL,
                                         mt_kx_binary(p, MT_KX_MOD, q, mt_kx_int(p, c / g)),
                                         mt_kx_int(p, g)),
                            build_terms(p, small, ns));
    }
    return NULL;
}

/* x / c or x % c for x >= 0 and a constant c > 0: terms whose coefficient c divides leave
 * the remainder alone and pass through the quotient exactly. */
static mt_kexpr *divmod_terms(mt_kprog *p, mt_kop op, mt_kexpr *x, int64_t c)
{
    term t[MAX_TERMS], whole[MAX_TERMS], rest[MAX_TERMS];
    int n = collect_terms(x, 1, t, 0);
    if (n < 0)
        return NULL;
    int nw = 0, nr = 0;
    for (int i = 0; i < n; i++) {
        if (t[i].k % c == 0) {
            whole[nw] = t[i];
            whole[nw++].k /= c;
        } else {
            rest[nr++] = t[i];
        }
    }
    int64_t lo, hi;
    if (nw == 0)
        return divmod_digit(p, op, t, n, c);
    if (!terms_range(rest, nr, &lo, &hi) || lo < 0 || !terms_range(whole, nw, &lo, &hi) || lo < 0)
        return NULL; /* a part might be negative */
    mt_kexpr *r = build_terms(p, rest, nr);
    if (op == MT_KX_MOD)
        return mt_kx_binary(p, MT_KX_MOD, r, mt_kx_int(p, c));
    return mt_kx_binary(p, MT_KX_ADD, build_terms(p, whole, nw),
                        mt_kx_binary(p, MT_KX_DIV, r, mt_kx_int(p, c)));
}

/* Undoes index splits in a + b: c*k*(x / c) + k*(x % c) is k*x, and
 * c*k*((x / c) % d) + k*(x % c) is k*(x % (c*d)) (for x >= 0). These appear when a flat
 * offset is split into a multi-index and flattened again (merged loops, reshapes). NULL when
 * no pair of terms combines. */
static mt_kexpr *join_divmod(mt_kprog *p, mt_kexpr *a, mt_kexpr *b)
{
    term t[MAX_TERMS];
    int n = collect_terms(a, 1, t, 0);
    n = n < 0 ? -1 : collect_terms(b, 1, t, n);
    if (n < 2)
        return NULL;
    for (int j = 0; j < n; j++) {
        mt_kexpr *m = t[j].e;
        if (!m || m->op != MT_KX_MOD || !is_iconst(m->args[1]))
            continue;
        mt_kexpr *x = m->args[0];
        int64_t c = m->args[1]->c.i, kc;
        if (!ranged(x) || x->lo < 0 || __builtin_mul_overflow(t[j].k, c, &kc))
            continue;
        for (int i = 0; i < n; i++) {
            mt_kexpr *q = t[i].e;
            if (i == j || !q || t[i].k != kc)
                continue;
            mt_kexpr *joined = NULL;
            if (q->op == MT_KX_DIV && is_const(q->args[1], c) && mt_kx_equal(q->args[0], x))
                joined = x;
            else if (q->op == MT_KX_MOD && is_iconst(q->args[1]) && q->args[0]->op == MT_KX_DIV &&
                     is_const(q->args[0]->args[1], c) && mt_kx_equal(q->args[0]->args[0], x) &&
                     !__builtin_mul_overflow(c, q->args[1]->c.i, &kc))
                joined = mt_kx_binary(p, MT_KX_MOD, x, mt_kx_int(p, kc));
            if (!joined)
                continue;
            t[j].e = joined;
            t[i] = t[--n];
            return build_terms(p, t, n);
        }
    }
    return NULL;
}

static mt_kexpr *simplify_int(mt_kprog *p, mt_kop op, mt_kexpr *a, mt_kexpr *b)
{
    int64_t v;
    if (is_iconst(a) && is_iconst(b)) {
        int64_t x = a->c.i, y = b->c.i;
        switch (op) {
        case MT_KX_ADD:
            if (!__builtin_add_overflow(x, y, &v))
                return mt_kx_int(p, v);
            break;
        case MT_KX_SUB:
            if (!__builtin_sub_overflow(x, y, &v))
                return mt_kx_int(p, v);
            break;
        case MT_KX_MUL:
            if (!__builtin_mul_overflow(x, y, &v))
                return mt_kx_int(p, v);
            break;
        case MT_KX_DIV:
            if (x >= 0 && y > 0)
                return mt_kx_int(p, x / y);
            break;
        case MT_KX_MOD:
            if (x >= 0 && y > 0)
                return mt_kx_int(p, x % y);
            break;
        case MT_KX_MIN: return mt_kx_int(p, x < y ? x : y);
        case MT_KX_MAX: return mt_kx_int(p, x > y ? x : y);
        case MT_KX_LT: return mt_kx_uint(p, MT_KT_BOOL, x < y);
        case MT_KX_LE: return mt_kx_uint(p, MT_KT_BOOL, x <= y);
        case MT_KX_GT: return mt_kx_uint(p, MT_KT_BOOL, x > y);
        case MT_KX_GE: return mt_kx_uint(p, MT_KT_BOOL, x >= y);
        case MT_KX_EQ: return mt_kx_uint(p, MT_KT_BOOL, x == y);
        case MT_KX_NE: return mt_kx_uint(p, MT_KT_BOOL, x != y);
        default: break;
        }
    }
    /* Constants go right, so the rules below look at one side only. */
    if ((op == MT_KX_ADD || op == MT_KX_MUL) && is_iconst(a) && !is_iconst(b)) {
        mt_kexpr *s = a;
        a = b;
        b = s;
    }
    switch (op) {
    case MT_KX_ADD:
        if (is_const(b, 0))
            return a;
        if (is_iconst(b) && a->op == MT_KX_ADD && is_iconst(a->args[1]) &&
            !__builtin_add_overflow(a->args[1]->c.i, b->c.i, &v))
            return mt_kx_binary(p, MT_KX_ADD, a->args[0], mt_kx_int(p, v));
        return join_divmod(p, a, b);
    case MT_KX_SUB:
        if (is_const(b, 0))
            return a;
        if (is_iconst(b) && b->c.i != INT64_MIN)
            return mt_kx_binary(p, MT_KX_ADD, a, mt_kx_int(p, -b->c.i));
        break;
    case MT_KX_MUL:
        if (is_const(b, 0))
            return b;
        if (is_const(b, 1))
            return a;
        if (is_iconst(b) && a->op == MT_KX_MUL && is_iconst(a->args[1]) &&
            !__builtin_mul_overflow(a->args[1]->c.i, b->c.i, &v))
            return mt_kx_binary(p, MT_KX_MUL, a->args[0], mt_kx_int(p, v));
        /* Distribute over a sum so that divisions see every term. */
        if (is_iconst(b) && a->op == MT_KX_ADD)
            return mt_kx_binary(p, MT_KX_ADD, mt_kx_binary(p, MT_KX_MUL, a->args[0], b),
                                mt_kx_binary(p, MT_KX_MUL, a->args[1], b));
        break;
    case MT_KX_DIV:
    case MT_KX_MOD:
        if (!is_iconst(b) || b->c.i <= 0 || !ranged(a) || a->lo < 0)
            break;
        if (is_const(b, 1))
            return op == MT_KX_DIV ? a : mt_kx_int(p, 0);
        if (a->hi < b->c.i)
            return op == MT_KX_DIV ? mt_kx_int(p, 0) : a;
        if (op == MT_KX_DIV && a->op == MT_KX_DIV && is_iconst(a->args[1]) &&
            !__builtin_mul_overflow(a->args[1]->c.i, b->c.i, &v))
            return mt_kx_binary(p, MT_KX_DIV, a->args[0], mt_kx_int(p, v));
        {
            mt_kexpr *s = divmod_terms(p, op, a, b->c.i);
            if (s)
                return s;
        }
        break;
    case MT_KX_MIN:
        if (ranged(a) && ranged(b) && a->hi <= b->lo)
            return a;
        if (ranged(a) && ranged(b) && b->hi <= a->lo)
            return b;
        break;
    case MT_KX_MAX:
        if (ranged(a) && ranged(b) && a->lo >= b->hi)
            return a;
        if (ranged(a) && ranged(b) && b->lo >= a->hi)
            return b;
        break;
    case MT_KX_LT:
        if (ranged(a) && ranged(b) && (a->hi < b->lo || a->lo >= b->hi))
            return mt_kx_uint(p, MT_KT_BOOL, a->hi < b->lo);
        break;
    case MT_KX_GE:
        if (ranged(a) && ranged(b) && (a->lo >= b->hi || a->hi < b->lo))
            return mt_kx_uint(p, MT_KT_BOOL, a->lo >= b->hi);
        break;
    default: break;
    }
    return NULL;
}

mt_kexpr *mt_kx_binary(mt_kprog *p, mt_kop op, mt_kexpr *a, mt_kexpr *b)
{
    if (!a || !b)
        return NULL;
    if (a->type == MT_KT_I64) {
        mt_kexpr *s = simplify_int(p, op, a, b);
        if (s)
            return s;
    }
    if (a->type == MT_KT_BOOL && (op == MT_KX_AND || op == MT_KX_OR)) {
        int absorbing = op == MT_KX_OR; /* x || true is true; x && false is false */
        if (a->op == MT_KX_CONST)
            return a->c.i == absorbing ? a : b;
        if (b->op == MT_KX_CONST)
            return b->c.i == absorbing ? b : a;
    }
    return make_binary(p, op, a, b);
}

mt_kexpr *mt_kx_select(mt_kprog *p, mt_kexpr *c, mt_kexpr *a, mt_kexpr *b)
{
    if (!c || !a || !b)
        return NULL;
    if (c->op == MT_KX_CONST)
        return c->c.i ? a : b;
    mt_kexpr *e = node(p, MT_KX_SELECT, a->type);
    if (!e)
        return NULL;
    e->nargs = 3;
    e->args[0] = c;
    e->args[1] = a;
    e->args[2] = b;
    if (a->type == MT_KT_I64 && ranged(a) && ranged(b)) {
        e->lo = a->lo < b->lo ? a->lo : b->lo;
        e->hi = a->hi > b->hi ? a->hi : b->hi;
    }
    return e;
}

int mt_kx_equal(const mt_kexpr *a, const mt_kexpr *b)
{
    if (a == b)
        return 1;
    if (a->op != b->op || a->type != b->type || a->nargs != b->nargs || a->id != b->id)
        return 0;
    if (a->op == MT_KX_CONST) {
        if (is_float(a->type))
            return memcmp(&a->c.f, &b->c.f, sizeof a->c.f) == 0;
        return a->c.i == b->c.i;
    }
    for (int i = 0; i < a->nargs; i++)
        if (!mt_kx_equal(a->args[i], b->args[i]))
            return 0;
    return 1;
}

/* ---- statements ------------------------------------------------------------------------ */

static mt_kstmt *stmt(mt_kprog *p, mt_kstmt_kind kind, int id)
{
    mt_kstmt *s = mt_arena_alloc(&p->arena, sizeof *s);
    if (s) {
        s->kind = kind;
        s->id = id;
    }
    return s;
}

mt_kstmt *mt_ks_for(mt_kprog *p, int loop, int64_t trip, unsigned flags)
{
    mt_kstmt *s = stmt(p, MT_KS_FOR, loop);
    if (s) {
        s->trip = trip;
        s->flags = flags;
    }
    return s;
}

mt_kstmt *mt_ks_store(mt_kprog *p, int buf, mt_kexpr *index, mt_kexpr *value)
{
    if (!index || !value)
        return NULL;
    mt_kstmt *s = stmt(p, MT_KS_STORE, buf);
    if (s) {
        s->index = index;
        s->value = value;
    }
    return s;
}

mt_kstmt *mt_ks_decl(mt_kprog *p, int scalar, mt_kexpr *value)
{
    if (!value)
        return NULL;
    mt_kstmt *s = stmt(p, MT_KS_DECL, scalar);
    if (s)
        s->value = value;
    return s;
}

mt_kstmt *mt_ks_set(mt_kprog *p, int scalar, mt_kexpr *value)
{
    if (!value)
        return NULL;
    mt_kstmt *s = stmt(p, MT_KS_SET, scalar);
    if (s)
        s->value = value;
    return s;
}

mt_kstmt *mt_ks_gemm(mt_kprog *p, const mt_kgemm *g, mt_kexpr *row)
{
    if (!row)
        return NULL;
    mt_kgemm *copy = mt_arena_alloc(&p->arena, sizeof *copy);
    mt_kstmt *s = copy ? stmt(p, MT_KS_GEMM, g->c) : NULL;
    if (s) {
        *copy = *g;
        s->gemm = copy;
        s->index = row;
    }
    return s;
}

void mt_kblock_append(mt_kblock *b, mt_kstmt *s)
{
    if (!s)
        return;
    s->next = NULL;
    if (b->last)
        b->last->next = s;
    else
        b->first = s;
    b->last = s;
}
