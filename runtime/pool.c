/* pool.c - the thread pool: pthreads, one job at a time, tasks handed out by an atomic
 * counter.
 *
 * A job is published under the lock with a new generation number; sleeping workers wake, take
 * task numbers with an atomic increment until none are left, and the last one out signals
 * the caller (which has been taking tasks too).
 */
#include "runtime/pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "ir/alloc.h"

#define MT_POOL_STACK ((size_t)8 << 20) /* at least this much stack per worker */

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
    int busy;     /* workers still inside the job */
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

static void *worker(void *arg)
{
    mt_pool *p = arg;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stop && p->generation == seen)
            pthread_cond_wait(&p->wake, &p->lock);
        if (p->stop)
            break;
        seen = p->generation;
        pthread_mutex_unlock(&p->lock);
        take_tasks(p);
        pthread_mutex_lock(&p->lock);
        if (--p->busy == 0)
            pthread_cond_signal(&p->done);
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
    p->stop = 1;
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
    p->busy = p->nthreads;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    take_tasks(p);
    pthread_mutex_lock(&p->lock);
    while (p->busy > 0)
        pthread_cond_wait(&p->done, &p->lock);
    pthread_mutex_unlock(&p->lock);
    pthread_mutex_unlock(&p->run_lock);
}
