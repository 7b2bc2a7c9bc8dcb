/* test_fuse.c - the fusion pass: roles, kernels and the reason behind every stored value;
 * lowering and memory planning fail cleanly when memory runs out.
 *
 * The golden dumps of whole partitions are the .mt files in tests/lit/fuse; these tests pin down
 * one rule each through the partition's data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ir/alloc.h"
#include "ir/graph.h"
#include "passes/fuse.h"
#include "codegen/cpu.h"
#include "passes/lower.h"
#include "passes/memplan.h"
#include "tests/support/failing_alloc.h"

typedef struct fused {
    mt_graph *g;
    mt_fusion *f;
} fused;

static fused fuse(const char *text)
{
    fused r = {NULL, NULL};
    mt_diag d;
    mt_diag_init(&d);
    if (mt_graph_parse(text, strlen(text), "t.mt", &r.g, &d) != MT_OK)
        fail_msg("parse: line %d: %s", d.line, d.msg);
    assert_int_equal(mt_fuse(r.g, &r.f, &d), MT_OK);
    return r;
}

static void done(fused r)
{
    mt_fusion_free(r.f);
    mt_graph_free(r.g);
}

static int id(fused r, const char *name)
{
    int i = mt_graph_find(r.g, name);
    if (i < 0)
        fail_msg("no value %%%s", name);
    return i;
}

static mt_fuse_role role(fused r, const char *name) { return r.f->role[id(r, name)]; }

/* The reason %name is stored contains `want`. */
static void why(fused r, const char *name, mt_fuse_why code, const char *want)
{
    int i = id(r, name);
    assert_int_equal(r.f->role[i], MT_FUSE_ROOT);
    char buf[256];
    mt_fusion_why(r.g, r.f, i, buf, sizeof buf);
    if (r.f->why[i] != code || !strstr(buf, want))
        fail_msg("%%%s: reason %d '%s', expected %d containing '%s'", name, (int)r.f->why[i], buf,
                 (int)code, want);
}

static void same_kernel(fused r, const char *a, const char *b)
{
    assert_true(r.f->kernel[id(r, a)] >= 0);
    assert_int_equal(r.f->kernel[id(r, a)], r.f->kernel[id(r, b)]);
}

static void elementwise_chains_and_movement_ops_share_one_kernel(void **state)
{
    (void)state;
    fused r = fuse("mtir 1\ngraph g {\n"
                   "  input %x : f32[4,8]\n"
                   "  input %b : f32[8]\n"
                   "  %t = permute %x perm=[1,0]\n"
                   "  %u = permute %t perm=[1,0]\n"
                   "  %a = add %u, %b\n"
                   "  %c = const value=2 : f32[]\n"
                   "  %m = mul %a, %c\n"
                   "  %y = exp %m\n"
                   "  %dead = neg %y\n"
                   "  output %y\n}\n");
    assert_int_equal(r.f->nkernels, 1);
    assert_int_equal(role(r, "x"), MT_FUSE_LEAF);
    assert_int_equal(role(r, "t"), MT_FUSE_INLINE);
    assert_int_equal(role(r, "c"), MT_FUSE_INLINE);
    assert_int_equal(role(r, "a"), MT_FUSE_FUSED);
    assert_int_equal(role(r, "dead"), MT_FUSE_DEAD);
    why(r, "y", MT_WHY_OUTPUT, "graph output");
    same_kernel(r, "a", "y");
    done(r);
}

static void a_value_read_by_two_kernels_is_stored_once(void **state)
{
    (void)state;
    fused r = fuse("mtir 1\ngraph g {\n"
                   "  input %x : f32[4,8]\n"
                   "  %e = exp %x\n"
                   "  %a = sum %e dim=0\n"
                   "  %b = sum %e dim=1\n"
                   "  output %a, %b\n}\n");
    why(r, "e", MT_WHY_KERNELS, "read by 2 kernels (k1, k2)");
    assert_int_equal(r.f->nkernels, 3);
    done(r);
}

static void reductions_fuse_with_producers_and_per_row_readers(void **state)
{
    (void)state;
    fused r = fuse("mtir 1\ngraph g {\n"
                   "  input %x : f32[16,100]\n"
                   "  %m = max %x dim=1\n"
                   "  %d = sub %x, %m\n"
                   "  %e = exp %d\n"
                   "  %s = sum %e dim=1\n"
                   "  %y = div %e, %s\n"
                   "  output %y\n}\n");
    same_kernel(r, "m", "e");
    same_kernel(r, "s", "y");
    why(r, "e", MT_WHY_LEVELS, "inside and outside a reduction loop");
    assert_int_equal(r.f->nkernels, 2);
    done(r);
}

