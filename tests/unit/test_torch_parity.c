/* test_torch_parity.c - every op of SPEC section 2, and whole-graph gradients, against PyTorch.
 *
 * tests/torch/gen_parity.py wrote the fixtures under tests/torch/cases/ with PyTorch, so this
 * test needs no Python: for each <case>.mt it parses the graph, feeds it <case>.in.safetensors,
 * runs the reference interpreter and compares every output with the tensor of the same name in
 * <case>.out.safetensors. A grad_<name> case is also differentiated with mt_pass_grad, and the
 * gradient graph's outputs (the forward outputs, then grad.NAME per param) are compared with
 * <case>.grad.safetensors, which torch autograd computed.
 *
 * The bound, per element: |got - want| <= rtol * max(|want|, floor); NaN must meet NaN and an
 * infinity the same infinity.
 *  - Forward cases: rtol 1e-5 (f32) and 1e-12 (f64), floor FLT_MIN, i.e. a plain relative bound
 *    even for values near zero. That is sound because the generator refuses any case whose
 *    PyTorch f32 result differs from its f64 result by more than a tenth of the f32 bound
 *    (contractions and reductions over mixed signs use values on a power-of-two grid, where
 *    every sum is exact): the fixtures are well conditioned, so two correct evaluations that
 *    round differently stay far inside the bound. For f64 the interpreter and PyTorch differ
 *    only by summation order and libm ulps on such data, about 1e-15; 1e-12 leaves a margin
 *    of 1000 and still catches any error of semantics.
 *  - Gradient cases: rtol 1e-4 (f32) and 1e-10 (f64), floor 1e-2 times the largest |want| of
 *    the tensor. A gradient element is a sum of mixed-sign products computed along a different
 *    chain of ops than autograd's; its rounding error scales with the tensor's magnitude, not
 *    with the element's own, which cancellation can make small. PyTorch's own f32 gradients
 *    meet a tenth of this bound (the generator checks that too).
 * The numbers must match RTOL, GRAD_RTOL and GRAD_FLOOR in gen_parity.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cpu.h"
#include "ir/alloc.h"
#include "ir/graph.h"
#include "passes/pass.h"
#include "runtime/interp.h"

#define CASES_DIR MT_SOURCE_DIR "/tests/torch/cases"

#define F32_RTOL 1e-5
#define F64_RTOL 1e-12
#define GRAD_F32_RTOL 1e-4
#define GRAD_F64_RTOL 1e-10
#define GRAD_FLOOR 1e-2

/* ---- the bound ------------------------------------------------------------------------ */

typedef struct bound {
    double rtol;
    double floor_frac; /* 0: the floor is FLT_MIN; else this times the largest |want| */
} bound;

static bound forward_bound(mt_dtype dt)
{
    return (bound){dt == MT_DTYPE_F32 ? F32_RTOL : F64_RTOL, 0.0};
}

static bound grad_bound(mt_dtype dt)
{
    return (bound){dt == MT_DTYPE_F32 ? GRAD_F32_RTOL : GRAD_F64_RTOL, GRAD_FLOOR};
}

/* The worst element of one comparison: `ratio` is the error over the allowed error, so the
 * comparison passes when ratio <= 1. */
typedef struct worst {
    double ratio;
    char where[160]; /* "y2[1,0,3]" */
    double got, want;
} worst;

static double elem(const mt_tensor *t, int64_t i)
{
    if (t->type.dtype == MT_DTYPE_F32)
        return ((const float *)t->data)[i];
    return ((const double *)t->data)[i];
}

static void index_str(const mt_type *t, int64_t flat, char *buf, size_t size)
{
    int64_t idx[MT_MAX_RANK];
    for (int i = t->rank - 1; i >= 0; i--) {
        idx[i] = flat % t->dims[i];
        flat /= t->dims[i];
    }
    size_t len = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < t->rank && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%lld", i ? "," : "", (long long)idx[i]);
    if (len < size)
        snprintf(buf + len, size - len, "]");
}

/* The error of got[i] against want[i] over the allowed error; INFINITY for a NaN or infinity
 * that does not match. */
