/* test_program.c - the program API of mtc.h: compiling for a named target, binding by name,
 * running many times (codegen/program.c and the targets of codegen/targets.c).
 *
 * Most tests run on both targets that this build has, "interp" and "cpu": the API promises
 * the same behaviour whatever compiled the graph.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mtc/mtc.h"
#include "tests/support/failing_alloc.h"

static const char *const targets[] = {"interp", "cpu"};
#define NTARGETS 2

/* y = relu(x @ w + b), s = sum(y): an input, two params, two outputs. */
static const char affine_text[] = "mtir 1\n"
                                  "graph affine {\n"
                                  "  input %x : f32[2,3]\n"
                                  "  param %w : f32[3,2]\n"
                                  "  param %b : f32[2]\n"
                                  "  %m = matmul %x, %w\n"
                                  "  %a = add %m, %b\n"
                                  "  %y = relu %a\n"
                                  "  %s = sum %y\n"
                                  "  output %y, %s\n"
                                  "}\n";

static const float X[6] = {-2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f};
static const float W[6] = {0.5f, -1.0f, 2.0f, 0.25f, 1.0f, -0.5f};
static const float B[2] = {0.25f, -0.5f};

static mt_graph *parse(const char *text)
{
    mt_graph *g = NULL;
    mt_diag d;
    mt_diag_init(&d);
    if (mt_graph_parse(text, strlen(text), "test.mt", &g, &d) != MT_OK)
        fail_msg("parse: line %d: %s", d.line, d.msg);
    return g;
}

static mt_program *compile(const char *text, const char *target)
{
    mt_graph *g = parse(text);
    mt_program *p = NULL;
    mt_diag d;
    mt_diag_init(&d);
    if (mt_program_compile(g, target, &p, &d) != MT_OK)
        fail_msg("compile for %s: %s", target, d.msg);
    mt_graph_free(g); /* borrowed for the compile only */
    mt_diag_fini(&d);
    return p;
}

/* relu(x @ w + b) computed here, in the same order as the kernels sum (three terms). */
static void affine_by_hand(const float *x, const float *w, const float *b, float *y)
{
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            double acc = 0;
            for (int k = 0; k < 3; k++)
                acc += (double)x[i * 3 + k] * (double)w[k * 2 + j];
            double v = acc + b[j];
            y[i * 2 + j] = (float)(v > 0 ? v : 0);
        }
}

static void expect_close(const float *got, const float *want, int n)
{
    for (int i = 0; i < n; i++)
        if (fabsf(got[i] - want[i]) > 1e-5f * (1 + fabsf(want[i])))
            fail_msg("element %d: got %g, want %g", i, got[i], want[i]);
}

/* ---- introspection --------------------------------------------------------------------- */

static void slots_list_leaves_then_outputs_with_kind_and_type(void **state)
{
    (void)state;
    for (int t = 0; t < NTARGETS; t++) {
        mt_program *p = compile(affine_text, targets[t]);
        assert_string_equal(mt_program_target(p), targets[t]);
        assert_int_equal(mt_program_nslots(p), 5);
        static const char *names[] = {"x", "w", "b", "y", "s"};
        static const mt_slot_kind kinds[] = {MT_SLOT_INPUT, MT_SLOT_PARAM, MT_SLOT_PARAM,
                                             MT_SLOT_OUTPUT, MT_SLOT_OUTPUT};
        for (int i = 0; i < 5; i++) {
            assert_string_equal(mt_program_slot_name(p, i), names[i]);
            assert_int_equal(mt_program_slot_kind(p, i), kinds[i]);
            assert_int_equal(mt_program_find(p, names[i]), i);
        }
        assert_int_equal(mt_program_slot_type(p, 1)->rank, 2);
        assert_int_equal(mt_program_slot_type(p, 1)->dims[0], 3);
        assert_int_equal(mt_program_slot_nbytes(p, 0), 6 * sizeof(float));
        assert_int_equal(mt_program_slot_nbytes(p, 4), sizeof(float));
        assert_int_equal(mt_program_find(p, "m"), -1); /* an intermediate is not a slot */
        assert_null(mt_program_slot_name(p, 5));
        assert_null(mt_program_slot_type(p, -1));
        mt_program_free(p);
    }
}

