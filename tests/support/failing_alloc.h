/* failing_alloc.h - an mt_allocator for out-of-memory tests: it refuses chosen allocation
 * requests and counts the blocks still live, so a test can walk every error path of an
 * operation and check that each one returns cleanly without leaking.
 *
 * It wraps libc realloc/free, so a block allocated under it may be freed after
 * mt_test_alloc_restore (and the other way round). Only requests of a nonzero size count as
 * calls; frees are never refused. Counters start at zero whenever a mode is installed and stay
 * readable after the restore.
 */
#ifndef MT_TESTS_FAILING_ALLOC_H
#define MT_TESTS_FAILING_ALLOC_H

/* Installs the allocator: the first n requests succeed, every later one is refused. */
void mt_test_alloc_fail_after(long n);
/* Installs the allocator: only the n-th request (1-based) is refused; 0 refuses none, which
 * just counts (mt_test_alloc_calls then gives the number of requests to walk). */
void mt_test_alloc_fail_nth(long n);
/* Requests of a nonzero size since the allocator was installed, refused ones included. */
long mt_test_alloc_calls(void);
/* Blocks allocated through the allocator and not yet freed through it. */
long mt_test_alloc_live(void);
/* Whether any request has been refused since the allocator was installed. */
int mt_test_alloc_failed(void);
/* Puts the libc allocator back (mt_set_allocator(NULL)); the counters keep their values. */
void mt_test_alloc_restore(void);

#endif
