/* test_cpu_matmul.c - matmul on the CPU backend: every matmul kernel is a GEMM statement that
 * the LLVM renderer turns into a packed, register-blocked GEMM (codegen/llvm/gemm.c).
 *
 * Each graph is compiled with mt_cpu_compile and run on fresh random inputs in [-2, 2] with 1, 2
 * and 3 threads; every output must match the interpreter to the tolerance of
 * tests/support/cpu_check.h, and all thread counts must agree bit for bit. Beside the numbers,
 * the tests check the plan: which operands are read in place (transposed, broadcast) and which
 * are stored first, and that the kernel dump shows the product.
 *
 * Graphs are written in MTIR with `DT` for the dtype and run for f32 and f64. The seed is
 * printed; MT_SEED=n reruns a failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codegen/cpu.h"
#include "codegen/llvm/gemm.h"
#include "ir/alloc.h"
#include "ir/graph.h"
#include "passes/fuse.h"
#include "tests/support/cpu_check.h"
#include "tests/support/random.h"
#include "passes/lower.h"
#include "passes/memplan.h"
#include "passes/pass.h"
#include "runtime/exec.h"
#include "runtime/interp.h"

/* ---- graphs ---------------------------------------------------------------------------- */

/* `text` with every "DT" replaced by the dtype's name, parsed. */
static mt_graph *parse_as(const char *text, mt_dtype dt)
{
    size_t n = strlen(text);
    char *s = malloc(2 * n + 1); /* "DT" grows to "f32" */
    assert_non_null(s);
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (text[i] == 'D' && text[i + 1] == 'T') {
            memcpy(s + w, mt_dtype_name(dt), 3);
            w += 3;
            i++;
        } else {
            s[w++] = text[i];
        }
    }
    s[w] = 0;
    mt_graph *g = NULL;
    mt_diag d;
    mt_diag_init(&d);
    if (mt_graph_parse(s, w, "test.mt", &g, &d) != MT_OK)
        fail_msg("parse: line %d: %s\n%s", d.line, d.msg, s);
    free(s);
    return g;
}

/* ---- comparing with the interpreter ---------------------------------------------------- */

enum { NTHREADS = 3 }; /* runs with 1, 2 and 3 threads */

/* Compiles g, runs it with 1, 2 and 3 threads on random leaves, checks it against the
 * interpreter and the thread counts against each other (tests/support/cpu_check.h). Frees g. */
static void check(mt_graph *g) { mt_check_cpu_random(g, NTHREADS, 0); }

static void check_text(const char *text)
{
    check(parse_as(text, MT_DTYPE_F32));
    check(parse_as(text, MT_DTYPE_F64));
}

/* ---- plans ----------------------------------------------------------------------------- */

/* The fused, lowered and planned program of g (as mt_cpu_compile makes it from the graph as
 * given: these graphs have nothing to simplify). */
typedef struct planned {
    mt_graph *g;
    mt_fusion *f;
    mt_kprog *p;
} planned;

static planned plan(const char *text)
{
    planned r = {parse_as(text, MT_DTYPE_F32), NULL, NULL};
    mt_diag d;
    mt_diag_init(&d);
    assert_int_equal(mt_fuse(r.g, &r.f, &d), MT_OK);
    assert_int_equal(mt_lower(r.g, r.f, mt_target_desc_cpu(), &r.p, &d), MT_OK);
    assert_int_equal(mt_memplan(r.p, &d), MT_OK);
    return r;
}

static void plan_free(planned *r)
{
    mt_kprog_free(r->p);
    mt_fusion_free(r->f);
    mt_graph_free(r->g);
}

static int node(const planned *r, const char *name)
{
    int id = mt_graph_find(r->g, name);
    assert_true(id >= 0);
    return id;
}

/* The product computed by the kernel that stores `name`. */
static const mt_kgemm *gemm_of(const planned *r, const char *name)
{
    int id = node(r, name);
    for (int k = 0; k < r->p->nkernels; k++)
        if (r->p->kernels[k].root == id) {
            const mt_kgemm *g = mt_kernel_gemm(&r->p->kernels[k]);
            assert_non_null(g);
            return g;
        }
    fail_msg("no kernel stores %%%s", name);
    return NULL;
}

