/* render.c - kernel IR statements and kernels -> one C-style translation unit (render.h).
 *
 * Each kernel becomes one function taking a pointer per buffer it uses (render.h says which
 * are reached through the arena instead): `const` where the kernel only reads it, restrict-
 * qualified where memory planning proved it overlaps no other buffer of the kernel. Loops
 * are C for loops with constant trips; scalars are C variables of the block that declares
 * them; loop variables and indices are the dialect's 64-bit signed integer. The parallel nest
 * at the top of a kernel becomes a grid-stride loop (render.h).
 */
#include <stdio.h>
#include <string.h>

#include "codegen/c/render.h"
#include "ir/type.h"

typedef mt_c_rctx rctx;

/* ---- the parallel nest ----------------------------------------------------------------- */

/* The loops of k's parallel nest, outermost first (at most `max`), and their number: the
 * kernel's body is one parallel loop, whose body is again one parallel loop, and so on. */
static int parallel_nest(const mt_kernel *k, const mt_kstmt **loops, int max)
{
    int n = 0;
    const mt_kstmt *s = k->body;
    while (n < max && s && !s->next && s->kind == MT_KS_FOR && (s->flags & MT_KLOOP_PARALLEL)) {
        loops[n++] = s;
        s = s->body;
    }
    return n;
}

#define MAX_NEST 16

int64_t mt_c_kernel_items(const mt_kernel *k)
{
    int64_t tiles = mt_c_gemm_tiles(k);
    if (tiles > 0)
        return tiles;
    const mt_kstmt *loops[MAX_NEST];
    int n = parallel_nest(k, loops, MAX_NEST);
    int64_t items = 1;
    for (int i = 0; i < n; i++)
        items *= loops[i]->trip;
    return items;
}

/* ---- statements ------------------------------------------------------------------------ */

/* The shared subexpressions of one statement, then the statement. */
static void simple(rctx *c, const mt_kstmt *s, int ind)
{
    const mt_c_dialect *dl = c->dl;
    mt_buf *b = c->b;
    const mt_kexpr *xs[2] = {s->value, s->kind == MT_KS_STORE ? s->index : NULL};
    mt_c_render_temps(b, dl, c->m, xs, 2, ind);
    mt_c_indent(b, ind);
    switch (s->kind) {
    case MT_KS_STORE:
        mt_buf_printf(b, "b%d[", s->id);
        mt_c_render_expr(b, dl, c->m, s->index, 1);
        mt_buf_puts(b, "] = ");
        break;
    case MT_KS_DECL: mt_buf_printf(b, "%s s%d = ", dl->types[s->value->type], s->id); break;
    default: mt_buf_printf(b, "s%d = ", s->id); break;
    }
    mt_c_render_expr(b, dl, c->m, s->value, 1);
    mt_buf_puts(b, ";\n");
}

void mt_c_render_stmt(rctx *c, const mt_kstmt *s, int ind)
{
    switch (s->kind) {
    case MT_KS_FOR:
        mt_c_indent(c->b, ind);
        mt_buf_printf(c->b, "for (%s i%d = 0; i%d < %lld; i%d++) {\n", c->dl->types[MT_KT_I64],
                      s->id, s->id, (long long)s->trip, s->id);
        mt_c_render_block(c, s->body, ind + 1);
        mt_c_indent(c->b, ind);
        mt_buf_puts(c->b, "}\n");
        break;
    case MT_KS_GEMM: mt_c_render_gemm_row(c, s, ind); break;
    default: simple(c, s, ind); break;
    }
}

void mt_c_render_block(rctx *c, const mt_kstmt *s, int ind)
{
    for (; s && c->fail == MT_OK; s = s->next)
        mt_c_render_stmt(c, s, ind);
}

