/* test_cpu_conv.c - conv1d and conv2d on the CPU backend: products of the weights and a patch
 * matrix on the generated GEMM (passes/lower_conv.c), forward and both backward convolutions.
 *
 * Every graph is compiled and run on fresh random inputs with 1 and 2 threads; outputs must
 * match the interpreter to the tolerance of tests/support/cpu_check.h and the thread counts
 * must agree bit for bit. Sizes are awkward on purpose (odd images, kernels as wide as the
 * padded input, batch 1 and 3, channels 1 and several), with strides 1 and 2 and paddings 0 to
 * 2, in f32 and f64. Gradients are taken with respect to the input as well as the weight and
 * bias, so dx (a matmul of the weights by dy, then a sum of shifted taps) and the dw
 * convolution (batch and channels swapped, the dilated dy as the kernel) both run. Beside the
 * numbers, the tests check the plan: the conv kernels are GEMM statements on the CPU, and
 * direct loops on a target without a GEMM or when the patch matrix is over the target's
 * limit, which still match.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "codegen/cpu.h"
#include "ir/graph.h"
#include "passes/fuse.h"
#include "passes/lower.h"
#include "passes/pass.h"
#include "tests/support/cpu_check.h"
#include "tests/support/graphs.h"

static mt_graph *grad(mt_graph *g)
{
    mt_graph *gg = NULL;
    mt_diag d;
    mt_diag_init(&d);
    if (mt_pass_grad(g, NULL, 0, &gg, &d) != MT_OK)
        fail_msg("grad: %s", d.msg);
    mt_graph_free(g);
    return gg;
}

/* One conv: spatial axes (1 or 2), batch, channels in and out, image and kernel sizes,
 * strides, paddings. */
typedef struct conv_case {
    int sp;
    int64_t n, c, o;
    int64_t x[2], k[2], s[2], p[2];
} conv_case;

static const conv_case cases[] = {
    {1, 1, 1, 1, {1}, {1}, {1}, {0}},  /* the smallest */
    {1, 3, 2, 5, {17}, {3}, {2}, {1}}, /* strided, padded */
    {1, 2, 3, 4, {9}, {5}, {1}, {2}},  /* padding 2 */
    {1, 1, 5, 3, {6}, {10}, {2}, {2}}, /* kernel as wide as the padded input */
    {2, 1, 1, 1, {5, 4}, {2, 3}, {1, 1}, {0, 0}},
    {2, 3, 3, 5, {7, 9}, {3, 2}, {2, 1}, {1, 2}},
    {2, 2, 1, 8, {13, 11}, {5, 5}, {1, 1}, {0, 0}}, /* a LeNet-like first layer */
    {2, 3, 4, 2, {8, 7}, {3, 3}, {2, 2}, {2, 1}},
    {2, 1, 2, 3, {6, 6}, {1, 1}, {2, 2}, {0, 0}}, /* 1x1, strided: positions skipped */
    {2, 2, 3, 4, {3, 4}, {7, 6}, {1, 2}, {2, 1}}, /* kernel larger than the image */
};

