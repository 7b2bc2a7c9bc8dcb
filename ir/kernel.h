/* kernel.h - the loop-nest kernel IR: what lowering produces and every renderer consumes.
 *
 * A program (mt_kprog) is a list of buffers and a list of kernels run in order. A kernel is a
 * tree of statements over scalar expressions:
 *
 *   for LOOP in [0, TRIP) { ... }   a loop with a static trip count
 *   BUF[INDEX] = VALUE              a store of one element
 *   decl SCALAR = VALUE             a kernel-local scalar (an accumulator, a named temporary)
 *   SCALAR = VALUE                  an update of a scalar (accumulation)
 *   gemm C[ROW] = A . B             one row of a matrix product of buffers (mt_kgemm)
 *
 * Expressions are trees (DAGs: a node may be shared) of typed scalar operations: constants,
 * loop variables, scalars, loads BUF[INDEX], float math mirroring the op table (exp, log,
 * tanh, ...), integer index arithmetic (+ - * / % min max on non-negative i64), comparisons,
 * select, the 32-bit integer operations of Philox (xor, shifts, mulhi), and casts. Nothing in
 * a kernel refers to graph ops: a renderer translates scalar operations one by one, so the
 * LLVM and CUDA renderers share every decision made here (STYLE.md: one kernel IR, two
 * renderers). docs/cpu-backend.md has the grammar of the textual form.
 *
 * Execution: a kernel whose body is one loop marked MT_KLOOP_PARALLEL is run in pieces: the
 * runtime calls it on disjoint ranges [begin, end) of that loop's iterations, possibly from
 * several threads at once, and its iterations never depend on each other. Any other kernel is
 * run whole, once. Reduction loops are never split, so results do not depend on the number
 * of threads.
 *
 * Memory: everything lives in the program's arena except the buffer and kernel arrays.
 */
#ifndef MT_IR_KERNEL_H
#define MT_IR_KERNEL_H

#include <stdint.h>

#include "ir/arena.h"
#include "mtc/mtc.h"

typedef enum mt_ktype {
    MT_KT_BOOL,
    MT_KT_I64, /* indices: always non-negative where division or remainder is applied */
    MT_KT_U32, /* Philox words: wrapping arithmetic */
    MT_KT_U64,
    MT_KT_F32,
    MT_KT_F64,
} mt_ktype;

/* Scalar operations: the table is ir/kops.def (spelling, arity, operand and result types). In
 * short: CONST is c.i (bool, integers; u64 as its bit pattern) or c.f (floats); VAR is loop
 * variable `id`; SCALAR the current value of scalar `id`; LOAD buffer `id` at element
 * args[0] (i64). CAST converts args[0] to `type`: ints truncate or zero-extend (i64
 * sign-extends), int<->float round to nearest, bool is 0 or 1. DIV on floats is IEEE, on
 * integers the quotient of non-negative operands; MOD the remainder of non-negative integers.
 * MIN is a < b ? a : b, MAX a > b ? a : b. Comparisons on floats are ordered (false with a
 * NaN) except NE. SHL, SHR (logical) take constant counts below the bit width; MULHI is the
 * high word of the 64-bit product of two u32. SELECT is args[0] ? args[1] : args[2] with both
 * arms evaluated. */
typedef enum mt_kop {
#define MT_KOP(ENUM, text, arity, operands, result, math) ENUM,
#include "ir/kops.def"
#undef MT_KOP
    MT_KX_COUNT
} mt_kop;

/* Classes of scalar types an operand or result of a kernel op may have (ir/kops.def). */
typedef enum mt_kclass {
    MT_KC_ANY,
    MT_KC_SAME,  /* result only: the type of the operands */
    MT_KC_NUM,   /* i64, u32, u64, f32, f64 (not bool) */
    MT_KC_INT,   /* i64, u32, u64 */
    MT_KC_UINT,  /* u32, u64 */
    MT_KC_BITS,  /* bool, u32, u64 */
    MT_KC_FLOAT, /* f32, f64 */
    MT_KC_BOOL,
    MT_KC_I64,
    MT_KC_U32,
} mt_kclass;

typedef struct mt_kop_info {
    const char *text;
    int arity;
    mt_kclass operands, result;
    const char *math; /* libm base name, or NULL */
} mt_kop_info;

/* The table entry of op (NULL when op is out of range). */
const mt_kop_info *mt_kop_get(mt_kop op);
/* True when type t is in class c (MT_KC_SAME: any). */
int mt_kclass_has(mt_kclass c, mt_ktype t);

