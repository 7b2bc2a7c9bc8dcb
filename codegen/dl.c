/* dl.c - dlsym into a typed function pointer (codegen/dl.h). */
#include "codegen/dl.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

int mt_dl_sym(void *lib, const char *libname, const char *name, void *slot, size_t size, char *err,
              size_t errsize)
{
    void *sym = dlsym(lib, name);
    /* A function pointer and void * differ in C's eyes; POSIX makes them the same size. */
    if (size != sizeof sym)
        sym = NULL;
    memcpy(slot, &sym, sizeof sym);
    if (!sym)
        snprintf(err, errsize, "%s has no %s", libname, name);
    return sym != NULL;
}
