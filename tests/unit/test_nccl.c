/* test_nccl.c - the cuda target's NCCL allreduce, as far as a machine without a GPU can check.
 *
 * libnccl.so.2 is loaded the way the cuda target loads it (codegen/nccl.c: dlopen, never
 * linked) and every entry point mtc calls must resolve, at a version with ncclAvg. Running
 * ncclAllReduce needs a GPU per rank: tests/mpi/gpu.sh does that where one is lent (the
 * mpi_cuda test; docs/distributed.md). Skipped (77) where libnccl cannot be loaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "codegen/nccl.h"

static void every_entry_point_mtc_calls_resolves(void **state)
{
    (void)state;
    char err[256] = "";
    if (!mt_nccl_load(err, sizeof err))
        fail_msg("%s", err);
    assert_string_equal(err, "");
}

static void the_library_is_new_enough_for_ncclavg(void **state)
{
    (void)state;
    int v = mt_nccl_version();
    printf("NCCL %d.%d.%d\n", v / 10000, v / 100 % 100, v % 100);
    assert_true(v >= 21000);
}

static void without_an_mpi_world_nccl_is_not_used(void **state)
{
    (void)state;
    /* One rank: the cuda target leaves the buffer alone instead of starting a communicator. */
    assert_false(mt_nccl_wanted());
}

int main(void)
{
    char err[256];
    if (!mt_nccl_load(err, sizeof err)) {
        printf("skipped: %s\n", err);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_entry_point_mtc_calls_resolves),
        cmocka_unit_test(the_library_is_new_enough_for_ncclavg),
        cmocka_unit_test(without_an_mpi_world_nccl_is_not_used),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
