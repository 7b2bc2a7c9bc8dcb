/* target.c - the CPU target as one value (target.h): the host's, asked once, or a named one. */
#include "codegen/llvm/target.h"

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>
#include <llvm/Config/llvm-config.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "codegen/llvm/llvm.h"

static mt_cpu_target host;
static pthread_once_t host_once = PTHREAD_ONCE_INIT;

/* src into dst[cap], cut short when longer (a feature string never is in practice). */
static void copy(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

static void ask_host(void)
{
    char *triple = LLVMGetDefaultTargetTriple(), *cpu = LLVMGetHostCPUName(),
         *features = LLVMGetHostCPUFeatures();
    copy(host.triple, sizeof host.triple, triple);
    copy(host.cpu, sizeof host.cpu, cpu);
    copy(host.features, sizeof host.features, features);
    host.x86 = strncmp(host.triple, "x86_64", 6) == 0;
    LLVMDisposeMessage(triple);
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(features);
}

const mt_cpu_target *mt_cpu_target_host(void)
{
    pthread_once(&host_once, ask_host);
    return &host;
}

/* The x86-64 micro-architecture levels and what each adds. */
static const struct level {
    const char *name, *features;
} levels[] = {
    {"x86-64", "+sse,+sse2"},
    {"x86-64-v2", "+sse,+sse2,+sse3,+ssse3,+sse4.1,+sse4.2,+popcnt,+cx16"},
    {"x86-64-v3", "+sse,+sse2,+sse3,+ssse3,+sse4.1,+sse4.2,+popcnt,+cx16,+avx,+avx2,+bmi,+bmi2,"
                  "+f16c,+fma,+lzcnt,+movbe"},
    {"x86-64-v4", "+sse,+sse2,+sse3,+ssse3,+sse4.1,+sse4.2,+popcnt,+cx16,+avx,+avx2,+bmi,+bmi2,"
                  "+f16c,+fma,+lzcnt,+movbe,+avx512f,+avx512bw,+avx512cd,+avx512dq,+avx512vl"},
};

/* The 64-bit x86 CPUs LLVM 14 knows (llc -march=x86-64 -mcpu=help, without the 32-bit ones):
 * LLVM only warns about any other name, then aborts while generating code, so names are
 * checked here first. */
static const char *const x86_cpus[] = {
    "alderlake",
    "amdfam10",
    "athlon-fx",
    "athlon64",
    "athlon64-sse3",
    "atom",
    "barcelona",
    "bdver1",
    "bdver2",
    "bdver3",
    "bdver4",
    "bonnell",
    "broadwell",
    "btver1",
    "btver2",
    "cannonlake",
    "cascadelake",
    "cooperlake",
    "core-avx-i",
    "core-avx2",
    "core2",
    "corei7",
    "corei7-avx",
    "generic",
    "goldmont",
    "goldmont-plus",
    "haswell",
    "icelake-client",
    "icelake-server",
    "ivybridge",
    "k8",
    "k8-sse3",
    "knl",
    "knm",
    "nehalem",
    "nocona",
    "opteron",
    "opteron-sse3",
    "penryn",
    "rocketlake",
    "sandybridge",
    "sapphirerapids",
    "silvermont",
    "skx",
    "skylake",
    "skylake-avx512",
    "slm",
    "tigerlake",
    "tremont",
    "westmere",
    "x86-64",
    "x86-64-v2",
    "x86-64-v3",
    "x86-64-v4",
    "znver1",
    "znver2",
    "znver3",
};

static int known_x86(const char *cpu)
{
    for (size_t i = 0; i < sizeof x86_cpus / sizeof x86_cpus[0]; i++)
        if (strcmp(x86_cpus[i], cpu) == 0)
            return 1;
    return 0;
}

mt_status mt_cpu_target_from_name(const char *cpu, mt_cpu_target *out, mt_diag *d)
{
    memset(out, 0, sizeof *out);
    if (!cpu || !cpu[0] || strlen(cpu) >= sizeof out->cpu)
        return mt_diag_set(d, MT_ERR_ARG, "target: no CPU name or a name too long: '%s'",
                           cpu ? cpu : "");
    const mt_cpu_target *h = mt_cpu_target_host();
    if (h->x86 && !known_x86(cpu))
        return mt_diag_set(d, MT_ERR_ARG,
                           "target: unknown CPU '%s' (x86-64, x86-64-v2, x86-64-v3, x86-64-v4, "
                           "skylake, znver3, ...: llc -mcpu=help lists them)",
                           cpu);
    copy(out->triple, sizeof out->triple, h->triple);
    copy(out->cpu, sizeof out->cpu, cpu);
    out->x86 = h->x86;
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
        if (strcmp(levels[i].name, cpu) == 0)
            copy(out->features, sizeof out->features, levels[i].features);
    return MT_OK;
}

static mt_cache_env cache_env;
static pthread_once_t cache_env_once = PTHREAD_ONCE_INIT;

static void make_cache_env(void)
{
    const mt_cpu_target *t = mt_cpu_target_host();
    const char *fields[] = {"LLVM " LLVM_VERSION_STRING, t->triple, t->cpu, t->features,
                            mt_llvm_pipeline_description()};
    mt_cache_env_init(&cache_env, fields, (int)(sizeof fields / sizeof fields[0]));
}

const mt_cache_env *mt_llvm_cache_env(void)
{
    pthread_once(&cache_env_once, make_cache_env);
    return &cache_env;
}
