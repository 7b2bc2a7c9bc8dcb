/* render_expr.c - kernel IR expressions -> C expressions (render.c has statements and kernels).
 *
 * Expressions are DAGs: Philox and the index arithmetic of reshapes share subexpressions, and
 * writing them out as trees could grow exponentially. So before each statement the renderer
 * counts how often every node is used there and declares each shared load or operation once
 * as a `const` temporary; the statement then names it. Leaves (constants, loop variables,
 * scalars) are repeated as they are. Every operation is fully parenthesised: the kernel IR,
 * not C's precedence, decides the order.
 *
 * Semantics kept from ir/kernel.h: float comparisons are C's (ordered, != unordered), MIN and
 * MAX are selects on < and > (so a NaN operand picks the other arm as LLVM's select does),
 * casts are C casts (float to int truncates like LLVM's fptosi; ints to float round to
 * nearest), shifts and arithmetic on u32/u64 wrap, MULHI is the dialect's intrinsic.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "codegen/c/render.h"

/* ---- the memo: uses and temporaries per node ------------------------------------------- */

typedef struct memo_slot {
    const mt_kexpr *key;
    int uses;
    int temp; /* -1: none */
} memo_slot;

struct mt_c_memo {
    memo_slot *slots;
    size_t cap, n; /* cap is a power of two */
    int next_temp;
    int oom;
    int f64; /* some node counted so far has type f64 */
    mt_c_load_hook hook;
    void *hook_ctx;
};

mt_c_memo *mt_c_memo_new(void) { return mt_calloc(1, sizeof(mt_c_memo)); }

void mt_c_memo_free(mt_c_memo *m)
{
    if (m)
        mt_free(m->slots);
    mt_free(m);
}

int mt_c_memo_ok(const mt_c_memo *m) { return !m->oom; }

int mt_c_memo_f64(const mt_c_memo *m) { return m->f64; }

void mt_c_memo_reset_temps(mt_c_memo *m) { m->next_temp = 0; }

void mt_c_memo_set_load_hook(mt_c_memo *m, mt_c_load_hook hook, void *ctx)
{
    m->hook = hook;
    m->hook_ctx = ctx;
}

static size_t hash(const mt_kexpr *x, size_t cap)
{
    return (size_t)(((uintptr_t)x >> 4) * 0x9E3779B97F4A7C15ull) & (cap - 1);
}

static memo_slot *find(mt_c_memo *m, const mt_kexpr *x)
{
    if (!m->cap)
        return NULL;
    for (size_t h = hash(x, m->cap);; h = (h + 1) & (m->cap - 1)) {
        if (m->slots[h].key == x)
            return &m->slots[h];
        if (!m->slots[h].key)
            return NULL;
    }
}

static int grow(mt_c_memo *m)
{
    size_t cap = m->cap ? 2 * m->cap : 256;
    memo_slot *s = mt_calloc(cap, sizeof *s);
    if (!s)
        return 0;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key)
            continue;
        size_t h = hash(m->slots[i].key, cap);
        while (s[h].key)
            h = (h + 1) & (cap - 1);
        s[h] = m->slots[i];
    }
    mt_free(m->slots);
    m->slots = s;
    m->cap = cap;
    return 1;
}

/* The slot of x, added with no uses when new; NULL when out of memory. */
static memo_slot *slot_of(mt_c_memo *m, const mt_kexpr *x)
{
    memo_slot *s = find(m, x);
    if (s)
        return s;
    if (2 * (m->n + 1) > m->cap && !grow(m)) {
        m->oom = 1;
        return NULL;
    }
    size_t h = hash(x, m->cap);
    while (m->slots[h].key)
        h = (h + 1) & (m->cap - 1);
    m->slots[h] = (memo_slot){x, 0, -1};
    m->n++;
    return &m->slots[h];
}

static void forget(mt_c_memo *m)
{
    if (m->cap)
        memset(m->slots, 0, m->cap * sizeof *m->slots);
    m->n = 0;
}

static int is_leaf(const mt_kexpr *x)
{
    return x->op == MT_KX_CONST || x->op == MT_KX_VAR || x->op == MT_KX_SCALAR;
}

/* Counts uses: a node's operands are counted once, on its first use. MIN and MAX name each
 * operand twice in C, so their operands count twice (and become temporaries unless leaves). */
static void count(mt_c_memo *m, const mt_kexpr *x, int times)
{
    memo_slot *s = slot_of(m, x);
    if (!s)
        return;
    s->uses += times;
    if (s->uses > times)
        return;
    if (x->type == MT_KT_F64)
        m->f64 = 1;
    int twice = x->op == MT_KX_MIN || x->op == MT_KX_MAX;
    for (int i = 0; i < x->nargs; i++)
        count(m, x->args[i], twice ? 2 : 1);
}

