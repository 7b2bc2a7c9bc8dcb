/* test_gemm.c - the generated GEMM of codegen/llvm/gemm.c, JIT-compiled for this machine.
 *
 * Every product is checked against a naive loop that accumulates in double, element by
 * element, within the worst-case bound for a sum of K rounded terms: |c - ref| <= (K + 2) *
 * eps * sum_k |a_ik * b_kj| (plus eps * |c0| when accumulating). An indexing or edge mistake
 * is off by O(1) and cannot hide under it. Inputs are fresh random numbers in [-1, 1] each run
 * (the seed is printed; MT_SEED repeats a run).
 *
 * The module is optimized and compiled by the CPU backend's own pipeline (codegen/llvm:
 * mt_llvm_optimize for the host, ORC LLJIT). Every product runs on the shared, size-generic
 * pieces (gemm.h): mt_llvm_gemm_emit only wraps a call of the driver with a constant
 * descriptor, and one test calls the driver directly with descriptors made at run time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/Orc.h>

#include "codegen/llvm/gemm.h"
#include "codegen/llvm/llvm.h"
#include "codegen/llvm/target.h"
#include "ir/alloc.h"

/* ---- random numbers ------------------------------------------------------------------- */

static uint64_t rng_state;

static double uniform(void) /* in [-1, 1), xorshift64* */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    uint64_t x = rng_state * UINT64_C(2685821657736338717);
    return (double)(x >> 11) / (double)(UINT64_C(1) << 52) - 1.0;
}

/* ---- JIT ------------------------------------------------------------------------------ */

static mt_llvm_module *new_module(void)
{
    mt_llvm_init();
    mt_llvm_module *m = mt_calloc(1, sizeof *m);
    assert_non_null(m);
    LLVMOrcThreadSafeContextRef tsc = LLVMOrcCreateNewThreadSafeContext();
    m->tsc = tsc;
    m->ctx = LLVMOrcThreadSafeContextGetContext(tsc);
    m->mod = LLVMModuleCreateWithNameInContext("test_gemm", m->ctx);
    return m;
}

/* Verifies m, optimizes it for the host (mt_llvm_optimize) and JIT-compiles it. */
static mt_llvm_jit *finish(mt_llvm_module *m)
{
    mt_diag d;
    mt_diag_init(&d);
    char *msg = NULL;
    if (LLVMVerifyModule(m->mod, LLVMReturnStatusAction, &msg))
        fail_msg("invalid module: %s", msg);
    LLVMDisposeMessage(msg);
    if (mt_llvm_optimize(m, &d) != MT_OK)
        fail_msg("%s", d.msg);
    mt_llvm_jit *jit = NULL;
    if (mt_llvm_jit_new(m, &jit, &d) != MT_OK)
        fail_msg("%s", d.msg);
    return jit;
}

/* Emits descs[i] as "g<i>" into one module and compiles it through the CPU backend's pipeline
 * (mt_llvm_optimize for the host, then LLJIT), storing the functions in fns. */
static mt_llvm_jit *compile(const mt_llvm_gemm_desc *descs, int n, mt_llvm_gemm_fn *fns)
{
    mt_diag d;
    mt_diag_init(&d);
    mt_llvm_module *m = new_module();
    for (int i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "g%d", i);
        if (mt_llvm_gemm_emit(m->mod, name, &descs[i], NULL, &d) != MT_OK)
            fail_msg("emit %s: %s", name, d.msg);
    }
    mt_llvm_jit *jit = finish(m);
    for (int i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "g%d", i);
        mt_kernel_fn fn = mt_llvm_jit_lookup(jit, name, &d);
        if (!fn)
            fail_msg("%s", d.msg);
        /* Both are plain function addresses; the JIT's lookup types them as kernels. */
        memcpy(&fns[i], &fn, sizeof fns[i]);
    }
    mt_diag_fini(&d);
    return jit;
}

/* ---- operands and the reference --------------------------------------------------------- */

static int64_t batch_count(const mt_llvm_gemm_desc *d)
{
    int64_t n = 1;
    for (int i = 0; i < d->nbatch; i++)
        n *= d->batch_dims[i];
    return n;
}

/* Element offsets of batch `bi`'s operands. */
static void batch_offsets(const mt_llvm_gemm_desc *d, int64_t bi, int64_t off[3])
{
    off[0] = off[1] = off[2] = 0;
    for (int i = d->nbatch - 1; i >= 0; i--) {
        int64_t idx = bi % d->batch_dims[i];
        bi /= d->batch_dims[i];
        off[0] += idx * d->batch_a[i];
        off[1] += idx * d->batch_b[i];
        off[2] += idx * d->batch_c[i];
    }
}

enum { GUARD = 64 };

/* Elements each operand spans, from its first element to its last plus one (for C, plus
 * the guard band). */
static void extents(const mt_llvm_gemm_desc *d, int64_t ext[3])
{
    int64_t last[3];
    batch_offsets(d, batch_count(d) - 1, last); /* strides are >= 0: the largest offsets */
    ext[0] = last[0] + (d->trans_a ? (d->K - 1) * d->lda + d->M : (d->M - 1) * d->lda + d->K);
    ext[1] = last[1] + (d->trans_b ? (d->N - 1) * d->ldb + d->K : (d->K - 1) * d->ldb + d->N);
    /* C gets a guard band of a few vectors past its last element: a store that overruns a
     * row end or the last row lands there and fails the check. */
    ext[2] = last[2] + (d->M - 1) * d->ldc + d->N + GUARD;
}

/* Operands stored as doubles; `at` reads element i of a buffer of the desc's dtype. */
typedef struct operands {
    const mt_llvm_gemm_desc *d;
    int64_t ext[3];
    void *a, *b, *c, *c0; /* c0: C before the call (accumulate) */
} operands;

