/* cmd_run.c - `mtc run FILE.mt --in IN.safetensors --out OUT.safetensors [--backend B]`. */
#include <stdio.h>
#include <string.h>

#include "ir/alloc.h"
#include "runtime/backend.h"
#include "runtime/bind.h"
#include "tools/cmd.h"

static const char usage_text[] =
    "usage: mtc run FILE.mt --in IN.safetensors --out OUT.safetensors [--backend interp|cpu|cuda]\n"
    "\n"
    "Feeds every input and param of the graph by name from IN (a missing one is an error, extra\n"
    "tensors are ignored), runs the graph and writes every output by name to OUT.\n"
    "  --backend interp   the reference interpreter\n"
    "  --backend cpu      fused kernels compiled with LLVM (default)\n"
    "  --backend cuda     NVRTC kernels on an NVIDIA GPU\n";

int mtc_cmd_run(int argc, char **argv)
{
    const char *file = NULL, *in = NULL, *out = NULL, *backend = "cpu";
    if (mtc_wants_help(argc, argv)) {
        fputs(usage_text, stdout);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--in") || !strcmp(a, "--out") || !strcmp(a, "--backend")) {
            if (i + 1 >= argc)
                return mtc_usage_error("run", "%s needs a value", a);
            const char **dst = !strcmp(a, "--in") ? &in : !strcmp(a, "--out") ? &out : &backend;
            *dst = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            return mtc_usage_error("run", "unknown flag '%s'", a);
        } else if (!file) {
            file = a;
        } else {
            return mtc_usage_error("run", "more than one graph file ('%s' and '%s')", file, a);
        }
    }
    if (!file)
        return mtc_usage_error("run", "no graph file given");
    if (!in)
        return mtc_usage_error("run", "--in is required");
    if (!out)
        return mtc_usage_error("run", "--out is required");
    const mt_backend *be = mt_backend_lookup(backend);
    if (!be)
        return mtc_usage_error("run", "unknown backend '%s' (interp, cpu or cuda)", backend);

    mt_diag d;
    mt_diag_init(&d);
    mt_graph *g = NULL;
    mt_tensor_map *inputs = NULL, *outputs = NULL;
    const mt_tensor **leaves = NULL;
    mt_tensor **results = NULL;
    int rc = 1;
    if (mt_graph_parse_file(file, &g, &d) != MT_OK)
        goto done;
    if (mt_safetensors_load(in, &inputs, &d) != MT_OK)
        goto done;
    leaves = mt_calloc((size_t)g->nnodes, sizeof *leaves);
    results = mt_calloc((size_t)g->noutputs, sizeof *results);
    if (!leaves || !results) {
        mt_diag_set(&d, MT_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (mt_bind_leaves(g, inputs, in, leaves, &d) != MT_OK)
        goto done;
    if (be->run(g, leaves, results, &d) != MT_OK)
        goto done;
    if (mt_outputs_to_map(g, results, &outputs, &d) != MT_OK)
        goto done;
    if (mt_safetensors_save(out, outputs, &d) != MT_OK)
        goto done;
    rc = 0;
done:
    if (rc)
        mtc_fail(&d);
    if (results)
        for (int i = 0; i < g->noutputs; i++)
            mt_tensor_free(results[i]);
    mt_free(results);
    mt_free(leaves);
    mt_tensor_map_free(inputs);
    mt_tensor_map_free(outputs);
    mt_graph_free(g);
    mt_diag_fini(&d);
    return rc;
}
