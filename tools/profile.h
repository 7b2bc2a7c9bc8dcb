/* profile.h - the machine's roofline for `mtc profile` (tools/profile_peak.c).
 *
 * Two numbers bound how fast any kernel can run: the peak rate of f32 fused multiply-adds on
 * every thread the program uses, and the memory bandwidth of a streaming loop on as many. A
 * kernel doing F flops over B bytes needs at least max(F / peak, B / bandwidth): below the
 * ridge point (peak / bandwidth flops per byte) memory is the bound, above it arithmetic.
 * Small kernels read what the previous kernel just wrote, from the cache: for them the same
 * loop run in cache gives the bandwidth bound instead.
 */
#ifndef MT_TOOLS_PROFILE_H
#define MT_TOOLS_PROFILE_H

#include "mtc/mtc.h"

typedef struct mtc_peak {
    double gflops; /* f32 FMA peak, 2 flops per multiply-add, all threads */
    double gbps;   /* a[i] = b[i] + s * c[i] over arrays far larger than the caches, all
                      threads; 12 bytes per element (STREAM's triad convention) */
    /* The same loop over arrays that stay in each core's L2 cache: the bound of a kernel whose
     * buffers fit in cache_bytes (the L2 of every thread together). 0 and 0 when unknown. */
    double cache_gbps, cache_bytes;
    int threads;
    int cached; /* 1 when read from the kernel cache directory instead of measured now */
    int busy;   /* measured now while the load average exceeded the number of cores: other
                   work took cycles, so every number is probably low */
    double load;
} mtc_peak;

/* The roofline for `threads` threads: read from the mtc cache directory (runtime/cache.h:
 * the same trust checks and sealed, atomically written entries as compiled kernels; keyed by
 * the CPU's model name, the thread count and the build of mtc) or, when absent, unusable,
 * turned off (MTC_CACHE=0) or when `remeasure` is set, measured now by three micro-benchmarks
 * (about a second in all) and stored. MT_ERR_NOMEM when the benchmarks' arrays cannot be
 * allocated. */
mt_status mtc_peak_get(int threads, int remeasure, mtc_peak *out, mt_diag *d);

#endif
