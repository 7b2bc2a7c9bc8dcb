/* matmul_graph.c - the CPU backend's real matmul speed: whole graphs through mt_cpu_run.
 *
 * bench_sgemm times the generated GEMM function alone; this benchmark times what a user gets:
 * a graph compiled with mt_cpu_compile (simplify, fuse, lower, plan memory, LLVM, JIT) and run
 * with mt_cpu_run, which also binds the tensors, allocates the output (the arena of
 * temporaries is the program's, allocated once) and splits kernels over the thread pool.
 * Three graphs per size n, f32:
 *
 *   matmul    %y = matmul %a, %b                          a[n,n] . b[n,n]
 *   bias+relu %y = relu(add(matmul %a, %b), %bias)       the same with a fused epilogue
 *   matmul^T  %y = matmul %a, permute(%b, [1, 0])        b read transposed in place, as a
 *                                                        linear layer's [out, in] weight is
 *
 * against OpenBLAS's cblas_sgemm with its threads set to the same count (for bias+relu: C
 * filled with the bias rows, sgemm with beta = 1, then relu in place; this file is built with
 * optimisation so that loop is fair; for matmul^T: CblasTrans on b). Best of 3 rounds of
 * back-to-back repetitions after a warm-up, with a pause between contenders so OpenBLAS's spinning
 * threads are idle. Each result is checked against OpenBLAS's (max |mtc - blas| / max |blas|).
 *
 *   usage: bench_matmul_graph [n ...]     (default 1024)   env: MT_BENCH_THREADS (default 2)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "codegen/cpu.h"
#include "ir/alloc.h"
#include "ir/graph.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void pause_briefly(void) { nanosleep(&(struct timespec){0, 200000000}, NULL); }

static mt_tensor *random_tensor(int rank, const int64_t *dims)
{
    mt_tensor *t = mt_tensor_new(mt_type_make(MT_DTYPE_F32, rank, dims));
    if (!t)
        return NULL;
    float *x = mt_tensor_data(t);
    for (int64_t i = 0; i < mt_type_numel(mt_tensor_type(t)); i++)
        x[i] = 2.0f * (float)rand() / (float)RAND_MAX - 1.0f;
    return t;
}

enum { PLAIN, EPILOGUE, TRANS_B, NKINDS };
static const char *const kind_names[NKINDS] = {"matmul", "bias+relu", "matmul^T"};

/* y = a . b; EPILOGUE: relu(a . b + bias); TRANS_B: a . b^T. */
static mt_graph *build(int64_t n, int kind, int *ia, int *ib, int *ibias)
{
    int epilogue = kind == EPILOGUE;
    mt_graph *g = mt_graph_new(kind == EPILOGUE ? "mm_bias_relu" : kind == TRANS_B ? "mm_t" : "mm");
    int64_t sq[2] = {n, n}, swap[2] = {1, 0};
    *ia = mt_input(g, "a", mt_type_make(MT_DTYPE_F32, 2, sq));
    *ib = mt_param(g, "b", mt_type_make(MT_DTYPE_F32, 2, sq));
    int y = mt_matmul(g, *ia, kind == TRANS_B ? mt_permute(g, *ib, 2, swap) : *ib);
    *ibias = -1;
    if (epilogue) {
        *ibias = mt_param(g, "bias", mt_type_make(MT_DTYPE_F32, 1, &n));
        y = mt_relu(g, mt_add(g, y, *ibias));
    }
    mt_set_outputs(g, &y, 1);
    return g;
}

static void run_blas(int n, const float *a, const float *b, const float *bias, int trans_b,
                     float *c)
{
    if (bias)
        for (int i = 0; i < n; i++)
            memcpy(c + (size_t)i * n, bias, (size_t)n * sizeof *c);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, n, n, n, 1.0f, a,
                n, b, n, bias ? 1.0f : 0.0f, c, n);
    if (bias)
        for (size_t i = 0; i < (size_t)n * n; i++)
            c[i] = c[i] > 0.0f ? c[i] : 0.0f;
}

