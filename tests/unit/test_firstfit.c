/* test_firstfit.c - passes/firstfit.c places blocks where a scan of the live blocks would.
 *
 * Memory planning's offsets are part of every compiled program (and of its cache key), so the
 * tree of gaps must give exactly the offsets of the plain first fit it replaced: the lowest
 * offset at or after 0 where the size fits between the live blocks sorted by offset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <string.h>

#include "passes/firstfit.h"

#define MAXB 300

typedef struct live {
    int64_t offset, size;
} live;

/* The reference: a scan of the live blocks in offset order. */
static int64_t scan_fit(const live *v, int n, int64_t size)
{
    int64_t at = 0;
    for (int i = 0; i < n; i++) {
        if (v[i].offset - at >= size)
            return at;
        int64_t end = v[i].offset + v[i].size;
        at = end > at ? end : at;
    }
    return at;
}

static void insert_sorted(live *v, int *n, live b)
{
    int i = *n;
    while (i > 0 && v[i - 1].offset > b.offset) {
        v[i] = v[i - 1];
        i--;
    }
    v[i] = b;
    ++*n;
}

static uint32_t rnd(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

static void random_takes_and_gives_match_a_scan_of_the_live_blocks(void **state)
{
    (void)state;
    for (uint32_t seed = 1; seed <= 40; seed++) {
        uint32_t s = seed;
        mt_firstfit *f = mt_firstfit_new(MAXB);
        assert_non_null(f);
        live v[MAXB];
        int n = 0;
        for (int step = 0; step < 4000; step++) {
            int give = n > 0 && (n == MAXB || rnd(&s) % 100 < 45);
            if (give) {
                int i = (int)(rnd(&s) % (uint32_t)n);
                mt_firstfit_give(f, v[i].offset, v[i].size);
                memmove(&v[i], &v[i + 1], (size_t)(n - i - 1) * sizeof *v);
                n--;
            } else {
                /* Sizes from one unit to many: gaps both fit and do not. */
                int64_t size = 64 * (1 + (int64_t)(rnd(&s) % (seed % 2 ? 4 : 40)));
                int64_t want = scan_fit(v, n, size);
                int64_t got = mt_firstfit_take(f, size);
                if (got != want)
                    fail_msg("seed %u step %d: took %lld for %lld bytes, a scan gives %lld", seed,
                             step, (long long)got, (long long)size, (long long)want);
                insert_sorted(v, &n, (live){got, size});
            }
        }
        mt_firstfit_free(f);
    }
}

static void a_freed_block_between_two_gaps_joins_them(void **state)
{
    (void)state;
    mt_firstfit *f = mt_firstfit_new(8);
    assert_non_null(f);
    assert_int_equal(mt_firstfit_take(f, 64), 0);
    assert_int_equal(mt_firstfit_take(f, 64), 64);
    assert_int_equal(mt_firstfit_take(f, 64), 128);
    assert_int_equal(mt_firstfit_take(f, 64), 192);
    mt_firstfit_give(f, 0, 64);
    mt_firstfit_give(f, 128, 64);
    assert_int_equal(mt_firstfit_take(f, 128), 256); /* no gap of 128 yet */
    mt_firstfit_give(f, 64, 64);                     /* 0 .. 192 is one gap now */
    assert_int_equal(mt_firstfit_take(f, 192), 0);
    mt_firstfit_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_takes_and_gives_match_a_scan_of_the_live_blocks),
        cmocka_unit_test(a_freed_block_between_two_gaps_joins_them),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
