/* failing_alloc.c - the out-of-memory allocator of the unit tests. */
#include "tests/support/failing_alloc.h"

#include <stdlib.h>

#include "mtc/mtc.h"

static struct {
    long calls;   /* nonzero-size requests so far */
    long live;    /* blocks allocated and not yet freed */
    long fail_at; /* fail_after: requests past this one fail; else the one that fails, 0 none */
    int after;    /* which of the two modes */
    int failed;   /* a request was refused */
} st;

static int refuse(long call) { return st.after ? call > st.fail_at : call == st.fail_at; }

static void *failing_realloc(void *ctx, void *p, size_t size)
{
    (void)ctx;
    if (size == 0) {
        if (p)
            st.live--;
        free(p);
        return NULL;
    }
    if (refuse(++st.calls)) {
        st.failed = 1;
        return NULL;
    }
    void *q = realloc(p, size);
    if (q && !p)
        st.live++;
    return q;
}

static void install(long n, int after)
{
    st.calls = 0;
    st.live = 0;
    st.fail_at = n;
    st.after = after;
    st.failed = 0;
    mt_allocator a = {failing_realloc, NULL};
    mt_set_allocator(&a);
}

void mt_test_alloc_fail_after(long n) { install(n, 1); }

void mt_test_alloc_fail_nth(long n) { install(n, 0); }

long mt_test_alloc_calls(void) { return st.calls; }

long mt_test_alloc_live(void) { return st.live; }

int mt_test_alloc_failed(void) { return st.failed; }

void mt_test_alloc_restore(void) { mt_set_allocator(NULL); }
