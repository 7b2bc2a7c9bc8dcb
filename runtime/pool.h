/* pool.h - a fixed set of worker threads that share the iterations of parallel kernels.
 *
 * The calling thread works too, so a pool of n threads starts n - 1 workers. How iterations are
 * split never changes results: kernels split only loops whose iterations are independent (see
 * ir/kernel.h), so 1 and N threads compute the same bits.
 */
#ifndef MT_RUNTIME_POOL_H
#define MT_RUNTIME_POOL_H

#include <stdint.h>

typedef struct mt_pool mt_pool;

/* The thread count to use by default: MTC_NUM_THREADS when it is a positive integer, else the
 * number of online CPUs. */
int mt_pool_default_threads(void);

/* A pool of n threads in all (n < 1 means mt_pool_default_threads()). NULL when out of
 * memory. If the system refuses to start a thread the pool runs with fewer. */
mt_pool *mt_pool_new(int n);
void mt_pool_free(mt_pool *p);
/* Threads that work on a job, the caller's included. */
int mt_pool_size(const mt_pool *p);

/* Calls fn(ctx, t) once for every t in [0, ntasks), spread over the threads, and returns when
 * all calls have returned. Jobs from several threads at once run one after the other. */
void mt_pool_run(mt_pool *p, void (*fn)(void *ctx, int64_t task), void *ctx, int64_t ntasks);

#endif
