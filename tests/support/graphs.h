/* graphs.h - graphs inside a cmocka test: MTIR text to a graph, and the kernel program a target
 * schedules for it, as text. Errors fail the current test. */
#ifndef MT_TESTS_GRAPHS_H
#define MT_TESTS_GRAPHS_H

#include "ir/graph.h"
#include "passes/target.h"

/* The graph of `text` (the caller frees it); fails the test, printing the error and the
 * text, when it does not parse. */
mt_graph *mt_test_parse(const char *text);

/* The printed kernel program (mtc dump --stage kernels) that mt_schedule makes of g for
 * target t; the caller frees it with mt_free. */
char *mt_test_kernels(const mt_graph *g, const mt_target_desc *t);

#endif