static double elem_ratio(double got, double want, double rtol, double floor)
{
    if (isnan(want))
        return isnan(got) ? 0.0 : INFINITY;
    if (isinf(want))
        return got == want ? 0.0 : INFINITY;
    if (!isfinite(got))
        return INFINITY;
    double scale = fabs(want) > floor ? fabs(want) : floor;
    return fabs(got - want) / (rtol * scale);
}

/* Compares the tensor `name` and updates *w with its worst element. Returns 0 when every
 * element is within the bound; on a dtype or shape mismatch fills msg and returns -1. */
static int compare(const char *name, const mt_tensor *got, const mt_tensor *want, bound b, worst *w,
                   char *msg, size_t msgsize)
{
    if (!mt_type_equal(&got->type, &want->type)) {
        char a[MT_TYPE_STR_MAX], e[MT_TYPE_STR_MAX];
        snprintf(msg, msgsize, "%s is %s but PyTorch's is %s", name,
                 mt_type_str(&got->type, a, sizeof a), mt_type_str(&want->type, e, sizeof e));
        return -1;
    }
    int64_t n = mt_type_numel(&want->type);
    double floor = FLT_MIN;
    if (b.floor_frac > 0) {
        double top = 0;
        for (int64_t i = 0; i < n; i++)
            if (isfinite(elem(want, i)) && fabs(elem(want, i)) > top)
                top = fabs(elem(want, i));
        if (b.floor_frac * top > floor)
            floor = b.floor_frac * top;
    }
    int bad = 0;
    for (int64_t i = 0; i < n; i++) {
        double r = elem_ratio(elem(got, i), elem(want, i), b.rtol, floor);
        if (r > 1.0)
            bad = 1;
        if (r > w->ratio || w->where[0] == '\0') {
            char idx[128];
            index_str(&want->type, i, idx, sizeof idx);
            w->ratio = r;
            snprintf(w->where, sizeof w->where, "%s%s", name, idx);
            w->got = elem(got, i);
            w->want = elem(want, i);
        }
    }
    if (bad)
        snprintf(msg, msgsize, "%s: got %.9g, PyTorch %.9g (%.3g times the bound)", w->where,
                 w->got, w->want, w->ratio);
    return bad ? -1 : 0;
}

/* ---- the cases -------------------------------------------------------------------------- */

typedef struct case_list {
    int n;
    char **names; /* "unary_exp_f32", sorted */
} case_list;

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every <name>.mt under CASES_DIR; n is 0 when the folder is missing or empty. */
static case_list list_cases(void)
{
    case_list c = {0, NULL};
    DIR *dir = opendir(CASES_DIR);
    if (!dir)
        return c;
    int cap = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len <= 3 || strcmp(e->d_name + len - 3, ".mt") != 0)
            continue;
        if (c.n == cap) {
            cap = cap ? 2 * cap : 64;
            c.names = mt_realloc(c.names, (size_t)cap * sizeof *c.names);
            assert_non_null(c.names);
        }
        c.names[c.n] = mt_strndup(e->d_name, len - 3);
        assert_non_null(c.names[c.n]);
        c.n++;
    }
    closedir(dir);
    if (c.n)
        qsort(c.names, (size_t)c.n, sizeof *c.names, cmp_names);
    return c;
}

static void free_cases(case_list *c)
{
    for (int i = 0; i < c->n; i++)
        mt_free(c->names[i]);
    mt_free(c->names);
}

static int is_grad_case(const char *name) { return strncmp(name, "grad_", 5) == 0; }

static void case_path(char *buf, size_t size, const char *name, const char *suffix)
{
    snprintf(buf, size, "%s/%s%s", CASES_DIR, name, suffix);
}

/* The target under test: the interpreter, then the compiled CPU code against the same
 * references (so "cpu gives the interpreter's numbers" holds on every case, too). Both run
 * through the program API with every output bound to a buffer full of NaNs, so a kernel that
 * leaves any element unwritten fails. */
static const char *backend = "interp";

/* Runs g on the tensors of `in` and compares its outputs with `expect`. Every output must have
 * an expected tensor; with `exact_set`, every expected tensor must also be an output. Returns 0
 * when all match; else msg says why. */
