/* render_group.c - reductions shared by a work-group: partials in local memory, combined by a
 * fixed tree (render.h: mt_c_kernel_group).
 *
 * Rendered one work-item per result, a kernel that reduces 1031 elements for each of 255 rows
 * keeps 255 work-items busy and reads memory with a stride a whole row wide. In group mode
 * every iteration of the parallel nest gets a work-group of G work-items instead, and the
 * statements of its body are shared out:
 *
 *   decl, set            every work-item computes the same value (a uniform scalar)
 *   store                work-item 0 stores it
 *   parallel loop        its iterations are dealt to the work-items (i = lid, lid + G, ...)
 *   reduction nest       its flattened iterations are dealt to the work-items, each folding
 *                        its share into a private partial; the G partials are combined in
 *                        local memory by a tree (w = G/2, G/4, ... 1: partial[l] ⊕= partial[l+w]),
 *                        the last 5 levels by warp shuffles where the dialect has them, and the
 *                        result is read back by every work-item
 *   other loops          every work-item runs them (their bodies are shared out the same way)
 *
 * G depends only on the kernel IR (64, or 256 for reductions of 1024 and more), and the tree
 * and the shuffles add in the same order, so results do not depend on the device, the launch
 * or the dialect; they differ from the sequential order of the interpreter by reassociation,
 * which the kernel IR allows in a loop marked MT_KLOOP_REDUCE.
 *
 * A kernel qualifies when (a) no buffer it writes is also read or overlaps another buffer
 * (so work-item 0's stores race with no load), (b) every reduction nest updates scalars
 * declared outside it only as `acc = acc + x` from `decl acc = 0` or lowering's max
 * `acc = select(x != x | x > acc, x, acc)` from `decl acc = -inf` (passes/lower_build.c:
 * mt_lower_acc_add), reading acc nowhere else, and (c) some reduction nest has at least
 * MIN_TRIP iterations, and (d) the kernel has at most MANY_RESULTS results or reduces 1024
 * elements or more for each. Smaller reductions (pooling windows) run whole in every
 * work-item.
 */
#include <math.h>
#include <string.h>

#include "codegen/c/render.h"

/* A reduction nest with fewer iterations runs whole in every work-item. */
#define MIN_TRIP 32
/* More results than this, each reduced over fewer than 1024 elements, stay one per work-item. */
#define MANY_RESULTS 16384
#define MAX_ACCS 8
#define MAX_DEPTH 16

enum { FORM_NONE, FORM_ADD, FORM_MAX };

/* ---- analysis -------------------------------------------------------------------------- */

typedef struct gscan {
    const mt_kstmt **decl; /* per scalar: its declaration among the statements seen so far */
    int nscalars;
    int64_t max_trip; /* of the reduction nests shared out */
    int ok;
    int budget; /* expression nodes visited: DAGs (Philox) may be large */
} gscan;

/* Whether x reads scalar id (conservatively yes when the walk is too long). */
static int uses_scalar(gscan *g, const mt_kexpr *x, int id)
{
    if (!x)
        return 0;
    if (--g->budget < 0)
        return 1;
    if (x->op == MT_KX_SCALAR)
        return x->id == id;
    for (int i = 0; i < x->nargs; i++)
        if (uses_scalar(g, x->args[i], id))
            return 1;
    return 0;
}

static int is_scalar(const mt_kexpr *x, int id)
{
    return x && x->op == MT_KX_SCALAR && x->id == id;
}

/* The form of `set acc = value` (scalar s->id): FORM_ADD, FORM_MAX or FORM_NONE. */
static int set_form(gscan *g, const mt_kstmt *s)
{
    const mt_kexpr *v = s->value;
    int acc = s->id;
    if (v->op == MT_KX_ADD && is_scalar(v->args[0], acc) && !uses_scalar(g, v->args[1], acc))
        return FORM_ADD;
    if (v->op != MT_KX_SELECT || !is_scalar(v->args[2], acc))
        return FORM_NONE;
    const mt_kexpr *x = v->args[1], *c = v->args[0];
    if (uses_scalar(g, x, acc) || c->op != MT_KX_OR)
        return FORM_NONE;
    const mt_kexpr *ne = c->args[0], *gt = c->args[1];
    int nan = ne->op == MT_KX_NE && mt_kx_equal(ne->args[0], x) && mt_kx_equal(ne->args[1], x);
    int more = gt->op == MT_KX_GT && mt_kx_equal(gt->args[0], x) && is_scalar(gt->args[1], acc);
    return nan && more ? FORM_MAX : FORM_NONE;
}

