/* gemm.h - a packed, register-blocked GEMM emitted as LLVM IR, generic in its sizes.
 *
 * The code depends only on the element type, the instruction set, the f64_flush setting and
 * the two transpose flags; sizes, row strides, batch axes and the accumulate flag are read at
 * run time from a descriptor (an array of int64_t). So one compiled GEMM serves every matmul
 * of a program, and of every later program: the CPU backend compiles each of its functions
 * (the "pieces" below) once per program and keeps them in the kernel cache under keys that do
 * not mention any program (codegen/llvm/compile.c). Design notes, integration and
 * measurements: docs/gemm.md.
 *
 * Dims: C[M,N] = A[M,K] . B[K,N] (or C += A . B), all row-major with row strides in elements.
 */
#ifndef MT_CODEGEN_LLVM_GEMM_H
#define MT_CODEGEN_LLVM_GEMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <llvm-c/Types.h>

#include "mtc/mtc.h"

/* The instruction set the micro-kernel is shaped for. Any choice runs correctly on any x86-64
 * (LLVM splits wide vectors when the target lacks them); the choice only sets speed. */
typedef enum mt_llvm_gemm_isa {
    MT_LLVM_GEMM_ISA_HOST = 0, /* resolve from the host target's features (the default) */
    MT_LLVM_GEMM_ISA_GENERIC,  /* 128-bit vectors, separate multiply and add: any target */
    MT_LLVM_GEMM_ISA_AVX2,     /* 256-bit vectors and FMA, 16 vector registers */
    MT_LLVM_GEMM_ISA_AVX512    /* 512-bit vectors and FMA, 32 vector registers */
} mt_llvm_gemm_isa;

/* One product. dtype, isa, f64_flush and the transposes choose the code (the pieces below);
 * the rest becomes the run-time descriptor. Element (i,k) of A is A[i*lda + k], or A[k*lda + i]
 * when trans_a (A is stored K x M, e.g. a permute of its last two axes); element (k,j) of B is
 * B[k*ldb + j], or B[j*ldb + k] when trans_b; element (i,j) of C is C[i*ldc + j].
 *
 * Batches: with nbatch > 0 the function computes one product per index of the batch axes
 * batch_dims, operand X starting at element sum_i idx[i] * batch_X[i] (a stride of 0
 * broadcasts, as matmul's leading axes do). Rows are then numbered across batches, batch-major:
 * row r is row r % M of batch r / M, and a call computes rows [m_begin, m_end) of the
 * B*M rows (B the product of batch_dims). */
typedef struct mt_llvm_gemm_desc {
    mt_dtype dtype;
    int64_t M, N, K;
    int64_t lda, ldb, ldc;
    bool trans_a, trans_b;
    bool accumulate; /* C += A.B instead of C = A.B */
    mt_llvm_gemm_isa isa;
    /* f32 only. 0 (the default): each K block of up to 384 steps is one f32 FMA chain and
     * blocks are added into C in f32. n > 0: the f32 chains restart every n steps and their
     * sums are added in f64, rounding to f32 once per K block; about half the error for
     * about 5% of the speed at n = 128 (docs/gemm.md). */
    int64_t f64_flush;
    int nbatch; /* 0 .. MT_MAX_RANK - 2 */
    int64_t batch_dims[MT_MAX_RANK];
    int64_t batch_a[MT_MAX_RANK], batch_b[MT_MAX_RANK], batch_c[MT_MAX_RANK];
} mt_llvm_gemm_desc;

/* Fills `d` for dense row-major operands without transposes: lda = K, ldb = ldc = N. */
void mt_llvm_gemm_desc_init(mt_llvm_gemm_desc *d, mt_dtype dtype, int64_t M, int64_t N, int64_t K);

/* Fills `d` for SPEC's matmul of dense row-major buffers: a[..., M, K] . b[..., K, N] with the
 * batch axes broadcast (an axis of size 1 or a missing axis gets stride 0); C is the dense
 * result [..., M, N]. trans_a says a's buffer holds the operand with its last two axes
 * swapped ([..., K, M], a permute that was not copied); trans_b likewise for b. The types
 * are the operands' own (after any such permute). MT_ERR_SHAPE or MT_ERR_TYPE when they do
 * not fit. */
mt_status mt_llvm_gemm_desc_matmul(mt_llvm_gemm_desc *d, const mt_type *a, const mt_type *b,
                                   bool trans_a, bool trans_b, mt_diag *diag);

/* The ISA that MT_LLVM_GEMM_ISA_HOST stands for on this machine. */
mt_llvm_gemm_isa mt_llvm_gemm_host_isa(void);
/* The instruction set for CPU target t (codegen/llvm/target.h), from its feature string. */
typedef struct mt_cpu_target mt_cpu_target;
mt_llvm_gemm_isa mt_llvm_gemm_isa_of(const mt_cpu_target *t);

/* Rows of the register block. Row ranges that start at multiples of it waste no work on
 * partial blocks; any split is correct and gives bit-identical results. */
int64_t mt_llvm_gemm_row_block(const mt_llvm_gemm_desc *d);

/* Bytes of scratch each concurrent call needs (packed panels of A and B, an edge tile, and
 * slack to align them to 64 bytes; no alignment is required of the pointer). At most about
 * 1 MiB with the default blocking, less for small products. */
size_t mt_llvm_gemm_scratch_bytes(const mt_llvm_gemm_desc *d);

/* ---- the shared code ------------------------------------------------------------------- */