static int bench_one(int n, int kind, int threads)
{
    int ia, ib, ibias, epilogue = kind == EPILOGUE;
    mt_graph *g = build(n, kind, &ia, &ib, &ibias);
    const mt_tensor **leaves = calloc((size_t)mt_graph_nnodes(g), sizeof *leaves);
    int64_t sq[2] = {n, n}, vec[1] = {n};
    mt_tensor *a = random_tensor(2, sq), *b = random_tensor(2, sq);
    mt_tensor *bias = epilogue ? random_tensor(1, vec) : NULL;
    float *c = mt_malloc((size_t)n * (size_t)n * sizeof *c);
    mt_diag d;
    mt_diag_init(&d);
    mt_cpu_program *p = NULL;
    double compile_s = now();
    int ok = leaves && a && b && c && (!epilogue || bias) && mt_graph_diag(g)->status == MT_OK &&
             mt_cpu_compile(g, &p, &d) == MT_OK && mt_cpu_set_threads(p, threads, &d) == MT_OK;
    compile_s = now() - compile_s;
    if (!ok) {
        fprintf(stderr, "bench_matmul_graph: n=%d: %s\n", n, d.msg[0] ? d.msg : "out of memory");
        return 1;
    }
    leaves[ia] = a;
    leaves[ib] = b;
    if (epilogue)
        leaves[ibias] = bias;

    double flops = 2.0 * n * n * n, best[2] = {1e30, 1e30};
    int reps = (int)fmin(50.0, fmax(3.0, 2e9 / flops));
    mt_tensor *y = NULL;
    for (int round = 0; round < 3 && ok; round++) {
        for (int r = -1; r < reps && ok; r++) {
            mt_tensor_free(y);
            y = NULL;
            double t = now();
            ok = mt_cpu_run(p, leaves, &y, &d) == MT_OK;
            t = now() - t;
            if (r >= 0)
                best[0] = fmin(best[0], t);
        }
        pause_briefly();
        for (int r = -1; r < reps; r++) {
            double t = now();
            run_blas(n, mt_tensor_data(a), mt_tensor_data(b), bias ? mt_tensor_data(bias) : NULL,
                     kind == TRANS_B, c);
            t = now() - t;
            if (r >= 0)
                best[1] = fmin(best[1], t);
        }
        pause_briefly();
    }
    if (!ok) {
        fprintf(stderr, "bench_matmul_graph: n=%d: run: %s\n", n, d.msg);
        return 1;
    }
    const float *got = mt_tensor_data(y);
    double diff = 0, scale = 0;
    for (size_t i = 0; i < (size_t)n * n; i++) {
        diff = fmax(diff, fabs((double)got[i] - (double)c[i]));
        scale = fmax(scale, fabs((double)c[i]));
    }
    double gf = flops / best[0] * 1e-9, gb = flops / best[1] * 1e-9;
    printf("| %-9s | %4d | %d | %7.1f | %7.1f | %5.2f | %8.3f | %7.1e | %5.2f |\n",
           kind_names[kind], n, threads, gf, gb, gf / gb, best[0] * 1e3,
           scale > 0 ? diff / scale : diff, compile_s);
    fflush(stdout);

    mt_tensor_free(y);
    mt_cpu_free(p);
    mt_tensor_free(a);
    mt_tensor_free(b);
    mt_tensor_free(bias);
    mt_free(c);
    free(leaves);
    mt_graph_free(g);
    mt_diag_fini(&d);
    return 0;
}

int main(int argc, char **argv)
{
    int threads = 2;
    const char *env = getenv("MT_BENCH_THREADS");
    if (env && atoi(env) > 0)
        threads = atoi(env);
    int sizes[32], nsizes = 0;
    for (int i = 1; i < argc && nsizes < 32; i++)
        if (atoi(argv[i]) > 0)
            sizes[nsizes++] = atoi(argv[i]);
    if (nsizes == 0)
        sizes[nsizes++] = 1024;
    openblas_set_num_threads(threads);
    srand(12345);
    printf("Whole graphs through mt_cpu_compile + mt_cpu_run, f32, square n, %d threads, against "
           "cblas_sgemm.\nGFLOP/s: 2n^3 / best time of 3 rounds (the run includes binding, the "
           "output tensor\nand the arena). diff: max |mtc - blas| / max |blas|. compile s: "
           "mt_cpu_compile.\n\n",
           threads);
    printf(
        "| graph     | n    | T | mtc     | OpenBLAS| ratio | mtc ms   | diff    | compile s |\n");
    printf("|-----------|------|---|---------|---------|-------|----------|---------|-------|\n");
    int failed = 0;
    for (int i = 0; i < nsizes; i++)
        for (int k = 0; k < NKINDS; k++)
            failed |= bench_one(sizes[i], k, threads);
    return failed;
}
