/* train.c - mtc's side of the training benchmark (bench/train.sh, docs/benchmarks.md).
 *
 * Every workload is what `mtc train` compiles: the built-in model's loss graph
 * (frontend/models.c), turned into its training step (mt_pass_step: forward, backward and the
 * optimiser's update) and compiled for the cpu target through the program API, with the batch
 * bound as inputs. The same models, batches and optimisers are timed in PyTorch and JAX by
 * the scripts in bench/train/:
 *
 *   mlp        784-256-128-10, batch 128, SGD lr 0.01 momentum 0.9       samples/s
 *   lenet      conv 8, 16 of 5x5, pool, fc 64, 10 classes, batch 64,
 *              SGD lr 0.01 momentum 0.9                                   samples/s
 *   minitorch  2-100-100-1, batch 10, SGD lr 0.05, one epoch of 5 steps   ms per epoch
 *   chain      exp(tanh(sigmoid(x))) over 4096x4096 and its sums along
 *              both axes, one program run (not a training step)          ms
 *   compile    the mlp step compiled cold (MTC_CACHE=0), on every thread
 *              and on one                                                ms
 *
 * A throughput is the batch over the median time of one step (timed for SECONDS in all, after
 * warm-up); the epoch (five batches, each bound before its step), chain and compile figures
 * are medians too. The machine is shared,
 * so medians keep one disturbed step from moving a figure.
 *
 *   usage: bench_train [SECONDS]   (seconds per workload, default 1)
 *   output: `train NAME VALUE UNIT` lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frontend/models.h"
#include "ir/alloc.h"
#include "passes/optim.h"

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void check(mt_status st, const mt_diag *d, const char *what)
{
    if (st == MT_OK)
        return;
    char buf[1024];
    mt_diag_format(d, buf, sizeof buf);
    fprintf(stderr, "bench_train: %s: %s\n", what, buf);
    exit(1);
}

typedef struct workload {
    const char *model;
    int64_t batch, features, classes, hidden;
    double lr, momentum;
} workload;

static const workload mlp = {"mlp", 128, 784, 10, 256, 0.01, 0.9};
static const workload lenet = {"lenet", 64, 784, 10, 0, 0.01, 0.9};
static const workload minitorch = {"minitorch", 10, 2, 1, 100, 0.05, 0.0};

/* The training step of w as a graph, and the initial params. */
static mt_graph *step_graph(const workload *w, mt_tensor_map **init, mt_diag *d)
{
    mt_graph *loss = NULL, *step = NULL;
    check(mt_model_build(w->model, w->batch, w->features, w->classes, w->hidden, 0, &loss, init, d),
          d, w->model);
    mt_optim o;
    mt_optim_defaults(&o, MT_OPTIM_SGD);
    o.lr = w->lr;
    o.momentum = w->momentum;
    check(mt_pass_step(loss, &o, NULL, 0, &step, d), d, "mt_pass_step");
    mt_graph_free(loss);
    return step;
}

/* Random x in [0, 1), one-hot y (or 0/1 labels for one class), bound to p's inputs. */
static void bind_batch(mt_program *p, const workload *w, float *x, float *y, mt_diag *d)
{
    size_t nx = mt_program_slot_nbytes(p, mt_program_find(p, "x")) / sizeof(float);
    size_t ny = mt_program_slot_nbytes(p, mt_program_find(p, "y")) / sizeof(float);
    for (size_t i = 0; i < nx; i++)
        x[i] = (float)rand() / (float)RAND_MAX;
    memset(y, 0, ny * sizeof *y);
    for (int64_t b = 0; b < w->batch; b++)
        if (w->classes == 1)
            y[b] = (float)(rand() % 2);
        else
            y[b * w->classes + rand() % w->classes] = 1;
    check(mt_program_bind_input(p, "x", x, nx * sizeof *x, d), d, "bind x");
    check(mt_program_bind_input(p, "y", y, ny * sizeof *y, d), d, "bind y");
}

static mt_program *compile_step(const workload *w, float **x, float **y, mt_diag *d)
{
    mt_tensor_map *init = NULL;
    mt_graph *g = step_graph(w, &init, d);
    mt_program *p = NULL;
    check(mt_program_compile(g, "cpu", &p, d), d, "compile");
    for (int i = 0; i < mt_tensor_map_count(init); i++)
        check(mt_program_set_tensor(p, mt_tensor_map_name(init, i), mt_tensor_map_at(init, i), d),
              d, "set a param");
    *x = mt_malloc(mt_program_slot_nbytes(p, mt_program_find(p, "x")));
    *y = mt_malloc(mt_program_slot_nbytes(p, mt_program_find(p, "y")));
    if (!*x || !*y) {
        fprintf(stderr, "bench_train: out of memory\n");
        exit(1);
    }
    bind_batch(p, w, *x, *y, d);
    mt_tensor_map_free(init);
    mt_graph_free(g);
    return p;
}

