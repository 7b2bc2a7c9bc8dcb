/* dl.h - looking up a run-time-loaded library's entry points (OpenCL, CUDA, NVRTC).
 *
 * mtc links none of the GPU libraries: each runtime dlopens its library and resolves the few
 * entry points it declares itself, so mtc builds and runs where they are absent.
 */
#ifndef MT_CODEGEN_DL_H
#define MT_CODEGEN_DL_H

#include <stddef.h>

/* Stores dlsym(lib, name) in the function pointer at `slot` (of `size` bytes). 1, or 0 with
 * "LIBNAME has no NAME" in err when the library lacks it. */
int mt_dl_sym(void *lib, const char *libname, const char *name, void *slot, size_t size, char *err,
              size_t errsize);

#endif
