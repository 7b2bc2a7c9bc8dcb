/* ulp.c - reference values, ulp errors and one-op programs for the float-function checks
 * (ulp.h). */
#include "tests/support/ulp.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const names[MT_ULP_NFN] = {"exp",  "log", "tanh", "sigmoid",
                                              "sqrt", "inv", "pow"};

const char *mt_ulp_fn_name(mt_ulp_fn f) { return f < MT_ULP_NFN ? names[f] : "?"; }

int mt_ulp_fn_of(const char *name)
{
    for (int i = 0; i < MT_ULP_NFN; i++)
        if (!strcmp(name, names[i]))
            return i;
    return -1;
}

int mt_ulp_fn_arity(mt_ulp_fn f) { return f == MT_ULP_POW ? 2 : 1; }

/* ---- references ------------------------------------------------------------------------- */

static double ref_double(mt_ulp_fn f, double a, double b)
{
    switch (f) {
    case MT_ULP_EXP: return exp(a);
    case MT_ULP_LOG: return log(a);
    case MT_ULP_TANH: return tanh(a);
    case MT_ULP_SIGMOID: return a >= 0 ? 1.0 / (1.0 + exp(-a)) : exp(a) / (1.0 + exp(a));
    case MT_ULP_SQRT: return sqrt(a);
    case MT_ULP_INV: return 1.0 / a;
    case MT_ULP_POW: return pow(a, b);
    default: return NAN;
    }
}

static long double ref_long(mt_ulp_fn f, long double a, long double b)
{
    switch (f) {
    case MT_ULP_EXP: return expl(a);
    case MT_ULP_LOG: return logl(a);
    case MT_ULP_TANH: return tanhl(a);
    case MT_ULP_SIGMOID: return a >= 0 ? 1.0L / (1.0L + expl(-a)) : expl(a) / (1.0L + expl(a));
    case MT_ULP_SQRT: return sqrtl(a);
    case MT_ULP_INV: return 1.0L / a;
    case MT_ULP_POW: return powl(a, b);
    default: return NAN;
    }
}

long double mt_ulp_ref(mt_ulp_fn f, int f64, long double a, long double b)
{
    return f64 ? ref_long(f, a, b) : ref_double(f, (double)a, (double)b);
}

/* ---- errors ----------------------------------------------------------------------------- */

double mt_ulp_error(int f64, double y, long double r)
{
    if (isnan(r))
        return isnan(y) ? 0 : -1;
    long double rr = f64 ? (long double)(double)r : (long double)(float)r;
    if (isnan(y))
        return -1;
    /* Exact specials (a zero, an infinity) and results on the wrong side of overflow. */
    if (r == 0 || isinf(r) || isinf(rr) || isinf(y)) {
        if (y == rr && !signbit(y) == !signbit(rr))
            return 0;
        return -1;
    }
    int mant = f64 ? 52 : 23, emin = f64 ? -1022 : -126;
    int e = ilogbl(fabsl(r));
    e = e < emin ? emin : e;
    long double ulp = ldexpl(1.0L, e - mant);
    return (double)(fabsl((long double)y - r) / ulp);
}

/* ---- programs --------------------------------------------------------------------------- */

mt_program *mt_ulp_program(mt_ulp_fn f, int f64, int64_t n)
{
    mt_graph *g = mt_graph_new("ulp");
    mt_type t = mt_type_make(f64 ? MT_DTYPE_F64 : MT_DTYPE_F32, 1, &n);
    int a = mt_input(g, "a", t), y = -1;
    switch (f) {
    case MT_ULP_EXP: y = mt_exp(g, a); break;
    case MT_ULP_LOG: y = mt_log(g, a); break;
    case MT_ULP_TANH: y = mt_tanh(g, a); break;
    case MT_ULP_SIGMOID: y = mt_sigmoid(g, a); break;
    case MT_ULP_SQRT: y = mt_sqrt(g, a); break;
    case MT_ULP_INV: y = mt_inv(g, a); break;
    case MT_ULP_POW: y = mt_pow(g, a, mt_input(g, "b", t)); break;
    default: break;
    }
    mt_program *p = NULL;
    mt_diag d;
    mt_diag_init(&d);
    if (y < 0 || mt_name(g, y, "y") < 0 || mt_set_outputs(g, &y, 1) < 0)
        fprintf(stderr, "ulp: cannot build the graph of %s\n", mt_ulp_fn_name(f));
    else if (mt_program_compile(g, "cpu", &p, &d) != MT_OK)
        fprintf(stderr, "ulp: compile %s: %s\n", mt_ulp_fn_name(f), d.msg);
    mt_diag_fini(&d);
    mt_graph_free(g);
    return p;
}

