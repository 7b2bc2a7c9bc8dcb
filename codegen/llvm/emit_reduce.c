/* emit_reduce.c - reductions over an axis that is not the contiguous one, vectorised across
 * the contiguous axis.
 *
 * Lowering writes sum(x, dim=0) of x : [R, T] as one result per iteration of a parallel loop:
 *
 *   for v in 0..T parallel { decl s = 0; for r in 0..R reduce { s = s + x[r*T + v] }; y[v] = s }
 *
 * Emitted as it stands, each result's reduction reads x with a stride of T elements: a new
 * cache line (often a new page) per element, which LLVM can only vectorise with gathers. This
 * file emits such a loop strip-mined and interchanged instead, W results at a time:
 *
 *   for v0 in [start, end) step W {
 *     n = min(W, end - v0)
 *     for j < n:          acc[j] = 0                              (the DECLs before the loop)
 *     for r in 0..R:
 *       for j < n:        acc[j] = acc[j] + x[r*T + v0 + j]       (the reduction's body)
 *     for j < n:          y[v0 + j] = acc[j]                      (the statements after it)
 *   }
 *
 * The j loops walk the contiguous axis, so the vectorizer turns them into vector loads and
 * adds across j, and the reduction streams whole rows of x. The interchange is legal because
 * the iterations of a parallel loop are independent (ir/kernel.h); the only values that live
 * from one phase to the next are the scalars declared before the reduction loop, which get an
 * array of W each. Every result is still accumulated in the order r = 0, 1, ..., R-1, one
 * IEEE operation at a time (vectorising across j does not reorder anything within a lane), so
 * it does not matter where a block starts or whether its lanes run in a vector or in the
 * vectorised loop's scalar remainder: a loop split over threads at any point gives the same
 * bits, and each result is the interpreter's sequential sum.
 */
#include <string.h>

#include "codegen/llvm/emit_internal.h"

/* Each accumulator array holds this many bytes: the results per block (W) are 4096 doubles
 * or 8192 floats, a whole row of a 4096-wide matrix. Measured on sum(x, dim=0) of a
 * 4096x4096 f32 (bench/reduce.c, one thread): 4.2 ms with whole rows, 7 to 12 ms with blocks of
 * 2048 results, 15 to 30 ms with 128 to 512, and 410 ms for the strided loop. Short pieces of
 * many rows, each on its own page, defeat the hardware prefetchers, while whole rows stream. */
#define ACC_BYTES 32768
/* Rows of the reduction per pass over a block's accumulators. */
#define UNROLL 4
/* The scalars declared before the reduction loop that get arrays. */
#define MAX_ACC 4

/* What the loads of expression x do per iteration of loops v (the parallel one) and r (the
 * reduction): *across is set when one steps by one element per v, *along when one steps by
 * one element per r. *budget bounds the walk: expressions are DAGs. */
static void scan_loads(const mt_kexpr *x, int v, int r, int *across, int *along, int *budget)
{
    if (--*budget < 0)
        return;
    if (x->op == MT_KX_LOAD) {
        int b1 = 256, b2 = 256;
        *across |= mt_emit_coefficient(x->args[0], v, &b1) == 1;
        *along |= mt_emit_coefficient(x->args[0], r, &b2) == 1;
    }
    for (int i = 0; i < x->nargs && i < 3; i++)
        scan_loads(x->args[i], v, r, across, along, budget);
}

static int is_prefix_scalar(const mt_kstmt *first, const mt_kstmt *stop, int id)
{
    for (const mt_kstmt *s = first; s != stop; s = s->next)
        if (s->id == id)
            return 1;
    return 0;
}

const mt_kstmt *mt_emit_strip_plan(const emitter *e, const mt_kstmt *s)
{
    if (s->kind != MT_KS_FOR || !(s->flags & MT_KLOOP_PARALLEL) || s->trip < 8 || s == e->nt_loop)
        return NULL;
    /* decl ...; for r reduce { ... }; then statements without loops. */
    const mt_kstmt *b = s->body, *reduce = NULL;
    int ndecl = 0;
    for (; b && b->kind == MT_KS_DECL; b = b->next)
        ndecl++;
    if (!b || b->kind != MT_KS_FOR || !(b->flags & MT_KLOOP_REDUCE) || ndecl < 1 || ndecl > MAX_ACC)
        return NULL;
    reduce = b;
    for (b = reduce->next; b; b = b->next)
        if (b->kind == MT_KS_FOR || b->kind == MT_KS_GEMM)
            return NULL;
    /* The reduction's body: straight-line code that accumulates only into the scalars
     * declared before it (or its own temporaries), reading across v but never along r, where
     * the loop as it is already streams. */
    int across = 0, along = 0, budget = 4096;
    for (b = reduce->body; b; b = b->next) {
        if (b->kind == MT_KS_FOR || b->kind == MT_KS_GEMM)
            return NULL;
        if (b->kind == MT_KS_SET && !is_prefix_scalar(s->body, reduce, b->id)) {
            int local = 0;
            for (const mt_kstmt *c = reduce->body; c != b && !local; c = c->next)
                local = c->kind == MT_KS_DECL && c->id == b->id;
            if (!local)
                return NULL;
        }
        if (b->kind == MT_KS_STORE)
            return NULL; /* a reduction only accumulates */
        scan_loads(b->value, s->id, reduce->id, &across, &along, &budget);
    }
    return across && !along && budget >= 0 ? reduce : NULL;
}

