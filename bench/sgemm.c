/* sgemm.c - benchmark of mtc's generated GEMM (codegen/llvm/gemm.c) against OpenBLAS.
 *
 * For square n = 64 ... 2048 it emits one f32 GEMM per n, optimizes and JIT-compiles it the
 * way the CPU backend does (codegen/llvm: mt_llvm_optimize, mt_llvm_jit_new), runs it on T
 * threads of runtime/pool.c (rows of C split between them at register-block boundaries) and
 * times it against cblas_sgemm on the same inputs with OpenBLAS set to the same T threads.
 * Each side gets a warm-up and the best of several rounds of repetitions; the table gives
 * GFLOP/s and the ratio, and the run checks the results: both against a double-precision
 * dot product on a sample of elements, and against each other. OpenBLAS is linked into this
 * benchmark only.
 *
 *   usage: bench_sgemm [n ...]        env: MT_BENCH_THREADS (default 2)
 *
 * The second mtc column is the f64_flush = 128 variant (f32 FMA chains of 128 summed in f64),
 * the price of about half the rounding error.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>
#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/Orc.h>

#include "codegen/llvm/gemm.h"
#include "codegen/llvm/llvm.h"
#include "ir/alloc.h"
#include "runtime/pool.h"

/* ---- JIT: emit, optimize for the host (mt_llvm_optimize), compile ---------------------- */

/* Emits `d` as "gemm" in a fresh module and compiles it through the CPU backend's pipeline. */
static mt_llvm_gemm_fn compile_gemm(const mt_llvm_gemm_desc *d, mt_llvm_jit **jit)
{
    mt_diag diag;
    mt_diag_init(&diag);
    *jit = NULL;
    mt_llvm_init();
    mt_llvm_module *m = mt_calloc(1, sizeof *m);
    if (!m)
        return NULL;
    LLVMOrcThreadSafeContextRef tsc = LLVMOrcCreateNewThreadSafeContext();
    m->tsc = tsc;
    m->ctx = LLVMOrcThreadSafeContextGetContext(tsc);
    m->mod = LLVMModuleCreateWithNameInContext("sgemm", m->ctx);
    mt_kernel_fn fn = NULL;
    char *msg = NULL;
    if (mt_llvm_gemm_emit(m->mod, "gemm", d, NULL, &diag) != MT_OK) {
        mt_llvm_module_free(m);
    } else if (LLVMVerifyModule(m->mod, LLVMReturnStatusAction, &msg)) {
        mt_llvm_fail(&diag, "invalid module", msg);
        mt_llvm_module_free(m);
    } else if (mt_llvm_optimize(m, &diag) != MT_OK) {
        mt_llvm_module_free(m);
    } else if (mt_llvm_jit_new(m, jit, &diag) == MT_OK) { /* takes m */
        fn = mt_llvm_jit_lookup(*jit, "gemm", &diag);
    }
    LLVMDisposeMessage(msg);
    if (!fn) {
        fprintf(stderr, "bench_sgemm: %s\n", diag.msg);
        mt_diag_fini(&diag);
        return NULL;
    }
    mt_diag_fini(&diag);
    /* Both are plain function addresses; the JIT's lookup types them as kernels. */
    mt_llvm_gemm_fn g;
    memcpy(&g, &fn, sizeof g);
    return g;
}

/* ---- the contenders --------------------------------------------------------------------- */

typedef struct job {
    mt_llvm_gemm_fn fn;
    const float *a, *b;
    float *c;
    int64_t m, rows_per_task;
} job;

/* Task t computes its share of rows; NULL scratch puts the packed panels on the worker's
 * stack, as a kernel of the CPU backend would. */
static void run_task(void *ctx, int64_t t)
{
    const job *jb = ctx;
    int64_t lo = t * jb->rows_per_task, hi = lo + jb->rows_per_task;
    if (hi > jb->m)
        hi = jb->m;
    if (lo < hi)
        jb->fn(jb->a, jb->b, jb->c, lo, hi, NULL);
}

