/* test_kernel.c - the kernel IR: index simplification, statements, buffers and the printer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ir/alloc.h"
#include "ir/kernel.h"
#include "tests/support/failing_alloc.h"

static mt_kprog *prog(void)
{
    mt_kprog *p = mt_kprog_new("t");
    assert_non_null(p);
    return p;
}

/* e prints as `want`. */
static void prints(const mt_kexpr *e, const char *want)
{
    assert_non_null(e);
    char *s = mt_kexpr_print(e);
    assert_non_null(s);
    if (strcmp(s, want) != 0)
        fail_msg("printed '%s', expected '%s'", s, want);
    mt_free(s);
}

static mt_kexpr *add(mt_kprog *p, mt_kexpr *a, mt_kexpr *b)
{
    return mt_kx_binary(p, MT_KX_ADD, a, b);
}
static mt_kexpr *mul(mt_kprog *p, mt_kexpr *a, int64_t c)
{
    return mt_kx_binary(p, MT_KX_MUL, a, mt_kx_int(p, c));
}
static mt_kexpr *divc(mt_kprog *p, mt_kexpr *a, int64_t c)
{
    return mt_kx_binary(p, MT_KX_DIV, a, mt_kx_int(p, c));
}
static mt_kexpr *modc(mt_kprog *p, mt_kexpr *a, int64_t c)
{
    return mt_kx_binary(p, MT_KX_MOD, a, mt_kx_int(p, c));
}

static void integer_constants_fold_and_identities_vanish(void **state)
{
    (void)state;
    mt_kprog *p = prog();
    mt_kexpr *i = mt_kx_var(p, 0, 10);
    prints(add(p, mt_kx_int(p, 2), mt_kx_int(p, 3)), "5");
    prints(add(p, i, mt_kx_int(p, 0)), "i0");
    prints(mul(p, i, 1), "i0");
    prints(mul(p, i, 0), "0");
    prints(add(p, add(p, i, mt_kx_int(p, 2)), mt_kx_int(p, 3)), "i0 + 5");
    prints(mul(p, mul(p, i, 3), 4), "i0 * 12");
    prints(mt_kx_binary(p, MT_KX_SUB, i, mt_kx_int(p, 4)), "i0 + -4");
    /* A loop of one iteration has the constant 0 as its variable. */
    prints(mt_kx_var(p, 1, 1), "0");
    mt_kprog_free(p);
}

static void division_and_remainder_split_row_major_offsets(void **state)
{
    (void)state;
    mt_kprog *p = prog();
    mt_kexpr *i = mt_kx_var(p, 0, 5), *j = mt_kx_var(p, 1, 4);
    mt_kexpr *flat = add(p, mul(p, i, 4), j); /* [5,4] row-major */
    prints(divc(p, flat, 4), "i0");
    prints(modc(p, flat, 4), "i1");
    prints(modc(p, j, 4), "i1"); /* j < 4 already */
    prints(divc(p, j, 4), "0");
    prints(divc(p, flat, 2), "i0 * 2 + i1 / 2"); /* 4 = 2*2 splits off exactly */
    prints(modc(p, flat, 2), "i1 % 2");
    prints(divc(p, divc(p, flat, 2), 2), "i0"); /* (x/2)/2 = x/4 */
    /* Not splittable: 3 does not divide the coefficient 4. */
    prints(divc(p, flat, 3), "(i0 * 4 + i1) / 3");
    mt_kprog_free(p);
}

static void regrouped_digits_divide_by_their_common_factor(void **state)
{
    (void)state;
    mt_kprog *p = prog();
    /* [24,24] read as [12,2,12,2]: the row i's digits regroup, the column j's stay below. */
    mt_kexpr *i = mt_kx_var(p, 0, 24), *j = mt_kx_var(p, 1, 24);
    mt_kexpr *flat = add(p, mul(p, i, 24), j);
    prints(divc(p, flat, 48), "i0 / 2");
    prints(modc(p, divc(p, flat, 24), 2), "i0 % 2");
    prints(modc(p, flat, 48), "i0 % 2 * 24 + i1");
    /* Not when the low part can reach the common factor: j < 25 may carry into i. */
    mt_kexpr *k = mt_kx_var(p, 2, 25);
    prints(divc(p, add(p, mul(p, i, 24), k), 48), "(i0 * 24 + i2) / 48");
    mt_kprog_free(p);
}