/* ---- loops ----------------------------------------------------------------------------- */

LLVMValueRef mt_emit_loop_open(emitter *e, mt_emit_loop *l, LLVMValueRef start)
{
    l->pre = LLVMGetInsertBlock(e->B);
    l->head = LLVMAppendBasicBlockInContext(e->C, e->fn, "strip");
    l->start = start;
    LLVMBuildBr(e->B, l->head);
    LLVMPositionBuilderAtEnd(e->B, l->head);
    l->i = LLVMBuildPhi(e->B, e->t_i64, "j");
    return l->i;
}

void mt_emit_loop_close(emitter *e, mt_emit_loop *l, int64_t step, LLVMValueRef end, int vectorize)
{
    LLVMBuilderRef B = e->B;
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(B);
    LLVMValueRef next = LLVMBuildNUWAdd(B, l->i, LLVMConstInt(e->t_i64, (uint64_t)step, 0), "");
    LLVMBasicBlockRef exit = LLVMAppendBasicBlockInContext(e->C, e->fn, "strip.done");
    LLVMValueRef br =
        LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntSLT, next, end, ""), l->head, exit);
    if (vectorize)
        LLVMSetMetadata(br, LLVMGetMDKindIDInContext(e->C, "llvm.loop", 9),
                        mt_emit_vectorize_id(e));
    LLVMValueRef in_v[2] = {l->start, next};
    LLVMBasicBlockRef in_b[2] = {l->pre, latch};
    LLVMAddIncoming(l->i, in_v, in_b, 2);
    LLVMPositionBuilderAtEnd(B, exit);
}

/* ---- the interchanged loop ------------------------------------------------------------- */

typedef struct strip {
    const mt_kstmt *loop, *reduce;
    LLVMValueRef v0, n;
    int64_t w; /* results per block */
    int nacc;
    int ids[MAX_ACC];
    LLVMTypeRef types[MAX_ACC];
    LLVMValueRef arrays[MAX_ACC], saved[MAX_ACC];
} strip;

/* Emits statements [first, stop) for every j < n: the loop variable is v0 + j and each
 * declared scalar is its array's element j. With `row` set, they are the reduction's body,
 * emitted `unroll` times for rows row, row + 1, ...: LLVM then keeps the accumulator in a
 * register across those rows instead of storing and reloading it. */
static void each_lane(emitter *e, strip *st, const mt_kstmt *first, const mt_kstmt *stop,
                      LLVMValueRef row, int unroll)
{
    mt_emit_loop l;
    LLVMValueRef j = mt_emit_loop_open(e, &l, LLVMConstInt(e->t_i64, 0, 0));
    LLVMValueRef zero = LLVMConstInt(e->t_i64, 0, 0), at[MAX_ACC];
    for (int a = 0; a < st->nacc; a++) {
        LLVMValueRef idx[2] = {zero, j};
        at[a] = LLVMBuildInBoundsGEP2(e->B, LLVMArrayType(st->types[a], (unsigned)st->w),
                                      st->arrays[a], idx, 2, "");
        e->scalar[st->ids[a]] = at[a];
        if (row) /* in the scalar's own alloca, which becomes a register, for the rows */
            LLVMBuildStore(e->B, LLVMBuildLoad2(e->B, st->types[a], at[a], ""),
                           e->scalar[st->ids[a]] = st->saved[a]);
    }
    e->loopval[st->loop->id] = LLVMBuildNUWAdd(e->B, st->v0, j, "v");
    for (int u = 0; u < (row ? unroll : 1); u++) {
        if (row)
            e->loopval[st->reduce->id] =
                LLVMBuildNUWAdd(e->B, row, LLVMConstInt(e->t_i64, (uint64_t)u, 0), "r");
        mt_emit_stmts(e, first, stop, 0);
    }
    for (int a = 0; row && a < st->nacc; a++)
        LLVMBuildStore(e->B, LLVMBuildLoad2(e->B, st->types[a], st->saved[a], ""), at[a]);
    mt_emit_loop_close(e, &l, 1, st->n, 1);
}