/* Whether the declaration of an accumulator of form f starts from f's identity. */
static int starts_at_identity(const mt_kstmt *decl, int f)
{
    const mt_kexpr *v = decl ? decl->value : NULL;
    if (!v || v->op != MT_KX_CONST || (v->type != MT_KT_F32 && v->type != MT_KT_F64))
        return 0;
    return f == FORM_ADD ? v->c.f == 0.0 : isinf(v->c.f) && v->c.f < 0;
}

/* The loops of the reduction nest starting at s: s, then each loop that is the only
 * statement of the one before and is a reduction too. */
static int reduce_nest(const mt_kstmt *s, const mt_kstmt **loops)
{
    int n = 0;
    while (n < MAX_DEPTH && s && s->kind == MT_KS_FOR && (s->flags & MT_KLOOP_REDUCE)) {
        loops[n++] = s;
        s = s->body;
        if (s && s->next)
            break;
    }
    return n;
}

static int64_t nest_trip(const mt_kstmt *const *loops, int n)
{
    int64_t t = 1;
    for (int i = 0; i < n; i++)
        t *= loops[i]->trip;
    return t;
}

/* Checks the statements of a nest's innermost body (private to each work-item): scalars
 * declared outside the body are set only in a known form, from their identity, and read
 * only there. accs collects them. */
static void scan_private(gscan *g, const mt_kstmt *s, int *accs, int *nacc)
{
    for (; s && g->ok; s = s->next) {
        if (s->kind == MT_KS_GEMM) {
            g->ok = 0;
        } else if (s->kind == MT_KS_FOR) {
            scan_private(g, s->body, accs, nacc);
        } else if (s->kind == MT_KS_SET && g->decl[s->id]) {
            int f = set_form(g, s), seen = 0;
            for (int i = 0; i < *nacc; i++)
                seen |= accs[i] == s->id;
            if (f == FORM_NONE || seen || *nacc == MAX_ACCS ||
                !starts_at_identity(g->decl[s->id], f))
                g->ok = 0;
            else
                accs[(*nacc)++] = s->id;
        }
    }
}

/* No statement in s reads any of accs[0 .. n-1] except in its own update. */
static void check_reads(gscan *g, const mt_kstmt *s, const int *accs, int n)
{
    for (; s && g->ok; s = s->next) {
        if (s->kind == MT_KS_FOR) {
            check_reads(g, s->body, accs, n);
            continue;
        }
        for (int i = 0; i < n && g->ok; i++) {
            const mt_kexpr *v = s->value;
            if (s->kind == MT_KS_SET && s->id == accs[i])
                v = v->args[1]; /* x of either form (set_form checked the rest) */
            if (uses_scalar(g, v, accs[i]) || uses_scalar(g, s->index, accs[i]))
                g->ok = 0;
        }
    }
}

/* A parallel loop shared out sets no scalar declared outside it. */
static void check_no_outer_sets(gscan *g, const mt_kstmt *s)
{
    for (; s && g->ok; s = s->next) {
        if (s->kind == MT_KS_FOR)
            check_no_outer_sets(g, s->body);
        else if (s->kind == MT_KS_SET && g->decl[s->id])
            g->ok = 0;
        else if (s->kind == MT_KS_GEMM)
            g->ok = 0;
    }
}

/* Forgets the declarations made inside s (they are not visible after it). */
static void forget_decls(gscan *g, const mt_kstmt *s)
{
    for (; s; s = s->next) {
        if (s->kind == MT_KS_DECL)
            g->decl[s->id] = NULL;
        else if (s->kind == MT_KS_FOR)
            forget_decls(g, s->body);
    }
}