/* Median time of one run, sampled for about `seconds`. */
static double time_runs(mt_program *p, double seconds, mt_diag *d)
{
    enum { MAX = 100000 };
    static double t[MAX];
    for (int i = 0; i < 3; i++)
        check(mt_program_run(p, d), d, "warm-up run");
    int n = 0;
    double start = now_ms();
    while (n < MAX && (n < 5 || now_ms() - start < 1e3 * seconds)) {
        double t0 = now_ms();
        check(mt_program_run(p, d), d, "run");
        t[n++] = now_ms() - t0;
    }
    return median(t, n);
}

static void bench_step(const workload *w, double seconds, mt_diag *d)
{
    float *x, *y;
    mt_program *p = compile_step(w, &x, &y, d);
    double ms = time_runs(p, seconds, d);
    printf("train %s %.0f samples/s\n", w->model, (double)w->batch / (ms * 1e-3));
    fflush(stdout);
    mt_program_free(p);
    mt_free(x);
    mt_free(y);
}

/* An epoch of `steps` batches, each bound before its step (a pointer swap: nothing copied),
 * as `mtc train` feeds them. */
static void bench_epoch(const workload *w, int steps, double seconds, mt_diag *d)
{
    enum { MAX_STEPS = 16, MAX_TIMES = 100000 };
    static double t[MAX_TIMES];
    float *x[MAX_STEPS], *y[MAX_STEPS];
    mt_program *p = compile_step(w, &x[0], &y[0], d);
    size_t nx = mt_program_slot_nbytes(p, mt_program_find(p, "x"));
    size_t ny = mt_program_slot_nbytes(p, mt_program_find(p, "y"));
    for (int s = 1; s < steps; s++) {
        x[s] = mt_malloc(nx);
        y[s] = mt_malloc(ny);
        if (!x[s] || !y[s]) {
            fprintf(stderr, "bench_train: out of memory\n");
            exit(1);
        }
        bind_batch(p, w, x[s], y[s], d);
    }
    int n = 0;
    double start = now_ms();
    for (int warm = 3; n < MAX_TIMES && (n < 5 || now_ms() - start < 1e3 * seconds);) {
        double t0 = now_ms();
        for (int s = 0; s < steps; s++) {
            check(mt_program_bind_input(p, "x", x[s], nx, d), d, "bind x");
            check(mt_program_bind_input(p, "y", y[s], ny, d), d, "bind y");
            check(mt_program_run(p, d), d, "run");
        }
        if (warm > 0)
            warm--;
        else
            t[n++] = now_ms() - t0;
    }
    printf("train %s_epoch %.4f ms\n", w->model, median(t, n));
    fflush(stdout);
    mt_program_free(p);
    for (int s = 0; s < steps; s++) {
        mt_free(x[s]);
        mt_free(y[s]);
    }
}

/* exp(tanh(sigmoid(x))) and its sums along each axis. */
static void bench_chain(double seconds, mt_diag *d)
{
    enum { N = 4096 };
    mt_graph *g = mt_graph_new("chain");
    int x = mt_input(g, "x", mt_type_make(MT_DTYPE_F32, 2, (int64_t[]){N, N}));
    int e = mt_exp(g, mt_tanh(g, mt_sigmoid(g, x)));
    int outs[2] = {mt_sum(g, e, 1), mt_sum(g, e, 0)};
    mt_set_outputs(g, outs, 2);
    mt_program *p = NULL;
    check(mt_program_compile(g, "cpu", &p, d), d, "compile chain");
    float *data = mt_malloc((size_t)N * N * sizeof *data);
    if (!data) {
        fprintf(stderr, "bench_train: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < (size_t)N * N; i++)
        data[i] = 2.0f * (float)rand() / (float)RAND_MAX - 1.0f;
    check(mt_program_bind_input(p, "x", data, (size_t)N * N * sizeof *data, d), d, "bind");
    printf("train chain %.2f ms\n", time_runs(p, seconds, d));
    fflush(stdout);
    mt_program_free(p);
    mt_free(data);
    mt_graph_free(g);
}

/* Median of 5 cold compiles of the mlp step (graph passes, LLVM, linking), after one that pays
 * for LLVM's one-time set-up. */
static double compile_ms(mt_diag *d)
{
    mt_tensor_map *init = NULL;
    mt_graph *g = step_graph(&mlp, &init, d);
    double t[5];
    for (int i = -1; i < 5; i++) {
        mt_program *p = NULL;
        double t0 = now_ms();
        check(mt_program_compile(g, "cpu", &p, d), d, "compile");
        if (i >= 0)
            t[i] = now_ms() - t0;
        mt_program_free(p);
    }
    mt_tensor_map_free(init);
    mt_graph_free(g);
    return median(t, 5);
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    if (seconds <= 0)
        seconds = 1.0;
    srand(1);
    mt_diag d;
    mt_diag_init(&d);
    bench_step(&mlp, seconds, &d);
    bench_step(&lenet, seconds, &d);
    bench_epoch(&minitorch, 5, seconds, &d);
    bench_chain(seconds, &d);
    /* Cold: no kernel cache read or written. */
    setenv("MTC_CACHE", "0", 1);
    printf("train compile_mlp %.1f ms\n", compile_ms(&d));
    setenv("MTC_NUM_THREADS", "1", 1);
    printf("train compile_mlp_1thread %.1f ms\n", compile_ms(&d));
    mt_diag_fini(&d);
    return 0;
}
