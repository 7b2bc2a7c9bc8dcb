/* firstfit.c - first fit in O(log n) per block.
 *
 * Memory planning places each temporary at the lowest offset where it fits between the blocks
 * still live. Scanning the live blocks for each placement is quadratic when many are live at
 * once, as in a training step, where the forward pass's values wait for the backward pass
 * (docs/scaling.md). Here the free gaps between live blocks are kept in a treap ordered by
 * offset, each node knowing the largest gap in its subtree, so the lowest gap that holds a
 * size is one descent. The space past the last live block is a gap that never ends.
 *
 * Taking from a gap shrinks it from its start (its place in the order stays); giving a block
 * back merges it with the gaps that end at its start and begin at its end.
 */
#include "passes/firstfit.h"

#include "ir/alloc.h"

#define ENDLESS (INT64_MAX / 4)

typedef struct gap {
    int64_t start, len, most; /* most: the largest len in the subtree */
    uint32_t prio;
    int left, right; /* nodes, -1 for none */
} gap;

struct mt_firstfit {
    gap *g;
    int *spare; /* unused nodes */
    int nspare;
    int root;
    uint32_t seed;
};

static int64_t most_of(const mt_firstfit *f, int t) { return t < 0 ? -1 : f->g[t].most; }

static void pull(mt_firstfit *f, int t)
{
    gap *n = &f->g[t];
    int64_t m = n->len, l = most_of(f, n->left), r = most_of(f, n->right);
    n->most = m > l ? (m > r ? m : r) : (l > r ? l : r);
}

/* Splits t into the gaps starting before `key` (*a) and the rest (*b). */
static void split(mt_firstfit *f, int t, int64_t key, int *a, int *b)
{
    if (t < 0) {
        *a = *b = -1;
        return;
    }
    if (f->g[t].start < key) {
        split(f, f->g[t].right, key, &f->g[t].right, b);
        *a = t;
    } else {
        split(f, f->g[t].left, key, a, &f->g[t].left);
        *b = t;
    }
    pull(f, t);
}

/* Joins a and b, every gap of a starting before every gap of b. */
static int merge(mt_firstfit *f, int a, int b)
{
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    if (f->g[a].prio > f->g[b].prio) {
        f->g[a].right = merge(f, f->g[a].right, b);
        pull(f, a);
        return a;
    }
    f->g[b].left = merge(f, a, f->g[b].left);
    pull(f, b);
    return b;
}

static void insert(mt_firstfit *f, int64_t start, int64_t len)
{
    int t = f->spare[--f->nspare];
    f->seed = f->seed * 1664525u + 1013904223u; /* the shape does not change any result */
    f->g[t] = (gap){start, len, len, f->seed, -1, -1};
    int a, b;
    split(f, f->root, start, &a, &b);
    f->root = merge(f, merge(f, a, t), b);
}

static void erase(mt_firstfit *f, int64_t start)
{
    int a, m, b;
    split(f, f->root, start, &a, &m);
    split(f, m, start + 1, &m, &b);
    if (m >= 0)
        f->spare[f->nspare++] = m;
    f->root = merge(f, a, b);
}

mt_firstfit *mt_firstfit_new(int max_blocks)
{
    mt_firstfit *f = mt_calloc(1, sizeof *f);
    if (!f)
        return NULL;
    /* Gaps are separated by live blocks: at most one more than the blocks. */
    int n = max_blocks + 2;
    f->g = mt_calloc((size_t)n, sizeof *f->g);
    f->spare = mt_calloc((size_t)n, sizeof *f->spare);
    if (!f->g || !f->spare) {
        mt_firstfit_free(f);
        return NULL;
    }
    for (int i = 0; i < n; i++)
        f->spare[i] = n - 1 - i;
    f->nspare = n;
    f->root = -1;
    f->seed = 12345u;
    insert(f, 0, ENDLESS);
    return f;
}

void mt_firstfit_free(mt_firstfit *f)
{
    if (!f)
        return;
    mt_free(f->g);
    mt_free(f->spare);
    mt_free(f);
}

int64_t mt_firstfit_take(mt_firstfit *f, int64_t size)
{
    int t = f->root; /* the endless gap holds any size: the descent always ends in a gap */
    for (;;) {
        const gap *n = &f->g[t];
        if (most_of(f, n->left) >= size)
            t = n->left;
        else if (n->len >= size)
            break;
        else
            t = n->right;
    }
    int64_t start = f->g[t].start, len = f->g[t].len;
    erase(f, start);
    if (len > size)
        insert(f, start + size, len - size);
    return start;
}

/* The gap starting at `start`, or -1. */
static int find(const mt_firstfit *f, int64_t start)
{
    int t = f->root;
    while (t >= 0 && f->g[t].start != start)
        t = start < f->g[t].start ? f->g[t].left : f->g[t].right;
    return t;
}

/* The gap starting last before `key`, or -1. */
static int before(const mt_firstfit *f, int64_t key)
{
    int t = f->root, best = -1;
    while (t >= 0) {
        if (f->g[t].start < key) {
            best = t;
            t = f->g[t].right;
        } else {
            t = f->g[t].left;
        }
    }
    return best;
}

void mt_firstfit_give(mt_firstfit *f, int64_t offset, int64_t size)
{
    /* Every gap ends by ENDLESS (the last one exactly there), so no sum overflows. */
    int64_t start = offset, end = offset + size;
    int p = before(f, offset);
    if (p >= 0 && f->g[p].start + f->g[p].len == offset) {
        start = f->g[p].start;
        erase(f, start);
    }
    int n = find(f, end);
    if (n >= 0) {
        end = f->g[n].start + f->g[n].len;
        erase(f, f->g[n].start);
    }
    insert(f, start, end - start);
}