/* ---- constants ------------------------------------------------------------------------- */

static void float_const(mt_buf *b, const mt_c_dialect *dl, mt_ktype t, double v)
{
    if (!isfinite(v)) {
        if (t == MT_KT_F32) {
            float f = (float)v;
            uint32_t bits;
            memcpy(&bits, &f, sizeof bits);
            mt_buf_printf(b, dl->f32_bits, (unsigned)bits);
        } else {
            uint64_t bits;
            memcpy(&bits, &v, sizeof bits);
            mt_buf_printf(b, dl->f64_bits, (unsigned long long)bits);
        }
        return;
    }
    char s[64];
    snprintf(s, sizeof s, t == MT_KT_F32 ? "%.9g" : "%.17g", v);
    int plain = !strpbrk(s, ".e"); /* "1" -> "1.0": a float literal, not an int */
    const char *suffix = t == MT_KT_F32 ? "f" : "";
    if (s[0] == '-' || signbit(v))
        mt_buf_printf(b, "(%s%s%s)", s, plain ? ".0" : "", suffix);
    else
        mt_buf_printf(b, "%s%s%s", s, plain ? ".0" : "", suffix);
}

static void constant(mt_buf *b, const mt_c_dialect *dl, const mt_kexpr *x)
{
    int64_t v = x->c.i;
    switch (x->type) {
    case MT_KT_BOOL: mt_buf_puts(b, v ? "true" : "false"); break;
    case MT_KT_I64:
        if (v == INT64_MIN)
            mt_buf_printf(b, "(-9223372036854775807%s - 1)", dl->i64_suffix);
        else if (v < 0)
            mt_buf_printf(b, "(%" PRId64 "%s)", v, v < INT32_MIN + 1 ? dl->i64_suffix : "");
        else
            mt_buf_printf(b, "%" PRId64 "%s", v, v > INT32_MAX ? dl->i64_suffix : "");
        break;
    case MT_KT_U32: mt_buf_printf(b, "%" PRIu32 "u", (uint32_t)v); break;
    case MT_KT_U64: mt_buf_printf(b, "%" PRIu64 "%s", (uint64_t)v, dl->u64_suffix); break;
    case MT_KT_F32:
    case MT_KT_F64: float_const(b, dl, x->type, x->c.f); break;
    }
}

/* ---- operations ------------------------------------------------------------------------ */

static const char *infix(mt_kop op)
{
    switch (op) {
    case MT_KX_ADD: return "+";
    case MT_KX_SUB: return "-";
    case MT_KX_MUL: return "*";
    case MT_KX_DIV: return "/";
    case MT_KX_MOD: return "%";
    case MT_KX_LT: return "<";
    case MT_KX_LE: return "<=";
    case MT_KX_GT: return ">";
    case MT_KX_GE: return ">=";
    case MT_KX_EQ: return "==";
    case MT_KX_NE: return "!=";
    case MT_KX_AND: return "&";
    case MT_KX_OR: return "|";
    case MT_KX_XOR: return "^";
    case MT_KX_SHL: return "<<";
    case MT_KX_SHR: return ">>";
    default: return NULL;
    }
}

static void math_call(mt_buf *b, const mt_c_dialect *dl, mt_c_memo *m, const mt_kexpr *x)
{
    const char *base = mt_kop_get(x->op)->math;
    mt_buf_printf(b, "%s%s(", base, dl->f32_math_suffix && x->type == MT_KT_F32 ? "f" : "");
    for (int i = 0; i < x->nargs; i++) {
        if (i)
            mt_buf_puts(b, ", ");
        mt_c_render_expr(b, dl, m, x->args[i], 1);
    }
    mt_buf_puts(b, ")");
}

