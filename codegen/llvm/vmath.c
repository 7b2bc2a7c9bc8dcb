/* vmath.c - exp, log, tanh and pow as straight-line LLVM IR over a float type or a vector of
 * one (vmath.h), so that a kernel's loop vectorizes through them.
 *
 * The forms are the classical ones (Cody and Waite; Cephes; fdlibm's log): reduce the argument
 * with the exponent bits, evaluate a polynomial on a short interval, put the exponent back.
 * Branches are selects: every lane computes every path and keeps the one its input needs, so
 * special inputs (0, inf, NaN, denormals, overflow) cost nothing extra and no path can trap.
 *
 *   exp   x = q ln2 + s, |s| <= ln2/2 (q = round(x / ln2), ln2 in two parts so q ln2 is exact);
 *         e^s by its Taylor series (degree 7 for f32, 13 for f64: the truncation error is
 *         below 0.05 ulp); times 2^q as two factors 2^(q/2) so that results near overflow and
 *         in the denormal range are rounded once.
 *   log   x = 2^k m, m in [sqrt(1/2), sqrt(2)), f = m - 1, s = f / (2 + f); then
 *         ln m = f - f^2/2 + s (f^2/2 + R), R = 2/3 s^2 + 2/5 s^4 + ... (the atanh series,
 *         4 terms for f32, 11 for f64), arranged as fdlibm's log so the big terms add last.
 *   tanh  |x| < 0.625 (f32) or ln(3)/2 (f64): x + x^3 P(x^2), Cephes' minimax polynomial for
 *         f32 and Cody and Waite's rational form for f64. Above: 1 - 2 / (e^(2|x|) + 1).
 *         The sign is copied from x at the end, so tanh(-0) = -0.
 *   pow   e^(b ln|a|) with C99's special cases (odd integer powers of negatives, zeros and
 *         infinities, pow(x, 0) = pow(1, y) = 1). f32 is computed in f64 and rounded once. f64
 *         carries ln|a| as a double-double (hi + lo) and b ln|a| as one too, the low part
 *         added to e^x's reduced argument: without it, the relative error would grow with
 *         |b ln a| up to 700 ulp.
 *
 * Multiply-adds use llvm.fma where the target has it (a single rounding) and fmul + fadd
 * elsewhere; the constants are split so that both are accurate (docs/vmath.md measured the
 * first). No fast-math flags are set: LLVM may not reassociate or contract any of this.
 */
#include "codegen/llvm/vmath.h"

#include <math.h>
#include <string.h>

/* The builder and the type every value of one function has. */
typedef struct vm {
    const mt_vmath *m;
    LLVMBuilderRef B;
    LLVMTypeRef t;  /* float, double, or a vector of either */
    LLVMTypeRef et; /* its element type */
    LLVMTypeRef it; /* the integer type of the same shape and width */
    unsigned lanes; /* 0 for a scalar */
    int f64;
} vm;

static vm vm_of(const mt_vmath *m, LLVMTypeRef t)
{
    vm v = {m, m->B, t, t, NULL, 0, 0};
    LLVMContextRef C = LLVMGetTypeContext(t);
    if (LLVMGetTypeKind(t) == LLVMVectorTypeKind) {
        v.lanes = LLVMGetVectorSize(t);
        v.et = LLVMGetElementType(t);
    }
    v.f64 = LLVMGetTypeKind(v.et) == LLVMDoubleTypeKind;
    LLVMTypeRef ei = LLVMIntTypeInContext(C, v.f64 ? 64 : 32);
    v.it = v.lanes ? LLVMVectorType(ei, v.lanes) : ei;
    return v;
}

/* ---- constants and instructions ------------------------------------------------------- */

static LLVMValueRef splat(const vm *v, LLVMValueRef c)
{
    if (!v->lanes)
        return c;
    LLVMValueRef e[64];
    unsigned n = v->lanes < 64 ? v->lanes : 64; /* no target has wider vectors */
    for (unsigned i = 0; i < n; i++)
        e[i] = c;
    return LLVMConstVector(e, n);
}

static LLVMValueRef fc(const vm *v, double c) { return splat(v, LLVMConstReal(v->et, c)); }

static LLVMValueRef ic(const vm *v, long long c)
{
    LLVMTypeRef ei = v->lanes ? LLVMGetElementType(v->it) : v->it;
    return splat(v, LLVMConstInt(ei, (unsigned long long)c, 1));
}

