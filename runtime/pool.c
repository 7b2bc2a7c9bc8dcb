/* pool.c - the thread pool: pthreads, one job at a time, tasks handed out by an atomic
 * counter.
 *
 * A job is published under the lock with a new generation number; workers wake, join it
 * under the lock, take task numbers with an atomic increment until none are left, and the
 * last one out signals the caller (which has been taking tasks too). Once the caller has run
 * out of tasks it closes the job: a worker that wakes only then does not join, so the caller
 * waits only for the workers that are running tasks, never for one still being woken.
 *
 * Jobs come in bursts (the parallel kernels of one run, one after the other), and waking a
 * sleeping thread through a condition variable takes tens of microseconds, as long as a small
 * kernel's whole share. So a worker that finished a job, and a caller waiting for the last
 * worker, first spin for up to MT_POOL_SPIN_NS watching the generation (the busy count)
 * before they sleep.
 */
#include "runtime/pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "ir/alloc.h"

#define MT_POOL_STACK ((size_t)8 << 20) /* at least this much stack per worker */
#define MT_POOL_SPIN_NS 100000          /* how long an idle thread watches for work */

struct mt_pool {
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    pthread_mutex_t run_lock; /* one job at a time */
    pthread_t *threads;
    int nthreads; /* workers started */
    int stop;
    unsigned long generation;
    /* The current job. */
    void (*fn)(void *ctx, int64_t task);
    void *ctx;
    int64_t ntasks;
    int64_t next; /* next task to hand out (atomic) */
    int busy;     /* workers that joined the job and are still inside it */
    int closed;   /* every task is handed out: workers no longer join */
};

int mt_pool_default_threads(void)
{
    const char *env = getenv("MTC_NUM_THREADS");
    if (env && *env) {
        char *end;
        long n = strtol(env, &end, 10);
        if (*end == 0 && n > 0 && n <= 4096)
            return (int)n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 && n <= 4096 ? (int)n : 1;
}

static void take_tasks(mt_pool *p)
{
    for (;;) {
        int64_t t = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED);
        if (t >= p->ntasks)
            return;
        p->fn(p->ctx, t);
    }
}

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Spins while *gen is still `seen` (and the pool is not stopping), for at most
 * MT_POOL_SPIN_NS; the caller then checks again under the lock. */
static void spin_for_job(mt_pool *p, unsigned long seen)
{
    int64_t until = now_ns() + MT_POOL_SPIN_NS;
    for (int i = 1; __atomic_load_n(&p->generation, __ATOMIC_ACQUIRE) == seen &&
                    !__atomic_load_n(&p->stop, __ATOMIC_RELAXED);
         i++) {
        relax();
        if (i % 64 == 0 && now_ns() > until)
            return;
    }
}

/* Spins while workers are still inside the job, for at most MT_POOL_SPIN_NS. */
static void spin_for_workers(mt_pool *p)
{
    int64_t until = now_ns() + MT_POOL_SPIN_NS;
    for (int i = 1; __atomic_load_n(&p->busy, __ATOMIC_ACQUIRE) > 0; i++) {
        relax();
        if (i % 64 == 0 && now_ns() > until)
            return;
    }
}

static void *worker(void *arg)
{
    mt_pool *p = arg;
    unsigned long seen = 0;
    for (;;) {
        spin_for_job(p, seen);
        pthread_mutex_lock(&p->lock);
        while (!p->stop && p->generation == seen)
            pthread_cond_wait(&p->wake, &p->lock);
        if (p->stop)
            break;
        seen = p->generation;
        if (p->closed) {
            pthread_mutex_unlock(&p->lock);
            continue; /* the caller did without us */
        }
        __atomic_add_fetch(&p->busy, 1, __ATOMIC_ACQ_REL);
        pthread_mutex_unlock(&p->lock);
        take_tasks(p);
        pthread_mutex_lock(&p->lock);
        if (__atomic_sub_fetch(&p->busy, 1, __ATOMIC_ACQ_REL) == 0)
            pthread_cond_signal(&p->done);
        pthread_mutex_unlock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

mt_pool *mt_pool_new(int n)
{
    if (n < 1)
        n = mt_pool_default_threads();
    mt_pool *p = mt_calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->threads = mt_calloc((size_t)n, sizeof *p->threads);
    if (!p->threads) {
        mt_free(p);
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_mutex_init(&p->run_lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    /* Workers run GEMM shares, which keep their packed panels (up to about 1 MiB,
     * codegen/llvm/gemm.h) on the stack: make sure a small default leaves room for them. */
    pthread_attr_t attr;
    int have_attr = pthread_attr_init(&attr) == 0;
    size_t stack = 0;
    if (have_attr && pthread_attr_getstacksize(&attr, &stack) == 0 && stack < MT_POOL_STACK)
        pthread_attr_setstacksize(&attr, MT_POOL_STACK);
    for (int i = 0; i < n - 1; i++) {
        if (pthread_create(&p->threads[p->nthreads], have_attr ? &attr : NULL, worker, p) != 0)
            break;
        p->nthreads++;
    }
    if (have_attr)
        pthread_attr_destroy(&attr);
    return p;
}

void mt_pool_free(mt_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    __atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->run_lock);
    mt_free(p->threads);
    mt_free(p);
}

int mt_pool_size(const mt_pool *p) { return p->nthreads + 1; }

void mt_pool_run(mt_pool *p, void (*fn)(void *ctx, int64_t task), void *ctx, int64_t ntasks)
{
    if (ntasks <= 0)
        return;
    if (p->nthreads == 0 || ntasks == 1) {
        for (int64_t t = 0; t < ntasks; t++)
            fn(ctx, t);
        return;
    }
    pthread_mutex_lock(&p->run_lock);
    pthread_mutex_lock(&p->lock);
    p->fn = fn;
    p->ctx = ctx;
    p->ntasks = ntasks;
    p->next = 0;
    p->closed = 0;
    /* Spinning workers see the job by its generation: publish it last. */
    __atomic_store_n(&p->generation, p->generation + 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    take_tasks(p);
    pthread_mutex_lock(&p->lock);
    p->closed = 1;
    pthread_mutex_unlock(&p->lock);
    spin_for_workers(p);
    pthread_mutex_lock(&p->lock);
    while (__atomic_load_n(&p->busy, __ATOMIC_ACQUIRE) > 0)
        pthread_cond_wait(&p->done, &p->lock);
    pthread_mutex_unlock(&p->lock);
    pthread_mutex_unlock(&p->run_lock);
}