static void splitting_and_flattening_again_gives_the_flat_index(void **state)
{
    (void)state;
    mt_kprog *p = prog();
    /* A merged loop over [3,17] split into (x / 17, x % 17), flattened again. */
    mt_kexpr *x = mt_kx_var(p, 0, 51);
    prints(add(p, mul(p, divc(p, x, 17), 17), modc(p, x, 17)), "i0");
    /* Three axes [2,3,5]: (x/15)*15 + ((x/5)%3)*5 + x%5. */
    mt_kexpr *y = mt_kx_var(p, 1, 30);
    mt_kexpr *back = add(
        p, add(p, mul(p, divc(p, y, 15), 15), mul(p, modc(p, divc(p, y, 5), 3), 5)), modc(p, y, 5));
    prints(back, "i1");
    mt_kprog_free(p);
}

static void clamps_and_bounds_checks_fold_when_ranges_allow(void **state)
{
    (void)state;
    mt_kprog *p = prog();
    mt_kexpr *i = mt_kx_var(p, 0, 8);
    mt_kexpr *lo = mt_kx_binary(p, MT_KX_MAX, i, mt_kx_int(p, 0));
    prints(lo, "i0");
    prints(mt_kx_binary(p, MT_KX_MIN, i, mt_kx_int(p, 7)), "i0");
    prints(mt_kx_binary(p, MT_KX_MIN, i, mt_kx_int(p, 5)), "min(i0, 5)");
    prints(mt_kx_binary(p, MT_KX_GE, i, mt_kx_int(p, 0)), "true");
    prints(mt_kx_binary(p, MT_KX_LT, i, mt_kx_int(p, 8)), "true");
    prints(mt_kx_binary(p, MT_KX_LT, i, mt_kx_int(p, 5)), "i0 < 5");
    mt_kexpr *t = mt_kx_uint(p, MT_KT_BOOL, 1), *c = mt_kx_binary(p, MT_KX_LT, i, mt_kx_int(p, 5));
    prints(mt_kx_binary(p, MT_KX_AND, t, c), "i0 < 5");
    prints(mt_kx_binary(p, MT_KX_OR, t, c), "true");
    mt_kexpr *a = mt_kx_float(p, MT_KT_F32, 1.5), *b = mt_kx_float(p, MT_KT_F32, 2.0);
    prints(mt_kx_select(p, t, a, b), "1.5f");
    prints(mt_kx_select(p, c, a, b), "select(i0 < 5, 1.5f, 2.0f)");
    mt_kprog_free(p);
}

static void expressions_print_with_minimal_parentheses(void **state)
{
    (void)state;
    mt_kprog *p = prog();
    mt_kexpr *x = mt_kx_load(p, 2, MT_KT_F64, mt_kx_var(p, 0, 4));
    mt_kexpr *y = mt_kx_scalar(p, 1, MT_KT_F64);
    prints(mt_kx_binary(p, MT_KX_MUL, mt_kx_binary(p, MT_KX_ADD, x, y), y), "(b2[i0] + s1) * s1");
    prints(mt_kx_binary(p, MT_KX_SUB, x, mt_kx_binary(p, MT_KX_SUB, y, x)),
           "b2[i0] - (s1 - b2[i0])");
    prints(mt_kx_unary(p, MT_KX_EXP, mt_kx_unary(p, MT_KX_NEG, x)), "exp(neg(b2[i0]))");
    prints(mt_kx_cast(p, MT_KT_F32, x), "f32(b2[i0])");
    prints(mt_kx_uint(p, MT_KT_U32, 0xD2511F53u), "0xd2511f53u");
    prints(mt_kx_float(p, MT_KT_F64, -1.0 / 0.0), "-inf");
    mt_kprog_free(p);
}

