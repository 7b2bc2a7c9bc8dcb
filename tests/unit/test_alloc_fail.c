/* test_alloc_fail.c - every allocation of a whole training step, and of `mtc compile`, may fail.
 *
 * The k-th request to mt_malloc/mt_calloc/mt_realloc is refused, for every k from the first to
 * the last of a run that succeeds (tests/support/failing_alloc.c counts them). Each refusal must
 * end in MT_ERR_NOMEM, or in the right answer where the library could do without the memory
 * (a thread pool, a cache entry), never in a crash, a wrong answer or another error; and every
 * block allocated through mt_malloc must have been freed at the end (counted, so a leak shows
 * without a leak checker; the ASan build checks the rest, LLVM's own allocations included).
 *
 *   parse -> mt_pass_step (SGD with momentum) -> mt_program_compile (cpu) -> set -> run -> get
 *   parse -> mt_aot_compile (`mtc compile`: the .so and its header, into a temporary directory)
 *
 * Compiled kernels come from the kernel cache after the first compile (ctest points
 * MTC_CACHE_DIR into the build tree), so most of the thousands of runs only link; the cache's
 * own reads and writes are then among the allocations refused. MT_ALLOC_FAIL_STRIDE=N tries
 * every N-th k only (for a quick look; the default, 1, is every k).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codegen/aot.h"
#include "tests/support/failing_alloc.h"
#include "ir/alloc.h"
#include "ir/graph.h"
#include "mtc/mtc.h"
#include "passes/optim.h"

static const char *loss_text = "mtir 1\n"
                               "graph reg {\n"
                               "  input %x : f32[4,3]\n"
                               "  input %y : f32[4,2]\n"
                               "  param %w : f32[3,2]\n"
                               "  param %b : f32[2]\n"
                               "  %m = matmul %x, %w\n"
                               "  %z = add %m, %b\n"
                               "  %h = tanh %z\n"
                               "  %d = sub %h, %y\n"
                               "  %s = mul %d, %d\n"
                               "  %loss = mean %s\n"
                               "  output %loss\n"
                               "}\n";

static const float X[12] = {0.5f, -1, 2, 0.25f, 1, -0.5f, 1.5f, 0, -2, 0.75f, 0.5f, 1};
static const float Y[8] = {0.1f, -0.2f, 0.3f, 0.4f, -0.5f, 0.6f, 0.7f, -0.8f};
static const float W[6] = {0.2f, -0.4f, 0.6f, 0.1f, -0.3f, 0.5f};
static const float B[2] = {0.05f, -0.05f};

static long stride = 1;

/* One run of the whole training step; *w_out gets the trained w (3x2) and *loss the loss. */
static mt_status train_step(float *w_out, float *loss)
{
    mt_diag d;
    mt_diag_init(&d);
    mt_graph *g = NULL, *step = NULL;
    mt_program *p = NULL;
    mt_optim o;
    mt_optim_defaults(&o, MT_OPTIM_SGD);
    o.lr = 0.1;
    o.momentum = 0.9;
    mt_status st = mt_graph_parse(loss_text, strlen(loss_text), "reg.mt", &g, &d);
    if (st == MT_OK)
        st = mt_pass_step(g, &o, NULL, 0, &step, &d);
    if (st == MT_OK)
        st = mt_program_compile(step, "cpu", &p, &d);
    if (st == MT_OK)
        st = mt_program_set(p, "x", X, sizeof X, &d);
    if (st == MT_OK)
        st = mt_program_set(p, "y", Y, sizeof Y, &d);
    if (st == MT_OK)
        st = mt_program_set(p, "w", W, sizeof W, &d);
    if (st == MT_OK)
        st = mt_program_set(p, "b", B, sizeof B, &d);
    for (int run = 0; run < 2 && st == MT_OK; run++) /* the second step sees the momentum */
        st = mt_program_run(p, &d);
    if (st == MT_OK)
        st = mt_program_get(p, "w", w_out, 6 * sizeof *w_out, &d);
    if (st == MT_OK)
        st = mt_program_get(p, "loss", loss, sizeof *loss, &d);
    if (st != MT_OK && st != MT_ERR_NOMEM)
        print_error("error %d: %s\n", (int)st, d.msg);
    mt_program_free(p);
    mt_graph_free(step);
    mt_graph_free(g);
    mt_diag_fini(&d);
    return st;
}

static void every_allocation_failure_of_a_training_step_is_a_clean_error(void **state)
{
    (void)state;
    float want_w[6], want_loss;
    mt_test_alloc_fail_nth(0); /* count, refuse nothing */
    assert_int_equal(train_step(want_w, &want_loss), MT_OK);
    long calls = mt_test_alloc_calls(), live = mt_test_alloc_live();
    mt_test_alloc_restore();
    assert_int_equal(live, 0);
    assert_true(calls > 100);
    long refused = 0, survived = 0;
    for (long k = 1; k <= calls; k += stride) {
        float w[6], loss;
        mt_test_alloc_fail_nth(k);
        mt_status st = train_step(w, &loss);
        int failed = mt_test_alloc_failed();
        live = mt_test_alloc_live();
        mt_test_alloc_restore();
        if (live != 0)
            fail_msg("refusing allocation %ld of %ld leaked %ld blocks", k, calls, live);
        if (!failed) /* fewer requests this time (a path taken differently) */
            continue;
        if (st == MT_OK) {
            survived++;
            for (int i = 0; i < 6; i++)
                if (w[i] != want_w[i])
                    fail_msg("refusing allocation %ld: w[%d] = %g, not %g", k, i, w[i], want_w[i]);
        } else if (st != MT_ERR_NOMEM) {
            fail_msg("refusing allocation %ld of %ld gave status %d, not MT_ERR_NOMEM", k, calls,
                     (int)st);
        } else {
            refused++;
        }
    }
    printf("training step: %ld allocations; %ld refusals were errors, %ld were survived\n", calls,
           refused, survived);
    assert_true(refused > 0);
}

