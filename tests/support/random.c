/* random.c - a xorshift generator for test data (fast, and the same on every machine). */
#include "tests/support/random.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint32_t rng_state = 1;

unsigned mt_test_seed(void)
{
    const char *env = getenv("MT_SEED");
    unsigned seed = env ? (unsigned)strtoul(env, NULL, 10) : (unsigned)time(NULL);
    printf("seed %u\n", seed);
    rng_state = seed * 2654435761u + 1;
    return seed;
}

double mt_test_uniform01(void)
{
    uint32_t x = rng_state ? rng_state : 1;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    rng_state = x;
    return (double)x / 4294967296.0;
}

static void put(mt_tensor *t, int64_t i, double v)
{
    if (t->type.dtype == MT_DTYPE_F32)
        ((float *)t->data)[i] = (float)v;
    else
        ((double *)t->data)[i] = v;
}

mt_tensor *mt_test_random_leaf(const mt_node *n)
{
    mt_tensor *t = mt_tensor_new(n->type);
    assert_non_null(t);
    for (int64_t i = 0; i < mt_type_numel(&n->type); i++) {
        double u = mt_test_uniform01();
        if (n->name[0] == 'p')
            put(t, i, 0.25 + 1.75 * u);
        else if (n->name[0] == 'q')
            put(t, i, floor(u * 3.0) - 1.0);
        else
            put(t, i, 4.0 * u - 2.0);
    }
    return t;
}