static LLVMValueRef add(const vm *v, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildFAdd(v->B, a, b, "");
}
static LLVMValueRef sub(const vm *v, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildFSub(v->B, a, b, "");
}
static LLVMValueRef mul(const vm *v, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildFMul(v->B, a, b, "");
}
static LLVMValueRef fdiv(const vm *v, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildFDiv(v->B, a, b, "");
}
static LLVMValueRef sel(const vm *v, LLVMValueRef c, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildSelect(v->B, c, a, b, "");
}
static LLVMValueRef fcmp(const vm *v, LLVMRealPredicate p, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildFCmp(v->B, p, a, b, "");
}
static LLVMValueRef to_int(const vm *v, LLVMValueRef a)
{
    return LLVMBuildBitCast(v->B, a, v->it, "");
}
static LLVMValueRef to_float(const vm *v, LLVMValueRef a)
{
    return LLVMBuildBitCast(v->B, a, v->t, "");
}

static LLVMValueRef intrinsic(const vm *v, const char *name, LLVMValueRef *args, unsigned n)
{
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMTypeRef t = v->t;
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(v->m->M, id, &t, 1);
    LLVMTypeRef ft = LLVMIntrinsicGetType(LLVMGetTypeContext(t), id, &t, 1);
    return LLVMBuildCall2(v->B, ft, fn, args, n, "");
}

/* a * b + c: one rounding where the target fuses, two elsewhere. */
static LLVMValueRef mla(const vm *v, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c)
{
    if (!v->m->fma)
        return add(v, mul(v, a, b), c);
    LLVMValueRef args[3] = {a, b, c};
    return intrinsic(v, "llvm.fma", args, 3);
}

static LLVMValueRef fabs_of(const vm *v, LLVMValueRef a)
{
    return intrinsic(v, "llvm.fabs", &a, 1);
}

/* Horner's rule: c[0] + x (c[1] + x (c[2] + ... c[n-1])). */
static LLVMValueRef horner(const vm *v, LLVMValueRef x, const double *c, int n)
{
    LLVMValueRef r = fc(v, c[n - 1]);
    for (int i = n - 2; i >= 0; i--)
        r = mla(v, r, x, fc(v, c[i]));
    return r;
}

/* |r| with the sign of s. */
static LLVMValueRef copysign_of(const vm *v, LLVMValueRef r, LLVMValueRef s)
{
    long long sign = v->f64 ? (long long)(1ULL << 63) : (long long)0x80000000LL;
    LLVMValueRef mag = LLVMBuildAnd(v->B, to_int(v, r), ic(v, ~sign), "");
    LLVMValueRef sg = LLVMBuildAnd(v->B, to_int(v, s), ic(v, sign), "");
    return to_float(v, LLVMBuildOr(v->B, mag, sg, ""));
}

/* (hi, lo) = a b exactly. */
static void two_prod(const vm *v, LLVMValueRef a, LLVMValueRef b, LLVMValueRef *hi,
                     LLVMValueRef *lo)
{
    *hi = mul(v, a, b);
    if (v->m->fma) {
        *lo = mla(v, a, b, LLVMBuildFNeg(v->B, *hi, ""));
        return;
    }
    /* Dekker: split each factor into halves (26 bits of a double, 12 of a float), whose
     * products are exact. */
    LLVMValueRef sp = fc(v, v->f64 ? 134217729.0 : 4097.0); /* 2^27 + 1, 2^12 + 1 */
    LLVMValueRef ca = mul(v, a, sp), cb = mul(v, b, sp);
    LLVMValueRef ah = sub(v, ca, sub(v, ca, a)), bh = sub(v, cb, sub(v, cb, b));
    LLVMValueRef al = sub(v, a, ah), bl = sub(v, b, bh);
    LLVMValueRef e = sub(v, mul(v, ah, bh), *hi);
    e = add(v, e, mul(v, ah, bl));
    e = add(v, e, mul(v, al, bh));
    *lo = add(v, e, mul(v, al, bl));
}

/* ---- exp ------------------------------------------------------------------------------ */

/* e^(x + lo) = (h + l) p1 p2 unrounded, lo a small correction to x (pow's low part) or NULL:
 * h + l in [sqrt(1/2), sqrt(2)] with |l| < 1/2 ulp of h, p1 and p2 powers of two. */