/* The forward graph: y = relu(conv(x, w) + b); with a loss, mean(y * t) for the gradients. */
static mt_graph *graph_of(const conv_case *c, const char *dt, int loss)
{
    int64_t y[2];
    for (int i = 0; i < c->sp; i++)
        y[i] = (c->x[i] + 2 * c->p[i] - c->k[i]) / c->s[i] + 1;
    char xs[64], ws[64], ys[64], bs[32], at[96];
    if (c->sp == 1) {
        snprintf(xs, sizeof xs, "[%lld,%lld,%lld]", (long long)c->n, (long long)c->c,
                 (long long)c->x[0]);
        snprintf(ws, sizeof ws, "[%lld,%lld,%lld]", (long long)c->o, (long long)c->c,
                 (long long)c->k[0]);
        snprintf(ys, sizeof ys, "[%lld,%lld,%lld]", (long long)c->n, (long long)c->o,
                 (long long)y[0]);
        snprintf(bs, sizeof bs, "[%lld,1]", (long long)c->o);
        snprintf(at, sizeof at, "stride=%lld padding=%lld", (long long)c->s[0], (long long)c->p[0]);
    } else {
        snprintf(xs, sizeof xs, "[%lld,%lld,%lld,%lld]", (long long)c->n, (long long)c->c,
                 (long long)c->x[0], (long long)c->x[1]);
        snprintf(ws, sizeof ws, "[%lld,%lld,%lld,%lld]", (long long)c->o, (long long)c->c,
                 (long long)c->k[0], (long long)c->k[1]);
        snprintf(ys, sizeof ys, "[%lld,%lld,%lld,%lld]", (long long)c->n, (long long)c->o,
                 (long long)y[0], (long long)y[1]);
        snprintf(bs, sizeof bs, "[%lld,1,1]", (long long)c->o);
        snprintf(at, sizeof at, "stride=[%lld,%lld] padding=[%lld,%lld]", (long long)c->s[0],
                 (long long)c->s[1], (long long)c->p[0], (long long)c->p[1]);
    }
    const char *op = c->sp == 1 ? "conv1d" : "conv2d";
    char text[1024];
    if (loss)
        snprintf(text, sizeof text,
                 "mtir 1\ngraph g {\n  param %%x : %s%s\n  param %%w : %s%s\n"
                 "  param %%b : %s%s\n  input %%t : %s%s\n  %%c = %s %%x, %%w %s\n"
                 "  %%a = add %%c, %%b\n  %%r = relu %%a\n  %%m = mul %%r, %%t\n"
                 "  %%l = mean %%m\n  output %%l\n}\n",
                 dt, xs, dt, ws, dt, bs, dt, ys, op, at);
    else
        snprintf(text, sizeof text,
                 "mtir 1\ngraph g {\n  input %%x : %s%s\n  param %%w : %s%s\n"
                 "  param %%b : %s%s\n  %%c = %s %%x, %%w %s\n  %%a = add %%c, %%b\n"
                 "  %%r = relu %%a\n  output %%r, %%c\n}\n",
                 dt, xs, dt, ws, dt, bs, op, at);
    return mt_test_parse(text);
}

static void convolutions_match_the_interpreter_at_awkward_sizes(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int t = 0; t < 2; t++)
            mt_check_cpu_random(graph_of(&cases[i], t ? "f64" : "f32", 0), 2, 0);
}

static void gradients_of_convolutions_match_the_interpreter(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int t = 0; t < 2; t++)
            mt_check_cpu_random(grad(graph_of(&cases[i], t ? "f64" : "f32", 1)), 2, 0);
}

/* Kernels of g lowered for target t that are products (mt_kernel_gemm). */
static int products(const mt_graph *g, const mt_target_desc *t)
{
    mt_fusion *f = NULL;
    mt_kprog *p = NULL;
    mt_diag d;
    mt_diag_init(&d);
    if (mt_fuse(g, &f, &d) != MT_OK || mt_lower(g, f, t, &p, &d) != MT_OK)
        fail_msg("lower: %s", d.msg);
    int n = 0;
    for (int k = 0; k < p->nkernels; k++)
        n += mt_kernel_gemm(&p->kernels[k]) != NULL;
    mt_kprog_free(p);
    mt_fusion_free(f);
    return n;
}

static void every_convolution_of_a_training_step_is_a_product(void **state)
{
    (void)state;
    /* Forward: one conv; gradient: the forward one, dx and dw. */
    mt_graph *g = graph_of(&cases[7], "f32", 1);
    assert_int_equal(products(g, mt_target_desc_cpu()), 1);
    mt_graph *gg = grad(g);
    assert_int_equal(products(gg, mt_target_desc_cpu()), 3);
    mt_graph_free(gg);
}

static void direct_loops_remain_without_a_gemm_or_past_the_patch_limit(void **state)
{
    (void)state;
    mt_target_desc plain = *mt_target_desc_cpu(), small = plain;
    plain.has_gemm = 0;
    small.im2col_max_bytes = 0;
    for (int which = 0; which < 2; which++) {
        const mt_target_desc *t = which ? &small : &plain;
        for (size_t i = 1; i < sizeof cases / sizeof cases[0]; i += 4) {
            mt_graph *g = grad(graph_of(&cases[i], "f64", 1));
            /* Past the patch limit, dx's matmul, which needs no patches, is the one product. */
            assert_int_equal(products(g, t), which ? 1 : 0);
            mt_check_cpu_random_for(g, t, 2, 0);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(convolutions_match_the_interpreter_at_awkward_sizes),
        cmocka_unit_test(gradients_of_convolutions_match_the_interpreter),
        cmocka_unit_test(every_convolution_of_a_training_step_is_a_product),
        cmocka_unit_test(direct_loops_remain_without_a_gemm_or_past_the_patch_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