static int run_and_compare(const mt_graph *g, const mt_tensor_map *in, const char *in_path,
                           const mt_tensor_map *expect, int exact_set, int grad, worst *w,
                           char *msg, size_t msgsize)
{
    mt_diag d;
    mt_diag_init(&d);
    mt_tensor **outs = mt_calloc((size_t)g->noutputs, sizeof *outs);
    assert_non_null(outs);
    mt_program *p = NULL;
    mt_tensor_map *results = NULL;
    int rc = -1;
    mt_status st = mt_program_compile(g, backend, &p, &d);
    if (st == MT_OK)
        st = mt_program_load(p, in, in_path, &d);
    for (int i = 0; i < g->noutputs && st == MT_OK; i++) {
        const mt_node *n = mt_graph_node(g, g->outputs[i]);
        assert_non_null(outs[i] = mt_tensor_new(n->type));
        memset(outs[i]->data, 0xff, outs[i]->nbytes);
        st = mt_program_bind_output(p, n->name, outs[i]->data, outs[i]->nbytes, &d);
    }
    if (st == MT_OK)
        st = mt_program_run(p, &d);
    if (st == MT_OK)
        st = mt_program_outputs(p, &results, &d);
    if (st != MT_OK) {
        char buf[MT_DIAG_MSG + MT_DIAG_FILE + 32];
        mt_diag_format(&d, buf, sizeof buf);
        snprintf(msg, msgsize, "%s: %s", mt_status_name(st), buf);
        goto done;
    }
    int matched = 0;
    rc = 0;
    for (int i = 0; i < g->noutputs && rc == 0; i++) {
        const mt_node *n = mt_graph_node(g, g->outputs[i]);
        const mt_tensor *want = mt_tensor_map_get(expect, n->name);
        if (!want) {
            snprintf(msg, msgsize, "output %%%s has no expected tensor", n->name);
            rc = -1;
            break;
        }
        matched++;
        mt_dtype dt = want->type.dtype;
        rc = compare(n->name, mt_tensor_map_get(results, n->name), want,
                     grad ? grad_bound(dt) : forward_bound(dt), w, msg, msgsize);
    }
    if (rc == 0 && exact_set && matched != mt_tensor_map_count(expect)) {
        snprintf(msg, msgsize, "%d outputs but %d expected tensors", matched,
                 mt_tensor_map_count(expect));
        rc = -1;
    }
done:
    for (int i = 0; i < g->noutputs; i++)
        mt_tensor_free(outs[i]);
    mt_free(outs);
    mt_tensor_map_free(results);
    mt_program_free(p);
    mt_diag_fini(&d);
    return rc;
}

/* One case: 0 when it matches PyTorch. Prints one line either way. */
static int check_case(const char *name, int grad)
{
    char mt[1024], in_path[1024], want_path[1024], msg[1024] = "";
    case_path(mt, sizeof mt, name, ".mt");
    case_path(in_path, sizeof in_path, name, ".in.safetensors");
    case_path(want_path, sizeof want_path, name, grad ? ".grad.safetensors" : ".out.safetensors");
    mt_graph *g = NULL, *gg = NULL;
    mt_tensor_map *in = NULL, *want = NULL;
    worst w = {0};
    int rc = -1;
    mt_diag d;
    mt_diag_init(&d);
    mt_status st = mt_graph_parse_file(mt, &g, &d);
    if (st == MT_OK)
        st = mt_safetensors_load(in_path, &in, &d);
    if (st == MT_OK)
        st = mt_safetensors_load(want_path, &want, &d);
    if (st == MT_OK && grad)
        st = mt_pass_grad(g, NULL, 0, &gg, &d);
    if (st != MT_OK) {
        char buf[MT_DIAG_MSG + MT_DIAG_FILE + 32];
        mt_diag_format(&d, buf, sizeof buf);
        snprintf(msg, sizeof msg, "%s: %s", mt_status_name(st), buf);
        goto done;
    }
    /* A gradient case checks the forward graph first (its outputs are the first tensors of
     * the .grad file), so a wrong gradient is not mistaken for a wrong forward op. */
    rc = run_and_compare(g, in, in_path, want, !grad, grad, &w, msg, sizeof msg);
    if (rc == 0 && grad)
        rc = run_and_compare(gg, in, in_path, want, 1, 1, &w, msg, sizeof msg);
done:
    if (rc == 0)
        printf("ok   %-6s %-28s %s %3d outputs, worst %.2g of the bound at %s\n", name, backend,
               mt_dtype_name(mt_graph_node(g, g->outputs[0])->type.dtype), (gg ? gg : g)->noutputs,
               w.ratio, w.where);
    else
        printf("FAIL %-6s %-28s %s\n", backend, name, msg);
    mt_graph_free(gg);
    mt_graph_free(g);
    mt_tensor_map_free(in);
    mt_tensor_map_free(want);
    mt_diag_fini(&d);
    return rc;
}