static void targets_are_listed_and_unknown_or_deviceless_ones_are_errors(void **state)
{
    (void)state;
    assert_string_equal(mt_target_name(0), "interp");
    assert_string_equal(mt_target_name(1), "cpu");
    assert_null(mt_target_name(4));
    mt_graph *g = parse(affine_text);
    mt_program *p = (mt_program *)1;
    mt_diag d;
    mt_diag_init(&d);
    assert_int_equal(mt_program_compile(g, "tpu", &p, &d), MT_ERR_ARG);
    assert_null(p);
    assert_non_null(strstr(d.msg, "unknown target 'tpu'"));
    assert_non_null(strstr(d.msg, "interp, cpu, cuda or opencl"));
    /* The GPU targets are in every build; without their library or a device, compiling for
     * them is a backend error that names the target and what is missing. */
    for (int i = 0; i < 2; i++) {
        const char *name = i ? "opencl" : "cuda";
        mt_diag_fini(&d);
        mt_diag_init(&d);
        mt_status st = mt_program_compile(g, name, &p, &d);
        if (st == MT_OK) {
            mt_program_free(p);
            continue;
        }
        assert_int_equal(st, MT_ERR_BACKEND);
        assert_null(p);
        assert_non_null(strstr(d.msg, name));
    }
    mt_graph_free(g);
    mt_diag_fini(&d);
}

/* ---- binding and running --------------------------------------------------------------- */

static void inputs_and_params_bind_by_name_and_outputs_land_in_caller_buffers(void **state)
{
    (void)state;
    float want[4];
    affine_by_hand(X, W, B, want);
    for (int t = 0; t < NTARGETS; t++) {
        mt_program *p = compile(affine_text, targets[t]);
        mt_diag d;
        mt_diag_init(&d);
        float y[4], s = NAN;
        memset(y, 0xff, sizeof y); /* NaNs: every element must be written */
        assert_int_equal(mt_program_bind_input(p, "x", X, sizeof X, &d), MT_OK);
        assert_int_equal(mt_program_set(p, "w", W, sizeof W, &d), MT_OK);
        assert_int_equal(mt_program_set(p, "b", B, sizeof B, &d), MT_OK);
        assert_int_equal(mt_program_bind_output(p, "y", y, sizeof y, &d), MT_OK);
        assert_int_equal(mt_program_run(p, &d), MT_OK);
        expect_close(y, want, 4);
        assert_ptr_equal(mt_program_data(p, "y"), y); /* written in place, not copied */
        assert_ptr_equal(mt_program_data(p, "x"), X); /* borrowed, not copied */
        /* The unbound output went to the program's own buffer. */
        assert_int_equal(mt_program_get(p, "s", &s, sizeof s, &d), MT_OK);
        expect_close(&s, (float[]){want[0] + want[1] + want[2] + want[3]}, 1);
        const float *own = mt_program_data(p, "s");
        assert_non_null(own);
        /* Rebinding the input reads the new buffer; the program's buffer stays the same. */
        float x2[6];
        for (int i = 0; i < 6; i++)
            x2[i] = -X[i];
        float want2[4];
        affine_by_hand(x2, W, B, want2);
        assert_int_equal(mt_program_bind_input(p, "x", x2, sizeof x2, &d), MT_OK);
        assert_int_equal(mt_program_run(p, &d), MT_OK);
        expect_close(y, want2, 4);
        assert_ptr_equal(mt_program_data(p, "s"), own);
        /* Unbinding the output sends it back to a program-owned buffer. */
        float y2[4];
        assert_int_equal(mt_program_bind_output(p, "y", NULL, 0, &d), MT_OK);
        assert_int_equal(mt_program_run(p, &d), MT_OK);
        assert_ptr_not_equal(mt_program_data(p, "y"), y);
        assert_int_equal(mt_program_get(p, "y", y2, sizeof y2, &d), MT_OK);
        expect_close(y2, want2, 4);
        mt_program_free(p);
        mt_diag_fini(&d);
    }
}

