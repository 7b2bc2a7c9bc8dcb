/* cpu_check.h - the one check behind the CPU backend's tests: compile a graph, run it with 1..N
 * threads, and compare with the reference interpreter.
 *
 * Tolerance: each output element must match the interpreter to a relative error below 1e-5
 * (f32) or 1e-12 (f64), measured against the larger of |expected| and the scale of the
 * computation that produced the output: the largest mean magnitude of any value it was
 * computed from (its own included; at least 1e-3). A result that cancels to near zero (a loss
 * of 1e-6 made of O(1) terms, x - x) carries rounding noise of the size of its terms, not of
 * itself, so it is judged against its terms; a wrong rule still shows as an error of the size
 * of its terms. Every thread count must give the same bits.
 */
#ifndef MT_TESTS_CPU_CHECK_H
#define MT_TESTS_CPU_CHECK_H

#include "ir/graph.h"
#include "passes/target.h"
#include "runtime/tensor.h"

/* Runs g (borrowed) on `leaves` (indexed by node id) through the interpreter and through
 * mt_cpu_compile with 1..max_threads threads, and fails the current cmocka test on any
 * mismatch, printing the graph. `exact`: outputs must equal the interpreter's bit for bit. */
void mt_check_cpu(const mt_graph *g, const mt_tensor *const *leaves, int max_threads, int exact);

/* mt_check_cpu compiling with target description t (mt_cpu_compile_for); NULL: the CPU's. */
void mt_check_cpu_for(const mt_graph *g, const mt_target_desc *t, const mt_tensor *const *leaves,
                      int max_threads, int exact);

/* When set (a target name, "opencl"), mt_check_cpu and mt_check_cpu_for check that target
 * through the program API instead of the CPU backend (the description argument is then
 * ignored): every leaf set by name, outputs bound to buffers full of NaNs, run twice (the
 * second run must give the same bits), and compared with the interpreter as above. */
extern const char *mt_check_target;

/* The same on fresh random leaves (tests/support/random.h); frees g. */
void mt_check_cpu_random(mt_graph *g, int max_threads, int exact);
void mt_check_cpu_random_for(mt_graph *g, const mt_target_desc *t, int max_threads, int exact);

#endif
