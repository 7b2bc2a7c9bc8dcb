/* aot_header.c - what a compiled model tells its callers: NAME_signature()'s text and NAME.h.
 *
 * The header is the manual of one .so: it declares the functions of SPEC section 5 and lists
 * every input, output, param and state with its name, dtype and shape, as a comment and as
 * #defines a caller can size its buffers with. Macro names are the graph's name and the
 * value's name in capitals, with every character that is not a letter or digit as `_`
 * (adam.m.w1 -> MLP_ADAM_M_W1_NUMEL).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "codegen/aot.h"
#include "ir/alloc.h"
#include "ir/type.h"

/* A growing string; `failed` once an allocation failed. */
typedef struct text {
    char *s;
    size_t len, cap;
    int failed;
} text;

__attribute__((format(printf, 2, 3))) static void put(text *t, const char *fmt, ...)
{
    if (t->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (t->len + (size_t)n + 1 > t->cap) {
        size_t cap = (t->len + (size_t)n + 1) * 2 + 256;
        char *s = mt_realloc(t->s, cap);
        if (!s) {
            t->failed = 1;
            return;
        }
        t->s = s;
        t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

static char *finish(text *t)
{
    if (t->failed || !t->s) {
        mt_free(t->s);
        return NULL;
    }
    return t->s;
}

static void signature_line(text *t, const char *kind, const mt_node *n)
{
    char ty[MT_TYPE_STR_MAX];
    put(t, "%s %%%s : %s\n", kind, n->name, mt_type_str(&n->type, ty, sizeof ty));
}

char *mt_aot_signature(const mt_graph *g)
{
    text t = {0};
    put(&t, "graph %s\n", g->name);
    static const mt_op kinds[] = {MT_OP_INPUT, MT_OP_PARAM, MT_OP_STATE};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        for (int i = 0; i < g->nnodes; i++)
            if (g->nodes[i].op == kinds[k])
                signature_line(&t, mt_op_name(kinds[k]), &g->nodes[i]);
    for (int i = 0; i < g->noutputs; i++)
        signature_line(&t, "output", &g->nodes[g->outputs[i]]);
    return finish(&t);
}

/* NAME in capitals, other characters as '_'. */
static void macro_name(char *out, size_t cap, const char *graph, const char *value)
{
    size_t n = 0;
    for (const char *parts[2] = {graph, value}, **p = parts; p < parts + 2 && *p; p++) {
        if (p > parts && n + 1 < cap)
            out[n++] = '_';
        for (const char *c = *p; *c && n + 1 < cap; c++)
            out[n++] = isalnum((unsigned char)*c) ? (char)toupper((unsigned char)*c) : '_';
    }
    out[n] = '\0';
}

static void describe(text *t, const char *graph, const char *kind, int index, const mt_node *n)
{
    char ty[MT_TYPE_STR_MAX], m[600];
    int64_t numel = mt_type_numel(&n->type);
    macro_name(m, sizeof m, graph, n->name);
    put(t, "\n/* %s %%%s : %s (%s, %lld element%s, %lld bytes) */\n", kind, n->name,
        mt_type_str(&n->type, ty, sizeof ty), n->type.dtype == MT_DTYPE_F64 ? "double" : "float",
        (long long)numel, numel == 1 ? "" : "s",
        (long long)(numel * (int64_t)mt_dtype_size(n->type.dtype)));
    if (index >= 0)
        put(t, "#define %s_%s %d /* its index in %s */\n", m,
            !strcmp(kind, "input") ? "INPUT" : "OUTPUT", index,
            !strcmp(kind, "input") ? "inputs[]" : "outputs[]");
    put(t, "#define %s_DTYPE \"%s\"\n", m, mt_dtype_name(n->type.dtype));
    put(t, "#define %s_RANK %d\n", m, n->type.rank);
    if (n->type.rank > 0) { /* C has no empty initializer list */
        put(t, "#define %s_SHAPE {", m);
        for (int i = 0; i < n->type.rank; i++)
            put(t, "%s%lld", i ? ", " : "", (long long)n->type.dims[i]);
        put(t, "}\n");
    }
    put(t, "#define %s_NUMEL %lld\n", m, (long long)numel);
    put(t, "#define %s_BYTES %lld\n", m,
        (long long)(numel * (int64_t)mt_dtype_size(n->type.dtype)));
}

char *mt_aot_header(const mt_graph *g)
{
    text t = {0};
    const char *G = g->name;
    char up[300];
    macro_name(up, sizeof up, G, NULL);
    int step = g->nupdates > 0, ninputs = 0;
    for (int i = 0; i < g->nnodes; i++)
        ninputs += g->nodes[i].op == MT_OP_INPUT;
    put(&t,
        "/* %s.h - the C interface of lib%s.so, written by `mtc compile` from graph %s.\n"
        " *\n"
        " * ABI version 1 (mtc's docs/abi.md). Buffers are contiguous row-major float (f32) or\n"
        " * double (f64) arrays of the shapes below; the caller allocates every one. The .so\n"
        " * needs only libc, libm and pthreads. Check %s_abi_version() == %s_ABI_VERSION first.\n",
        G, G, G, G, up);
    if (step)
        put(&t,
            " *\n"
            " * A step graph: %s_step runs one training step on a state made by %s_state_new\n"
            " * (the params and state baked in) and applies the updates to it; %s_state_get and\n"
            " * %s_state_set copy a param or state by name. Distinct states may step in\n"
            " * different threads at once; one state is used by one thread at a time.\n",
            G, G, G, G);
    else
        put(&t,
            " *\n"
            " * %s_run(inputs, outputs) computes the outputs; it returns 0, or non-zero for a\n"
            " * NULL array or element. It is safe to call from several threads at once.\n",
            G);
    put(&t,
        " */\n#ifndef %s_H\n#define %s_H\n\n#include <stddef.h>\n\n#ifdef __cplusplus\n"
        "extern \"C\" {\n#endif\n\n#define %s_ABI_VERSION 1\n#define %s_NUM_INPUTS %d\n"
        "#define %s_NUM_OUTPUTS %d\n",
        up, up, up, up, ninputs, up, g->noutputs);
    int in = 0;
    for (int i = 0; i < g->nnodes; i++)
        if (g->nodes[i].op == MT_OP_INPUT)
            describe(&t, G, "input", in++, &g->nodes[i]);
    for (int i = 0; i < g->noutputs; i++)
        describe(&t, G, "output", i, &g->nodes[g->outputs[i]]);
    for (int i = 0; i < g->nnodes; i++)
        if (g->nodes[i].op == MT_OP_PARAM || g->nodes[i].op == MT_OP_STATE)
            describe(&t, G,
                     step                            ? mt_op_name(g->nodes[i].op)
                     : g->nodes[i].op == MT_OP_PARAM ? "param (baked in)"
                                                     : "state (baked in)",
                     -1, &g->nodes[i]);
    put(&t,
        "\n/* 1: the ABI this header describes. */\nint %s_abi_version(void);\n"
        "/* `graph %s`, then one line `KIND %%NAME : TYPE` per input, param, state and output. "
        "*/\nconst char *%s_signature(void);\n",
        G, G, G);
    if (step)
        put(&t,
            "\ntypedef struct %s_state %s_state;\n"
            "/* The params and state as baked in; NULL if out of memory. */\n"
            "%s_state *%s_state_new(void);\n"
            "/* One step: reads inputs, writes outputs, updates s. 0 on success. */\n"
            "int %s_step(%s_state *s, const void *const *inputs, void *const *outputs);\n"
            "/* Copy one param or state (its name without '%%') out of or into s; non-zero for "
            "an\n * unknown name or a byte count that is not its size. */\n"
            "int %s_state_get(const %s_state *s, const char *name, void *dst, size_t bytes);\n"
            "int %s_state_set(%s_state *s, const char *name, const void *src, size_t bytes);\n"
            "void %s_state_free(%s_state *s);\n",
            G, G, G, G, G, G, G, G, G, G, G, G);
    else
        put(&t,
            "\n/* inputs: %s_NUM_INPUTS pointers, outputs: %s_NUM_OUTPUTS pointers, in the\n"
            " * order above. 0 on success. */\n"
            "int %s_run(const void *const *inputs, void *const *outputs);\n",
            up, up, G);
    if (mt_aot_has_allreduce(g))
        put(&t,
            "\n/* The graph uses allreduce: your MPI or NCCL reduces `count` values of `dtype` (0 "
            "f32,\n"
            " * 1 f64) in `buf` in place with `op` (0 sum, 1 mean), returning 0. Until it is set,\n"
            " * allreduce is the identity (one rank). */\n"
            "void %s_set_allreduce(int (*fn)(void *buf, size_t count, int dtype, int op, void "
            "*ctx),\n    void *ctx);\n",
            G);
    put(&t, "\n#ifdef __cplusplus\n}\n#endif\n\n#endif\n");
    return finish(&t);
}