void mt_emit_strip(emitter *e, const mt_kstmt *s, const mt_kstmt *reduce, LLVMValueRef start,
                   LLVMValueRef end)
{
    strip st = {.loop = s, .reduce = reduce};
    int64_t widest = 1;
    for (const mt_kstmt *b = s->body; b != reduce; b = b->next) {
        int a = st.nacc++;
        st.ids[a] = b->id;
        st.types[a] = mt_emit_ltype(e, e->k->scalar_types[b->id]);
        st.saved[a] = e->scalar[b->id];
        mt_ktype t = e->k->scalar_types[b->id];
        int64_t size = t == MT_KT_F32 || t == MT_KT_U32 ? 4 : t == MT_KT_BOOL ? 1 : 8;
        widest = size > widest ? size : widest;
    }
    st.w = ACC_BYTES / widest < s->trip ? ACC_BYTES / widest : s->trip;
    for (int a = 0; a < st.nacc; a++) {
        st.arrays[a] = mt_emit_entry_alloca(e, LLVMArrayType(st.types[a], (unsigned)st.w), "acc");
        LLVMSetAlignment(st.arrays[a], 64);
    }
    mt_emit_loop blocks, rows;
    st.v0 = mt_emit_loop_open(e, &blocks, start);
    LLVMValueRef left = LLVMBuildNSWSub(e->B, end, st.v0, "");
    LLVMValueRef w = LLVMConstInt(e->t_i64, (uint64_t)st.w, 0);
    st.n = LLVMBuildSelect(e->B, LLVMBuildICmp(e->B, LLVMIntSLT, left, w, ""), left, w, "n");
    each_lane(e, &st, s->body, reduce, NULL, 1); /* the accumulators' initial values */
    int64_t whole = reduce->trip / UNROLL * UNROLL;
    if (whole > 0) {
        LLVMValueRef r = mt_emit_loop_open(e, &rows, LLVMConstInt(e->t_i64, 0, 0));
        each_lane(e, &st, reduce->body, NULL, r, UNROLL);
        mt_emit_loop_close(e, &rows, UNROLL, LLVMConstInt(e->t_i64, (uint64_t)whole, 0), 0);
    }
    if (whole < reduce->trip) {
        LLVMValueRef r = mt_emit_loop_open(e, &rows, LLVMConstInt(e->t_i64, (uint64_t)whole, 0));
        each_lane(e, &st, reduce->body, NULL, r, 1);
        mt_emit_loop_close(e, &rows, 1, LLVMConstInt(e->t_i64, (uint64_t)reduce->trip, 0), 0);
    }
    each_lane(e, &st, reduce->next, NULL, NULL, 1); /* what is done with each result */
    mt_emit_loop_close(e, &blocks, st.w, end, 0);
    for (int a = 0; a < st.nacc; a++)
        e->scalar[st.ids[a]] = st.saved[a];
}

/* ---- maxima inside reduction loops ------------------------------------------------------ */

/* Lowering's NaN-propagating max, `acc = select(v != v | v > acc, v, acc)`, is not a reduction
 * LLVM 14's loop vectorizer recognises: a floating-point max reduction needs fast-math flags
 * (nnan, nsz) that its C API cannot set. A reduction loop holding one ran one element at a
 * time, and with it everything fused into the loop (a row max of exp(tanh(sigmoid(x))) spent
 * its time in scalar vector math). Inside a reduction loop the accumulator is kept instead as
 * an integer key of the same width, max'ed as an integer:
 *
 *   key(v) = v != v ? MAXPOS : bits(v) ^ ((bits(v) >> (w - 1)) & MAXPOS)      (MAXPOS = 2^(w-1)-1)
 *
 * which orders like the values (the sign-magnitude bits of a negative value are flipped), so
 * max(key) = key(max) for every value except that -0 sorts below +0, and any NaN gives MAXPOS,
 * whose bits are a quiet NaN. The integer max is associative and commutative: in any order, in
 * vector lanes or not, the result is the same, so the interpreter's value comes back except
 * for the sign of a zero maximum that ties (the interpreter keeps the first zero, the key +0)
 * and the payload of a NaN (the interpreter keeps the last NaN). Both compare equal. */

