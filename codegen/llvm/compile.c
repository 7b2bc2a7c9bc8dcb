/* compile.c - kernel program -> units -> (cache | optimise + generate code) -> JIT (compile.h).
 *
 * A unit is a view of the program holding a run of consecutive kernels: emit.c sees an
 * ordinary program, so a unit's module is exactly what the whole program's module holds for
 * those kernels. Every unit is keyed (from its kernel IR) and looked up on the calling thread,
 * which is cheap; the units the cache lacks are then emitted, optimised and compiled on a
 * pool of threads. Each unit has its own LLVM context, which is what makes that safe.
 *
 * The GEMM functions that the matmul kernels call (gemm.h: the pieces, shared by every product
 * of a dtype and transpose) are units of their own, one per piece, keyed by the piece's name
 * alone: a piece is compiled once, and every later program with a matmul finds it in the
 * cache. Kernel units only declare them; the JIT links the calls.
 *
 * A cached object that passes validation but does not link (a bug, a hash collision) must not
 * fail the compile: the program's cached entries are then deleted and it is compiled again
 * without reading the cache.
 */
#include "codegen/llvm/compile.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codegen/llvm/target.h"
#include "runtime/cache.h"
#include "ir/alloc.h"
#include "runtime/pool.h"

#define MAX_UNITS (MT_COMPILE_UNITS + MT_LLVM_GEMM_MAX_PIECES + 1) /* + the entry */

typedef struct unit {
    mt_kprog view; /* the program, with `kernels` narrowed to this unit's */
    int is_piece;  /* a GEMM piece, not kernels */
    int is_entry;  /* the program's entry (entry.c), not kernels */
    mt_llvm_gemm_piece piece;
    mt_cache_key key; /* valid when `keyed` */
    int keyed, hit;   /* hit: obj came from the cache */
    int64_t cost;     /* estimated (split) */
    LLVMMemoryBufferRef obj;
    mt_diag diag; /* this unit's error: units fail independently, on other threads */
    double ms[3]; /* emit, optimise, generate code (MTC_DEBUG) */
} unit;

typedef struct job {
    unit *units;
    const char *prefix;
    const char *entry_text; /* mt_llvm_entry_describe, when there is an entry unit */
    int read_cache;         /* 0 on the retry after a cached object failed to link */
    /* Idle target machines: a unit takes one (or makes one) and gives it back, so each
     * thread reuses one and no two threads share one. */
    pthread_mutex_t lock;
    LLVMTargetMachineRef idle[MAX_UNITS];
    int nidle;
    int todo[MAX_UNITS]; /* the units the cache did not have */
    int ntodo;
} job;

static LLVMTargetMachineRef take_machine(job *jb, mt_diag *d)
{
    LLVMTargetMachineRef tm = NULL;
    pthread_mutex_lock(&jb->lock);
    if (jb->nidle > 0)
        tm = jb->idle[--jb->nidle];
    pthread_mutex_unlock(&jb->lock);
    if (!tm && mt_llvm_host_machine(&tm, d) != MT_OK)
        tm = NULL;
    return tm;
}

/* There are never more machines than units: each unit makes at most one. */
static void give_back(job *jb, LLVMTargetMachineRef tm)
{
    pthread_mutex_lock(&jb->lock);
    jb->idle[jb->nidle++] = tm;
    pthread_mutex_unlock(&jb->lock);
}

/* Keys the unit and looks it up in the cache. Runs on the calling thread: when everything
 * is cached, as on every compile after the first, no thread is started and LLVM does
 * nothing but link. */
static void look_up(const job *jb, unit *u)
{
    if (!mt_cache_enabled())
        return;
    if (u->is_entry) {
        mt_cache_key_make(mt_llvm_cache_env(), jb->entry_text, strlen(jb->entry_text), &u->key);
        u->keyed = 1;
    } else if (u->is_piece) {
        char name[MT_LLVM_GEMM_NAME];
        mt_llvm_gemm_piece_name(&u->piece, name);
        mt_cache_key_gemm(mt_llvm_cache_env(), name, &u->key);
        u->keyed = 1;
    } else {
        u->keyed = mt_cache_key_program(mt_llvm_cache_env(), &u->view, jb->prefix,
                                        &u->key); /* 0: out of memory */
    }
    void *bytes;
    size_t len;
    if (u->keyed && jb->read_cache && mt_cache_load(&u->key, &bytes, &len)) {
        u->obj = LLVMCreateMemoryBufferWithMemoryRangeCopy(bytes, len, u->key.hex);
        mt_free(bytes);
        u->hit = u->obj != NULL;
    }
}

