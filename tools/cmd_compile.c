/* cmd_compile.c - `mtc compile FILE.mt -o libNAME.so [--weights W] [--header H] [--target CPU]`:
 * ahead-of-time compilation to a shared object and a C header (codegen/aot.h). */
#include <stdio.h>
#include <string.h>

#include "codegen/aot.h"
#include "ir/alloc.h"
#include "tools/cmd.h"

static const char usage_text[] =
    "usage: mtc compile FILE.mt -o libNAME.so [--weights W.safetensors] [--header NAME.h]\n"
    "                   [--no-header] [--target CPU]\n"
    "\n"
    "Compiles the graph ahead of time into a self-contained shared object: the kernels, the\n"
    "params and initial state from W baked in, and the C functions of the ABI (docs/abi.md):\n"
    "NAME_run, or for a step graph NAME_state_new/step/state_get/state_set/state_free, where\n"
    "NAME is the graph's name. The .so needs only libc, libm and pthreads. Every param must be\n"
    "in W; a state absent from W starts at zero. Linking runs $MTC_CC (default: cc).\n"
    "  -o libNAME.so          the shared object to write\n"
    "  --weights W            params and state by name (safetensors)\n"
    "  --header NAME.h        where to write the header (default: NAME.h beside the .so)\n"
    "  --no-header            write no header\n"
    "  --target CPU           an LLVM CPU name: x86-64-v2 for a portable build, x86-64-v3,\n"
    "                         znver3, ... (default: this machine's CPU)\n";

/* NAME.h in the directory of so_path; mt_free. */
static char *default_header(const char *so_path, const char *graph)
{
    const char *slash = strrchr(so_path, '/');
    size_t dir = slash ? (size_t)(slash - so_path) + 1 : 0;
    size_t n = dir + strlen(graph) + 3;
    char *s = mt_malloc(n);
    if (s)
        snprintf(s, n, "%.*s%s.h", (int)dir, so_path, graph);
    return s;
}

int mtc_cmd_compile(int argc, char **argv)
{
    const char *file = NULL, *out = NULL, *weights = NULL, *header = NULL, *target = NULL;
    int no_header = 0;
    if (mtc_wants_help(argc, argv)) {
        fputs(usage_text, stdout);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-o") || !strcmp(a, "--weights") || !strcmp(a, "--header") ||
            !strcmp(a, "--target")) {
            if (i + 1 >= argc)
                return mtc_usage_error("compile", "%s needs a value", a);
            const char **dst = !strcmp(a, "-o")          ? &out
                               : !strcmp(a, "--weights") ? &weights
                               : !strcmp(a, "--header")  ? &header
                                                         : &target;
            *dst = argv[++i];
        } else if (!strcmp(a, "--no-header")) {
            no_header = 1;
        } else if (a[0] == '-' && a[1]) {
            return mtc_usage_error("compile", "unknown flag '%s'", a);
        } else if (!file) {
            file = a;
        } else {
            return mtc_usage_error("compile", "more than one graph file ('%s' and '%s')", file, a);
        }
    }
    if (!file)
        return mtc_usage_error("compile", "no graph file given");
    if (!out)
        return mtc_usage_error("compile", "-o is required (the shared object to write)");
    if (no_header && header)
        return mtc_usage_error("compile", "--header and --no-header together");

    mt_diag d;
    mt_diag_init(&d);
    mt_graph *g = NULL;
    mt_tensor_map *w = NULL;
    char *hpath = NULL;
    int rc = 1;
    if (mt_graph_parse_file(file, &g, &d) != MT_OK)
        goto done;
    if (weights && mt_safetensors_load(weights, &w, &d) != MT_OK)
        goto done;
    if (!no_header && !header && !(hpath = default_header(out, mt_graph_name(g)))) {
        mt_diag_set(&d, MT_ERR_NOMEM, "out of memory");
        goto done;
    }
    mt_aot_options o = {.so_path = out,
                        .header_path = no_header ? NULL
                                       : header  ? header
                                                 : hpath,
                        .cpu = target,
                        .weights = w,
                        .weights_path = weights};
    if (mt_aot_compile(g, &o, &d) != MT_OK)
        goto done;
    rc = 0;
done:
    if (rc)
        mtc_fail(&d);
    mt_free(hpath);
    mt_tensor_map_free(w);
    mt_graph_free(g);
    mt_diag_fini(&d);
    return rc;
}
