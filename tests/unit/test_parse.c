/* test_parse.c - MTIR text: round trips, located errors, and robustness. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ir/alloc.h"
#include "ir/graph.h"
#include "tests/support/failing_alloc.h"

static mt_diag parse_err(const char *text)
{
    mt_diag d;
    mt_diag_init(&d);
    mt_graph *g = NULL;
    assert_int_not_equal(mt_graph_parse(text, strlen(text), "bad.mt", &g, &d), MT_OK);
    assert_null(g);
    return d;
}

/* print(parse(text)) is a fixed point of print . parse. */
static void assert_round_trips(const char *text, const char *name)
{
    mt_diag d;
    mt_diag_init(&d);
    mt_graph *g = NULL;
    if (mt_graph_parse(text, strlen(text), name, &g, &d) != MT_OK)
        fail_msg("%s:%d:%d: %s", name, d.line, d.col, d.msg);
    assert_int_equal(mt_graph_verify(g, &d), MT_OK);
    char *once = mt_graph_print(g);
    mt_graph *g2 = NULL;
    assert_int_equal(mt_graph_parse(once, strlen(once), name, &g2, &d), MT_OK);
    char *twice = mt_graph_print(g2);
    if (strcmp(once, twice) != 0)
        fail_msg("%s does not round-trip:\n%s\n---\n%s", name, once, twice);
    mt_free(once);
    mt_free(twice);
    mt_graph_free(g);
    mt_graph_free(g2);
}

static void spec_example_round_trips(void **state)
{
    (void)state;
    assert_round_trips("# comment\nmtir 1\ngraph mlp {\n  input %x : f32[128,784]\n"
                       "  param %w1 : f32[784,256]\n  param %b1 : f32[256]\n"
                       "  %h = matmul %x, %w1 : f32[128,256]\n  %a = add %h, %b1\n"
                       "  %y = relu %a\n  %s = sum %y dim=1\n  %m = mean %s\n  output %y, %m\n}\n",
                       "spec");
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = 0;
    fclose(f);
    return s;
}

/* Files under a folder named "parse" in tests/lit are deliberately malformed. */
static int walk(const char *dir, int *count)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return 0;
    struct dirent *e;
    while ((e = readdir(dp))) {
        if (e->d_name[0] == '.' || !strncmp(e->d_name, "build", 5))
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            if (strstr(path, "tests/lit/parse") || strstr(path, "tests/fuzz"))
                continue;
            walk(path, count);
        } else if (strlen(e->d_name) > 3 && !strcmp(e->d_name + strlen(e->d_name) - 3, ".mt")) {
            char *text = read_file(path);
            assert_non_null(text);
            assert_round_trips(text, path);
            free(text);
            (*count)++;
        }
    }
    closedir(dp);
    return 1;
}

static void every_mt_file_in_the_repository_round_trips(void **state)
{
    (void)state;
    int count = 0;
    assert_true(walk(MT_SOURCE_DIR, &count));
    printf("round-tripped %d .mt files\n", count);
    assert_true(count >= 3);
}

static void parse_reports_line_and_column_of_unknown_op(void **state)
{
    (void)state;
    mt_diag d =
        parse_err("mtir 1\ngraph g {\n  input %x : f32[4]\n  %y = relux %x\n  output %y\n}\n");
    assert_string_equal(d.file, "bad.mt");
    assert_int_equal(d.line, 4);
    assert_int_equal(d.col, 8);
    assert_string_equal(d.msg, "unknown op 'relux'");
    assert_int_equal(d.status, MT_ERR_PARSE);
}

static void shape_errors_name_both_shapes_at_the_statement(void **state)
{
    (void)state;
    mt_diag d = parse_err("mtir 1\ngraph g {\n  input %x : f32[4,3]\n  input %y : f32[5]\n"
                          "  %a = add %x, %y\n  output %a\n}\n");
    assert_int_equal(d.line, 5);
    assert_int_equal(d.col, 3);
    assert_int_equal(d.status, MT_ERR_SHAPE);
    assert_string_equal(d.msg, "add: shapes f32[4,3] and f32[5] do not broadcast");
}

static void every_prefix_of_a_valid_file_fails_cleanly_or_parses(void **state)
{
    (void)state;
    const char *text = "mtir 1\ngraph g {\n  input %x : f32[2,3]\n  %r = reshape %x shape=[3,-1]\n"
                       "  %c = const value=-1.5e-3 : f32[]\n  %y = mul %r, %c\n  output %y\n}\n";
    size_t n = strlen(text);
    for (size_t len = 0; len < n; len++) {
        mt_diag d;
        mt_diag_init(&d);
        mt_graph *g = NULL;
        mt_status st = mt_graph_parse(text, len, "cut.mt", &g, &d);
        /* Only the full file (or the one missing its final newline) is valid. */
        if (len < n - 1) {
            assert_int_not_equal(st, MT_OK);
            assert_true(d.line >= 1);
            assert_true(d.msg[0] != 0);
        }
        mt_graph_free(g);
    }
}

