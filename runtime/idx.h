/* idx.h - reading MNIST-format IDX files, plain or gzip-compressed.
 *
 * An IDX file (LeCun's MNIST format, also used by Fashion-MNIST) is four magic bytes
 * 00 00 TYPE RANK, then RANK big-endian u32 dims, then the product of the dims in elements,
 * row-major. mtc reads the unsigned-byte type (TYPE 0x08) only: images are magic 0x00000803
 * ([N, rows, cols]) and labels 0x00000801 ([N]). A file whose first two bytes are the gzip
 * magic 1f 8b is inflated on the fly, whatever its name.
 *
 * The reader trusts nothing (docs/data.md lists the checks): the magic, the type byte, the
 * rank (1..MT_IDX_MAX_RANK), every dim (> 0, product at most MT_IDX_MAX_BYTES, computed
 * without overflow), and that the data is exactly as long as the dims say (a truncated file,
 * trailing bytes, a truncated or corrupt gzip stream are errors). It never reads more than the
 * header allows plus one byte, so a path like /dev/zero fails fast instead of eating memory,
 * and its buffer grows with the bytes actually read, so a lying header costs nothing.
 * Every error is an mt_status with the diag's file set to the path and a message saying what
 * is wrong. zlib allocates through mt_malloc too.
 */
#ifndef MT_RUNTIME_IDX_H
#define MT_RUNTIME_IDX_H

#include <stddef.h>
#include <stdint.h>

#include "mtc/mtc.h"

#define MT_IDX_MAX_RANK 6
/* The most data bytes one file may hold: 1 GiB, twenty times Fashion-MNIST's training images. */
#define MT_IDX_MAX_BYTES ((size_t)1 << 30)

/* The IDX type byte of unsigned bytes, the only one mtc reads. */
#define MT_IDX_U8 0x08

typedef struct mt_idx {
    int rank;                      /* 1..MT_IDX_MAX_RANK */
    int64_t dims[MT_IDX_MAX_RANK]; /* each > 0 */
    size_t nbytes;                 /* product of dims: one byte per element */
    uint8_t *data;                 /* owned, nbytes long, row-major */
} mt_idx;

/* Reads the IDX file at `path` (plain or gzip). MT_ERR_IO when it cannot be opened or read,
 * MT_ERR_PARSE when its contents are wrong, MT_ERR_NOMEM; *out is NULL on failure. The caller
 * frees the result with mt_idx_free. */
mt_status mt_idx_load(const char *path, mt_idx **out, mt_diag *d);
void mt_idx_free(mt_idx *x);

#endif
