/* ulp.c - the largest error of the CPU backend's float functions, in ulp, over every f32 input
 * (or a sample; f64 always samples), against libm one precision up (tests/support/ulp.h).
 *
 *   bench_ulp [--f64] [--samples N] [--threads T] [FN...]
 *
 * FN is exp, log, tanh, sigmoid, sqrt, inv or pow (default: all). Without --samples an f32
 * unary function is measured at all 2^32 bit patterns; pow (two operands) and f64 are sampled
 * (N, default 2^26): half random bit patterns, half values where the function does its work.
 * Every function is also run at its special values (pow: every pair of them), which must come
 * out exactly. Inputs go through a compiled one-op program in chunks of 2^22; the reference is
 * computed by T threads (default: the cores). bench/ulp/run.sh runs the lot; docs/vmath.md
 * records a run. One line per function:
 *
 *   ulp f32 exp max 0.780 at 0x1.5eb232p+6 inputs 4294967296 class_errors 0 specials 0/66 s 71.2
 *
 * A correctly rounded result counts as 1/2 ulp (its bound) without computing its error.
 * "class_errors": results that should have been exactly inf, 0 or NaN and were not (or the
 * reverse); "specials": how many special inputs failed, of how many. Exits 1 if either is not 0.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/ulp.h"

#define CHUNK (1 << 22)

typedef struct job {
    mt_ulp_fn f;
    int f64;
    const void *a, *b, *y;
    int64_t begin, end;
    double worst;
    int64_t at, bad, first_bad;
} job;

static double load(const void *buf, int f64, int64_t i)
{
    return f64 ? ((const double *)buf)[i] : ((const float *)buf)[i];
}

static void *check(void *arg)
{
    job *j = arg;
    for (int64_t i = j->begin; i < j->end; i++) {
        long double r = mt_ulp_ref(j->f, j->f64, load(j->a, j->f64, i), load(j->b, j->f64, i));
        double y = load(j->y, j->f64, i);
        /* The common case, a correctly rounded result (error <= 1/2 ulp), checked cheaply. */
        double rr = j->f64 ? (double)r : (float)r;
        if (y == rr && y != 0 && !isinf(y)) {
            if (j->worst < 0.5)
                j->worst = 0.5;
            continue;
        }
        double e = mt_ulp_error(j->f64, y, r);
        if (e < 0) {
            if (!j->bad++)
                j->first_bad = i;
        } else if (e > j->worst) {
            j->worst = e;
            j->at = i;
        }
    }
    return NULL;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static void store(void *buf, int f64, int64_t i, double x)
{
    if (f64)
        ((double *)buf)[i] = x;
    else
        ((float *)buf)[i] = (float)x;
}

typedef struct result {
    double worst, worst_a, worst_b;
    int64_t inputs, bad;
    double bad_a, bad_b, bad_y;
} result;

