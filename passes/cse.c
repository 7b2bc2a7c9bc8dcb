/* cse.c - common-subexpression elimination: a value computed twice is computed once.
 *
 * Requires: a well-formed graph.
 * Guarantees: the same leaves (in order, same names) and output names, the same numbers, and
 * no two nodes with the same op, the same operands (in order), equal attributes
 * (mt_attrs_equal) and the same type. The first such node survives, under its own name; later
 * ones disappear and their users read the first.
 * Leaves never merge: two inputs of one type are two different values. `rand` nodes merge only
 * when their seeds and types are equal, which is when they hold the same numbers (the seed is
 * an attribute); `const` nodes merge when value and type are equal. Attributes are compared as
 * stored: `sum dim=-1` and `sum dim=1` of a rank-2 value are not recognised as equal.
 * Operands are looked up in the new graph, so merging two nodes lets their users merge too in
 * the same forward sweep: the pass is its own fixed point.
 */
#include <string.h>

#include "ir/alloc.h"
#include "passes/pass.h"
#include "passes/rewrite.h"

static uint64_t mix(uint64_t h, uint64_t v) { return (h ^ v) * 1099511628211u; }

static uint64_t node_hash(mt_op op, const int *in, int nin, const mt_attrs *a, const mt_type *t)
{
    uint64_t h = 14695981039346656037u;
    h = mix(h, (uint64_t)op);
    for (int i = 0; i < nin; i++)
        h = mix(h, (uint64_t)in[i]);
    h = mix(h, (uint64_t)t->dtype);
    for (int i = 0; i < t->rank; i++)
        h = mix(h, (uint64_t)t->dims[i]);
    /* Every attribute mt_attrs_equal compares: a value read by many nodes that differ only
     * in their attributes (the thousands of slices of a wide conv2d's gradient) would
     * otherwise share one hash, and the probe for each would walk all the others. */
    uint64_t bits;
    memcpy(&bits, &a->value, sizeof bits);
    h = mix(h, bits);
    h = mix(h, (uint64_t)a->seed);
    h = mix(h, (uint64_t)a->dim);
    const mt_ilist *lists[] = {&a->shape, &a->perm, &a->start, &a->end, &a->pads};
    for (int l = 0; l < 5; l++) {
        h = mix(h, (uint64_t)lists[l]->n);
        for (int i = 0; i < lists[l]->n; i++)
            h = mix(h, (uint64_t)lists[l]->v[i]);
    }
    for (int i = 0; i < 2; i++)
        h = mix(mix(mix(h, (uint64_t)a->stride[i]), (uint64_t)a->padding[i]),
                (uint64_t)a->kernel[i]);
    return h;
}

static int same_node(const mt_node *m, mt_op op, const int *in, int nin, const mt_attrs *a,
                     const mt_type *t)
{
    if (m->op != op || m->nin != nin || !mt_type_equal(&m->type, t) || !mt_attrs_equal(m->attrs, a))
        return 0;
    for (int i = 0; i < nin; i++)
        if (m->in[i] != in[i])
            return 0;
    return 1;
}

static mt_status cse(mt_rewrite *rw, mt_diag *d)
{
    const mt_graph *src = rw->src;
    mt_graph *dst = rw->dst;
    int *map = rw->map;
    /* Open addressing over dst ids; at most src->nnodes entries, so never more than half full. */
    size_t cap = 64;
    while (cap < 2 * (size_t)src->nnodes)
        cap *= 2;
    int *table = mt_malloc(cap * sizeof *table);
    if (!table)
        return mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < cap; i++)
        table[i] = -1;
    mt_status st = MT_OK;
    for (int i = 0; i < src->nnodes && st == MT_OK; i++) {
        const mt_node *n = &src->nodes[i];
        if (mt_op_is(n->op, MT_F_LEAF)) {
            map[i] = mt_graph_copy_node(dst, src, i, map, d);
            if (map[i] < 0)
                st = mt_rewrite_err(d);
            continue;
        }
        int in[64];
        for (int k = 0; k < n->nin; k++)
            in[k] = map[n->in[k]];
        size_t slot = (size_t)node_hash(n->op, in, n->nin, n->attrs, &n->type) & (cap - 1);
        int found = -1;
        for (; table[slot] >= 0; slot = (slot + 1) & (cap - 1)) {
            if (same_node(&dst->nodes[table[slot]], n->op, in, n->nin, n->attrs, &n->type)) {
                found = table[slot];
                break;
            }
        }
        if (found >= 0) {
            st = mt_rewrite_alias(rw, i, found, d);
            continue;
        }
        map[i] = mt_graph_copy_node(dst, src, i, map, d);
        if (map[i] < 0)
            st = mt_rewrite_err(d);
        else
            table[slot] = map[i];
    }
    mt_free(table);
    return st;
}

mt_status mt_pass_cse(const mt_graph *in, mt_graph **out, mt_diag *d)
{
    return mt_rewrite_run(in, cse, out, d);
}