static void params_start_at_zero_persist_between_runs_and_round_trip(void **state)
{
    (void)state;
    for (int t = 0; t < NTARGETS; t++) {
        mt_program *p = compile(affine_text, targets[t]);
        mt_diag d;
        mt_diag_init(&d);
        float got[6], y[4];
        assert_int_equal(mt_program_get(p, "w", got, sizeof got, &d), MT_OK);
        for (int i = 0; i < 6; i++)
            assert_true(got[i] == 0);
        assert_int_equal(mt_program_set(p, "w", W, sizeof W, &d), MT_OK);
        assert_int_equal(mt_program_set(p, "b", B, sizeof B, &d), MT_OK);
        assert_int_equal(mt_program_get(p, "w", got, sizeof got, &d), MT_OK);
        assert_memory_equal(got, W, sizeof W);
        /* The program copied w: the caller's array may change without changing the param. */
        float x[6];
        memcpy(x, X, sizeof x);
        assert_int_equal(mt_program_set(p, "x", x, sizeof x, &d), MT_OK);
        x[0] = 100;
        float want[4];
        affine_by_hand(X, W, B, want);
        for (int run = 0; run < 3; run++) {
            assert_int_equal(mt_program_run(p, &d), MT_OK);
            assert_int_equal(mt_program_get(p, "y", y, sizeof y, &d), MT_OK);
            expect_close(y, want, 4);
        }
        assert_int_equal(mt_program_get(p, "b", got, 2 * sizeof(float), &d), MT_OK);
        assert_memory_equal(got, B, sizeof B);
        mt_program_free(p);
        mt_diag_fini(&d);
    }
}

static void load_feeds_every_leaf_by_name_and_outputs_collects_them(void **state)
{
    (void)state;
    float want[4];
    affine_by_hand(X, W, B, want);
    for (int t = 0; t < NTARGETS; t++) {
        mt_program *p = compile(affine_text, targets[t]);
        mt_tensor_map *m = mt_tensor_map_new();
        const float *values[] = {X, W, B};
        const int64_t dims[][2] = {{2, 3}, {3, 2}, {2, 1}};
        const char *names[] = {"x", "w", "b"};
        for (int i = 0; i < 3; i++) {
            mt_tensor *v = mt_tensor_new(mt_type_make(MT_DTYPE_F32, i == 2 ? 1 : 2, dims[i]));
            memcpy(mt_tensor_data(v), values[i], mt_tensor_nbytes(v));
            assert_int_equal(mt_tensor_map_put(m, names[i], v), MT_OK);
        }
        assert_int_equal(
            mt_tensor_map_put(m, "extra", mt_tensor_new(mt_type_make(MT_DTYPE_F64, 0, NULL))),
            MT_OK);
        mt_diag d;
        mt_diag_init(&d);
        mt_tensor_map *out = NULL;
        assert_int_equal(mt_program_outputs(p, &out, &d), MT_ERR_ARG); /* nothing run yet */
        assert_non_null(strstr(d.msg, "run the program first"));
        mt_diag_fini(&d);
        mt_diag_init(&d);
        assert_int_equal(mt_program_load(p, m, "in.safetensors", &d), MT_OK);
        assert_int_equal(mt_program_run(p, &d), MT_OK);
        assert_int_equal(mt_program_outputs(p, &out, &d), MT_OK);
        assert_int_equal(mt_tensor_map_count(out), 2);
        assert_string_equal(mt_tensor_map_name(out, 0), "y");
        assert_string_equal(mt_tensor_map_name(out, 1), "s");
        expect_close(mt_tensor_data(mt_tensor_map_get(out, "y")), want, 4);
        mt_tensor_map_free(out);
        mt_tensor_map_free(m);
        mt_program_free(p);
        mt_diag_fini(&d);
    }
}