/* The buffer holding node `name`. */
static int buf(const planned *r, const char *name)
{
    int id = node(r, name);
    for (int b = 0; b < r->p->nbufs; b++)
        if (r->p->bufs[b].node == id)
            return b;
    fail_msg("no buffer holds %%%s", name);
    return -1;
}

static void stored_as_operand(const planned *r, const char *name)
{
    int id = node(r, name);
    assert_int_equal(r->f->role[id], MT_FUSE_ROOT);
    assert_int_equal(r->f->why[id], MT_WHY_OPERAND);
}

/* ---- tests ----------------------------------------------------------------------------- */

static void a_matmul_kernel_is_one_gemm_statement_per_row_then_its_epilogue(void **state)
{
    (void)state;
    planned r = plan("mtir 1\n"
                     "graph mlp {\n"
                     "  input %x : DT[32,64]\n"
                     "  param %w : DT[64,10]\n"
                     "  param %b : DT[10]\n"
                     "  %h = matmul %x, %w\n"
                     "  %a = add %h, %b\n"
                     "  %y = relu %a\n"
                     "  output %y\n"
                     "}\n");
    assert_int_equal(r.p->nkernels, 1);
    const mt_kernel *k = &r.p->kernels[0];
    assert_true(mt_kernel_is_parallel(k));
    assert_int_equal(k->body->trip, 32);
    const mt_kgemm *g = gemm_of(&r, "y");
    assert_int_equal(g->a, buf(&r, "x"));
    assert_int_equal(g->b, buf(&r, "w"));
    assert_int_equal(g->c, buf(&r, "y"));
    assert_false(g->trans_a || g->trans_b);
    assert_int_equal(mt_kgemm_row_macs(g), 64 * 10);
    /* The executor's measure of the kernel counts the product's multiply-adds. */
    assert_true(k->work >= 32 * 64 * 10);
    char *text = mt_kprog_print(r.p);
    assert_non_null(text);
    assert_non_null(strstr(text, "  for i0 in 0..32 parallel {\n"
                                 "    gemm b3 row i0 = b0 @ b1 : f32[32,64] @ f32[64,10]\n"
                                 "    for i1 in 0..10 parallel {\n"));
    mt_free(text);
    plan_free(&r);

    mt_diag d;
    mt_diag_init(&d);
    mt_graph *g2 = parse_as("mtir 1\n"
                            "graph mm {\n"
                            "  input %x : DT[24,40]\n"
                            "  input %w : DT[40,20]\n"
                            "  %y = matmul %x, %w\n"
                            "  output %y\n"
                            "}\n",
                            MT_DTYPE_F64);
    char *llvm = mt_cpu_dump_llvm(g2, &d);
    assert_non_null(llvm);
    /* The kernel calls the shared f64 GEMM driver with its product's descriptor (a product
     * big enough for it: 19,200 multiply-adds). */
    assert_non_null(strstr(llvm, "call void @mtc.gemm.f64."));
    assert_non_null(strstr(llvm, "define void @mtc.gemm.f64."));
    assert_non_null(strstr(llvm, "@llvm.fma.v")); /* the micro-kernel, at the host's width */
    mt_free(llvm);
    mt_graph_free(g2);
    mt_diag_fini(&d);
}

