/* fuse_print.c - the fused stage as text (`mtc dump --stage fused [--why]`).
 *
 * One group per kernel, in execution order, listing the graph nodes it computes in MTIR-like
 * lines (attributes omitted):
 *
 *   # fused graph mlp: 2 kernels
 *   kernel k0 matmul {
 *     %h = matmul %x, %w1 : f32[128,256]
 *     %a = add %h, %b1 : f32[128,256]
 *     %y = relu %a : f32[128,256]  # stored
 *   }
 *
 * Stored nodes are marked `# stored` (a kernel stores one, or several sibling reductions); movement
 * ops and constants turned into index arithmetic or literals are listed in every kernel that reads
 * them, marked `# inline`. With
 * --why, each stored node says why it is not fused into its readers: `# stored: read by 2
 * kernels (k1, k2)`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/alloc.h"
#include "passes/fuse.h"

/* Marks in `seen` the kernels that read node id, looking through inline readers. */
static void reader_kernels(const mt_graph *g, const mt_fusion *f, int id, char *seen)
{
    for (int r = id + 1; r < g->nnodes; r++) {
        const mt_node *n = &g->nodes[r];
        int reads = 0;
        for (int j = 0; j < n->nin; j++)
            reads |= n->in[j] == id;
        if (!reads)
            continue;
        if (f->role[r] == MT_FUSE_INLINE)
            reader_kernels(g, f, r, seen);
        else if (f->kernel[r] >= 0)
            seen[f->kernel[r]] = 1;
    }
}

static int kernel_of(const mt_fusion *f, int node) { return node >= 0 ? f->kernel[node] : -1; }

void mt_fusion_why(const mt_graph *g, const mt_fusion *f, int id, char *buf, size_t size)
{
    int k = kernel_of(f, f->why_node[id]);
    const char *other = f->why_node[id] >= 0 ? g->nodes[f->why_node[id]].name : "?";
    buf[0] = 0;
    switch (f->why[id]) {
    case MT_WHY_NONE: return;
    case MT_WHY_OUTPUT:
        snprintf(buf, size, "%s",
                 mt_graph_is_output(g, id) ? "graph output" : "new value of an update");
        return;
    case MT_WHY_KERNELS: {
        char *seen = mt_calloc((size_t)f->nkernels + 1, 1);
        if (!seen) {
            snprintf(buf, size, "read by several kernels");
            return;
        }
        reader_kernels(g, f, id, seen);
        int n = 0;
        for (int i = 0; i < f->nkernels; i++)
            n += seen[i];
        size_t len = (size_t)snprintf(buf, size, "read by %d kernels (", n);
        for (int i = 0, first = 1; i < f->nkernels && len < size; i++)
            if (seen[i]) {
                len += (size_t)snprintf(buf + len, size - len, "%sk%d", first ? "" : ", ", i);
                first = 0;
            }
        if (len < size)
            snprintf(buf + len, size - len, ")");
        mt_free(seen);
        return;
    }
    case MT_WHY_LEVELS:
        snprintf(buf, size, "read inside and outside a reduction loop of k%d", k);
        return;
    case MT_WHY_OPERAND:
        snprintf(buf, size, "operand of %%%s in k%d, which reads each element many times", other,
                 k);
        return;
    case MT_WHY_BROADCAST:
        snprintf(buf, size,
                 "reduction broadcast along an outer loop of k%d: it would be recomputed for "
                 "each iteration",
                 k);
        return;
    case MT_WHY_WHOLE:
        snprintf(buf, size, "reduction broadcast over all of k%d: every thread would recompute it",
                 k);
        return;
    case MT_WHY_CORE:
        snprintf(buf, size, "k%d already computes %%%s", k,
                 k >= 0 && f->kernels[k].core >= 0 ? g->nodes[f->kernels[k].core].name : "?");
        return;
    case MT_WHY_EPILOGUE:
        snprintf(buf, size, "its readers in k%d are not an elementwise epilogue of its shape", k);
        return;
    case MT_WHY_LOOPS: snprintf(buf, size, "k%d would nest too many loops", k); return;
    case MT_WHY_CONCAT:
        snprintf(buf, size, "operand of %%%s (concat), which would compute it for each element",
                 other);
        return;
    case MT_WHY_COLLECTIVE:
        snprintf(buf, size, "allreduce: the ranks exchange its buffer after its kernel");
        return;
    case MT_WHY_DEPTH:
        snprintf(buf, size, "k%d already computes a chain of %d ops", k, MT_FUSE_MAX_DEPTH);
        return;
    case MT_WHY_RECOMPUTE:
        snprintf(buf, size, "k%d broadcasts it: its %d or more ops would be computed for each read",
                 k, MT_FUSE_RECOMPUTE_OPS);
        return;
    }
}

