/* test_cpu_stream.c - streaming (non-temporal) stores of the CPU backend (codegen/llvm/emit.c).
 *
 * A kernel that writes at least 24 MiB into buffers it does not read stores its result with
 * non-temporal stores: the loop is split where the output address reaches a 64-byte boundary,
 * and the vectorised stores after it are marked !nontemporal (opt.c) and end with an sfence.
 * The tests read the optimised LLVM module (mt_cpu_dump_llvm) to see which kernels stream,
 * and run big graphs with 1, 2 and 3 threads, whose shares start at unaligned elements and
 * rows, against the interpreter bit for bit: a store is a store, only its path to memory
 * changes. Inputs are random (the seed is printed; MT_SEED=n repeats a run).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>

#include "codegen/cpu.h"
#include "ir/alloc.h"
#include "ir/graph.h"
#include "tests/support/cpu_check.h"

static uint32_t rng_state;

static float uniform(void) /* in [-2, 2) */
{
    uint32_t x = rng_state ? rng_state : 1;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    rng_state = x;
    return (float)((double)x / 1073741824.0 - 2.0);
}

static mt_graph *parse(const char *text)
{
    mt_graph *g = NULL;
    mt_diag d;
    mt_diag_init(&d);
    if (mt_graph_parse(text, strlen(text), "test.mt", &g, &d) != MT_OK)
        fail_msg("parse: line %d: %s", d.line, d.msg);
    return g;
}

/* The optimised module of g, as mtc dump --stage llvm prints it. */
static char *llvm_of(const mt_graph *g)
{
    mt_diag d;
    mt_diag_init(&d);
    char *text = mt_cpu_dump_llvm(g, &d);
    if (!text)
        fail_msg("dump: %s", d.msg);
    return text;
}

/* Non-temporal stores and sfence are x86 instructions; elsewhere nothing streams. */
static int host_is_x86_64(void)
{
    char *triple = LLVMGetDefaultTargetTriple();
    int x86 = strncmp(triple, "x86_64", 6) == 0;
    LLVMDisposeMessage(triple);
    return x86;
}

/* y = relu(x * a + b) over `dims`, f32. */
static mt_graph *chain(const char *dims)
{
    char text[512];
    snprintf(text, sizeof text,
             "mtir 1\n"
             "graph chain {\n"
             "  input %%x : f32[%s]\n"
             "  param %%a : f32[]\n"
             "  param %%b : f32[]\n"
             "  %%m = mul %%x, %%a\n"
             "  %%s = add %%m, %%b\n"
             "  %%y = relu %%s\n"
             "  output %%y\n"
             "}\n",
             dims);
    return parse(text);
}

static void outputs_of_at_least_24_mib_are_streamed_past_the_cache(void **state)
{
    (void)state;
    if (!host_is_x86_64())
        skip();
    mt_graph *g = chain("6291456"); /* exactly 24 MiB */
    char *llvm = llvm_of(g);
    /* Vector stores, aligned to their size, so that they become vmovntps. */
    const char *nt = strstr(llvm, "!nontemporal");
    assert_non_null(nt);
    const char *line = nt;
    while (line > llvm && line[-1] != '\n')
        line--;
    assert_non_null(strstr(line, "store <"));
    assert_true(strstr(line, "align 64") || strstr(line, "align 32") || strstr(line, "align 16"));
    assert_non_null(strstr(llvm, "call void @llvm.x86.sse.sfence()"));
    mt_free(llvm);
    mt_graph_free(g);
}

static void smaller_outputs_keep_ordinary_stores(void **state)
{
    (void)state;
    mt_graph *g = chain("6291440"); /* 64 bytes short of 24 MiB */
    char *llvm = llvm_of(g);
    assert_null(strstr(llvm, "!nontemporal"));
    assert_null(strstr(llvm, "sfence"));
    mt_free(llvm);
    mt_graph_free(g);
}

static void a_kernel_that_reads_what_it_writes_keeps_ordinary_stores(void **state)
{
    (void)state;
    /* The epilogue of a matmul reads the rows the product has just written (25 MB of them):
     * streaming them out of the cache would make it read them back from memory. */
    mt_graph *g = parse("mtir 1\n"
                        "graph outer {\n"
                        "  input %a : f32[2048,1]\n"
                        "  input %b : f32[1,3072]\n"
                        "  %p = matmul %a, %b\n"
                        "  %y = relu %p\n"
                        "  output %y\n"
                        "}\n");
    char *llvm = llvm_of(g);
    assert_null(strstr(llvm, "!nontemporal"));
    mt_free(llvm);
    mt_graph_free(g);
}

/* Runs g against the interpreter with 1, 2 and 3 threads, exactly, on random leaves. */
static void check_exact(mt_graph *g)
{
    const mt_tensor **leaves = calloc((size_t)g->nnodes + 1, sizeof *leaves);
    assert_non_null(leaves);
    for (int i = 0; i < g->nnodes; i++) {
        if (!mt_op_is(g->nodes[i].op, MT_F_LEAF))
            continue;
        mt_tensor *t = mt_tensor_new(g->nodes[i].type);
        assert_non_null(t);
        for (int64_t k = 0; k < mt_type_numel(&t->type); k++)
            ((float *)t->data)[k] = uniform();
        leaves[i] = t;
    }
    mt_check_cpu(g, leaves, 3, 1);
    for (int i = 0; i < g->nnodes; i++)
        mt_tensor_free((mt_tensor *)leaves[i]);
    free(leaves);
}

static void streamed_results_equal_the_interpreter_bit_for_bit(void **state)
{
    (void)state;
    /* One long loop split between threads at arbitrary elements. */
    mt_graph *g = chain("8388611");
    char *llvm = llvm_of(g);
    if (host_is_x86_64())
        assert_non_null(strstr(llvm, "!nontemporal"));
    mt_free(llvm);
    check_exact(g);
    mt_graph_free(g);

    /* Rows of 2053 elements: every row starts at another offset from a 64-byte boundary, and
     * a broadcast operand is read along the row. */
    g = parse("mtir 1\n"
              "graph rows {\n"
              "  input %x : f32[4099,2053]\n"
              "  param %w : f32[2053]\n"
              "  %m = mul %x, %w\n"
              "  %y = relu %m\n"
              "  output %y\n"
              "}\n");
    llvm = llvm_of(g);
    if (host_is_x86_64())
        assert_non_null(strstr(llvm, "!nontemporal"));
    mt_free(llvm);
    check_exact(g);
    mt_graph_free(g);
}

int main(void)
{
    unsigned seed = (unsigned)time(NULL);
    const char *env = getenv("MT_SEED");
    if (env)
        seed = (unsigned)strtoul(env, NULL, 10);
    printf("seed %u\n", seed);
    rng_state = seed * 2654435761u + 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(outputs_of_at_least_24_mib_are_streamed_past_the_cache),
        cmocka_unit_test(smaller_outputs_keep_ordinary_stores),
        cmocka_unit_test(a_kernel_that_reads_what_it_writes_keeps_ordinary_stores),
        cmocka_unit_test(streamed_results_equal_the_interpreter_bit_for_bit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