static void tiny_products_are_plain_loops_that_match_in_every_layout(void **state)
{
    (void)state;
    /* Below 16,384 multiply-adds a product is emitted in place (codegen/llvm/emit_small_gemm.c):
     * one output column, a K of 1 or 2, transposed operands and batches, both dtypes. */
    static const char *text = "mtir 1\n"
                              "graph tiny {\n"
                              "  input %x : DT[10,2]\n"
                              "  param %w : DT[2,100]\n"
                              "  param %u : DT[100,1]\n"
                              "  input %b : DT[3,5,7]\n"
                              "  input %c : DT[7,4]\n"
                              "  %h = matmul %x, %w\n"
                              "  %o = matmul %h, %u\n"
                              "  %ht = permute %h perm=[1,0]\n"
                              "  %g = matmul %ht, %o\n"
                              "  %ut = permute %u perm=[1,0]\n"
                              "  %d = matmul %o, %ut\n"
                              "  %e = matmul %b, %c\n"
                              "  %bt = permute %b perm=[0,2,1]\n"
                              "  %f = matmul %bt, %e\n"
                              "  output %g, %d, %f\n"
                              "}\n";
    for (int t = 0; t < 2; t++) {
        mt_graph *g = parse_as(text, t ? MT_DTYPE_F64 : MT_DTYPE_F32);
        mt_diag d;
        mt_diag_init(&d);
        char *llvm = mt_cpu_dump_llvm(g, &d);
        assert_non_null(llvm);
        assert_null(strstr(llvm, "call void @mtc.gemm."));
        assert_non_null(strstr(llvm, "@llvm.fmuladd."));
        mt_free(llvm);
        mt_graph_free(g);
        mt_diag_fini(&d);
    }
    check_text(text); /* both dtypes, 1 to 3 threads, against the interpreter */
}

/* How many times `needle` occurs in `hay`. */
static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *at = hay; (at = strstr(at, needle)) != NULL; at += strlen(needle))
        n++;
    return n;
}

static void every_matmul_of_a_program_runs_on_one_shared_gemm(void **state)
{
    (void)state;
    /* Four products of different shapes, transposes and batches in one program: each kernel
     * passes its own sizes and strides to the same driver and micro-kernel at run time, so
     * the module defines one of each, and one packing function per transpose used. (Each has
     * more than 16,384 multiply-adds: smaller ones are plain loops, tested below.) */
    static const char *text = "mtir 1\n"
                              "graph shared {\n"
                              "  input %x : DT[2,14,33]\n"
                              "  param %w : DT[33,19]\n"
                              "  param %v : DT[40,19]\n"
                              "  input %z : DT[33,70]\n"
                              "  input %y : DT[70,9]\n"
                              "  %h = matmul %x, %w\n"
                              "  %vt = permute %v perm=[1,0]\n"
                              "  %o = matmul %h, %vt\n"
                              "  %xt = permute %x perm=[0,2,1]\n"
                              "  %g = matmul %xt, %h\n"
                              "  %zz = matmul %z, %y\n"
                              "  output %o, %g, %zz\n"
                              "}\n";
    mt_graph *g = parse_as(text, MT_DTYPE_F32);
    mt_diag d;
    mt_diag_init(&d);
    char *llvm = mt_cpu_dump_llvm(g, &d);
    assert_non_null(llvm);
    assert_int_equal(count_of(llvm, "define void @mtc.gemm.f32."), 6);
    assert_int_equal(count_of(llvm, ".driver("), 5); /* defined once, called four times */
    assert_int_equal(count_of(llvm, ".kernel("), 3); /* defined once, called twice by it */
    assert_non_null(strstr(llvm, ".pack_a_n("));
    assert_non_null(strstr(llvm, ".pack_a_t("));
    assert_non_null(strstr(llvm, ".pack_b_n("));
    assert_non_null(strstr(llvm, ".pack_b_t("));
    mt_free(llvm);
    mt_graph_free(g);
    mt_diag_fini(&d);
    check_text(text);
}

static void products_match_at_awkward_sizes_in_every_dimension(void **state)
{
    (void)state;
    static const int64_t sizes[][3] = {
        {1, 1, 1},     {3, 17, 1},     {17, 1031, 3}, {255, 17, 255},
        {1031, 3, 17}, {1, 255, 1031}, {17, 1, 255},
    };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char text[512];
        int64_t m = sizes[i][0], k = sizes[i][1], n = sizes[i][2];
        snprintf(text, sizeof text,
                 "mtir 1\ngraph mm {\n"
                 "  input %%a : DT[%lld,%lld]\n"
                 "  input %%b : DT[%lld,%lld]\n"
                 "  %%y = matmul %%a, %%b\n"
                 "  output %%y\n}\n",
                 (long long)m, (long long)k, (long long)k, (long long)n);
        check_text(text);
    }
}