/* Emits a unit the cache did not have, optimises it, generates its object and stores it. */
static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static void build(void *ctx, int64_t t)
{
    job *jb = ctx;
    unit *u = &jb->units[jb->todo[t]];
    mt_llvm_module *m = NULL;
    double t0 = now_ms();
    mt_status st = u->is_entry   ? mt_llvm_emit_entry(&u->view, jb->prefix, &m, &u->diag)
                   : u->is_piece ? mt_llvm_emit_gemm_piece(&u->piece, &m, &u->diag)
                                 : mt_llvm_emit_unit(&u->view, jb->prefix, 0, &m, &u->diag);
    if (st != MT_OK)
        return;
    double t1 = now_ms(), t2 = t1, t3 = t1;
    LLVMTargetMachineRef tm = take_machine(jb, &u->diag);
    if (tm && mt_llvm_optimize_with(m, tm, &u->diag) == MT_OK &&
        ((t2 = now_ms()), mt_llvm_emit_object_with(m, tm, &u->obj, &u->diag) == MT_OK) &&
        ((t3 = now_ms()), u->keyed))
        mt_cache_store(&u->key, LLVMGetBufferStart(u->obj), LLVMGetBufferSize(u->obj));
    u->ms[0] = t1 - t0;
    u->ms[1] = t2 - t1;
    u->ms[2] = t3 - t2;
    if (tm)
        give_back(jb, tm);
    mt_llvm_module_free(m);
}

/* LLVM's time for a kernel's statements, in units of a plain loop nest (a few ms on the
 * development machines). A GEMM statement is only a call: its code is in the pieces. */
static int64_t statements_cost(const mt_kstmt *s)
{
    int64_t c = 0;
    for (; s; s = s->next)
        c += s->kind == MT_KS_FOR ? statements_cost(s->body) : 0;
    return c;
}

int64_t mt_llvm_gemm_piece_cost(const mt_llvm_gemm_piece *p)
{
    switch (p->part) {
    case MT_LLVM_GEMM_KERNEL: return 2;
    case MT_LLVM_GEMM_PACK_A: return p->trans_a ? 1 : 3;
    case MT_LLVM_GEMM_PACK_B: return p->trans_b ? 4 : 1;
    case MT_LLVM_GEMM_DRIVER: return 4; /* with its few-rows function (gemm_small.c) */
    }
    return 1;
}

/* How many runs of consecutive kernels, none costing more than `limit`, hold them all. */
static int runs_needed(const int64_t *cost, int n, int64_t limit)
{
    int runs = 1;
    int64_t sum = 0;
    for (int i = 0; i < n; i++) {
        if (sum > 0 && sum + cost[i] > limit) {
            runs++;
            sum = 0;
        }
        sum += cost[i];
    }
    return runs;
}

/* How many units the kernels may take. Units exist for the threads and for the cache's
 * granularity; when the build runs on one thread and the cache is off, neither applies, and
 * every module costs LLVM a fixed amount (its pass pipelines built, its object written: about
 * 4 M instructions), so the kernels go into one. */
static int max_units(void)
{
    return mt_pool_default_threads() == 1 && !mt_cache_enabled() ? 1 : MT_COMPILE_UNITS;
}

/* Runs of consecutive kernels, at most max_units(), whose largest cost is as small as it can
 * be (binary search on that cost), so that the threads finish together. Returns the number of
 * units, 0 when out of memory. */
static int split(const mt_kprog *p, unit *units)
{
    int most = max_units();
    int n = p->nkernels;
    int64_t *cost = mt_calloc((size_t)n + 1, sizeof *cost), lo = 1, hi = 0;
    if (!cost)
        return 0;
    for (int i = 0; i < n; i++) {
        cost[i] = 1 + statements_cost(p->kernels[i].body);
        lo = cost[i] > lo ? cost[i] : lo;
        hi += cost[i];
    }
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (runs_needed(cost, n, mid) <= most)
            hi = mid;
        else
            lo = mid + 1;
    }
    int nunits = 0;
    for (int i = 0; i < n; i++) {
        unit *u = nunits ? &units[nunits - 1] : NULL;
        if (!u || u->cost + cost[i] > lo) {
            u = &units[nunits++];
            u->view = *p;
            u->view.kernels = p->kernels + i;
            u->view.nkernels = 0;
            mt_diag_init(&u->diag);
        }
        u->view.nkernels++;
        u->cost += cost[i];
    }
    mt_free(cost);
    return nunits;
}

