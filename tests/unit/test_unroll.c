/* test_unroll.c - tiny reduction loops unrolled on the CPU (passes/unroll.c).
 *
 * Pooling windows of 2x2 and 3x3 and short sums unroll into one-iteration copies in order, so
 * results stay the interpreter's bit for bit at every thread count; a 5x5 window keeps its
 * loops. The plan is checked in the printed program: after unrolling, no reduction loop of
 * more than one iteration is left where the windows are small.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cpu.h"
#include "ir/alloc.h"
#include "ir/graph.h"
#include "tests/support/cpu_check.h"
#include "tests/support/graphs.h"

/* Max- and average-pooling with a kh x kw window over an awkward image, and a sum over an
 * axis of `red` elements. */
static mt_graph *pools(const char *dtype, int kh, int kw, int red)
{
    char text[1024];
    snprintf(text, sizeof text,
             "mtir 1\n"
             "graph pools {\n"
             "  input %%x : %s[3,2,11,13]\n"
             "  input %%r : %s[5,%d,7]\n"
             "  %%m = maxpool2d %%x kernel=[%d,%d]\n"
             "  %%a = avgpool2d %%x kernel=[%d,%d]\n"
             "  %%s = sum %%r dim=1\n"
             "  output %%m, %%a, %%s\n"
             "}\n",
             dtype, dtype, red, kh, kw, kh, kw);
    return mt_test_parse(text);
}

static void small_windows_unroll_and_match_the_interpreter_bit_for_bit(void **state)
{
    (void)state;
    static const int sizes[][3] = {{2, 2, 2}, {3, 3, 3}, {2, 3, 4}, {5, 5, 5}, {1, 4, 1}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        mt_check_cpu_random(pools("f32", sizes[i][0], sizes[i][1], sizes[i][2]), 3, 1);
        mt_check_cpu_random(pools("f64", sizes[i][0], sizes[i][1], sizes[i][2]), 2, 1);
    }
}

/* Reduction loops of more than one iteration in g's program for target t; frees g. */
static int reduce_loops(mt_graph *g, const mt_target_desc *t)
{
    char *s = mt_test_kernels(g, t);
    int n = 0;
    /* Each loop prints as `for iN in 0..TRIP reduce {`. */
    for (const char *q = s; (q = strstr(q, " reduce {")); q++) {
        const char *trip = q;
        while (trip > s && trip[-1] != '.')
            trip--;
        n += strtoll(trip, NULL, 10) > 1;
    }
    mt_free(s);
    mt_graph_free(g);
    return n;
}

static void only_loops_of_at_most_four_iterations_unroll(void **state)
{
    (void)state;
    mt_target_desc whole = *mt_target_desc_cpu();
    whole.unroll_reduce_max = 0;
    /* Two pooling kernels with two window loops each, and the sum: five loops. */
    assert_int_equal(reduce_loops(pools("f32", 2, 2, 3), &whole), 5);
    assert_int_equal(reduce_loops(pools("f32", 2, 2, 3), mt_target_desc_cpu()), 0);
    /* A window of 5 x 2: its rows stay a loop in both kernels; a sum over 9 stays too. */
    assert_int_equal(reduce_loops(pools("f32", 5, 2, 9), mt_target_desc_cpu()), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(small_windows_unroll_and_match_the_interpreter_bit_for_bit),
        cmocka_unit_test(only_loops_of_at_most_four_iterations_unroll),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
