/* cache_dir.h - the kernel cache's directory and the trust checks on it and its entries
 * (runtime/cache_dir.c). Internal to the cache (cache.c); cache.h is the interface. */
#ifndef MT_RUNTIME_CACHE_DIR_H
#define MT_RUNTIME_CACHE_DIR_H

#include <sys/stat.h>

/* A note on stderr when MTC_DEBUG is set: cache problems never fail a compile. */
__attribute__((format(printf, 1, 2))) void mt_cache_note(const char *fmt, ...);

/* Why a file of fstat `st` may not be trusted as the cache directory (want_dir) or an entry,
 * or NULL when it may: the wrong kind of file, another owner than the effective user, or a
 * group or other write bit. */
const char *mt_cache_untrusted(const struct stat *st, int want_dir);

/* Opens the directory `dir` (created first as with mkdir -p, mode 0700, when `create`) and
 * checks it with mt_cache_untrusted; an untrusted one gets the process's one warning on
 * stderr. A descriptor to close, or -1 (missing, unusable or untrusted). */
int mt_cache_dir_open(const char *dir, int create);

/* Opens the entry `name` of the directory dirfd for reading without following a symlink and
 * without blocking (a FIFO); -1 with errno on failure. The caller checks it with fstat. */
int mt_cache_entry_open(int dirfd, const char *name);

#endif
