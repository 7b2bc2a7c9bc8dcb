/* test_collective.c - the allreduce op and data-parallel steps, without MPI.
 *
 * A "rank" here is a thread: the process-wide hook (mt_set_allreduce) meets the ranks at a
 * barrier and reduces their buffers, which is what an MPI hook does across processes. So R
 * threads that each train on their slice of a batch must end with the params of one process
 * that trains on the whole batch (`mtc step --data-parallel`, passes/optim.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "codegen/aot.h"
#include "ir/alloc.h"
#include "ir/graph.h"
#include "passes/optim.h"

#define MAX_RANKS 4

/* ---- ranks as threads ------------------------------------------------------------------ */

static int nranks;
static pthread_barrier_t barrier;
static void *rank_buf[MAX_RANKS];
static _Thread_local int my_rank;
static int calls;

static int thread_allreduce(void *buf, size_t count, int dtype, int op, void *ctx)
{
    (void)ctx;
    rank_buf[my_rank] = buf;
    pthread_barrier_wait(&barrier);
    if (my_rank == 0) {
        calls++;
        for (size_t i = 0; i < count; i++) {
            double s = 0;
            for (int r = 0; r < nranks; r++)
                s += dtype ? ((double *)rank_buf[r])[i] : ((float *)rank_buf[r])[i];
            if (op == 1)
                s /= nranks;
            for (int r = 0; r < nranks; r++) {
                if (dtype)
                    ((double *)rank_buf[r])[i] = s;
                else
                    ((float *)rank_buf[r])[i] = (float)s;
            }
        }
    }
    pthread_barrier_wait(&barrier);
    return 0;
}

static mt_graph *parse(const char *text)
{
    mt_diag d;
    mt_diag_init(&d);
    mt_graph *g = NULL;
    if (mt_graph_parse(text, strlen(text), "t.mt", &g, &d) != MT_OK)
        fail_msg("%s", d.msg);
    return g;
}

/* ---- the op ---------------------------------------------------------------------------- */

static const char sum_text[] = "mtir 1\ngraph g {\n  input %x : f32[5]\n"
                               "  %y = mul %x, %x\n  %s = allreduce %y op=sum\n"
                               "  %m = allreduce %y op=mean\n  output %s, %m\n}\n";

typedef struct rank_job {
    const char *target;
    int rank;
    float x[5], s[5], m[5];
} rank_job;

static void *run_rank(void *arg)
{
    rank_job *j = arg;
    my_rank = j->rank;
    mt_graph *g = parse(sum_text);
    mt_program *p = NULL;
    mt_diag d;
    mt_diag_init(&d);
    if (mt_program_compile(g, j->target, &p, &d) == MT_OK &&
        mt_program_set(p, "x", j->x, sizeof j->x, &d) == MT_OK &&
        mt_program_bind_output(p, "s", j->s, sizeof j->s, &d) == MT_OK &&
        mt_program_bind_output(p, "m", j->m, sizeof j->m, &d) == MT_OK)
        mt_program_run(p, &d);
    mt_program_free(p);
    mt_graph_free(g);
    return NULL;
}

/* Whether `target` has a device here (the GPU targets need one; PoCL counts for opencl). */
static int has_device(const char *target)
{
    mt_graph *g = parse(sum_text);
    mt_program *p = NULL;
    mt_diag d;
    mt_diag_init(&d);
    mt_status st = mt_program_compile(g, target, &p, &d);
    if (st != MT_OK)
        printf("%s: skipped: %s\n", target, d.msg);
    mt_program_free(p);
    mt_graph_free(g);
    mt_diag_fini(&d);
    return st == MT_OK;
}