/* Whether a and b are the same scalar (or the same expression). */
static int same_value(const mt_kexpr *a, const mt_kexpr *b)
{
    return a == b || (a->op == MT_KX_SCALAR && b->op == MT_KX_SCALAR && a->id == b->id);
}

static int is_float(mt_ktype t) { return t == MT_KT_F32 || t == MT_KT_F64; }

/* The v of `set acc = select(v != v | v > acc, v, acc)` over a float acc, else NULL. */
static const mt_kexpr *max_operand(const emitter *e, const mt_kstmt *s)
{
    const mt_kexpr *x = s->value;
    if (s->kind != MT_KS_SET || !is_float(e->k->scalar_types[s->id]) || x->op != MT_KX_SELECT ||
        x->args[0]->op != MT_KX_OR)
        return NULL;
    const mt_kexpr *v = x->args[1], *acc = x->args[2];
    const mt_kexpr *ne = x->args[0]->args[0], *gt = x->args[0]->args[1];
    if (acc->op != MT_KX_SCALAR || acc->id != s->id || ne->op != MT_KX_NE || gt->op != MT_KX_GT ||
        !same_value(ne->args[0], v) || !same_value(ne->args[1], v) || !same_value(gt->args[0], v) ||
        !same_value(gt->args[1], acc) || v->type != acc->type)
        return NULL;
    return v;
}

/* Whether x reads scalar id (yes when the walk runs out of budget). */
static int reads(const mt_kexpr *x, int id, int *budget)
{
    if (!x)
        return 0;
    if (--*budget < 0 || (x->op == MT_KX_SCALAR && x->id == id))
        return 1;
    for (int i = 0; i < x->nargs && i < 3; i++)
        if (reads(x->args[i], id, budget))
            return 1;
    return 0;
}

/* Whether a statement under s other than max step `step` reads or declares scalar id. */
static int touched_elsewhere(const mt_kstmt *s, const mt_kstmt *step, int id, int *budget)
{
    for (; s; s = s->next) {
        if (s == step)
            continue;
        if ((s->kind == MT_KS_DECL || s->kind == MT_KS_SET) && s->id == id)
            return 1;
        if (reads(s->value, id, budget) || reads(s->index, id, budget) ||
            (s->kind == MT_KS_FOR && touched_elsewhere(s->body, step, id, budget)))
            return 1;
    }
    return 0;
}

static void collect_maxes(emitter *e, const mt_kstmt *loop, const mt_kstmt *s, int *ids, int *n,
                          int cap)
{
    for (; s && *n < cap; s = s->next) {
        if (s->kind == MT_KS_FOR) {
            collect_maxes(e, loop, s->body, ids, n, cap);
            continue;
        }
        int budget = 4096;
        if (!max_operand(e, s) || e->maxkey[s->id] ||
            touched_elsewhere(loop->body, s, s->id, &budget))
            continue;
        ids[(*n)++] = s->id;
    }
}

static LLVMTypeRef key_type(const emitter *e, int id)
{
    return e->k->scalar_types[id] == MT_KT_F32 ? e->t_i32 : e->t_i64;
}

/* key(v) of the comment above, for v of float type t (as an integer of type it). */
static LLVMValueRef to_key(emitter *e, LLVMValueRef v, LLVMTypeRef it)
{
    LLVMBuilderRef B = e->B;
    unsigned w = LLVMGetIntTypeWidth(it);
    LLVMValueRef maxpos = LLVMConstInt(it, (1ull << (w - 1)) - 1, 0);
    LLVMValueRef bits = LLVMBuildBitCast(B, v, it, "");
    LLVMValueRef sign = LLVMBuildAShr(B, bits, LLVMConstInt(it, w - 1, 0), "");
    LLVMValueRef key = LLVMBuildXor(B, bits, LLVMBuildAnd(B, sign, maxpos, ""), "key");
    LLVMValueRef nan = LLVMBuildFCmp(B, LLVMRealUNO, v, v, "");
    return LLVMBuildSelect(B, nan, maxpos, key, "");
}

int mt_emit_max_keys_open(emitter *e, const mt_kstmt *s, int *ids, int cap)
{
    int n = 0;
    collect_maxes(e, s, s->body, ids, &n, cap);
    for (int i = 0; i < n; i++) {
        LLVMTypeRef it = key_type(e, ids[i]);
        LLVMValueRef key = mt_emit_entry_alloca(e, LLVMArrayType(it, 1), "acc");
        LLVMSetAlignment(key, 64);
        LLVMValueRef zero = LLVMConstInt(e->t_i64, 0, 0), idx[2] = {zero, zero};
        key = LLVMBuildInBoundsGEP2(e->B, LLVMArrayType(it, 1), key, idx, 2, "");
        LLVMTypeRef ft = mt_emit_ltype(e, e->k->scalar_types[ids[i]]);
        LLVMValueRef acc = LLVMBuildLoad2(e->B, ft, e->scalar[ids[i]], "");
        LLVMBuildStore(e->B, to_key(e, acc, it), key);
        e->maxkey[ids[i]] = key;
    }
    return n;
}

