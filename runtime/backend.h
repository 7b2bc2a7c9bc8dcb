/* backend.h - the backends that run a whole graph, by name: interp, cpu, cuda.
 *
 * A backend is a struct of function pointers (STYLE.md: "a target is a struct of function
 * pointers"). The registry lives in the lowest layer that can see every backend; backends
 * that are not built report MT_ERR_UNSUPPORTED when run, so callers need no #ifdefs.
 */
#ifndef MT_RUNTIME_BACKEND_H
#define MT_RUNTIME_BACKEND_H

#include "ir/graph.h"
#include "runtime/tensor.h"

typedef struct mt_backend {
    const char *name;
    /* Runs g once: leaves indexed by node id (runtime/interp.h), outputs has g->noutputs slots. */
    mt_status (*run)(const mt_graph *g, const mt_tensor *const *leaves, mt_tensor **outputs,
                     mt_diag *d);
} mt_backend;

/* NULL when no backend has that name. */
const mt_backend *mt_backend_lookup(const char *name);
/* Installs a backend implemented in a higher layer (codegen registers cpu and cuda). */
void mt_backend_register(const mt_backend *b);

#endif