/* Small products of an A stored transposed with one output column (a weight gradient
 * h^T . dy) run as loops along the rows (emit_small_gemm.c's column form); with and without
 * a vector tail, and one row. */
static void small_products_of_a_transposed_a_with_one_column_match(void **state)
{
    (void)state;
    static const int64_t sizes[][2] = {{100, 10}, {37, 3}, {1, 5}, {129, 7}, {16, 1}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char text[512];
        long long m = sizes[i][0], k = sizes[i][1];
        snprintf(text, sizeof text,
                 "mtir 1\ngraph mm {\n"
                 "  input %%a : DT[%lld,%lld]\n"
                 "  input %%b : DT[%lld,1]\n"
                 "  %%at = permute %%a perm=[1,0]\n"
                 "  %%y = matmul %%at, %%b\n"
                 "  output %%y\n}\n",
                 k, m, k);
        check_text(text);
    }
}

static void transposed_operands_are_read_in_place(void **state)
{
    (void)state;
    const char *text = "mtir 1\n"
                       "graph t {\n"
                       "  input %a : DT[17,255]\n"
                       "  input %b : DT[3,17]\n"
                       "  input %c : DT[255,3]\n"
                       "  %at = permute %a perm=[1,0]\n"
                       "  %bt = permute %b perm=[1,0]\n"
                       "  %y1 = matmul %at, %bt\n"
                       "  %y2 = matmul %bt, %b\n"
                       "  %y3 = matmul %a, %c\n"
                       "  %y4 = matmul %at, %a\n"
                       "  output %y1, %y2, %y3, %y4\n"
                       "}\n";
    planned r = plan(text);
    assert_int_equal(r.p->nkernels, 4); /* no copies */
    const mt_kgemm *g = gemm_of(&r, "y1");
    assert_true(g->trans_a && g->trans_b);
    assert_int_equal(g->a, buf(&r, "a"));
    assert_int_equal(g->ta.dims[0], 255);
    assert_int_equal(g->ta.dims[1], 17);
    g = gemm_of(&r, "y2");
    assert_true(g->trans_a && !g->trans_b);
    g = gemm_of(&r, "y3");
    assert_true(!g->trans_a && !g->trans_b);
    g = gemm_of(&r, "y4"); /* a^T a: one buffer read both ways */
    assert_true(g->trans_a && !g->trans_b);
    assert_int_equal(g->a, g->b);
    assert_int_equal(r.f->role[node(&r, "at")], MT_FUSE_INLINE);
    char *s = mt_kprog_print(r.p);
    assert_non_null(strstr(s, "= b0^T @ b1^T : f32[255,17] @ f32[17,3]\n"));
    mt_free(s);
    plan_free(&r);
    check_text(text);
    /* Twice swapped is not swapped; a permute keeping the batch axes transposes in place. */
    text = "mtir 1\n"
           "graph tt {\n"
           "  input %a : DT[2,3,17,31]\n"
           "  input %b : DT[3,5,31]\n"
           "  %at = permute %a perm=[0,1,3,2]\n"
           "  %att = permute %at perm=[0,1,3,2]\n"
           "  %bt = permute %b perm=[0,2,1]\n"
           "  %y = matmul %att, %bt\n"
           "  output %y\n"
           "}\n";
    r = plan(text);
    assert_int_equal(r.p->nkernels, 1);
    g = gemm_of(&r, "y");
    assert_true(!g->trans_a && g->trans_b);
    plan_free(&r);
    check_text(text);
}

