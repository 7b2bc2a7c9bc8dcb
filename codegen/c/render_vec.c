/* render_vec.c - elementwise kernels four elements at a time with float4 loads and stores
 * (render.h: mt_c_kernel_vec).
 *
 * An elementwise kernel reads and writes most of its buffers at the flat index of its
 * parallel nest (element g of the output from element g of each same-shaped operand).
 * Rendered vectorised, each work-item of the grid-stride loop takes four consecutive elements:
 * one float4 load per such f32 operand, the body four times (its loads at the flat index
 * read the loaded vector's components; broadcast operands and other loads stay scalar), one
 * float4 store per output, then a scalar loop over the last items % 4 elements. Each element
 * is computed by the same statements as before, so results are bit for bit the same.
 *
 * A kernel qualifies when its nest's body only declares and stores (no loops, no
 * accumulation), each store is of an f32 buffer at the flat index, each buffer is stored at
 * most once, no buffer it writes overlaps another, a buffer it writes is read only at the flat
 * index and only before it is stored (the vector loads run first), and it has at least 64
 * elements. CUDA reads a float4 through a pointer that must be 16-byte aligned: device buffers
 * are, temporaries at an offset that is not a multiple of 16 disqualify the kernel there.
 * OpenCL's vload4/vstore4 need only the element's alignment.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "codegen/c/render.h"

#define MAX_NEST 16
#define MIN_ITEMS 64
#define SAMPLES 65536

typedef struct nest {
    const mt_kstmt *loops[MAX_NEST];
    int n;
    int64_t items;
} nest;

static int nest_of(const mt_kernel *k, nest *ns)
{
    ns->n = 0;
    ns->items = 1;
    const mt_kstmt *s = k->body;
    while (ns->n < MAX_NEST && s && !s->next && s->kind == MT_KS_FOR &&
           (s->flags & MT_KLOOP_PARALLEL)) {
        ns->loops[ns->n++] = s;
        ns->items *= s->trip;
        s = s->body;
    }
    return ns->n;
}

/* ---- the flat index -------------------------------------------------------------------- */

