/* random.h - seeded random test data: every test run uses fresh numbers, prints its seed, and
 * MT_SEED=n repeats it. */
#ifndef MT_TESTS_RANDOM_H
#define MT_TESTS_RANDOM_H

#include "ir/graph.h"
#include "runtime/tensor.h"

/* Seeds the generator from MT_SEED or the clock and prints "seed N". Returns the seed. */
unsigned mt_test_seed(void);
/* Uniform in [0, 1). */
double mt_test_uniform01(void);
/* A tensor of n's type with values chosen by n's name: names starting with 'p' get positive
 * values in [0.25, 2), 'q' small integers in {-1, 0, 1} (ties for eq, zeros for where), the
 * rest uniform values in [-2, 2). */
mt_tensor *mt_test_random_leaf(const mt_node *n);

#endif
