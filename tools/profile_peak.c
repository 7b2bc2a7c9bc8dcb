/* profile_peak.c - measuring the machine's FMA peak, memory bandwidth and cache bandwidth once,
 * and keeping them in the kernel cache directory (profile.h).
 *
 * The FMA loop keeps 12 independent accumulators in vector registers, more than a core's FMA
 * units times their latency, so it runs at the issue rate; it is written with intrinsics for
 * the widest vector unit the CPU reports (AVX-512, else AVX2 with FMA), because the build's
 * own flags target a baseline x86-64, and the peak to compare with is what the JIT's kernels,
 * compiled for this host, can reach. The accumulator loop is unrolled by pragma so that the
 * accumulators live in registers, not on the stack. Other CPUs get a plain C loop (an estimate,
 * said so in docs/profile.md). The cache's bandwidth is the memory triad swept many times over
 * slices that fit in each core's L2. The benchmarks split their work into tasks over a pool of
 * the program's thread count and keep the best of a few repetitions, since the machines this
 * runs on are often shared.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ir/alloc.h"
#include "runtime/cache.h"
#include "runtime/pool.h"
#include "tools/profile.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- FMA peak -------------------------------------------------------------------------- */

#define ACCS 12
#define FMA_ITERS 500000 /* per task: 12 * 500000 vector FMAs */

/* Each runs 12 * FMA_ITERS vector FMAs and adds their results to *sink, so that the loop is
 * not removed; returns its vector's lanes. */
#if defined(__x86_64__)
__attribute__((target("avx512f"))) static int fma_avx512(float *sink)
{
    __m512 acc[ACCS], m = _mm512_set1_ps(0.999999f), a = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < ACCS; i++)
        acc[i] = _mm512_set1_ps((float)i);
    for (long it = 0; it < FMA_ITERS; it++)
#pragma GCC unroll 16
        for (int i = 0; i < ACCS; i++)
            acc[i] = _mm512_fmadd_ps(acc[i], m, a);
    for (int i = 1; i < ACCS; i++)
        acc[0] = _mm512_add_ps(acc[0], acc[i]);
    *sink += _mm512_reduce_add_ps(acc[0]);
    return 16;
}

__attribute__((target("avx2,fma"))) static int fma_avx2(float *sink)
{
    __m256 acc[ACCS], m = _mm256_set1_ps(0.999999f), a = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < ACCS; i++)
        acc[i] = _mm256_set1_ps((float)i);
    for (long it = 0; it < FMA_ITERS; it++)
#pragma GCC unroll 16
        for (int i = 0; i < ACCS; i++)
            acc[i] = _mm256_fmadd_ps(acc[i], m, a);
    float lanes[8];
    for (int i = 1; i < ACCS; i++)
        acc[0] = _mm256_add_ps(acc[0], acc[i]);
    _mm256_storeu_ps(lanes, acc[0]);
    for (int i = 0; i < 8; i++)
        *sink += lanes[i];
    return 8;
}
#endif

static int fma_plain(float *sink)
{
    float acc[ACCS], m = 0.999999f, a = 1e-7f;
    for (int i = 0; i < ACCS; i++)
        acc[i] = (float)i;
    for (long it = 0; it < FMA_ITERS; it++)
#pragma GCC unroll 16
        for (int i = 0; i < ACCS; i++)
            acc[i] = acc[i] * m + a;
    for (int i = 0; i < ACCS; i++)
        *sink += acc[i];
    return 1;
}

typedef struct fma_job {
    int (*fn)(float *sink);
    float sink[64]; /* slots a cache line apart; the values only keep the loops alive */
} fma_job;

static void fma_task(void *ctx, int64_t t)
{
    fma_job *j = ctx;
    j->fn(&j->sink[(t % 4) * 16]);
}

static double measure_gflops(mt_pool *pool, int threads)
{
    fma_job j = {fma_plain, {0}};
    int lanes = 1;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) {
        j.fn = fma_avx512;
        lanes = 16;
    } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        j.fn = fma_avx2;
        lanes = 8;
    }
