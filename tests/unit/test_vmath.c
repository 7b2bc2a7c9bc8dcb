/* test_vmath.c - the CPU backend's exp, log, tanh, sigmoid, sqrt, inv and pow (vmath.c and
 * the LLVM intrinsics) measured in ulp against libm one precision up (tests/support/ulp.h).
 *
 * Each function and dtype runs through a compiled one-op program on 2^20 inputs: its special
 * values (zeros, infinities, NaN, denormals, the type's extremes, the function's overflow and
 * underflow thresholds; for pow every pair of them), then random bit patterns and random values
 * in the function's working range. Every special must come out exactly (a class error is one
 * that did not), and the largest error must stay within the bounds below, which
 * bench/ulp/run.sh measured over every f32 input (docs/vmath.md). One thread and two must give
 * the same bits. The code for a target without fused multiply-add (vmath.c's other form, which
 * `mtc compile --target x86-64-v2` gets) is built and run here too, with the same bounds. The seed
 * is printed; MT_SEED=n reruns a failure.
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

#include <llvm-c/Analysis.h>
#include <llvm-c/Orc.h>

#include "codegen/llvm/llvm.h"
#include "codegen/llvm/vmath.h"
#include "ir/alloc.h"
#include "tests/support/random.h"
#include "tests/support/ulp.h"

#define N (1 << 20)

/* Largest error allowed, in ulp, for f32 and f64 results. f64: 4 ulp is 1e-15 relative at
 * worst (an ulp is 2^-52 to 2^-53 of the value). */
static const double bound[MT_ULP_NFN][2] = {
    [MT_ULP_EXP] = {1.0, 1.0},     [MT_ULP_LOG] = {1.0, 1.0},  [MT_ULP_TANH] = {2.0, 2.0},
    [MT_ULP_SIGMOID] = {1.0, 1.0}, [MT_ULP_SQRT] = {0.5, 0.5}, [MT_ULP_INV] = {0.5, 0.5},
    [MT_ULP_POW] = {1.0, 2.0},
};

static uint64_t rng_state;

static void store(void *buf, int f64, int64_t i, double x)
{
    if (f64)
        ((double *)buf)[i] = x;
    else
        ((float *)buf)[i] = (float)x;
}

static double load(const void *buf, int f64, int64_t i)
{
    return f64 ? ((const double *)buf)[i] : ((const float *)buf)[i];
}

/* ---- the code without FMA -------------------------------------------------------------- */

/* A module whose function "k" computes y[i] = f(a[i], b[i]) for i in [begin, end) over the
 * buffer table {a, b, y} (the kernel ABI), with vmath.c's code for a target with or without
 * fused multiply-add: what `mtc compile --target x86-64-v2` gets, run on this machine. */