static void exp_parts(const vm *v, LLVMValueRef x, LLVMValueRef lo, LLVMValueRef *hp,
                      LLVMValueRef *lp, LLVMValueRef *p1p, LLVMValueRef *p2p)
{
    /* Below lo_x every result rounds to +0, above hi_x to inf; clamping keeps q's bits in
     * range. A NaN fails both comparisons and flows through to the result. */
    double lo_x = v->f64 ? -746.0 : -104.0, hi_x = v->f64 ? 710.0 : 89.0;
    x = sel(v, fcmp(v, LLVMRealOLT, x, fc(v, lo_x)), fc(v, lo_x), x);
    x = sel(v, fcmp(v, LLVMRealOGT, x, fc(v, hi_x)), fc(v, hi_x), x);
    /* q = round(x / ln2), read off the bits of x/ln2 + 1.5 2^p (p the mantissa width). */
    int mant = v->f64 ? 52 : 23;
    double magic = 1.5 * ldexp(1.0, mant);
    LLVMValueRef qm = add(v, mul(v, x, fc(v, 1.4426950408889634)), fc(v, magic));
    LLVMValueRef q = sub(v, qm, fc(v, magic));
    LLVMValueRef qi = LLVMBuildSub(v->B, to_int(v, qm), to_int(v, fc(v, magic)), "");
    /* ln2 = hi + lo with hi's low bits zero, so q hi is exact for every q in range. */
    double ln2_hi = v->f64 ? 6.93147180369123816490e-01 : 0.693359375;
    double ln2_lo = v->f64 ? 1.90821492927058770002e-10 : -2.12194440e-4;
    /* The reduced argument is s_hi + c: s_hi = x - q ln2_hi is exact (a cancellation of
     * exact terms), c = -q ln2_lo (plus pow's low part) is small. Rounding their sum would
     * cost a quarter ulp, so it is used only inside the polynomial's small terms. */
    LLVMValueRef s_hi = mla(v, q, fc(v, -ln2_hi), x);
    LLVMValueRef c = mul(v, q, fc(v, -ln2_lo));
    if (lo)
        c = add(v, c, lo);
    LLVMValueRef s = add(v, s_hi, c);
    /* e^s = 1 + s + s^2 (1/2! + s/3! + ...), summed as (1 + s_hi) + (err + (c + s^2 u))
     * where err is what rounding 1 + s_hi lost (Fast2Sum: |s_hi| < 1), so that only the
     * last addition rounds at the result's scale. */
    double cf[12];
    int n = v->f64 ? 12 : 6;
    double f = 2.0;
    for (int i = 0; i < n; i++) {
        cf[i] = 1.0 / f;
        f *= i + 3;
    }
    LLVMValueRef u = horner(v, s, cf, n);
    LLVMValueRef w = mla(v, mul(v, s, s), u, c);
    LLVMValueRef h = add(v, fc(v, 1.0), s_hi);
    LLVMValueRef err = sub(v, s_hi, sub(v, h, fc(v, 1.0)));
    LLVMValueRef t = add(v, err, w);
    *hp = add(v, h, t);
    *lp = sub(v, t, sub(v, *hp, h));
    /* 2^q as 2^k1 2^k2: each factor a normal number, so that multiplying by the first is
     * exact and only the second can round (into the denormals) or overflow. */
    int bias = v->f64 ? 1023 : 127;
    LLVMValueRef k1 = LLVMBuildAShr(v->B, qi, ic(v, 1), "");
    LLVMValueRef k2 = LLVMBuildSub(v->B, qi, k1, "");
    *p1p =
        to_float(v, LLVMBuildShl(v->B, LLVMBuildAdd(v->B, k1, ic(v, bias), ""), ic(v, mant), ""));
    *p2p =
        to_float(v, LLVMBuildShl(v->B, LLVMBuildAdd(v->B, k2, ic(v, bias), ""), ic(v, mant), ""));
}

/* e^(x + lo), rounded once. */
static LLVMValueRef exp_of(const vm *v, LLVMValueRef x, LLVMValueRef lo)
{
    LLVMValueRef h, l, p1, p2;
    exp_parts(v, x, lo, &h, &l, &p1, &p2);
    return mul(v, mul(v, h, p1), p2);
}

LLVMValueRef mt_vmath_exp(const mt_vmath *m, LLVMValueRef x)
{
    vm v = vm_of(m, LLVMTypeOf(x));
    return exp_of(&v, x, NULL);
}