static double at(mt_dtype dt, const void *p, int64_t i)
{
    return dt == MT_DTYPE_F32 ? (double)((const float *)p)[i] : ((const double *)p)[i];
}

static void put(mt_dtype dt, void *p, int64_t i, double v)
{
    if (dt == MT_DTYPE_F32)
        ((float *)p)[i] = (float)v;
    else
        ((double *)p)[i] = v;
}

static void *random_buffer(mt_dtype dt, int64_t n)
{
    size_t es = dt == MT_DTYPE_F32 ? 4 : 8;
    void *p = mt_malloc((size_t)(n > 0 ? n : 1) * es);
    assert_non_null(p);
    for (int64_t i = 0; i < n; i++)
        put(dt, p, i, uniform());
    return p;
}

static void operands_init(operands *o, const mt_llvm_gemm_desc *d)
{
    o->d = d;
    extents(d, o->ext);
    o->a = random_buffer(d->dtype, o->ext[0]);
    o->b = random_buffer(d->dtype, o->ext[1]);
    o->c = random_buffer(d->dtype, o->ext[2]);
    size_t bytes = (size_t)(o->ext[2] > 0 ? o->ext[2] : 1) * (d->dtype == MT_DTYPE_F32 ? 4 : 8);
    o->c0 = mt_malloc(bytes);
    assert_non_null(o->c0);
    memcpy(o->c0, o->c, bytes);
}

static void operands_fini(operands *o)
{
    mt_free(o->a);
    mt_free(o->b);
    mt_free(o->c);
    mt_free(o->c0);
}

/* Checks every element of every batch of o->c against the double reference. Elements of C
 * outside the product (padding between rows, rows of other calls) must equal c0. */
static void check_against_reference(const operands *o, const char *what)
{
    const mt_llvm_gemm_desc *d = o->d;
    mt_dtype dt = d->dtype;
    double eps = dt == MT_DTYPE_F32 ? FLT_EPSILON : DBL_EPSILON;
    char *written = mt_calloc((size_t)(o->ext[2] > 0 ? o->ext[2] : 1), 1);
    assert_non_null(written);
    for (int64_t bi = 0; bi < batch_count(d); bi++) {
        int64_t off[3];
        batch_offsets(d, bi, off);
        for (int64_t i = 0; i < d->M; i++) {
            for (int64_t j = 0; j < d->N; j++) {
                double ref = 0, mag = 0;
                for (int64_t k = 0; k < d->K; k++) {
                    int64_t ia = off[0] + (d->trans_a ? k * d->lda + i : i * d->lda + k);
                    int64_t ib = off[1] + (d->trans_b ? j * d->ldb + k : k * d->ldb + j);
                    double p = at(dt, o->a, ia) * at(dt, o->b, ib);
                    ref += p;
                    mag += fabs(p);
                }
                int64_t ic = off[2] + i * d->ldc + j;
                double c0 = at(dt, o->c0, ic);
                if (d->accumulate) {
                    ref += c0;
                    mag += fabs(c0);
                }
                double got = at(dt, o->c, ic), tol = (double)(d->K + 2) * eps * mag;
                if (!(fabs(got - ref) <= tol))
                    fail_msg("%s: M=%lld N=%lld K=%lld batch %lld: C[%lld,%lld] = %.17g, "
                             "expected %.17g (tolerance %.3g)",
                             what, (long long)d->M, (long long)d->N, (long long)d->K, (long long)bi,
                             (long long)i, (long long)j, got, ref, tol);
                written[ic] = 1;
            }
        }
    }
    for (int64_t i = 0; i < o->ext[2]; i++) {
        if (!written[i] && at(dt, o->c, i) != at(dt, o->c0, i))
            fail_msg("%s: element %lld of C outside the product was overwritten", what,
                     (long long)i);
    }
    mt_free(written);
}

static void *scratch_for(const mt_llvm_gemm_desc *d)
{
    void *s = mt_malloc(mt_llvm_gemm_scratch_bytes(d));
    assert_non_null(s);
    return s;
}

/* The sizes the brief asks for: 1, 3, 17, 255 and 1031 hit every edge of the blocking. */
static const int64_t shapes[][3] = {{1, 1, 1},       {3, 17, 5},   {17, 255, 3},
                                    {255, 1031, 17}, {64, 64, 64}, {130, 70, 300}};
enum { NSHAPES = sizeof shapes / sizeof shapes[0] };

/* A dense desc for shape s with optional transposes; `pad` widens every row stride so that
 * rows are not contiguous. */
static mt_llvm_gemm_desc shape_desc(mt_dtype dt, int s, bool ta, bool tb, int64_t pad,
                                    mt_llvm_gemm_isa isa)
{
    mt_llvm_gemm_desc d;
    mt_llvm_gemm_desc_init(&d, dt, shapes[s][0], shapes[s][1], shapes[s][2]);
    d.trans_a = ta;
    d.trans_b = tb;
    d.lda = (ta ? d.M : d.K) + pad;
    d.ldb = (tb ? d.K : d.N) + pad;
    d.ldc = d.N + pad;
    d.isa = isa;
    return d;
}

/* Runs each desc over all its rows and checks it. */
static void run_and_check(const mt_llvm_gemm_desc *descs, int n, const char *what)
{
    mt_llvm_gemm_fn *fns = mt_calloc((size_t)n, sizeof *fns);
    assert_non_null(fns);
    mt_llvm_jit *j = compile(descs, n, fns);
    for (int i = 0; i < n; i++) {
        operands o;
        operands_init(&o, &descs[i]);
        void *s = scratch_for(&descs[i]);
        fns[i](o.a, o.b, o.c, 0, descs[i].M * batch_count(&descs[i]), s);
        char label[96];
        snprintf(label, sizeof label, "%s #%d (%s%s%s)", what, i,
                 descs[i].dtype == MT_DTYPE_F32 ? "f32" : "f64", descs[i].trans_a ? " A^T" : "",
                 descs[i].trans_b ? " B^T" : "");
        check_against_reference(&o, label);
        mt_free(s);
        operands_fini(&o);
    }
    mt_llvm_jit_free(j);
    mt_free(fns);
}

