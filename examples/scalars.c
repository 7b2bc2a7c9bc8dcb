/* scalars.c - MiniTorch's Modules 0 and 1 through mtc's C API: scalars are rank-0 tensors.
 *
 * MiniTorch starts with a Scalar class that records every operation so that backprop can walk
 * the graph back. In mtc the graph is explicit: the builder records the expression
 *
 *     f(x, y) = x * y + sigmoid(x) - relu(y - x) + log(y) * exp(-x)
 *
 * as MTIR on rank-0 values, autodiff (mt_pass_grad) appends its derivative as more MTIR, and the
 * reference interpreter evaluates both. The derivative is then checked the way MiniTorch's Task
 * 1.1 does: against a central difference (f(x + h) - f(x - h)) / 2h. Built and run as a test.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ir/graph.h"
#include "passes/pass.h"
#include "runtime/interp.h"
#include "mtc/mtc.h"

/* Evaluates the `nout` outputs of g at (x, y) (its first two nodes) into out. */
static int eval(const mt_graph *g, double x, double y, double *out, int nout)
{
    mt_type scalar = mt_type_make(MT_DTYPE_F64, 0, NULL); /* f64[]: one number */
    mt_tensor *xt = mt_tensor_new(scalar), *yt = mt_tensor_new(scalar), *res[4] = {0};
    *(double *)mt_tensor_data(xt) = x;
    *(double *)mt_tensor_data(yt) = y;
    /* Leaves are indexed by node id: %x is 0 and %y is 1; the other slots are ignored. */
    const mt_tensor **leaves = calloc((size_t)mt_graph_nnodes(g), sizeof *leaves);
    leaves[0] = xt;
    leaves[1] = yt;
    mt_diag d;
    mt_diag_init(&d);
    int ok = mt_interp_run(g, leaves, res, &d) == MT_OK;
    for (int i = 0; i < nout; i++) {
        out[i] = ok ? *(double *)mt_tensor_data(res[i]) : NAN;
        mt_tensor_free(res[i]);
    }
    if (!ok)
        fprintf(stderr, "%s\n", d.msg);
    free(leaves);
    mt_tensor_free(xt);
    mt_tensor_free(yt);
    return ok;
}

int main(void)
{
    /* Module 1: build the expression. Every builder call returns a value id. */
    mt_type scalar = mt_type_make(MT_DTYPE_F64, 0, NULL);
    mt_graph *g = mt_graph_new("scalars");
    int x = mt_input(g, "x", scalar);
    int y = mt_input(g, "y", scalar);
    int f = mt_add(g, mt_mul(g, x, y), mt_sigmoid(g, x));
    f = mt_sub(g, f, mt_relu(g, mt_sub(g, y, x)));
    f = mt_add(g, f, mt_mul(g, mt_log(g, y), mt_exp(g, mt_neg(g, x))));
    mt_name(g, f, "f");
    mt_set_outputs(g, &f, 1);
    if (mt_graph_diag(g)->status != MT_OK) {
        fprintf(stderr, "%s\n", mt_graph_diag(g)->msg);
        return 1;
    }

    /* Backprop: a new graph whose outputs are f, df/dx (%grad.x) and df/dy (%grad.y). */
    int wrt[2] = {x, y};
    mt_graph *grad = NULL;
    mt_diag d;
    mt_diag_init(&d);
    if (mt_pass_grad(g, wrt, 2, &grad, &d) != MT_OK) {
        fprintf(stderr, "%s\n", d.msg);
        return 1;
    }
    char *text = mt_graph_print(grad);
    fputs(text, stdout);
    mt_free(text);

    /* Task 1.1: compare with central differences at a few points. */
    const double points[][2] = {{0.5, 2.0}, {-1.5, 0.25}, {3.0, 1.0}};
    const double h = 1e-6;
    int rc = 0;
    for (int i = 0; i < 3; i++) {
        double px = points[i][0], py = points[i][1], v[3], fp, fm, num[2];
        if (!eval(grad, px, py, v, 3))
            return 1;
        eval(g, px + h, py, &fp, 1);
        eval(g, px - h, py, &fm, 1);
        num[0] = (fp - fm) / (2 * h);
        eval(g, px, py + h, &fp, 1);
        eval(g, px, py - h, &fm, 1);
        num[1] = (fp - fm) / (2 * h);
        printf("f(%g, %g) = %.10f  df/dx = %.10f (central difference %.10f)  df/dy = %.10f "
               "(%.10f)\n",
               px, py, v[0], v[1], num[0], v[2], num[1]);
        for (int k = 0; k < 2; k++)
            if (fabs(v[1 + k] - num[k]) > 1e-6 * fmax(1, fabs(num[k])))
                rc = 1;
    }
    mt_graph_free(grad);
    mt_graph_free(g);
    mt_diag_fini(&d);
    if (rc)
        fprintf(stderr, "scalars: a derivative does not match its central difference\n");
    return rc;
}
