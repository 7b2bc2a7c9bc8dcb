/* aotrt.c - the runtime inside every compiled model (aotrt.h): runs the kernels of a baked-in
 * program over the caller's buffers, as runtime/exec.c does for the JIT.
 *
 * Not part of libmtc: CMake compiles this file on its own, for the baseline of the host's
 * architecture and with hidden visibility, and codegen/aot.c links the object into each .so it
 * makes. So it may include nothing of mtc but aotrt.h, and it must need nothing at run time
 * but libc and pthreads.
 *
 * Scratch: a run needs a table of buffer pointers and the arena of temporaries. Small programs
 * (the table and arena within SMALL_SCRATCH bytes: batch-1 inference) keep them on the
 * caller's stack; larger ones in a block cached per thread under a pthread key, grown when a
 * run needs more, freed when the thread exits. Either way concurrent runs share nothing
 * mutable, and the fast path takes no lock.
 *
 * Threads: kernels with enough work (the thresholds of the CPU target description, copied
 * into the descriptor) are split among a pool of worker threads, started at the first such
 * run. One run uses the pool at a time; a run that finds it busy runs its kernels whole on its
 * own thread, which gives the same bits (kernel IR: no split changes a result). A program
 * whose kernels are all small never starts a thread.
 */
#include "codegen/aotrt/aotrt.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SMALL_SCRATCH 16384
#define MAX_THREADS 64

static int64_t round_up(int64_t x) { return (x + MTRT_ALIGN - 1) / MTRT_ALIGN * MTRT_ALIGN; }

/* ---- the worker pool ------------------------------------------------------------------- */

typedef struct job {
    mtrt_kernel_fn fn;
    void *const *bufs;
    int64_t trip, ntasks, quantum;
} job;

static struct pool {
    pthread_mutex_t busy; /* held by the one run that uses the pool */
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    pthread_t threads[MAX_THREADS];
    int nthreads; /* workers started (the caller is one more) */
    int quit;
    int64_t generation; /* bumped for every job */
    const job *job;
    int64_t next;    /* next task to hand out */
    int64_t pending; /* tasks not finished */
} pool = {.busy = PTHREAD_MUTEX_INITIALIZER,
          .lock = PTHREAD_MUTEX_INITIALIZER,
          .wake = PTHREAD_COND_INITIALIZER,
          .done = PTHREAD_COND_INITIALIZER};
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

/* Where share t of n starts: even shares, rounded to multiples of q for matmul kernels. */
static int64_t share_start(const job *j, int64_t t)
{
    if (t >= j->ntasks)
        return j->trip;
    int64_t at = j->trip * t / j->ntasks;
    if (j->quantum > 1)
        at = (at + j->quantum / 2) / j->quantum * j->quantum;
    return at < j->trip ? at : j->trip;
}

/* Runs tasks of the current job until none is left; called with pool.lock held. */
static void work(void)
{
    while (pool.job && pool.next < pool.job->ntasks) {
        const job *j = pool.job;
        int64_t t = pool.next++;
        pthread_mutex_unlock(&pool.lock);
        int64_t begin = share_start(j, t), end = share_start(j, t + 1);
        if (begin < end)
            j->fn(j->bufs, begin, end);
        pthread_mutex_lock(&pool.lock);
        if (--pool.pending == 0)
            pthread_cond_broadcast(&pool.done);
    }
}

static void *worker(void *arg)
{
    (void)arg;
    int64_t seen = 0;
    pthread_mutex_lock(&pool.lock);
    for (;;) {
        while (!pool.quit && pool.generation == seen)
            pthread_cond_wait(&pool.wake, &pool.lock);
        if (pool.quit)
            break;
        seen = pool.generation;
        work();
    }
    pthread_mutex_unlock(&pool.lock);
    return NULL;
}