/* An output may be a leaf, or be listed twice; each distinct name is one output slot. */
static void outputs_that_are_leaves_or_repeated_are_one_slot_each(void **state)
{
    (void)state;
    const char *text = "mtir 1\n"
                       "graph g {\n"
                       "  input %x : f64[3]\n"
                       "  %y = mul %x, %x\n"
                       "  %z = mul %x, %x\n"
                       "  output %y, %x, %y, %z\n"
                       "}\n";
    const double x[3] = {1, -2, 0.5};
    for (int t = 0; t < NTARGETS; t++) {
        mt_program *p = compile(text, targets[t]);
        assert_int_equal(mt_program_nslots(p), 4); /* x, then outputs y, x, z */
        assert_int_equal(mt_program_slot_kind(p, 2), MT_SLOT_OUTPUT);
        assert_string_equal(mt_program_slot_name(p, 2), "x");
        mt_diag d;
        mt_diag_init(&d);
        double y[3], xo[3], z[3];
        memset(z, 0xff, sizeof z);
        assert_int_equal(mt_program_set(p, "x", x, sizeof x, &d), MT_OK);
        assert_int_equal(mt_program_bind_output(p, "x", xo, sizeof xo, &d), MT_OK);
        assert_int_equal(mt_program_bind_output(p, "z", z, sizeof z, &d), MT_OK);
        assert_int_equal(mt_program_run(p, &d), MT_OK);
        assert_int_equal(mt_program_get(p, "y", y, sizeof y, &d), MT_OK);
        for (int i = 0; i < 3; i++) {
            assert_true(y[i] == x[i] * x[i]);
            assert_true(z[i] == x[i] * x[i]); /* cse makes z y's buffer on cpu: copied */
            assert_true(xo[i] == x[i]);
        }
        mt_program_free(p);
        mt_diag_fini(&d);
    }
}

/* ---- errors ---------------------------------------------------------------------------- */

static void expect_error(mt_status got, mt_diag *d, const char *a, const char *b)
{
    if (got != MT_ERR_ARG)
        fail_msg("status %s (%s), want MT_ERR_ARG", mt_status_name(got), d->msg);
    if (!strstr(d->msg, a) || (b && !strstr(d->msg, b)))
        fail_msg("message '%s' lacks '%s'%s%s", d->msg, a, b ? " or " : "", b ? b : "");
    mt_diag_fini(d);
    mt_diag_init(d);
}

static void wrong_names_sizes_shapes_and_dtypes_are_errors_naming_the_value(void **state)
{
    (void)state;
    for (int t = 0; t < NTARGETS; t++) {
        mt_program *p = compile(affine_text, targets[t]);
        mt_diag d;
        mt_diag_init(&d);
        float buf[8] = {0};
        expect_error(mt_program_set(p, "q", buf, 8, &d), &d, "'q'", NULL);
        expect_error(mt_program_set(p, "y", buf, 16, &d), &d, "%y is an output", NULL);
        expect_error(mt_program_set(p, "w", buf, 20, &d), &d, "%w is f32[3,2] (24 bytes)",
                     "20 bytes");
        expect_error(mt_program_set(p, "w", NULL, 24, &d), &d, "%w", "NULL");
        expect_error(mt_program_bind_input(p, "w", buf, 24, &d), &d, "%w is a param", NULL);
        expect_error(mt_program_bind_input(p, "x", buf, 4, &d), &d, "%x is f32[2,3]", NULL);
        expect_error(mt_program_bind_output(p, "x", buf, 24, &d), &d, "no output named 'x'", NULL);
        expect_error(mt_program_bind_output(p, "s", buf, 8, &d), &d, "%s is f32[]", "8 bytes");
        expect_error(mt_program_get(p, "nope", buf, 4, &d), &d, "'nope'", NULL);
        expect_error(mt_program_get(p, "y", buf, 16, &d), &d, "%y has no value yet", NULL);
        expect_error(mt_program_run(p, &d), &d, "input %x is not set", NULL);
        expect_error(mt_program_set_threads(p, 0, &d), &d, ">= 1", NULL);

        /* Typed setters check dtype and shape and name both types. */
        mt_tensor *wide = mt_tensor_new(mt_type_make(MT_DTYPE_F64, 2, (int64_t[]){3, 2}));
        mt_tensor *turned = mt_tensor_new(mt_type_make(MT_DTYPE_F32, 2, (int64_t[]){2, 3}));
        expect_error(mt_program_set_tensor(p, "w", wide, &d), &d, "f64[3,2]",
                     "%w is declared f32[3,2]");
        expect_error(mt_program_set_tensor(p, "w", turned, &d), &d, "f32[2,3]",
                     "%w is declared f32[3,2]");
        mt_tensor_map *m = mt_tensor_map_new();
        assert_int_equal(mt_tensor_map_put(m, "w", turned), MT_OK);
        expect_error(mt_program_load(p, m, "in.safetensors", &d), &d,
                     "missing tensor 'x' for input %x", NULL);
        mt_tensor *x = mt_tensor_new(mt_type_make(MT_DTYPE_F32, 2, (int64_t[]){2, 3}));
        assert_int_equal(mt_tensor_map_put(m, "x", x), MT_OK);
        mt_status st = mt_program_load(p, m, "in.safetensors", &d);
        assert_string_equal(d.file, "in.safetensors");
        expect_error(st, &d, "tensor 'w' is f32[2,3] but %w is declared f32[3,2]", NULL);
        /* Nothing was set by the failed loads. */
        assert_null(mt_program_data(p, "x"));
        mt_tensor_map_free(m);
        mt_tensor_free(wide);
        mt_program_free(p);
        mt_diag_fini(&d);
    }
}

