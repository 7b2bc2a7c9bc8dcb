/* emit_internal.h - the state of the LLVM emitter, shared by emit.c (statements, functions,
 * modules) and emit_expr.c (scalar expressions, math calls); private to those two files. */
#ifndef MT_CODEGEN_LLVM_EMIT_INTERNAL_H
#define MT_CODEGEN_LLVM_EMIT_INTERNAL_H

#include <llvm-c/Core.h>

#include "codegen/llvm/llvm.h"
#include "codegen/llvm/target.h"
#include "ir/kernel.h"

typedef struct memo_slot {
    const mt_kexpr *key;
    LLVMValueRef value;
} memo_slot;

#define MEMO_SIZE 1024 /* power of two; a statement with more nodes just stops memoizing */

typedef struct emitter {
    LLVMContextRef C;
    LLVMModuleRef M;
    LLVMBuilderRef B;
    const mt_kprog *p;
    const mt_kernel *k;
    LLVMValueRef fn;
    LLVMValueRef *bufptr; /* per program buffer: the body's parameter, NULL if unused */
    LLVMValueRef *loopval;
    LLVMValueRef *scalar; /* allocas */
    LLVMValueRef *maxkey; /* per scalar: the integer key of a max inside a reduction loop, or
                             NULL (emit_reduce.c: mt_emit_max_keys_open) */
    LLVMValueRef begin, end;
    LLVMTypeRef t_void, t_i1, t_i32, t_i64, t_f32, t_f64, t_ptr;
    memo_slot memo[MEMO_SIZE];
    int nmemo;
    const char *prefix;
    int gemm_bodies; /* define the GEMM's pieces in this module, not just declare them */
    const mt_cpu_target *target; /* the CPU the code is for (target.h) */
    int x86; /* the target is x86-64: non-temporal stores and sfence are available */
    /* Non-temporal stores (see nt_plan): the store statement and its loop, or NULL. While the
     * aligned copy of that loop is emitted, nt_base is the store's 64-byte aligned address at
     * the copy's first iteration nt_first. nt_used: the kernel has such stores. */
    const mt_kstmt *nt_store, *nt_loop;
    LLVMValueRef nt_base, nt_first;
    int nt_used;
    mt_status fail; /* a GEMM the emitter refused (d has the message), else MT_OK */
    mt_diag *d;
} emitter;

/* The LLVM type of a kernel scalar type. */
LLVMTypeRef mt_emit_ltype(const emitter *e, mt_ktype t);
/* Adds enum attribute `name` to fn at index `at`. */
void mt_emit_add_attr(emitter *e, LLVMValueRef fn, LLVMAttributeIndex at, const char *name);
/* The value of expression x at the builder's position; memoized within a statement (a node
 * shared in the DAG is emitted once). */
LLVMValueRef mt_emit_expr(emitter *e, const mt_kexpr *x);
/* Forgets the memo: called at every statement, whose position may not dominate the next. */
void mt_emit_memo_clear(emitter *e);

/* emit.c: statements s up to (not including) `stop`, NULL for the whole block; `top`: the
 * kernel's outermost block. */
void mt_emit_stmts(emitter *e, const mt_kstmt *s, const mt_kstmt *stop, int top);
/* emit.c: the coefficient c of loop variable v when index x = c * v + (terms without v), or
 * -1 when x is not of that form; *budget bounds the walk of the DAG. */
int64_t mt_emit_coefficient(const mt_kexpr *x, int v, int *budget);
/* emit.c: loop metadata asking the vectorizer to vectorize (and reassociate sums); _width_id
 * also sets the vector width (when width > 0). */
LLVMValueRef mt_emit_vectorize_id(emitter *e);
LLVMValueRef mt_emit_vectorize_width_id(emitter *e, int width);

/* emit.c: an empty module named `name` in a context of its own; NULL when out of memory. */
mt_llvm_module *mt_emit_module_new(const char *name);
/* emit.c: points e at module m for program p: its context, module, a new builder (the caller
 * disposes of e->B) and the scalar types. */
void mt_emit_begin(emitter *e, mt_llvm_module *m, const mt_kprog *p);
/* emit.c: an alloca of type t in the entry block of the function being emitted (an alloca
 * inside a loop would grow the stack on every iteration); the builder's position is kept. */
LLVMValueRef mt_emit_entry_alloca(emitter *e, LLVMTypeRef t, const char *name);
/* emit.c: verifies m; on failure frees it (MT_ERR_BACKEND with LLVM's message). */
mt_status mt_emit_module_verify(mt_llvm_module *m, mt_diag *d);

/* emit_reduce.c: a bottom-tested counted loop whose first iteration always runs: open it at
 * `start` (returns the loop variable), emit the body, close it stepping by `step` while below
 * `end`; `vectorize` asks the vectorizer to vectorise it (mt_emit_vectorize_id). */
typedef struct mt_emit_loop {
    LLVMBasicBlockRef pre, head;
    LLVMValueRef i, start;
} mt_emit_loop;
LLVMValueRef mt_emit_loop_open(emitter *e, mt_emit_loop *l, LLVMValueRef start);
void mt_emit_loop_close(emitter *e, mt_emit_loop *l, int64_t step, LLVMValueRef end, int vectorize);

/* emit_small_gemm.c: whether product d is small enough to be emitted as plain loops, where
 * the shared GEMM's packing would cost more than the arithmetic. */
int mt_emit_small_gemm_fits(const mt_llvm_gemm_desc *d);
/* emit_small_gemm.c: rows [lo, hi) of product d (lo may equal hi) as plain loops. */
void mt_emit_small_gemm(emitter *e, const mt_llvm_gemm_desc *d, LLVMValueRef A, LLVMValueRef B,
                        LLVMValueRef C, LLVMValueRef lo, LLVMValueRef hi);

/* emit_reduce.c: the reduction loop of parallel loop s when s is a reduction over an axis that
 * is not the contiguous one, which mt_emit_strip emits vectorised across s instead; else
 * NULL. */
const mt_kstmt *mt_emit_strip_plan(const emitter *e, const mt_kstmt *s);
/* emit_reduce.c: loop s over [start, end), its reduction loop `reduce` interchanged with
 * blocks of s's iterations. */
void mt_emit_strip(emitter *e, const mt_kstmt *s, const mt_kstmt *reduce, LLVMValueRef start,
                   LLVMValueRef end);

/* emit_reduce.c: inside reduction loop s, each NaN-propagating max whose accumulator is
 * declared outside it becomes an integer max of an order-preserving key, which the loop
 * vectorizer recognises; opens those keys before the loop (their ids into ids, at most cap)
 * and returns how many. _close stores each key's value back into its accumulator after the
 * loop. */
int mt_emit_max_keys_open(emitter *e, const mt_kstmt *s, int *ids, int cap);
void mt_emit_max_keys_close(emitter *e, const int *ids, int n);
/* emit_reduce.c: emits SET s as a step of its max key when it has one; 0 otherwise. */
int mt_emit_max_set(emitter *e, const mt_kstmt *s);
/* emit_reduce.c: whether every accumulation under s is a sum or a max with a key, so the
 * vectorizer may reorder them. */
int mt_emit_reducible(const emitter *e, const mt_kstmt *s);
/* emit_reduce.c: the vector width to ask for a reduction loop over body s that computes in f32
 * and accumulates in f64 (a register's worth of f32), else 0 (LLVM chooses). */
int mt_emit_reduce_width(const emitter *e, const mt_kstmt *s);

#endif
