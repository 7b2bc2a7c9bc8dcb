/* kernel_cost.c - floating-point operations and compulsory bytes of a kernel (kernel_cost.h). */
#include "ir/kernel_cost.h"

#include "ir/alloc.h"
#include "ir/type.h"

/* The expression nodes of one statement already counted: expressions are DAGs, and a walk of
 * the tree would count a shared operand (and everything under it) once per use. */
typedef struct seen {
    const mt_kexpr **at;
    int n, cap;
    int oom;
} seen;

static int was_seen(seen *s, const mt_kexpr *e)
{
    for (int i = 0; i < s->n; i++)
        if (s->at[i] == e)
            return 1;
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 64;
        const mt_kexpr **at = mt_realloc(s->at, (size_t)cap * sizeof *at);
        if (!at) {
            s->oom = 1;
            return 1;
        }
        s->at = at;
        s->cap = cap;
    }
    s->at[s->n++] = e;
    return 0;
}

static int is_float(mt_ktype t) { return t == MT_KT_F32 || t == MT_KT_F64; }

/* Whether e itself is one floating-point operation. */
static int is_flop(const mt_kexpr *e)
{
    switch (e->op) {
    case MT_KX_NEG:
    case MT_KX_EXP:
    case MT_KX_LOG:
    case MT_KX_SQRT:
    case MT_KX_TANH:
    case MT_KX_ABS:
    case MT_KX_ADD:
    case MT_KX_SUB:
    case MT_KX_MUL:
    case MT_KX_DIV:
    case MT_KX_MIN:
    case MT_KX_MAX:
    case MT_KX_POW: return is_float(e->type);
    case MT_KX_LT:
    case MT_KX_LE:
    case MT_KX_GT:
    case MT_KX_GE:
    case MT_KX_EQ:
    case MT_KX_NE: return is_float(e->args[0]->type);
    default: return 0;
    }
}

static double expr_flops(const mt_kexpr *e, seen *s)
{
    if (!e || was_seen(s, e))
        return 0;
    double n = is_flop(e);
    for (int i = 0; i < e->nargs; i++)
        n += expr_flops(e->args[i], s);
    return n;
}

/* Flops of a block run `times` times. */
static double block_flops(const mt_kstmt *st, double times, seen *s)
{
    double n = 0;
    for (; st; st = st->next) {
        switch (st->kind) {
        case MT_KS_FOR: n += block_flops(st->body, times * (double)st->trip, s); break;
        case MT_KS_GEMM: n += times * 2.0 * (double)mt_kgemm_row_macs(st->gemm); break;
        default:
            s->n = 0;
            n += times * expr_flops(st->value, s);
            break;
        }
    }
    return n;
}

mt_status mt_kernel_cost(const mt_kprog *p, const mt_kernel *k, mt_kcost *out, mt_diag *d)
{
    seen s = {0};
    out->flops = block_flops(k->body, 1.0, &s);
    mt_free(s.at);
    if (s.oom)
        return mt_diag_set(d, MT_ERR_NOMEM, "kernel cost: out of memory");
    out->bytes = 0;
    for (int i = 0; i < k->nbufs; i++) {
        const mt_kbuf *u = &p->bufs[k->bufs[i]];
        out->bytes += (double)u->numel * (double)mt_dtype_size(u->type.dtype);
    }
    return MT_OK;
}