static int env_threads(void)
{
    const char *s = getenv("MTC_NUM_THREADS");
    long n = s && *s ? strtol(s, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (int)n;
}

static void start_pool(void)
{
    int want = env_threads() - 1;
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0)
        return;
    /* The GEMM keeps its packed panels (up to about 1 MiB) on the stack. */
    pthread_attr_setstacksize(&attr, (size_t)16 << 20);
    for (int i = 0; i < want; i++) {
        if (pthread_create(&pool.threads[i], &attr, worker, NULL) != 0)
            break;
        pool.nthreads++;
    }
    pthread_attr_destroy(&attr);
}

/* The workers run code of this .so: they must be gone before dlclose unmaps it. */
__attribute__((destructor)) static void stop_pool(void)
{
    pthread_mutex_lock(&pool.lock);
    pool.quit = 1;
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    for (int i = 0; i < pool.nthreads; i++)
        pthread_join(pool.threads[i], NULL);
    pool.nthreads = 0;
}

/* Runs job j on the pool and the calling thread. */
static void run_job(const job *j)
{
    pthread_mutex_lock(&pool.lock);
    pool.job = j;
    pool.next = 0;
    pool.pending = j->ntasks;
    pool.generation++;
    pthread_cond_broadcast(&pool.wake);
    work();
    while (pool.pending > 0)
        pthread_cond_wait(&pool.done, &pool.lock);
    pool.job = NULL;
    pthread_mutex_unlock(&pool.lock);
}

/* Whether any kernel of p is worth sharing (checked per run, before taking the pool). */
static int wants_pool(const mtrt_prog *p)
{
    if (!p->parallel)
        return 0;
    for (int64_t k = 0; k < p->nkernels; k++) {
        const mtrt_kernel *kn = &p->kernels[k];
        if (kn->trip > 1 && (kn->quantum > 0 ? kn->trip * kn->row_macs >= p->min_gemm_macs
                                             : kn->work >= p->min_parallel_work))
            return 1;
    }
    return 0;
}

static void run_kernel(const mtrt_prog *p, const mtrt_kernel *k, void *const *bufs, int threads)
{
    int big = k->quantum > 0 ? k->trip * k->row_macs >= p->min_gemm_macs
                             : k->work >= p->min_parallel_work;
    if (k->trip <= 1 || threads <= 1 || !big) {
        k->fn(bufs, 0, k->trip > 0 ? k->trip : 1);
        return;
    }
    job j = {k->fn, bufs, k->trip, 0, k->quantum};
    if (k->quantum > 0) { /* one share per thread: each share packs all of B */
        int64_t blocks = (k->trip + k->quantum - 1) / k->quantum;
        j.ntasks = threads < blocks ? threads : blocks;
    } else { /* a few shares per thread even out uneven progress */
        j.ntasks = 4 * (int64_t)threads;
        if (j.ntasks > k->trip)
            j.ntasks = k->trip;
    }
    if (j.ntasks <= 1)
        k->fn(bufs, 0, k->trip);
    else
        run_job(&j);
}

/* ---- one run --------------------------------------------------------------------------- */

/* Binds every buffer, runs the kernels, applies the updates and copies outputs that share a
 * buffer. `table` has room for p->nbufs pointers, `arena` for p->arena_bytes, `state` is the
 * state block of a step graph (else NULL). */
/* NAME_set_allreduce's hook: one per shared object, like MPI's world communicator. Set before
 * runs start; read by every run. */
static mtrt_allreduce_fn allreduce_hook;
static void *allreduce_ctx;

void mtrt_set_allreduce(mtrt_allreduce_fn fn, void *ctx)
{
    allreduce_ctx = ctx;
    allreduce_hook = fn;
}

