/* small_step.c - MiniTorch's Module 3 training epoch through the program API.
 *
 * The model is the built-in `minitorch` (frontend/models.h) with 100 hidden units: 2 -> 100 ->
 * 100 -> 1, ReLU, sigmoid and binary cross-entropy, batch 10, plain SGD (lr 0.05), as one step
 * graph (mt_pass_step) compiled once for the cpu target. An epoch is MiniTorch's: 50 points in
 * 5 batches of 10, each batch borrowed with mt_program_bind_input (no copy) and run with
 * mt_program_run, then the loss read with mt_program_data, as `mtc train` does.
 *
 * A program this small is all overhead: its kernels do some 300,000 multiply-adds per step.
 * The time printed is the best epoch of many (other work on the machine only adds), after
 * warm-up runs. With --detail it also prints, to stderr, the time of one step spent in each
 * kernel (mt_cpu_set_kernel_timer, timed over the same runs) beside the whole run's, so the
 * difference is the cost of dispatch: binding, calls, the pool, update copies.
 *
 *   usage: bench_small_step [--detail] [epochs]   (default 2000)
 *   output: `module3_epoch_ms MS` (one line on stdout)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codegen/cpu.h"
#include "codegen/target.h"
#include "frontend/models.h"
#include "ir/type.h"
#include "ir/alloc.h"
#include "mtc/mtc.h"
#include "passes/optim.h"

enum { BATCH = 10, FEATURES = 2, HIDDEN = 100, POINTS = 50, STEPS = POINTS / BATCH };

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static int fail(const char *what, const mt_diag *d)
{
    fprintf(stderr, "bench_small_step: %s: %s\n", what, d->msg);
    return 1;
}

/* MiniTorch's "simple" set: points in the unit square, labelled by x0 < 0.5. */
static void make_data(float *x, float *y)
{
    unsigned s = 7;
    for (int i = 0; i < POINTS; i++) {
        for (int f = 0; f < FEATURES; f++) {
            s = s * 1103515245u + 12345u;
            x[i * FEATURES + f] = (float)(s >> 8) / 16777216.0f;
        }
        y[i] = x[i * FEATURES] < 0.5f ? 1.0f : 0.0f;
    }
}

/* One epoch: five steps over the batches of x and y. Returns the last loss (NaN on error). */
static float epoch(mt_program *p, const float *x, const float *y, mt_diag *d)
{
    float loss = 0.0f / 0.0f;
    for (int b = 0; b < STEPS; b++) {
        if (mt_program_bind_input(p, "x", x + b * BATCH * FEATURES,
                                  sizeof(float) * BATCH * FEATURES, d) != MT_OK ||
            mt_program_bind_input(p, "y", y + b * BATCH, sizeof(float) * BATCH, d) != MT_OK ||
            mt_program_run(p, d) != MT_OK)
            return 0.0f / 0.0f;
        loss = *(const float *)mt_program_data(p, "loss");
    }
    return loss;
}

typedef struct timer {
    int nkernels;
    double ns[256], min[256];
} timer;

static void on_kernel(void *ctx, int k, int64_t ns)
{
    timer *t = ctx;
    if (k < 256) {
        t->ns[k] += (double)ns;
        t->min[k] = t->min[k] == 0 || (double)ns < t->min[k] ? (double)ns : t->min[k];
    }
    if (k >= t->nkernels)
        t->nkernels = k + 1;
}