static void sibling_reductions_of_one_operand_share_its_kernel(void **state)
{
    (void)state;
    /* Row sum, max and mean of one producer: one kernel stores all three and the producer is
     * computed in it; a column sum (other axes) and a max whose result is read again keep
     * kernels of their own, and so the producer is stored for them. */
    fused r = fuse("mtir 1\ngraph g {\n"
                   "  input %x : f64[4,8,3]\n"
                   "  %e = exp %x\n"
                   "  %s = sum %e dim=1\n"
                   "  %m = max %e dim=1\n"
                   "  %a = mean %e dim=1\n"
                   "  output %s, %m, %a\n}\n");
    assert_int_equal(r.f->nkernels, 1);
    assert_int_equal(role(r, "e"), MT_FUSE_FUSED);
    same_kernel(r, "s", "e");
    same_kernel(r, "m", "e");
    same_kernel(r, "a", "e");
    why(r, "s", MT_WHY_OUTPUT, "graph output");
    why(r, "m", MT_WHY_OUTPUT, "graph output");
    done(r);
    r = fuse("mtir 1\ngraph g {\n"
             "  input %x : f32[4,8]\n"
             "  %e = exp %x\n"
             "  %s = sum %e dim=1\n"
             "  %c = sum %e dim=0\n"
             "  %m = max %e dim=1\n"
             "  %n = neg %m\n"
             "  output %s, %c, %n\n}\n");
    assert_int_equal(r.f->nkernels, 4);
    why(r, "e", MT_WHY_KERNELS, "read by 3 kernels");
    done(r);
}

static void reductions_that_would_be_recomputed_are_stored(void **state)
{
    (void)state;
    fused r = fuse("mtir 1\ngraph g {\n"
                   "  input %x : f32[64,32]\n"
                   "  %col = sum %x dim=0\n"
                   "  %n = div %x, %col\n"
                   "  %tot = sum %x\n"
                   "  %f = sub %x, %tot\n"
                   "  %one = sum %x dim=1\n"
                   "  %r = reshape %one shape=[64]\n"
                   "  %s = sum %r\n"
                   "  output %n, %f, %s\n}\n");
    why(r, "col", MT_WHY_BROADCAST, "outer loop");
    why(r, "tot", MT_WHY_WHOLE, "every thread");
    /* Through a reshape, a row sum still fuses into the total that reads it once. */
    same_kernel(r, "one", "s");
    done(r);
}

static void nested_reductions_form_one_kernel(void **state)
{
    (void)state;
    fused r = fuse("mtir 1\ngraph g {\n"
                   "  input %x : f64[8,300]\n"
                   "  %mu = mean %x dim=1\n"
                   "  %d = sub %x, %mu\n"
                   "  %sq = mul %d, %d\n"
                   "  %var = mean %sq dim=1\n"
                   "  %sd = sqrt %var\n"
                   "  output %sd\n}\n");
    assert_int_equal(r.f->nkernels, 1);
    same_kernel(r, "mu", "sd");
    done(r);
}

static void matmul_takes_its_epilogue_and_stores_computed_operands(void **state)
{
    (void)state;
    fused r = fuse("mtir 1\ngraph g {\n"
                   "  input %x : f32[32,64]\n"
                   "  param %w : f32[10,64]\n"
                   "  param %b : f32[10]\n"
                   "  param %w2 : f32[64,10]\n"
                   "  %t = tanh %x\n"
                   "  %wt = permute %w perm=[1,0]\n"
                   "  %h = matmul %t, %wt\n"
                   "  %h2 = matmul %x, %w2\n"
                   "  %a = add %h, %b\n"
                   "  %s = add %a, %h2\n"
                   "  %y = relu %s\n"
                   "  output %y\n}\n");
    why(r, "t", MT_WHY_OPERAND, "operand of %h");
    assert_int_equal(role(r, "wt"), MT_FUSE_INLINE);
    int k = r.f->kernel[id(r, "y")];
    assert_int_equal(r.f->kernels[k].core, id(r, "h2"));
    same_kernel(r, "a", "y");
    why(r, "h", MT_WHY_CORE, "already computes %h2");
    done(r);
}

