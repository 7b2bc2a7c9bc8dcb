/* outfile.h - writing an output file (`mtc run --out`, `mtc grad -o`, safetensors files) without
 * destroying what the path names. */
#ifndef MT_RUNTIME_OUTFILE_H
#define MT_RUNTIME_OUTFILE_H

#include <stddef.h>

#include "mtc/mtc.h"

/* One piece of what is written; the pieces are written in order, back to back. */
typedef struct mt_span {
    const void *data; /* borrowed */
    size_t len;
} mt_span;

/* Writes the concatenation of `parts` to `path`, by what the path is:
 *   - NULL, "/dev/stdout", "/dev/stderr", "/dev/fd/N", "/proc/self/fd/N": the descriptor the
 *     process already has, as it is (a pipe, a terminal, a file the shell opened); stdio's
 *     buffer of that stream is flushed first so the order holds. NULL is named "<stdout>".
 *   - a symlink (or a chain, dangling included): followed to the path it names, which is
 *     written by these rules; the link stays a link.
 *   - a regular file or nothing: written to a new file beside it, then renamed over it, so
 *     readers and crashes see the old file or the whole new one. A replaced file keeps its mode
 *     (and owner, where the process may set it); a new one gets 0666 & ~umask.
 *   - a FIFO or a character device (/dev/null): opened and written through (a FIFO waits for
 *     its reader); never replaced.
 *   - anything else (a directory, a socket, a block device): refused.
 * Returns MT_OK, or MT_ERR_IO (MT_ERR_NOMEM) with d naming `path` and the reason. */
mt_status mt_outfile_write(const char *path, const mt_span *parts, int nparts, mt_diag *d);

#endif
