/* cmd_grad.c - `mtc grad FILE.mt [--wrt a,b,...] [-o OUT.mt]`: the gradient graph (SPEC §4). */
#include <stdio.h>
#include <string.h>

#include "ir/alloc.h"
#include "passes/pass.h"
#include "tools/cmd.h"

static const char usage_text[] =
    "usage: mtc grad FILE.mt [--wrt a,b,...] [-o OUT.mt]\n"
    "\n"
    "Writes a new MTIR graph (stdout by default): the same inputs and params, the forward\n"
    "nodes, and the backward nodes of reverse-mode autodiff. Its outputs are the original\n"
    "outputs followed by the gradient of the FIRST output (which must hold one element) with\n"
    "respect to each --wrt value, named %grad.NAME. The result is plain MTIR, so 'mtc grad'\n"
    "applies to it again (second order).\n"
    "  --wrt a,b,...   inputs or params to differentiate with respect to (default: every\n"
    "                  param, in declaration order)\n"
    "  -o OUT.mt       write the graph to OUT.mt instead of stdout\n";

int mtc_cmd_grad(int argc, char **argv)
{
    const char *file = NULL, *wrt_list = NULL, *out = NULL;
    if (mtc_wants_help(argc, argv)) {
        fputs(usage_text, stdout);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--wrt") || !strcmp(a, "-o")) {
            if (i + 1 >= argc)
                return mtc_usage_error("grad", "%s needs a value", a);
            *(!strcmp(a, "--wrt") ? &wrt_list : &out) = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            return mtc_usage_error("grad", "unknown flag '%s'", a);
        } else if (!file) {
            file = a;
        } else {
            return mtc_usage_error("grad", "more than one graph file ('%s' and '%s')", file, a);
        }
    }
    if (!file)
        return mtc_usage_error("grad", "no graph file given");

    mt_diag d;
    mt_diag_init(&d);
    mt_graph *g = NULL, *grad = NULL;
    int *wrt = NULL, nwrt = 0, rc = 1;
    if (mt_graph_parse_file(file, &g, &d) == MT_OK &&
        mtc_wrt_ids(g, wrt_list, NULL, &wrt, &nwrt, &d) &&
        mt_pass_grad(g, wrt, nwrt, &grad, &d) == MT_OK && mtc_write_graph(out, grad, &d))
        rc = 0;
    if (rc) {
        if (!d.file[0]) /* the pass's messages name values; the file locates them */
            snprintf(d.file, sizeof d.file, "%s", file);
        mtc_fail(&d);
    }
    mt_free(wrt);
    mt_graph_free(grad);
    mt_graph_free(g);
    mt_diag_fini(&d);
    return rc;
}
