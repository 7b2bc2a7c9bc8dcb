/* test_aot.c - `mtc compile`'s shared objects (codegen/aot.h), loaded with dlopen.
 *
 * Inference graphs are compiled with fresh random params baked in, run through NAME_run on
 * fresh random inputs and compared with the reference interpreter; four threads run one .so at
 * once; a step graph (Adam on tests/torch/optim/mlp.mt) follows the JIT's program for 10
 * steps; errors name the tensor or file at fault and leave no file behind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codegen/aot.h"
#include "ir/alloc.h"
#include "ir/graph.h"
#include "passes/optim.h"
#include "runtime/interp.h"
#include "tests/support/random.h"

static char dir[256];
static int serial;

static int make_dir(void **state)
{
    (void)state;
    mt_test_seed();
    snprintf(dir, sizeof dir, "/tmp/mtc-test-aot-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static mt_graph *parse(const char *text)
{
    mt_diag d;
    mt_diag_init(&d);
    mt_graph *g = NULL;
    if (mt_graph_parse(text, strlen(text), "aot.mt", &g, &d) != MT_OK)
        fail_msg("%s:%d:%d: %s", d.file, d.line, d.col, d.msg);
    mt_diag_fini(&d);
    return g;
}

static mt_graph *parse_file(const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", MT_SOURCE_DIR, rel);
    mt_diag d;
    mt_diag_init(&d);
    mt_graph *g = NULL;
    if (mt_graph_parse_file(path, &g, &d) != MT_OK)
        fail_msg("%s: %s", path, d.msg);
    mt_diag_fini(&d);
    return g;
}

/* Random leaves for every node of g (indexed by node id; only leaves are filled). */
static mt_tensor **random_leaves(const mt_graph *g)
{
    mt_tensor **t = calloc((size_t)g->nnodes + 1, sizeof *t);
    for (int i = 0; i < g->nnodes; i++)
        if (mt_op_is(g->nodes[i].op, MT_F_LEAF))
            t[i] = mt_test_random_leaf(&g->nodes[i]);
    return t;
}

static void free_leaves(const mt_graph *g, mt_tensor **t)
{
    for (int i = 0; i < g->nnodes; i++)
        mt_tensor_free(t[i]);
    free(t);
}

/* The params and states of `leaves` as a weights map (copies). */
static mt_tensor_map *weights_of(const mt_graph *g, mt_tensor *const *leaves)
{
    mt_tensor_map *m = mt_tensor_map_new();
    for (int i = 0; i < g->nnodes; i++) {
        if (g->nodes[i].op != MT_OP_PARAM && g->nodes[i].op != MT_OP_STATE)
            continue;
        mt_tensor *c = mt_tensor_new(leaves[i]->type);
        memcpy(c->data, leaves[i]->data, leaves[i]->nbytes);
        assert_int_equal(mt_tensor_map_put(m, g->nodes[i].name, c), MT_OK);
    }
    return m;
}

