/* test_kernel_verify.c - the kernel IR verifier: what it accepts and each invariant it checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "ir/alloc.h"
#include "ir/kernel.h"

/* The ways a test breaks the small program of build(). */
typedef enum breakage {
    VALID,
    STORE_OUT_OF_RANGE,
    FLOAT_INDEX,
    MIXED_OPERANDS,
    VAR_OUTSIDE_LOOP,
    SCALAR_UNDECLARED,
    STORE_WRONG_DTYPE,
    ZERO_TRIP,
    ACCESS_LIST,
    ARENA_OVERFLOW,
} breakage;

/* b0 f32[4,8] input, b1 f32[4,8] output, b2 f32[4,8] temp at @0 of a 128-byte arena.
 * kernel k0: for i0 in 0..4 parallel { for i1 in 0..8 parallel { f32 s0 = exp(b0[i]);
 *            b2[i] = s0; b1[i] = b2[i] + s0 } } with i = i0 * 8 + i1; then broken as asked. */
static mt_kprog *build(breakage brk)
{
    mt_kprog *p = mt_kprog_new("t");
    assert_non_null(p);
    int64_t dims[2] = {4, 8};
    mt_type t = mt_type_make(MT_DTYPE_F32, 2, dims);
    assert_int_equal(mt_kprog_add_buf(p, MT_KBUF_INPUT, &t, 0, "x"), 0);
    assert_int_equal(mt_kprog_add_buf(p, MT_KBUF_OUTPUT, &t, 1, "y"), 1);
    assert_int_equal(mt_kprog_add_buf(p, MT_KBUF_TEMP, &t, 2, "z"), 2);
    p->bufs[1].output = 0;
    p->bufs[2].offset = brk == ARENA_OVERFLOW ? 64 : 0;
    p->arena_bytes = 128;
    p->noutputs = 1;
    p->outputs = mt_arena_alloc(&p->arena, sizeof(int));
    p->outputs[0] = 1;

    mt_kernel k;
    memset(&k, 0, sizeof k);
    k.name = "k0";
    k.nloops = 2;
    k.nscalars = 1;
    k.scalar_types = mt_arena_alloc(&p->arena, sizeof *k.scalar_types);
    k.scalar_types[0] = MT_KT_F32;
    mt_kstmt *outer = mt_ks_for(p, 0, 4, MT_KLOOP_PARALLEL);
    mt_kstmt *inner = mt_ks_for(p, 1, brk == ZERO_TRIP ? 0 : 8, MT_KLOOP_PARALLEL);
    if (brk == ZERO_TRIP)
        inner->trip = 0; /* in case the constructor refuses */
    mt_kexpr *i0 = mt_kx_var(p, 0, 4), *i1 = mt_kx_var(p, 1, 8);
    mt_kexpr *flat =
        mt_kx_binary(p, MT_KX_ADD, mt_kx_binary(p, MT_KX_MUL, i0, mt_kx_int(p, 8)), i1);
    mt_kexpr *idx = brk == FLOAT_INDEX ? mt_kx_float(p, MT_KT_F64, 1.0) : flat;
    mt_kexpr *s0 = mt_kx_scalar(p, 0, MT_KT_F32);
    mt_kexpr *other = brk == MIXED_OPERANDS ? mt_kx_float(p, MT_KT_F64, 1.0) : s0;
    mt_kblock body = {0};
    mt_kstmt *decl = mt_ks_decl(p, 0, mt_kx_unary(p, MT_KX_EXP, mt_kx_load(p, 0, MT_KT_F32, idx)));
    if (brk != SCALAR_UNDECLARED)
        mt_kblock_append(&body, decl);
    mt_kexpr *stored = brk == STORE_WRONG_DTYPE ? mt_kx_float(p, MT_KT_F64, 2.0) : s0;
    mt_kblock_append(&body, mt_ks_store(p, brk == STORE_OUT_OF_RANGE ? 7 : 2, flat, stored));
    mt_kexpr *sum = mt_kx_binary(p, MT_KX_ADD, mt_kx_load(p, 2, MT_KT_F32, flat), other);
    mt_kblock_append(&body, mt_ks_store(p, 1, flat, sum));
    inner->body = body.first;
    outer->body = inner;
    mt_kblock top = {0};
    mt_kblock_append(&top, outer);
    if (brk == VAR_OUTSIDE_LOOP)
        mt_kblock_append(&top, mt_ks_store(p, 1, i1, mt_kx_float(p, MT_KT_F32, 0.0)));
    k.body = top.first;
    if (brk == STORE_OUT_OF_RANGE) {
        /* The buffer list cannot be collected for a buffer that does not exist. */
        static int bufs[3] = {0, 1, 2};
        static unsigned acc[3] = {MT_KACC_READ, MT_KACC_WRITE, MT_KACC_READ | MT_KACC_WRITE};
        k.nbufs = 3;
        k.bufs = bufs;
        k.access = acc;
    } else {
        assert_true(mt_kernel_collect_bufs(p, &k));
    }
    if (brk == ACCESS_LIST)
        k.access[0] = MT_KACC_WRITE;
    assert_int_equal(mt_kprog_add_kernel(p, &k), 0);
    return p;
}

/* The program of `brk` fails verification with a message naming k0 (or the buffer) and
 * containing `part`. */