static void batch_axes_broadcast_as_matmul_does(void **state)
{
    (void)state;
    check_text("mtir 1\n"
               "graph b {\n"
               "  input %a : DT[2,1,3,4]\n"
               "  input %b : DT[5,4,2]\n"
               "  %y = matmul %a, %b\n"
               "  output %y\n"
               "}\n");
    check_text("mtir 1\n"
               "graph b {\n"
               "  input %a : DT[3,1,17]\n"
               "  input %b : DT[17,1]\n"
               "  input %c : DT[4,1,255,17]\n"
               "  input %d : DT[3,17,5]\n"
               "  %y = matmul %a, %b\n"
               "  %z = matmul %c, %d\n"
               "  output %y, %z\n"
               "}\n");
    /* Expanding batch axes is a broadcast the product reads in place, also transposed. */
    const char *text = "mtir 1\n"
                       "graph e {\n"
                       "  input %w : DT[17,3]\n"
                       "  input %x : DT[1,5,17]\n"
                       "  input %v : DT[4,3,5]\n"
                       "  %we = expand %w shape=[4,17,3]\n"
                       "  %xe = expand %x shape=[4,5,17]\n"
                       "  %wt = permute %we perm=[0,2,1]\n"
                       "  %xt = permute %xe perm=[0,2,1]\n"
                       "  %y = matmul %xe, %we\n"
                       "  %z = matmul %wt, %xt\n"
                       "  %s = add %z, %v\n"
                       "  output %y, %s\n"
                       "}\n";
    planned r = plan(text);
    assert_int_equal(r.p->nkernels, 2);
    const mt_kgemm *g = gemm_of(&r, "s");
    assert_true(g->trans_a && g->trans_b);
    assert_int_equal(g->ta.rank, 2); /* w itself: the batch axis is broadcast */
    plan_free(&r);
    check_text(text);
}

static void operands_the_gemm_cannot_read_in_place_are_stored_first(void **state)
{
    (void)state;
    const char *text = "mtir 1\n"
                       "graph views {\n"
                       "  input %x : DT[20,17]\n"
                       "  input %w : DT[17,9]\n"
                       "  input %u : DT[3,51]\n"
                       "  input %z : DT[3,1,17]\n"
                       "  %xs = slice %x start=[2,0] end=[19,17]\n"
                       "  %y1 = matmul %xs, %w\n"
                       "  %wp = pad %w pads=[0,0,1,2]\n"
                       "  %y2 = matmul %x, %wp\n"
                       "  %c = const value=0.5 : DT[9,4]\n"
                       "  %y3 = matmul %y1, %c\n"
                       "  %ze = expand %z shape=[3,20,17]\n"
                       "  %y4 = matmul %ze, %w\n"
                       "  %ut = permute %u perm=[1,0]\n"
                       "  %ur = reshape %ut shape=[17,9]\n"
                       "  %y5 = matmul %x, %ur\n"
                       "  %xr = reshape %x shape=[4,5,17]\n"
                       "  %xp = permute %xr perm=[1,0,2]\n"
                       "  %y6 = matmul %xp, %w\n"
                       "  %cc = concat %w, %w dim=1\n"
                       "  %y7 = matmul %x, %cc\n"
                       "  output %y2, %y3, %y4, %y5, %y6, %y7\n"
                       "}\n";
    planned r = plan(text);
    const char *copies[] = {"xs", "wp", "c", "ze", "ur", "xp", "cc"};
    for (size_t i = 0; i < sizeof copies / sizeof copies[0]; i++)
        stored_as_operand(&r, copies[i]);
    /* The reshape of dense data is read in place; y1 is stored as an operand of y3. */
    assert_int_equal(r.f->role[node(&r, "xr")], MT_FUSE_INLINE);
    stored_as_operand(&r, "y1");
    char why[256];
    mt_fusion_why(r.g, r.f, node(&r, "xs"), why, sizeof why);
    assert_non_null(strstr(why, "operand of %y1 in k"));
    char *s = mt_fusion_print(r.g, r.f, 1);
    assert_non_null(strstr(s, "kernel k0 copy {\n"));
    mt_free(s);
    plan_free(&r);
    check_text(text);
}

