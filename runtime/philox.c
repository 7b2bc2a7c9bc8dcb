/* philox.c - Philox-4x32-10 and the (seed, index) -> uniform mapping of the `rand` op.
 *
 * Kept to 32-bit integer arithmetic (a 32x32 -> 64-bit multiply is the widest step) so that
 * the LLVM and CUDA renderers can emit the same operations; see docs/rand.md.
 */
#include "runtime/philox.h"

/* One Philox round: two 32x32 -> 64-bit products, their halves crossed with the other words
 * and the round key. */
static void philox_round(uint32_t x[4], const uint32_t k[2])
{
    uint64_t p0 = (uint64_t)MT_PHILOX_M0 * x[0];
    uint64_t p1 = (uint64_t)MT_PHILOX_M1 * x[2];
    uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
    uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
    uint32_t y0 = hi1 ^ x[1] ^ k[0];
    uint32_t y2 = hi0 ^ x[3] ^ k[1];
    x[0] = y0;
    x[1] = lo1;
    x[2] = y2;
    x[3] = lo0;
}

void mt_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t x[4] = {ctr[0], ctr[1], ctr[2], ctr[3]};
    uint32_t k[2] = {key[0], key[1]};
    for (int r = 0; r < 10; r++) {
        /* The first round uses the key as given; each later one bumps it by the Weyl
         * constants first (Random123's philox4x32_bumpkey). Unsigned wraparound is intended. */
        if (r > 0) {
            k[0] += MT_PHILOX_W0;
            k[1] += MT_PHILOX_W1;
        }
        philox_round(x, k);
    }
    for (int i = 0; i < 4; i++)
        out[i] = x[i];
}

void mt_rand_words(uint64_t seed, uint64_t i, uint32_t out[4])
{
    mt_rand_words_at(seed, 0, i, out);
}

void mt_rand_words_at(uint64_t seed, uint64_t stream, uint64_t i, uint32_t out[4])
{
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    uint32_t ctr[4] = {(uint32_t)i, (uint32_t)(i >> 32), (uint32_t)stream,
                       (uint32_t)(stream >> 32)};
    mt_philox4x32_10(ctr, key, out);
}

uint64_t mt_rand_stream(double k)
{
    /* NaN and negatives fall to stream 0; beyond 2^53 a double no longer counts steps one by
     * one, so larger counters share the last stream. */
    if (!(k >= 1.0))
        return 0;
    if (k >= 0x1p53)
        return UINT64_C(1) << 53;
    return (uint64_t)k; /* truncation is floor for k >= 0 */
}

float mt_rand_f32_at(uint64_t seed, uint64_t stream, uint64_t i)
{
    uint32_t w[4];
    mt_rand_words_at(seed, stream, i, w);
    /* 24 bits fill a float's significand exactly: every value is representable, none rounds
     * up to 1.0. */
    return (float)(w[0] >> 8) * 0x1p-24f;
}

double mt_rand_f64_at(uint64_t seed, uint64_t stream, uint64_t i)
{
    uint32_t w[4];
    mt_rand_words_at(seed, stream, i, w);
    uint64_t bits = ((uint64_t)w[0] << 32) | w[1];
    return (double)(bits >> 11) * 0x1p-53;
}

float mt_rand_f32(uint64_t seed, uint64_t i) { return mt_rand_f32_at(seed, 0, i); }

double mt_rand_f64(uint64_t seed, uint64_t i) { return mt_rand_f64_at(seed, 0, i); }
