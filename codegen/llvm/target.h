/* target.h - the CPU the LLVM renderer generates code for, as one value (target.c).
 *
 * The host is asked once (LLVM finds the CPU with CPUID, which a virtual machine traps) and the
 * answer is passed around: the LLVM target machine (opt.c), the x86-only decisions of the
 * emitter (non-temporal stores, emit.c), the GEMM's instruction set (gemm.c) and the kernel
 * cache key (mt_llvm_cache_env) all read this value, never the host again. A value for a
 * named CPU (`x86-64-v3`) is what `mtc compile --target` will hand the same code.
 */
#ifndef MT_CODEGEN_LLVM_TARGET_H
#define MT_CODEGEN_LLVM_TARGET_H

#include "mtc/mtc.h"
#include "runtime/cache.h"

typedef struct mt_cpu_target {
    char triple[64];     /* x86_64-pc-linux-gnu */
    char cpu[64];        /* znver3, x86-64-v3 */
    char features[4096]; /* "+avx2,+fma,-avx512f,...": LLVM's feature string */
    int x86;             /* an x86-64 triple: non-temporal stores and sfence exist */
} mt_cpu_target;

/* The machine this process runs on, asked once (thread-safe); never freed. */
const mt_cpu_target *mt_cpu_target_host(void);
/* A target for CPU `cpu` on the host's triple. The x86-64 levels (x86-64, x86-64-v2, -v3, -v4)
 * get their feature strings here; any other name gets the features LLVM implies for it
 * (an empty string). MT_ERR_ARG for an empty or overlong name, and on x86-64 hosts for a name
 * LLVM 14 does not know as a 64-bit x86 CPU. */
mt_status mt_cpu_target_from_name(const char *cpu, mt_cpu_target *out, mt_diag *d);
/* The kernel cache environment (runtime/cache.h) of code generated for the host: LLVM's
 * version, the host target's triple, CPU and features, and the optimisation settings. Made
 * once. */
const mt_cache_env *mt_llvm_cache_env(void);

#endif
