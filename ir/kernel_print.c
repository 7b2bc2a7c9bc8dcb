/* kernel_print.c - the textual form of kernel IR (`mtc dump --stage kernels`).
 *
 * Meant for people and FileCheck, not for parsing back: loops, stores and scalars one per
 * line, expressions in C-like infix with the fewest parentheses that keep them unambiguous.
 * The grammar is in docs/cpu-backend.md.
 */
#include <inttypes.h>
#include <math.h>

#include "ir/alloc.h"
#include "ir/kernel.h"
#include "ir/op.h"
#include "ir/type.h"

/* Binding strength of infix operators; everything else prints as an atom or a call. */
static int prec(const mt_kexpr *e)
{
    switch (e->op) {
    case MT_KX_OR: return 1;
    case MT_KX_AND: return 2;
    case MT_KX_LT:
    case MT_KX_LE:
    case MT_KX_GT:
    case MT_KX_GE:
    case MT_KX_EQ:
    case MT_KX_NE: return 3;
    case MT_KX_ADD:
    case MT_KX_SUB: return 4;
    case MT_KX_MUL:
    case MT_KX_DIV:
    case MT_KX_MOD: return 5;
    default: return 9;
    }
}

static void print_const(mt_buf *b, const mt_kexpr *e)
{
    switch (e->type) {
    case MT_KT_BOOL: mt_buf_puts(b, e->c.i ? "true" : "false"); return;
    case MT_KT_I64: mt_buf_printf(b, "%" PRId64, e->c.i); return;
    case MT_KT_U32:
    case MT_KT_U64: mt_buf_printf(b, "0x%" PRIx64 "u", (uint64_t)e->c.i); return;
    case MT_KT_F32:
    case MT_KT_F64: {
        double v = e->c.f;
        if (isnan(v))
            mt_buf_puts(b, "nan");
        else if (isinf(v))
            mt_buf_puts(b, v > 0 ? "inf" : "-inf");
        else if (v == floor(v) && fabs(v) < 1e15)
            mt_buf_printf(b, "%.1f%s", v, e->type == MT_KT_F32 ? "f" : "");
        else
            mt_buf_printf(b, e->type == MT_KT_F32 ? "%.9gf" : "%.17g", v);
        return;
    }
    }
}

/* Loops and scalars print numbered in order of appearance (lowering creates them out of
 * order when it hoists a reduction); `map` is NULL for a lone expression. */
typedef struct names {
    int *loop, *scalar;
} names;

static int name_of(const int *map, int id) { return map ? map[id] : id; }

static void print_expr(mt_buf *b, const names *nm, const mt_kexpr *e, int outer)
{
    int p = prec(e);
    if (p < 9) {
        int paren = p <= outer;
        if (paren)
            mt_buf_puts(b, "(");
        /* Left-associative: the right operand needs parentheses at equal strength. */
        print_expr(b, nm, e->args[0], p - 1);
        mt_buf_printf(b, " %s ", mt_kop_name(e->op));
        print_expr(b, nm, e->args[1], p);
        if (paren)
            mt_buf_puts(b, ")");
        return;
    }
    switch (e->op) {
    case MT_KX_CONST: print_const(b, e); return;
    case MT_KX_VAR: mt_buf_printf(b, "i%d", name_of(nm->loop, e->id)); return;
    case MT_KX_SCALAR: mt_buf_printf(b, "s%d", name_of(nm->scalar, e->id)); return;
    case MT_KX_LOAD:
        mt_buf_printf(b, "b%d[", e->id);
        print_expr(b, nm, e->args[0], 0);
        mt_buf_puts(b, "]");
        return;
    case MT_KX_CAST: mt_buf_printf(b, "%s(", mt_ktype_name(e->type)); break;
    default: mt_buf_printf(b, "%s(", mt_kop_name(e->op)); break;
    }
    for (int i = 0; i < e->nargs; i++) {
        if (i)
            mt_buf_puts(b, ", ");
        print_expr(b, nm, e->args[i], 0);
    }
    mt_buf_puts(b, ")");
}

char *mt_kexpr_print(const mt_kexpr *e)
{
    mt_buf b = {0};
    names nm = {NULL, NULL};
    print_expr(&b, &nm, e, 0);
    return mt_buf_take(&b);
}

static void indent(mt_buf *b, int depth)
{
    for (int i = 0; i < depth; i++)
        mt_buf_puts(b, "  ");
}

static void number(const mt_kstmt *s, names *nm, int *nloops, int *nscalars)
{
    for (; s; s = s->next) {
        if (s->kind == MT_KS_FOR) {
            nm->loop[s->id] = (*nloops)++;
            number(s->body, nm, nloops, nscalars);
        } else if (s->kind == MT_KS_DECL) {
            nm->scalar[s->id] = (*nscalars)++;
        }
    }
}