#endif
    int64_t ntasks = 8 * (int64_t)threads;
    double best = 0;
    for (int rep = 0; rep < 4; rep++) {
        double t0 = now_s();
        if (pool)
            mt_pool_run(pool, fma_task, &j, ntasks);
        else
            for (int64_t t = 0; t < ntasks; t++)
                fma_task(&j, t);
        double s = now_s() - t0;
        double flops = 2.0 * ACCS * FMA_ITERS * (double)lanes * (double)ntasks;
        if (rep > 0 && flops / s > best) /* the first repetition warms the clocks up */
            best = flops / s;
    }
    return best / 1e9;
}

/* ---- memory bandwidth ------------------------------------------------------------------ */

#define TRIAD_N (8L << 20) /* 32 MiB per array, 96 MiB in all: beyond any L3 it runs on */

typedef struct triad_job {
    float *a, *b, *c;
    int64_t ntasks;
} triad_job;

static void triad_task(void *ctx, int64_t t)
{
    const triad_job *j = ctx;
    int64_t begin = TRIAD_N * t / j->ntasks, end = TRIAD_N * (t + 1) / j->ntasks;
    float *restrict a = j->a;
    const float *restrict b = j->b, *restrict c = j->c;
    for (int64_t i = begin; i < end; i++)
        a[i] = b[i] + 3.0f * c[i];
}

/* Every task sweeps its own slice `passes` times: slices small enough to stay in one core's L2
 * measure the cache, not memory. */
typedef struct sweep_job {
    float *a, *b, *c;
    int64_t n, ntasks;
    int passes;
    void (*fn)(float *a, const float *b, const float *c, int64_t begin, int64_t end);
} sweep_job;

/* The triad in cache has to be vectorised to reach the cache's bandwidth (the DRAM triad does
 * not need it): the build targets baseline x86-64, so the AVX2 form is written out. */
#if defined(__x86_64__)
__attribute__((target("avx2"))) static void sweep_avx2(float *a, const float *b, const float *c,
                                                       int64_t begin, int64_t end)
{
    __m256 three = _mm256_set1_ps(3.0f);
    int64_t i = begin;
    for (; i + 8 <= end; i += 8)
        _mm256_storeu_ps(a + i, _mm256_add_ps(_mm256_loadu_ps(b + i),
                                              _mm256_mul_ps(three, _mm256_loadu_ps(c + i))));
    for (; i < end; i++)
        a[i] = b[i] + 3.0f * c[i];
}
#endif

static void sweep_plain(float *a, const float *b, const float *c, int64_t begin, int64_t end)
{
    for (int64_t i = begin; i < end; i++)
        a[i] = b[i] + 3.0f * c[i];
}

static void sweep_task(void *ctx, int64_t t)
{
    const sweep_job *j = ctx;
    int64_t begin = j->n * t / j->ntasks, end = j->n * (t + 1) / j->ntasks;
    for (int p = 0; p < j->passes; p++) {
        j->fn(j->a, j->b, j->c, begin, end);
        __asm__ volatile("" ::: "memory"); /* each pass stores again */
    }
}

/* The triad in cache: three arrays of a third of half the L2 per thread. */
static mt_status measure_cache_gbps(mt_pool *pool, int threads, double *gbps, double *bytes,
                                    mt_diag *d)
{
    long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
    *gbps = *bytes = 0;
    if (l2 <= 0)
        return MT_OK;                 /* unknown: no cache level */
    int64_t per_thread = l2 / 2 / 12; /* elements: 12 bytes each over the three arrays */
    sweep_job j = {NULL, NULL, NULL, per_thread * threads, threads, 2000, sweep_plain};
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2"))
        j.fn = sweep_avx2;
#endif
    j.a = mt_calloc((size_t)j.n, sizeof(float));
    j.b = mt_calloc((size_t)j.n, sizeof(float));
    j.c = mt_calloc((size_t)j.n, sizeof(float));
    if (!j.a || !j.b || !j.c) {
        mt_free(j.a);
        mt_free(j.b);
        mt_free(j.c);
        return mt_diag_set(d, MT_ERR_NOMEM, "profile: out of memory for the cache test");
    }
    double best = 0;
    for (int rep = 0; rep < 4; rep++) {
        double t0 = now_s();
        if (pool)
            mt_pool_run(pool, sweep_task, &j, j.ntasks);
        else
            sweep_task(&j, 0);
        double s = now_s() - t0;
        double moved = 12.0 * (double)j.n * j.passes;
        if (rep > 0 && moved / s > best) /* the first fills the caches */
            best = moved / s;
    }
    mt_free(j.a);
    mt_free(j.b);
    mt_free(j.c);
    *gbps = best / 1e9;
    *bytes = (double)l2 * threads;
    return MT_OK;
}