/* Runs the program; 0, or 3 when the allreduce hook failed (the run stops there). */
static int execute(const mtrt_prog *p, void **table, unsigned char *arena, unsigned char *state,
                   const void *const *inputs, void *const *outputs)
{
    for (int64_t b = 0; b < p->nbufs; b++) {
        const mtrt_buf *u = &p->bufs[b];
        switch (u->kind) {
        case MTRT_INPUT: table[b] = (void *)inputs[u->index]; break;
        case MTRT_TEMP: table[b] = arena + u->index; break;
        case MTRT_CONST: table[b] = (void *)u->data; break;
        case MTRT_STATE: table[b] = state + u->index; break;
        default: table[b] = NULL; break;
        }
    }
    /* The first output naming a buffer is where the kernels write it. */
    for (int64_t i = p->noutputs - 1; i >= 0; i--)
        table[p->outputs[i]] = outputs[i];
    int threads = 1;
    int pooled = wants_pool(p) && pthread_mutex_trylock(&pool.busy) == 0;
    if (pooled) {
        pthread_once(&pool_once, start_pool);
        threads = pool.nthreads + 1;
    }
    int failed = 0;
    for (int64_t k = 0; k < p->nkernels && !failed; k++) {
        const mtrt_kernel *kn = &p->kernels[k];
        run_kernel(p, kn, table, threads);
        /* The local value is in the buffer: the caller's ranks exchange it. */
        mtrt_allreduce_fn hook = allreduce_hook;
        if (kn->allreduce && hook)
            failed = hook(table[kn->allreduce_buf], (size_t)kn->allreduce_count,
                          (int)kn->allreduce_dtype, (int)kn->allreduce - 1, allreduce_ctx) != 0;
    }
    if (pooled)
        pthread_mutex_unlock(&pool.busy);
    if (failed)
        return 3;
    /* Every kernel has read the old values: the updates not stored in place land now. */
    for (int64_t i = 0; i < p->nupdates; i++) {
        int64_t t = p->updates[2 * i], v = p->updates[2 * i + 1];
        if (table[t] != table[v])
            memcpy(table[t], table[v], (size_t)p->bufs[t].bytes);
    }
    for (int64_t i = 0; i < p->noutputs; i++)
        if (outputs[i] != table[p->outputs[i]])
            memcpy(outputs[i], table[p->outputs[i]], (size_t)p->bufs[p->outputs[i]].bytes);
    return 0;
}

/* NULL arrays, or NULL elements, fail the call (SPEC section 5); so does a buffer not aligned
 * to its element, which the kernels would read with loads that assume it. */
static int bad_args(const mtrt_prog *p, const void *const *inputs, void *const *outputs)
{
    if (!outputs || (p->ninputs > 0 && !inputs))
        return 1;
    for (int64_t i = 0; i < p->ninputs; i++)
        if (!inputs[i])
            return 1;
    for (int64_t i = 0; i < p->noutputs; i++)
        if (!outputs[i])
            return 1;
    for (int64_t b = 0; b < p->nbufs; b++) {
        const mtrt_buf *u = &p->bufs[b];
        const void *at = u->kind == MTRT_INPUT    ? inputs[u->index]
                         : u->kind == MTRT_OUTPUT ? outputs[u->index]
                                                  : NULL;
        if (at && u->elem > 1 && (uintptr_t)at % (uintptr_t)u->elem != 0)
            return 1;
    }
    return 0;
}

/* ---- per-thread scratch ---------------------------------------------------------------- */

typedef struct scratch {
    size_t cap;
    void *mem; /* MTRT_ALIGN-aligned */
} scratch;

static pthread_key_t scratch_key;
static int scratch_key_made;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_free(void *v)
{
    scratch *s = v;
    if (s)
        free(s->mem);
    free(s);
}

static void make_key(void)
{
    scratch_key_made = pthread_key_create(&scratch_key, scratch_free) == 0;
}

/* After dlclose the key's destructor would point into unmapped code: delete the key first.
 * (Blocks of threads other than the unloading one are then not freed at their exit.) */
__attribute__((destructor)) static void delete_key(void)
{
    if (!scratch_key_made)
        return;
    scratch_free(pthread_getspecific(scratch_key));
    pthread_key_delete(scratch_key);
    scratch_key_made = 0;
}