/* ---- tests ---------------------------------------------------------------------------- */

static void gemm_matches_a_double_reference_at_edge_sizes_with_every_transpose(void **state)
{
    (void)state;
    mt_llvm_gemm_desc descs[2 * NSHAPES * 4];
    int n = 0;
    for (int dt = 0; dt < 2; dt++)
        for (int s = 0; s < NSHAPES; s++)
            for (int t = 0; t < 4; t++)
                descs[n++] = shape_desc(dt ? MT_DTYPE_F64 : MT_DTYPE_F32, s, t & 1, t & 2,
                                        (s + t) % 2 ? 3 : 0, MT_LLVM_GEMM_ISA_HOST);
    run_and_check(descs, n, "host");
}

static void kernels_shaped_for_avx2_and_plain_sse_are_correct_on_any_x86_64(void **state)
{
    (void)state;
    mt_llvm_gemm_desc descs[2 * 3 * NSHAPES];
    int n = 0;
    for (int isa = 0; isa < 2; isa++)
        for (int v = 0; v < 3; v++) /* f32, f64, f32 with f64 sums */
            for (int s = 0; s < NSHAPES; s++) {
                descs[n] = shape_desc(v == 1 ? MT_DTYPE_F64 : MT_DTYPE_F32, s, s & 1, s & 2, s % 3,
                                      isa ? MT_LLVM_GEMM_ISA_AVX2 : MT_LLVM_GEMM_ISA_GENERIC);
                descs[n++].f64_flush = v == 2 ? 7 : 0;
            }
    run_and_check(descs, n, "isa");
}

static void f32_sums_flushed_into_f64_are_correct_with_every_transpose(void **state)
{
    (void)state;
    /* Flushing every 5 steps leaves a partial last chain in every K here (1, 5, 3, 17, 64,
     * 300 are not all multiples of 5) and in every K block of 384. */
    mt_llvm_gemm_desc descs[NSHAPES * 4 + 1];
    int n = 0;
    for (int s = 0; s < NSHAPES; s++)
        for (int t = 0; t < 4; t++) {
            descs[n] =
                shape_desc(MT_DTYPE_F32, s, t & 1, t & 2, t % 2 ? 0 : 2, MT_LLVM_GEMM_ISA_HOST);
            descs[n++].f64_flush = 5;
        }
    mt_llvm_gemm_desc_init(&descs[n], MT_DTYPE_F32, 40, 50, 1031);
    descs[n].f64_flush = 128;
    descs[n++].accumulate = true;
    run_and_check(descs, n, "f64 sums");
}

static void any_split_of_the_rows_gives_bit_identical_results(void **state)
{
    (void)state;
    /* K = 1031 spans three K blocks, so a split that changed the summation order would show. */
    enum { NV = 3 }; /* f32, f64, f32 with f64 sums */
    mt_llvm_gemm_desc descs[NV];
    for (int v = 0; v < NV; v++) {
        mt_llvm_gemm_desc_init(&descs[v], v == 1 ? MT_DTYPE_F64 : MT_DTYPE_F32, 131, 45, 1031);
        descs[v].trans_b = v == 1;
        descs[v].ldb = v == 1 ? 1031 : 45;
        descs[v].f64_flush = v == 2 ? 100 : 0;
    }
    mt_llvm_gemm_fn fns[NV];
    mt_llvm_jit *j = compile(descs, NV, fns);
    static const int64_t splits[][6] = {
        {0, 131, -1},           /* one call */
        {0, 1, 5, 17, 131, -1}, /* ragged, mostly inside one register block */
        {0, 24, 48, 131, -1},   /* at register-block boundaries */
        {0, 65, 66, 130, 131, -1},
    };
    for (int dt = 0; dt < NV; dt++) {
        operands o;
        operands_init(&o, &descs[dt]);
        void *s = scratch_for(&descs[dt]);
        size_t bytes = (size_t)o.ext[2] * (dt == 1 ? 8 : 4);
        void *first = mt_malloc(bytes);
        assert_non_null(first);
        for (size_t sp = 0; sp < sizeof splits / sizeof splits[0]; sp++) {
            memcpy(o.c, o.c0, bytes);
            for (int p = 0; splits[sp][p + 1] >= 0; p++)
                fns[dt](o.a, o.b, o.c, splits[sp][p], splits[sp][p + 1], s);
            if (sp == 0) {
                check_against_reference(&o, "split");
                memcpy(first, o.c, bytes);
            } else if (memcmp(first, o.c, bytes) != 0) {
                fail_msg("variant %d: split %zu changed the result", dt, sp);
            }
        }
        /* Single rows, last to first, from two scratch buffers and the stack. */
        void *s2 = scratch_for(&descs[dt]);
        memcpy(o.c, o.c0, bytes);
        for (int64_t r = descs[dt].M - 1; r >= 0; r--)
            fns[dt](o.a, o.b, o.c, r, r + 1, r % 3 == 0 ? s : r % 3 == 1 ? s2 : NULL);
        assert_memory_equal(first, o.c, bytes);
        mt_free(s2);
        mt_free(first);
        mt_free(s);
        operands_fini(&o);
    }
    mt_llvm_jit_free(j);
}

/* Calls of at most 16 rows read A and B in place instead of packing (gemm_small.c: one row at
 * a time up to 4 rows, else tiles of MR rows and the rest one at a time), a transposed B
 * packed once first. Each element must get the packed path's operations: the whole product in
 * one call (packed) and in runs of 1 to 16 rows (in place) agree bit for bit, for every ISA,
 * dtype, A and B transposed or not, accumulating or not, N in full and masked column blocks
 * and over one N block (400), K over several K blocks, and padded strides. (The whole call of a
 * product whose B is at most 16 KiB reads it in place too: then it checks that any split agrees.)
 */