static mt_kernel_fn kernel_of(mt_ulp_fn f, int f64, int fma, mt_llvm_jit **jit)
{
    mt_llvm_module *m = mt_calloc(1, sizeof *m);
    assert_non_null(m);
    LLVMOrcThreadSafeContextRef tsc = LLVMOrcCreateNewThreadSafeContext();
    m->tsc = tsc;
    m->ctx = LLVMOrcThreadSafeContextGetContext(tsc);
    m->mod = LLVMModuleCreateWithNameInContext("test_vmath", m->ctx);
    LLVMContextRef C = m->ctx;
    LLVMTypeRef ptr = LLVMPointerType(LLVMInt8TypeInContext(C), 0);
    LLVMTypeRef i64 = LLVMInt64TypeInContext(C);
    LLVMTypeRef t = f64 ? LLVMDoubleTypeInContext(C) : LLVMFloatTypeInContext(C);
    LLVMTypeRef tp = LLVMPointerType(t, 0), pp = LLVMPointerType(ptr, 0);
    LLVMTypeRef params[3] = {pp, i64, i64};
    LLVMValueRef fn =
        LLVMAddFunction(m->mod, "k", LLVMFunctionType(LLVMVoidTypeInContext(C), params, 3, 0));
    LLVMBuilderRef B = LLVMCreateBuilderInContext(C);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(C, fn, "entry");
    LLVMBasicBlockRef loop = LLVMAppendBasicBlockInContext(C, fn, "loop");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(C, fn, "done");
    LLVMPositionBuilderAtEnd(B, entry);
    LLVMValueRef buf[3];
    for (int i = 0; i < 3; i++) {
        LLVMValueRef idx = LLVMConstInt(i64, (unsigned long long)i, 0);
        LLVMValueRef at = LLVMBuildGEP2(B, ptr, LLVMGetParam(fn, 0), &idx, 1, "");
        buf[i] = LLVMBuildBitCast(B, LLVMBuildLoad2(B, ptr, at, ""), tp, "");
    }
    LLVMValueRef begin = LLVMGetParam(fn, 1), end = LLVMGetParam(fn, 2);
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntSLT, begin, end, ""), loop, done);
    LLVMPositionBuilderAtEnd(B, loop);
    LLVMValueRef i = LLVMBuildPhi(B, i64, "i");
    LLVMValueRef ai = LLVMBuildLoad2(B, t, LLVMBuildGEP2(B, t, buf[0], &i, 1, ""), "");
    LLVMValueRef bi = LLVMBuildLoad2(B, t, LLVMBuildGEP2(B, t, buf[1], &i, 1, ""), "");
    mt_vmath vm = {B, m->mod, fma};
    LLVMValueRef y = f == MT_ULP_EXP       ? mt_vmath_exp(&vm, ai)
                     : f == MT_ULP_LOG     ? mt_vmath_log(&vm, ai)
                     : f == MT_ULP_TANH    ? mt_vmath_tanh(&vm, ai)
                     : f == MT_ULP_SIGMOID ? mt_vmath_sigmoid(&vm, ai)
                                           : mt_vmath_pow(&vm, ai, bi);
    LLVMBuildStore(B, y, LLVMBuildGEP2(B, t, buf[2], &i, 1, ""));
    LLVMValueRef next = LLVMBuildAdd(B, i, LLVMConstInt(i64, 1, 0), "");
    LLVMValueRef in0[2] = {begin, next};
    LLVMBasicBlockRef from[2] = {entry, loop};
    LLVMAddIncoming(i, in0, from, 2);
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntSLT, next, end, ""), loop, done);
    LLVMPositionBuilderAtEnd(B, done);
    LLVMBuildRetVoid(B);
    LLVMDisposeBuilder(B);
    char *msg = NULL;
    if (LLVMVerifyModule(m->mod, LLVMReturnStatusAction, &msg))
        fail_msg("invalid module: %s", msg);
    LLVMDisposeMessage(msg);
    mt_diag d;
    mt_diag_init(&d);
    if (mt_llvm_optimize(m, &d) != MT_OK || mt_llvm_jit_new(m, jit, &d) != MT_OK)
        fail_msg("%s", d.msg);
    mt_kernel_fn k = mt_llvm_jit_lookup(*jit, "k", &d);
    assert_non_null(k);
    mt_diag_fini(&d);
    return k;
}

/* ---- measuring ------------------------------------------------------------------------- */

/* Measures f over special and random inputs: through a compiled program (fma < 0: the CPU
 * backend as users get it, also checked with 1 and 2 threads) or through kernel_of. */