void mt_c_render_unflatten(rctx *c, const mt_kstmt *const *loops, int n, const char *flat, int ind)
{
    const char *i64 = c->dl->types[MT_KT_I64];
    int64_t inner = 1;
    for (int i = 0; i < n; i++)
        inner *= loops[i]->trip;
    for (int i = 0; i < n; i++) {
        inner /= loops[i]->trip;
        mt_c_indent(c->b, ind);
        mt_buf_printf(c->b, "const %s i%d = ", i64, loops[i]->id);
        if (i == 0 && inner == 1)
            mt_buf_printf(c->b, "%s;\n", flat);
        else if (i == 0)
            mt_buf_printf(c->b, "%s / %lld;\n", flat, (long long)inner);
        else if (inner == 1)
            mt_buf_printf(c->b, "%s %% %lld;\n", flat, (long long)loops[i]->trip);
        else
            mt_buf_printf(c->b, "%s / %lld %% %lld;\n", flat, (long long)inner,
                          (long long)loops[i]->trip);
    }
}

/* ---- kernels --------------------------------------------------------------------------- */

int mt_c_buffer_is_param(const mt_c_dialect *dl, const mt_kprog *p, int b)
{
    return !dl->arena_temps || p->bufs[b].kind != MT_KBUF_TEMP;
}

int mt_c_kernel_takes_arena(const mt_c_dialect *dl, const mt_kprog *p, const mt_kernel *k)
{
    for (int i = 0; i < k->nbufs; i++)
        if (!mt_c_buffer_is_param(dl, p, k->bufs[i]))
            return 1;
    return 0;
}

static void signature(rctx *c, const mt_kernel *k, const char *prefix, int group)
{
    const mt_c_dialect *dl = c->dl;
    mt_buf_printf(c->b, "%s ", dl->kernel);
    if (group) {
        mt_buf_printf(c->b, dl->group_attr, group);
        mt_buf_puts(c->b, " ");
    }
    mt_buf_printf(c->b, "%s%s(", prefix, k->name);
    int n = 0;
    for (int i = 0; i < k->nbufs; i++) {
        int id = k->bufs[i];
        mt_ktype t = mt_ktype_of(c->p->bufs[id].type.dtype);
        if (t == MT_KT_F64)
            c->f64 = 1;
        if (!mt_c_buffer_is_param(dl, c->p, id))
            continue;
        unsigned acc = k->access[i];
        mt_buf_printf(c->b, "%s%s%s%s *%s%sb%d", n++ ? ", " : "", dl->global,
                      acc & MT_KACC_WRITE ? "" : "const ", dl->types[t],
                      acc & MT_KACC_NOALIAS ? dl->restrict_ : "", acc & MT_KACC_NOALIAS ? " " : "",
                      id);
    }
    if (mt_c_kernel_takes_arena(dl, c->p, k))
        mt_buf_printf(c->b, "%s%s%s *arena", n ? ", " : "", dl->global, dl->byte);
    mt_buf_puts(c->b, ")\n");
}

/* The temporaries reached through the arena: a pointer each at its planned offset. */
static void arena_pointers(rctx *c, const mt_kernel *k)
{
    const mt_c_dialect *dl = c->dl;
    for (int i = 0; i < k->nbufs; i++) {
        int id = k->bufs[i];
        if (mt_c_buffer_is_param(dl, c->p, id))
            continue;
        const char *t = dl->types[mt_ktype_of(c->p->bufs[id].type.dtype)];
        const char *cq = k->access[i] & MT_KACC_WRITE ? "" : "const ";
        mt_buf_printf(c->b, "    %s%s%s *b%d = (%s%s%s *)(arena + %lld);\n", dl->global, cq, t, id,
                      dl->global, cq, t, (long long)c->p->bufs[id].offset);
    }
}

/* The kernel's one-line note as a comment ("*" "/" cannot end it early). */
static void note(rctx *c, const mt_kernel *k)
{
    mt_buf_printf(c->b, "/* %s", k->name);
    if (k->note && k->note[0]) {
        mt_buf_puts(c->b, ": ");
        for (const char *s = k->note; *s; s++)
            mt_buf_printf(c->b, "%c", s[0] == '*' && s[1] == '/' ? '+' : *s);
    }
    mt_buf_puts(c->b, " */\n");
}