static void rows_read_in_place_give_the_bits_of_the_packed_path(void **state)
{
    (void)state;
    static const int64_t sizes[][3] = {{37, 300, 1031}, {17, 10, 128},  {41, 45, 7},
                                       {23, 256, 200},  {12, 100, 100}, {9, 400, 50}};
    enum { NS = sizeof sizes / sizeof sizes[0], NV = 3 * 2 * 4 * NS };
    static const mt_llvm_gemm_isa isas[3] = {MT_LLVM_GEMM_ISA_HOST, MT_LLVM_GEMM_ISA_AVX2,
                                             MT_LLVM_GEMM_ISA_GENERIC};
    mt_llvm_gemm_desc descs[NV];
    int n = 0;
    for (int isa = 0; isa < 3; isa++)
        for (int dt = 0; dt < 2; dt++)
            for (int t = 0; t < 4; t++)
                for (int s = 0; s < NS; s++) {
                    mt_llvm_gemm_desc *d = &descs[n++];
                    mt_llvm_gemm_desc_init(d, dt ? MT_DTYPE_F64 : MT_DTYPE_F32, sizes[s][0],
                                           sizes[s][1], sizes[s][2]);
                    d->isa = isas[isa];
                    d->trans_a = t & 1;
                    d->trans_b = t & 2;
                    d->lda = (d->trans_a ? d->M : d->K) + s % 2;
                    d->ldb = (d->trans_b ? d->K : d->N) + s % 3;
                    d->ldc = d->N + 1;
                    d->accumulate = (s + isa) % 2;
                }
    mt_llvm_gemm_fn fns[NV];
    mt_llvm_jit *j = compile(descs, NV, fns);
    for (int v = 0; v < NV; v++) {
        operands o;
        operands_init(&o, &descs[v]);
        void *s = scratch_for(&descs[v]);
        size_t bytes = (size_t)o.ext[2] * (descs[v].dtype == MT_DTYPE_F64 ? 8 : 4);
        fns[v](o.a, o.b, o.c, 0, descs[v].M, s);
        check_against_reference(&o, "packed");
        void *packed = mt_malloc(bytes);
        assert_non_null(packed);
        memcpy(packed, o.c, bytes);
        memcpy(o.c, o.c0, bytes);
        static const int64_t runs[] = {1, 16, 2, 5, 4, 8, 3, 11, 7};
        for (int64_t r = 0, q = 0; r < descs[v].M; r += runs[q], q = (q + 1) % 9)
            fns[v](o.a, o.b, o.c, r, r + runs[q], q % 2 ? s : NULL);
        check_against_reference(&o, "in place");
        if (memcmp(packed, o.c, bytes) != 0)
            fail_msg("variant %d (M=%lld N=%lld K=%lld): rows in place differ from packed", v,
                     (long long)descs[v].M, (long long)descs[v].N, (long long)descs[v].K);
        mt_free(packed);
        mt_free(s);
        operands_fini(&o);
    }
    mt_llvm_jit_free(j);
}

static void a_call_writes_only_its_rows_and_leaves_the_rest_of_c_alone(void **state)
{
    (void)state;
    mt_llvm_gemm_desc d = shape_desc(MT_DTYPE_F32, 3, false, false, 5, MT_LLVM_GEMM_ISA_HOST);
    mt_llvm_gemm_fn fn;
    mt_llvm_jit *j = compile(&d, 1, &fn);
    operands o;
    operands_init(&o, &d);
    void *s = scratch_for(&d);
    fn(o.a, o.b, o.c, 100, 113, s);
    /* Rows outside [100, 113) and the 5 padding columns of every row keep their values. */
    for (int64_t i = 0; i < d.M; i++) {
        for (int64_t jj = 0; jj < d.ldc; jj++) {
            int64_t ic = i * d.ldc + jj;
            if ((i >= 100 && i < 113 && jj < d.N) || ic >= o.ext[2])
                continue;
            assert_true(((float *)o.c)[ic] == ((float *)o.c0)[ic]);
        }
    }
    fn(o.a, o.b, o.c, -7, 100, s); /* clamped to [0, 100) */
    fn(o.a, o.b, o.c, 113, 1000, s);
    check_against_reference(&o, "rows");
    mt_free(s);
    operands_fini(&o);
    mt_llvm_jit_free(j);
}

static void accumulate_adds_the_product_to_c(void **state)
{
    (void)state;
    mt_llvm_gemm_desc descs[4];
    for (int i = 0; i < 4; i++) {
        descs[i] = shape_desc(i % 2 ? MT_DTYPE_F64 : MT_DTYPE_F32, i < 2 ? 5 : 2, i == 1, i == 2, 1,
                              MT_LLVM_GEMM_ISA_HOST);
        descs[i].accumulate = true;
    }
    descs[3].K = 1031; /* several K blocks all adding into C */
    descs[3].lda = 1031;
    run_and_check(descs, 4, "accumulate");
}

static void an_empty_sum_gives_zeros_or_leaves_c_when_accumulating(void **state)
{
    (void)state;
    mt_llvm_gemm_desc descs[4];
    for (int i = 0; i < 2; i++) {
        mt_llvm_gemm_desc_init(&descs[i], MT_DTYPE_F32, 7, 9, 0);
        descs[i].accumulate = i == 1;
    }
    /* No rows or no columns: nothing to write, and nothing may be. */
    mt_llvm_gemm_desc_init(&descs[2], MT_DTYPE_F64, 0, 9, 5);
    mt_llvm_gemm_desc_init(&descs[3], MT_DTYPE_F32, 7, 0, 5);
    descs[3].ldc = 3;
    run_and_check(descs, 4, "empty");
}

