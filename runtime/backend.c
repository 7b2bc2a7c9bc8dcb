/* backend.c - the backend registry. The interpreter is always present; compiled backends
 * register themselves from the codegen layer (see mt_backends_init in codegen). */
#include "runtime/backend.h"

#include <string.h>

#include "runtime/interp.h"

static mt_status unavailable(const char *name, mt_diag *d)
{
    return mt_diag_set(d, MT_ERR_UNSUPPORTED, "backend '%s' is not available in this build", name);
}

static mt_status run_cpu_missing(const mt_graph *g, const mt_tensor *const *l, mt_tensor **o,
                                 mt_diag *d)
{
    (void)g, (void)l, (void)o;
    return unavailable("cpu", d);
}

static mt_status run_cuda_missing(const mt_graph *g, const mt_tensor *const *l, mt_tensor **o,
                                  mt_diag *d)
{
    (void)g, (void)l, (void)o;
    return unavailable("cuda", d);
}

static mt_backend backends[] = {
    {"interp", mt_interp_run},
    {"cpu", run_cpu_missing},
    {"cuda", run_cuda_missing},
};

const mt_backend *mt_backend_lookup(const char *name)
{
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (!strcmp(backends[i].name, name))
            return &backends[i];
    return NULL;
}

void mt_backend_register(const mt_backend *b)
{
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (!strcmp(backends[i].name, b->name))
            backends[i] = *b;
}
