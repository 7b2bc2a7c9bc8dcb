/* ulp.h - measuring the CPU backend's float functions against a reference, in ulp.
 *
 * Shared by the sampled test (tests/unit/test_vmath.c) and the exhaustive benchmark
 * (bench/ulp/ulp.c). A function is run through the real pipeline: a one-op graph compiled for
 * the "cpu" target (mt_program_compile), its input bound to the caller's buffer, so what is
 * measured is the code a user's graph gets. The reference is libm one precision up: double for
 * f32 results, long double (x87, 64-bit mantissa) for f64 results, rounded once to the result's
 * type where a rounded value is compared.
 *
 * Error of a result y against the reference r: |y - r| / ulp(r), ulp(r) the spacing of the
 * result type's values at r (the denormal spacing below the smallest normal, the top binade's
 * above the largest finite). Where r or y is not finite, or r rounds to zero in the result
 * type, y must be exactly what r rounds to (NaN: any NaN; zeros: with r's sign): such a
 * mismatch is a class error, counted apart from the ulp error.
 */
#ifndef MT_TESTS_ULP_H
#define MT_TESTS_ULP_H

#include <stdint.h>

#include "mtc/mtc.h"

typedef enum mt_ulp_fn {
    MT_ULP_EXP,
    MT_ULP_LOG,
    MT_ULP_TANH,
    MT_ULP_SIGMOID,
    MT_ULP_SQRT,
    MT_ULP_INV,
    MT_ULP_POW,
    MT_ULP_NFN
} mt_ulp_fn;

/* "exp", "log", ...; mt_ulp_fn_of returns -1 for an unknown name. */
const char *mt_ulp_fn_name(mt_ulp_fn f);
int mt_ulp_fn_of(const char *name);
int mt_ulp_fn_arity(mt_ulp_fn f);

/* The reference value of f at (a, b) (b only for pow) in long double: libm's double functions
 * for f32 inputs (f64 = 0), its long double ones for f64 inputs. */
long double mt_ulp_ref(mt_ulp_fn f, int f64, long double a, long double b);

/* The error of result y (a float or double, per f64) against reference r, in ulp; -1 for a
 * class error (see above). */
double mt_ulp_error(int f64, double y, long double r);

/* A program computing f elementwise over n values of f32 or f64: inputs "a" (and "b" for pow),
 * output "y"; compiled for "cpu". NULL with a message on stderr on failure. */
mt_program *mt_ulp_program(mt_ulp_fn f, int f64, int64_t n);

/* The special inputs every function is checked at: zeros, infinities, NaN, denormals, the
 * normal and finite extremes, and f's overflow and underflow thresholds with their
 * neighbours. Fills up to max values (as doubles, exact in the type) and returns the count. */
int mt_ulp_specials(mt_ulp_fn f, int f64, double *out, int max);

/* A random input of f: any bit pattern of the type (half the time), or a value in the range
 * where f does its work. *state is a xorshift64 state (nonzero), advanced by the call. */
double mt_ulp_sample(mt_ulp_fn f, int f64, int operand, uint64_t *state);

#endif