static void epilogues_run_over_each_finished_row(void **state)
{
    (void)state;
    check_text("mtir 1\n"
               "graph epi {\n"
               "  input %x : DT[2,17,31]\n"
               "  param %w : DT[31,255]\n"
               "  param %b : DT[255]\n"
               "  input %r : DT[17,1]\n"
               "  input %e : DT[2,17,255]\n"
               "  %h = matmul %x, %w\n"
               "  %a = add %h, %b\n"
               "  %m = mul %a, %r\n"
               "  %t = tanh %e\n"
               "  %s = sub %m, %t\n"
               "  %y = sigmoid %s\n"
               "  output %y\n"
               "}\n");
    /* A temporary read at the index the epilogue writes must not share the product's memory:
     * the product overwrites its buffer before the epilogue reads it. */
    const char *text = "mtir 1\n"
                       "graph noinplace {\n"
                       "  input %x : DT[64,64]\n"
                       "  input %w : DT[64,64]\n"
                       "  input %v : DT[64,64]\n"
                       "  %t = exp %v\n"
                       "  %s = sum %t dim=1\n"
                       "  %h = matmul %x, %w\n"
                       "  %y = add %h, %t\n"
                       "  output %y, %s\n"
                       "}\n";
    planned r = plan(text);
    assert_int_equal(r.p->ninplace, 0);
    assert_int_not_equal(r.p->bufs[buf(&r, "t")].offset, r.p->bufs[buf(&r, "y")].offset);
    plan_free(&r);
    check_text(text);
}

static void big_products_split_across_threads_bit_identically(void **state)
{
    (void)state;
    /* 1031 rows (not a multiple of any register block) and 1035 rows over three batches,
     * each over the 8M multiply-adds from which the executor shares rows between threads. */
    const char *text = "mtir 1\n"
                       "graph big {\n"
                       "  input %a : DT[1031,1031]\n"
                       "  input %b : DT[1031,17]\n"
                       "  input %c : DT[3,345,1031]\n"
                       "  input %bias : DT[17]\n"
                       "  %y = matmul %a, %b\n"
                       "  %z = matmul %c, %b\n"
                       "  %za = add %z, %bias\n"
                       "  %zr = relu %za\n"
                       "  output %y, %zr\n"
                       "}\n";
    planned r = plan(text);
    for (int k = 0; k < r.p->nkernels; k++) {
        const mt_kgemm *g = mt_kernel_gemm(&r.p->kernels[k]);
        assert_non_null(g);
        assert_true(r.p->kernels[k].body->trip * mt_kgemm_row_macs(g) >=
                    mt_target_desc_cpu()->min_gemm_macs);
    }
    plan_free(&r);
    check_text(text);
}

static void shares_of_rows_start_at_whole_register_blocks_of_every_isa(void **state)
{
    (void)state;
    for (int isa = MT_LLVM_GEMM_ISA_GENERIC; isa <= MT_LLVM_GEMM_ISA_AVX512; isa++)
        for (int dt = 0; dt < 2; dt++) {
            mt_llvm_gemm_desc d;
            mt_llvm_gemm_desc_init(&d, dt ? MT_DTYPE_F64 : MT_DTYPE_F32, 64, 64, 64);
            d.isa = (mt_llvm_gemm_isa)isa;
            assert_int_equal(mt_target_desc_cpu()->gemm_rows % mt_llvm_gemm_row_block(&d), 0);
        }
}

static void check_gradient(const char *text, mt_dtype dt)
{
    mt_graph *g = parse_as(text, dt), *gg = NULL;
    mt_diag d;
    mt_diag_init(&d);
    if (mt_pass_grad(g, NULL, 0, &gg, &d) != MT_OK)
        fail_msg("grad: %s", d.msg);
    mt_graph_free(g);
    check(gg);
}

static void gradients_of_batched_and_transposed_products_match(void **state)
{
    (void)state;
    /* Attention-like: q k^T over a batch, a softmax, times v, then a shared projection. The
     * gradients multiply by permuted activations and sum broadcast batch axes away. */
    const char *text = "mtir 1\n"
                       "graph attn {\n"
                       "  param %q : DT[2,5,8]\n"
                       "  param %k : DT[2,7,8]\n"
                       "  param %v : DT[2,7,3]\n"
                       "  param %w : DT[3,17]\n"
                       "  %kt = permute %k perm=[0,2,1]\n"
                       "  %s = matmul %q, %kt\n"
                       "  %m = max %s dim=2\n"
                       "  %d = sub %s, %m\n"
                       "  %e = exp %d\n"
                       "  %z = sum %e dim=2\n"
                       "  %p = div %e, %z\n"
                       "  %o = matmul %p, %v\n"
                       "  %h = matmul %o, %w\n"
                       "  %t = tanh %h\n"
                       "  %l = mean %t\n"
                       "  output %l\n"
                       "}\n";
    check_gradient(text, MT_DTYPE_F32);
    check_gradient(text, MT_DTYPE_F64);
}

