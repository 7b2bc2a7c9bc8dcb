/* check.h - a benchmark's one check that it timed the right thing: the compiled program
 * against the interpreter on the same leaves (check.c). */
#ifndef MT_BENCH_CHECK_H
#define MT_BENCH_CHECK_H

#include "codegen/cpu.h"

/* Runs g (f32 outputs) on `leaves` (indexed by node id) through the interpreter and through
 * p, and returns the largest relative error over every output element, measured against
 * max(|expected|, 1e-2); -1 when a run fails (printed to stderr with `who`). */
double mt_bench_worst_error(const char *who, const mt_graph *g, const mt_tensor *const *leaves,
                            mt_cpu_program *p);

#endif