typedef struct mt_kexpr mt_kexpr;
struct mt_kexpr {
    mt_kop op;
    mt_ktype type;
    int nargs;
    mt_kexpr *args[3];
    int id; /* VAR: loop, SCALAR: scalar, LOAD: buffer */
    union {
        int64_t i;
        double f;
    } c;
    /* Conservative value range of i64 expressions (lo <= value <= hi); used to simplify index
     * arithmetic. INT64_MIN/INT64_MAX when unknown. */
    int64_t lo, hi;
};

typedef enum mt_kstmt_kind {
    MT_KS_FOR,
    MT_KS_STORE,
    MT_KS_DECL,
    MT_KS_SET,
    MT_KS_GEMM
} mt_kstmt_kind;

/* A matrix product with matmul's semantics (MT_KS_GEMM):
 *
 *   C[..., M, N] = A[..., M, K] . B[..., K, N]
 *
 * over three buffers, A and B not overlapping C. `ta` and `tb` are the operands as the product
 * reads them; the buffers hold them row-major, or with their last two axes swapped where
 * trans_a / trans_b is set (a permute that was never copied). Their batch axes broadcast to
 * C's as matmul's do (aligned from the right; a missing axis or one of size 1 is read at 0),
 * so C's buffer type fixes the batch shape (mt_kgemm_result_type: the buffer's own type when
 * it ends in [M, N], as a matmul's does; else the same data seen as [batch..., M, N], as a
 * conv's [N, O, OH, OW] holds the product [N, O, OH*OW]). Rows of C are numbered across batches,
 * batch-major: row r is row r % M of batch r / M, of numel(C) / N rows in all.
 *
 * The statement computes one row of C: row `index` (an i64 expression). It never reads C, and
 * lowering only places it where nothing else in the kernel reads a row of C before the
 * statement for that row ran, and nothing writes A or B. So a renderer may compute the rows of
 * a whole loop at once (the LLVM renderer calls one packed, register-blocked GEMM for the
 * range of rows of a loop that starts with the statement; a CUDA renderer would tile it its
 * own way), and may sum in any fixed order: the order must not depend on which rows are
 * computed together (results are then the same for every thread count). */
typedef struct mt_kgemm {
    int a, b, c;          /* buffers */
    mt_type ta, tb;       /* the operands: ta [..., M, K], tb [..., K, N] */
    int trans_a, trans_b; /* the buffer holds the operand with its last two axes swapped */
} mt_kgemm;

/* Loop flags. */
#define MT_KLOOP_PARALLEL 1u /* iterations are independent; the runtime may split them */
#define MT_KLOOP_REDUCE 2u   /* accumulates into a scalar; reassociation is allowed */

typedef struct mt_kstmt mt_kstmt;
struct mt_kstmt {
    mt_kstmt_kind kind;
    mt_kstmt *next;       /* next statement in the same block */
    int id;               /* FOR: loop variable; STORE: buffer; DECL, SET: scalar */
    int64_t trip;         /* FOR: iterations, >= 1 */
    unsigned flags;       /* FOR: MT_KLOOP_* */
    mt_kstmt *body;       /* FOR: first statement of the body */
    mt_kexpr *index;      /* STORE: element index (i64); GEMM: the row of C */
    mt_kexpr *value;      /* STORE, DECL, SET */
    const mt_kgemm *gemm; /* GEMM: the product (id is its C buffer) */
};

/* Buffer access bits of a kernel (mt_kernel.access). */
#define MT_KACC_READ 1u
#define MT_KACC_WRITE 2u
#define MT_KACC_NOALIAS 4u /* set by memory planning: no other buffer of the kernel overlaps it */

typedef struct mt_kernel {
    const char *name; /* "k0": also the stem of its symbol in generated code */
    int root;         /* graph node whose value it stores (for dumps) */
    const char *note; /* one line for dumps: the graph ops it computes */
    int nloops;       /* loop variables are 0 .. nloops-1 */
    int nscalars;     /* scalars are 0 .. nscalars-1 */
    mt_ktype *scalar_types;
    mt_kstmt *body;
    int nbufs; /* buffers it uses, ascending ids */
    int *bufs;
    unsigned *access; /* MT_KACC_* per entry of bufs */
    int64_t work;     /* innermost iterations of one whole run (a GEMM row counts N * K):
                         how much there is to split */
    /* An allreduce kernel (allreduce = 1): after it has run, the executor reduces buffer
     * allreduce_buf across the ranks with allreduce_op (MT_REDUCE_SUM or MT_REDUCE_MEAN). */
    int allreduce, allreduce_op, allreduce_buf;
} mt_kernel;

