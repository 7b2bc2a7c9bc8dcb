/* compile.h - a kernel program to linked machine code, in parallel units, through the cache.
 *
 * Where it sits: after memory planning, before running (codegen/cpu.c). The kernels of a
 * program are split into at most MT_COMPILE_UNITS units of consecutive kernels, each keyed by
 * its kernel IR (cache.h). A unit the kernel cache holds is read back as an object file; any
 * other one is emitted as its own LLVM module (emit.c), optimised (opt.c), compiled to an
 * object file and stored. Units are independent (kernels share no
 * code or globals), so they compile concurrently on a pool of threads, and the JIT (jit.c)
 * links all the objects together.
 *
 * The split depends on the program alone, never on the thread count, so a cache filled with
 * one thread count serves every other one.
 */
#ifndef MT_CODEGEN_LLVM_COMPILE_H
#define MT_CODEGEN_LLVM_COMPILE_H

#include "codegen/llvm/llvm.h"

/* LLVM's fixed cost per module is about 0.5 ms on the development machines (with a target
 * machine reused per thread): 8 units keep it small next to a cold compile while giving 2 to
 * 8 threads enough pieces to balance. */
#define MT_COMPILE_UNITS 8

/* Compiles every kernel of p as the function `prefix` + kernel name (the ABI of llvm.h),
 * links them in a new JIT (*jit) and looks them up: (*fns)[k] is kernel k's entry point, an
 * array the caller frees with mt_free. With `entry` non-NULL, also the program's entry
 * (entry.c), one more unit, cached like the others: *entry. Uses MTC_NUM_THREADS threads
 * (default: every core). All are NULL on failure. */
mt_status mt_llvm_compile(const mt_kprog *p, const char *prefix, mt_llvm_jit **jit,
                          mt_kernel_fn **fns, mt_entry_fn *entry, mt_diag *d);

#endif