static void batch_axes_broadcast_and_fold_into_one_product(void **state)
{
    (void)state;
    mt_llvm_gemm_desc descs[4];
    /* x[2,3,M,K] . w[K,N]: w broadcast, x and out contiguous: folds into M = 6 * 13. */
    mt_llvm_gemm_desc_init(&descs[0], MT_DTYPE_F32, 13, 40, 21);
    descs[0].nbatch = 2;
    descs[0].batch_dims[0] = 2;
    descs[0].batch_dims[1] = 3;
    descs[0].batch_a[0] = 3 * 13 * 21;
    descs[0].batch_a[1] = 13 * 21;
    descs[0].batch_c[0] = 3 * 13 * 40;
    descs[0].batch_c[1] = 13 * 40;
    /* a[M,K] . b[4,K,N]: a broadcast, a real batch loop. */
    mt_llvm_gemm_desc_init(&descs[1], MT_DTYPE_F64, 17, 33, 9);
    descs[1].nbatch = 1;
    descs[1].batch_dims[0] = 4;
    descs[1].batch_b[0] = 9 * 33;
    descs[1].batch_c[0] = 17 * 33;
    /* a[3,1,M,K]^T-stored . b[1,2,K,N] -> [3,2,M,N]: both broadcast on different axes. */
    mt_llvm_gemm_desc_init(&descs[2], MT_DTYPE_F32, 14, 35, 30);
    descs[2].trans_a = true;
    descs[2].lda = 14;
    descs[2].nbatch = 2;
    descs[2].batch_dims[0] = 3;
    descs[2].batch_dims[1] = 2;
    descs[2].batch_a[0] = 30 * 14;
    descs[2].batch_b[1] = 30 * 35;
    descs[2].batch_c[0] = 2 * 14 * 35;
    descs[2].batch_c[1] = 14 * 35;
    /* Row split across batch boundaries is exercised below with descs[3] = descs[1]. */
    descs[3] = descs[1];
    descs[3].dtype = MT_DTYPE_F32;
    run_and_check(descs, 3, "batch");

    mt_llvm_gemm_fn fn;
    mt_llvm_jit *j = compile(&descs[3], 1, &fn);
    operands o;
    operands_init(&o, &descs[3]);
    void *s = scratch_for(&descs[3]);
    static const int64_t cuts[] = {0, 5, 17, 30, 51, 52, 68};
    for (int i = 0; i + 1 < 7; i++)
        fn(o.a, o.b, o.c, cuts[i], cuts[i + 1], s);
    check_against_reference(&o, "batch split");
    mt_free(s);
    operands_fini(&o);
    mt_llvm_jit_free(j);
}

/* SPEC's matmul by its definition, for one output element: out[o..., m, n] = sum over k of
 * a[..., m, k] b[..., k, n], where an operand's batch axes (aligned to the output's from the
 * right) take the output's index, or 0 where the operand's axis has size 1. A transposed
 * operand's buffer holds its last two axes swapped. */
static double matmul_by_definition(const mt_type *ta, const void *A, bool trans_a,
                                   const mt_type *tb, const void *B, bool trans_b,
                                   const mt_type *to, int64_t flat)
{
    int64_t idx[MT_MAX_RANK];
    for (int i = to->rank - 1; i >= 0; i--) {
        idx[i] = flat % to->dims[i];
        flat /= to->dims[i];
    }
    const mt_type *t[2] = {ta, tb};
    int64_t base[2];
    for (int o = 0; o < 2; o++) {
        int64_t batch = 0;
        for (int j = 0; j < t[o]->rank - 2; j++) {
            int64_t i = t[o]->dims[j] == 1 ? 0 : idx[j + to->rank - t[o]->rank];
            batch = batch * t[o]->dims[j] + i;
        }
        base[o] = batch * t[o]->dims[t[o]->rank - 2] * t[o]->dims[t[o]->rank - 1];
    }
    int64_t M = ta->dims[ta->rank - 2], K = ta->dims[ta->rank - 1], N = tb->dims[tb->rank - 1];
    int64_t m = idx[to->rank - 2], n = idx[to->rank - 1];
    double acc = 0;
    for (int64_t k = 0; k < K; k++)
        acc += at(ta->dtype, A, base[0] + (trans_a ? k * M + m : m * K + k)) *
               at(tb->dtype, B, base[1] + (trans_b ? n * K + k : k * N + n));
    return acc;
}

static mt_type shape(mt_dtype dt, int rank, const int64_t *dims)
{
    return mt_type_make(dt, rank, dims);
}