/* Checks every case of one kind; fails naming each case that differs. */
static void check_all(int grad)
{
    case_list c = list_cases();
    int run = 0, failed = 0;
    char first[256] = "";
    for (int i = 0; i < c.n; i++) {
        if (is_grad_case(c.names[i]) != grad)
            continue;
        run++;
        if (check_case(c.names[i], grad) != 0 && failed++ == 0)
            snprintf(first, sizeof first, "%s", c.names[i]);
    }
    printf("%d of %d %s cases match PyTorch\n", run - failed, run, grad ? "gradient" : "forward");
    free_cases(&c);
    fflush(stdout); /* keep the FAIL lines before cmocka's report on stderr */
    if (run == 0)
        fail_msg("no %s cases under %s: run tests/torch/gen_parity.py", grad ? "grad_*" : "forward",
                 CASES_DIR);
    if (failed)
        fail_msg("%d of %d cases differ from PyTorch (first: %s; see the FAIL lines)", failed, run,
                 first);
}

/* ---- tests ------------------------------------------------------------------------------ */

static void every_forward_case_matches_pytorch(void **state)
{
    (void)state;
    check_all(0);
}

static void every_gradient_case_matches_pytorch_autograd(void **state)
{
    (void)state;
    check_all(1);
}

static void every_forward_case_matches_pytorch_on_the_cpu_backend(void **state)
{
    (void)state;
    backend = "cpu";
    check_all(0);
    backend = "interp";
}

static void every_gradient_case_matches_pytorch_on_the_cpu_backend(void **state)
{
    (void)state;
    backend = "cpu";
    check_all(1);
    backend = "interp";
}

/* The opencl target where an OpenCL device is present (PoCL in CI), else skipped. */
static void on_opencl(int grad)
{
    mt_graph *g = mt_graph_new("probe");
    int64_t one = 1;
    int x = mt_input(g, "x", mt_type_make(MT_DTYPE_F32, 1, &one));
    int y = mt_exp(g, x);
    mt_set_outputs(g, &y, 1);
    mt_program *p = NULL;
    mt_diag d;
    mt_diag_init(&d);
    mt_status st = mt_program_compile(g, "opencl", &p, &d);
    mt_program_free(p);
    mt_graph_free(g);
    if (st != MT_OK) {
        printf("skipped: %s\n", d.msg);
        mt_diag_fini(&d);
        skip();
    }
    mt_diag_fini(&d);
    backend = "opencl";
    check_all(grad);
    backend = "interp";
}

static void every_forward_case_matches_pytorch_on_the_opencl_backend(void **state)
{
    (void)state;
    on_opencl(0);
}

static void every_gradient_case_matches_pytorch_on_the_opencl_backend(void **state)
{
    (void)state;
    on_opencl(1);
}

static int file_exists(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f)
        fclose(f);
    return f != NULL;
}

static void the_cases_cover_every_op_and_have_their_files(void **state)
{
    (void)state;
    case_list c = list_cases();
    if (c.n == 0)
        fail_msg("no cases under %s: run tests/torch/gen_parity.py", CASES_DIR);
    int seen[MT_OP_COUNT] = {0};
    for (int i = 0; i < c.n; i++) {
        char path[1024];
        const char *need[2] = {".in.safetensors",
                               is_grad_case(c.names[i]) ? ".grad.safetensors" : ".out.safetensors"};
        for (int k = 0; k < 2; k++) {
            case_path(path, sizeof path, c.names[i], need[k]);
            if (!file_exists(path))
                fail_msg("case %s lacks %s", c.names[i], path);
        }
        case_path(path, sizeof path, c.names[i], ".mt");
        mt_graph *g = NULL;
        mt_diag d;
        mt_diag_init(&d);
        if (mt_graph_parse_file(path, &g, &d) != MT_OK) {
            char buf[MT_DIAG_MSG + MT_DIAG_FILE + 32];
            mt_diag_format(&d, buf, sizeof buf);
            fail_msg("%s", buf);
        }
        for (int id = 0; id < g->nnodes; id++)
            seen[g->nodes[id].op] = 1;
        mt_graph_free(g);
        mt_diag_fini(&d);
    }
    free_cases(&c);
    /* rand has no PyTorch counterpart; test_interp.c checks it against Philox directly. A
     * state leaf computes nothing: test_step.c covers it; allreduce is the identity in one
     * process: test_collective.c runs it across ranks. */
    for (int op = 0; op < MT_OP_COUNT; op++)
        if (op != MT_OP_RAND && op != MT_OP_STATE && op != MT_OP_ALLREDUCE && !seen[op])
            fail_msg("no PyTorch parity case uses '%s'", mt_op_name((mt_op)op));
}