static void allreduce_sums_or_averages_over_the_ranks_on_every_target(void **state)
{
    (void)state;
    /* opencl reduces through the host: its buffer may sit at an offset of the arena. */
    const char *targets[] = {"interp", "cpu", "opencl"};
    for (int t = 0; t < 3; t++) {
        if (t == 2 && !has_device(targets[t]))
            continue;
        nranks = 3;
        calls = 0;
        pthread_barrier_init(&barrier, NULL, (unsigned)nranks);
        mt_set_allreduce(thread_allreduce, NULL);
        rank_job jobs[3];
        pthread_t th[3];
        for (int r = 0; r < 3; r++) {
            jobs[r].target = targets[t];
            jobs[r].rank = r;
            for (int i = 0; i < 5; i++)
                jobs[r].x[i] = (float)(r + 1) * (float)(i + 1);
            pthread_create(&th[r], NULL, run_rank, &jobs[r]);
        }
        for (int r = 0; r < 3; r++)
            pthread_join(th[r], NULL);
        mt_set_allreduce(NULL, NULL);
        pthread_barrier_destroy(&barrier);
        assert_int_equal(calls, 2); /* one collective per allreduce, whatever the target */
        for (int r = 0; r < 3; r++)
            for (int i = 0; i < 5; i++) {
                float sq = (float)((i + 1) * (i + 1));
                assert_float_equal(jobs[r].s[i], sq * (1 + 4 + 9), 1e-3);
                assert_float_equal(jobs[r].m[i], sq * (1 + 4 + 9) / 3.0f, 1e-3);
            }
    }
}

static void without_a_hook_allreduce_is_the_identity(void **state)
{
    (void)state;
    nranks = 1;
    rank_job j = {"cpu", 0, {1, 2, 3, 4, 5}, {0}, {0}};
    run_rank(&j);
    for (int i = 0; i < 5; i++) {
        assert_float_equal(j.s[i], j.x[i] * j.x[i], 0);
        assert_float_equal(j.m[i], j.x[i] * j.x[i], 0);
    }
}

/* ---- data-parallel training ------------------------------------------------------------ */

/* tests/torch/optim/mlp.mt with its batch of 8 changed to `batch`. */
static mt_graph *mlp_with_batch(int batch)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/torch/optim/mlp.mt", MT_SOURCE_DIR);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char text[4096], out[4200];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    char *o = out;
    for (const char *p = text; *p;) {
        if (!strncmp(p, "f32[8,", 6)) {
            o += sprintf(o, "f32[%d,", batch);
            p += 6;
        } else {
            *o++ = *p++;
        }
    }
    *o = 0;
    return parse(out);
}

typedef struct train_job {
    const mt_graph *step;
    const char *target;
    int rank, batch, offset, steps;
    const float *x, *y; /* the whole data: steps batches of `batch * nranks` samples */
    float w1[20], b1[5], w2[15], b2[3]; /* in: initial params; out: trained */
} train_job;

static void *train(void *arg)
{
    train_job *j = arg;
    my_rank = j->rank;
    mt_program *p = NULL;
    mt_diag d;
    mt_diag_init(&d);
    mt_status st = mt_program_compile(j->step, j->target, &p, &d);
    const char *names[4] = {"w1", "b1", "w2", "b2"};
    float *vals[4] = {j->w1, j->b1, j->w2, j->b2};
    size_t sizes[4] = {sizeof j->w1, sizeof j->b1, sizeof j->w2, sizeof j->b2};
    for (int i = 0; i < 4 && st == MT_OK; i++)
        st = mt_program_set(p, names[i], vals[i], sizes[i], &d);
    int global = j->batch * (nranks > 0 ? nranks : 1);
    for (int s = 0; s < j->steps && st == MT_OK; s++) {
        const float *x = j->x + ((size_t)s * global + (size_t)j->offset) * 4;
        const float *y = j->y + ((size_t)s * global + (size_t)j->offset) * 3;
        st = mt_program_set(p, "x", x, (size_t)j->batch * 4 * sizeof(float), &d);
        if (st == MT_OK)
            st = mt_program_set(p, "y", y, (size_t)j->batch * 3 * sizeof(float), &d);
        if (st == MT_OK)
            st = mt_program_run(p, &d);
    }
    for (int i = 0; i < 4 && st == MT_OK; i++)
        st = mt_program_get(p, names[i], vals[i], sizes[i], &d);
    if (st != MT_OK)
        fprintf(stderr, "rank %d: %s\n", j->rank, d.msg);
    mt_program_free(p);
    return NULL;
}