static void scan_group(gscan *g, const mt_kstmt *s)
{
    for (; s && g->ok; s = s->next) {
        switch (s->kind) {
        case MT_KS_DECL: g->decl[s->id] = s; break;
        case MT_KS_SET:
        case MT_KS_STORE: break;
        case MT_KS_GEMM: g->ok = 0; break;
        case MT_KS_FOR: {
            const mt_kstmt *loops[MAX_DEPTH];
            int n = reduce_nest(s, loops);
            if (n > 0 && nest_trip(loops, n) >= MIN_TRIP) {
                int accs[MAX_ACCS], nacc = 0;
                const mt_kstmt *body = loops[n - 1]->body;
                scan_private(g, body, accs, &nacc);
                check_reads(g, body, accs, nacc);
                forget_decls(g, body);
                int64_t t = nest_trip(loops, n);
                g->max_trip = t > g->max_trip ? t : g->max_trip;
            } else if (s->flags & (MT_KLOOP_PARALLEL | MT_KLOOP_REDUCE)) {
                /* Shared out, or run whole by every work-item: no outer scalar changes in a
                 * parallel loop; a small reduction changes them the same way everywhere. */
                if (s->flags & MT_KLOOP_PARALLEL)
                    check_no_outer_sets(g, s->body);
                forget_decls(g, s->body);
            } else {
                scan_group(g, s->body);
                forget_decls(g, s->body);
            }
            break;
        }
        }
    }
}

int mt_c_kernel_group(const mt_kprog *p, const mt_kernel *k)
{
    if (mt_c_gemm_tiles(k) > 0)
        return 256; /* render_gemm.c */
    for (int i = 0; i < k->nbufs; i++) {
        unsigned a = k->access[i];
        if ((a & MT_KACC_WRITE) && ((a & MT_KACC_READ) || !(a & MT_KACC_NOALIAS)))
            return 0;
    }
    (void)p;
    const mt_kstmt **decl = mt_calloc((size_t)k->nscalars + 1, sizeof *decl);
    if (!decl)
        return 0; /* the plain rendering needs no memory here */
    gscan g = {decl, k->nscalars, 0, 1, 1 << 20};
    /* The body of the parallel nest (render.c: parallel_nest), or the kernel's. */
    const mt_kstmt *body = k->body;
    while (body && !body->next && body->kind == MT_KS_FOR && (body->flags & MT_KLOOP_PARALLEL))
        body = body->body;
    scan_group(&g, body);
    mt_free(decl);
    if (!g.ok || g.max_trip < MIN_TRIP)
        return 0;
    /* Many short reductions keep a device busy one work-item each, reading neighbouring
     * elements in neighbouring work-items when they reduce a leading axis. */
    if (mt_c_kernel_items(k) > MANY_RESULTS && g.max_trip < 1024)
        return 0;
    return g.max_trip >= 1024 ? 256 : 64;
}

/* ---- rendering ------------------------------------------------------------------------- */

typedef struct gren {
    mt_c_rctx *c;
    int group;
    const mt_kstmt **decl; /* per scalar, as in the scan */
    unsigned types;        /* bit t: an array of partials of type t is used */
} gren;

/* The combination of partials a and b (C expressions naming variables) in form f. */
static void combine(mt_buf *b, int f, const char *x, const char *y)
{
    if (f == FORM_ADD)
        mt_buf_printf(b, "%s + %s", x, y);
    else
        mt_buf_printf(b, "((%s != %s) | (%s > %s)) ? %s : %s", y, y, y, x, y, x);
}

static const char *red_array(mt_ktype t) { return t == MT_KT_F32 ? "red_f32" : "red_f64"; }

/* Combines the partial in scalar acc of every work-item; every work-item then holds the
 * total in acc. */
