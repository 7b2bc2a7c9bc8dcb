/* test_split_bounds.c - inner loops cut where pad and concat bounds checks change
 * (passes/split_bounds.c).
 *
 * The cut is an exact substitution, so sums of shifted, padded slices (a conv's dx collects its
 * taps this way) and concats must come out of the CPU backend bit for bit as the interpreter
 * computes them, at awkward sizes, strides and thread counts. And the cut must happen: the
 * program has more loops and fewer selects than without it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "codegen/cpu.h"
#include "ir/alloc.h"
#include "ir/graph.h"
#include "tests/support/cpu_check.h"
#include "tests/support/graphs.h"

/* Three taps of a width-3 kernel, each shifted into a frame of width 13 and summed, as a
 * conv's dx does: the first and last reach past the frame's ends. */
static const char *taps = "mtir 1\n"
                          "graph taps {\n"
                          "  input %cols : f32[2,3,3,11]\n"
                          "  %t0 = slice %cols start=[0,0,0,0] end=[2,3,1,11]\n"
                          "  %t1 = slice %cols start=[0,0,1,0] end=[2,3,2,11]\n"
                          "  %t2 = slice %cols start=[0,0,2,0] end=[2,3,3,11]\n"
                          "  %p0 = pad %t0 pads=[0,0,0,0,0,0,0,2]\n"
                          "  %p1 = pad %t1 pads=[0,0,0,0,0,0,1,1]\n"
                          "  %p2 = pad %t2 pads=[0,0,0,0,0,0,2,0]\n"
                          "  %s01 = add %p0, %p1\n"
                          "  %s = add %s01, %p2\n"
                          "  %y = reshape %s shape=[2,3,13]\n"
                          "  output %y\n"
                          "}\n";

/* A strided pad (the dilation of a stride-2 conv's dy) and a concat of a computed operand. */
static const char *strided = "mtir 1\n"
                             "graph strided {\n"
                             "  input %a : f64[4,5,7]\n"
                             "  input %b : f64[4,5,2]\n"
                             "  %r = reshape %a shape=[4,5,7,1]\n"
                             "  %z = pad %r pads=[0,0,0,0,0,0,0,1]\n"
                             "  %d = reshape %z shape=[4,5,14]\n"
                             "  %e = exp %b\n"
                             "  %c = concat %d, %e dim=2\n"
                             "  %w = pad %c pads=[0,0,0,0,3,2]\n"
                             "  %y = mul %w, %w\n"
                             "  output %y\n"
                             "}\n";

static void sums_of_shifted_pads_match_the_interpreter_bit_for_bit(void **state)
{
    (void)state;
    mt_check_cpu_random(mt_test_parse(taps), 3, 1);
    mt_check_cpu_random(mt_test_parse(strided), 3, 1);
}

/* Stride 3 over a row of 2 with padding 1: each output column is a piece of its own, and in
 * both pieces the patch is all padding, so the kernel no longer reads x at all (found by
 * fuzz_pipeline: the kernel's buffer list must be collected again after the cut). */
static void a_piece_that_reads_only_padding_drops_the_operand(void **state)
{
    (void)state;
    mt_check_cpu_random(mt_test_parse("mtir 1\n"
                                      "graph cnn {\n"
                                      "  input %x : f32[1,2,5,2]\n"
                                      "  param %w : f32[3,2,3,1]\n"
                                      "  %c = conv2d %x, %w stride=3 padding=1\n"
                                      "  output %c\n"
                                      "}\n"),
                        2, 0);
}

/* Loops and selects in the scheduled program's text. */
static void census(const char *text, const mt_target_desc *t, int *loops, int *selects)
{
    mt_graph *g = mt_test_parse(text);
    char *s = mt_test_kernels(g, t);
    *loops = *selects = 0;
    for (const char *q = s; (q = strstr(q, "for i")); q++)
        ++*loops;
    for (const char *q = s; (q = strstr(q, "select(")); q++)
        ++*selects;
    mt_free(s);
    mt_graph_free(g);
}

static void inner_loops_are_cut_where_the_bounds_checks_change(void **state)
{
    (void)state;
    mt_target_desc whole = *mt_target_desc_cpu();
    whole.split_bounds = 0;
    int loops, selects, loops0, selects0;
    census(taps, mt_target_desc_cpu(), &loops, &selects);
    census(taps, &whole, &loops0, &selects0);
    /* Pieces [0,1) [1,2) [2,11) [11,12) [12,13) of the frame: the interior reads all three
     * taps without a select, each end piece reads the taps that reach it. */
    assert_int_equal(loops, loops0 + 4);
    assert_true(selects < selects0);
    census(strided, mt_target_desc_cpu(), &loops, &selects);
    census(strided, &whole, &loops0, &selects0);
    assert_true(loops > loops0);
    assert_true(selects < selects0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sums_of_shifted_pads_match_the_interpreter_bit_for_bit),
        cmocka_unit_test(a_piece_that_reads_only_padding_drops_the_operand),
        cmocka_unit_test(inner_loops_are_cut_where_the_bounds_checks_change),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