/* ---- log ------------------------------------------------------------------------------ */

/* x = 2^k m with m in [sqrt(1/2), sqrt(2)) for x > 0 finite (denormals included); k as a
 * float. Other inputs give garbage that the callers replace. */
static void split_exponent(const vm *v, LLVMValueRef x, LLVMValueRef *m, LLVMValueRef *k)
{
    int mant = v->f64 ? 52 : 23;
    double min_normal = v->f64 ? 0x1p-1022 : 0x1p-126;
    /* A denormal is scaled into the normal range first. */
    LLVMValueRef den = fcmp(v, LLVMRealOLT, x, fc(v, min_normal));
    x = sel(v, den, mul(v, x, fc(v, ldexp(1.0, mant + 1))), x);
    LLVMValueRef adj = sel(v, den, ic(v, -(mant + 1)), ic(v, 0));
    /* Subtracting sqrt(1/2)'s bits moves the binade boundary there: the exponent field of
     * the difference is k, and its mantissa bits put back on sqrt(1/2) give m. */
    long long rt = v->f64 ? 0x3fe6a09e667f3bcdLL : 0x3f3504f3LL;
    LLVMValueRef d = LLVMBuildSub(v->B, to_int(v, x), ic(v, rt), "");
    LLVMValueRef ki = LLVMBuildAdd(v->B, LLVMBuildAShr(v->B, d, ic(v, mant), ""), adj, "");
    long long mmask = v->f64 ? 0x000fffffffffffffLL : 0x007fffffLL;
    LLVMValueRef mi = LLVMBuildAdd(v->B, LLVMBuildAnd(v->B, d, ic(v, mmask), ""), ic(v, rt), "");
    *m = to_float(v, mi);
    *k = LLVMBuildSIToFP(v->B, ki, v->t, "");
}

/* The atanh series' coefficients 2/3, 2/5, ...: n of them. */
static int atanh_coeffs(const vm *v, double *c)
{
    int n = v->f64 ? 11 : 4;
    for (int i = 0; i < n; i++)
        c[i] = 2.0 / (2 * i + 3);
    return n;
}

/* Replaces r by the special results of ln x: ln(+inf) = inf, ln(+-0) = -inf, ln(x < 0) and
 * ln(NaN) = NaN. */
static LLVMValueRef log_specials(const vm *v, LLVMValueRef x, LLVMValueRef r)
{
    r = sel(v, fcmp(v, LLVMRealOEQ, x, fc(v, INFINITY)), x, r);
    r = sel(v, fcmp(v, LLVMRealOEQ, x, fc(v, 0.0)), fc(v, -INFINITY), r);
    r = sel(v, fcmp(v, LLVMRealOLT, x, fc(v, 0.0)), fc(v, NAN), r);
    return sel(v, fcmp(v, LLVMRealUNO, x, x), x, r);
}

LLVMValueRef mt_vmath_log(const mt_vmath *m, LLVMValueRef x)
{
    vm v = vm_of(m, LLVMTypeOf(x));
    LLVMValueRef mm, k;
    split_exponent(&v, x, &mm, &k);
    LLVMValueRef f = sub(&v, mm, fc(&v, 1.0)); /* exact: m is within a factor 2 of 1 */
    LLVMValueRef s = fdiv(&v, f, add(&v, fc(&v, 2.0), f));
    LLVMValueRef z = mul(&v, s, s);
    double c[16];
    int n = atanh_coeffs(&v, c);
    LLVMValueRef R = mul(&v, z, horner(&v, z, c, n));
    LLVMValueRef hfsq = mul(&v, fc(&v, 0.5), mul(&v, f, f));
    double ln2_hi = v.f64 ? 6.93147180369123816490e-01 : 0.693359375;
    double ln2_lo = v.f64 ? 1.90821492927058770002e-10 : -2.12194440e-4;
    /* k ln2_hi - ((hfsq - (s (hfsq + R) + k ln2_lo)) - f): the small terms first. */
    LLVMValueRef t = mla(&v, s, add(&v, hfsq, R), mul(&v, k, fc(&v, ln2_lo)));
    LLVMValueRef r = sub(&v, mul(&v, k, fc(&v, ln2_hi)), sub(&v, sub(&v, hfsq, t), f));
    return log_specials(&v, x, r);
}

/* ---- tanh ----------------------------------------------------------------------------- */