/* ---- special inputs --------------------------------------------------------------------- */

typedef struct list {
    double *v;
    int n, max, f64;
} list;

static void put(list *l, double x)
{
    if (l->n < l->max)
        l->v[l->n++] = l->f64 ? x : (double)(float)x;
}

/* x rounded to the type and its neighbours two steps either side. */
static void around(list *l, double x)
{
    if (l->f64) {
        double lo = nextafter(nextafter(x, -INFINITY), -INFINITY);
        for (int i = 0; i < 5; i++, lo = nextafter(lo, INFINITY))
            put(l, lo);
    } else {
        float lo = nextafterf(nextafterf((float)x, -INFINITY), -INFINITY);
        for (int i = 0; i < 5; i++, lo = nextafterf(lo, INFINITY))
            put(l, lo);
    }
}

int mt_ulp_specials(mt_ulp_fn f, int f64, double *out, int max)
{
    list l = {out, 0, max, f64};
    double big = f64 ? DBL_MAX : FLT_MAX, tiny = f64 ? DBL_MIN : FLT_MIN;
    double den = f64 ? 0x1p-1074 : 0x1p-149;
    const double common[] = {0.0,  -0.0, INFINITY, -INFINITY, NAN,  -NAN, 1.0,
                             -1.0, 0.5,  -0.5,     2.0,       -2.0, 3.0,  -3.0};
    for (size_t i = 0; i < sizeof common / sizeof common[0]; i++)
        put(&l, common[i]);
    const double edges[] = {den, tiny - den, tiny, big};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        around(&l, edges[i]);
        around(&l, -edges[i]);
    }
    /* Where the result overflows, becomes denormal, and underflows to zero. */
    double ln_big = log(big), ln_tiny = log(tiny), ln_den = log(den), ln_half = ln_den - log(2.0);
    switch (f) {
    case MT_ULP_EXP:
        around(&l, ln_big);
        around(&l, ln_tiny);
        around(&l, ln_den);
        around(&l, ln_half);
        break;
    case MT_ULP_SIGMOID:
        around(&l, -ln_big);
        around(&l, ln_tiny);
        around(&l, ln_den);
        around(&l, ln_half);
        around(&l, f64 ? 36.7 : 16.6); /* where 1 - sigmoid drops below half an ulp of 1 */
        break;
    case MT_ULP_TANH:
        around(&l, 0.625);
        around(&l, -0.625);
        around(&l, 0.54930614433405484570);
        around(&l, f64 ? 19.06 : 9.01); /* where tanh rounds to 1 */
        around(&l, 0x1p-12);
        break;
    case MT_ULP_LOG:
    case MT_ULP_POW:
        around(&l, 1.0);
        around(&l, -1.0);
        put(&l, 0.25);
        put(&l, 4.0);
        put(&l, f64 ? 0x1p53 - 1 : 0x1p24 - 1); /* the largest odd integer */
        put(&l, f64 ? -(0x1p53 - 1) : -(0x1p24 - 1));
        put(&l, f64 ? 0x1p53 : 0x1p24);
        break;
    default: break;
    }
    return l.n;
}

static uint64_t next(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

static double uniform(uint64_t *state, double lo, double hi)
{
    return lo + (hi - lo) * (double)(next(state) >> 11) * 0x1p-53;
}

double mt_ulp_sample(mt_ulp_fn f, int f64, int operand, uint64_t *state)
{
    uint64_t r = next(state);
    if (r & 1) {
        if (f64) {
            double d;
            memcpy(&d, &r, sizeof d);
            return d;
        }
        uint32_t u = (uint32_t)(r >> 32);
        float x;
        memcpy(&x, &u, sizeof x);
        return x;
    }
    switch (f) {
    case MT_ULP_EXP: return f64 ? uniform(state, -750, 712) : uniform(state, -105, 90);
    case MT_ULP_SIGMOID: return f64 ? uniform(state, -750, 40) : uniform(state, -105, 20);
    case MT_ULP_TANH: return f64 ? uniform(state, -22, 22) : uniform(state, -10, 10);
    case MT_ULP_POW:
        if (operand == 0)
            return (r & 2 ? -1 : 1) * exp2(uniform(state, -12, 12));
        return r & 4 ? (double)(int)uniform(state, -60, 60) : uniform(state, -60, 60);
    default: return uniform(state, 0, 4); /* log, sqrt, inv */
    }
}
