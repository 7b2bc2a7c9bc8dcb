/* lower.c - fused graph -> kernel IR: one loop nest per kernel of the partition.
 *
 * Requires: a verified graph and its partition (passes/fuse.c). Guarantees: a program with one
 * kernel per fusion kernel, in the same order (plus a copy kernel per output, or update value,
 * that is a leaf; split reductions and convs on the GEMM add kernels of their own before the
 * one that stores the root), and one mt_kupdate per update of a step graph;
 * each kernel stores its root's value (and its sibling reductions', passes/fuse.c) once per
 * element and reads only leaves and the roots of earlier kernels.
 *
 * A kernel iterates over its root's shape: one loop per axis of size > 1, outermost first.
 * This file is the driver: it makes the buffers and picks, per kernel, the elementwise loop
 * nest below, the contraction nests (lower_contract.c, which hands convs to the GEMM of
 * lower_conv.c) or a split reduction (lower_split.c). All of them are built from the pieces of
 * lower_build.c (passes/lower_internal.h), so the files form a DAG: lower.c -> lower_contract.c
 * -> lower_conv.c, lower_split.c -> lower_build.c.
 */
#include "passes/lower.h"

#include <stdio.h>
#include <string.h>

#include "ir/alloc.h"
#include "passes/lower_contract.h"
#include "passes/lower_internal.h"
#include "passes/lower_split.h"

static void *chk(mt_lower_state *s, void *ptr)
{
    if (!ptr)
        s->oom = 1;
    return ptr;
}

static void elementwise_body(mt_lower_state *s, int id, int buf, const mt_type *t, int copy_from)
{
    mt_kexpr *idx[MT_MAX_RANK], *var[MT_MAX_RANK];
    /* The last axis keeps a loop of its own: unit stride, plain indices, vectorized. */
    int last = t->rank - 1, n = mt_lower_open_outer(s, t, last > 0 ? last : 0, idx, var);
    if (last >= 0) {
        idx[last] = var[n] = mt_lower_open(s, t->dims[last], MT_KLOOP_PARALLEL);
        n++;
    }
    mt_kexpr *flat = mt_lower_flat(s, t, idx);
    mt_kexpr *v = copy_from >= 0 ? mt_kx_load(s->p, copy_from, mt_ktype_of(t->dtype), flat)
                                 : mt_lower_value(s, id, idx);
    mt_lower_emit(s, mt_ks_store(s->p, buf, flat, v));
    for (int i = 0; i < s->nsib; i++) /* of the root's type: the same index */
        mt_lower_emit(
            s, mt_ks_store(s->p, s->buf_of[s->sib[i]], flat, mt_lower_value(s, s->sib[i], idx)));
    mt_lower_close_outer(s, var, n);
}

static char *kernel_note(mt_lower_state *s, int k, int root)
{
    mt_buf b = {0};
    mt_buf_printf(&b, "%%%s:", s->g->nodes[root].name);
    int shown = 0;
    for (int m = s->members_start[k]; m < s->members_start[k + 1]; m++)
        if (shown++ < 32)
            mt_buf_printf(&b, " %s", mt_op_name(s->g->nodes[s->members[m]].op));
    if (shown > 32)
        mt_buf_printf(&b, " ... (%d ops)", shown);
    return chk(s, mt_buf_take(&b));
}

static void lower_kernel(mt_lower_state *s, int k, int root, int out);

/* The sibling reductions kernel k stores besides `root` (at most cap of them); their count. */
static int siblings(mt_lower_state *s, int k, int root, int *sib, int cap)
{
    int n = 0;
    for (int m = s->members_start[k]; m < s->members_start[k + 1] && n < cap; m++) {
        int id = s->members[m];
        if (id != root && s->f->role[id] == MT_FUSE_ROOT)
            sib[n++] = id;
    }
    return n;
}

/* mt_lower_split of the root alone (its siblings left out). */
static int split_alone(mt_lower_state *s, const char *note)
{
    s->nsib = 0;
    return mt_lower_split(s, note);
}