/* Collects the nodes kernel k computes or inlines: a walk from its root through fused and
 * inline operands. stamp[id] == k + 1 marks a node already collected for this kernel, so no
 * per-kernel clearing is needed (clearing an array of every node per kernel was quadratic). */
static void members(const mt_graph *g, const mt_fusion *f, int k, int id, int *stamp, int *list,
                    int *n)
{
    if (stamp[id] == k + 1)
        return;
    stamp[id] = k + 1;
    list[(*n)++] = id;
    const mt_node *nd = &g->nodes[id];
    for (int j = 0; j < nd->nin; j++) {
        int o = nd->in[j];
        if (f->role[o] == MT_FUSE_INLINE || (f->role[o] == MT_FUSE_FUSED && f->kernel[o] == k))
            members(g, f, k, o, stamp, list, n);
    }
}

static int by_id(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static const char *kernel_kind(const mt_graph *g, const mt_fusion *f, int k, const int *list, int n)
{
    const mt_fuse_kernel *fk = &f->kernels[k];
    if (fk->core >= 0)
        return mt_op_name(g->nodes[fk->core].op);
    for (int i = 0; i < n; i++)
        if (f->role[list[i]] != MT_FUSE_INLINE &&
            mt_op_is(g->nodes[list[i]].op, MT_F_REDUCE | MT_F_POOL))
            return "reduce";
    mt_op op = g->nodes[fk->root].op;
    if (mt_op_is(op, MT_F_MOVE))
        return "copy";
    if (op == MT_OP_CONST)
        return "fill";
    return "elementwise";
}

static void print_node(mt_buf *b, const mt_graph *g, int id)
{
    const mt_node *n = &g->nodes[id];
    char ts[MT_TYPE_STR_MAX];
    mt_buf_printf(b, "  %%%s = %s", n->name, mt_op_name(n->op));
    for (int j = 0; j < n->nin; j++)
        mt_buf_printf(b, "%s %%%s", j ? "," : "", g->nodes[n->in[j]].name);
    mt_buf_printf(b, " : %s", mt_type_str(&n->type, ts, sizeof ts));
}

char *mt_fusion_print(const mt_graph *g, const mt_fusion *f, int why)
{
    mt_buf b = {0};
    int *stamp = mt_calloc((size_t)g->nnodes + 1, sizeof *stamp);
    int *list = mt_calloc((size_t)g->nnodes + 1, sizeof *list);
    /* The other stored nodes of each kernel (sibling reductions), linked by id. */
    int *more = mt_calloc((size_t)f->nkernels + 1, sizeof *more);
    int *next = mt_calloc((size_t)g->nnodes + 1, sizeof *next);
    if (!stamp || !list || !more || !next) {
        mt_free(stamp);
        mt_free(list);
        mt_free(more);
        mt_free(next);
        return NULL;
    }
    for (int k = 0; k < f->nkernels; k++)
        more[k] = -1;
    for (int id = g->nnodes - 1; id >= 0; id--)
        if (f->role[id] == MT_FUSE_ROOT && f->kernels[f->kernel[id]].root != id) {
            next[id] = more[f->kernel[id]];
            more[f->kernel[id]] = id;
        }
    mt_buf_printf(&b, "# fused graph %s: %d kernel%s\n", g->name, f->nkernels,
                  f->nkernels == 1 ? "" : "s");
    for (int k = 0; k < f->nkernels; k++) {
        int n = 0;
        members(g, f, k, f->kernels[k].root, stamp, list, &n);
        for (int id = more[k]; id >= 0; id = next[id])
            members(g, f, k, id, stamp, list, &n);
        qsort(list, (size_t)n, sizeof *list, by_id);
        mt_buf_printf(&b, "kernel k%d %s {\n", k, kernel_kind(g, f, k, list, n));
        for (int i = 0; i < n; i++) {
            int id = list[i];
            print_node(&b, g, id);
            if (f->role[id] == MT_FUSE_INLINE) {
                mt_buf_puts(&b, "  # inline");
            } else if (f->role[id] == MT_FUSE_ROOT) {
                mt_buf_puts(&b, "  # stored");
                /* Only asked for: finding a node's readers scans the nodes after it. */
                char reason[256];
                if (why)
                    mt_fusion_why(g, f, id, reason, sizeof reason);
                if (why && reason[0])
                    mt_buf_printf(&b, ": %s", reason);
            }
            mt_buf_puts(&b, "\n");
        }
        mt_buf_puts(&b, "}\n");
    }
    /* Outputs that are leaves need no kernel; name them so every output is accounted for. */
    for (int i = 0; i < g->noutputs; i++)
        if (f->role[g->outputs[i]] == MT_FUSE_LEAF)
            mt_buf_printf(&b, "# output %%%s is a leaf: copied\n", g->nodes[g->outputs[i]].name);
    mt_free(stamp);
    mt_free(list);
    mt_free(more);
    mt_free(next);
    return mt_buf_take(&b);
}
