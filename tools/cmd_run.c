/* cmd_run.c - `mtc run FILE.mt --in IN.safetensors --out OUT.safetensors [--backend B]`. */
#include <stdio.h>
#include <string.h>

#include "mtc/mtc.h"
#include "tools/cmd.h"

static const char usage_text[] =
    "usage: mtc run FILE.mt --in IN.safetensors --out OUT.safetensors [--backend TARGET]\n"
    "\n"
    "Compiles the graph for the target, feeds every input and param by name from IN (a missing\n"
    "one is an error, extra tensors are ignored), runs it and writes every output by name to\n"
    "OUT (the program API of mtc.h).\n"
    "  --backend interp   the reference interpreter\n"
    "  --backend cpu      fused kernels compiled with LLVM (default)\n"
    "  --backend cuda     NVRTC kernels on an NVIDIA GPU (not in this build yet)\n"
    "  --backend opencl   OpenCL kernels on a GPU (not in this build yet)\n";

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
    int known = 0;
    for (int i = 0; mt_target_name(i); i++)
        known |= !strcmp(mt_target_name(i), backend);
    if (!known)
        return mtc_usage_error("run", "unknown backend '%s' (interp, cpu, cuda or opencl)",
                               backend);

    mt_diag d;
    mt_diag_init(&d);
    mt_graph *g = NULL;
    mt_tensor_map *inputs = NULL, *outputs = NULL;
    mt_program *p = NULL;
    int rc = 1;
    if (mt_graph_parse_file(file, &g, &d) != MT_OK)
        goto done;
    if (mt_safetensors_load(in, &inputs, &d) != MT_OK)
        goto done;
    if (mt_program_compile(g, backend, &p, &d) != MT_OK)
        goto done;
    if (mt_program_load(p, inputs, in, &d) != MT_OK)
        goto done;
    if (mt_program_run(p, &d) != MT_OK)
        goto done;
    if (mt_program_outputs(p, &outputs, &d) != MT_OK)
        goto done;
    if (mt_safetensors_save(out, outputs, &d) != MT_OK)
        goto done;
    rc = 0;
done:
    if (rc)
        mtc_fail(&d);
    mt_program_free(p);
    mt_tensor_map_free(inputs);
    mt_tensor_map_free(outputs);
    mt_graph_free(g);
    mt_diag_fini(&d);
    return rc;
}