static void tree(gren *r, int acc, int f, mt_ktype t, int ind)
{
    mt_c_rctx *c = r->c;
    const mt_c_dialect *dl = c->dl;
    mt_buf *b = c->b;
    const char *ty = dl->types[t], *red = red_array(t);
    r->types |= 1u << t;
    mt_c_indent(b, ind);
    mt_buf_printf(b, "%s[lid] = s%d;\n", red, acc);
    mt_c_indent(b, ind);
    mt_buf_printf(b, "%s;\n", dl->barrier);
    int last = dl->shfl_down ? dl->warp : 0; /* levels below this one are shuffles */
    for (int w = r->group / 2; w >= 1 && w >= last; w /= 2) {
        mt_c_indent(b, ind);
        mt_buf_printf(b, "if (lid < %d) {\n", w);
        mt_c_indent(b, ind + 1);
        mt_buf_printf(b, "const %s ra = %s[lid], rb = %s[lid + %d];\n", ty, red, red, w);
        mt_c_indent(b, ind + 1);
        mt_buf_printf(b, "%s[lid] = ", red);
        combine(b, f, "ra", "rb");
        mt_buf_puts(b, ";\n");
        mt_c_indent(b, ind);
        mt_buf_puts(b, "}\n");
        if (w == last)
            break; /* each lane of the shuffles reads the slot it wrote itself */
        mt_c_indent(b, ind);
        mt_buf_printf(b, "%s;\n", dl->barrier);
    }
    if (last) {
        mt_c_indent(b, ind);
        mt_buf_printf(b, "if (lid < %d) {\n", last);
        mt_c_indent(b, ind + 1);
        mt_buf_printf(b, "%s ra = %s[lid];\n", ty, red);
        for (int w = last / 2; w >= 1; w /= 2) {
            mt_c_indent(b, ind + 1);
            mt_buf_printf(b, "{\n");
            mt_c_indent(b, ind + 2);
            mt_buf_printf(b, "const %s rb = ", ty);
            mt_buf_printf(b, dl->shfl_down, "ra", w);
            mt_buf_puts(b, ";\n");
            mt_c_indent(b, ind + 2);
            mt_buf_puts(b, "ra = ");
            combine(b, f, "ra", "rb");
            mt_buf_puts(b, ";\n");
            mt_c_indent(b, ind + 1);
            mt_buf_printf(b, "}\n");
        }
        mt_c_indent(b, ind + 1);
        mt_buf_printf(b, "if (lid == 0)\n");
        mt_c_indent(b, ind + 2);
        mt_buf_printf(b, "%s[0] = ra;\n", red);
        mt_c_indent(b, ind);
        mt_buf_puts(b, "}\n");
        mt_c_indent(b, ind);
        mt_buf_printf(b, "%s;\n", dl->barrier);
    }
    mt_c_indent(b, ind);
    mt_buf_printf(b, "s%d = %s[0];\n", acc, red);
    /* Nobody writes the array again before everyone has read the total. */
    mt_c_indent(b, ind);
    mt_buf_printf(b, "%s;\n", dl->barrier);
}

/* The accumulators a nest's body updates, in order of first update, with their forms. */
static void nest_accs(gren *r, const mt_kstmt *s, int *accs, int *forms, int *n)
{
    for (; s; s = s->next) {
        if (s->kind == MT_KS_FOR) {
            nest_accs(r, s->body, accs, forms, n);
        } else if (s->kind == MT_KS_SET && r->decl[s->id]) {
            gscan g = {0, 0, 0, 1, 1 << 20};
            accs[*n] = s->id;
            forms[(*n)++] = set_form(&g, s);
        }
    }
}

static void group_block(gren *r, const mt_kstmt *s, int ind);

static void shared_nest(gren *r, const mt_kstmt *const *loops, int n, int ind)
{
    mt_c_rctx *c = r->c;
    mt_buf *b = c->b;
    const mt_c_dialect *dl = c->dl;
    const mt_kstmt *body = loops[n - 1]->body;
    int accs[MAX_ACCS], forms[MAX_ACCS], nacc = 0;
    nest_accs(r, body, accs, forms, &nacc);
    /* Work-item 0 carries what the accumulator holds so far; the others start from the
     * identity, which is how lowering declares accumulators (the scan checked). */
    for (int i = 0; i < nacc; i++) {
        mt_c_indent(b, ind);
        mt_buf_printf(b, "s%d = lid == 0 ? s%d : ", accs[i], accs[i]);
        mt_c_render_expr(b, dl, c->m, r->decl[accs[i]]->value, 0);
        mt_buf_puts(b, ";\n");
    }
    mt_c_indent(b, ind);
    mt_buf_printf(b, "for (%s rj = lid; rj < %lld; rj += %d) {\n", dl->types[MT_KT_I64],
                  (long long)nest_trip(loops, n), r->group);
    mt_c_render_unflatten(c, loops, n, "rj", ind + 1);
    mt_c_render_block(c, body, ind + 1);
    mt_c_indent(b, ind);
    mt_buf_puts(b, "}\n");
    for (int i = 0; i < nacc; i++) {
        const mt_kexpr *init = r->decl[accs[i]]->value;
        tree(r, accs[i], forms[i], init->type, ind);
    }
}