typedef enum mt_kbuf_kind {
    MT_KBUF_INPUT,  /* an input or param, bound by the caller (read only) */
    MT_KBUF_OUTPUT, /* a graph output, handed to the caller */
    MT_KBUF_TEMP,   /* an intermediate in the program's arena */
    MT_KBUF_STATE,  /* a param or state with an update: bound by the caller, read by the run,
                       and overwritten by its new value (mt_kupdate) */
} mt_kbuf_kind;

/* `update %target <- %value` of a step graph. After the last kernel the executor copies buffer
 * `value` (a TEMP kept live to the end, or an OUTPUT) into the STATE buffer `target`, unless
 * memory planning found the update in place: then the kernel that computes the new value
 * stores it straight into `target` (`value == target`), after the last read of the old one. */
typedef struct mt_kupdate {
    int target, value; /* buffers */
} mt_kupdate;

typedef struct mt_kbuf {
    mt_kbuf_kind kind;
    mt_type type; /* of the node: dtype and shape */
    int64_t numel;
    int node;         /* graph node whose value it holds */
    int output;       /* OUTPUT: index into the graph's outputs */
    int64_t offset;   /* TEMP: byte offset in the arena (memory planning), else -1 */
    const char *name; /* the node's value name, for dumps */
} mt_kbuf;

/* How the executor may share a program's kernels among threads (runtime/exec.c), copied from
 * the target description by lowering. mt_kprog_new makes a program that runs every kernel
 * whole on one thread. */
typedef struct mt_kexec {
    int parallel;              /* kernels may be split at all */
    int64_t min_parallel_work; /* less work (mt_kernel.work) runs whole on the caller */
    int64_t min_gemm_macs;     /* a matmul kernel below this many multiply-adds runs whole */
    int64_t gemm_rows;         /* shares of a matmul's rows start at multiples of this */
} mt_kexec;

typedef struct mt_kprog {
    mt_arena arena;
    const char *name;
    int nbufs, bufs_cap;
    mt_kbuf *bufs; /* mt_realloc'd */
    int nkernels, kernels_cap;
    mt_kernel *kernels; /* mt_realloc'd; run in this order */
    int noutputs;
    int *outputs; /* buffer holding each graph output */
    /* Memory planning (passes/memplan.c). */
    int64_t arena_bytes; /* size of the one arena of temporaries */
    int64_t temp_bytes;  /* sum of all temporaries: the arena without reuse */
    int ninplace;        /* temporaries stored over an operand they replace */
    /* Step graphs: one entry per update, in the graph's order (arena). */
    int nupdates;
    mt_kupdate *updates;
    int64_t update_inplace_bytes; /* bytes of updates stored in place: no copy, no buffer */
    mt_kexec exec;
} mt_kprog;

/* NULL when out of memory. `name` is copied. */
mt_kprog *mt_kprog_new(const char *name);
void mt_kprog_free(mt_kprog *p);
/* Adds a buffer; returns its id or -1 when out of memory. */
int mt_kprog_add_buf(mt_kprog *p, mt_kbuf_kind kind, const mt_type *type, int node,
                     const char *name);
/* Appends a copy of *k (its arrays stay in the program's arena); returns its index or -1. */
int mt_kprog_add_kernel(mt_kprog *p, const mt_kernel *k);
/* The MT_KACC_* bits of buffer buf in kernel k; 0 when k does not touch it. */
unsigned mt_kernel_access(const mt_kernel *k, int buf);

/* Fills k->nbufs, bufs, access from the loads and stores in its body. 0 when out of memory. */
int mt_kernel_collect_bufs(mt_kprog *p, mt_kernel *k);
/* True when the kernel's body is a single loop marked MT_KLOOP_PARALLEL. */
int mt_kernel_is_parallel(const mt_kernel *k);
/* The product of a parallel kernel whose loop body starts with a GEMM statement of its loop
 * variable's row (a matmul kernel: the loop runs over the rows of C, each computed and then
 * run through the epilogue), or NULL. The executor splits such kernels into whole blocks of
 * rows, one share per thread. */