/* ---- mtc compile ----------------------------------------------------------------------- */

static char dir[256];

static void remove_files(void)
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    char path[512];
    while (dp && (e = readdir(dp)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (dp)
        closedir(dp);
}

/* Files in dir; *others counts those that are neither output (a temporary left behind). */
static int count_files(int *others)
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    int n = 0;
    *others = 0;
    while (dp && (e = readdir(dp)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        n++;
        *others += strcmp(e->d_name, "libreg.so") && strcmp(e->d_name, "reg.h");
    }
    if (dp)
        closedir(dp);
    return n;
}

static mt_status aot_compile(const mt_tensor_map *weights)
{
    mt_diag d;
    mt_diag_init(&d);
    mt_graph *g = NULL;
    char so[512], h[512];
    snprintf(so, sizeof so, "%s/libreg.so", dir);
    snprintf(h, sizeof h, "%s/reg.h", dir);
    mt_aot_options o = {.so_path = so, .header_path = h, .weights = weights};
    mt_status st = mt_graph_parse(loss_text, strlen(loss_text), "reg.mt", &g, &d);
    if (st == MT_OK)
        st = mt_aot_compile(g, &o, &d);
    if (st != MT_OK && st != MT_ERR_NOMEM)
        print_error("error %d: %s\n", (int)st, d.msg);
    mt_graph_free(g);
    mt_diag_fini(&d);
    return st;
}

static mt_tensor_map *weights(void)
{
    mt_tensor_map *m = mt_tensor_map_new();
    assert_non_null(m);
    mt_tensor *w = mt_tensor_new(mt_type_make(MT_DTYPE_F32, 2, (int64_t[]){3, 2}));
    mt_tensor *b = mt_tensor_new(mt_type_make(MT_DTYPE_F32, 1, (int64_t[]){2}));
    assert_non_null(w);
    assert_non_null(b);
    memcpy(w->data, W, sizeof W);
    memcpy(b->data, B, sizeof B);
    assert_int_equal(mt_tensor_map_put(m, "w", w), MT_OK);
    assert_int_equal(mt_tensor_map_put(m, "b", b), MT_OK);
    return m;
}

static void every_allocation_failure_of_mtc_compile_is_a_clean_error(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/mt_alloc_fail.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(dir));
    mt_tensor_map *w = weights(); /* made outside the counted runs */
    mt_test_alloc_fail_nth(0);
    assert_int_equal(aot_compile(w), MT_OK);
    long calls = mt_test_alloc_calls(), live = mt_test_alloc_live();
    mt_test_alloc_restore();
    assert_int_equal(live, 0);
    int others;
    assert_int_equal(count_files(&others), 2);
    assert_true(calls > 100);
    long refused = 0, survived = 0;
    for (long k = 1; k <= calls; k += stride) {
        remove_files();
        mt_test_alloc_fail_nth(k);
        mt_status st = aot_compile(w);
        int failed = mt_test_alloc_failed();
        live = mt_test_alloc_live();
        mt_test_alloc_restore();
        if (live != 0)
            fail_msg("refusing allocation %ld of %ld leaked %ld blocks", k, calls, live);
        if (!failed)
            continue;
        if (st == MT_OK) {
            survived++;
            if (count_files(&others) != 2)
                fail_msg("refusing allocation %ld: compiled, but %d files", k,
                         count_files(&others));
        } else if (st != MT_ERR_NOMEM) {
            fail_msg("refusing allocation %ld of %ld gave status %d, not MT_ERR_NOMEM", k, calls,
                     (int)st);
        } else {
            refused++;
            /* Each output is written whole or not at all (the .so may be written before the
             * header fails), and no temporary file is left behind. */
            count_files(&others);
            if (others != 0)
                fail_msg("refusing allocation %ld left %d temporary files", k, others);
        }
    }
    printf("mtc compile: %ld allocations; %ld refusals were errors, %ld were survived\n", calls,
           refused, survived);
    remove_files();
    rmdir(dir);
    mt_tensor_map_free(w);
    assert_true(refused > 0);
}

int main(void)
{
    const char *env = getenv("MT_ALLOC_FAIL_STRIDE");
    if (env && atol(env) > 0)
        stride = atol(env);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_allocation_failure_of_a_training_step_is_a_clean_error),
        cmocka_unit_test(every_allocation_failure_of_mtc_compile_is_a_clean_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