LLVMValueRef mt_vmath_tanh(const mt_vmath *m, LLVMValueRef x)
{
    vm v = vm_of(m, LLVMTypeOf(x));
    LLVMValueRef a = fabs_of(&v, x);
    LLVMValueRef z = mul(&v, a, a);
    LLVMValueRef small;
    double cut;
    if (v.f64) {
        /* Cody and Waite: a + a z P(z) / Q(z). */
        static const double p[3] = {-1.61341190239962280530e+3, -9.92259296722360833130e+1,
                                    -9.64374927772254697870e-1};
        static const double q[4] = {4.84023570719886886860e+3, 2.23377207189623129260e+3,
                                    1.12744743805349493350e+2, 1.0};
        LLVMValueRef pq = fdiv(&v, horner(&v, z, p, 3), horner(&v, z, q, 4));
        small = mla(&v, mul(&v, a, z), pq, a);
        cut = 0.54930614433405484570; /* ln(3)/2, where tanh = 1/2 */
    } else {
        /* Cephes' tanhf: a + a z P(z). */
        static const double p[5] = {-3.33332819422e-1, 1.33314422036e-1, -5.37397155531e-2,
                                    2.06390887954e-2, -5.70498872745e-3};
        small = mla(&v, mul(&v, a, z), horner(&v, z, p, 5), a);
        cut = 0.625;
    }
    /* 1 - 2 / (e^(2a) + 1): e^(2a) overflows to inf for large a, which gives exactly 1. */
    LLVMValueRef e = exp_of(&v, add(&v, a, a), NULL);
    LLVMValueRef big = sub(&v, fc(&v, 1.0), fdiv(&v, fc(&v, 2.0), add(&v, e, fc(&v, 1.0))));
    LLVMValueRef r = sel(&v, fcmp(&v, LLVMRealOLT, a, fc(&v, cut)), small, big);
    return copysign_of(&v, r, x); /* a NaN stays a NaN */
}

/* ---- sigmoid -------------------------------------------------------------------------- */

/* 1 / (1 + e) for x >= 0 and e / (1 + e) below, e = e^-|x| (never overflows). Rounding e,
 * 1 + e and the quotient separately costs up to 2.2 ulp (e's error, at the bottom of its
 * binade, is worth twice as much at the top of the result's), so e is kept as eh + el, 1 + e
 * as dh + dl, and the quotient q0 = n / dh (from a reciprocal) is corrected by its exact
 * remainder: one rounding at the end. */
LLVMValueRef mt_vmath_sigmoid(const mt_vmath *m, LLVMValueRef x)
{
    vm v = vm_of(m, LLVMTypeOf(x));
    LLVMValueRef h, l, p1, p2;
    exp_parts(&v, LLVMBuildFNeg(v.B, fabs_of(&v, x), ""), NULL, &h, &l, &p1, &p2);
    /* e = (h + l) 2^q, exact unless denormal, where the result is e to within an ulp. */
    LLVMValueRef eh = mul(&v, mul(&v, h, p1), p2), el = mul(&v, mul(&v, l, p1), p2);
    LLVMValueRef dh = add(&v, fc(&v, 1.0), eh); /* Fast2Sum: e <= 1 */
    LLVMValueRef dl = add(&v, sub(&v, eh, sub(&v, dh, fc(&v, 1.0))), el);
    LLVMValueRef pos = fcmp(&v, LLVMRealOGE, x, fc(&v, 0.0));
    LLVMValueRef nh = sel(&v, pos, fc(&v, 1.0), eh), nl = sel(&v, pos, fc(&v, 0.0), el);
    LLVMValueRef rcp = fdiv(&v, fc(&v, 1.0), dh);
    LLVMValueRef q0 = mul(&v, nh, rcp);
    /* n - q0 d = (nh - q0 dh) + nl - q0 dl, the first difference exact. */
    LLVMValueRef ph, pl;
    two_prod(&v, q0, dh, &ph, &pl);
    LLVMValueRef rem = sub(&v, sub(&v, nh, ph), pl);
    rem = sub(&v, add(&v, rem, nl), mul(&v, q0, dl));
    LLVMValueRef r = mla(&v, rem, rcp, q0);
    /* A NaN fails x >= 0 and takes e's NaN through the second form. */
    return r;
}

/* ---- pow ------------------------------------------------------------------------------ */

