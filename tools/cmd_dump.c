/* cmd_dump.c - `mtc dump FILE.mt [--stage STAGE] [--format text|dot] [--all]`.
 *
 * Prints the program at one stage of the pipeline. The graph stages are MTIR (or Graphviz);
 * later stages print their own text. Stages that this build does not have are a user error
 * naming the stage.
 */
#include <stdio.h>
#include <string.h>

#include "ir/alloc.h"
#include "ir/graph.h"
#include "tools/cmd.h"

static const char usage_text[] =
    "usage: mtc dump FILE.mt [--stage STAGE] [--format text|dot] [--all]\n"
    "\n"
    "Prints the program at a stage of the pipeline.\n"
    "  --stage STAGE   parsed (default), grad, optimized, fused, kernels, llvm, cuda\n"
    "  --format F      text (MTIR, default) or dot (Graphviz; graph stages only)\n"
    "  --all           every stage, each after a header line '# stage: NAME'\n";

static const char *const stages[] = {"parsed", "grad", "optimized", "fused", "kernels", "llvm",
                                     "cuda"};
enum { NSTAGES = sizeof stages / sizeof stages[0] };

typedef struct dump_opts {
    int dot;
} dump_opts;

/* Prints graph g in the requested format. */
static int print_graph(const mt_graph *g, const dump_opts *o, mt_diag *d)
{
    char *s = o->dot ? mt_graph_dot(g) : mt_graph_print(g);
    if (!s)
        return mt_diag_set(d, MT_ERR_NOMEM, "out of memory"), 1;
    fputs(s, stdout);
    mt_free(s);
    return 0;
}

/* Prints stage `k` of graph g. Returns 0, or 1 with d set. */
static int dump_stage(const mt_graph *g, int k, const dump_opts *o, mt_diag *d)
{
    if (k == 0)
        return print_graph(g, o, d);
    mt_diag_set(d, MT_ERR_UNSUPPORTED, "stage '%s' is not available in this build", stages[k]);
    return 1;
}

int mtc_cmd_dump(int argc, char **argv)
{
    const char *file = NULL, *stage = "parsed", *format = "text";
    int all = 0;
    if (mtc_wants_help(argc, argv)) {
        fputs(usage_text, stdout);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--stage") || !strcmp(a, "--format")) {
            if (i + 1 >= argc)
                return mtc_usage_error("dump", "%s needs a value", a);
            *(!strcmp(a, "--stage") ? &stage : &format) = argv[++i];
        } else if (!strcmp(a, "--all")) {
            all = 1;
        } else if (a[0] == '-' && a[1]) {
            return mtc_usage_error("dump", "unknown flag '%s'", a);
        } else if (!file) {
            file = a;
        } else {
            return mtc_usage_error("dump", "more than one graph file ('%s' and '%s')", file, a);
        }
    }
    if (!file)
        return mtc_usage_error("dump", "no graph file given");
    dump_opts o = {0};
    if (!strcmp(format, "dot"))
        o.dot = 1;
    else if (strcmp(format, "text"))
        return mtc_usage_error("dump", "unknown format '%s' (text or dot)", format);
    int k = -1;
    for (int i = 0; i < NSTAGES; i++)
        if (!strcmp(stage, stages[i]))
            k = i;
    if (k < 0)
        return mtc_usage_error("dump", "unknown stage '%s'", stage);

    mt_diag d;
    mt_diag_init(&d);
    mt_graph *g = NULL;
    int rc = 1;
    if (mt_graph_parse_file(file, &g, &d) == MT_OK) {
        rc = 0;
        for (int i = all ? 0 : k; i <= (all ? NSTAGES - 1 : k) && rc == 0; i++) {
            if (all)
                printf("# stage: %s\n", stages[i]);
            rc = dump_stage(g, i, &o, &d);
        }
    }
    if (rc)
        mtc_fail(&d);
    mt_graph_free(g);
    mt_diag_fini(&d);
    return rc;
}