static void lower_kernel(mt_lower_state *s, int k, int root, int out)
{
    int *sib = NULL, nsib = 0;
    if (k >= 0 && root == s->f->kernels[k].root) {
        int cap = s->members_start[k + 1] - s->members_start[k];
        sib = chk(s, mt_calloc((size_t)cap + 1, sizeof *sib));
        nsib = sib ? siblings(s, k, root, sib, cap) : 0;
    }
    mt_lower_begin(s, root, k >= 0 ? s->f->kernels[k].core : -1);
    s->sib = sib;
    s->nsib = nsib;
    /* Merging outer loops would change where fused reductions are placed (passes/fuse.c
     * models one loop per axis), so only kernels without them merge. */
    s->collapse = 1;
    for (int m = k >= 0 ? s->members_start[k] : 0; k >= 0 && m < s->members_start[k + 1]; m++) {
        int id = s->members[m];
        if (id != root && s->f->role[id] == MT_FUSE_FUSED &&
            mt_op_is(s->g->nodes[id].op, MT_F_REDUCE | MT_F_POOL))
            s->collapse = 0;
    }
    char *note = k >= 0 ? kernel_note(s, k, root) : NULL;
    const mt_type *t = &s->g->nodes[root].type;
    if (k < 0) {
        elementwise_body(s, root, out, t, s->buf_of[root]);
    } else if (s->core >= 0) {
        mt_lower_contract(s, note);
    } else if (s->collapse && s->t->parallel && split_alone(s, note)) {
        /* Both kernels are in. A split stores one result: each sibling is split (or
         * lowered) on its own, computing the operand again, as it would have been read
         * again from a buffer. */
        for (int i = 0; i < nsib; i++)
            lower_kernel(s, k, sib[i], -1);
        mt_free(sib);
        mt_free(note);
        return;
    } else {
        s->nsib = nsib;
        elementwise_body(s, root, s->buf_of[root], t, -1);
    }
    mt_lower_finish(s, k >= 0 ? note : "copy");
    mt_free(sib);
    mt_free(note);
}

/* Fills s->members_start and s->members from the fusion's kernel of each node. */
static void group_members(mt_lower_state *s)
{
    const mt_fusion *f = s->f;
    int n = s->g->nnodes;
    s->members_start = mt_calloc((size_t)f->nkernels + 2, sizeof *s->members_start);
    s->members = mt_calloc((size_t)n + 1, sizeof *s->members);
    if (!s->members_start || !s->members) {
        s->oom = 1;
        return;
    }
    for (int id = 0; id < n; id++)
        if (f->kernel[id] >= 0)
            s->members_start[f->kernel[id] + 2]++;
    for (int k = 0; k < f->nkernels; k++)
        s->members_start[k + 2] += s->members_start[k + 1];
    /* members_start[k + 1] is now where kernel k's nodes start; placing them moves it to
     * where they end, which is where kernel k + 1's start. */
    for (int id = 0; id < n; id++)
        if (f->kernel[id] >= 0)
            s->members[s->members_start[f->kernel[id] + 1]++] = id;
}

static int first_output(const mt_graph *g, int id)
{
    for (int i = 0; i < g->noutputs; i++)
        if (g->outputs[i] == id)
            return i;
    return -1;
}

