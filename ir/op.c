/* op.c - the op table of ops.def as data, and attribute helpers. */
#include "ir/op.h"

#include <string.h>

/* mtc.h spells the mt_op enum out, so that it needs no include path; these checks keep it in
 * the order of ops.def: an enum numbered by ops.def, and one assertion per op. */
enum op_check {
#define MT_OP(ENUM, text, arity, flags) ENUM##_check,
#include "ir/ops.def"
#undef MT_OP
    op_check_count
};
#define MT_OP(ENUM, text, arity, flags)                                                            \
    _Static_assert((int)ENUM == (int)ENUM##_check, #ENUM " is out of order in mtc.h");
#include "ir/ops.def"
#undef MT_OP
_Static_assert((int)MT_OP_COUNT == (int)op_check_count, "mtc.h and ops.def list different ops");

static const mt_op_info infos[MT_OP_COUNT] = {
#define MT_OP(ENUM, text, arity, flags) [ENUM] = {text, arity, flags},
#include "ir/ops.def"
#undef MT_OP
};

const mt_op_info *mt_op_get(mt_op op) { return &infos[op]; }

const char *mt_op_name(mt_op op)
{
    if ((int)op < 0 || op >= MT_OP_COUNT)
        return "?";
    return infos[op].text;
}

int mt_op_lookup(const char *text, size_t len)
{
    for (int i = 0; i < MT_OP_COUNT; i++) {
        if (infos[i].flags & MT_F_LEAF)
            continue;
        if (strlen(infos[i].text) == len && memcmp(infos[i].text, text, len) == 0)
            return i;
    }
    return -1;
}

void mt_attrs_init(mt_attrs *a)
{
    memset(a, 0, sizeof *a);
    a->dim = MT_DIM_ALL;
    a->stride[0] = a->stride[1] = 1;
}

static const mt_attrs defaults = {.dim = MT_DIM_ALL, .stride = {1, 1}};

const mt_attrs *mt_attrs_default(void) { return &defaults; }

int mt_attrs_equal(const mt_attrs *a, const mt_attrs *b)
{
    /* Compare field by field: padding bytes and -0.0 vs 0.0 make memcmp unreliable. */
    if (a->dim != b->dim || a->seed != b->seed || a->reduce != b->reduce)
        return 0;
    if (memcmp(&a->value, &b->value, sizeof a->value) != 0)
        return 0;
    const mt_ilist *la[] = {&a->shape, &a->perm, &a->start, &a->end, &a->pads};
    const mt_ilist *lb[] = {&b->shape, &b->perm, &b->start, &b->end, &b->pads};
    for (int i = 0; i < 5; i++) {
        if (la[i]->n != lb[i]->n)
            return 0;
        if (memcmp(la[i]->v, lb[i]->v, (size_t)la[i]->n * sizeof(int64_t)) != 0)
            return 0;
    }
    for (int i = 0; i < 2; i++)
        if (a->stride[i] != b->stride[i] || a->padding[i] != b->padding[i] ||
            a->kernel[i] != b->kernel[i])
            return 0;
    return 1;
}