static void a_graph_with_a_builder_error_does_not_compile(void **state)
{
    (void)state;
    mt_graph *g = mt_graph_new("bad");
    int x = mt_input(g, "x", mt_type_make(MT_DTYPE_F32, 1, (int64_t[]){3}));
    int w = mt_input(g, "w", mt_type_make(MT_DTYPE_F32, 1, (int64_t[]){4}));
    assert_int_equal(mt_add(g, x, w), -1);
    mt_program *p = NULL;
    mt_diag d;
    mt_diag_init(&d);
    assert_int_equal(mt_program_compile(g, "interp", &p, &d), MT_ERR_ARG);
    assert_non_null(strstr(d.msg, "builder error"));
    assert_null(p);
    mt_graph_free(g);
    mt_diag_fini(&d);
}

/* ---- many runs ------------------------------------------------------------------------- */

/* A thousand runs: the cpu target allocates nothing per run, the interpreter frees all it
 * allocates (LSan watches the rest in the sanitizer build). */
static void a_thousand_runs_do_not_grow_memory(void **state)
{
    (void)state;
    float want[4];
    affine_by_hand(X, W, B, want);
    for (int t = 0; t < NTARGETS; t++) {
        mt_program *p = compile(affine_text, targets[t]);
        mt_diag d;
        mt_diag_init(&d);
        float y[4];
        assert_int_equal(mt_program_bind_input(p, "x", X, sizeof X, &d), MT_OK);
        assert_int_equal(mt_program_set(p, "w", W, sizeof W, &d), MT_OK);
        assert_int_equal(mt_program_set(p, "b", B, sizeof B, &d), MT_OK);
        assert_int_equal(mt_program_bind_output(p, "y", y, sizeof y, &d), MT_OK);
        assert_int_equal(mt_program_run(p, &d), MT_OK); /* the first run may set up threads */
        mt_test_alloc_fail_nth(0);                      /* count, refuse nothing */
        mt_status st = MT_OK;
        for (int run = 0; run < 1000 && st == MT_OK; run++)
            st = mt_program_run(p, &d);
        long calls = mt_test_alloc_calls(), live = mt_test_alloc_live();
        mt_test_alloc_restore();
        assert_int_equal(st, MT_OK);
        assert_int_equal(live, 0);
        if (!strcmp(targets[t], "cpu"))
            assert_int_equal(calls, 0);
        expect_close(y, want, 4);
        mt_program_free(p);
        mt_diag_fini(&d);
    }
}

/* A step graph: w <- w - 0.5 x (in place on cpu), and a counter state. A thousand steps keep
 * the params in the program, allocate nothing on cpu, and land where the arithmetic says. */