static void run_mtc(mt_pool *p, const job *jb)
{
    mt_pool_run(p, run_task, (void *)jb, (jb->m + jb->rows_per_task - 1) / jb->rows_per_task);
}

static void run_blas(int n, const float *a, const float *b, float *c)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
}

/* ---- checking ---------------------------------------------------------------------------- */

enum { NSAMPLES = 256 };

typedef struct sample {
    int i, j;
    double ref;
} sample;

/* Exact-enough references (double dot products) for a fixed sample of elements, and the mean
 * magnitude of the sampled results. */
static double make_samples(int n, const float *a, const float *b, sample *s)
{
    double mean = 0;
    for (int t = 0; t < NSAMPLES; t++) {
        s[t].i = rand() % n;
        s[t].j = rand() % n;
        double acc = 0;
        for (int k = 0; k < n; k++)
            acc += (double)a[(size_t)s[t].i * n + k] * (double)b[(size_t)k * n + s[t].j];
        s[t].ref = acc;
        mean += fabs(acc) / NSAMPLES;
    }
    return mean;
}

/* max |c - ref| / max(|ref|, mean |ref|) over the sample: the measure of the CPU backend's
 * tests (tests/unit/test_cpu.c), where sums that cancel are judged by the size of what was
 * summed. */
static double sample_err(int n, const float *c, const sample *s, double mean)
{
    double worst = 0;
    for (int t = 0; t < NSAMPLES; t++) {
        double scale = fmax(fabs(s[t].ref), mean);
        worst = fmax(worst, fabs((double)c[(size_t)s[t].i * n + s[t].j] - s[t].ref) / scale);
    }
    return worst;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void pause_briefly(void)
{
    /* Lets the idle side's threads stop spinning (OpenBLAS's spin for a while after a call)
     * so that each contender has the cores to itself. */
    nanosleep(&(struct timespec){0, 200000000}, NULL);
}

/* ---- one size ---------------------------------------------------------------------------- */

enum { NVARIANTS = 3 }; /* mtc, mtc with f64_flush, OpenBLAS */

static int bench_one(mt_pool *p, int n)
{
    mt_llvm_gemm_desc d[2];
    mt_llvm_jit *jit[2] = {NULL, NULL};
    mt_llvm_gemm_fn fn[2];
    size_t count = (size_t)n * (size_t)n;
    float *a = mt_malloc(count * sizeof *a), *b = mt_malloc(count * sizeof *b);
    float *c[NVARIANTS];
    int ok = a && b;
    for (int v = 0; v < NVARIANTS; v++) {
        c[v] = mt_calloc(count, sizeof *c[v]);
        ok = ok && c[v];
    }
    double compile_s = now();
    for (int v = 0; v < 2; v++) {
        mt_llvm_gemm_desc_init(&d[v], MT_DTYPE_F32, n, n, n);
        d[v].f64_flush = v ? 128 : 0;
        fn[v] = ok ? compile_gemm(&d[v], &jit[v]) : NULL;
        ok = ok && fn[v];
    }
    compile_s = (now() - compile_s) / 2;
    if (!ok) {
        fprintf(stderr, "bench_sgemm: n=%d: out of memory or compilation failed\n", n);
        return 1;
    }
    for (size_t i = 0; i < count; i++) {
        a[i] = 2.0f * (float)rand() / (float)RAND_MAX - 1.0f;
        b[i] = 2.0f * (float)rand() / (float)RAND_MAX - 1.0f;
    }

    /* Whole register blocks per task, one task per thread: each task packs B once. Below
     * 16 MFLOP one thread does it all: waking a worker costs more than it saves (OpenBLAS
     * decides the same way internally). */
    double flops = 2.0 * n * n * n, best[NVARIANTS];
    int threads = flops < (double)(1 << 24) ? 1 : mt_pool_size(p);
    int64_t mr = mt_llvm_gemm_row_block(&d[0]);
    job jobs[2];
    for (int v = 0; v < 2; v++)
        jobs[v] = (job){fn[v], a, b, c[v], n, ((n + threads - 1) / threads + mr - 1) / mr * mr};

    int reps = (int)fmin(100.0, fmax(3.0, 2e8 / flops * 10));
    for (int v = 0; v < NVARIANTS; v++)
        best[v] = 1e30;
    for (int round = 0; round < 3; round++) {
        for (int v = 0; v < NVARIANTS; v++) {
            for (int r = -1; r < reps; r++) {
                double t = now();
                if (v < 2)
                    run_mtc(p, &jobs[v]);
                else
                    run_blas(n, a, b, c[2]);
                t = now() - t;
                if (r >= 0)
                    best[v] = fmin(best[v], t);
            }
            pause_briefly();
        }
    }

    sample s[NSAMPLES];
    double mean = make_samples(n, a, b, s), agree = 0, scale = 0;
    for (size_t i = 0; i < count; i++) {
        agree = fmax(agree, fabs((double)c[0][i] - (double)c[2][i]));
        scale = fmax(scale, fabs((double)c[2][i]));
    }
    double gf[NVARIANTS];
    for (int v = 0; v < NVARIANTS; v++)
        gf[v] = flops / best[v] * 1e-9;
    printf("| %4d | %d | %7.1f | %7.1f | %7.1f | %5.2f | %7.1e | %7.1e | %7.1e | %7.1e | %5.2f |\n",
           n, threads, gf[0], gf[1], gf[2], gf[0] / gf[2], sample_err(n, c[0], s, mean),
           sample_err(n, c[1], s, mean), sample_err(n, c[2], s, mean),
           scale > 0 ? agree / scale : agree, compile_s);
    fflush(stdout);

    for (int v = 0; v < NVARIANTS; v++)
        mt_free(c[v]);
    mt_free(a);
    mt_free(b);
    for (int v = 0; v < 2; v++)
        mt_llvm_jit_free(jit[v]);
    return 0;
}

int main(int argc, char **argv)
{
    int threads = 2;
    const char *env = getenv("MT_BENCH_THREADS");
    if (env && atoi(env) > 0)
        threads = atoi(env);
    int sizes[32], nsizes = 0;
    for (int i = 1; i < argc && nsizes < 32; i++) {
        if (atoi(argv[i]) > 0)
            sizes[nsizes++] = atoi(argv[i]);
    }
    if (nsizes == 0) {
        for (int n = 64; n <= 2048; n *= 2)
            sizes[nsizes++] = n;
    }

    openblas_set_num_threads(threads);
    mt_pool *p = mt_pool_new(threads);
    if (!p) {
        fprintf(stderr, "bench_sgemm: out of memory\n");
        return 1;
    }
    srand(12345);
    mt_llvm_gemm_isa isa = mt_llvm_gemm_host_isa();
    printf("SGEMM C = A.B, row-major, square n, %d threads; mtc micro-kernel for %s.\n",
           mt_pool_size(p),
           isa == MT_LLVM_GEMM_ISA_AVX512 ? "AVX-512"
           : isa == MT_LLVM_GEMM_ISA_AVX2 ? "AVX2"
                                          : "128-bit vectors");
    printf("T: threads mtc used. GFLOP/s: best of 3 rounds. err: max |c - ref| / max(|ref|, "
           "mean |ref|)\nover %d sampled elements against double dot products; mtc~blas: "
           "max |mtc - blas| / max |blas|\nover all of C. compile s: emit + optimise + JIT of one "
           "GEMM.\n\n",
           NSAMPLES);
    printf("| n    | T | mtc     | mtc f64 | OpenBLAS| ratio | err mtc | err f64 | err blas| "
           "mtc~blas| compile s |\n");
    printf("|------|---|---------|---------|---------|-------|---------|---------|---------|"
           "---------|-------|\n");
    int failed = 0;
    for (int i = 0; i < nsizes; i++)
        failed |= bench_one(p, sizes[i]);
    mt_pool_free(p);
    return failed;
}