/* Compiles g into a fresh path under dir and dlopens it. */
static void *compile_and_open(const mt_graph *g, const mt_tensor_map *w, const char *cpu,
                              char *so_path)
{
    snprintf(so_path, 512, "%s/lib%s.%d.so", dir, g->name, serial++);
    mt_aot_options o = {.so_path = so_path, .cpu = cpu, .weights = w};
    mt_diag d;
    mt_diag_init(&d);
    if (mt_aot_compile(g, &o, &d) != MT_OK)
        fail_msg("compile: %s\n%s", d.msg, d.log ? d.log : "");
    mt_diag_fini(&d);
    void *h = dlopen(so_path, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        fail_msg("dlopen: %s", dlerror());
    return h;
}

/* dlsym's answer as a function pointer (the one place the two kinds of pointer meet). */
typedef void (*any_fn)(void);
static any_fn sym(void *h, const char *graph, const char *suffix)
{
    char name[300];
    snprintf(name, sizeof name, "%s_%s", graph, suffix);
    void *p = dlsym(h, name);
    if (!p)
        fail_msg("no symbol %s", name);
    any_fn f;
    memcpy(&f, &p, sizeof f);
    return f;
}

typedef int (*run_fn)(const void *const *, void *const *);

static double value(const mt_tensor *t, int64_t i)
{
    return t->type.dtype == MT_DTYPE_F32 ? ((const float *)t->data)[i]
                                         : ((const double *)t->data)[i];
}

/* |got - want| within 1e-4 of max(1, |want|) (f32; 1e-10 for f64): the interpreter sums in
 * double, the kernels in the dtype. */
static void assert_close(const char *what, const mt_tensor *want, const mt_tensor *got)
{
    double tol = want->type.dtype == MT_DTYPE_F32 ? 1e-4 : 1e-10;
    for (int64_t i = 0; i < mt_type_numel(&want->type); i++) {
        double a = value(got, i), b = value(want, i);
        if (!(fabs(a - b) <= tol * fmax(1.0, fabs(b))) && !(isnan(a) && isnan(b)))
            fail_msg("%s[%lld]: got %.9g, the interpreter %.9g", what, (long long)i, a, b);
    }
}

/* The .so's outputs for leaves[] (inputs in declaration order). */
static mt_tensor **run_so(run_fn run, const mt_graph *g, mt_tensor *const *leaves)
{
    const void *in[64];
    void *out[64];
    int n = 0;
    for (int i = 0; i < g->nnodes; i++)
        if (g->nodes[i].op == MT_OP_INPUT)
            in[n++] = leaves[i]->data;
    mt_tensor **outs = calloc((size_t)g->noutputs + 1, sizeof *outs);
    for (int i = 0; i < g->noutputs; i++) {
        outs[i] = mt_tensor_new(g->nodes[g->outputs[i]].type);
        out[i] = outs[i]->data;
    }
    assert_int_equal(run(in, out), 0);
    return outs;
}

static void free_outs(const mt_graph *g, mt_tensor **o)
{
    for (int i = 0; i < g->noutputs; i++)
        mt_tensor_free(o[i]);
    free(o);
}

/* Compiles g with random params, runs it on two sets of random inputs, compares. */
static void check_against_interp(mt_graph *g, const char *cpu)
{
    mt_tensor **leaves = random_leaves(g);
    mt_tensor_map *w = weights_of(g, leaves);
    char path[512];
    void *h = compile_and_open(g, w, cpu, path);
    run_fn run = (run_fn)sym(h, g->name, "run");
    assert_int_equal(((int (*)(void))sym(h, g->name, "abi_version"))(), 1);
    for (int round = 0; round < 2; round++) {
        if (round) /* fresh inputs, the same baked params */
            for (int i = 0; i < g->nnodes; i++)
                if (g->nodes[i].op == MT_OP_INPUT) {
                    mt_tensor_free(leaves[i]);
                    leaves[i] = mt_test_random_leaf(&g->nodes[i]);
                }
        mt_tensor **want = calloc((size_t)g->noutputs + 1, sizeof *want);
        mt_diag d;
        mt_diag_init(&d);
        assert_int_equal(mt_interp_run(g, (const mt_tensor *const *)leaves, want, &d), MT_OK);
        mt_diag_fini(&d);
        mt_tensor **got = run_so(run, g, leaves);
        for (int i = 0; i < g->noutputs; i++)
            assert_close(g->nodes[g->outputs[i]].name, want[i], got[i]);
        free_outs(g, want);
        free_outs(g, got);
    }
    dlclose(h);
    mt_tensor_map_free(w);
    free_leaves(g, leaves);
    mt_graph_free(g);
}

static void the_xor_example_matches_the_interpreter(void **state)
{
    (void)state;
    check_against_interp(parse_file("examples/xor.mt"), NULL);
}

static const char ops_text[] = "mtir 1\n"
                               "graph ops {\n"
                               "  input %x : f32[4,6]\n"
                               "  input %px : f32[6]\n"
                               "  param %w : f32[6,3]\n"
                               "  state %s : f32[]\n"
                               "  %e = exp %x\n"
                               "  %t = tanh %x\n"
                               "  %l = log %px\n"
                               "  %a = add %e, %l\n"
                               "  %b = mul %a, %t\n"
                               "  %c = add %b, %s\n"
                               "  %m = max %c dim=1\n"
                               "  %d = sub %c, %m\n"
                               "  %mm = matmul %d, %w\n"
                               "  %p = permute %mm perm=[1,0]\n"
                               "  %r = sum %p dim=0\n"
                               "  %mean = mean %r\n"
                               "  output %p, %mean, %r\n"
                               "}\n";

static void elementwise_reductions_and_a_state_match_the_interpreter(void **state)
{
    (void)state;
    check_against_interp(parse(ops_text), NULL);
}

static const char conv_text[] = "mtir 1\n"
                                "graph conv {\n"
                                "  input %x : f64[2,1,12,12]\n"
                                "  param %k : f64[4,1,3,3]\n"
                                "  param %fc : f64[100,5]\n"
                                "  %c = conv2d %x, %k\n"
                                "  %r = relu %c\n"
                                "  %p = maxpool2d %r kernel=[2,2]\n"
                                "  %f = reshape %p shape=[2,100]\n"
                                "  %y = matmul %f, %fc\n"
                                "  %s = sigmoid %y\n"
                                "  output %s\n"
                                "}\n";

static void an_f64_conv_net_matches_the_interpreter(void **state)
{
    (void)state;
    check_against_interp(parse(conv_text), NULL);
}

/* Large enough for the runtime's pool: a matmul of 2^24 multiply-adds. */
static const char big_text[] = "mtir 1\n"
                               "graph big {\n"
                               "  input %x : f32[256,256]\n"
                               "  param %w : f32[256,256]\n"
                               "  %y = matmul %x, %w\n"
                               "  %z = relu %y\n"
                               "  output %z\n"
                               "}\n";

static void a_product_shared_among_threads_matches_the_interpreter(void **state)
{
    (void)state;
    check_against_interp(parse(big_text), NULL);
}

static void a_portable_build_matches_the_interpreter(void **state)
{
    (void)state;
    check_against_interp(parse_file("examples/xor.mt"), "x86-64-v2");
    check_against_interp(parse(big_text), "x86-64-v2");
}

/* ---- threads --------------------------------------------------------------------------- */

typedef struct caller {
    run_fn run;
    const mt_graph *g;
    mt_tensor **leaves, **want;
    int ok;
} caller;

static void *call_many(void *arg)
{
    caller *c = arg;
    c->ok = 1;
    for (int it = 0; it < 200 && c->ok; it++) {
        const void *in[2] = {c->leaves[0]->data, c->leaves[1]->data};
        float y[16], loss = 0;
        void *out[2] = {&loss, y};
        if (c->run(in, out) != 0 || memcmp(&loss, c->want[0]->data, sizeof loss) != 0 ||
            memcmp(y, c->want[1]->data, sizeof y) != 0)
            c->ok = 0;
    }
    return NULL;
}

static void four_threads_running_at_once_get_their_own_results(void **state)
{
    (void)state;
    mt_graph *g = parse_file("examples/xor.mt");
    mt_tensor **leaves = random_leaves(g);
    mt_tensor_map *w = weights_of(g, leaves);
    char path[512];
    void *h = compile_and_open(g, w, NULL, path);
    run_fn run = (run_fn)sym(h, g->name, "run");
    caller c[4];
    pthread_t t[4];
    for (int k = 0; k < 4; k++) {
        /* Each thread its own inputs, and the answer one call gave alone. */
        c[k] = (caller){run, g, calloc(2, sizeof(mt_tensor *)), NULL, 0};
        c[k].leaves[0] = mt_test_random_leaf(&g->nodes[mt_graph_find(g, "x")]);
        c[k].leaves[1] = mt_test_random_leaf(&g->nodes[mt_graph_find(g, "y")]);
        mt_tensor *all[64] = {0};
        for (int i = 0; i < g->nnodes; i++)
            all[i] = leaves[i];
        all[mt_graph_find(g, "x")] = c[k].leaves[0];
        all[mt_graph_find(g, "y")] = c[k].leaves[1];
        c[k].want = run_so(run, g, all);
    }
    for (int k = 0; k < 4; k++)
        assert_int_equal(pthread_create(&t[k], NULL, call_many, &c[k]), 0);
    for (int k = 0; k < 4; k++) {
        pthread_join(t[k], NULL);
        assert_true(c[k].ok);
        mt_tensor_free(c[k].leaves[0]);
        mt_tensor_free(c[k].leaves[1]);
        free(c[k].leaves);
        free_outs(g, c[k].want);
    }
    dlclose(h);
    mt_tensor_map_free(w);
    free_leaves(g, leaves);
    mt_graph_free(g);
}

/* Temporaries of 64 KiB: the scratch comes from the per-thread cache, not the stack. */
static const char scratch_text[] = "mtir 1\n"
                                   "graph scratch {\n"
                                   "  input %x : f32[64,256]\n"
                                   "  param %w : f32[256,256]\n"
                                   "  %y = matmul %x, %w\n"
                                   "  %m = max %y dim=1\n"
                                   "  %s = sub %y, %m\n"
                                   "  %e = exp %s\n"
                                   "  output %e\n"
                                   "}\n";

typedef struct scratch_caller {
    run_fn run;
    const float *x, *want;
    int ok;
} scratch_caller;

static void *call_scratch(void *arg)
{
    scratch_caller *c = arg;
    float *e = malloc(64 * 256 * sizeof *e);
    c->ok = 1;
    for (int it = 0; it < 50 && c->ok; it++) {
        const void *in[1] = {c->x};
        void *out[1] = {e};
        c->ok = c->run(in, out) == 0 && memcmp(e, c->want, 64 * 256 * sizeof *e) == 0;
    }
    free(e);
    return NULL;
}

static void threads_with_cached_scratch_get_their_own_results(void **state)
{
    (void)state;
    mt_graph *g = parse(scratch_text);
    mt_tensor **leaves = random_leaves(g);
    mt_tensor_map *w = weights_of(g, leaves);
    char path[512];
    void *h = compile_and_open(g, w, NULL, path);
    run_fn run = (run_fn)sym(h, g->name, "run");
    scratch_caller c[4];
    pthread_t t[4];
    mt_tensor *xs[4];
    mt_tensor **wants[4];
    for (int k = 0; k < 4; k++) {
        xs[k] = mt_test_random_leaf(&g->nodes[mt_graph_find(g, "x")]);
        mt_tensor *all[16] = {0};
        for (int i = 0; i < g->nnodes; i++)
            all[i] = leaves[i];
        all[mt_graph_find(g, "x")] = xs[k];
        wants[k] = run_so(run, g, all);
        c[k] = (scratch_caller){run, xs[k]->data, wants[k][0]->data, 0};
    }
    for (int k = 0; k < 4; k++)
        assert_int_equal(pthread_create(&t[k], NULL, call_scratch, &c[k]), 0);
    for (int k = 0; k < 4; k++) {
        pthread_join(t[k], NULL);
        assert_true(c[k].ok);
        mt_tensor_free(xs[k]);
        free_outs(g, wants[k]);
    }
    dlclose(h);
    mt_tensor_map_free(w);
    free_leaves(g, leaves);
    mt_graph_free(g);
}

static void null_and_misaligned_arguments_are_refused(void **state)
{
    (void)state;
    mt_graph *g = parse_file("examples/xor.mt");
    mt_tensor **leaves = random_leaves(g);
    mt_tensor_map *w = weights_of(g, leaves);
    char path[512];
    void *h = compile_and_open(g, w, NULL, path);
    run_fn run = (run_fn)sym(h, g->name, "run");
    float x[32] = {0}, y[16] = {0}, loss, p[16];
    const void *in[2] = {x, y}, *in_null[2] = {x, NULL};
    void *out[2] = {&loss, p}, *out_null[2] = {NULL, p};
    assert_int_equal(run(in, out), 0);
    assert_int_not_equal(run(NULL, out), 0);
    assert_int_not_equal(run(in, NULL), 0);
    assert_int_not_equal(run(in_null, out), 0);
    assert_int_not_equal(run(in, out_null), 0);
    /* A float one byte off its alignment, as input and as output. */
    _Alignas(float) unsigned char raw[64 * sizeof(float) + 1] = {0};
    const void *in_odd[2] = {raw + 1, y};
    void *out_odd[2] = {&loss, raw + 1};
    assert_int_not_equal(run(in_odd, out), 0);
    assert_int_not_equal(run(in, out_odd), 0);
    const char *sig = ((const char *(*)(void))sym(h, g->name, "signature"))();
    assert_non_null(strstr(sig, "graph xor\ninput %x : f32[16,2]\ninput %y : f32[16,1]\n"));
    assert_non_null(strstr(sig, "output %loss : f32[]\noutput %p : f32[16,1]\n"));
    dlclose(h);
    mt_tensor_map_free(w);
    free_leaves(g, leaves);
    mt_graph_free(g);
}

/* ---- step graphs ----------------------------------------------------------------------- */

typedef void *(*state_new_fn)(void);
typedef int (*step_fn)(void *, const void *const *, void *const *);
typedef int (*access_fn)(void *, const char *, void *, size_t);
typedef void (*state_free_fn)(void *);

static mt_graph *adam_step(void)
{
    mt_graph *loss = parse_file("tests/torch/optim/mlp.mt"), *step = NULL;
    mt_optim o;
    mt_optim_defaults(&o, MT_OPTIM_ADAM);
    o.lr = 0.01;
    mt_diag d;
    mt_diag_init(&d);
    assert_int_equal(mt_pass_step(loss, &o, NULL, 0, &step, &d), MT_OK);
    mt_diag_fini(&d);
    mt_graph_free(loss);
    return step;
}

static void a_step_so_follows_the_jit_for_ten_steps(void **state)
{
    (void)state;
    mt_graph *g = adam_step();
    mt_tensor **leaves = random_leaves(g);
    /* Adam's state starts at zero: absent from the weights. */
    mt_tensor_map *w = mt_tensor_map_new();
    for (int i = 0; i < g->nnodes; i++)
        if (g->nodes[i].op == MT_OP_PARAM) {
            mt_tensor *c = mt_tensor_new(leaves[i]->type);
            memcpy(c->data, leaves[i]->data, leaves[i]->nbytes);
            mt_tensor_map_put(w, g->nodes[i].name, c);
        }
    char path[512];
    void *h = compile_and_open(g, w, NULL, path);
    state_new_fn state_new = (state_new_fn)sym(h, "mlp", "state_new");
    step_fn step = (step_fn)sym(h, "mlp", "step");
    access_fn get = (access_fn)sym(h, "mlp", "state_get");
    access_fn set = (access_fn)sym(h, "mlp", "state_set");
    state_free_fn state_free = (state_free_fn)sym(h, "mlp", "state_free");
    void *s = state_new();
    assert_non_null(s);

    mt_diag d;
    mt_diag_init(&d);
    mt_program *jit = NULL;
    assert_int_equal(mt_program_compile(g, "cpu", &jit, &d), MT_OK);
    for (int i = 0; i < mt_tensor_map_count(w); i++)
        assert_int_equal(
            mt_program_set_tensor(jit, mt_tensor_map_name(w, i), mt_tensor_map_at(w, i), &d),
            MT_OK);
    for (int it = 0; it < 10; it++) {
        mt_tensor *x = mt_test_random_leaf(&g->nodes[mt_graph_find(g, "x")]);
        mt_tensor *y = mt_test_random_leaf(&g->nodes[mt_graph_find(g, "y")]);
        assert_int_equal(mt_program_set_tensor(jit, "x", x, &d), MT_OK);
        assert_int_equal(mt_program_set_tensor(jit, "y", y, &d), MT_OK);
        assert_int_equal(mt_program_run(jit, &d), MT_OK);
        float loss, logits[8 * 3], want_loss, want_logits[8 * 3];
        const void *in[2] = {x->data, y->data};
        void *out[2] = {&loss, logits};
        assert_int_equal(step(s, in, out), 0);
        assert_int_equal(mt_program_get(jit, "loss", &want_loss, sizeof want_loss, &d), MT_OK);
        assert_int_equal(mt_program_get(jit, "logits", want_logits, sizeof want_logits, &d), MT_OK);
        assert_float_equal(loss, want_loss, 1e-5 * fmax(1.0, fabs(want_loss)));
        for (int i = 0; i < 24; i++)
            assert_float_equal(logits[i], want_logits[i], 1e-5 * fmax(1.0, fabs(want_logits[i])));
        static const char *const names[] = {"w1", "b2", "adam.m.w1", "adam.v.b2", "adam.t"};
        for (int k = 0; k < 5; k++) {
            float a[20], b[20];
            size_t n = (size_t)mt_type_numel(&g->nodes[mt_graph_find(g, names[k])].type);
            assert_int_equal(get(s, names[k], a, n * 4), 0);
            assert_int_equal(mt_program_get(jit, names[k], b, n * 4, &d), MT_OK);
            for (size_t i = 0; i < n; i++)
                assert_float_equal(a[i], b[i], 1e-5 * fmax(1.0, fabs(b[i])));
        }
        mt_tensor_free(x);
        mt_tensor_free(y);
    }
    float t;
    assert_int_equal(get(s, "adam.t", &t, sizeof t), 0);
    assert_float_equal(t, 10.0f, 0);
    /* Unknown names and wrong sizes are refused; a set value is read back. */
    assert_int_not_equal(get(s, "nope", &t, sizeof t), 0);
    assert_int_not_equal(get(s, "adam.t", &t, 8), 0);
    assert_int_not_equal(set(s, "b1", &t, sizeof t), 0);
    float b1[5] = {1, 2, 3, 4, 5}, back[5];
    assert_int_equal(set(s, "b1", b1, sizeof b1), 0);
    assert_int_equal(get(s, "b1", back, sizeof back), 0);
    assert_memory_equal(b1, back, sizeof b1);
    /* A fresh state starts from the baked values again. */
    void *fresh = state_new();
    assert_int_equal(get(fresh, "adam.t", &t, sizeof t), 0);
    assert_float_equal(t, 0.0f, 0);
    float w1[20];
    assert_int_equal(get(fresh, "w1", w1, sizeof w1), 0);
    assert_memory_equal(w1, mt_tensor_map_get(w, "w1")->data, sizeof w1);
    assert_int_not_equal(step(NULL, NULL, NULL), 0);
    state_free(fresh);
    state_free(s);
    mt_diag_fini(&d);
    mt_program_free(jit);
    dlclose(h);
    mt_tensor_map_free(w);
    free_leaves(g, leaves);
    mt_graph_free(g);
}

/* ---- errors ---------------------------------------------------------------------------- */

static mt_status compile_error(const mt_graph *g, const mt_tensor_map *w, const char *out,
                               mt_diag *d)
{
    mt_aot_options o = {.so_path = out, .weights = w, .weights_path = "w.safetensors"};
    return mt_aot_compile(g, &o, d);
}

static void missing_and_misshaped_weights_are_named(void **state)
{
    (void)state;
    mt_graph *g = parse(big_text);
    char out[512];
    snprintf(out, sizeof out, "%s/libnever.so", dir);
    mt_diag d;
    mt_diag_init(&d);
    mt_tensor_map *w = mt_tensor_map_new();
    assert_int_equal(compile_error(g, w, out, &d), MT_ERR_ARG);
    assert_string_equal(d.msg, "w.safetensors: missing tensor 'w' for param %w");
    mt_diag_fini(&d);
    int64_t dims[2] = {256, 255};
    mt_tensor_map_put(w, "w", mt_tensor_new(mt_type_make(MT_DTYPE_F32, 2, dims)));
    mt_diag_init(&d);
    assert_int_equal(compile_error(g, w, out, &d), MT_ERR_ARG);
    assert_string_equal(
        d.msg, "w.safetensors: tensor 'w' is f32[256,255] but %w is declared f32[256,256]");
    mt_diag_fini(&d);
    assert_int_equal(access(out, F_OK), -1);
    mt_tensor_map_free(w);
    mt_graph_free(g);
}

static void an_unwritable_output_fails_and_leaves_no_file(void **state)
{
    (void)state;
    mt_graph *g = parse_file("examples/xor.mt");
    mt_tensor **leaves = random_leaves(g);
    mt_tensor_map *w = weights_of(g, leaves);
    char out[512];
    snprintf(out, sizeof out, "%s/no/such/dir/libxor.so", dir);
    mt_diag d;
    mt_diag_init(&d);
    assert_int_equal(compile_error(g, w, out, &d), MT_ERR_IO);
    assert_non_null(strstr(d.file, "libxor.so"));
    mt_diag_fini(&d);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s' | grep -v '^lib.*[0-9]\\.so$')\"", dir);
    assert_int_equal(system(cmd), 0); /* nothing but the other tests' .so files */
    mt_tensor_map_free(w);
    free_leaves(g, leaves);
    mt_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_xor_example_matches_the_interpreter),
        cmocka_unit_test(elementwise_reductions_and_a_state_match_the_interpreter),
        cmocka_unit_test(an_f64_conv_net_matches_the_interpreter),
        cmocka_unit_test(a_product_shared_among_threads_matches_the_interpreter),
        cmocka_unit_test(a_portable_build_matches_the_interpreter),
        cmocka_unit_test(four_threads_running_at_once_get_their_own_results),
        cmocka_unit_test(threads_with_cached_scratch_get_their_own_results),
        cmocka_unit_test(null_and_misaligned_arguments_are_refused),
        cmocka_unit_test(a_step_so_follows_the_jit_for_ten_steps),
        cmocka_unit_test(missing_and_misshaped_weights_are_named),
        cmocka_unit_test(an_unwritable_output_fails_and_leaves_no_file),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
