/* cache.h - the kernel cache: compiled object files stored under a content address.
 *
 * The compile path (codegen/llvm/compile.c) keys each compile unit by the SHA-256 of its kernel
 * IR and symbol prefix (or, for a GEMM piece, its name), the renderer's environment (for LLVM:
 * its version, the target's triple, CPU name and features, the optimisation settings; passed in
 * as an mt_cache_env, since this layer knows nothing of LLVM), the build of mtc and the entry
 * format version (cache_key.c). An entry is one file `DIR/<64 hex digits>.o`: an 88-byte header
 * (magic, format version, payload length, the key itself, and the seal: the SHA-256 of the key
 * and the payload) and the object file. On a hit the JIT links the cached object and LLVM
 * neither emits, optimises nor generates code. docs/cache.md has the details.
 *
 * The cache is a code-loading path (cache_dir.c): a directory or an entry that is not this
 * user's own, or that others can write, is never read; entries are opened without following
 * symlinks and without blocking, and must be regular files.
 *
 * The cache never makes a compile fail: an unusable directory, a full disk or a damaged entry
 * only cost a rebuild (with MTC_DEBUG=1 each is noted on stderr). Entries are written to a
 * temporary file and renamed into place, so concurrent writers, also across processes, never
 * leave a torn entry, and readers validate everything before trusting a byte.
 *
 * Environment: MTC_CACHE=0 turns the cache off (no reads, no writes); MTC_CACHE_DIR names the
 * directory, else $XDG_CACHE_HOME/mtc, else ~/.cache/mtc. All functions are thread-safe.
 */
#ifndef MT_RUNTIME_CACHE_H
#define MT_RUNTIME_CACHE_H

#include <stddef.h>

#include "ir/kernel.h"
#include "runtime/sha256.h"

/* Bump when the entry layout or anything that shapes the object without showing in the key
 * changes (the kernel ABI, how the JIT links objects). */
#define MT_CACHE_FORMAT 2
#define MT_CACHE_HEADER_BYTES 88

typedef struct mt_cache_key {
    unsigned char digest[MT_SHA256_BYTES];
    char hex[2 * MT_SHA256_BYTES + 1];
} mt_cache_key;

/* The hashed environment every key of one renderer starts from: the format version, the
 * renderer's fields (whatever shapes its machine code besides the content) and the build of
 * mtc. Made once by the renderer (codegen/llvm/target.c: mt_llvm_cache_env). */
typedef struct mt_cache_env {
    mt_sha256 state;
} mt_cache_env;
void mt_cache_env_init(mt_cache_env *e, const char *const *fields, int nfields);

/* False when MTC_CACHE is "0", "off", "no" or "false". */
int mt_cache_enabled(void);
/* The directory entries live in (not created here), or NULL when none can be named (no
 * MTC_CACHE_DIR, XDG_CACHE_HOME or HOME). The caller frees it with mt_free. */
char *mt_cache_dir(void);
/* The key of the kernels of p (a compile unit: compile.h) emitted with symbol prefix
 * `prefix`, for this host, LLVM and build of mtc (cache_key.c). 0 when out of memory. */
int mt_cache_key_program(const mt_cache_env *env, const mt_kprog *p, const char *prefix,
                         mt_cache_key *k);
/* The key of the GEMM piece named `piece` (gemm.h: mt_llvm_gemm_piece_name) for this host,
 * LLVM and build of mtc: the same for every program. */
void mt_cache_key_gemm(const mt_cache_env *env, const char *piece, mt_cache_key *k);
/* The seal of an entry: SHA-256 of the key and the payload obj[0 .. len) (cache_key.c). */
void mt_cache_seal(const mt_cache_key *k, const void *obj, size_t len,
                   unsigned char out[MT_SHA256_BYTES]);
/* The key of arbitrary content text[0 .. len) in the same environment (for tests). */
void mt_cache_key_make(const mt_cache_env *env, const char *text, size_t len, mt_cache_key *k);
/* The path of k's entry in the cache directory, or NULL (no directory, out of memory); the
 * caller frees it with mt_free. */
char *mt_cache_entry_path(const mt_cache_key *k);

/* 1 on a hit: *obj (freed by the caller with mt_free) holds the *len bytes of the object file.
 * 0 on a miss: no entry, the cache is off, the directory is not trusted (not this user's own,
 * or writable by group or others: then it is not touched), or the entry failed validation
 * (a symlink, not a regular file, not this user's or writable by others, truncated, wrong
 * magic, version, key, length or seal), in which case it is deleted. Never blocks on a FIFO. */
int mt_cache_load(const mt_cache_key *k, void **obj, size_t *len);
/* Stores obj as k's entry: written to a temporary file in the directory (created as with
 * mkdir -p), flushed with fsync and renamed over the entry. 1 when stored, 0 when not (the
 * cache is off or the directory is unusable: not creatable, not writable, not owned by this
 * user or writable by group or others). */
int mt_cache_store(const mt_cache_key *k, const void *obj, size_t len);
/* Deletes k's entry, e.g. one that validated but whose object would not link. */
void mt_cache_remove(const mt_cache_key *k);

/* What the cache did in this process, for tests and benchmarks. */
typedef struct mt_cache_counters {
    long hits, misses, stores;
    long rejected; /* entries that failed validation (and were deleted) */
} mt_cache_counters;
void mt_cache_counters_get(mt_cache_counters *out);

#endif
