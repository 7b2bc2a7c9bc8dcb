/* aot_units.c - a compiled model's object files, optimised and generated on several threads
 * (aot_units.h).
 *
 * Why: one module for the whole program was optimised and compiled on one thread, and LLVM's
 * time is most of `mtc compile`'s (LeNet's Adam step: 1.2 s on the development machine). As
 * the JIT does (codegen/llvm/compile.c), the kernels are cut into runs of consecutive kernels
 * of about equal cost, every GEMM piece is a unit of its own, and the entry (weights,
 * descriptor, exported functions) is one more; each unit gets its own LLVM context, module
 * and target machine, so units compile concurrently, and the linker joins the objects. Units
 * share nothing but symbol names: kernels and pieces have external linkage (the version
 * script hides them in the .so), the entry only declares the kernels it points at.
 *
 * The cut depends on the program alone and every unit is emitted exactly as the one-module
 * version emitted it, so the code, and the results, do not depend on the thread count.
 */
#include "codegen/aot_units.h"

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>
#include <pthread.h>

#include "ir/alloc.h"
#include "runtime/pool.h"

typedef enum unit_kind { UNIT_KERNELS, UNIT_PIECE, UNIT_ENTRY } unit_kind;

typedef struct unit {
    unit_kind kind;
    mt_kprog view; /* the program with `kernels` narrowed to this unit's (none for the entry) */
    mt_llvm_gemm_piece piece;
    int64_t cost;
    LLVMMemoryBufferRef obj;
    mt_diag diag; /* units fail independently, on other threads */
} unit;

typedef struct job {
    unit *units;
    int *order; /* costliest first: the pool hands tasks out in order */
    const char *prefix;
    const mt_cpu_target *target;
    mt_aot_entry_fn entry;
    void *ctx;
    pthread_mutex_t lock;
    LLVMTargetMachineRef idle[MT_AOT_UNITS + MT_LLVM_GEMM_MAX_PIECES + 1];
    int nidle;
} job;

/* LLVM's time for a kernel grows with its loop nests; a GEMM statement is only a call. */
static int64_t loops(const mt_kstmt *s)
{
    int64_t c = 0;
    for (; s; s = s->next)
        c += s->kind == MT_KS_FOR ? 1 + loops(s->body) : 0;
    return c;
}

/* Runs of consecutive kernels of about total / MT_AOT_UNITS cost each, into units[]. */
static int cut(const mt_kprog *p, unit *units)
{
    int64_t total = 0;
    for (int k = 0; k < p->nkernels; k++)
        total += 1 + loops(p->kernels[k].body);
    int64_t share = (total + MT_AOT_UNITS - 1) / MT_AOT_UNITS;
    int n = 0;
    for (int k = 0; k < p->nkernels; k++) {
        int64_t c = 1 + loops(p->kernels[k].body);
        unit *u = n ? &units[n - 1] : NULL;
        if (!u || (u->cost + c > share && n < MT_AOT_UNITS)) {
            u = &units[n++];
            u->kind = UNIT_KERNELS;
            u->view = *p;
            u->view.kernels = p->kernels + k;
            u->view.nkernels = 0;
        }
        u->view.nkernels++;
        u->cost += c;
    }
    return n;
}

static LLVMTargetMachineRef take_machine(job *jb, mt_diag *d)
{
    LLVMTargetMachineRef tm = NULL;
    pthread_mutex_lock(&jb->lock);
    if (jb->nidle > 0)
        tm = jb->idle[--jb->nidle];
    pthread_mutex_unlock(&jb->lock);
    if (!tm && mt_llvm_target_machine(jb->target, &tm, d) != MT_OK)
        tm = NULL;
    return tm;
}

static void give_back(job *jb, LLVMTargetMachineRef tm)
{
    pthread_mutex_lock(&jb->lock);
    jb->idle[jb->nidle++] = tm;
    pthread_mutex_unlock(&jb->lock);
}

