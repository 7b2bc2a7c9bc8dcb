/* nvrtc.h - CUDA C++ to PTX and cubin with NVRTC, loaded with dlopen (codegen/nvrtc.c).
 *
 * NVRTC compiles without a GPU, so every machine with the CUDA toolkit checks the CUDA
 * dialect's output (tests/unit/test_nvrtc.c); the cuda target compiles its kernels here for
 * the device's architecture. libnvrtc.so is found on the library path, else under
 * $CUDA_HOME/lib64 or /usr/local/cuda/lib64.
 */
#ifndef MT_CODEGEN_NVRTC_H
#define MT_CODEGEN_NVRTC_H

#include <stddef.h>

#include "mtc/mtc.h"

typedef struct mt_nvrtc_output {
    char *code;  /* PTX text (NUL-terminated) or cubin bytes; owned, mt_free */
    size_t size; /* bytes of code (PTX: without the NUL) */
    char *log;   /* the compiler's log, warnings included ("" when silent); owned */
} mt_nvrtc_output;

/* 1 when libnvrtc can be loaded; else 0 and, with d, the reason. */
int mt_nvrtc_available(mt_diag *d);
/* "NVRTC 13.0", or NULL when it cannot be loaded. Static storage. */
const char *mt_nvrtc_version(void);
/* Compiles src for `arch`: "compute_90" gives PTX, "sm_90" a cubin. Contraction into fma is
 * off (--fmad=false), so the kernels round as the kernel IR says. A compile error is
 * MT_ERR_BACKEND with the log in d->log; on success out->log holds any warnings. */
mt_status mt_nvrtc_compile(const char *src, const char *arch, mt_nvrtc_output *out, mt_diag *d);
void mt_nvrtc_output_fini(mt_nvrtc_output *o);

#endif
