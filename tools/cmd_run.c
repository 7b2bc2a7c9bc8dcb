/* cmd_run.c - `mtc run FILE.mt --in IN.safetensors --out OUT.safetensors [--backend B]`. */
#include <stdio.h>
#include <string.h>

#include "mtc/mtc.h"
#include "tools/cmd.h"

static const char usage_text[] =
    "usage: mtc run FILE.mt --in IN.safetensors --out OUT.safetensors [--backend TARGET]\n"
    "\n"
    "Compiles the graph for the target, feeds every input and param by name from IN (a missing\n"
    "one is an error, extra tensors are ignored) and every state found there (an absent state\n"
    "starts at zero), runs it and writes every output by name to OUT. For a step graph OUT\n"
    "also holds the new value of every update target under its own name, and every other\n"
    "param, state and input as fed, so OUT can be the next run's IN (one training step).\n"
    "  --backend interp   the reference interpreter\n"
    "  --backend cpu      fused kernels compiled with LLVM (default)\n"
    "  --backend cuda     NVRTC kernels on an NVIDIA GPU (the CUDA driver, loaded at run time)\n"
    "  --backend opencl   OpenCL C kernels on any OpenCL 1.2 device (PoCL on a CPU included)\n";

/* A step graph's run also writes the new value of each update target under the target's name,
 * and, so that OUT can be the next run's IN, every other param, state and input as fed (names
 * an output already holds keep the output). */
static mt_status add_step_values(const mt_program *p, const mt_tensor_map *in,
                                 mt_tensor_map *outputs, mt_diag *d)
{
    mt_tensor_map *params = NULL;
    mt_status st = mt_program_params(p, &params, d);
    for (int pass = 0; pass < 2 && st == MT_OK; pass++) {
        const mt_tensor_map *from = pass == 0 ? params : in;
        for (int i = 0; i < mt_tensor_map_count(from) && st == MT_OK; i++) {
            const char *name = mt_tensor_map_name(from, i);
            int slot = mt_program_find(p, name);
            if (slot < 0 || mt_tensor_map_get(outputs, name) ||
                (pass == 1 && mt_program_slot_kind(p, slot) != MT_SLOT_INPUT))
                continue;
            const mt_tensor *t = mt_tensor_map_at(from, i);
            mt_tensor *copy = mt_tensor_new(*mt_tensor_type(t));
            if (!copy) {
                st = mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
                break;
            }
            memcpy(mt_tensor_data(copy), mt_tensor_data(t), mt_tensor_nbytes(t));
            st = mt_tensor_map_put(outputs, name, copy);
        }
    }
    mt_tensor_map_free(params);
    return st;
}

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
    if (mt_graph_nupdates(g) > 0 && add_step_values(p, inputs, outputs, &d) != MT_OK)
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
