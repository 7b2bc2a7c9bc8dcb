/* affine.c - the README's C API example, built and run by the test suite.
 *
 * Builds relu(x @ w) with the builder API, prints it as MTIR, and runs it on the reference
 * interpreter and on the JIT-compiled CPU backend.
 */
#include <stdio.h>
#include <string.h>

#include "codegen/cpu.h"
#include "ir/graph.h"
#include "runtime/interp.h"
#include "mtc/mtc.h"

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

    mt_tensor *xt = mt_tensor_new(*mt_graph_node_type(g, x));
    mt_tensor *wt = mt_tensor_new(*mt_graph_node_type(g, w));
    const float xv[] = {-2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f};
    const float wv[] = {0.5f, -1.0f, 2.0f, 0.25f, 1.0f, -0.5f};
    memcpy(mt_tensor_data(xt), xv, sizeof xv);
    memcpy(mt_tensor_data(wt), wv, sizeof wv);
    const mt_tensor *leaves[8] = {0}; /* indexed by node id */
    leaves[x] = xt;
    leaves[w] = wt;

    mt_diag d;
    mt_diag_init(&d);
    mt_tensor *by_interp = NULL, *by_cpu = NULL;
    mt_cpu_program *p = NULL;
    int rc = 1;
    if (mt_interp_run(g, leaves, &by_interp, &d) == MT_OK && mt_cpu_compile(g, &p, &d) == MT_OK &&
        mt_cpu_run(p, leaves, &by_cpu, &d) == MT_OK) {
        const float *a = mt_tensor_data(by_interp), *b = mt_tensor_data(by_cpu);
        printf("interp: %g %g %g %g\ncpu:    %g %g %g %g\n", a[0], a[1], a[2], a[3], b[0], b[1],
               b[2], b[3]);
        rc = memcmp(a, b, 4 * sizeof *a) != 0;
    } else {
        fprintf(stderr, "%s\n", d.msg);
    }
    mt_cpu_free(p);
    mt_tensor_free(by_interp);
    mt_tensor_free(by_cpu);
    mt_tensor_free(xt);
    mt_tensor_free(wt);
    mt_graph_free(g);
    mt_diag_fini(&d);
    return rc;
}
