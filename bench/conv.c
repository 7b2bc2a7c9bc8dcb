/* conv.c - conv2d forward through the CPU backend: the GEMM over a patch matrix against the
 * direct loops it replaced.
 *
 * Each shape is the graph y = relu(conv2d(x, w) + b), f32, compiled twice with
 * mt_cpu_compile_for: with the CPU's target description (the conv is a product of the weights
 * and a patch matrix, passes/lower_conv.c) and with im2col_max_bytes = 0 (every conv keeps the
 * direct loop nest of passes/lower_contract.c, as before the GEMM path existed). Both run with
 * mt_cpu_run on the same inputs; the result is the best of 3 rounds of back-to-back runs after
 * a warm-up, as samples (batch entries) per second. bench/conv_torch.py times PyTorch on the
 * same shapes and bench/run.sh prints the ratios. diff: max |gemm - direct| / max |direct|.
 *
 *   usage: bench_conv [NAME ...]     (default: every shape)   env: MT_BENCH_THREADS (default 2)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codegen/cpu.h"
#include "ir/graph.h"

/* The shapes, shared with bench/conv_torch.py: name, N, C, H, W, O, K, stride, padding. */
typedef struct shape {
    const char *name;
    int n, c, h, w, o, k, stride, pad;
} shape;

static const shape shapes[] = {
    {"lenet1", 64, 1, 28, 28, 8, 5, 1, 0},
    {"lenet2", 64, 8, 12, 12, 16, 5, 1, 0},
    {"mid3x3", 16, 32, 32, 32, 64, 3, 1, 1},
    {"stride2", 32, 16, 28, 28, 32, 3, 2, 1},
};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static mt_tensor *random_tensor(const mt_type *t)
{
    mt_tensor *x = mt_tensor_new(*t);
    if (!x)
        return NULL;
    float *v = mt_tensor_data(x);
    for (int64_t i = 0; i < mt_type_numel(t); i++)
        v[i] = 2.0f * (float)rand() / (float)RAND_MAX - 1.0f;
    return x;
}

/* Best seconds per run of p over 3 rounds; the output of the last run in *y. */
static double time_runs(mt_cpu_program *p, const mt_tensor *const *leaves, int reps, mt_tensor **y,
                        mt_diag *d)
{
    double best = 1e30;
    for (int round = 0; round < 3; round++)
        for (int r = -1; r < reps; r++) {
            mt_tensor_free(*y);
            *y = NULL;
            double t = now();
            if (mt_cpu_run(p, leaves, y, d) != MT_OK)
                return -1;
            t = now() - t;
            if (r >= 0)
                best = fmin(best, t);
        }
    return best;
}

static int bench_one(const shape *s, int threads)
{
    int oh = (s->h + 2 * s->pad - s->k) / s->stride + 1,
        ow = (s->w + 2 * s->pad - s->k) / s->stride + 1;
    char text[1024];
    snprintf(text, sizeof text,
             "mtir 1\ngraph %s {\n  input %%x : f32[%d,%d,%d,%d]\n  param %%w : f32[%d,%d,%d,%d]\n"
             "  param %%b : f32[%d]\n  %%c = conv2d %%x, %%w stride=%d padding=%d\n"
             "  %%br = reshape %%b shape=[1,%d,1,1]\n  %%a = add %%c, %%br\n  %%y = relu %%a\n"
             "  output %%y\n}\n",
             s->name, s->n, s->c, s->h, s->w, s->o, s->c, s->k, s->k, s->o, s->stride, s->pad,
             s->o);
    mt_diag d;
    mt_diag_init(&d);
    mt_graph *g = NULL;
    if (mt_graph_parse(text, strlen(text), "bench.mt", &g, &d) != MT_OK) {
        fprintf(stderr, "bench_conv: %s: %s\n", s->name, d.msg);
        return 1;
    }
    const mt_tensor **leaves = calloc((size_t)mt_graph_nnodes(g), sizeof *leaves);
    mt_tensor *in[3] = {NULL, NULL, NULL};
    const char *names[3] = {"x", "w", "b"};
    int ok = leaves != NULL;
    for (int i = 0; i < 3 && ok; i++) {
        int id = mt_graph_find(g, names[i]);
        in[i] = random_tensor(&mt_graph_node(g, id)->type);
        leaves[id] = in[i];
        ok = in[i] != NULL;
    }
    mt_target_desc direct = *mt_target_desc_cpu();
    direct.im2col_max_bytes = 0;
    mt_cpu_program *p[2] = {NULL, NULL};
    mt_tensor *y[2] = {NULL, NULL};
    double t[2] = {0, 0};
    double macs = (double)s->n * s->o * oh * ow * s->c * s->k * s->k;
    int reps = (int)fmin(50.0, fmax(3.0, 2e8 / macs));
    for (int i = 0; i < 2 && ok; i++) {
        ok = mt_cpu_compile_for(g, i ? &direct : mt_target_desc_cpu(), &p[i], &d) == MT_OK &&
             mt_cpu_set_threads(p[i], threads, &d) == MT_OK;
        if (ok)
            ok = (t[i] = time_runs(p[i], leaves, reps, &y[i], &d)) > 0;
    }
    if (!ok) {
        fprintf(stderr, "bench_conv: %s: %s\n", s->name, d.msg[0] ? d.msg : "out of memory");
        return 1;
    }
    const float *a = mt_tensor_data(y[0]), *b = mt_tensor_data(y[1]);
    double diff = 0, scale = 0;
    for (int64_t i = 0; i < mt_type_numel(mt_tensor_type(y[1])); i++) {
        diff = fmax(diff, fabs((double)a[i] - (double)b[i]));
        scale = fmax(scale, fabs((double)b[i]));
    }
    printf("| %-8s | [%d,%d,%d,%d] * [%d,%d,%d,%d] s%d p%d | %d | %9.0f | %9.0f | %5.2f | %8.3f | "
           "%8.3f | %7.1e |\n",
           s->name, s->n, s->c, s->h, s->w, s->o, s->c, s->k, s->k, s->stride, s->pad, threads,
           s->n / t[0], s->n / t[1], t[1] / t[0], t[0] * 1e3, t[1] * 1e3,
           scale > 0 ? diff / scale : diff);
    fflush(stdout);
    for (int i = 0; i < 2; i++) {
        mt_tensor_free(y[i]);
        mt_cpu_free(p[i]);
    }
    for (int i = 0; i < 3; i++)
        mt_tensor_free(in[i]);
    free(leaves);
    mt_graph_free(g);
    mt_diag_fini(&d);
    return 0;
}

int main(int argc, char **argv)
{
    int threads = 2;
    const char *env = getenv("MT_BENCH_THREADS");
    if (env && atoi(env) > 0)
        threads = atoi(env);
    srand(12345);
    printf("conv2d + bias + relu, f32, through mt_cpu_compile_for + mt_cpu_run, %d threads.\n"
           "samples/s: batch / best time of 3 rounds. gemm: the product over a patch matrix;\n"
           "direct: the loop nest (im2col_max_bytes = 0). diff: max |gemm - direct| / max "
           "|direct|.\n\n",
           threads);
    printf("| shape    | x * w                              | T | gemm /s   | direct /s | ratio | "
           "gemm ms  | direct ms | diff    |\n");
    printf("|----------|------------------------------------|---|-----------|-----------|-------|"
           "----------|----------|---------|\n");
    int failed = 0;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        int pick = argc < 2;
        for (int j = 1; j < argc; j++)
            pick |= strcmp(argv[j], shapes[i].name) == 0;
        if (pick)
            failed |= bench_one(&shapes[i], threads);
    }
    return failed;
}