/* A GEMM is four functions, each a "piece" named after what its code depends on:
 *   mtc.gemm.<dtype>.<isa>[.flush<n>].driver   the blocking loops, batches, the scratch
 *   mtc.gemm.<dtype>.<isa>[.flush<n>].kernel   the micro-kernel (one MR x NR tile)
 *   mtc.gemm.<dtype>.<isa>.pack_a_{n,t}        packing of A panels (t: A read transposed)
 *   mtc.gemm.<dtype>.<isa>.pack_b_{n,t}        packing of B panels (t: B read transposed)
 * with the driver's signature
 *   void driver(const T *A, const T *B, T *C, int64_t m_begin, int64_t m_end, void *scratch,
 *               const int64_t *desc, pack_a, pack_b)
 * (desc: MT_LLVM_GEMM_DESC_WORDS words, mt_llvm_gemm_desc_words; pack_a and pack_b: the
 * packing pieces for the product's transposes, so one driver serves all four). Pieces have external
 * linkage, so a driver in one object file calls pieces in another, and carry the function
 * attribute "mtc-gemm": mt_llvm_optimize gives them a short pipeline (their IR is already
 * vectorised and blocked by hand; default<O3> only costs compile time). */

typedef enum mt_llvm_gemm_part {
    MT_LLVM_GEMM_KERNEL,
    MT_LLVM_GEMM_PACK_A,
    MT_LLVM_GEMM_PACK_B,
    MT_LLVM_GEMM_DRIVER
} mt_llvm_gemm_part;

/* One piece: what its code depends on (the transposes only where the part reads them). */
typedef struct mt_llvm_gemm_piece {
    mt_dtype dtype;
    mt_llvm_gemm_isa isa; /* never MT_LLVM_GEMM_ISA_HOST */
    int64_t f64_flush;    /* f32 only, else 0 */
    mt_llvm_gemm_part part;
    bool trans_a, trans_b;
} mt_llvm_gemm_piece;

#define MT_LLVM_GEMM_PIECES 4 /* pieces one driver needs, itself included */
#define MT_LLVM_GEMM_NAME 64  /* bytes enough for any piece's name */
#define MT_LLVM_GEMM_DESC_WORDS (9 + 4 * MT_MAX_RANK)

/* The pieces that a product with descriptor d runs on: its driver first, then the kernel and
 * the two packing functions it calls. MT_ERR_ARG for a malformed descriptor. */
mt_status mt_llvm_gemm_pieces(const mt_llvm_gemm_desc *d,
                              mt_llvm_gemm_piece out[MT_LLVM_GEMM_PIECES], mt_diag *diag);
/* The piece's symbol (at most MT_LLVM_GEMM_NAME bytes with the NUL). */
void mt_llvm_gemm_piece_name(const mt_llvm_gemm_piece *p, char name[MT_LLVM_GEMM_NAME]);
/* The piece's function in mod: found if there, else added, with its body when `define` and
 * as a declaration otherwise (a definition may replace a declaration later). */
LLVMValueRef mt_llvm_gemm_piece_function(LLVMModuleRef mod, const mt_llvm_gemm_piece *p,
                                         bool define);
/* The run-time descriptor of d, as the driver reads it: the product after folding trailing
 * batch axes into M (see gemm.c), then its strides, the accumulate flag and batch axes. */
void mt_llvm_gemm_desc_words(const mt_llvm_gemm_desc *d, int64_t words[MT_LLVM_GEMM_DESC_WORDS]);

/* At b's position in mod, a call of d's driver on rows [m_begin, m_end) of the operands A, B,
 * C (pointers to d's element type), with `scratch` (NULL: the stack) and d's descriptor as a
 * private constant of mod. `define`: the pieces' bodies go into mod too (else only the
 * driver's declaration: the pieces are then linked from elsewhere). MT_ERR_ARG for a
 * malformed descriptor. */
mt_status mt_llvm_gemm_build_call(LLVMModuleRef mod, LLVMBuilderRef b, const mt_llvm_gemm_desc *d,
                                  LLVMValueRef A, LLVMValueRef B, LLVMValueRef C,
                                  LLVMValueRef m_begin, LLVMValueRef m_end, LLVMValueRef scratch,
                                  bool define, mt_diag *diag);

/* ---- one product as a function ------------------------------------------------------------ */

/* The emitted function's type: computes rows [m_begin, m_end) of C (clamped to [0, B*M)).
 * A and B must not overlap C. `scratch` holds mt_llvm_gemm_scratch_bytes bytes used by one
 * call at a time, or is NULL to take them from the calling thread's stack. There is no other
 * state, so calls on disjoint row ranges may run concurrently. */
typedef void (*mt_llvm_gemm_fn)(const void *A, const void *B, void *C, int64_t m_begin,
                                int64_t m_end, void *scratch);

/* Adds `void name(const T *A, const T *B, T *C, int64_t m_begin, int64_t m_end, void
 * *scratch)` with external linkage to `mod`, in the module's context: a call of the shared
 * driver with d's descriptor, whose pieces it adds to the module unless they are there already
 * (many products in one module share them). Optimise with mt_llvm_optimize afterwards. `out`
 * (optional) receives the function. MT_ERR_ARG for a malformed descriptor or a name already
 * taken. */
mt_status mt_llvm_gemm_emit(LLVMModuleRef mod, const char *name, const mt_llvm_gemm_desc *d,
                            LLVMValueRef *out, mt_diag *diag);

/* The same product as a kernel of the CPU backend, with its ABI (codegen/llvm/llvm.h):
 *   void name(void *const *bufs, int64_t begin, int64_t end)
 * computes rows [begin, end) (of the B*M rows, as above) with A = bufs[a], B = bufs[b] and
 * C = bufs[c], the packed panels on the calling thread's stack (mt_llvm_gemm_scratch_bytes of
 * it). */
mt_status mt_llvm_gemm_emit_kernel(LLVMModuleRef mod, const char *name, const mt_llvm_gemm_desc *d,
                                   int a, int b, int c, LLVMValueRef *out, mt_diag *diag);

#endif