/* Looks every unit up, then builds the missing ones on up to MTC_NUM_THREADS threads. */
static void run_units(job *jb, int n)
{
    for (int i = 0; i < n; i++) {
        look_up(jb, &jb->units[i]);
        if (jb->units[i].hit)
            continue;
        /* Costliest first (the pool hands tasks out in order): the last to start is small. */
        int t = jb->ntodo++;
        for (; t > 0 && jb->units[jb->todo[t - 1]].cost < jb->units[i].cost; t--)
            jb->todo[t] = jb->todo[t - 1];
        jb->todo[t] = i;
    }
    int threads = mt_pool_default_threads();
    threads = threads < jb->ntodo ? threads : jb->ntodo;
    mt_pool *pool = threads > 1 ? mt_pool_new(threads) : NULL;
    if (pool)
        mt_pool_run(pool, build, jb, jb->ntodo);
    else /* one thread, or no memory for a pool */
        for (int t = 0; t < jb->ntodo; t++)
            build(jb, t);
    mt_pool_free(pool);
    const char *env = getenv("MTC_DEBUG");
    if (env && *env && strcmp(env, "0") != 0)
        for (int i = 0; i < n; i++) {
            const unit *u = &jb->units[i];
            char what[MT_LLVM_GEMM_NAME + 64];
            if (u->is_entry)
                snprintf(what, sizeof what, "entry");
            else if (u->is_piece)
                mt_llvm_gemm_piece_name(&u->piece, what);
            else
                snprintf(what, sizeof what, "%s..%s", u->view.kernels[0].name,
                         u->view.kernels[u->view.nkernels - 1].name);
            fprintf(stderr,
                    "mtc: compile: unit %d (%s, cost %lld): %s emit %.1f ms, opt %.1f ms, "
                    "codegen %.1f ms\n",
                    i, what, (long long)u->cost, u->hit ? "cached" : "built", u->ms[0], u->ms[1],
                    u->ms[2]);
        }
}

/* Moves the error in `from` (if any) to `to`, its backend log included. */
static mt_status pass_on(mt_diag *from, mt_diag *to)
{
    if (from->status == MT_OK)
        return MT_OK;
    int first = to && to->status == MT_OK;
    mt_status st = mt_diag_set(to, from->status, "%s", from->msg);
    if (first && !to->log) {
        to->log = from->log;
        from->log = NULL;
    }
    return st;
}

/* Links every unit's object and finds each kernel. */
static mt_status link(const mt_kprog *p, const char *prefix, unit *units, int n, mt_llvm_jit **jit,
                      mt_kernel_fn **fns, mt_entry_fn *entry, mt_diag *d)
{
    mt_status st = mt_llvm_jit_create(jit, d);
    for (int i = 0; i < n; i++) {
        LLVMMemoryBufferRef obj = units[i].obj;
        units[i].obj = NULL;
        if (st == MT_OK)
            st = mt_llvm_jit_add_object(*jit, obj, d); /* takes obj */
        else
            LLVMDisposeMemoryBuffer(obj);
    }
    if (st == MT_OK && !(*fns = mt_calloc((size_t)p->nkernels + 1, sizeof **fns)))
        st = mt_diag_set(d, MT_ERR_NOMEM, "llvm: out of memory");
    for (int k = 0; k < p->nkernels && st == MT_OK; k++) {
        char name[256];
        snprintf(name, sizeof name, "%s%s", prefix, p->kernels[k].name);
        if (!((*fns)[k] = mt_llvm_jit_lookup(*jit, name, d)))
            st = d ? d->status : MT_ERR_BACKEND;
    }
    if (st == MT_OK && entry) {
        char name[256];
        snprintf(name, sizeof name, "%sentry", prefix);
        mt_kernel_fn fn = mt_llvm_jit_lookup(*jit, name, d);
        if (!fn)
            st = d ? d->status : MT_ERR_BACKEND;
        /* The JIT hands out every symbol as a kernel; the entry has its own type. */
        _Static_assert(sizeof fn == sizeof *entry, "function pointers have one size");
        memcpy(entry, &fn, sizeof fn);
    }
    return st;
}