/* Runs n inputs already in a (and b) through p and folds their errors into res. */
static int run_chunk(mt_program *p, mt_ulp_fn f, int f64, const void *a, const void *b,
                     const void *y, int64_t n, int threads, result *res)
{
    mt_diag d;
    mt_diag_init(&d);
    if (mt_program_run(p, &d) != MT_OK) {
        fprintf(stderr, "bench_ulp: run: %s\n", d.msg);
        mt_diag_fini(&d);
        return 0;
    }
    mt_diag_fini(&d);
    job jobs[64];
    pthread_t tid[64];
    for (int t = 0; t < threads; t++) {
        jobs[t] = (job){f, f64, a, b, y, n * t / threads, n * (t + 1) / threads, 0, 0, 0, 0};
        pthread_create(&tid[t], NULL, check, &jobs[t]);
    }
    for (int t = 0; t < threads; t++) {
        pthread_join(tid[t], NULL);
        job *j = &jobs[t];
        if (j->worst > res->worst) {
            res->worst = j->worst;
            res->worst_a = load(a, f64, j->at);
            res->worst_b = load(b, f64, j->at);
        }
        if (j->bad && !res->bad) {
            res->bad_a = load(a, f64, j->first_bad);
            res->bad_b = load(b, f64, j->first_bad);
            res->bad_y = load(y, f64, j->first_bad);
        }
        res->bad += j->bad;
    }
    res->inputs += n;
    return 1;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int measure(mt_ulp_fn f, int f64, int64_t samples, int threads)
{
    size_t es = f64 ? sizeof(double) : sizeof(float);
    void *a = calloc(CHUNK, es), *b = calloc(CHUNK, es), *y = calloc(CHUNK, es);
    mt_program *p = a && b && y ? mt_ulp_program(f, f64, CHUNK) : NULL;
    mt_diag d;
    mt_diag_init(&d);
    int ok =
        p && mt_program_bind_input(p, "a", a, CHUNK * es, &d) == MT_OK &&
        (mt_ulp_fn_arity(f) == 1 || mt_program_bind_input(p, "b", b, CHUNK * es, &d) == MT_OK) &&
        mt_program_bind_output(p, "y", y, CHUNK * es, &d) == MT_OK;
    double t0 = now_s();
    /* The special values first, on their own. */
    result sr = {0}, res = {0};
    double sp[256];
    int ns = mt_ulp_specials(f, f64, sp, 256);
    int64_t n = 0;
    for (int i = 0; i < ns; i++)
        for (int j = 0; j < (mt_ulp_fn_arity(f) == 2 ? ns : 1); j++, n++) {
            store(a, f64, n, sp[i]);
            store(b, f64, n, sp[j]);
        }
    ok = ok && run_chunk(p, f, f64, a, b, y, n, threads, &sr);
    int exhaustive = !f64 && samples == 0 && mt_ulp_fn_arity(f) == 1;
    if (samples == 0)
        samples = exhaustive ? (int64_t)1 << 32 : (int64_t)1 << 26;
    for (int64_t done = 0; ok && done < samples; done += CHUNK) {
        int64_t m = samples - done < CHUNK ? samples - done : CHUNK;
        for (int64_t i = 0; i < m; i++) {
            if (exhaustive) {
                ((uint32_t *)a)[i] = (uint32_t)(done + i);
            } else {
                store(a, f64, i, mt_ulp_sample(f, f64, 0, &rng));
                store(b, f64, i, mt_ulp_sample(f, f64, 1, &rng));
            }
        }
        ok = run_chunk(p, f, f64, a, b, y, m, threads, &res);
    }
    if (ok) {
        printf("ulp %s %s max %.3f at %a", f64 ? "f64" : "f32", mt_ulp_fn_name(f), res.worst,
               res.worst_a);
        if (mt_ulp_fn_arity(f) == 2)
            printf(",%a", res.worst_b);
        printf(" inputs %lld class_errors %lld specials %lld/%d s %.1f\n", (long long)res.inputs,
               (long long)res.bad, (long long)sr.bad, (int)sr.inputs, now_s() - t0);
        if (res.bad || sr.bad) {
            result *r = sr.bad ? &sr : &res;
            printf("  first class error: %s(%a, %a) = %a\n", mt_ulp_fn_name(f), r->bad_a, r->bad_b,
                   r->bad_y);
        }
        fflush(stdout);
    }
    mt_diag_fini(&d);
    mt_program_free(p);
    free(a);
    free(b);
    free(y);
    return ok && !res.bad && !sr.bad;
}

int main(int argc, char **argv)
{
    int f64 = 0, threads = (int)sysconf(_SC_NPROCESSORS_ONLN), nfn = 0;
    int64_t samples = 0;
    int fns[MT_ULP_NFN];
    setenv("MTC_CACHE", "0", 0);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--f64"))
            f64 = 1;
        else if (!strcmp(argv[i], "--samples") && i + 1 < argc)
            samples = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (mt_ulp_fn_of(argv[i]) >= 0 && nfn < MT_ULP_NFN)
            fns[nfn++] = mt_ulp_fn_of(argv[i]);
        else {
            fprintf(stderr, "usage: bench_ulp [--f64] [--samples N] [--threads T] [FN...]\n");
            return 2;
        }
    }
    threads = threads < 1 ? 1 : threads > 64 ? 64 : threads;
    if (!nfn)
        for (int i = 0; i < MT_ULP_NFN; i++)
            fns[nfn++] = i;
    int ok = 1;
    for (int i = 0; i < nfn; i++)
        ok &= measure((mt_ulp_fn)fns[i], f64, samples, threads);
    return ok ? 0 : 1;
}