/* The checker itself: a test that cannot fail is no test. */
static void the_comparison_rejects_an_element_just_outside_the_bound(void **state)
{
    (void)state;
    int64_t dims[1] = {4};
    mt_tensor *want = mt_tensor_new(mt_type_make(MT_DTYPE_F64, 1, dims));
    mt_tensor *got = mt_tensor_new(mt_type_make(MT_DTYPE_F64, 1, dims));
    assert_non_null(want);
    assert_non_null(got);
    double *wv = mt_tensor_data(want), *gv = mt_tensor_data(got);
    const double vals[4] = {2.0, -1e-20, NAN, -INFINITY};
    memcpy(wv, vals, sizeof vals);
    memcpy(gv, vals, sizeof vals);
    bound b = forward_bound(MT_DTYPE_F64);
    char msg[256];
    worst w = {0};
    assert_int_equal(compare("y", got, want, b, &w, msg, sizeof msg), 0);

    gv[0] = 2.0 * (1 + 0.5 * F64_RTOL); /* inside */
    gv[1] = -1e-20 * (1 - 0.5 * F64_RTOL);
    memset(&w, 0, sizeof w);
    assert_int_equal(compare("y", got, want, b, &w, msg, sizeof msg), 0);

    gv[1] = -1e-20 * (1 + 2 * F64_RTOL); /* a tiny value is held to the relative bound too */
    memset(&w, 0, sizeof w);
    assert_int_equal(compare("y", got, want, b, &w, msg, sizeof msg), -1);
    assert_string_equal(w.where, "y[1]");

    gv[1] = wv[1];
    gv[2] = 0.0; /* NaN must meet NaN */
    memset(&w, 0, sizeof w);
    assert_int_equal(compare("y", got, want, b, &w, msg, sizeof msg), -1);
    gv[2] = NAN;
    gv[3] = INFINITY; /* the wrong infinity */
    memset(&w, 0, sizeof w);
    assert_int_equal(compare("y", got, want, b, &w, msg, sizeof msg), -1);

    /* The gradient floor: 1e-2 of the largest |want| (2.0) lets -1e-20 be off by 1e-4 * 0.02. */
    gv[3] = -INFINITY;
    gv[1] = -1e-20 + 0.5 * GRAD_F64_RTOL * GRAD_FLOOR * 2.0;
    memset(&w, 0, sizeof w);
    assert_int_equal(compare("y", got, want, grad_bound(MT_DTYPE_F64), &w, msg, sizeof msg), 0);
    gv[1] = -1e-20 + 2 * GRAD_F64_RTOL * GRAD_FLOOR * 2.0;
    memset(&w, 0, sizeof w);
    assert_int_equal(compare("y", got, want, grad_bound(MT_DTYPE_F64), &w, msg, sizeof msg), -1);

    mt_tensor_free(got);
    mt_tensor_free(want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_comparison_rejects_an_element_just_outside_the_bound),
        cmocka_unit_test(the_cases_cover_every_op_and_have_their_files),
        cmocka_unit_test(every_forward_case_matches_pytorch),
        cmocka_unit_test(every_gradient_case_matches_pytorch_autograd),
        cmocka_unit_test(every_forward_case_matches_pytorch_on_the_cpu_backend),
        cmocka_unit_test(every_gradient_case_matches_pytorch_on_the_cpu_backend),
        cmocka_unit_test(every_forward_case_matches_pytorch_on_the_opencl_backend),
        cmocka_unit_test(every_gradient_case_matches_pytorch_on_the_opencl_backend),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