const mt_kgemm *mt_kernel_gemm(const mt_kernel *k);
/* Multiply-adds per row of C: N * K. */
int64_t mt_kgemm_row_macs(const mt_kgemm *g);
/* C's type as product g writes it into a buffer of type `buf`: `buf` itself when its last two
 * axes are [M, N]; else [buf's leading axes, M, N], where the leading axes are those before the
 * shortest suffix of buf's axes holding M * N elements (a conv's [N, O, OH, OW] for M = O,
 * N = OH * OW gives [N, O, OH * OW]). The type depends only on what the buffer and the operands
 * say, so a program's text fixes it. 0 when no suffix holds M * N elements. */
int mt_kgemm_result_type(const mt_kgemm *g, const mt_type *buf, mt_type *out);

/* ---- expressions ----------------------------------------------------------------------- */
/* Every constructor allocates in p's arena and returns NULL when out of memory or when an
 * operand is NULL, so a whole expression can be built and checked once. Integer constructors
 * fold constants and simplify index arithmetic using value ranges (x % n with x < n is x). */

mt_kexpr *mt_kx_int(mt_kprog *p, int64_t v);               /* i64 */
mt_kexpr *mt_kx_uint(mt_kprog *p, mt_ktype t, uint64_t v); /* u32, u64, bool */
mt_kexpr *mt_kx_float(mt_kprog *p, mt_ktype t, double v);  /* f32 (rounded), f64 */
mt_kexpr *mt_kx_var(mt_kprog *p, int loop, int64_t trip);  /* i64 in [0, trip) */
mt_kexpr *mt_kx_scalar(mt_kprog *p, int scalar, mt_ktype t);
mt_kexpr *mt_kx_load(mt_kprog *p, int buf, mt_ktype t, mt_kexpr *index);
mt_kexpr *mt_kx_unary(mt_kprog *p, mt_kop op, mt_kexpr *a);
mt_kexpr *mt_kx_cast(mt_kprog *p, mt_ktype t, mt_kexpr *a);
mt_kexpr *mt_kx_binary(mt_kprog *p, mt_kop op, mt_kexpr *a, mt_kexpr *b);
mt_kexpr *mt_kx_select(mt_kprog *p, mt_kexpr *c, mt_kexpr *a, mt_kexpr *b);

/* Structural equality (same operations on the same leaves). */
int mt_kx_equal(const mt_kexpr *a, const mt_kexpr *b);
/* The float type of a dtype. */
mt_ktype mt_ktype_of(mt_dtype dt);
const char *mt_ktype_name(mt_ktype t);
const char *mt_kop_name(mt_kop op);

/* ---- statements ------------------------------------------------------------------------ */

mt_kstmt *mt_ks_for(mt_kprog *p, int loop, int64_t trip, unsigned flags);
mt_kstmt *mt_ks_store(mt_kprog *p, int buf, mt_kexpr *index, mt_kexpr *value);
mt_kstmt *mt_ks_decl(mt_kprog *p, int scalar, mt_kexpr *value);
mt_kstmt *mt_ks_set(mt_kprog *p, int scalar, mt_kexpr *value);
/* Row `row` of the product *g (copied into p's arena). */
mt_kstmt *mt_ks_gemm(mt_kprog *p, const mt_kgemm *g, mt_kexpr *row);

/* A block under construction: statements are appended at the tail. */
typedef struct mt_kblock {
    mt_kstmt *first, *last;
} mt_kblock;
void mt_kblock_append(mt_kblock *b, mt_kstmt *s);

/* ---- checks ---------------------------------------------------------------------------- */

/* The invariants of p (ir/kernel_verify.c): buffer ids in range, i64 indices, operand and
 * result types as ir/kops.def says, loop variables used only inside their loop, scalars
 * declared in an enclosing block before use, stores of the buffer's dtype, trips >= 1, GEMM
 * shapes that fit their buffers, each kernel's buffer and access lists as its body uses them,
 * and planned temporaries inside the arena. MT_ERR_INTERNAL with a message naming the kernel
 * (or buffer) at fault. */
mt_status mt_kprog_verify(const mt_kprog *p, mt_diag *d);

/* ---- text ------------------------------------------------------------------------------ */

/* The textual form of every kernel (`mtc dump --stage kernels`); the caller frees it with
 * mt_free. NULL when out of memory. */
char *mt_kprog_print(const mt_kprog *p);
/* One expression, for tests and messages. */
char *mt_kexpr_print(const mt_kexpr *e);

#endif
