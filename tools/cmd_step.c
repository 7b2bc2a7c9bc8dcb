/* cmd_step.c - `mtc step FILE.mt --optimizer sgd|adam ...`: the training step of a loss graph
 * as a step graph (passes/optim.c). */
#include <stdio.h>
#include <string.h>

#include "ir/alloc.h"
#include "passes/optim.h"
#include "tools/cmd.h"

static const char usage_text[] =
    "usage: mtc step FILE.mt --optimizer sgd|adam [--lr X] [--momentum M] [--weight-decay W]\n"
    "                [--beta1 B1] [--beta2 B2] [--eps E] [--wrt a,b,...] [--data-parallel]\n"
    "                [-o OUT.mt]\n"
    "\n"
    "Writes the training step of a loss graph (its first output, one element) as a step graph\n"
    "(stdout by default): the same inputs, params and outputs, and the optimiser's update of\n"
    "every trained param with torch.optim's formulas and defaults. The optimiser's memory is\n"
    "state that starts at zero: %sgd.mom.W (SGD with momentum), %adam.m.W, %adam.v.W and\n"
    "%adam.t (Adam). A rank-0 'state %step' of the loss graph counts steps.\n"
    "  --optimizer sgd|adam   torch.optim.SGD (dampening 0, no Nesterov) or torch.optim.Adam\n"
    "  --lr X                 learning rate (SGD 0.01, Adam 0.001)\n"
    "  --momentum M           SGD momentum (0)\n"
    "  --weight-decay W       added to each gradient as W * param (0)\n"
    "  --beta1 B1 --beta2 B2  Adam's averaging factors (0.9, 0.999)\n"
    "  --eps E                Adam's denominator term (1e-8)\n"
    "  --wrt a,b,...          the params to train (default: every param)\n"
    "  --data-parallel        average every gradient over the ranks (allreduce) first\n"
    "  -o OUT.mt              write the graph to OUT.mt instead of stdout\n";

/* The flags that take a number, where each goes, and which optimiser it belongs to (-1: both). */
typedef struct num_flag {
    const char *flag;
    size_t offset;
    int kind;
} num_flag;

static const num_flag num_flags[] = {
    {"--lr", offsetof(mt_optim, lr), -1},
    {"--momentum", offsetof(mt_optim, momentum), MT_OPTIM_SGD},
    {"--weight-decay", offsetof(mt_optim, weight_decay), -1},
    {"--beta1", offsetof(mt_optim, beta1), MT_OPTIM_ADAM},
    {"--beta2", offsetof(mt_optim, beta2), MT_OPTIM_ADAM},
    {"--eps", offsetof(mt_optim, eps), MT_OPTIM_ADAM},
};
#define NUM_FLAGS (int)(sizeof num_flags / sizeof num_flags[0])

int mtc_cmd_step(int argc, char **argv)
{
    const char *file = NULL, *wrt_list = NULL, *out = NULL, *optimizer = NULL;
    const char *values[NUM_FLAGS] = {0};
    int data_parallel = 0;
    if (mtc_wants_help(argc, argv)) {
        fputs(usage_text, stdout);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int num = -1;
        for (int k = 0; k < NUM_FLAGS; k++)
            if (!strcmp(a, num_flags[k].flag))
                num = k;
        if (num >= 0 || !strcmp(a, "--wrt") || !strcmp(a, "-o") || !strcmp(a, "--optimizer")) {
            if (i + 1 >= argc)
                return mtc_usage_error("step", "%s needs a value", a);
            const char *v = argv[++i];
            if (num >= 0)
                values[num] = v;
            else
                *(!strcmp(a, "--wrt") ? &wrt_list : !strcmp(a, "-o") ? &out : &optimizer) = v;
        } else if (!strcmp(a, "--data-parallel")) {
            data_parallel = 1;
        } else if (a[0] == '-' && a[1]) {
            return mtc_usage_error("step", "unknown flag '%s'", a);
        } else if (!file) {
            file = a;
        } else {
            return mtc_usage_error("step", "more than one graph file ('%s' and '%s')", file, a);
        }
    }
    if (!file)
        return mtc_usage_error("step", "no graph file given");
    if (!optimizer)
        return mtc_usage_error("step", "--optimizer is required (sgd or adam)");
    mt_optim o;
    if (!strcmp(optimizer, "sgd"))
        mt_optim_defaults(&o, MT_OPTIM_SGD);
    else if (!strcmp(optimizer, "adam"))
        mt_optim_defaults(&o, MT_OPTIM_ADAM);
    else
        return mtc_usage_error("step", "--optimizer: unknown optimizer '%s' (sgd or adam)",
                               optimizer);
    for (int k = 0; k < NUM_FLAGS; k++) {
        if (!values[k])
            continue;
        if (num_flags[k].kind >= 0 && num_flags[k].kind != (int)o.kind)
            return mtc_usage_error("step", "%s does not apply to --optimizer %s", num_flags[k].flag,
                                   optimizer);
        if (!mtc_parse_double("step", num_flags[k].flag, values[k],
                              (double *)((char *)&o + num_flags[k].offset)))
            return 2;
    }
    o.data_parallel = data_parallel;

    mt_diag d;
    mt_diag_init(&d);
    mt_graph *g = NULL, *stepg = NULL;
    int *wrt = NULL, nwrt = 0, rc = 1;
    if (mt_graph_parse_file(file, &g, &d) == MT_OK &&
        mtc_wrt_ids(g, wrt_list, NULL, &wrt, &nwrt, &d) &&
        mt_pass_step(g, &o, wrt, nwrt, &stepg, &d) == MT_OK && mtc_write_graph(out, stepg, &d))
        rc = 0;
    if (rc) {
        if (!d.file[0]) /* the pass's messages name values; the file locates them */
            snprintf(d.file, sizeof d.file, "%s", file);
        mtc_fail(&d);
    }
    mt_free(wrt);
    mt_graph_free(stepg);
    mt_graph_free(g);
    mt_diag_fini(&d);
    return rc;
}