/* One attempt; on failure *jit and *fns are NULL. *bad_cache is set when the failure was in
 * linking a program some of whose objects came from the cache (those entries are then
 * deleted). */
static mt_status compile(const mt_kprog *p, const char *prefix, int read_cache, mt_llvm_jit **jit,
                         mt_kernel_fn **fns, mt_entry_fn *entry, int *bad_cache, mt_diag *d)
{
    *bad_cache = 0;
    unit *units = mt_calloc(MAX_UNITS, sizeof *units);
    if (!units)
        return mt_diag_set(d, MT_ERR_NOMEM, "llvm: out of memory");
    int n = split(p, units);
    if (n == 0 && p->nkernels > 0) {
        mt_free(units);
        return mt_diag_set(d, MT_ERR_NOMEM, "llvm: out of memory");
    }
    mt_llvm_gemm_piece pieces[MT_LLVM_GEMM_MAX_PIECES];
    int npieces;
    mt_status pst = mt_llvm_gemm_pieces_of(p, pieces, &npieces, d);
    if (pst != MT_OK) {
        mt_free(units);
        return pst;
    }
    for (int i = 0; i < npieces; i++, n++) {
        units[n].is_piece = 1;
        units[n].piece = pieces[i];
        units[n].view = *p;
        units[n].view.nkernels = 0;
        units[n].cost = mt_llvm_gemm_piece_cost(&pieces[i]);
        mt_diag_init(&units[n].diag);
    }
    char *entry_text = NULL;
    if (entry) {
        entry_text = mt_llvm_entry_describe(p, prefix);
        if (!entry_text) {
            mt_free(units);
            return mt_diag_set(d, MT_ERR_NOMEM, "llvm: out of memory");
        }
        units[n].is_entry = 1;
        units[n].view = *p;
        units[n].cost = 1;
        mt_diag_init(&units[n].diag);
        n++;
    }
    job jb = {.units = units, .prefix = prefix, .entry_text = entry_text, .read_cache = read_cache};
    pthread_mutex_init(&jb.lock, NULL);
    run_units(&jb, n);
    for (int i = 0; i < jb.nidle; i++)
        LLVMDisposeTargetMachine(jb.idle[i]);
    pthread_mutex_destroy(&jb.lock);
    mt_status st = MT_OK;
    /* The first failing unit in kernel order, so that the report does not depend on timing. */
    for (int i = 0; i < n && st == MT_OK; i++)
        st = pass_on(&units[i].diag, d);
    int linked = st == MT_OK;
    if (linked)
        st = link(p, prefix, units, n, jit, fns, entry, d);
    for (int i = 0; i < n; i++) {
        if (units[i].hit && linked && st != MT_OK) {
            mt_cache_remove(&units[i].key);
            *bad_cache = 1;
        }
        if (units[i].obj)
            LLVMDisposeMemoryBuffer(units[i].obj);
        mt_diag_fini(&units[i].diag);
    }
    mt_free(units);
    mt_free(entry_text);
    if (st != MT_OK) {
        mt_llvm_jit_free(*jit);
        mt_free(*fns);
        *jit = NULL;
        *fns = NULL;
        if (entry)
            *entry = NULL;
    }
    return st;
}

mt_status mt_llvm_compile(const mt_kprog *p, const char *prefix, mt_llvm_jit **jit,
                          mt_kernel_fn **fns, mt_entry_fn *entry, mt_diag *d)
{
    *jit = NULL;
    *fns = NULL;
    if (entry)
        *entry = NULL;
    int bad_cache;
    mt_diag first;
    mt_diag_init(&first);
    mt_status st = compile(p, prefix, 1, jit, fns, entry, &bad_cache, &first);
    if (st != MT_OK && bad_cache) /* the entries are gone: their error is not the program's */
        st = compile(p, prefix, 0, jit, fns, entry, &bad_cache, d);
    else
        st = pass_on(&first, d);
    mt_diag_fini(&first);
    return st;
}