static void a_matmul_read_by_a_reduction_is_stored(void **state)
{
    (void)state;
    fused r = fuse("mtir 1\ngraph g {\n"
                   "  input %x : f32[8,8]\n"
                   "  %m = matmul %x, %x\n"
                   "  %s = sum %m dim=1\n"
                   "  output %s\n}\n");
    why(r, "m", MT_WHY_EPILOGUE, "not an elementwise epilogue");
    done(r);
}

static void the_dump_lists_kernels_with_stored_and_inline_nodes(void **state)
{
    (void)state;
    fused r = fuse("mtir 1\ngraph g {\n"
                   "  input %x : f32[4,8]\n"
                   "  %t = permute %x perm=[1,0]\n"
                   "  %e = exp %t\n"
                   "  %a = sum %e dim=0\n"
                   "  %b = sum %e dim=1\n"
                   "  output %a, %b\n}\n");
    char *s = mt_fusion_print(r.g, r.f, 1);
    assert_non_null(s);
    assert_string_equal(s, "# fused graph g: 3 kernels\n"
                           "kernel k0 elementwise {\n"
                           "  %t = permute %x : f32[8,4]  # inline\n"
                           "  %e = exp %t : f32[8,4]  # stored: read by 2 kernels (k1, k2)\n"
                           "}\n"
                           "kernel k1 reduce {\n"
                           "  %a = sum %e : f32[1,4]  # stored: graph output\n"
                           "}\n"
                           "kernel k2 reduce {\n"
                           "  %b = sum %e : f32[8,1]  # stored: graph output\n"
                           "}\n");
    mt_free(s);
    done(r);
}

/* ---- allocation failures --------------------------------------------------------------- */

static void fusion_lowering_and_planning_report_nomem_cleanly(void **state)
{
    (void)state;
    fused r = fuse("mtir 1\ngraph g {\n"
                   "  input %x : f32[16,100]\n"
                   "  param %w : f32[100,7]\n"
                   "  %m = max %x dim=1\n"
                   "  %d = sub %x, %m\n"
                   "  %e = exp %d\n"
                   "  %s = sum %e dim=1\n"
                   "  %y = div %e, %s\n"
                   "  %p = pad %y pads=[1,0,0,2]\n"
                   "  %c = concat %p, %p dim=1\n"
                   "  %h = matmul %y, %w\n"
                   "  %r = rand seed=3 : f32[16,7]\n"
                   "  %o = add %h, %r\n"
                   "  output %c, %o\n}\n");
    mt_fusion_free(r.f);
    r.f = NULL;
    long fail_at;
    for (fail_at = 1;; fail_at++) {
        mt_diag d;
        mt_diag_init(&d);
        mt_fusion *f = NULL;
        mt_kprog *p = NULL;
        mt_test_alloc_fail_nth(fail_at);
        mt_status st = mt_fuse(r.g, &f, &d);
        if (st == MT_OK)
            st = mt_lower(r.g, f, mt_target_desc_cpu(), &p, &d);
        if (st == MT_OK)
            st = mt_memplan(p, &d);
        mt_test_alloc_restore();
        mt_kprog_free(p);
        mt_fusion_free(f);
        if (st == MT_OK)
            break;
        assert_int_equal(st, MT_ERR_NOMEM);
        assert_int_equal(d.status, MT_ERR_NOMEM);
    }
    assert_true(fail_at > 10);
    done(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(elementwise_chains_and_movement_ops_share_one_kernel),
        cmocka_unit_test(a_value_read_by_two_kernels_is_stored_once),
        cmocka_unit_test(reductions_fuse_with_producers_and_per_row_readers),
        cmocka_unit_test(sibling_reductions_of_one_operand_share_its_kernel),
        cmocka_unit_test(reductions_that_would_be_recomputed_are_stored),
        cmocka_unit_test(nested_reductions_form_one_kernel),
        cmocka_unit_test(matmul_takes_its_epilogue_and_stores_computed_operands),
        cmocka_unit_test(a_matmul_read_by_a_reduction_is_stored),
        cmocka_unit_test(the_dump_lists_kernels_with_stored_and_inline_nodes),
        cmocka_unit_test(fusion_lowering_and_planning_report_nomem_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