/* This thread's scratch of at least `bytes`, or NULL when out of memory. */
static void *thread_scratch(size_t bytes)
{
    pthread_once(&scratch_once, make_key);
    if (!scratch_key_made)
        return NULL;
    scratch *s = pthread_getspecific(scratch_key);
    if (s && s->cap >= bytes)
        return s->mem;
    if (!s) {
        if (!(s = calloc(1, sizeof *s)))
            return NULL;
        if (pthread_setspecific(scratch_key, s) != 0) {
            free(s);
            return NULL;
        }
    }
    void *mem = NULL;
    if (posix_memalign(&mem, MTRT_ALIGN, bytes) != 0)
        return NULL;
    free(s->mem);
    s->mem = mem;
    s->cap = bytes;
    return mem;
}

static int64_t table_bytes(const mtrt_prog *p)
{
    return round_up(p->nbufs * (int64_t)sizeof(void *));
}

int mtrt_run(const mtrt_prog *p, const void *const *inputs, void *const *outputs)
{
    if (bad_args(p, inputs, outputs))
        return 1;
    int64_t need = table_bytes(p) + round_up(p->arena_bytes);
    unsigned char small[SMALL_SCRATCH] __attribute__((aligned(MTRT_ALIGN)));
    unsigned char *mem = need <= SMALL_SCRATCH ? small : thread_scratch((size_t)need);
    if (!mem)
        return 2;
    return execute(p, (void **)mem, mem + table_bytes(p), NULL, inputs, outputs);
}

/* ---- step graphs ----------------------------------------------------------------------- */

/* One block: this header, the buffer table, the arena, the state. */
struct mtrt_state {
    const mtrt_prog *p;
    void **table;
    unsigned char *arena, *state;
};

mtrt_state *mtrt_state_new(const mtrt_prog *p)
{
    int64_t head = round_up((int64_t)sizeof(mtrt_state));
    int64_t bytes = head + table_bytes(p) + round_up(p->arena_bytes) + round_up(p->state_bytes);
    void *mem = NULL;
    if (posix_memalign(&mem, MTRT_ALIGN, (size_t)bytes) != 0)
        return NULL;
    mtrt_state *s = mem;
    s->p = p;
    s->table = (void **)((unsigned char *)mem + head);
    s->arena = (unsigned char *)s->table + table_bytes(p);
    s->state = s->arena + round_up(p->arena_bytes);
    memset(s->state, 0, (size_t)p->state_bytes);
    for (int64_t i = 0; i < p->nnamed; i++)
        if (p->named[i].init)
            memcpy(s->state + p->named[i].offset, p->named[i].init, (size_t)p->named[i].bytes);
    return s;
}

int mtrt_step(const mtrt_prog *p, mtrt_state *s, const void *const *inputs, void *const *outputs)
{
    if (!s || s->p != p || bad_args(p, inputs, outputs))
        return 1;
    return execute(p, s->table, s->arena, s->state, inputs, outputs);
}

static const mtrt_named *find(const mtrt_prog *p, const char *name)
{
    for (int64_t i = 0; name && i < p->nnamed; i++)
        if (strcmp(p->named[i].name, name) == 0)
            return &p->named[i];
    return NULL;
}

int mtrt_state_get(const mtrt_prog *p, const mtrt_state *s, const char *name, void *dst,
                   size_t bytes)
{
    const mtrt_named *n = s && s->p == p && dst ? find(p, name) : NULL;
    if (!n || (size_t)n->bytes != bytes)
        return 1;
    memcpy(dst, s->state + n->offset, bytes);
    return 0;
}

int mtrt_state_set(const mtrt_prog *p, mtrt_state *s, const char *name, const void *src,
                   size_t bytes)
{
    const mtrt_named *n = s && s->p == p && src ? find(p, name) : NULL;
    if (!n || (size_t)n->bytes != bytes)
        return 1;
    memcpy(s->state + n->offset, src, bytes);
    return 0;
}

void mtrt_state_free(mtrt_state *s) { free(s); }