static void matmul_descriptors_broadcast_batches_as_the_spec_defines(void **state)
{
    (void)state;
    static const struct {
        int ra, rb, ro;
        int64_t a[4], b[4], out[4];
    } cases[] = {
        {4, 3, 4, {2, 1, 3, 17}, {5, 17, 4}, {2, 5, 3, 4}},
        {3, 2, 3, {3, 1, 17}, {17, 1}, {3, 1, 1}},
        {2, 3, 3, {255, 17}, {3, 17, 255}, {3, 255, 255}},
        {3, 3, 3, {4, 6, 20}, {1, 20, 33}, {4, 6, 33}},
    };
    enum { NCASES = sizeof cases / sizeof cases[0] };
    mt_llvm_gemm_desc descs[2 * NCASES];
    mt_type ta[2 * NCASES], tb[2 * NCASES], to[2 * NCASES];
    for (int i = 0; i < 2 * NCASES; i++) {
        int c = i % NCASES;
        mt_dtype dt = i < NCASES ? MT_DTYPE_F32 : MT_DTYPE_F64;
        ta[i] = shape(dt, cases[c].ra, cases[c].a);
        tb[i] = shape(dt, cases[c].rb, cases[c].b);
        to[i] = shape(dt, cases[c].ro, cases[c].out);
        mt_diag d;
        mt_diag_init(&d);
        assert_int_equal(mt_llvm_gemm_desc_matmul(&descs[i], &ta[i], &tb[i], i & 1, i & 2, &d),
                         MT_OK);
    }
    mt_llvm_gemm_fn fns[2 * NCASES];
    mt_llvm_jit *j = compile(descs, 2 * NCASES, fns);
    for (int i = 0; i < 2 * NCASES; i++) {
        mt_dtype dt = ta[i].dtype;
        int64_t na = mt_type_numel(&ta[i]), nb = mt_type_numel(&tb[i]);
        int64_t no = mt_type_numel(&to[i]);
        void *A = random_buffer(dt, na), *B = random_buffer(dt, nb), *C = random_buffer(dt, no);
        int64_t rows = no / to[i].dims[to[i].rank - 1];
        fns[i](A, B, C, 0, rows, NULL);
        double eps = dt == MT_DTYPE_F32 ? FLT_EPSILON : DBL_EPSILON;
        int64_t K = ta[i].dims[ta[i].rank - 1];
        for (int64_t e = 0; e < no; e++) {
            double want = matmul_by_definition(&ta[i], A, i & 1, &tb[i], B, i & 2, &to[i], e);
            /* |a|, |b| <= 1: the sum of magnitudes is at most K. */
            if (!(fabs(at(dt, C, e) - want) <= (double)(K + 2) * eps * (double)K))
                fail_msg("case %d element %lld: %.17g, expected %.17g", i, (long long)e,
                         at(dt, C, e), want);
        }
        mt_free(A);
        mt_free(B);
        mt_free(C);
    }
    mt_llvm_jit_free(j);

    /* Operands that do not fit are refused with the reason. */
    mt_llvm_gemm_desc d;
    mt_diag diag;
    int64_t d1[] = {5}, d2[] = {2, 3, 4}, d3[] = {3, 5, 6}, d4[] = {4, 6};
    mt_type v = shape(MT_DTYPE_F32, 1, d1), x = shape(MT_DTYPE_F32, 3, d2);
    mt_type y = shape(MT_DTYPE_F32, 3, d3), w = shape(MT_DTYPE_F64, 2, d4);
    mt_diag_init(&diag);
    assert_int_equal(mt_llvm_gemm_desc_matmul(&d, &v, &x, false, false, &diag), MT_ERR_SHAPE);
    mt_diag_init(&diag);
    assert_int_equal(mt_llvm_gemm_desc_matmul(&d, &x, &x, false, false, &diag), MT_ERR_SHAPE);
    mt_diag_init(&diag);
    assert_int_equal(mt_llvm_gemm_desc_matmul(&d, &x, &y, false, false, &diag), MT_ERR_SHAPE);
    mt_diag_init(&diag);
    assert_int_equal(mt_llvm_gemm_desc_matmul(&d, &x, &w, false, false, &diag), MT_ERR_TYPE);
}

static void a_gemm_kernel_reads_its_operands_from_the_buffer_table(void **state)
{
    (void)state;
    int64_t da[] = {3, 20, 30}, db[] = {30, 25};
    mt_type ta = mt_type_make(MT_DTYPE_F32, 3, da), tb = mt_type_make(MT_DTYPE_F32, 2, db);
    mt_llvm_gemm_desc desc;
    assert_int_equal(mt_llvm_gemm_desc_matmul(&desc, &ta, &tb, false, true, NULL), MT_OK);
    mt_llvm_module *m = new_module();
    mt_diag d;
    mt_diag_init(&d);
    LLVMValueRef fn = NULL;
    assert_int_equal(mt_llvm_gemm_emit_kernel(m->mod, "k0", &desc, 2, 0, 3, &fn, &d), MT_OK);
    assert_non_null(fn);
    assert_int_equal(mt_llvm_gemm_emit_kernel(m->mod, "k0", &desc, 2, 0, 3, &fn, &d), MT_ERR_ARG);
    assert_null(fn);
    mt_llvm_jit *j = finish(m);
    mt_diag_init(&d);
    mt_kernel_fn k = mt_llvm_jit_lookup(j, "k0", &d);
    assert_non_null(k);

    operands o;
    operands_init(&o, &desc);
    float unused = 0;
    void *bufs[4] = {o.b, &unused, o.a, o.c};
    k(bufs, 0, 31); /* rows of all three batches, split across the first batch boundary */
    k(bufs, 31, 60);
    check_against_reference(&o, "kernel ABI");
    operands_fini(&o);
    mt_llvm_jit_free(j);
}

/* The f32 error against the double reference at long sums, printed for docs/gemm.md, in
 * three measures: normwise (max |c - ref| / max |ref|); as the CPU backend's tests judge it
 * (tests/unit/test_cpu.c: |c - ref| / max(|ref|, mean |ref|) must stay below 1e-5); and
 * elementwise over elements with |ref| >= 1% of max |ref|. */