static void kernel(rctx *c, const mt_kernel *k, const char *prefix)
{
    const mt_c_dialect *dl = c->dl;
    mt_buf *b = c->b;
    const char *i64 = dl->types[MT_KT_I64];
    for (int i = 0; i < k->nscalars; i++)
        if (k->scalar_types[i] == MT_KT_F64)
            c->f64 = 1;
    mt_c_memo_reset_temps(c->m);
    note(c, k);
    int group = mt_c_kernel_group(c->p, k);
    signature(c, k, prefix, group);
    mt_buf_puts(b, "{\n");
    arena_pointers(c, k);
    const mt_kstmt *loops[MAX_NEST];
    int n = parallel_nest(k, loops, MAX_NEST);
    if (mt_c_gemm_tiles(k) > 0) {
        mt_c_render_gemm_kernel(c, k);
    } else if (group) {
        mt_c_render_group_kernel(c, k, loops, n, group);
    } else if (mt_c_kernel_vec(dl, c->p, k)) {
        mt_c_render_vec_kernel(c, k);
    } else if (n == 0) {
        /* Runs whole, once: in work-item 0 of a launch of one. */
        mt_buf_printf(b, "    if (%s != 0)\n        return;\n", dl->global_id);
        mt_c_render_block(c, k->body, 1);
    } else {
        mt_buf_printf(b, "    for (%s gid = %s; gid < %lld; gid += %s) {\n", i64, dl->global_id,
                      (long long)mt_c_kernel_items(k), dl->global_num);
        mt_c_render_unflatten(c, loops, n, "gid", 2);
        mt_c_render_block(c, loops[n - 1]->body, 2);
        mt_buf_puts(b, "    }\n");
    }
    mt_buf_puts(b, "}\n");
}

char *mt_c_render_program(const mt_c_dialect *dl, const mt_kprog *p, const char *prefix, mt_diag *d)
{
    mt_buf body = {0};
    rctx c = {&body, dl, p, mt_c_memo_new(), 0, MT_OK, d};
    if (!c.m)
        return mt_diag_set(d, MT_ERR_NOMEM, "%s: out of memory", dl->name), NULL;
    for (int k = 0; k < p->nkernels && c.fail == MT_OK; k++) {
        mt_buf_puts(&body, "\n");
        kernel(&c, &p->kernels[k], prefix);
    }
    int ok = mt_c_memo_ok(c.m);
    c.f64 |= mt_c_memo_f64(c.m);
    mt_c_memo_free(c.m);
    if (c.fail != MT_OK) {
        mt_buf_fini(&body);
        return NULL;
    }
    mt_buf tu = {0};
    mt_buf_printf(&tu, "/* %s: program %s, %d kernels (mtc, the %s dialect of codegen/c) */\n",
                  dl->name, p->name, p->nkernels, dl->name);
    mt_buf_puts(&tu, dl->prelude);
    if (c.f64)
        mt_buf_puts(&tu, dl->fp64_prelude);
    char *text = mt_buf_take(&body);
    if (text)
        mt_buf_puts(&tu, text);
    mt_free(text);
    char *out = mt_buf_take(&tu);
    if (!ok || !text || !out) {
        mt_free(out);
        return mt_diag_set(d, MT_ERR_NOMEM, "%s: out of memory", dl->name), NULL;
    }
    return out;
}

char *mt_c_symbol_prefix(const char *name)
{
    size_t n = strlen(name);
    char *s = mt_malloc(n + 3);
    if (!s)
        return NULL;
    size_t at = 0;
    /* An identifier may not start with a digit. */
    if (n == 0 || (name[0] >= '0' && name[0] <= '9'))
        s[at++] = 'g';
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '_';
        s[at++] = ok ? ch : '_';
    }
    s[at++] = '_';
    s[at] = 0;
    return s;
}