mt_status mt_lower(const mt_graph *g, const mt_fusion *f, const mt_target_desc *t, mt_kprog **out,
                   mt_diag *d)
{
    *out = NULL;
    mt_lower_state s;
    memset(&s, 0, sizeof s);
    s.g = g;
    s.f = f;
    s.t = t;
    s.p = mt_kprog_new(g->name);
    s.buf_of = mt_calloc((size_t)g->nnodes + 1, sizeof *s.buf_of);
    int *leaf_copy = mt_calloc((size_t)g->nnodes + 1, sizeof *leaf_copy);
    if (!s.p || !s.buf_of || !leaf_copy)
        s.oom = 1;
    else
        group_members(&s);
    mt_kprog *p = s.p;
    if (p)
        p->exec = (mt_kexec){t->parallel, t->min_parallel_work, t->min_gemm_macs,
                             t->gemm_rows > 0 ? t->gemm_rows : 1};
    /* Buffers: the leaves, then one per kernel root, then copies of leaf outputs. */
    for (int id = 0; id < g->nnodes && !s.oom; id++) {
        const mt_node *n = &g->nodes[id];
        s.buf_of[id] = leaf_copy[id] = -1;
        mt_kbuf_kind kind = mt_graph_update_of(g, id) ? MT_KBUF_STATE : MT_KBUF_INPUT;
        if (f->role[id] == MT_FUSE_LEAF &&
            (s.buf_of[id] = mt_kprog_add_buf(p, kind, &n->type, id, n->name)) < 0)
            s.oom = 1;
    }
    for (int id = 0; id < g->nnodes && !s.oom; id++) {
        if (f->role[id] != MT_FUSE_ROOT)
            continue;
        int o = first_output(g, id);
        const mt_node *n = &g->nodes[id];
        int b = mt_kprog_add_buf(p, o >= 0 ? MT_KBUF_OUTPUT : MT_KBUF_TEMP, &n->type, id, n->name);
        if (b < 0)
            s.oom = 1;
        else
            p->bufs[b].output = o;
        s.buf_of[id] = b;
    }
    for (int i = 0; i < g->noutputs && !s.oom; i++) {
        int id = g->outputs[i];
        if (f->role[id] != MT_FUSE_LEAF || leaf_copy[id] >= 0)
            continue;
        int b = mt_kprog_add_buf(p, MT_KBUF_OUTPUT, &g->nodes[id].type, id, g->nodes[id].name);
        if (b < 0)
            s.oom = 1;
        else
            p->bufs[b].output = i;
        leaf_copy[id] = b;
    }
    /* A leaf as an update's new value is copied too: at the end of the run its own buffer may
     * already hold another update's value (update %a <- %b, update %b <- %a). */
    for (int i = 0; i < g->nupdates && !s.oom; i++) {
        int id = g->updates[i].value;
        if (f->role[id] != MT_FUSE_LEAF || leaf_copy[id] >= 0)
            continue;
        if ((leaf_copy[id] =
                 mt_kprog_add_buf(p, MT_KBUF_TEMP, &g->nodes[id].type, id, g->nodes[id].name)) < 0)
            s.oom = 1;
    }
    if (!s.oom && g->nupdates > 0) {
        p->nupdates = g->nupdates;
        p->updates = chk(&s, mt_arena_alloc(&p->arena, (size_t)g->nupdates * sizeof *p->updates));
    }
    for (int i = 0; i < g->nupdates && !s.oom; i++) {
        int v = g->updates[i].value;
        p->updates[i].target = s.buf_of[g->updates[i].target];
        p->updates[i].value = f->role[v] == MT_FUSE_LEAF ? leaf_copy[v] : s.buf_of[v];
    }
    if (!s.oom) {
        p->noutputs = g->noutputs;
        p->outputs = chk(&s, mt_arena_alloc(&p->arena, ((size_t)g->noutputs + 1) * sizeof(int)));
    }
    for (int i = 0; i < g->noutputs && !s.oom; i++) {
        int id = g->outputs[i];
        p->outputs[i] = f->role[id] == MT_FUSE_LEAF ? leaf_copy[id] : s.buf_of[id];
    }
    for (int k = 0; k < f->nkernels && !s.oom && !s.bug; k++)
        lower_kernel(&s, k, f->kernels[k].root, -1);
    for (int id = 0; id < g->nnodes && !s.oom && !s.bug; id++)
        if (leaf_copy[id] >= 0)
            lower_kernel(&s, -1, id, leaf_copy[id]);
    mt_free(s.buf_of);
    mt_free(s.members_start);
    mt_free(s.members);
    mt_free(leaf_copy);
    mt_free(s.loop_depth);
    mt_free(s.scalar_types);
    mt_free(s.scalar_depth);
    mt_free(s.memo);
    if (s.oom || s.bug) {
        mt_kprog_free(p);
        return s.oom ? mt_diag_set(d, MT_ERR_NOMEM, "lower: out of memory")
                     : mt_diag_set(d, MT_ERR_INTERNAL, "lower: %s", s.bug);
    }
    *out = p;
    return MT_OK;
}