/* A target without a GEMM of its own (has_gemm = 0) gets matmuls as plain loops: a parallel
 * loop over rows and one over columns, a reduction over K, then the epilogue. They must agree
 * with the interpreter for batched, transposed and broadcast operands and fused epilogues. */
static void matmuls_lower_to_plain_loops_on_a_target_without_a_gemm(void **state)
{
    (void)state;
    mt_target_desc plain = *mt_target_desc_cpu();
    plain.has_gemm = 0;
    const char *texts[] = {
        "mtir 1\n"
        "graph p {\n"
        "  input %a : DT[17,33]\n"
        "  input %b : DT[33,9]\n"
        "  input %c : DT[9]\n"
        "  %y = matmul %a, %b\n"
        "  %z = add %y, %c\n"
        "  %r = relu %z\n"
        "  output %r, %y\n"
        "}\n",
        "mtir 1\n"
        "graph t {\n"
        "  input %a : DT[2,3,17,31]\n"
        "  input %b : DT[3,5,31]\n"
        "  %at = permute %a perm=[0,1,3,2]\n"
        "  %att = permute %at perm=[0,1,3,2]\n"
        "  %bt = permute %b perm=[0,2,1]\n"
        "  %y = matmul %att, %bt\n"
        "  %e = exp %y\n"
        "  output %e\n"
        "}\n",
        "mtir 1\n"
        "graph b {\n"
        "  input %a : DT[4,1,6,7]\n"
        "  input %b : DT[3,7,5]\n"
        "  input %c : DT[7,6]\n"
        "  %ct = permute %c perm=[1,0]\n"
        "  %y = matmul %a, %b\n"
        "  %w = matmul %ct, %c\n"
        "  output %y, %w\n"
        "}\n",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        for (int dt = 0; dt < 2; dt++) {
            mt_graph *g = parse_as(texts[i], dt ? MT_DTYPE_F64 : MT_DTYPE_F32);
            /* No GEMM statement is left, and every kernel passes the verifier. */
            mt_diag d;
            mt_diag_init(&d);
            mt_fusion *f = NULL;
            mt_kprog *p = NULL;
            assert_int_equal(mt_fuse(g, &f, &d), MT_OK);
            assert_int_equal(mt_lower(g, f, &plain, &p, &d), MT_OK);
            assert_int_equal(mt_kprog_verify(p, &d), MT_OK);
            char *s = mt_kprog_print(p);
            assert_null(strstr(s, "gemm"));
            assert_non_null(strstr(s, "reduce"));
            mt_free(s);
            mt_kprog_free(p);
            mt_fusion_free(f);
            mt_check_cpu_random_for(g, &plain, NTHREADS, 0);
        }
}

int main(void)
{
    mt_test_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_matmul_kernel_is_one_gemm_statement_per_row_then_its_epilogue),
        cmocka_unit_test(every_matmul_of_a_program_runs_on_one_shared_gemm),
        cmocka_unit_test(tiny_products_are_plain_loops_that_match_in_every_layout),
        cmocka_unit_test(products_match_at_awkward_sizes_in_every_dimension),
        cmocka_unit_test(small_products_of_a_transposed_a_with_one_column_match),
        cmocka_unit_test(transposed_operands_are_read_in_place),
        cmocka_unit_test(batch_axes_broadcast_as_matmul_does),
        cmocka_unit_test(operands_the_gemm_cannot_read_in_place_are_stored_first),
        cmocka_unit_test(epilogues_run_over_each_finished_row),
        cmocka_unit_test(big_products_split_across_threads_bit_identically),
        cmocka_unit_test(shares_of_rows_start_at_whole_register_blocks_of_every_isa),
        cmocka_unit_test(gradients_of_batched_and_transposed_products_match),
        cmocka_unit_test(matmuls_lower_to_plain_loops_on_a_target_without_a_gemm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