int main(int argc, char **argv)
{
    int detail = argc > 1 && strcmp(argv[1], "--detail") == 0;
    int epochs = argc > 1 + detail ? atoi(argv[1 + detail]) : 2000;
    if (epochs < 1)
        epochs = 1;
    mt_diag d;
    mt_diag_init(&d);
    mt_graph *loss = NULL, *step = NULL;
    mt_tensor_map *init = NULL;
    if (mt_model_build("minitorch", BATCH, FEATURES, 1, HIDDEN, 1, &loss, &init, &d) != MT_OK)
        return fail("model", &d);
    mt_optim o;
    mt_optim_defaults(&o, MT_OPTIM_SGD);
    o.lr = 0.05;
    if (mt_pass_step(loss, &o, NULL, 0, &step, &d) != MT_OK)
        return fail("step graph", &d);
    mt_program *p = NULL;
    if (mt_program_compile(step, "cpu", &p, &d) != MT_OK)
        return fail("compile", &d);
    static float x[POINTS * FEATURES], y[POINTS];
    make_data(x, y);
    for (int i = 0; i < mt_tensor_map_count(init); i++) {
        const mt_tensor *t = mt_tensor_map_at(init, i);
        if (mt_program_set(p, mt_tensor_map_name(init, i), t->data, (size_t)t->nbytes, &d) != MT_OK)
            return fail("params", &d);
    }
    float first = epoch(p, x, y, &d), last = first;
    for (int i = 0; i < 50; i++) /* warm-up: caches, the pool's threads, page faults */
        last = epoch(p, x, y, &d);
    double best = 1e30, total = 0;
    for (int i = 0; i < epochs; i++) {
        double t0 = now_ms();
        last = epoch(p, x, y, &d);
        double t = now_ms() - t0;
        total += t;
        best = t < best ? t : best;
    }
    if (last != last)
        return fail("run", &d);
    printf("module3_epoch_ms %.4f\n", best);
    fflush(stdout);
    if (detail) {
        /* The same epochs with each kernel timed: the kernels' share of a step. */
        timer tm = {0};
        if (mt_program_set_kernel_timer(p, on_kernel, &tm, &d) != MT_OK)
            return fail("timer", &d);
        for (int i = 0; i < epochs; i++)
            epoch(p, x, y, &d);
        mt_program_set_kernel_timer(p, NULL, NULL, &d);
        double kernels = 0, fastest = 0;
        for (int k = 0; k < tm.nkernels; k++) {
            kernels += tm.ns[k];
            fastest += tm.min[k];
        }
        double steps = (double)epochs * STEPS;
        fprintf(
            stderr,
            "module3: loss %.4f -> %.4f; mean epoch %.4f ms; best step %.2f us; "
            "%d kernels take %.2f us of a step (mean, timed; %.2f us summing each one's fastest)\n",
            first, last, total / epochs, best * 1e3 / STEPS, tm.nkernels, kernels / steps * 1e-3,
            fastest * 1e-3);
        const mt_kprog *kp = mt_cpu_kernels(mt_program_impl(p));
        /* What the update copies cost: the same bytes through memcpy, best of many. */
        size_t copied = 0;
        for (int i = 0; i < kp->nupdates; i++)
            if (kp->updates[i].value != kp->updates[i].target) {
                const mt_kbuf *u = &kp->bufs[kp->updates[i].target];
                copied += (size_t)u->numel * mt_dtype_size(u->type.dtype);
            }
        static char from[1 << 20], to[1 << 20];
        double copy_best = 1e30;
        for (int i = 0; i < 1000 && copied <= sizeof from; i++) {
            double t0 = now_ms();
            memcpy(to, from, copied);
            __asm__ volatile("" : : "r"(to) : "memory");
            double t = now_ms() - t0;
            copy_best = t < copy_best ? t : copy_best;
        }
        fprintf(stderr, "module3: update copies %zu bytes a step, %.2f us as one memcpy\n", copied,
                copy_best * 1e3);
        for (int k = 0; k < tm.nkernels; k++)
            fprintf(stderr, "  %-4s %8.3f us mean %8.3f us fastest  %s\n", kp->kernels[k].name,
                    tm.ns[k] / steps * 1e-3, tm.min[k] * 1e-3, kp->kernels[k].note);
    }
    mt_program_free(p);
    mt_graph_free(step);
    mt_graph_free(loss);
    mt_tensor_map_free(init);
    return 0;
}