/* The operation itself, its operands rendered by name or inline. */
static void operation(mt_buf *b, const mt_c_dialect *dl, mt_c_memo *m, const mt_kexpr *x, int top)
{
    const char *open = top ? "" : "(", *close = top ? "" : ")";
    const mt_kexpr *const *a = (const mt_kexpr *const *)x->args;
    switch (x->op) {
    case MT_KX_CONST: constant(b, dl, x); return;
    case MT_KX_VAR: mt_buf_printf(b, "i%d", x->id); return;
    case MT_KX_SCALAR: mt_buf_printf(b, "s%d", x->id); return;
    case MT_KX_LOAD:
        if (m->hook) {
            const char *text = m->hook(m->hook_ctx, x);
            if (text) {
                mt_buf_puts(b, text);
                return;
            }
        }
        mt_buf_printf(b, "b%d[", x->id);
        mt_c_render_expr(b, dl, m, a[0], 1);
        mt_buf_puts(b, "]");
        return;
    case MT_KX_NEG:
    case MT_KX_NOT:
        mt_buf_printf(b, "%s%s", open, x->op == MT_KX_NEG ? "-" : "!");
        mt_c_render_expr(b, dl, m, a[0], 0);
        mt_buf_puts(b, close);
        return;
    case MT_KX_CAST:
        mt_buf_printf(b, "%s(%s)", open, dl->types[x->type]);
        mt_c_render_expr(b, dl, m, a[0], 0);
        mt_buf_puts(b, close);
        return;
    case MT_KX_MIN:
    case MT_KX_MAX:
        mt_buf_puts(b, open);
        mt_c_render_expr(b, dl, m, a[0], 0);
        mt_buf_puts(b, x->op == MT_KX_MIN ? " < " : " > ");
        mt_c_render_expr(b, dl, m, a[1], 0);
        mt_buf_puts(b, " ? ");
        mt_c_render_expr(b, dl, m, a[0], 0);
        mt_buf_puts(b, " : ");
        mt_c_render_expr(b, dl, m, a[1], 0);
        mt_buf_puts(b, close);
        return;
    case MT_KX_SELECT:
        mt_buf_puts(b, open);
        mt_c_render_expr(b, dl, m, a[0], 0);
        mt_buf_puts(b, " ? ");
        mt_c_render_expr(b, dl, m, a[1], 0);
        mt_buf_puts(b, " : ");
        mt_c_render_expr(b, dl, m, a[2], 0);
        mt_buf_puts(b, close);
        return;
    case MT_KX_SIGMOID: {
        /* 1 / (1 + e^-x): e^-x overflows to inf for very negative x, which gives 0. */
        const char *one = x->type == MT_KT_F32 ? "1.0f" : "1.0";
        mt_buf_printf(b, "(%s / (%s + exp%s(-", one, one,
                      dl->f32_math_suffix && x->type == MT_KT_F32 ? "f" : "");
        mt_c_render_expr(b, dl, m, a[0], 0);
        mt_buf_puts(b, ")))");
        return;
    }
    case MT_KX_MULHI:
        mt_buf_printf(b, "%s(", dl->mulhi);
        mt_c_render_expr(b, dl, m, a[0], 1);
        mt_buf_puts(b, ", ");
        mt_c_render_expr(b, dl, m, a[1], 1);
        mt_buf_puts(b, ")");
        return;
    default: break;
    }
    if (mt_kop_get(x->op)->math) {
        math_call(b, dl, m, x);
        return;
    }
    const char *op = infix(x->op);
    mt_buf_puts(b, open);
    mt_c_render_expr(b, dl, m, a[0], 0);
    mt_buf_printf(b, " %s ", op ? op : "?");
    mt_c_render_expr(b, dl, m, a[1], 0);
    mt_buf_puts(b, close);
}

void mt_c_render_expr(mt_buf *b, const mt_c_dialect *dl, mt_c_memo *m, const mt_kexpr *x, int top)
{
    memo_slot *s = find(m, x);
    if (s && s->temp >= 0)
        mt_buf_printf(b, "t%d", s->temp);
    else
        operation(b, dl, m, x, top);
}

/* ---- temporaries ----------------------------------------------------------------------- */

void mt_c_indent(mt_buf *b, int ind)
{
    for (int i = 0; i < ind; i++)
        mt_buf_puts(b, "    ");
}

/* Declares x's shared operands, then x when it is shared itself. */
static void declare(mt_buf *b, const mt_c_dialect *dl, mt_c_memo *m, const mt_kexpr *x, int ind)
{
    memo_slot *s = find(m, x);
    if (!s || s->temp >= 0 || s->temp == -2)
        return;
    s->temp = -2; /* visited */
    for (int i = 0; i < x->nargs; i++)
        declare(b, dl, m, x->args[i], ind);
    s = find(m, x); /* the table does not move while declaring, but stay safe */
    if (s->uses < 2 || is_leaf(x)) {
        s->temp = -3; /* visited, inline */
        return;
    }
    mt_c_indent(b, ind);
    mt_buf_printf(b, "const %s t%d = ", dl->types[x->type], m->next_temp);
    s->temp = -1;
    operation(b, dl, m, x, 1);
    mt_buf_puts(b, ";\n");
    s->temp = m->next_temp++;
}

void mt_c_render_temps(mt_buf *b, const mt_c_dialect *dl, mt_c_memo *m, const mt_kexpr *const *xs,
                       int n, int ind)
{
    forget(m);
    for (int i = 0; i < n; i++)
        if (xs[i])
            count(m, xs[i], 1);
    for (int i = 0; i < n; i++)
        if (xs[i])
            declare(b, dl, m, xs[i], ind);
    /* Marks of the walk back to "inline". */
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key && m->slots[i].temp < 0)
            m->slots[i].temp = -1;
}
