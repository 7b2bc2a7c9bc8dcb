/* aot_units.h - the object files of a compiled model, built on several threads (aot_units.c).
 * Internal to codegen/aot*.c: it speaks LLVM's types, which aot.h keeps out of its users.
 */
#ifndef MT_CODEGEN_AOT_UNITS_H
#define MT_CODEGEN_AOT_UNITS_H

#include <llvm-c/Types.h>

#include "codegen/aot.h"
#include "codegen/llvm/llvm.h"
#include "codegen/llvm/target.h"

/* Adds the baked-in part of the model (weights, descriptor, exported functions) to m, a
 * module that holds no kernel: mt_aot_add_entry with the caller's arguments. */
typedef mt_status (*mt_aot_entry_fn)(void *ctx, mt_llvm_module *m, mt_diag *d);

/* The kernels of p (symbols `prefix` + kernel name) in up to MT_AOT_UNITS runs of consecutive
 * kernels, every GEMM piece they call, and the entry (entry(ctx, ...)), each as its own module
 * emitted for target t, optimised and compiled to an object file, on up to MTC_NUM_THREADS
 * threads (one target machine each). *objs (mt_malloc'd, *nobjs buffers, each the caller's:
 * LLVMDisposeMemoryBuffer) on success; the first failing unit's error, in unit order, else. */
#define MT_AOT_UNITS 8
mt_status mt_aot_build_objects(const mt_kprog *p, const char *prefix, const mt_cpu_target *t,
                               mt_aot_entry_fn entry, void *ctx, LLVMMemoryBufferRef **objs,
                               int *nobjs, mt_diag *d);

#endif
