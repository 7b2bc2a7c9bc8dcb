/* test_type.c - shapes and broadcasting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ir/type.h"

static mt_type t2(int64_t a, int64_t b)
{
    int64_t d[] = {a, b};
    return mt_type_make(MT_DTYPE_F32, 2, d);
}

static void broadcast_stretches_size_one_axes(void **state)
{
    (void)state;
    mt_type a = t2(4, 1), b = t2(1, 3), r;
    assert_true(mt_broadcast_shapes(&a, &b, &r));
    assert_int_equal(r.rank, 2);
    assert_int_equal(r.dims[0], 4);
    assert_int_equal(r.dims[1], 3);
}

static void broadcast_rejects_mismatched_axes(void **state)
{
    (void)state;
    mt_type a = t2(4, 3), r;
    int64_t five = 5;
    mt_type b = mt_type_make(MT_DTYPE_F32, 1, &five);
    assert_false(mt_broadcast_shapes(&a, &b, &r));
}

static void numel_of_absurd_dims_is_an_error_not_a_wraparound(void **state)
{
    (void)state;
    int64_t d[] = {INT64_C(1) << 31, INT64_C(1) << 31, 4};
    mt_type t = mt_type_make(MT_DTYPE_F64, 3, d);
    assert_true(mt_type_numel(&t) < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(broadcast_stretches_size_one_axes),
        cmocka_unit_test(broadcast_rejects_mismatched_axes),
        cmocka_unit_test(numel_of_absurd_dims_is_an_error_not_a_wraparound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
