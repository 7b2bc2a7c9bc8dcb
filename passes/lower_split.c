/* lower_split.c - a large reduction with few results, split so that threads share it.
 *
 * A kernel's parallel loop runs over its results, so `sum(x)` over a big x (one result) or
 * `sum(x, dim=0)` of a tall, narrow x (a handful) would run on one thread. Such a reduction
 * of L elements per result becomes two kernels:
 *
 *   partials  for (result o, chunk c) in parallel: part[o, c] = reduce over c*S .. c*S+S-1
 *   combine   for each result o: reduce part[o, 0 .. C-1] in order, then the L - C*S
 *             elements past the last chunk; divide for a mean
 *
 * with C = split_chunks chunks of S = L / C elements (the target description, passes/target.h;
 * results below parallel_min_trip, at least split_min elements per result). C is fixed, not the
 * thread count, so the order of every addition, and so the result, is the same for 1 and N threads.
 * Partial sums keep the accumulator type (f64 for f32 sums), so the split costs no accuracy.
 * Only plain reductions qualify: the caller checks that nothing else in the kernel is a
 * reduction (its input is then elementwise and movement ops, safe to evaluate anywhere).
 */
#include <stdio.h>
#include <string.h>

#include "ir/alloc.h"
#include "passes/lower_split.h"

/* The multi-index of flat offset `flat` in type t (row-major). */
static void unflatten(mt_lower_state *s, const mt_type *t, mt_kexpr *flat, mt_kexpr **idx)
{
    int64_t st[MT_MAX_RANK];
    mt_type_strides(t, st);
    for (int a = 0; a < t->rank; a++)
        idx[a] = mt_kx_binary(s->p, MT_KX_MOD,
                              mt_kx_binary(s->p, MT_KX_DIV, flat, mt_kx_int(s->p, st[a])),
                              mt_kx_int(s->p, t->dims[a]));
}

/* The operand index of reduction n for result index `out` and reduced element r (0 .. L-1 in
 * row-major order over the reduced axes). */
static void operand_index(mt_lower_state *s, const mt_node *n, mt_kexpr *const *out, mt_kexpr *r,
                          mt_kexpr **in)
{
    const mt_type *tx = &s->g->nodes[n->in[0]].type;
    if (n->attrs->dim == MT_DIM_ALL) {
        unflatten(s, tx, r, in);
        return;
    }
    int k = mt_axis(n->attrs->dim, tx->rank);
    for (int a = 0; a < tx->rank; a++)
        in[a] = a == k ? r : out[a];
}

static char *suffixed(const char *note, const char *suffix)
{
    size_t len = strlen(note ? note : "") + strlen(suffix) + 1;
    char *s = mt_malloc(len);
    if (s)
        snprintf(s, len, "%s%s", note ? note : "", suffix);
    return s;
}

int mt_lower_split(mt_lower_state *s, const char *note)
{
    const mt_graph *g = s->g;
    mt_kprog *p = s->p;
    int id = s->root;
    const mt_node *n = &g->nodes[id];
    if (!mt_op_is(n->op, MT_F_REDUCE))
        return 0;
    const mt_type *t = &n->type, *tx = &g->nodes[n->in[0]].type;
    int64_t O = mt_type_numel(t), L = mt_type_numel(tx) / O;
    if (O >= s->t->parallel_min_trip || L < s->t->split_min || s->t->split_chunks < 1 ||
        L < s->t->split_chunks)
        return 0;
    int64_t C = s->t->split_chunks, S = L / C, R = L - C * S;
    mt_ktype acc_t = mt_lower_acc_type(s, id);
    int64_t pdims[1] = {O * C};
    mt_type pt = mt_type_make(acc_t == MT_KT_F64 ? MT_DTYPE_F64 : MT_DTYPE_F32, 1, pdims);
    char name[300];
    snprintf(name, sizeof name, "%s.partial", n->name);
    int part = mt_kprog_add_buf(p, MT_KBUF_TEMP, &pt, id, name);
    char *note_a = suffixed(note, " (partials)"), *note_b = suffixed(note, " (combined)");
    if (part < 0 || !note_a || !note_b) {
        s->oom = 1;
        mt_free(note_a);
        mt_free(note_b);
        return 1;
    }
    mt_kexpr *oidx[MT_MAX_RANK], *in[MT_MAX_RANK];

    /* partials: one (result, chunk) pair per parallel iteration. */
    mt_kexpr *pc = mt_lower_open(s, O * C, MT_KLOOP_PARALLEL);
    mt_kexpr *o = mt_kx_binary(p, MT_KX_DIV, pc, mt_kx_int(p, C));
    mt_kexpr *c = mt_kx_binary(p, MT_KX_MOD, pc, mt_kx_int(p, C));
    unflatten(s, t, o, oidx);
    mt_kexpr *acc = mt_lower_acc_new(s, id);
    mt_kexpr *j = mt_lower_open(s, S, MT_KLOOP_REDUCE);
    mt_kexpr *r = mt_kx_binary(p, MT_KX_ADD, mt_kx_binary(p, MT_KX_MUL, c, mt_kx_int(p, S)), j);
    operand_index(s, n, oidx, r, in);
    mt_lower_acc_add(s, id, acc, mt_lower_value(s, n->in[0], in));
    mt_lower_close(s, j);
    mt_lower_emit(s, mt_ks_store(p, part, pc, acc));
    mt_lower_close(s, pc);
    mt_lower_finish(s, note_a);

    /* combine: the chunks in order, then the tail the chunks did not cover. */
    mt_lower_begin(s, id, -1);
    mt_kexpr *ov = mt_lower_open(s, O, MT_KLOOP_PARALLEL);
    unflatten(s, t, ov, oidx);
    acc = mt_lower_acc_new(s, id);
    mt_kexpr *ci = mt_lower_open(s, C, MT_KLOOP_REDUCE);
    mt_kexpr *at = mt_kx_binary(p, MT_KX_ADD, mt_kx_binary(p, MT_KX_MUL, ov, mt_kx_int(p, C)), ci);
    mt_lower_acc_add(s, id, acc, mt_kx_load(p, part, acc_t, at));
    mt_lower_close(s, ci);
    if (R > 0) {
        mt_kexpr *ti = mt_lower_open(s, R, MT_KLOOP_REDUCE);
        mt_kexpr *rt = mt_kx_binary(p, MT_KX_ADD, ti, mt_kx_int(p, C * S));
        operand_index(s, n, oidx, rt, in);
        mt_lower_acc_add(s, id, acc, mt_lower_value(s, n->in[0], in));
        mt_lower_close(s, ti);
    }
    mt_kexpr *res = mt_lower_acc_result(s, id, acc, L);
    mt_lower_emit(s, mt_ks_store(p, s->buf_of[id], mt_lower_flat(s, t, oidx), res));
    mt_lower_close(s, ov);
    mt_lower_finish(s, note_b);
    mt_free(note_a);
    mt_free(note_b);
    return 1;
}