static void a_thousand_steps_keep_state_in_place_without_growth(void **state)
{
    (void)state;
    const char *text = "mtir 1\n"
                       "graph sgd {\n"
                       "  input %x : f32[4]\n"
                       "  param %w : f32[4]\n"
                       "  state %n : f32[]\n"
                       "  %xw = mul %x, %w\n"
                       "  %loss = sum %xw\n"
                       "  %lr = const value=0.5 : f32[]\n"
                       "  %g = mul %x, %lr\n"
                       "  %w.next = sub %w, %g\n"
                       "  %one = const value=1 : f32[]\n"
                       "  %n.next = add %n, %one\n"
                       "  update %w <- %w.next\n"
                       "  update %n <- %n.next\n"
                       "  output %loss\n"
                       "}\n";
    const float x[4] = {0.25f, -0.5f, 1, 2}, w0[4] = {1, 2, 3, 4};
    for (int t = 0; t < NTARGETS; t++) {
        mt_program *p = compile(text, targets[t]);
        mt_diag d;
        mt_diag_init(&d);
        float loss, w[4], n;
        assert_int_equal(mt_program_bind_input(p, "x", x, sizeof x, &d), MT_OK);
        assert_int_equal(mt_program_set(p, "w", w0, sizeof w0, &d), MT_OK);
        assert_int_equal(mt_program_bind_output(p, "loss", &loss, sizeof loss, &d), MT_OK);
        assert_int_equal(mt_program_run(p, &d), MT_OK);
        mt_test_alloc_fail_nth(0);
        mt_status st = MT_OK;
        for (int run = 1; run < 1000 && st == MT_OK; run++)
            st = mt_program_run(p, &d);
        long calls = mt_test_alloc_calls(), live = mt_test_alloc_live();
        mt_test_alloc_restore();
        assert_int_equal(st, MT_OK);
        assert_int_equal(live, 0);
        if (!strcmp(targets[t], "cpu"))
            assert_int_equal(calls, 0);
        assert_int_equal(mt_program_get(p, "w", w, sizeof w, &d), MT_OK);
        assert_int_equal(mt_program_get(p, "n", &n, sizeof n, &d), MT_OK);
        assert_float_equal(n, 1000.0f, 0);
        /* The last run read w after 999 steps: loss = sum(x * (w0 - 999 * 0.5 x)). */
        float want_loss = 0;
        for (int i = 0; i < 4; i++) {
            float wi = w0[i];
            for (int k = 0; k < 1000; k++) {
                if (k == 999)
                    want_loss += x[i] * wi;
                wi = wi - x[i] * 0.5f;
            }
            assert_float_equal(w[i], wi, 1e-3);
        }
        assert_float_equal(loss, want_loss, 1e-2);
        mt_program_free(p);
        mt_diag_fini(&d);
    }
}

/* The same with kernels big enough to be split over a pool of threads. */
static void runs_split_over_threads_allocate_nothing(void **state)
{
    (void)state;
    enum { N = 1 << 18 };
    const char *text = "mtir 1\n"
                       "graph big {\n"
                       "  input %x : f32[262144]\n"
                       "  param %a : f32[]\n"
                       "  %m = mul %x, %a\n"
                       "  %y = exp %m\n"
                       "  %s = sum %y\n"
                       "  output %y, %s\n"
                       "}\n";
    mt_program *p = compile(text, "cpu");
    float *x = test_malloc(N * sizeof *x), *y = test_malloc(N * sizeof *y), a = 0.5f, s = 0;
    for (int i = 0; i < N; i++)
        x[i] = (float)(i % 7) - 3;
    mt_diag d;
    mt_diag_init(&d);
    assert_int_equal(mt_program_set_threads(p, 2, &d), MT_OK);
    assert_int_equal(mt_program_bind_input(p, "x", x, N * sizeof *x, &d), MT_OK);
    assert_int_equal(mt_program_set(p, "a", &a, sizeof a, &d), MT_OK);
    assert_int_equal(mt_program_bind_output(p, "y", y, N * sizeof *y, &d), MT_OK);
    assert_int_equal(mt_program_run(p, &d), MT_OK);
    mt_test_alloc_fail_nth(0);
    mt_status st = MT_OK;
    for (int run = 0; run < 100 && st == MT_OK; run++)
        st = mt_program_run(p, &d);
    long calls = mt_test_alloc_calls();
    mt_test_alloc_restore();
    assert_int_equal(st, MT_OK);
    assert_int_equal(calls, 0);
    assert_int_equal(mt_program_get(p, "s", &s, sizeof s, &d), MT_OK);
    for (int i = 0; i < N; i += 997)
        assert_true(fabsf(y[i] - expf(x[i] * a)) <= 1e-6f * expf(x[i] * a));
    assert_true(s > 0);
    mt_program_free(p);
    test_free(x);
    test_free(y);
    mt_diag_fini(&d);
}

/* Every allocation of compiling, feeding and running on the interpreter may fail: each failure
 * is an error, never a crash or a leak. */