static int measure_with(mt_ulp_fn f, int f64, int fma)
{
    size_t es = f64 ? sizeof(double) : sizeof(float);
    void *a = malloc(N * es), *b = malloc(N * es), *y = malloc(N * es), *y1 = malloc(N * es);
    assert_true(a && b && y && y1);
    double sp[256];
    int ns = mt_ulp_specials(f, f64, sp, 256);
    int64_t n = 0;
    if (mt_ulp_fn_arity(f) == 2) {
        for (int i = 0; i < ns; i++)
            for (int j = 0; j < ns; j++, n++) {
                store(a, f64, n, sp[i]);
                store(b, f64, n, sp[j]);
            }
    } else {
        for (; n < ns; n++)
            store(a, f64, n, sp[n]);
    }
    int64_t nspecial = n;
    for (; n < N; n++) {
        store(a, f64, n, mt_ulp_sample(f, f64, 0, &rng_state));
        store(b, f64, n, mt_ulp_sample(f, f64, 1, &rng_state));
    }

    mt_diag d;
    mt_diag_init(&d);
    mt_program *p = NULL;
    if (fma >= 0) {
        mt_llvm_jit *jit = NULL;
        mt_kernel_fn k = kernel_of(f, f64, fma, &jit);
        void *bufs[3] = {a, b, y};
        k(bufs, 0, N);
        mt_llvm_jit_free(jit);
        goto check;
    }
    p = mt_ulp_program(f, f64, N);
    assert_non_null(p);
    assert_int_equal(mt_program_bind_input(p, "a", a, N * es, &d), MT_OK);
    if (mt_ulp_fn_arity(f) == 2)
        assert_int_equal(mt_program_bind_input(p, "b", b, N * es, &d), MT_OK);
    assert_int_equal(mt_program_set_threads(p, 1, &d), MT_OK);
    assert_int_equal(mt_program_bind_output(p, "y", y1, N * es, &d), MT_OK);
    assert_int_equal(mt_program_run(p, &d), MT_OK);
    assert_int_equal(mt_program_set_threads(p, 2, &d), MT_OK);
    assert_int_equal(mt_program_bind_output(p, "y", y, N * es, &d), MT_OK);
    assert_int_equal(mt_program_run(p, &d), MT_OK);
    assert_memory_equal(y, y1, N * es);

check:;

    double worst = 0;
    int64_t at = 0, bad = 0;
    for (int64_t i = 0; i < N; i++) {
        long double r = mt_ulp_ref(f, f64, load(a, f64, i), load(b, f64, i));
        double e = mt_ulp_error(f64, load(y, f64, i), r);
        if (e < 0) {
            if (bad++ < 5)
                print_message("%s %s(%a, %a) = %a, want %La%s\n", f64 ? "f64" : "f32",
                              mt_ulp_fn_name(f), load(a, f64, i), load(b, f64, i), load(y, f64, i),
                              r, i < nspecial ? " (special)" : "");
        } else if (e > worst) {
            worst = e;
            at = i;
        }
    }
    print_message("%s %s%s: max %.3f ulp at %a (%a), %lld class errors\n", f64 ? "f64" : "f32",
                  mt_ulp_fn_name(f), fma == 0 ? " without FMA" : "", worst, load(a, f64, at),
                  load(b, f64, at), (long long)bad);
    mt_diag_fini(&d);
    mt_program_free(p);
    free(a);
    free(b);
    free(y);
    free(y1);
    return bad == 0 && worst <= bound[f][f64];
}

static int measure(mt_ulp_fn f, int f64) { return measure_with(f, f64, -1); }

static void run_both(mt_ulp_fn f)
{
    int ok32 = measure(f, 0), ok64 = measure(f, 1);
    assert_true(ok32);
    assert_true(ok64);
}

static void exp_is_within_its_bound_and_exact_at_special_values(void **state)
{
    (void)state;
    run_both(MT_ULP_EXP);
}

static void log_is_within_its_bound_and_exact_at_special_values(void **state)
{
    (void)state;
    run_both(MT_ULP_LOG);
}

static void tanh_is_within_its_bound_and_exact_at_special_values(void **state)
{
    (void)state;
    run_both(MT_ULP_TANH);
}

static void sigmoid_is_within_its_bound_and_exact_at_special_values(void **state)
{
    (void)state;
    run_both(MT_ULP_SIGMOID);
}

static void sqrt_and_inv_are_correctly_rounded(void **state)
{
    (void)state;
    run_both(MT_ULP_SQRT);
    run_both(MT_ULP_INV);
}

static void pow_is_within_its_bound_and_exact_at_every_pair_of_special_values(void **state)
{
    (void)state;
    run_both(MT_ULP_POW);
}

static void every_function_keeps_its_bound_on_a_target_without_fma(void **state)
{
    (void)state;
    static const mt_ulp_fn fns[5] = {MT_ULP_EXP, MT_ULP_LOG, MT_ULP_TANH, MT_ULP_SIGMOID,
                                     MT_ULP_POW};
    int ok = 1;
    for (int i = 0; i < 5; i++)
        for (int f64 = 0; f64 < 2; f64++)
            ok &= measure_with(fns[i], f64, 0);
    assert_true(ok);
}

int main(void)
{
    rng_state = mt_test_seed() * 2654435761ull + 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exp_is_within_its_bound_and_exact_at_special_values),
        cmocka_unit_test(log_is_within_its_bound_and_exact_at_special_values),
        cmocka_unit_test(tanh_is_within_its_bound_and_exact_at_special_values),
        cmocka_unit_test(sigmoid_is_within_its_bound_and_exact_at_special_values),
        cmocka_unit_test(sqrt_and_inv_are_correctly_rounded),
        cmocka_unit_test(pow_is_within_its_bound_and_exact_at_every_pair_of_special_values),
        cmocka_unit_test(every_function_keeps_its_bound_on_a_target_without_fma),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