static void f32_error_at_long_sums_meets_the_cpu_backend_tolerance(void **state)
{
    (void)state;
    enum { NV = 4 };
    mt_llvm_gemm_desc descs[NV];
    for (int v = 0; v < NV; v++) {
        mt_llvm_gemm_desc_init(&descs[v], MT_DTYPE_F32, 96, 96, v % 2 ? 2048 : 1031);
        descs[v].f64_flush = v < 2 ? 0 : 128;
    }
    mt_llvm_gemm_fn fns[NV];
    mt_llvm_jit *j = compile(descs, NV, fns);
    for (int v = 0; v < NV; v++) {
        const mt_llvm_gemm_desc *d = &descs[v];
        operands o;
        operands_init(&o, d);
        fns[v](o.a, o.b, o.c, 0, d->M, NULL);
        check_against_reference(&o, "long sum");
        int64_t count = d->M * d->N;
        double *ref = mt_malloc((size_t)count * sizeof *ref);
        assert_non_null(ref);
        double maxref = 0, mean = 0;
        for (int64_t r = 0; r < d->M; r++) {
            for (int64_t c = 0; c < d->N; c++) {
                double acc = 0;
                for (int64_t k = 0; k < d->K; k++)
                    acc += at(d->dtype, o.a, r * d->K + k) * at(d->dtype, o.b, k * d->N + c);
                ref[r * d->N + c] = acc;
                maxref = fmax(maxref, fabs(acc));
                mean += fabs(acc) / (double)count;
            }
        }
        double norm = 0, cpu = 0, elem = 0;
        for (int64_t e = 0; e < count; e++) {
            double diff = fabs(at(d->dtype, o.c, e) - ref[e]);
            norm = fmax(norm, diff / maxref);
            cpu = fmax(cpu, diff / fmax(fabs(ref[e]), mean));
            if (fabs(ref[e]) >= 0.01 * maxref)
                elem = fmax(elem, diff / fabs(ref[e]));
        }
        printf("f32 K=%lld f64_flush=%lld: normwise %.2e, cpu-test measure %.2e, elementwise "
               "(|ref| >= 1%% of max) %.2e\n",
               (long long)d->K, (long long)d->f64_flush, norm, cpu, elem);
        assert_true(cpu < 1e-5);
        mt_free(ref);
        operands_fini(&o);
    }
    mt_llvm_jit_free(j);
}

typedef void (*pack_fn)(const void *src, int64_t ld, void *dst, int64_t first, int64_t count,
                        int64_t pc, int64_t kc);
typedef void (*driver_fn)(const void *A, const void *B, void *C, int64_t m_begin, int64_t m_end,
                          void *scratch, const int64_t *desc, pack_fn pack_a, pack_fn pack_b);

/* The address of `name` in j, as the type *out points to. */
static void lookup_into(mt_llvm_jit *j, const char *name, void *out, size_t size)
{
    mt_diag d;
    mt_diag_init(&d);
    mt_kernel_fn fn = mt_llvm_jit_lookup(j, name, &d);
    if (!fn)
        fail_msg("%s: %s", name, d.msg);
    memcpy(out, &fn, size);
    mt_diag_fini(&d);
}

static void one_compiled_driver_computes_products_of_any_size_given_at_run_time(void **state)
{
    (void)state;
    /* The driver, kernel and all four packing pieces of f32 for the host, compiled once. */
    mt_llvm_gemm_desc base;
    mt_llvm_gemm_desc_init(&base, MT_DTYPE_F32, 1, 1, 1);
    mt_llvm_gemm_piece pieces[4][MT_LLVM_GEMM_PIECES];
    mt_llvm_module *m = new_module();
    for (int t = 0; t < 4; t++) {
        mt_llvm_gemm_desc d = base;
        d.trans_a = t & 1;
        d.trans_b = t & 2;
        assert_int_equal(mt_llvm_gemm_pieces(&d, pieces[t], NULL), MT_OK);
        for (int i = 0; i < MT_LLVM_GEMM_PIECES; i++)
            assert_non_null(mt_llvm_gemm_piece_function(m->mod, &pieces[t][i], true));
    }
    /* Pieces are shared: one driver (with its internal few-rows function) and one kernel,
     * whatever the transposes. */
    int defined = 0;
    for (LLVMValueRef fn = LLVMGetFirstFunction(m->mod); fn; fn = LLVMGetNextFunction(fn))
        defined += !LLVMIsDeclaration(fn);
    assert_int_equal(defined, 7);
    mt_llvm_jit *j = finish(m);
    char name[MT_LLVM_GEMM_NAME];
    driver_fn driver;
    mt_llvm_gemm_piece_name(&pieces[0][0], name);
    lookup_into(j, name, &driver, sizeof driver);

    /* Awkward sizes, padded strides, every transpose, batches that broadcast, accumulation;
     * each run whole and in three uneven shares, which must agree bit for bit. */
    for (int s = 0; s < NSHAPES; s++) {
        for (int t = 0; t < 4; t++) {
            mt_llvm_gemm_desc d = shape_desc(MT_DTYPE_F32, s, t & 1, t & 2, s % 3, 0);
            d.accumulate = s == 2;
            if (s % 2) { /* [3, 2] batches: A broadcast along the first axis, B along the second */
                int64_t asz = (d.trans_a ? d.K * d.lda : d.M * d.lda);
                int64_t bsz = (d.trans_b ? d.N * d.ldb : d.K * d.ldb);
                d.nbatch = 2;
                d.batch_dims[0] = 3;
                d.batch_dims[1] = 2;
                d.batch_a[0] = 0;
                d.batch_a[1] = asz;
                d.batch_b[0] = bsz;
                d.batch_b[1] = 0;
                d.batch_c[1] = d.M * d.ldc;
                d.batch_c[0] = 2 * d.batch_c[1];
            }
            pack_fn pa, pb;
            mt_llvm_gemm_piece_name(&pieces[t][2], name);
            lookup_into(j, name, &pa, sizeof pa);
            mt_llvm_gemm_piece_name(&pieces[t][3], name);
            lookup_into(j, name, &pb, sizeof pb);
            int64_t words[MT_LLVM_GEMM_DESC_WORDS];
            mt_llvm_gemm_desc_words(&d, words);
            int64_t rows = d.M * batch_count(&d);
            operands o;
            operands_init(&o, &d);
            size_t bytes = (size_t)(o.ext[2] > 0 ? o.ext[2] : 1) * sizeof(float);
            driver(o.a, o.b, o.c, 0, rows, NULL, words, pa, pb);
            char label[96];
            snprintf(label, sizeof label, "run-time descriptor, shape %d, transposes %d", s, t);
            check_against_reference(&o, label);
            void *whole = mt_malloc(bytes);
            assert_non_null(whole);
            memcpy(whole, o.c, bytes);
            memcpy(o.c, o.c0, bytes);
            int64_t cut[4] = {0, rows / 3 + 1, rows - rows / 4, rows};
            for (int k = 0; k < 3; k++)
                driver(o.a, o.b, o.c, cut[k] < cut[k + 1] ? cut[k] : cut[k + 1], cut[k + 1], NULL,
                       words, pa, pb);
            assert_memory_equal(o.c, whole, bytes);
            mt_free(whole);
            operands_fini(&o);
        }
    }
    mt_llvm_jit_free(j);
}

