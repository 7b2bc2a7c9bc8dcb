/* mtc.c - the command line: a thin layer over the library (SPEC section 4).
 *
 * Each subcommand lives in tools/cmd_<name>.c; this file only dispatches.
 */
#include <stdio.h>
#include <string.h>

#include "tools/cmd.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *doc;
} commands[] = {
    {"run", mtc_cmd_run, "run a graph on named tensors (interp, cpu, cuda or opencl)"},
    {"dump", mtc_cmd_dump, "print a graph at a stage of the pipeline (text or Graphviz)"},
    {"show", mtc_cmd_show, "print the tensors of a safetensors file"},
    {"grad", mtc_cmd_grad, "write the gradient graph (reverse-mode autodiff) as MTIR"},
    {"step", mtc_cmd_step, "write the training step of a loss graph (SGD or Adam) as MTIR"},
    {"train", mtc_cmd_train, "train a model: built-in or a FILE.mt loss graph, on a data set"},
    {"compile", mtc_cmd_compile, "compile ahead of time to a shared object and a C header"},
    {"profile", mtc_cmd_profile, "time each kernel and place it under the machine's roofline"},
    {"gradcheck", mtc_cmd_gradcheck, "check gradients against central differences in f64"},
    {"bisect", mtc_cmd_bisect, "name the first pass that changes the numbers of a graph"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: mtc COMMAND [ARGS...]\n       mtc --version\n\nMiniTorch as an "
               "ahead-of-time graph compiler.\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].doc);
    fprintf(f, "\n'mtc COMMAND --help' describes each command.\n");
}

#ifndef MTC_VERSION /* set by CMake from project(VERSION) */
#define MTC_VERSION "unknown"
#endif
#ifndef MTC_GIT_COMMIT
#define MTC_GIT_COMMIT ""
#endif

static void version(void)
{
    if (MTC_GIT_COMMIT[0])
        printf("mtc %s (git %s)\n", MTC_VERSION, MTC_GIT_COMMIT);
    else
        printf("mtc %s\n", MTC_VERSION);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return mtc_close_stdout(0);
    }
    if (!strcmp(argv[1], "--version")) {
        version();
        return mtc_close_stdout(0);
    }
    /* Every command's output is checked here once: a write to a full disk or a closed pipe
     * fails the command instead of passing silently. */
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return mtc_close_stdout(commands[i].run(argc - 1, argv + 1));
    fprintf(stderr, "mtc: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