void mt_emit_max_keys_close(emitter *e, const int *ids, int n)
{
    LLVMBuilderRef B = e->B;
    for (int i = 0; i < n; i++) {
        LLVMTypeRef it = key_type(e, ids[i]);
        unsigned w = LLVMGetIntTypeWidth(it);
        LLVMValueRef maxpos = LLVMConstInt(it, (1ull << (w - 1)) - 1, 0);
        LLVMValueRef key = LLVMBuildLoad2(B, it, e->maxkey[ids[i]], "");
        /* The flip is its own inverse; MAXPOS comes back as a quiet NaN. */
        LLVMValueRef sign = LLVMBuildAShr(B, key, LLVMConstInt(it, w - 1, 0), "");
        LLVMValueRef bits = LLVMBuildXor(B, key, LLVMBuildAnd(B, sign, maxpos, ""), "");
        LLVMTypeRef ft = mt_emit_ltype(e, e->k->scalar_types[ids[i]]);
        LLVMBuildStore(B, LLVMBuildBitCast(B, bits, ft, ""), e->scalar[ids[i]]);
        e->maxkey[ids[i]] = NULL;
    }
}

int mt_emit_max_set(emitter *e, const mt_kstmt *s)
{
    const mt_kexpr *v = e->maxkey[s->id] ? max_operand(e, s) : NULL;
    if (!v)
        return 0;
    LLVMBuilderRef B = e->B;
    LLVMTypeRef it = key_type(e, s->id);
    LLVMValueRef x = to_key(e, mt_emit_expr(e, v), it);
    LLVMValueRef acc = LLVMBuildLoad2(B, it, e->maxkey[s->id], "");
    LLVMValueRef more = LLVMBuildICmp(B, LLVMIntSGT, x, acc, "");
    LLVMBuildStore(B, LLVMBuildSelect(B, more, x, acc, ""), e->maxkey[s->id]);
    return 1;
}

int mt_emit_reducible(const emitter *e, const mt_kstmt *s)
{
    for (; s; s = s->next) {
        if (s->kind == MT_KS_FOR && !mt_emit_reducible(e, s->body))
            return 0;
        if (s->kind == MT_KS_SET && !(e->maxkey[s->id] && max_operand(e, s)) &&
            !(s->value->op == MT_KX_ADD && s->value->args[0]->op == MT_KX_SCALAR &&
              s->value->args[0]->id == s->id))
            return 0;
    }
    return 1;
}

/* ---- the width of a mixed reduction loop ----------------------------------------------- */

/* LLVM's vectorizer sizes a loop's vectors by its widest type: a reduction loop that computes
 * in f32 and sums in f64 (an f32 sum's accumulator) got vectors of as many f32 lanes as a
 * register holds doubles, half a register, so an elementwise producer fused into a row sum ran
 * at half the width of the same producer alone (2x its instructions: exp(tanh(sigmoid(x)))
 * with its row sum and max took 688M instructions per 4096x4096 run against 340M written out
 * alone, under callgrind's AVX2). Such a loop asks for a register's worth of f32 lanes; the f64
 * sums then take two registers per vector, which costs one more add per group of lanes. */

static void scalar_sizes(const emitter *e, const mt_kstmt *s, int *f32, int *f64)
{
    for (; s; s = s->next) {
        if (s->kind == MT_KS_FOR)
            scalar_sizes(e, s->body, f32, f64);
        if (s->kind == MT_KS_DECL || s->kind == MT_KS_SET) {
            *f32 |= e->k->scalar_types[s->id] == MT_KT_F32;
            *f64 |= e->k->scalar_types[s->id] == MT_KT_F64;
        }
    }
}

int mt_emit_reduce_width(const emitter *e, const mt_kstmt *s)
{
    int f32 = 0, f64 = 0;
    scalar_sizes(e, s, &f32, &f64);
    if (!f32 || !f64)
        return 0;
    const char *f = e->target->features;
    int bits = strstr(f, "+avx512f") ? 512 : strstr(f, "+avx") ? 256 : 128;
    return bits / 32;
}