static void group_stmt(gren *r, const mt_kstmt *s, int ind)
{
    mt_c_rctx *c = r->c;
    mt_buf *b = c->b;
    const char *i64 = c->dl->types[MT_KT_I64];
    if (s->kind == MT_KS_DECL) {
        r->decl[s->id] = s;
        mt_c_render_stmt(c, s, ind);
    } else if (s->kind == MT_KS_STORE) {
        mt_c_indent(b, ind);
        mt_buf_puts(b, "if (lid == 0) {\n");
        mt_c_render_stmt(c, s, ind + 1);
        mt_c_indent(b, ind);
        mt_buf_puts(b, "}\n");
    } else if (s->kind != MT_KS_FOR) {
        mt_c_render_stmt(c, s, ind);
    } else {
        const mt_kstmt *loops[MAX_DEPTH];
        int n = reduce_nest(s, loops);
        if (n > 0 && nest_trip(loops, n) >= MIN_TRIP) {
            shared_nest(r, loops, n, ind);
        } else if (s->flags & MT_KLOOP_PARALLEL) {
            mt_c_indent(b, ind);
            mt_buf_printf(b, "for (%s i%d = lid; i%d < %lld; i%d += %d) {\n", i64, s->id, s->id,
                          (long long)s->trip, s->id, r->group);
            mt_c_render_block(c, s->body, ind + 1);
            mt_c_indent(b, ind);
            mt_buf_puts(b, "}\n");
        } else if (s->flags & MT_KLOOP_REDUCE) {
            mt_c_render_stmt(c, s, ind);
        } else {
            mt_c_indent(b, ind);
            mt_buf_printf(b, "for (%s i%d = 0; i%d < %lld; i%d++) {\n", i64, s->id, s->id,
                          (long long)s->trip, s->id);
            group_block(r, s->body, ind + 1);
            mt_c_indent(b, ind);
            mt_buf_puts(b, "}\n");
        }
    }
}

static void group_block(gren *r, const mt_kstmt *s, int ind)
{
    for (; s && r->c->fail == MT_OK; s = s->next)
        group_stmt(r, s, ind);
}

void mt_c_render_group_kernel(mt_c_rctx *c, const mt_kernel *k, const mt_kstmt *const *loops, int n,
                              int group)
{
    const mt_c_dialect *dl = c->dl;
    mt_buf *b = c->b;
    const char *i64 = dl->types[MT_KT_I64];
    const mt_kstmt **decl = mt_calloc((size_t)k->nscalars + 1, sizeof *decl);
    if (!decl) {
        c->fail = mt_diag_set(c->d, MT_ERR_NOMEM, "%s: out of memory", dl->name);
        return;
    }
    gren r = {c, group, decl, 0};
    const mt_kstmt *body = n ? loops[n - 1]->body : k->body;
    /* The body first, to learn which arrays of partials it uses. */
    mt_buf *out = c->b, tmp = {0};
    c->b = b = &tmp;
    if (n == 0) {
        /* One group does it all. */
        mt_buf_printf(b, "    if (%s != 0)\n        return;\n", dl->group_id);
        group_block(&r, body, 1);
    } else {
        mt_buf_printf(b, "    for (%s grp = %s; grp < %lld; grp += %s) {\n", i64, dl->group_id,
                      (long long)mt_c_kernel_items(k), dl->group_num);
        mt_c_render_unflatten(c, loops, n, "grp", 2);
        group_block(&r, body, 2);
        mt_buf_puts(b, "    }\n");
    }
    mt_free(decl);
    c->b = out;
    mt_ktype types[2] = {MT_KT_F32, MT_KT_F64};
    for (int i = 0; i < 2; i++)
        if (r.types & (1u << types[i]))
            mt_buf_printf(out, "    %s%s %s[%d];\n", dl->local, dl->types[types[i]],
                          red_array(types[i]), group);
    mt_buf_printf(out, "    const %s lid = %s;\n", i64, dl->local_id);
    char *text = mt_buf_take(&tmp);
    if (!text)
        c->fail = mt_diag_set(c->d, MT_ERR_NOMEM, "%s: out of memory", dl->name);
    else
        mt_buf_puts(out, text);
    mt_free(text);
}