static void structurally_equal_expressions_compare_equal(void **state)
{
    (void)state;
    mt_kprog *p = prog();
    mt_kexpr *a = add(p, mul(p, mt_kx_var(p, 0, 9), 3), mt_kx_var(p, 1, 3));
    mt_kexpr *b = add(p, mul(p, mt_kx_var(p, 0, 9), 3), mt_kx_var(p, 1, 3));
    mt_kexpr *c = add(p, mul(p, mt_kx_var(p, 0, 9), 3), mt_kx_var(p, 2, 3));
    assert_true(mt_kx_equal(a, b));
    assert_false(mt_kx_equal(a, c));
    mt_kprog_free(p);
}

static void a_program_prints_its_buffers_and_loops(void **state)
{
    (void)state;
    mt_kprog *p = prog();
    mt_type t = mt_type_make(MT_DTYPE_F32, 2, (int64_t[]){3, 4});
    int in = mt_kprog_add_buf(p, MT_KBUF_INPUT, &t, 0, "x");
    int out = mt_kprog_add_buf(p, MT_KBUF_OUTPUT, &t, 1, "y");
    p->bufs[out].output = 0;
    mt_kstmt *outer = mt_ks_for(p, 0, 3, MT_KLOOP_PARALLEL), *inner = mt_ks_for(p, 1, 4, 0);
    mt_kexpr *at = add(p, mul(p, mt_kx_var(p, 0, 3), 4), mt_kx_var(p, 1, 4));
    mt_kexpr *v = mt_kx_unary(p, MT_KX_EXP, mt_kx_load(p, in, MT_KT_F32, at));
    mt_kblock body = {0};
    mt_kblock_append(&body, mt_ks_store(p, out, at, v));
    inner->body = body.first;
    outer->body = inner;
    mt_kernel k = {.name = "k0", .root = 1, .note = "%y: exp", .nloops = 2, .body = outer};
    assert_true(mt_kernel_collect_bufs(p, &k));
    assert_int_equal(k.nbufs, 2);
    assert_int_equal(k.access[0], MT_KACC_READ);
    assert_int_equal(k.access[1], MT_KACC_WRITE);
    assert_true(mt_kernel_is_parallel(&k));
    assert_int_equal(mt_kprog_add_kernel(p, &k), 0);
    char *s = mt_kprog_print(p);
    assert_non_null(s);
    assert_string_equal(s, "program t: 2 buffers, 1 kernels, arena 0 bytes\n"
                           "buffer b0 %x : f32[3,4] input\n"
                           "buffer b1 %y : f32[3,4] output 0\n"
                           "\n"
                           "kernel k0(b0 r, b1 w) {  # %y: exp\n"
                           "  for i0 in 0..3 parallel {\n"
                           "    for i1 in 0..4 {\n"
                           "      b1[i0 * 4 + i1] = exp(b0[i0 * 4 + i1])\n"
                           "    }\n"
                           "  }\n"
                           "}\n");
    mt_free(s);
    mt_kprog_free(p);
}

/* ---- allocation failures --------------------------------------------------------------- */

static void constructors_return_null_when_memory_runs_out(void **state)
{
    (void)state;
    /* Fail the 1st, 2nd, ... allocation until none fails: every failure is a NULL result,
     * never a crash (ASan would see one). 2000 expressions span several arena chunks. */
    long fail_at;
    for (fail_at = 1;; fail_at++) {
        mt_test_alloc_fail_nth(fail_at);
        mt_kprog *p = mt_kprog_new("t");
        int ok = p != NULL;
        for (int i = 0; i < 2000 && ok; i++)
            ok = add(p, mul(p, mt_kx_var(p, i, 10), 3), mt_kx_var(p, i + 1, 3)) != NULL;
        mt_test_alloc_restore();
        mt_kprog_free(p);
        if (ok)
            break;
    }
    assert_true(fail_at > 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(integer_constants_fold_and_identities_vanish),
        cmocka_unit_test(division_and_remainder_split_row_major_offsets),
        cmocka_unit_test(regrouped_digits_divide_by_their_common_factor),
        cmocka_unit_test(splitting_and_flattening_again_gives_the_flat_index),
        cmocka_unit_test(clamps_and_bounds_checks_fold_when_ranges_allow),
        cmocka_unit_test(expressions_print_with_minimal_parentheses),
        cmocka_unit_test(structurally_equal_expressions_compare_equal),
        cmocka_unit_test(a_program_prints_its_buffers_and_loops),
        cmocka_unit_test(constructors_return_null_when_memory_runs_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