/* ln x = hi + lo to about 2^-70 relative, for x > 0 finite; f64 only. */
static void log_dd(const vm *v, LLVMValueRef x, LLVMValueRef *hi, LLVMValueRef *lo)
{
    LLVMValueRef mm, k;
    split_exponent(v, x, &mm, &k);
    LLVMValueRef f = sub(v, mm, fc(v, 1.0));
    /* s = f / (2 + f) as sh + sl: d = 2 + f as dh + dl (Fast2Sum), then one Newton step. */
    LLVMValueRef dh = add(v, fc(v, 2.0), f);
    LLVMValueRef dl = sub(v, f, sub(v, dh, fc(v, 2.0)));
    LLVMValueRef sh = fdiv(v, f, dh);
    LLVMValueRef ph, pl;
    two_prod(v, sh, dh, &ph, &pl);
    LLVMValueRef res = sub(v, sub(v, sub(v, f, ph), pl), mul(v, sh, dl));
    LLVMValueRef sl = fdiv(v, res, dh);
    /* ln m = 2s + 2/3 s^3 + s^3 z P(z), z = s^2, P the rest of the atanh series. Multiplied
     * by a b up to 700, an error of 2^-60 in ln m is still an ulp of the result, so s^3 and
     * 2/3 s^3 are formed as double-doubles; the rest is below 2^-14 and needs no care. */
    double c[16];
    int n = atanh_coeffs(v, c);
    LLVMValueRef zh, zl, s3h, s3l, t1h, t1l;
    two_prod(v, sh, sh, &zh, &zl);
    two_prod(v, sh, zh, &s3h, &s3l);
    s3l = mla(v, sh, zl, s3l);
    double two3_hi = 2.0 / 3.0, two3_lo = 3.700743415417188e-17; /* 2/3 - two3_hi */
    two_prod(v, s3h, fc(v, two3_hi), &t1h, &t1l);
    t1l = add(v, t1l, add(v, mul(v, s3h, fc(v, two3_lo)), mul(v, s3l, fc(v, two3_hi))));
    LLVMValueRef t2 = mul(v, mul(v, s3h, zh), horner(v, zh, c + 1, n - 1));
    /* sl's share of the s^3 term, 2 s^2 sl, is below 2^-60 but free. */
    LLVMValueRef t3 = mul(v, mul(v, zh, sl), fc(v, 2.0));
    /* k ln2_hi (exact) + 2 sh + t1h by two TwoSums, everything else into the low part. */
    LLVMValueRef sum = fc(v, 0.0), errs = fc(v, 0.0);
    LLVMValueRef parts[3] = {mul(v, k, fc(v, 6.93147180369123816490e-01)), add(v, sh, sh), t1h};
    sum = parts[0];
    for (int i = 1; i < 3; i++) {
        LLVMValueRef a = sum, b = parts[i];
        LLVMValueRef s = add(v, a, b);
        LLVMValueRef bb = sub(v, s, a);
        LLVMValueRef e = add(v, sub(v, a, sub(v, s, bb)), sub(v, b, bb));
        errs = add(v, errs, e);
        sum = s;
    }
    LLVMValueRef low = add(v, mul(v, k, fc(v, 1.90821492927058770002e-10)), add(v, sl, sl));
    low = add(v, low, add(v, add(v, t1l, t2), add(v, t3, errs)));
    *hi = add(v, sum, low);
    *lo = sub(v, low, sub(v, *hi, sum));
}

/* Odd-integer and integer tests of y without converting it: below 2^52 (a float64's mantissa
 * width), |y| + 2^52 rounds y to an integer in its low bits; from 2^52 on every value is an
 * integer, odd only below 2^53. */
static void integer_tests(const vm *v, LLVMValueRef y, LLVMValueRef *is_int, LLVMValueRef *odd)
{
    LLVMValueRef ay = fabs_of(v, y);
    LLVMValueRef small = fcmp(v, LLVMRealOLT, ay, fc(v, 0x1p52));
    LLVMValueRef t = sel(v, small, add(v, ay, fc(v, 0x1p52)), ay);
    LLVMValueRef back = fcmp(v, LLVMRealOEQ, sub(v, t, fc(v, 0x1p52)), ay);
    *is_int = LLVMBuildOr(v->B, LLVMBuildNot(v->B, small, ""), back, "");
    LLVMValueRef low = LLVMBuildTrunc(v->B, to_int(v, t), LLVMTypeOf(small), "");
    LLVMValueRef below = fcmp(v, LLVMRealOLT, ay, fc(v, 0x1p53));
    *odd = LLVMBuildAnd(v->B, LLVMBuildAnd(v->B, *is_int, below, ""), low, "");
}