static void rejected(breakage brk, const char *names, const char *part)
{
    mt_kprog *p = build(brk);
    mt_diag d;
    mt_diag_init(&d);
    assert_int_equal(mt_kprog_verify(p, &d), MT_ERR_INTERNAL);
    if (!strstr(d.msg, names) || !strstr(d.msg, part))
        fail_msg("message '%s' lacks '%s' or '%s'", d.msg, names, part);
    mt_kprog_free(p);
}

static void a_well_formed_program_passes(void **state)
{
    (void)state;
    mt_kprog *p = build(VALID);
    mt_diag d;
    mt_diag_init(&d);
    assert_int_equal(mt_kprog_verify(p, &d), MT_OK);
    mt_kprog_free(p);
}

static void a_buffer_id_out_of_range_is_reported(void **state)
{
    (void)state;
    rejected(STORE_OUT_OF_RANGE, "kernel k0", "b7");
}

static void an_index_that_is_not_i64_is_reported(void **state)
{
    (void)state;
    rejected(FLOAT_INDEX, "kernel k0", "not i64");
}

static void operands_of_different_types_are_reported(void **state)
{
    (void)state;
    rejected(MIXED_OPERANDS, "kernel k0", "operands of types f32 and f64");
}

static void a_loop_variable_outside_its_loop_is_reported(void **state)
{
    (void)state;
    rejected(VAR_OUTSIDE_LOOP, "kernel k0", "outside its loop");
}

static void a_scalar_used_before_its_declaration_is_reported(void **state)
{
    (void)state;
    rejected(SCALAR_UNDECLARED, "kernel k0", "no enclosing block declared it");
}

static void a_store_of_the_wrong_dtype_is_reported(void **state)
{
    (void)state;
    rejected(STORE_WRONG_DTYPE, "kernel k0", "which holds f32");
}

static void a_loop_without_iterations_is_reported(void **state)
{
    (void)state;
    rejected(ZERO_TRIP, "kernel k0", "trip 0");
}

static void an_access_list_that_disagrees_with_the_body_is_reported(void **state)
{
    (void)state;
    rejected(ACCESS_LIST, "kernel k0", "access to b0");
}

static void a_temporary_past_the_end_of_the_arena_is_reported(void **state)
{
    (void)state;
    rejected(ARENA_OVERFLOW, "buffer b2", "outside the arena of 128 bytes");
}

/* C = A @ B row by row, with B's declared shape [kb, 8]. */
static mt_kprog *gemm_prog(int64_t kb)
{
    mt_kprog *p = mt_kprog_new("g");
    assert_non_null(p);
    int64_t da[2] = {4, 3}, db[2] = {3, 8}, dc[2] = {4, 8}, dbb[2] = {kb, 8};
    mt_type ta = mt_type_make(MT_DTYPE_F32, 2, da), tb = mt_type_make(MT_DTYPE_F32, 2, db),
            tc = mt_type_make(MT_DTYPE_F32, 2, dc);
    assert_int_equal(mt_kprog_add_buf(p, MT_KBUF_INPUT, &ta, 0, "a"), 0);
    assert_int_equal(mt_kprog_add_buf(p, MT_KBUF_INPUT, &tb, 1, "b"), 1);
    assert_int_equal(mt_kprog_add_buf(p, MT_KBUF_OUTPUT, &tc, 2, "c"), 2);
    mt_kgemm g = {.a = 0, .b = 1, .c = 2, .ta = ta, .tb = mt_type_make(MT_DTYPE_F32, 2, dbb)};
    mt_kernel k;
    memset(&k, 0, sizeof k);
    k.name = "k0";
    k.nloops = 1;
    mt_kstmt *loop = mt_ks_for(p, 0, 4, MT_KLOOP_PARALLEL);
    loop->body = mt_ks_gemm(p, &g, mt_kx_var(p, 0, 4));
    k.body = loop;
    assert_true(mt_kernel_collect_bufs(p, &k));
    assert_int_equal(mt_kprog_add_kernel(p, &k), 0);
    return p;
}

static void a_gemm_whose_shapes_do_not_fit_its_buffers_is_reported(void **state)
{
    (void)state;
    mt_diag d;
    mt_diag_init(&d);
    mt_kprog *p = gemm_prog(3);
    assert_int_equal(mt_kprog_verify(p, &d), MT_OK);
    mt_kprog_free(p);
    p = gemm_prog(5);
    assert_int_equal(mt_kprog_verify(p, &d), MT_ERR_INTERNAL);
    assert_non_null(strstr(d.msg, "kernel k0"));
    assert_non_null(strstr(d.msg, "gemm b2"));
    mt_kprog_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_well_formed_program_passes),
        cmocka_unit_test(a_buffer_id_out_of_range_is_reported),
        cmocka_unit_test(an_index_that_is_not_i64_is_reported),
        cmocka_unit_test(operands_of_different_types_are_reported),
        cmocka_unit_test(a_loop_variable_outside_its_loop_is_reported),
        cmocka_unit_test(a_scalar_used_before_its_declaration_is_reported),
        cmocka_unit_test(a_store_of_the_wrong_dtype_is_reported),
        cmocka_unit_test(a_loop_without_iterations_is_reported),
        cmocka_unit_test(an_access_list_that_disagrees_with_the_body_is_reported),
        cmocka_unit_test(a_temporary_past_the_end_of_the_arena_is_reported),
        cmocka_unit_test(a_gemm_whose_shapes_do_not_fit_its_buffers_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