static mt_status measure_gbps(mt_pool *pool, int threads, double *out, mt_diag *d)
{
    triad_job j = {mt_malloc(TRIAD_N * sizeof(float)), mt_malloc(TRIAD_N * sizeof(float)),
                   mt_malloc(TRIAD_N * sizeof(float)), 4 * (int64_t)threads};
    if (!j.a || !j.b || !j.c) {
        mt_free(j.a);
        mt_free(j.b);
        mt_free(j.c);
        return mt_diag_set(d, MT_ERR_NOMEM, "profile: out of memory for the bandwidth test");
    }
    for (int64_t i = 0; i < TRIAD_N; i++) { /* touches every page before the clock starts */
        j.a[i] = 0;
        j.b[i] = 1;
        j.c[i] = 2;
    }
    double best = 0;
    for (int rep = 0; rep < 6; rep++) {
        double t0 = now_s();
        if (pool)
            mt_pool_run(pool, triad_task, &j, j.ntasks);
        else
            for (int64_t t = 0; t < j.ntasks; t++)
                triad_task(&j, t);
        double s = now_s() - t0;
        double bytes = 12.0 * (double)TRIAD_N;
        if (bytes / s > best)
            best = bytes / s;
    }
    mt_free(j.a);
    mt_free(j.b);
    mt_free(j.c);
    *out = best / 1e9;
    return MT_OK;
}

/* ---- the cache ------------------------------------------------------------------------- */

static void cpu_model(char *buf, size_t size)
{
    snprintf(buf, size, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon) {
            snprintf(buf, size, "%s", colon + 2);
            buf[strcspn(buf, "\n")] = 0;
            break;
        }
    }
    fclose(f);
}

static void peak_key(int threads, mt_cache_key *k)
{
    char model[256], nthreads[32];
    cpu_model(model, sizeof model);
    snprintf(nthreads, sizeof nthreads, "%d threads", threads);
    const char *fields[] = {"mtc profile: machine peak, format 2", model, nthreads};
    mt_cache_env env;
    mt_cache_env_init(&env, fields, 3);
    mt_cache_key_make(&env, "peak", 4, k);
}

static int load_peak(const mt_cache_key *k, mtc_peak *p)
{
    void *obj = NULL;
    size_t len = 0;
    if (!mt_cache_load(k, &obj, &len))
        return 0;
    char text[256] = {0};
    memcpy(text, obj, len < sizeof text - 1 ? len : sizeof text - 1);
    mt_free(obj);
    return sscanf(text, "gflops %lf gbps %lf cache_gbps %lf cache_bytes %lf", &p->gflops, &p->gbps,
                  &p->cache_gbps, &p->cache_bytes) == 4 &&
           p->gflops > 0 && p->gbps > 0;
}

mt_status mtc_peak_get(int threads, int remeasure, mtc_peak *out, mt_diag *d)
{
    memset(out, 0, sizeof *out);
    out->threads = threads;
    mt_cache_key k;
    peak_key(threads, &k);
    if (!remeasure && load_peak(&k, out)) {
        out->cached = 1;
        return MT_OK;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (getloadavg(&out->load, 1) == 1 && cores > 0 && out->load > (double)cores)
        out->busy = 1;
    mt_pool *pool = threads > 1 ? mt_pool_new(threads) : NULL;
    out->gflops = measure_gflops(pool, threads);
    mt_status st = measure_gbps(pool, threads, &out->gbps, d);
    if (st == MT_OK)
        st = measure_cache_gbps(pool, threads, &out->cache_gbps, &out->cache_bytes, d);
    mt_pool_free(pool);
    if (st != MT_OK)
        return st;
    char text[256];
    int n = snprintf(text, sizeof text, "gflops %.3f gbps %.3f cache_gbps %.3f cache_bytes %.0f\n",
                     out->gflops, out->gbps, out->cache_gbps, out->cache_bytes);
    mt_cache_store(&k, text, (size_t)n); /* a cache that cannot be written costs a re-measure */
    return MT_OK;
}
