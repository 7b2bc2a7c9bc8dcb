/* test_kernel_cost.c - the FLOPs and bytes of a kernel that `mtc profile` reports
 * (ir/kernel_cost.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "codegen/cpu.h"
#include "ir/alloc.h"
#include "ir/kernel_cost.h"
#include "passes/schedule.h"
#include "tests/support/failing_alloc.h"

/* x : f32[n] -> y : f32[n], with buffers b0 (input) and b1 (output). */
static mt_kprog *vector_prog(int64_t n, int *in, int *out)
{
    mt_kprog *p = mt_kprog_new("t");
    assert_non_null(p);
    mt_type t = mt_type_make(MT_DTYPE_F32, 1, (int64_t[]){n});
    *in = mt_kprog_add_buf(p, MT_KBUF_INPUT, &t, 0, "x");
    *out = mt_kprog_add_buf(p, MT_KBUF_OUTPUT, &t, 1, "y");
    p->bufs[*out].output = 0;
    return p;
}

static mt_kcost cost_of(mt_kprog *p, mt_kstmt *body, int nloops, int nscalars)
{
    mt_ktype types[4] = {MT_KT_F32, MT_KT_F32, MT_KT_F32, MT_KT_F32};
    mt_kernel k = {.name = "k0",
                   .root = 1,
                   .nloops = nloops,
                   .nscalars = nscalars,
                   .scalar_types = types,
                   .body = body};
    assert_true(mt_kernel_collect_bufs(p, &k));
    mt_kcost c;
    mt_diag d;
    mt_diag_init(&d);
    assert_int_equal(mt_kernel_cost(p, &k, &c, &d), MT_OK);
    mt_diag_fini(&d);
    return c;
}

static void a_value_used_twice_in_one_expression_counts_once(void **state)
{
    (void)state;
    int in, out;
    mt_kprog *p = vector_prog(100, &in, &out);
    mt_kstmt *loop = mt_ks_for(p, 0, 100, MT_KLOOP_PARALLEL);
    mt_kexpr *i = mt_kx_var(p, 0, 100);
    mt_kexpr *e = mt_kx_unary(p, MT_KX_EXP, mt_kx_load(p, in, MT_KT_F32, i));
    loop->body = mt_ks_store(p, out, i, mt_kx_binary(p, MT_KX_MUL, e, e)); /* exp(x)^2 */
    mt_kcost c = cost_of(p, loop, 1, 0);
    assert_true(c.flops == 200.0); /* one exp and one multiply per element */
    assert_true(c.bytes == 800.0); /* 100 floats read, 100 written */
    mt_kprog_free(p);
}

static void nested_loops_multiply_the_operations_of_their_body(void **state)
{
    (void)state;
    int in, out;
    mt_kprog *p = vector_prog(200, &in, &out);
    /* for i0 < 10 { s0 = 0; for i1 < 20 { s0 = s0 + x[i0*20+i1] * x[i0*20+i1] }; y[i0] = s0 } */
    mt_kstmt *outer = mt_ks_for(p, 0, 10, MT_KLOOP_PARALLEL);
    mt_kstmt *inner = mt_ks_for(p, 1, 20, MT_KLOOP_REDUCE);
    mt_kexpr *at = mt_kx_binary(p, MT_KX_ADD,
                                mt_kx_binary(p, MT_KX_MUL, mt_kx_var(p, 0, 10), mt_kx_int(p, 20)),
                                mt_kx_var(p, 1, 20));
    mt_kexpr *x = mt_kx_load(p, in, MT_KT_F32, at);
    mt_kexpr *acc = mt_kx_scalar(p, 0, MT_KT_F32);
    inner->body =
        mt_ks_set(p, 0, mt_kx_binary(p, MT_KX_ADD, acc, mt_kx_binary(p, MT_KX_MUL, x, x)));
    mt_kblock b = {0};
    mt_kblock_append(&b, mt_ks_decl(p, 0, mt_kx_float(p, MT_KT_F32, 0.0)));
    mt_kblock_append(&b, inner);
    mt_kblock_append(&b, mt_ks_store(p, out, mt_kx_var(p, 0, 10), acc));
    outer->body = b.first;
    mt_kcost c = cost_of(p, outer, 2, 1);
    assert_true(c.flops == 10.0 * 20.0 * 2.0); /* index arithmetic is not counted */
    assert_true(c.bytes == 1600.0);            /* both buffers at their full size */
    mt_kprog_free(p);
}

static void a_matmul_counts_two_flops_per_multiply_add(void **state)
{
    (void)state;
    const char *text = "mtir 1\n"
                       "graph g {\n"
                       "  input %a : f32[4,8]\n"
                       "  input %b : f32[8,16]\n"
                       "  %c = matmul %a, %b\n"
                       "  output %c\n"
                       "}\n";
    mt_diag d;
    mt_diag_init(&d);
    mt_graph *g = NULL;
    mt_kprog *p = NULL;
    assert_int_equal(mt_graph_parse(text, strlen(text), "g.mt", &g, &d), MT_OK);
    assert_int_equal(mt_schedule(g, mt_target_desc_cpu(), &p, &d), MT_OK);
    assert_int_equal(p->nkernels, 1);
    mt_kcost c;
    assert_int_equal(mt_kernel_cost(p, &p->kernels[0], &c, &d), MT_OK);
    assert_true(c.flops == 2.0 * 4 * 16 * 8);
    assert_true(c.bytes == 4.0 * (4 * 8 + 8 * 16 + 4 * 16));
    mt_kprog_free(p);
    mt_graph_free(g);
    mt_diag_fini(&d);
}

static void counting_reports_running_out_of_memory(void **state)
{
    (void)state;
    int in, out;
    mt_kprog *p = vector_prog(8, &in, &out);
    mt_kstmt *loop = mt_ks_for(p, 0, 8, MT_KLOOP_PARALLEL);
    mt_kexpr *i = mt_kx_var(p, 0, 8);
    loop->body =
        mt_ks_store(p, out, i, mt_kx_unary(p, MT_KX_TANH, mt_kx_load(p, in, MT_KT_F32, i)));
    mt_kernel k = {.name = "k0", .root = 1, .nloops = 1, .body = loop};
    assert_true(mt_kernel_collect_bufs(p, &k));
    mt_kcost c;
    mt_diag d;
    mt_diag_init(&d);
    mt_test_alloc_fail_after(0);
    mt_status st = mt_kernel_cost(p, &k, &c, &d);
    mt_test_alloc_restore();
    assert_int_equal(st, MT_ERR_NOMEM);
    assert_int_equal(mt_test_alloc_live(), 0);
    mt_diag_fini(&d);
    mt_kprog_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_value_used_twice_in_one_expression_counts_once),
        cmocka_unit_test(nested_loops_multiply_the_operations_of_their_body),
        cmocka_unit_test(a_matmul_counts_two_flops_per_multiply_add),
        cmocka_unit_test(counting_reports_running_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
