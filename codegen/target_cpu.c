/* target_cpu.c - the "cpu" target: the CPU backend of codegen/cpu.h behind codegen/target.h. */
#include "codegen/cpu.h"
#include "codegen/target.h"

static mt_status compile(const mt_graph *g, void **impl, mt_diag *d)
{
    mt_cpu_program *p = NULL;
    mt_status st = mt_cpu_compile(g, &p, d);
    *impl = p;
    return st;
}

static mt_status run(void *impl, const void *const *leaves, void *const *outputs, mt_diag *d)
{
    return mt_cpu_run_buffers(impl, leaves, outputs, d);
}

static mt_status set_threads(void *impl, int n, mt_diag *d)
{
    return mt_cpu_set_threads(impl, n, d);
}

static void set_timer(void *impl, mt_kernel_timer timer, void *ctx)
{
    mt_cpu_set_kernel_timer(impl, timer, ctx);
}

static void free_impl(void *impl) { mt_cpu_free(impl); }

const mt_target mt_target_cpu = {
    "cpu",       "fused kernels compiled with LLVM for this machine",
    compile,     run,
    set_threads, free_impl,
    NULL,        NULL,
    set_timer,
};