static void two_ranks_on_half_batches_take_the_step_of_one_process(mt_optim_kind kind,
                                                                   const char *target)
{
    enum { STEPS = 5, R = 2, B = 8 };
    static float x[STEPS * R * B * 4], y[STEPS * R * B * 3];
    for (int i = 0; i < STEPS * R * B; i++) {
        for (int k = 0; k < 4; k++)
            x[i * 4 + k] = sinf((float)(i * 4 + k) * 0.7f) * 1.5f;
        for (int k = 0; k < 3; k++)
            y[i * 3 + k] = (float)((i * 7) % 3 == k);
    }
    mt_optim o;
    mt_optim_defaults(&o, kind);
    o.lr = 0.05;
    o.momentum = kind == MT_OPTIM_SGD ? 0.9 : 0;
    mt_diag d;
    mt_diag_init(&d);
    mt_graph *whole = mlp_with_batch(R * B), *half = mlp_with_batch(B), *gw = NULL, *gh = NULL;
    assert_int_equal(mt_pass_step(whole, &o, NULL, 0, &gw, &d), MT_OK);
    o.data_parallel = 1;
    assert_int_equal(mt_pass_step(half, &o, NULL, 0, &gh, &d), MT_OK);

    train_job one = {gw, target, 0, R * B, 0, STEPS, x, y, {0}, {0}, {0}, {0}};
    for (int i = 0; i < 20; i++)
        one.w1[i] = 0.3f * sinf((float)i);
    for (int i = 0; i < 15; i++)
        one.w2[i] = 0.3f * cosf((float)i);
    train_job ranks[R];
    nranks = 1;
    train(&one);
    for (int r = 0; r < R; r++) {
        ranks[r] = (train_job){gh, target, r, B, r * B, STEPS, x, y, {0}, {0}, {0}, {0}};
        for (int i = 0; i < 20; i++)
            ranks[r].w1[i] = 0.3f * sinf((float)i);
        for (int i = 0; i < 15; i++)
            ranks[r].w2[i] = 0.3f * cosf((float)i);
    }
    nranks = R;
    calls = 0;
    pthread_barrier_init(&barrier, NULL, R);
    mt_set_allreduce(thread_allreduce, NULL);
    pthread_t th[R];
    for (int r = 0; r < R; r++)
        pthread_create(&th[r], NULL, train, &ranks[r]);
    for (int r = 0; r < R; r++)
        pthread_join(th[r], NULL);
    mt_set_allreduce(NULL, NULL);
    pthread_barrier_destroy(&barrier);
    /* One bucket: a single collective per step for all four gradients. */
    assert_int_equal(calls, STEPS);
    for (int r = 0; r < R; r++) {
        const float *got[4] = {ranks[r].w1, ranks[r].b1, ranks[r].w2, ranks[r].b2};
        const float *want[4] = {one.w1, one.b1, one.w2, one.b2};
        int n[4] = {20, 5, 15, 3};
        for (int t = 0; t < 4; t++)
            for (int i = 0; i < n[t]; i++)
                assert_true(fabsf(got[t][i] - want[t][i]) <= 1e-5f * fmaxf(1, fabsf(want[t][i])));
    }
    mt_graph_free(gw);
    mt_graph_free(gh);
    mt_graph_free(whole);
    mt_graph_free(half);
}

