/* collective.c - the process-wide allreduce hook (runtime/collective.h, mtc.h). */
#include "runtime/collective.h"

#include <stdatomic.h>

/* One hook for the process, like MPI's world communicator: set before runs start, read by
 * every run (from any thread), so both halves are published together. */
typedef struct hook {
    mt_allreduce_fn fn;
    void *ctx;
} hook;

static _Atomic(hook *) current;
static hook slots[2];
static atomic_int which;

void mt_set_allreduce(mt_allreduce_fn fn, void *ctx)
{
    if (!fn) {
        atomic_store(&current, NULL);
        return;
    }
    int i = atomic_fetch_add(&which, 1) & 1;
    slots[i].fn = fn;
    slots[i].ctx = ctx;
    atomic_store(&current, &slots[i]);
}

mt_status mt_collective_allreduce(void *buf, size_t count, mt_dtype dt, int op, mt_diag *d)
{
    hook *h = atomic_load(&current);
    if (!h)
        return MT_OK;
    int rc = h->fn(buf, count, dt == MT_DTYPE_F64 ? 1 : 0, op, h->ctx);
    if (rc != 0)
        return mt_diag_set(d, MT_ERR_BACKEND,
                           "allreduce of %zu %s values failed (the hook "
                           "returned %d)",
                           count, mt_dtype_name(dt), rc);
    return MT_OK;
}

int mt_collective_hooked(void) { return atomic_load(&current) != NULL; }
