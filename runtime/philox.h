/* philox.h - the counter-based random numbers behind the `rand` op.
 *
 * Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11; the
 * Random123 library) maps a 128-bit counter and a 64-bit key to 128 random bits with no state,
 * so element i of a `rand` tensor can be computed alone, in any order, on any backend. The
 * mapping from (seed, flat row-major index) to a value is fixed here and in docs/rand.md;
 * codegen emits exactly this arithmetic, so the interpreter, the CPU code and the CUDA kernels
 * agree bit for bit.
 */
#ifndef MT_RUNTIME_PHILOX_H
#define MT_RUNTIME_PHILOX_H

#include <stdint.h>

/* Multipliers and key increments of Philox-4x32 (Random123's PHILOX_M4x32_*, PHILOX_W32_*). */
#define MT_PHILOX_M0 UINT32_C(0xD2511F53)
#define MT_PHILOX_M1 UINT32_C(0xCD9E8D57)
#define MT_PHILOX_W0 UINT32_C(0x9E3779B9)
#define MT_PHILOX_W1 UINT32_C(0xBB67AE85)

/* Ten rounds of Philox-4x32 on counter `ctr` under `key`, matching Random123's philox4x32
 * (and its published known-answer vectors) word for word. */
void mt_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* The four words for element i of a tensor made with `seed`:
 * key = {seed & 0xffffffff, seed >> 32}, counter = {i & 0xffffffff, i >> 32, 0, 0}. */
void mt_rand_words(uint64_t seed, uint64_t i, uint32_t out[4]);

/* Element i of `rand seed=seed` in f32: (w0 >> 8) * 2^-24, in [0, 1 - 2^-24]. */
float mt_rand_f32(uint64_t seed, uint64_t i);

/* Element i of `rand seed=seed` in f64: (((uint64)w0 << 32 | w1) >> 11) * 2^-53, in
 * [0, 1 - 2^-53]. */
double mt_rand_f64(uint64_t seed, uint64_t i);

/* The same with the step counter's stream in counter words 2 and 3:
 * counter = {i & 0xffffffff, i >> 32, stream & 0xffffffff, stream >> 32}. Stream 0 is the
 * plain functions above. */
void mt_rand_words_at(uint64_t seed, uint64_t stream, uint64_t i, uint32_t out[4]);
float mt_rand_f32_at(uint64_t seed, uint64_t stream, uint64_t i);
double mt_rand_f64_at(uint64_t seed, uint64_t stream, uint64_t i);

/* The stream of `rand %k` for step counter value k: floor(k) for 0 <= k < 2^53, 0 for
 * negative values and NaN, 2^53 above. */
uint64_t mt_rand_stream(double k);

#endif