static void data_parallel_sgd_with_momentum_equals_the_combined_batch(void **state)
{
    (void)state;
    two_ranks_on_half_batches_take_the_step_of_one_process(MT_OPTIM_SGD, "interp");
    two_ranks_on_half_batches_take_the_step_of_one_process(MT_OPTIM_SGD, "cpu");
}

static void data_parallel_adam_equals_the_combined_batch(void **state)
{
    (void)state;
    two_ranks_on_half_batches_take_the_step_of_one_process(MT_OPTIM_ADAM, "cpu");
    if (has_device("opencl"))
        two_ranks_on_half_batches_take_the_step_of_one_process(MT_OPTIM_ADAM, "opencl");
}

/* Without a device the cuda target says so, whatever the graph: allreduce is no reason to
 * refuse it (it goes to NCCL, or through the host). */
static void the_cuda_target_compiles_allreduce_or_names_the_missing_device(void **state)
{
    (void)state;
    mt_graph *g = parse(sum_text);
    mt_program *p = NULL;
    mt_diag d;
    mt_diag_init(&d);
    mt_status st = mt_program_compile(g, "cuda", &p, &d);
    if (st != MT_OK) {
        assert_int_equal(st, MT_ERR_BACKEND);
        assert_null(strstr(d.msg, "allreduce"));
        assert_non_null(strstr(d.msg, "cuda: "));
    }
    mt_program_free(p);
    mt_graph_free(g);
    mt_diag_fini(&d);
}

/* ---- the same through a compiled .so (NAME_set_allreduce) ------------------------------ */

typedef void *(*state_new_fn)(void);
typedef int (*step_fn)(void *, const void *const *, void *const *);
typedef int (*get_fn)(const void *, const char *, void *, size_t);
typedef int (*set_fn)(void *, const char *, const void *, size_t);
typedef void (*free_fn)(void *);
typedef void (*set_allreduce_fn)(mt_allreduce_fn, void *);

typedef struct so_job {
    void *lib;
    train_job *j;
} so_job;

static void *(*sym)(void *, const char *) = dlsym;

static void *train_so(void *arg)
{
    so_job *sj = arg;
    train_job *j = sj->j;
    my_rank = j->rank;
    state_new_fn snew = (state_new_fn)(size_t)sym(sj->lib, "mlp_state_new");
    step_fn step = (step_fn)(size_t)sym(sj->lib, "mlp_step");
    get_fn get = (get_fn)(size_t)sym(sj->lib, "mlp_state_get");
    set_fn set = (set_fn)(size_t)sym(sj->lib, "mlp_state_set");
    free_fn sfree = (free_fn)(size_t)sym(sj->lib, "mlp_state_free");
    void *st = snew();
    const char *names[4] = {"w1", "b1", "w2", "b2"};
    float *vals[4] = {j->w1, j->b1, j->w2, j->b2};
    size_t sizes[4] = {sizeof j->w1, sizeof j->b1, sizeof j->w2, sizeof j->b2};
    for (int i = 0; i < 4; i++)
        set(st, names[i], vals[i], sizes[i]);
    float loss, logits[8 * 3];
    void *outs[2] = {&loss, logits};
    for (int s = 0; s < j->steps; s++) {
        size_t first = (size_t)s * (size_t)(j->batch * nranks) + (size_t)j->offset;
        const void *ins[2] = {j->x + first * 4, j->y + first * 3};
        step(st, ins, outs);
    }
    for (int i = 0; i < 4; i++)
        get(st, names[i], vals[i], sizes[i]);
    sfree(st);
    return NULL;
}