/* x with the nest's variables at flat position f; 0 in *ok for anything but index math. */
static int64_t eval(const mt_kexpr *x, const nest *ns, int64_t f, int *ok)
{
    if (!*ok || !x || x->type != MT_KT_I64)
        return *ok = 0, 0;
    if (x->op == MT_KX_CONST)
        return x->c.i;
    if (x->op == MT_KX_VAR) {
        int64_t inner = ns->items;
        for (int i = 0; i < ns->n; i++) {
            inner /= ns->loops[i]->trip;
            if (ns->loops[i]->id == x->id)
                return f / inner % ns->loops[i]->trip;
        }
        return *ok = 0, 0;
    }
    if (x->nargs != 2)
        return *ok = 0, 0;
    int64_t a = eval(x->args[0], ns, f, ok), b = eval(x->args[1], ns, f, ok);
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

/* Whether index x is the flat position itself: at every element of a nest of up to 2^16
 * elements, else at the first and last 4096 and at 2^16 spread ones (index maps are div/mod
 * arithmetic of the loop structure: a permutation differs at most elements, and sampling
 * only the ends misses a permutation of outer axes). */
static int is_flat(const mt_kexpr *x, const nest *ns)
{
    int64_t all = ns->items <= SAMPLES ? ns->items : 2 * 4096 + SAMPLES;
    for (int64_t i = 0; i < all; i++) {
        int64_t f = i;
        if (ns->items > SAMPLES)
            f = i < 4096   ? i
                : i < 8192 ? ns->items - 1 - (i - 4096)
                           : (int64_t)(((uint64_t)(i - 8192) * 2654435761u) % (uint64_t)ns->items);
        int ok = 1;
        if (eval(x, ns, f, &ok) != f || !ok)
            return 0;
    }
    return 1;
}

/* ---- which kernels --------------------------------------------------------------------- */

typedef struct vscan {
    const mt_kprog *p;
    const mt_kernel *k;
    const nest *ns;
    char *stored; /* per buffer */
    int ok, budget;
} vscan;

static void scan_loads(vscan *v, const mt_kexpr *x)
{
    if (!x || !v->ok)
        return;
    if (--v->budget < 0) {
        v->ok = 0;
        return;
    }
    if (x->op == MT_KX_LOAD && (mt_kernel_access(v->k, x->id) & MT_KACC_WRITE) &&
        (v->stored[x->id] || !is_flat(x->args[0], v->ns)))
        v->ok = 0;
    for (int i = 0; i < x->nargs; i++)
        scan_loads(v, x->args[i]);
}

static int aligned(const mt_c_dialect *dl, const mt_kprog *p, int b)
{
    const mt_kbuf *u = &p->bufs[b];
    return dl->vec_align <= 4 || u->kind != MT_KBUF_TEMP || u->offset % dl->vec_align == 0;
}

int mt_c_kernel_vec(const mt_c_dialect *dl, const mt_kprog *p, const mt_kernel *k)
{
    nest ns;
    if (!dl->vec_load || !nest_of(k, &ns) || ns.items < MIN_ITEMS)
        return 0;
    for (int i = 0; i < k->nbufs; i++)
        if ((k->access[i] & MT_KACC_WRITE) && !(k->access[i] & MT_KACC_NOALIAS))
            return 0;
    char *stored = mt_calloc((size_t)p->nbufs + 1, 1);
    if (!stored)
        return 0;
    vscan v = {p, k, &ns, stored, 1, 1 << 20};
    for (const mt_kstmt *s = ns.loops[ns.n - 1]->body; s && v.ok; s = s->next) {
        if (s->kind != MT_KS_DECL && s->kind != MT_KS_STORE) {
            v.ok = 0;
            break;
        }
        scan_loads(&v, s->value);
        if (s->kind == MT_KS_STORE) {
            scan_loads(&v, s->index);
            if (stored[s->id] || p->bufs[s->id].type.dtype != MT_DTYPE_F32 ||
                !is_flat(s->index, &ns) || !aligned(dl, p, s->id))
                v.ok = 0;
            stored[s->id] = 1;
        }
    }
    mt_free(stored);
    return v.ok ? 4 : 0;
}

/* ---- rendering ------------------------------------------------------------------------- */

#define CACHE 64

typedef struct vren {
    mt_c_rctx *c;
    const nest *ns;
    char *loaded; /* per buffer: its float4 is loaded */
    int comp;     /* the component being rendered */
    char text[64];
    /* is_flat of the index expressions seen (they are shared: the loads of one operand) */
    const mt_kexpr *seen[CACHE];
    char flat[CACHE];
    int nseen;
} vren;

static int flat_cached(vren *r, const mt_kexpr *x)
{
    for (int i = 0; i < r->nseen; i++)
        if (r->seen[i] == x)
            return r->flat[i];
    int f = is_flat(x, r->ns);
    if (r->nseen < CACHE) {
        r->seen[r->nseen] = x;
        r->flat[r->nseen++] = (char)f;
    }
    return f;
}

static const char comps[4] = {'x', 'y', 'z', 'w'};

/* Loads of f32 buffers at the flat index, collected before rendering. */
static void collect(vren *r, const mt_kexpr *x, int *budget)
{
    if (!x || --*budget < 0)
        return;
    const mt_kprog *p = r->c->p;
    if (x->op == MT_KX_LOAD && !r->loaded[x->id] && p->bufs[x->id].type.dtype == MT_DTYPE_F32 &&
        aligned(r->c->dl, p, x->id) && flat_cached(r, x->args[0]))
        r->loaded[x->id] = 1;
    for (int i = 0; i < x->nargs; i++)
        collect(r, x->args[i], budget);
}

static const char *load_hook(void *ctx, const mt_kexpr *x)
{
    vren *r = ctx;
    if (!r->loaded[x->id] || !flat_cached(r, x->args[0]))
        return NULL;
    snprintf(r->text, sizeof r->text, "vb%d.%c", x->id, comps[r->comp]);
    return r->text;
}

void mt_c_render_vec_kernel(mt_c_rctx *c, const mt_kernel *k)
{
    const mt_c_dialect *dl = c->dl;
    mt_buf *b = c->b;
    const char *i64 = dl->types[MT_KT_I64];
    nest ns;
    nest_of(k, &ns);
    const mt_kstmt *body = ns.loops[ns.n - 1]->body;
    vren r = {.c = c, .ns = &ns, .loaded = mt_calloc((size_t)c->p->nbufs + 1, 1)};
    if (!r.loaded) {
        c->fail = mt_diag_set(c->d, MT_ERR_NOMEM, "%s: out of memory", dl->name);
        return;
    }
    int budget = 1 << 20;
    for (const mt_kstmt *s = body; s; s = s->next)
        collect(&r, s->value, &budget);
    int64_t nv = ns.items / 4;
    mt_buf_printf(b, "    for (%s gv = %s; gv < %lld; gv += %s) {\n", i64, dl->global_id,
                  (long long)nv, dl->global_num);
    for (int id = 0; id < c->p->nbufs; id++)
        if (r.loaded[id]) {
            mt_buf_printf(b, "        const float4 vb%d = ", id);
            mt_buf_printf(b, dl->vec_load, id);
            mt_buf_puts(b, ";\n");
        }
    for (const mt_kstmt *s = body; s; s = s->next)
        if (s->kind == MT_KS_STORE)
            mt_buf_printf(b, "        float4 wb%d;\n", s->id);
    mt_c_memo_set_load_hook(c->m, load_hook, &r);
    for (r.comp = 0; r.comp < 4 && c->fail == MT_OK; r.comp++) {
        mt_buf_puts(b, "        {\n");
        mt_buf_printf(b, "            const %s gid = gv * 4 + %d;\n", i64, r.comp);
        mt_c_render_unflatten(c, ns.loops, ns.n, "gid", 3);
        /* Loads read from the vectors may leave a loop variable unused. */
        for (int i = 0; i < ns.n; i++)
            mt_buf_printf(b, "            (void)i%d;\n", ns.loops[i]->id);
        for (const mt_kstmt *s = body; s; s = s->next) {
            if (s->kind != MT_KS_STORE) {
                mt_c_render_stmt(c, s, 3);
                continue;
            }
            const mt_kexpr *xs[1] = {s->value};
            mt_c_render_temps(b, dl, c->m, xs, 1, 3);
            mt_buf_printf(b, "            wb%d.%c = ", s->id, comps[r.comp]);
            mt_c_render_expr(b, dl, c->m, s->value, 1);
            mt_buf_puts(b, ";\n");
        }
        mt_buf_puts(b, "        }\n");
    }
    mt_c_memo_set_load_hook(c->m, NULL, NULL);
    for (const mt_kstmt *s = body; s; s = s->next)
        if (s->kind == MT_KS_STORE) {
            mt_buf_puts(b, "        ");
            mt_buf_printf(b, dl->vec_store, s->id, s->id);
            mt_buf_puts(b, ";\n");
        }
    mt_buf_puts(b, "    }\n");
    mt_free(r.loaded);
    if (ns.items % 4 == 0)
        return;
    /* The last items % 4 elements, one per work-item. */
    mt_buf_printf(b, "    for (%s gid = %lld + %s; gid < %lld; gid += %s) {\n", i64,
                  (long long)(nv * 4), dl->global_id, (long long)ns.items, dl->global_num);
    mt_c_render_unflatten(c, ns.loops, ns.n, "gid", 2);
    mt_c_render_block(c, body, 2);
    mt_buf_puts(b, "    }\n");
}