static void every_allocation_failure_is_a_clean_error(void **state)
{
    (void)state;
    mt_graph *g = parse(affine_text);
    for (long n = 1;; n++) {
        mt_test_alloc_fail_nth(n);
        mt_diag d;
        mt_diag_init(&d);
        mt_program *p = NULL;
        mt_tensor_map *out = NULL;
        mt_status st = mt_program_compile(g, "interp", &p, &d);
        if (st == MT_OK)
            st = mt_program_set(p, "x", X, sizeof X, &d);
        if (st == MT_OK)
            st = mt_program_run(p, &d);
        if (st == MT_OK)
            st = mt_program_outputs(p, &out, &d);
        mt_tensor_map_free(out);
        mt_program_free(p);
        mt_diag_fini(&d);
        int failed = mt_test_alloc_failed();
        long live = mt_test_alloc_live();
        mt_test_alloc_restore();
        assert_int_equal(live, 0);
        if (!failed) {
            assert_int_equal(st, MT_OK);
            break;
        }
        assert_int_not_equal(st, MT_OK);
    }
    mt_graph_free(g);
}

/* The two targets agree on a graph of movement, reduction and contraction ops, with every
 * output bound to a buffer of NaNs. */
static void cpu_and_interp_agree_through_the_program_api(void **state)
{
    (void)state;
    const char *text = "mtir 1\n"
                       "graph mix {\n"
                       "  input %x : f32[4,6]\n"
                       "  param %k : f32[6,5]\n"
                       "  %p = pad %x pads=[1,0,0,2]\n"
                       "  %c = concat %x, %x dim=0\n"
                       "  %m = matmul %x, %k\n"
                       "  %r = max %m dim=1\n"
                       "  %q = permute %m perm=[1,0]\n"
                       "  %t = tanh %q\n"
                       "  output %p, %c, %r, %t\n"
                       "}\n";
    float x[24], k[30];
    for (int i = 0; i < 24; i++)
        x[i] = (float)((i * 7) % 11) / 4.0f - 1.0f;
    for (int i = 0; i < 30; i++)
        k[i] = (float)((i * 5) % 13) / 8.0f - 0.75f;
    static const char *outs[] = {"p", "c", "r", "t"};
    float got[NTARGETS][4][64];
    for (int t = 0; t < NTARGETS; t++) {
        mt_program *p = compile(text, targets[t]);
        mt_diag d;
        mt_diag_init(&d);
        assert_int_equal(mt_program_set(p, "x", x, sizeof x, &d), MT_OK);
        assert_int_equal(mt_program_set(p, "k", k, sizeof k, &d), MT_OK);
        memset(got[t], 0xff, sizeof got[t]);
        for (int o = 0; o < 4; o++) {
            size_t n = mt_program_slot_nbytes(p, mt_program_find(p, outs[o]));
            assert_true(n <= sizeof got[t][o]);
            assert_int_equal(mt_program_bind_output(p, outs[o], got[t][o], n, &d), MT_OK);
        }
        for (int run = 0; run < 2; run++)
            if (mt_program_run(p, &d) != MT_OK)
                fail_msg("%s: %s", targets[t], d.msg);
        if (t > 0)
            for (int o = 0; o < 4; o++) {
                size_t n = mt_program_slot_nbytes(p, mt_program_find(p, outs[o])) / sizeof(float);
                expect_close(got[t][o], got[0][o], (int)n);
            }
        mt_program_free(p);
        mt_diag_fini(&d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(slots_list_leaves_then_outputs_with_kind_and_type),
        cmocka_unit_test(targets_are_listed_and_unknown_or_deviceless_ones_are_errors),
        cmocka_unit_test(inputs_and_params_bind_by_name_and_outputs_land_in_caller_buffers),
        cmocka_unit_test(params_start_at_zero_persist_between_runs_and_round_trip),
        cmocka_unit_test(load_feeds_every_leaf_by_name_and_outputs_collects_them),
        cmocka_unit_test(outputs_that_are_leaves_or_repeated_are_one_slot_each),
        cmocka_unit_test(wrong_names_sizes_shapes_and_dtypes_are_errors_naming_the_value),
        cmocka_unit_test(a_graph_with_a_builder_error_does_not_compile),
        cmocka_unit_test(a_thousand_runs_do_not_grow_memory),
        cmocka_unit_test(runs_split_over_threads_allocate_nothing),
        cmocka_unit_test(a_thousand_steps_keep_state_in_place_without_growth),
        cmocka_unit_test(every_allocation_failure_is_a_clean_error),
        cmocka_unit_test(cpu_and_interp_agree_through_the_program_api),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
