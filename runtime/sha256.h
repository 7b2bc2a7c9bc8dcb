/* sha256.h - SHA-256 (FIPS 180-4), the content address of kernel cache entries (cache.h).
 *
 * A cache entry is trusted by name: a collision would load another program's machine code.
 * A 64-bit hash gives even odds of one collision after ~4e9 entries and is trivially
 * forgeable; SHA-256 makes an accidental collision negligible at any cache size. Speed is not
 * a concern here (the hashed text is a few hundred KB at most, hashed once per compile).
 */
#ifndef MT_RUNTIME_SHA256_H
#define MT_RUNTIME_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define MT_SHA256_BYTES 32

typedef struct mt_sha256 {
    uint32_t h[8];
    uint64_t nbytes;       /* message length so far */
    unsigned char buf[64]; /* a partial block */
    size_t nbuf;
} mt_sha256;

void mt_sha256_init(mt_sha256 *s);
void mt_sha256_update(mt_sha256 *s, const void *data, size_t len);
void mt_sha256_final(mt_sha256 *s, unsigned char out[MT_SHA256_BYTES]);
/* The digest as 64 lowercase hex digits and a NUL. */
void mt_sha256_hex(const unsigned char digest[MT_SHA256_BYTES], char out[2 * MT_SHA256_BYTES + 1]);

#endif