static void print_block(mt_buf *b, const names *nm, const mt_kernel *k, const mt_kstmt *s,
                        int depth)
{
    for (; s; s = s->next) {
        indent(b, depth);
        switch (s->kind) {
        case MT_KS_FOR:
            mt_buf_printf(b, "for i%d in 0..%" PRId64 "%s%s {\n", name_of(nm->loop, s->id), s->trip,
                          s->flags & MT_KLOOP_PARALLEL ? " parallel" : "",
                          s->flags & MT_KLOOP_REDUCE ? " reduce" : "");
            print_block(b, nm, k, s->body, depth + 1);
            indent(b, depth);
            mt_buf_puts(b, "}\n");
            break;
        case MT_KS_STORE:
            mt_buf_printf(b, "b%d[", s->id);
            print_expr(b, nm, s->index, 0);
            mt_buf_puts(b, "] = ");
            print_expr(b, nm, s->value, 0);
            mt_buf_puts(b, "\n");
            break;
        case MT_KS_DECL:
            mt_buf_printf(b, "%s s%d = ", mt_ktype_name(k->scalar_types[s->id]),
                          name_of(nm->scalar, s->id));
            print_expr(b, nm, s->value, 0);
            mt_buf_puts(b, "\n");
            break;
        case MT_KS_SET:
            mt_buf_printf(b, "s%d = ", name_of(nm->scalar, s->id));
            print_expr(b, nm, s->value, 0);
            mt_buf_puts(b, "\n");
            break;
        case MT_KS_GEMM: {
            const mt_kgemm *g = s->gemm;
            char ta[MT_TYPE_STR_MAX], tb[MT_TYPE_STR_MAX];
            mt_buf_printf(b, "gemm b%d row ", g->c);
            print_expr(b, nm, s->index, 0);
            mt_buf_printf(b, " = b%d%s @ b%d%s : %s @ %s\n", g->a, g->trans_a ? "^T" : "", g->b,
                          g->trans_b ? "^T" : "", mt_type_str(&g->ta, ta, sizeof ta),
                          mt_type_str(&g->tb, tb, sizeof tb));
            break;
        }
        }
    }
}

static const char *kind_name(mt_kbuf_kind k)
{
    return k == MT_KBUF_INPUT    ? "input"
           : k == MT_KBUF_OUTPUT ? "output"
           : k == MT_KBUF_STATE  ? "state"
                                 : "temp";
}

char *mt_kprog_print(const mt_kprog *p)
{
    mt_buf b = {0};
    mt_buf_printf(&b, "program %s: %d buffers, %d kernels, arena %" PRId64 " bytes", p->name,
                  p->nbufs, p->nkernels, p->arena_bytes);
    if (p->temp_bytes > 0)
        mt_buf_printf(&b, " (temporaries %" PRId64 " bytes, %d in place)", p->temp_bytes,
                      p->ninplace);
    if (p->nupdates > 0)
        mt_buf_printf(&b, ", %d updates (%" PRId64 " bytes in place)", p->nupdates,
                      p->update_inplace_bytes);
    mt_buf_puts(&b, "\n");
    for (int i = 0; i < p->nbufs; i++) {
        const mt_kbuf *u = &p->bufs[i];
        char ts[MT_TYPE_STR_MAX];
        mt_buf_printf(&b, "buffer b%d %%%s : %s %s", i, u->name,
                      mt_type_str(&u->type, ts, sizeof ts), kind_name(u->kind));
        if (u->kind == MT_KBUF_OUTPUT)
            mt_buf_printf(&b, " %d", u->output);
        if (u->kind == MT_KBUF_TEMP && u->offset >= 0)
            mt_buf_printf(&b, " @%" PRId64, u->offset);
        mt_buf_puts(&b, "\n");
    }
    for (int i = 0; i < p->nupdates; i++) {
        const mt_kupdate *u = &p->updates[i];
        if (u->value == u->target)
            mt_buf_printf(&b, "update b%d in place\n", u->target);
        else
            mt_buf_printf(&b, "update b%d <- b%d\n", u->target, u->value);
    }
    for (int i = 0; i < p->nkernels; i++) {
        const mt_kernel *k = &p->kernels[i];
        mt_buf_printf(&b, "\nkernel %s(", k->name);
        for (int j = 0; j < k->nbufs; j++) {
            unsigned a = k->access[j];
            mt_buf_printf(&b, "%sb%d %s%s", j ? ", " : "", k->bufs[j],
                          a & MT_KACC_WRITE ? (a & MT_KACC_READ ? "rw" : "w") : "r",
                          a & MT_KACC_NOALIAS ? " noalias" : "");
        }
        mt_buf_puts(&b, ") {");
        if (k->note)
            mt_buf_printf(&b, "  # %s", k->note);
        if (k->allreduce)
            mt_buf_printf(&b, "; then allreduce b%d op=%s", k->allreduce_buf,
                          k->allreduce_op == MT_REDUCE_MEAN ? "mean" : "sum");
        mt_buf_puts(&b, "\n");
        names nm = {mt_calloc((size_t)k->nloops + 1, sizeof(int)),
                    mt_calloc((size_t)k->nscalars + 1, sizeof(int))};
        if (!nm.loop || !nm.scalar) {
            b.oom = 1;
        } else {
            int nl = 0, ns = 0;
            number(k->body, &nm, &nl, &ns);
            print_block(&b, &nm, k, k->body, 1);
        }
        mt_free(nm.loop);
        mt_free(nm.scalar);
        mt_buf_puts(&b, "}\n");
    }
    return mt_buf_take(&b);
}