/* pow on f64 values (f32 ones are widened first). dd: carry ln|a| in two parts. */
static LLVMValueRef pow_f64(const vm *v, LLVMValueRef a, LLVMValueRef b, int dd)
{
    LLVMValueRef ax = fabs_of(v, a);
    LLVMValueRef r;
    if (dd) {
        LLVMValueRef lh, ll, ph, pl;
        log_dd(v, ax, &lh, &ll);
        /* Where ln|a| is not finite (a zero, inf or NaN), only the high part counts. */
        LLVMValueRef fin = LLVMBuildAnd(v->B, fcmp(v, LLVMRealOGT, ax, fc(v, 0.0)),
                                        fcmp(v, LLVMRealOLT, ax, fc(v, INFINITY)), "");
        lh = log_specials(v, ax, lh);
        two_prod(v, b, lh, &ph, &pl);
        pl = mla(v, b, ll, pl);
        /* Past |b ln a| = 1000 exp saturates; the low part may be inf or NaN there, and also
         * where Dekker's split of a huge b overflowed (no FMA), which only matters when
         * ln a = 0. */
        LLVMValueRef keep =
            LLVMBuildAnd(v->B, fin, fcmp(v, LLVMRealOLT, fabs_of(v, ph), fc(v, 1000.0)), "");
        keep = LLVMBuildAnd(v->B, keep, fcmp(v, LLVMRealOLT, fabs_of(v, pl), fc(v, 1.0)), "");
        r = exp_of(v, ph, sel(v, keep, pl, fc(v, 0.0)));
    } else {
        r = exp_of(v, mul(v, b, mt_vmath_log(v->m, ax)), NULL);
    }
    LLVMValueRef is_int, odd;
    integer_tests(v, b, &is_int, &odd);
    /* A negative base (-0 included) to an odd integer power is negative. */
    LLVMValueRef neg = LLVMBuildICmp(v->B, LLVMIntSLT, to_int(v, a), ic(v, 0), "");
    r = sel(v, LLVMBuildAnd(v->B, neg, odd, ""), LLVMBuildFNeg(v->B, r, ""), r);
    /* A finite negative base to a non-integer power has no real value. */
    LLVMValueRef finite_neg = LLVMBuildAnd(v->B, fcmp(v, LLVMRealOLT, a, fc(v, 0.0)),
                                           fcmp(v, LLVMRealOGT, a, fc(v, -INFINITY)), "");
    r = sel(v, LLVMBuildAnd(v->B, finite_neg, LLVMBuildNot(v->B, is_int, ""), ""), fc(v, NAN), r);
    /* pow(-1, +-inf) = 1, pow(1, y) = 1 and pow(x, +-0) = 1, NaNs included. */
    LLVMValueRef one_inf = LLVMBuildAnd(v->B, fcmp(v, LLVMRealOEQ, ax, fc(v, 1.0)),
                                        fcmp(v, LLVMRealOEQ, fabs_of(v, b), fc(v, INFINITY)), "");
    r = sel(v, one_inf, fc(v, 1.0), r);
    LLVMValueRef unit = LLVMBuildOr(v->B, fcmp(v, LLVMRealOEQ, a, fc(v, 1.0)),
                                    fcmp(v, LLVMRealOEQ, b, fc(v, 0.0)), "");
    return sel(v, unit, fc(v, 1.0), r);
}

LLVMValueRef mt_vmath_pow(const mt_vmath *m, LLVMValueRef a, LLVMValueRef b)
{
    vm v = vm_of(m, LLVMTypeOf(a));
    if (v.f64)
        return pow_f64(&v, a, b, 1);
    /* f32: in f64, where e^(b ln a) is far more accurate than an f32 result needs. */
    LLVMContextRef C = LLVMGetTypeContext(v.t);
    LLVMTypeRef d = LLVMDoubleTypeInContext(C);
    LLVMTypeRef dt = v.lanes ? LLVMVectorType(d, v.lanes) : d;
    vm w = vm_of(m, dt);
    LLVMValueRef r =
        pow_f64(&w, LLVMBuildFPExt(m->B, a, dt, ""), LLVMBuildFPExt(m->B, b, dt, ""), 0);
    return LLVMBuildFPTrunc(m->B, r, v.t, "");
}