static void a_compiled_data_parallel_step_reduces_through_the_callers_hook(void **state)
{
    (void)state;
    enum { STEPS = 5, R = 2, B = 8 };
    static float x[STEPS * R * B * 4], y[STEPS * R * B * 3];
    for (int i = 0; i < STEPS * R * B; i++) {
        for (int k = 0; k < 4; k++)
            x[i * 4 + k] = cosf((float)(i * 4 + k) * 0.3f);
        for (int k = 0; k < 3; k++)
            y[i * 3 + k] = (float)((i * 5) % 3 == k);
    }
    mt_optim o;
    mt_optim_defaults(&o, MT_OPTIM_ADAM);
    o.lr = 0.01;
    mt_diag d;
    mt_diag_init(&d);
    mt_graph *whole = mlp_with_batch(R * B), *half = mlp_with_batch(B), *gw = NULL, *gh = NULL;
    assert_int_equal(mt_pass_step(whole, &o, NULL, 0, &gw, &d), MT_OK);
    o.data_parallel = 1;
    assert_int_equal(mt_pass_step(half, &o, NULL, 0, &gh, &d), MT_OK);
    char dir[] = "/tmp/mtc-dp-XXXXXX", so[600];
    assert_non_null(mkdtemp(dir));
    snprintf(so, sizeof so, "%s/libmlp.so", dir);
    /* The params are baked in as zeros and set per state below. */
    mt_tensor_map *w = mt_tensor_map_new();
    const char *pn[4] = {"w1", "b1", "w2", "b2"};
    for (int i = 0; i < 4; i++)
        mt_tensor_map_put(w, pn[i], mt_tensor_new(gh->nodes[mt_graph_find(gh, pn[i])].type));
    mt_aot_options ao = {.so_path = so, .weights = w};
    if (mt_aot_compile(gh, &ao, &d) != MT_OK)
        fail_msg("compile: %s", d.msg);
    mt_tensor_map_free(w);
    void *lib = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    assert_non_null(lib);
    set_allreduce_fn hook = (set_allreduce_fn)(size_t)sym(lib, "mlp_set_allreduce");
    assert_non_null(hook);

    train_job one = {gw, "cpu", 0, R * B, 0, STEPS, x, y, {0}, {0}, {0}, {0}};
    train_job ranks[R];
    so_job jobs[R];
    for (int i = 0; i < 20; i++)
        one.w1[i] = 0.2f * sinf((float)i + 1);
    for (int i = 0; i < 15; i++)
        one.w2[i] = 0.2f * cosf((float)i + 1);
    for (int r = 0; r < R; r++) {
        ranks[r] = one;
        ranks[r].rank = r;
        ranks[r].batch = B;
        ranks[r].offset = r * B;
        jobs[r] = (so_job){lib, &ranks[r]};
    }
    nranks = 1;
    train(&one);
    nranks = R;
    calls = 0;
    pthread_barrier_init(&barrier, NULL, R);
    hook(thread_allreduce, NULL);
    pthread_t th[R];
    for (int r = 0; r < R; r++)
        pthread_create(&th[r], NULL, train_so, &jobs[r]);
    for (int r = 0; r < R; r++)
        pthread_join(th[r], NULL);
    pthread_barrier_destroy(&barrier);
    assert_int_equal(calls, STEPS);
    for (int r = 0; r < R; r++)
        for (int i = 0; i < 20; i++)
            assert_true(fabsf(ranks[r].w1[i] - one.w1[i]) <= 1e-5f * fmaxf(1, fabsf(one.w1[i])));
    dlclose(lib);
    remove(so);
    remove(dir);
    mt_graph_free(gw);
    mt_graph_free(gh);
    mt_graph_free(whole);
    mt_graph_free(half);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(allreduce_sums_or_averages_over_the_ranks_on_every_target),
        cmocka_unit_test(without_a_hook_allreduce_is_the_identity),
        cmocka_unit_test(data_parallel_sgd_with_momentum_equals_the_combined_batch),
        cmocka_unit_test(data_parallel_adam_equals_the_combined_batch),
        cmocka_unit_test(the_cuda_target_compiles_allreduce_or_names_the_missing_device),
        cmocka_unit_test(a_compiled_data_parallel_step_reduces_through_the_callers_hook),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
