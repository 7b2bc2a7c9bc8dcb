/* gpu_collective.c - allreduce through the host for the GPU targets (gpu_collective.h). */
#include "codegen/gpu_collective.h"

#include "ir/alloc.h"
#include "runtime/collective.h"

mt_status mt_gpu_allreduce_via_host(void *dev, mt_gpu_host_copy copy, mt_gpu_mem mem, size_t offset,
                                    size_t count, mt_dtype dt, int op, mt_diag *d)
{
    /* One rank: the local value is the reduced one, and no copy is worth making. */
    if (!mt_collective_hooked() || count == 0)
        return MT_OK;
    size_t bytes = count * mt_dtype_size(dt);
    /* A step's buckets total the model's params; a fresh buffer per call costs nothing next to
     * the two copies and the exchange. */
    void *host = mt_malloc(bytes);
    if (!host)
        return mt_diag_set(d, MT_ERR_NOMEM, "allreduce: out of memory (%zu bytes)", bytes);
    mt_status st = copy(dev, mem, offset, host, bytes, 0, d);
    if (st == MT_OK)
        st = mt_collective_allreduce(host, count, dt, op, d);
    if (st == MT_OK)
        st = copy(dev, mem, offset, host, bytes, 1, d);
    mt_free(host);
    return st;
}
