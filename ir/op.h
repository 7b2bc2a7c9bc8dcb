/* op.h - what the library knows about each op: its spelling, arity, kind and attributes.
 *
 * The table itself is ir/ops.def; this header turns it into flags and lookups that the
 * parser, printer, shape inference, interpreter and passes share.
 */
#ifndef MT_IR_OP_H
#define MT_IR_OP_H

#include "mtc/mtc.h"

/* Kind bits. */
#define MT_F_LEAF (1u << 0)     /* input, param */
#define MT_F_UNARY (1u << 1)    /* elementwise, one operand */
#define MT_F_BINARY (1u << 2)   /* elementwise, two operands, broadcasting */
#define MT_F_CMP (1u << 3)      /* comparison: result 1.0/0.0, gradient 0 */
#define MT_F_TERNARY (1u << 4)  /* where */
#define MT_F_REDUCE (1u << 5)   /* sum, max, mean */
#define MT_F_MOVE (1u << 6)     /* data movement: no arithmetic */
#define MT_F_CONTRACT (1u << 7) /* matmul, conv */
#define MT_F_POOL (1u << 8)
#define MT_F_SOURCE (1u << 9)      /* the result type is declared, not inferred: const, rand */
#define MT_F_COLLECTIVE (1u << 10) /* across the ranks of the run: allreduce */

/* Arities that are not a fixed count (mt_op_info.arity). */
#define MT_ARITY_VARIADIC (-1) /* one or more: concat */
#define MT_ARITY_OPTIONAL (-2) /* none or one: rand and its optional step counter */

/* Attribute bits: which keys an op accepts. */
#define MT_A_DIM (1u << 16)
#define MT_A_SHAPE (1u << 17)
#define MT_A_PERM (1u << 18)
#define MT_A_START (1u << 19)
#define MT_A_END (1u << 20)
#define MT_A_PADS (1u << 21)
#define MT_A_STRIDE (1u << 22)
#define MT_A_PADDING (1u << 23)
#define MT_A_KERNEL (1u << 24)
#define MT_A_VALUE (1u << 25)
#define MT_A_SEED (1u << 26)
#define MT_A_OP (1u << 27)

/* The reduction of a collective (MT_A_OP); the numbers are the .so ABI's `op` argument. */
#define MT_REDUCE_SUM 0
#define MT_REDUCE_MEAN 1

/* dim of a full reduction (no `dim=`). */
#define MT_DIM_ALL INT64_MIN

/* Integer lists in attributes: at most two entries per axis (pads). */
typedef struct mt_ilist {
    int n;
    int64_t v[2 * MT_MAX_RANK];
} mt_ilist;

/* The attributes of one node. Only the fields that the op's MT_A_* bits name are meaningful;
 * the rest stay zero so that two nodes with equal attributes compare equal with memcmp after
 * mt_attrs_init. Values are stored as written by the user (a negative dim stays negative) except
 * where noted, so the printer can print them back. */
typedef struct mt_attrs {
    int64_t dim;        /* MT_A_DIM: reduction or concat axis; MT_DIM_ALL for a full reduction */
    mt_ilist shape;     /* MT_A_SHAPE: reshape (resolved, no -1) and expand target */
    mt_ilist perm;      /* MT_A_PERM */
    mt_ilist start;     /* MT_A_START */
    mt_ilist end;       /* MT_A_END */
    mt_ilist pads;      /* MT_A_PADS: before/after per axis */
    int64_t stride[2];  /* MT_A_STRIDE: conv1d uses [0] */
    int64_t padding[2]; /* MT_A_PADDING */
    int64_t kernel[2];  /* MT_A_KERNEL */
    double value;       /* MT_A_VALUE */
    int64_t seed;       /* MT_A_SEED: 0 .. 2^63-1 */
    int64_t reduce;     /* MT_A_OP: MT_REDUCE_SUM or MT_REDUCE_MEAN */
} mt_attrs;

/* Zeroes every field and sets the defaults (dim = MT_DIM_ALL, stride 1, padding 0). */
void mt_attrs_init(mt_attrs *a);
int mt_attrs_equal(const mt_attrs *a, const mt_attrs *b);
/* The attributes mt_attrs_init makes, shared by every node that has no others. */
const mt_attrs *mt_attrs_default(void);

typedef struct mt_op_info {
    const char *text;
    int arity;
    unsigned flags;
} mt_op_info;

const mt_op_info *mt_op_get(mt_op op);
/* Looks an op up by its spelling; -1 when unknown. Leaves (input, param, state) are not found. */
int mt_op_lookup(const char *text, size_t len);

static inline int mt_op_is(mt_op op, unsigned flag) { return (mt_op_get(op)->flags & flag) != 0; }

/* Whether `nin` operands fit the op's arity. */
static inline int mt_op_arity_ok(const mt_op_info *info, int nin)
{
    if (info->arity == MT_ARITY_VARIADIC)
        return nin >= 1 && nin <= 64;
    if (info->arity == MT_ARITY_OPTIONAL)
        return nin == 0 || nin == 1;
    return nin == info->arity;
}

#endif
