/* affine.c - the README's C API example, built and run by the test suite, also against an
 * installed mtc (tests/install/run.sh) with nothing but <mtc/mtc.h>.
 *
 * Builds relu(x @ w) with the builder API, prints it as MTIR, compiles it for the "cpu" target
 * (fused kernels, JIT-compiled with LLVM), sets the param by name, binds the input and the
 * output to the caller's arrays, runs it, and checks the result against the "interp" target
 * (the reference interpreter).
 */
#include <stdio.h>
#include <string.h>

#include "mtc/mtc.h"

/* Compiles g for `target`, feeds it x and w, and runs it into y[4]. */
static mt_status run_on(const mt_graph *g, const char *target, const float *x, const float *w,
                        float *y, mt_diag *d)
{
    mt_program *p = NULL;
    mt_status st = mt_program_compile(g, target, &p, d);
    if (st == MT_OK)
        st = mt_program_set(p, "w", w, 6 * sizeof *w, d); /* params live in the program */
    if (st == MT_OK)
        st = mt_program_bind_input(p, "x", x, 6 * sizeof *x, d); /* borrowed, not copied */
    if (st == MT_OK)
        st = mt_program_bind_output(p, "y", y, 4 * sizeof *y, d); /* written in place */
    if (st == MT_OK)
        st = mt_program_run(p, d); /* as many times as you like */
    mt_program_free(p);
    return st;
}

int main(void)
{
    mt_graph *g = mt_graph_new("affine");
    int64_t xd[] = {2, 3}, wd[] = {3, 2};
    int x = mt_input(g, "x", mt_type_make(MT_DTYPE_F32, 2, xd));
    int w = mt_param(g, "w", mt_type_make(MT_DTYPE_F32, 2, wd));
    int y = mt_relu(g, mt_matmul(g, x, w)); /* one call per op; -1 after the first error */
    mt_name(g, y, "y");
    mt_set_outputs(g, &y, 1);
    if (mt_graph_diag(g)->status != MT_OK) { /* shape errors land here, with a message */
        fprintf(stderr, "%s\n", mt_graph_diag(g)->msg);
        return 1;
    }
    char *text = mt_graph_print(g);
    fputs(text, stdout);
    mt_free(text);

    const float xv[6] = {-2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f};
    const float wv[6] = {0.5f, -1.0f, 2.0f, 0.25f, 1.0f, -0.5f};
    float by_cpu[4], by_interp[4];
    mt_diag d;
    mt_diag_init(&d);
    int rc = 1;
    if (run_on(g, "cpu", xv, wv, by_cpu, &d) == MT_OK &&
        run_on(g, "interp", xv, wv, by_interp, &d) == MT_OK) {
        printf("cpu:    %g %g %g %g\ninterp: %g %g %g %g\n", by_cpu[0], by_cpu[1], by_cpu[2],
               by_cpu[3], by_interp[0], by_interp[1], by_interp[2], by_interp[3]);
        rc = memcmp(by_cpu, by_interp, sizeof by_cpu) != 0;
    } else {
        char msg[MT_DIAG_MSG + MT_DIAG_FILE + 32];
        mt_diag_format(&d, msg, sizeof msg);
        fprintf(stderr, "%s\n", msg);
    }
    mt_graph_free(g);
    mt_diag_fini(&d);
    return rc;
}