/* Emits, optimises and compiles one unit (a pool task). */
static void build(void *ctx, int64_t t)
{
    job *jb = ctx;
    unit *u = &jb->units[jb->order[t]];
    mt_llvm_module *m = NULL;
    mt_status st;
    if (u->kind == UNIT_PIECE)
        st = mt_llvm_emit_gemm_piece(&u->piece, &m, &u->diag);
    else
        st = mt_llvm_emit_for(&u->view, jb->prefix, jb->target, 0, &m, &u->diag);
    if (st == MT_OK && u->kind == UNIT_ENTRY)
        st = jb->entry(jb->ctx, m, &u->diag);
    LLVMTargetMachineRef tm = st == MT_OK ? take_machine(jb, &u->diag) : NULL;
    if (tm && mt_llvm_optimize_with(m, tm, &u->diag) == MT_OK)
        mt_llvm_emit_object_with(m, tm, &u->obj, &u->diag);
    if (tm)
        give_back(jb, tm);
    mt_llvm_module_free(m);
}

mt_status mt_aot_build_objects(const mt_kprog *p, const char *prefix, const mt_cpu_target *t,
                               mt_aot_entry_fn entry, void *ctx, LLVMMemoryBufferRef **objs,
                               int *nobjs, mt_diag *d)
{
    *objs = NULL;
    *nobjs = 0;
    enum { MAX = MT_AOT_UNITS + MT_LLVM_GEMM_MAX_PIECES + 1 };
    unit *units = mt_calloc(MAX, sizeof *units);
    int *order = mt_calloc(MAX, sizeof *order);
    mt_llvm_gemm_piece pieces[MT_LLVM_GEMM_MAX_PIECES];
    int npieces = 0;
    mt_status st = units && order ? MT_OK : mt_diag_set(d, MT_ERR_NOMEM, "aot: out of memory");
    if (st == MT_OK)
        st = mt_llvm_gemm_pieces_for(p, t, pieces, &npieces, d);
    int n = st == MT_OK ? cut(p, units) : 0;
    for (int i = 0; st == MT_OK && i < npieces; i++, n++) {
        units[n].kind = UNIT_PIECE;
        units[n].piece = pieces[i];
        units[n].cost = mt_llvm_gemm_piece_cost(&pieces[i]);
    }
    if (st == MT_OK) {
        units[n].kind = UNIT_ENTRY;
        units[n].view = *p;
        units[n].view.nkernels = 0;
        units[n++].cost = 1;
    }
    for (int i = 0; i < n; i++) {
        mt_diag_init(&units[i].diag);
        int at = i;
        for (; at > 0 && units[order[at - 1]].cost < units[i].cost; at--)
            order[at] = order[at - 1];
        order[at] = i;
    }
    if (st == MT_OK) {
        job jb = {.units = units,
                  .order = order,
                  .prefix = prefix,
                  .target = t,
                  .entry = entry,
                  .ctx = ctx};
        pthread_mutex_init(&jb.lock, NULL);
        int threads = mt_pool_default_threads();
        mt_pool *pool = threads > 1 && n > 1 ? mt_pool_new(threads < n ? threads : n) : NULL;
        if (pool)
            mt_pool_run(pool, build, &jb, n);
        else /* one thread, or no memory for a pool */
            for (int i = 0; i < n; i++)
                build(&jb, i);
        mt_pool_free(pool);
        for (int i = 0; i < jb.nidle; i++)
            LLVMDisposeTargetMachine(jb.idle[i]);
        pthread_mutex_destroy(&jb.lock);
    }
    /* The first failure in unit order, so that the report does not depend on timing. */
    for (int i = 0; i < n && st == MT_OK; i++)
        if (units[i].diag.status != MT_OK) {
            st = mt_diag_set(d, units[i].diag.status, "%s", units[i].diag.msg);
            if (d && !d->log) {
                d->log = units[i].diag.log;
                units[i].diag.log = NULL;
            }
        }
    if (st == MT_OK && !(*objs = mt_calloc((size_t)n, sizeof **objs)))
        st = mt_diag_set(d, MT_ERR_NOMEM, "aot: out of memory");
    for (int i = 0; i < n; i++) {
        if (st == MT_OK) {
            (*objs)[i] = units[i].obj;
        } else if (units[i].obj) {
            LLVMDisposeMemoryBuffer(units[i].obj);
        }
        mt_diag_fini(&units[i].diag);
    }
    if (st == MT_OK)
        *nobjs = n;
    mt_free(units);
    mt_free(order);
    return st;
}