static void random_bytes_never_crash_the_parser(void **state)
{
    (void)state;
    unsigned seed = getenv("MT_SEED") ? (unsigned)atoi(getenv("MT_SEED")) : (unsigned)time(NULL);
    printf("seed %u\n", seed);
    srand(seed);
    const char *valid = "mtir 1\ngraph g {\n  input %x : f32[2,3]\n  %s = sum %x dim=-1\n"
                        "  %p = pad %s pads=[1,0,0,2]\n  output %p, %s\n}\n";
    size_t n = strlen(valid);
    char buf[256];
    for (int iter = 0; iter < 20000; iter++) {
        memcpy(buf, valid, n);
        int flips = 1 + rand() % 4;
        for (int k = 0; k < flips; k++)
            buf[rand() % n] = (char)(rand() % 256);
        mt_diag d;
        mt_diag_init(&d);
        mt_graph *g = NULL;
        if (mt_graph_parse(buf, n, "fuzz.mt", &g, &d) == MT_OK) {
            assert_int_equal(mt_graph_verify(g, &d), MT_OK);
            mt_graph_free(g);
        } else {
            assert_true(d.msg[0] != 0);
        }
    }
}

static void allocation_failure_anywhere_gives_nomem_without_leaks(void **state)
{
    (void)state;
    const char *text = "mtir 1\ngraph g {\n  input %x : f32[2,3]\n  param %w : f32[3,4]\n"
                       "  %h = matmul %x, %w\n  %y = relu %h\n  output %y\n}\n";
    int succeeded = 0;
    /* Let n allocations succeed and fail the rest, for growing n: walks every error path. */
    for (int n = 0; n < 200 && !succeeded; n++) {
        mt_test_alloc_fail_after(n);
        mt_diag d;
        mt_diag_init(&d);
        mt_graph *g = NULL;
        mt_status st = mt_graph_parse(text, strlen(text), "oom.mt", &g, &d);
        char *s = st == MT_OK ? mt_graph_print(g) : NULL;
        mt_test_alloc_restore();
        if (st == MT_OK && s) {
            succeeded = 1;
        } else if (st != MT_OK) {
            assert_int_equal(st, MT_ERR_NOMEM);
        }
        mt_free(s);
        mt_graph_free(g);
    }
    assert_true(succeeded);
}

static void builder_errors_stick_and_name_the_op(void **state)
{
    (void)state;
    mt_graph *g = mt_graph_new("b");
    int64_t d43[] = {4, 3}, d5[] = {5};
    int x = mt_input(g, "x", mt_type_make(MT_DTYPE_F32, 2, d43));
    int y = mt_input(g, "y", mt_type_make(MT_DTYPE_F32, 1, d5));
    assert_true(x >= 0 && y >= 0);
    assert_int_equal(mt_add(g, x, y), -1);
    assert_int_equal(mt_graph_diag(g)->status, MT_ERR_SHAPE);
    assert_string_equal(mt_graph_diag(g)->msg, "add: shapes f32[4,3] and f32[5] do not broadcast");
    assert_int_equal(mt_neg(g, x), -1); /* the first error sticks */
    mt_graph_free(g);
}

static void builder_graphs_print_as_mtir(void **state)
{
    (void)state;
    mt_graph *g = mt_graph_new("built");
    int64_t d[] = {2, 3};
    int x = mt_input(g, "x", mt_type_make(MT_DTYPE_F64, 2, d));
    int64_t perm[] = {1, 0};
    int t = mt_permute(g, x, 2, perm);
    int s = mt_sum(g, t, -1);
    mt_name(g, s, "total");
    int outs[] = {s};
    assert_int_equal(mt_set_outputs(g, outs, 1), 0);
    char *text = mt_graph_print(g);
    assert_string_equal(text, "mtir 1\ngraph built {\n  input %x : f64[2,3]\n"
                              "  %0 = permute %x perm=[1,0] : f64[3,2]\n"
                              "  %total = sum %0 dim=-1 : f64[3,1]\n  output %total\n}\n");
    assert_round_trips(text, "built");
    mt_free(text);
    mt_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spec_example_round_trips),
        cmocka_unit_test(every_mt_file_in_the_repository_round_trips),
        cmocka_unit_test(parse_reports_line_and_column_of_unknown_op),
        cmocka_unit_test(shape_errors_name_both_shapes_at_the_statement),
        cmocka_unit_test(every_prefix_of_a_valid_file_fails_cleanly_or_parses),
        cmocka_unit_test(random_bytes_never_crash_the_parser),
        cmocka_unit_test(allocation_failure_anywhere_gives_nomem_without_leaks),
        cmocka_unit_test(builder_errors_stick_and_name_the_op),
        cmocka_unit_test(builder_graphs_print_as_mtir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