static void malformed_descriptors_and_taken_names_are_refused(void **state)
{
    (void)state;
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef mod = LLVMModuleCreateWithNameInContext("bad", ctx);
    mt_llvm_gemm_desc d;
    mt_diag diag;

    mt_llvm_gemm_desc_init(&d, MT_DTYPE_F32, 4, 4, -1);
    mt_diag_init(&diag);
    assert_int_equal(mt_llvm_gemm_emit(mod, "g", &d, NULL, &diag), MT_ERR_ARG);
    assert_non_null(strstr(diag.msg, "negative size"));

    mt_llvm_gemm_desc_init(&d, MT_DTYPE_F32, 4, 8, 6);
    d.trans_b = true; /* B is stored N x K: ldb must be at least K = 6, not N */
    d.ldb = 5;
    mt_diag_init(&diag);
    assert_int_equal(mt_llvm_gemm_emit(mod, "g", &d, NULL, &diag), MT_ERR_ARG);
    assert_non_null(strstr(diag.msg, "too small"));

    mt_llvm_gemm_desc_init(&d, MT_DTYPE_F32, 4, 8, 6);
    d.nbatch = MT_MAX_RANK;
    mt_diag_init(&diag);
    assert_int_equal(mt_llvm_gemm_emit(mod, "g", &d, NULL, &diag), MT_ERR_ARG);

    mt_llvm_gemm_desc_init(&d, MT_DTYPE_F32, 4, 8, 6);
    LLVMValueRef fn = NULL;
    assert_int_equal(mt_llvm_gemm_emit(mod, "g", &d, &fn, NULL), MT_OK);
    assert_non_null(fn);
    mt_diag_init(&diag);
    assert_int_equal(mt_llvm_gemm_emit(mod, "g", &d, &fn, &diag), MT_ERR_ARG);
    assert_null(fn);
    assert_non_null(strstr(diag.msg, "already"));

    LLVMDisposeModule(mod);
    LLVMContextDispose(ctx);
}

/* The CPU target is a value: the host's is asked once, a named one picks its GEMM's
 * instruction set from its own features, not the host's. */
static void a_named_cpu_target_chooses_its_own_instruction_set(void **state)
{
    (void)state;
    const mt_cpu_target *h = mt_cpu_target_host();
    assert_ptr_equal(h, mt_cpu_target_host());
    assert_true(h->triple[0] != '\0');
    assert_int_equal(mt_llvm_gemm_isa_of(h), mt_llvm_gemm_host_isa());
    mt_cpu_target t;
    mt_diag d;
    mt_diag_init(&d);
    assert_int_equal(mt_cpu_target_from_name("x86-64-v3", &t, &d), MT_OK);
    assert_string_equal(t.cpu, "x86-64-v3");
    assert_string_equal(t.triple, h->triple);
    if (t.x86) {
        assert_int_equal(mt_llvm_gemm_isa_of(&t), MT_LLVM_GEMM_ISA_AVX2);
        assert_int_equal(mt_cpu_target_from_name("x86-64-v4", &t, &d), MT_OK);
        assert_int_equal(mt_llvm_gemm_isa_of(&t), MT_LLVM_GEMM_ISA_AVX512);
        assert_int_equal(mt_cpu_target_from_name("x86-64", &t, &d), MT_OK);
        assert_int_equal(mt_llvm_gemm_isa_of(&t), MT_LLVM_GEMM_ISA_GENERIC);
    }
    assert_int_equal(mt_cpu_target_from_name("", &t, &d), MT_ERR_ARG);
}

int main(void)
{
    unsigned seed = (unsigned)time(NULL);
    const char *env = getenv("MT_SEED");
    if (env)
        seed = (unsigned)strtoul(env, NULL, 10);
    printf("seed %u\n", seed);
    rng_state = (uint64_t)seed * UINT64_C(0x9E3779B97F4A7C15) + 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gemm_matches_a_double_reference_at_edge_sizes_with_every_transpose),
        cmocka_unit_test(kernels_shaped_for_avx2_and_plain_sse_are_correct_on_any_x86_64),
        cmocka_unit_test(a_named_cpu_target_chooses_its_own_instruction_set),
        cmocka_unit_test(f32_sums_flushed_into_f64_are_correct_with_every_transpose),
        cmocka_unit_test(any_split_of_the_rows_gives_bit_identical_results),
        cmocka_unit_test(rows_read_in_place_give_the_bits_of_the_packed_path),
        cmocka_unit_test(a_call_writes_only_its_rows_and_leaves_the_rest_of_c_alone),
        cmocka_unit_test(accumulate_adds_the_product_to_c),
        cmocka_unit_test(an_empty_sum_gives_zeros_or_leaves_c_when_accumulating),
        cmocka_unit_test(batch_axes_broadcast_and_fold_into_one_product),
        cmocka_unit_test(matmul_descriptors_broadcast_batches_as_the_spec_defines),
        cmocka_unit_test(a_gemm_kernel_reads_its_operands_from_the_buffer_table),
        cmocka_unit_test(f32_error_at_long_sums_meets_the_cpu_backend_tolerance),
        cmocka_unit_test(one_compiled_driver_computes_products_of_any_size_given_at_run_time),
        cmocka_unit_test(malformed_descriptors_and_taken_names_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
