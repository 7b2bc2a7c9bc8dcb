/* test_nvrtc.c - every kernel of every test graph renders as CUDA C that NVRTC compiles.
 *
 * No GPU is needed: NVRTC compiles to PTX (compute_90) and to an sm_90 cubin on any machine with
 * the CUDA toolkit. The graphs are the PyTorch parity cases (the .mt files of tests/torch/cases)
 * and their gradient graphs (mt_pass_grad with respect to every param, or every input of an op
 * case whose output is a scalar: mt_pass_grad refuses the others), scheduled for the GPU
 * (codegen/gpu.h) and rendered in the CUDA dialect (codegen/c/render.h), each program under a
 * symbol prefix of its own. They are compiled as one translation unit per set, so NVRTC starts
 * four times, not four hundred; a failure's log names the kernel (<case>_k<N>). The compile
 * must be silent: no error and no warning. Skipped (77) where libnvrtc cannot be loaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/c/render.h"
#include "codegen/gpu.h"
#include "codegen/nvrtc.h"
#include "ir/alloc.h"
#include "passes/pass.h"
#include "passes/schedule.h"

#define CASES_DIR MT_SOURCE_DIR "/tests/torch/cases"

/* The CUDA source of g's GPU program with symbol prefix `prefix`, appended to b. */
static void render(mt_buf *b, const mt_graph *g, const char *prefix)
{
    mt_diag d;
    mt_diag_init(&d);
    int n;
    const mt_pass *const *passes = mt_passes_default(&n);
    mt_graph *opt = NULL;
    mt_kprog *kp = NULL;
    if (mt_pipeline_run(g, passes, n, NULL, NULL, &opt, &d) != MT_OK ||
        mt_schedule(opt, mt_target_desc_gpu(), &kp, &d) != MT_OK)
        fail_msg("%s: %s", prefix, d.msg);
    char *src = mt_c_render_program(&mt_c_cuda, kp, prefix, &d);
    if (!src)
        fail_msg("%s: render: %s", prefix, d.msg);
    mt_buf_puts(b, src);
    mt_free(src);
    mt_kprog_free(kp);
    mt_graph_free(opt);
    mt_diag_fini(&d);
}

/* Every case's forward graph (grad 0) or gradient graph (grad 1) as one translation unit. */
static char *all_cases(int grad, int *count)
{
    DIR *dir = opendir(CASES_DIR);
    assert_non_null(dir);
    mt_buf b = {0};
    struct dirent *e;
    *count = 0;
    while ((e = readdir(dir)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len <= 3 || strcmp(e->d_name + len - 3, ".mt") != 0)
            continue;
        char path[1024], prefix[300];
        snprintf(path, sizeof path, "%s/%s", CASES_DIR, e->d_name);
        snprintf(prefix, sizeof prefix, "%.*s_%s", (int)(len - 3), e->d_name, grad ? "grad_" : "");
        mt_graph *g = NULL, *gg = NULL;
        mt_diag d;
        mt_diag_init(&d);
        if (mt_graph_parse_file(path, &g, &d) != MT_OK)
            fail_msg("%s: %s", path, d.msg);
        /* With respect to every param, or where there is none (the op cases) every input. */
        int wrt[64], nwrt = 0, has_params = 0;
        for (int i = 0; i < g->nnodes; i++)
            has_params |= g->nodes[i].op == MT_OP_PARAM;
        for (int i = 0; i < g->nnodes && nwrt < 64; i++)
            if (g->nodes[i].op == (has_params ? MT_OP_PARAM : MT_OP_INPUT))
                wrt[nwrt++] = i;
        if (!grad) {
            render(&b, g, prefix);
            ++*count;
        } else if (mt_pass_grad(g, wrt, nwrt, &gg, &d) == MT_OK) {
            render(&b, gg, prefix);
            ++*count;
        } else if (has_params) {
            fail_msg("%s: grad: %s", path, d.msg);
        }
        mt_graph_free(gg);
        mt_graph_free(g);
        mt_diag_fini(&d);
    }
    closedir(dir);
    char *s = mt_buf_take(&b);
    assert_non_null(s);
    return s;
}

static void compiles_silently(const char *src, const char *arch)
{
    mt_diag d;
    mt_diag_init(&d);
    mt_nvrtc_output o;
    if (mt_nvrtc_compile(src, arch, &o, &d) != MT_OK)
        fail_msg("%s: %s\n%s", arch, d.msg, d.log ? d.log : "");
    assert_true(o.size > 0);
    if (o.log[0])
        fail_msg("%s: NVRTC warns:\n%s", arch, o.log);
    mt_nvrtc_output_fini(&o);
    mt_diag_fini(&d);
}

static void check_set(int grad)
{
    int n = 0;
    char *src = all_cases(grad, &n);
    printf("%d %s programs, %zu bytes of CUDA C\n", n, grad ? "gradient" : "forward", strlen(src));
    assert_true(n >= 20);
    compiles_silently(src, "compute_90");
    compiles_silently(src, "sm_90");
    mt_free(src);
}

static void every_forward_case_compiles_to_ptx_and_an_sm_90_cubin(void **state)
{
    (void)state;
    check_set(0);
}

static void every_gradient_graph_compiles_to_ptx_and_an_sm_90_cubin(void **state)
{
    (void)state;
    check_set(1);
}

static void a_compile_error_is_a_backend_error_with_the_log(void **state)
{
    (void)state;
    mt_diag d;
    mt_diag_init(&d);
    mt_nvrtc_output o;
    assert_int_equal(
        mt_nvrtc_compile("extern \"C\" __global__ void k() { nope; }", "sm_90", &o, &d),
        MT_ERR_BACKEND);
    assert_non_null(strstr(d.msg, "did not compile"));
    assert_non_null(d.log);
    assert_non_null(strstr(d.log, "nope"));
    assert_null(o.code);
    mt_diag_fini(&d);
}

int main(void)
{
    mt_diag d;
    mt_diag_init(&d);
    if (!mt_nvrtc_available(&d)) {
        printf("skipped: %s\n", d.msg);
        mt_diag_fini(&d);
        return 77;
    }
    printf("%s\n", mt_nvrtc_version());
    mt_diag_fini(&d);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_compile_error_is_a_backend_error_with_the_log),
        cmocka_unit_test(every_forward_case_compiles_to_ptx_and_an_sm_90_cubin),
        cmocka_unit_test(every_gradient_graph_compiles_to_ptx_and_an_sm_90_cubin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
